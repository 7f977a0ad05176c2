/**
 * The eager ops API (ops.matmul, ops.softmax, ops.activation..., ops.argmax): shapes, dtypes
 * and errors of the plumbing around kernels that their own families test in depth.
 * Tolerances: matmul per element k·2^-24·Σ|a||b| (f32 dot products); softmax and the
 * activations 1e-6 relative + 1e-7 absolute on these small, well-conditioned inputs.
 */
import { ops, tensor, type Engine } from '../../src/index.js';
import { activationReference } from '../../src/kernels/activations.js';
import { softmaxReference } from '../../src/kernels/activations.js';
import { matmulReference } from '../../src/kernels/matmul.js';
import { argmaxReference } from '../../src/kernels/reduce.js';
import { EXACT, expectClose, expectEqual, expectError, uniformF32 } from '../harness.js';
import type { KernelCase } from './types.js';

const SMALL = { atol: 1e-7, rtol: 1e-6 };

export const cases: KernelCase[] = [
  {
    name: 'eager ops.matmul: shapes and values with and without transposes; inner-dimension errors',
    async run(engine: Engine) {
      const [m, k, n] = [5, 7, 3];
      for (const [transA, transB] of [
        [false, false],
        [true, false],
        [false, true],
      ] as const) {
        const a = uniformF32(m * k, -1, 1, 11);
        const b = uniformF32(k * n, -1, 1, 12);
        const ta = tensor(a, transA ? [k, m] : [m, k], 'f32', { engine });
        const tb = tensor(b, transB ? [n, k] : [k, n], 'f32', { engine });
        const c = ops.matmul(ta, tb, { transposeA: transA, transposeB: transB });
        expectEqual(c.shape.join(','), `${m},${n}`, 'matmul shape');
        const ref = matmulReference({ m, n, k, transA, transB }, a, b).c;
        const bound = matmulReference({ m, n, k, transA, transB }, a.map(Math.abs), b.map(Math.abs)).c.reduce(
          (mx, v) => Math.max(mx, v),
          0,
        );
        expectClose(
          await c.read(),
          ref,
          { atol: k * 2 ** -24 * bound, rtol: 0 },
          `matmul ${transA}/${transB}`,
        );
        for (const t of [ta, tb, c]) t.dispose();
      }
      const a = tensor(new Float32Array(6), [2, 3], 'f32', { engine });
      await expectError(
        () => ops.matmul(a, a),
        RangeError,
        [/inner dimensions differ/, /\(3 vs 2\)/],
        'inner',
      );
      await expectError(
        () => ops.matmul(a, tensor([1, 2, 3], [3], 'f32', { engine })),
        RangeError,
        [/2-D/],
        'rank',
      );
      const ok = ops.matmul(a, a, { transposeB: true });
      expectEqual(ok.shape.join(','), '2,2', 'a·aᵀ shape');
    },
  },
  {
    name: 'eager ops.softmax over the last axis of a rank-3 tensor; ops.argmax gives u32 indices',
    async run(engine: Engine) {
      const x = uniformF32(2 * 3 * 4, -3, 3, 21);
      const t = tensor(x, [2, 3, 4], 'f32', { engine });
      const y = ops.softmax(t);
      expectEqual(y.shape.join(','), '2,3,4', 'softmax shape');
      expectClose(await y.read(), softmaxReference(x, 6, 4), SMALL, 'softmax');
      const i = ops.argmax(t);
      expectEqual(i.dtype, 'u32', 'argmax dtype');
      expectEqual(i.shape.join(','), '2,3', 'argmax shape');
      expectClose(await i.read(), argmaxReference(x, 6, 4), EXACT, 'argmax');
      for (const u of [t, y, i]) u.dispose();
    },
  },
  {
    name: 'eager ops activations by name and shortcut match the float64 reference; unknown names are refused',
    async run(engine: Engine) {
      const x = uniformF32(50, -4, 4, 31);
      const t = tensor(x, [5, 10], 'f32', { engine });
      const checks = [
        ['sigmoid', ops.sigmoid(t), {}],
        ['tanh', ops.tanh(t), {}],
        ['elu', ops.elu(t, 0.5), { alpha: 0.5 }],
        ['leaky_relu', ops.leakyRelu(t), {}],
        ['hard_sigmoid', ops.hardSigmoid(t), {}],
        ['softplus', ops.softplus(t), {}],
        ['selu', ops.activation(t, 'selu'), {}],
      ] as const;
      for (const [name, y, extra] of checks) {
        const f = activationReference({ name, ...extra }).f;
        expectClose(
          await y.read(),
          Array.from(x, (v) => Math.fround(f(v))),
          SMALL,
          `ops ${name}`,
        );
        y.dispose();
      }
      await expectError(
        () => ops.activation(t, 'swish' as 'relu'),
        RangeError,
        [/unknown activation 'swish'/, /gelu/],
        'unknown',
      );
      t.dispose();
    },
  },
];
