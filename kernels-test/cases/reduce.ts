/**
 * Sum/mean reductions against the float64 reference.
 *
 * Tolerance: a float32 sum errs by at most about (additions on the longest path) · 2^-24 · Σ|x|.
 * Row and full sums add at most 16 terms per thread per pass, then a 256-wide tree (8
 * levels), in at most 3 passes here: 64 · 2^-24 · Σ|x| bounds them. Column sums (inner > 1)
 * add the n terms of each output in one chain: (n + 1) · 2^-24 · Σ|x|. The bound is taken
 * from the sum of absolute values, so cancellation cannot hide an error.
 */
import { ops, tensor, type Engine } from '../../src/index.js';
import { sumReference } from '../../src/kernels/reduce.js';
import { expectClose, expectEqual, uniformF32 } from '../harness.js';
import type { KernelCase } from './types.js';

const EPS32 = 2 ** -24;

/** Per-output absolute tolerance from Σ|x| over that output's terms. */
function sumTolerance(x: Float32Array, view: { outer: number; n: number; inner: number }, scale: number) {
  const abs = Float32Array.from(x, Math.abs);
  const bound = sumReference(abs, view, Math.abs(scale));
  const path = view.inner > 1 ? view.n + 1 : 64;
  return Math.max(...bound) * path * EPS32;
}

function viewOf(shape: number[], axis: number | undefined) {
  if (axis === undefined) return { outer: 1, n: shape.reduce((p, d) => p * d, 1), inner: 1 };
  const a = axis < 0 ? axis + shape.length : axis;
  const prod = (s: number[]) => s.reduce((p, d) => p * d, 1);
  return { outer: prod(shape.slice(0, a)), n: shape[a] ?? 1, inner: prod(shape.slice(a + 1)) };
}

export const cases: KernelCase[] = [
  {
    name: 'sum of all elements: 1 to 1,000,003 values (single and multi-pass)',
    async run(engine: Engine) {
      for (const [i, n] of [1, 255, 256, 257, 4096, 4097, 100_000, 1_000_003].entries()) {
        const x = uniformF32(n, -1, 1, 400 + i);
        const t = tensor(x, [n], 'f32', { engine });
        const s = ops.sum(t);
        expectEqual(s.shape.length, 0, 'sum() result rank');
        const view = viewOf([n], undefined);
        const atol = sumTolerance(x, view, 1);
        expectClose(await s.read(), sumReference(x, view, 1), { atol, rtol: 0 }, `sum of ${n}`);
        t.dispose();
        s.dispose();
      }
    },
  },
  {
    name: 'sum and mean along an axis: rows, columns, middle axis, negative axis, keepDims',
    async run(engine: Engine) {
      const cases: [number[], number, boolean][] = [
        [[7, 300], 1, false], // row sums (one workgroup per row)
        [[300, 7], 0, false], // column sums (bias gradient)
        [[3, 5, 7], 1, false], // middle axis
        [[3, 5, 7], -1, true],
        [[1, 1], 0, false],
        [[1000, 3], 0, true],
      ];
      for (const [i, [shape, axis, keepDims]] of cases.entries()) {
        const n = shape.reduce((p, d) => p * d, 1);
        const x = uniformF32(n, -3, 3, 500 + i);
        const t = tensor(x, shape, 'f32', { engine });
        const view = viewOf(shape, axis);
        for (const mean of [false, true]) {
          const scale = mean ? 1 / view.n : 1;
          const y = mean ? ops.mean(t, axis, { keepDims }) : ops.sum(t, axis, { keepDims });
          const a = axis < 0 ? axis + shape.length : axis;
          const expectedShape = keepDims
            ? shape.map((d, k) => (k === a ? 1 : d))
            : shape.filter((_, k) => k !== a);
          expectEqual(y.shape.join(','), expectedShape.join(','), `${mean ? 'mean' : 'sum'} shape`);
          const atol = sumTolerance(x, view, scale);
          expectClose(
            await y.read(),
            sumReference(x, view, scale),
            { atol, rtol: 0 },
            `${mean ? 'mean' : 'sum'} of [${shape.join(',')}] over axis ${axis}`,
          );
          y.dispose();
        }
        t.dispose();
      }
    },
  },
  {
    name: 'sum propagates NaN and Inf (Inf + -Inf is NaN)',
    async run(engine: Engine) {
      const rows = [
        [1, 2, NaN, 4],
        [1, Infinity, 2, 3],
        [-Infinity, 1, 2, 3],
        [Infinity, -Infinity, 0, 0],
      ];
      const x = Float32Array.from(rows.flat());
      const t = tensor(x, [4, 4], 'f32', { engine });
      const y = ops.sum(t, 1);
      expectClose(
        await y.read(),
        [NaN, Infinity, -Infinity, NaN],
        { atol: 0, rtol: 0 },
        'row sums with specials',
      );
      const all = ops.sum(t);
      expectClose(await all.read(), [NaN], { atol: 0, rtol: 0 }, 'full sum with a NaN');
      for (const u of [t, y, all]) u.dispose();
    },
  },
];
