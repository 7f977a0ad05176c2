/**
 * Elementwise kernels against their float64 references.
 *
 * Tolerances: neg/abs/relu are exact. add/sub/mul/div/square round once in f32, so a
 * relative 2^-24 of the exact result bounds them (rtol 1.2e-7, doubled for slack).
 * maximum/minimum are exact. sqrt/exp/log follow WGSL's precision rules (sqrt 2.5 ULP as
 * inverseSqrt; exp 3 + 2|x| ULP; log 3 ULP away from 1, 2^-21 absolute near it): rtol 4e-6
 * over the ranges used, atol 1e-6 for log near 1.
 */
import { ops, tensor, type Engine } from '../../src/index.js';
import {
  BINARY_REFERENCE,
  binaryReference,
  encodeBinary,
  encodeUnary,
  UNARY_REFERENCE,
  unaryReference,
  type BinaryOp,
  type UnaryOp,
} from '../../src/kernels/elementwise.js';
import { broadcastShapes } from '../../src/kernels/shape.js';
import { CaseBuffers } from '../buffers.js';
import { EXACT, expectClose, expectError, expectEqual, uniformF32, type Tolerance } from '../harness.js';
import type { KernelCase } from './types.js';

const ROUNDED: Tolerance = { atol: 0, rtol: 2.4e-7 };
const UNARY_TOL: Record<UnaryOp, Tolerance> = {
  neg: EXACT,
  abs: EXACT,
  relu: EXACT,
  square: ROUNDED,
  sqrt: { atol: 0, rtol: 4e-6 },
  exp: { atol: 0, rtol: 4e-6 },
  log: { atol: 1e-6, rtol: 4e-6 },
};
const BINARY_TOL: Record<BinaryOp, Tolerance> = {
  add: ROUNDED,
  sub: ROUNDED,
  mul: ROUNDED,
  div: { atol: 0, rtol: 3.6e-7 }, // WGSL: 2.5 ULP
  maximum: EXACT,
  minimum: EXACT,
};
/** Input ranges inside each op's domain. */
const UNARY_RANGE: Record<UnaryOp, [number, number]> = {
  neg: [-10, 10],
  abs: [-10, 10],
  relu: [-10, 10],
  square: [-100, 100],
  sqrt: [0, 1000],
  exp: [-20, 20],
  log: [1e-3, 1e3],
};

/** Sizes around the 256-thread workgroup, and a 2-D shape. */
const SHAPES: number[][] = [[1], [7], [255], [256], [257], [3, 1000]];

const unaryCases: KernelCase[] = (Object.keys(UNARY_REFERENCE) as UnaryOp[]).map((op) => ({
  name: `unary ${op}: shapes 1..3000 against float64`,
  async run(engine: Engine) {
    for (const [i, shape] of SHAPES.entries()) {
      const n = shape.reduce((p, d) => p * d, 1);
      const [lo, hi] = UNARY_RANGE[op];
      const x = uniformF32(n, lo, hi, 100 + i);
      const t = tensor(x, shape, 'f32', { engine });
      const y = ops[op](t);
      expectClose(await y.read(), unaryReference(op, x), UNARY_TOL[op], `${op} [${shape.join(',')}]`);
      t.dispose();
      y.dispose();
    }
  },
}));

const SPECIALS = new Float32Array([NaN, Infinity, -Infinity, 0, -0, 1e-30, -1e30]);

const specialCases: KernelCase[] = [
  {
    name: 'unary and binary ops propagate NaN and Inf like float64',
    async run(engine: Engine) {
      // NaN in, NaN out, for every unary op on every adapter.
      const nan = tensor([NaN, NaN], [2], 'f32', { engine });
      for (const op of Object.keys(UNARY_REFERENCE) as UnaryOp[]) {
        const y = ops[op](nan);
        expectClose(await y.read(), [NaN, NaN], EXACT, `${op}(NaN)`);
        y.dispose();
      }
      nan.dispose();
      const x = tensor(SPECIALS, [SPECIALS.length], 'f32', { engine });
      for (const op of ['neg', 'abs', 'relu', 'square', 'exp'] as const) {
        const y = ops[op](x);
        expectClose(await y.read(), unaryReference(op, SPECIALS), UNARY_TOL[op], `${op} of NaN/±Inf/±0`);
        y.dispose();
      }
      // Every pair of specials, for each binary op.
      const n = SPECIALS.length;
      const a = Float32Array.from({ length: n * n }, (_, i) => SPECIALS[Math.floor(i / n)] as number);
      const b = Float32Array.from({ length: n * n }, (_, i) => SPECIALS[i % n] as number);
      const ta = tensor(a, [n * n], 'f32', { engine });
      const tb = tensor(b, [n * n], 'f32', { engine });
      for (const op of ['add', 'sub', 'mul', 'maximum', 'minimum'] as const) {
        const c = ops[op](ta, tb);
        const ref = binaryReference(op, a, [n * n], b, [n * n], [n * n]);
        expectClose(await c.read(), ref, BINARY_TOL[op], `${op} over all pairs of NaN/±Inf/±0/1e-30/-1e30`);
        c.dispose();
      }
      for (const t of [x, ta, tb]) t.dispose();
    },
  },
];

const binaryCases: KernelCase[] = (Object.keys(BINARY_REFERENCE) as BinaryOp[]).map((op) => ({
  name: `binary ${op}: same shapes and broadcasts against float64`,
  async run(engine: Engine) {
    const pairs: [number[], number[]][] = [
      [[1], [1]],
      [[513], [513]],
      [
        [33, 65],
        [33, 65],
      ],
      [[4, 3], [3]], // bias-style row broadcast
      [
        [4, 1],
        [1, 5],
      ], // outer product shape
      [
        [2, 3, 4],
        [3, 1],
      ],
      [
        [2, 1, 3, 1],
        [5, 1, 4],
      ], // rank 4, both sides broadcast
      [[3], [2, 3]], // the left operand broadcast
      [[6], []], // a scalar
    ];
    for (const [i, [sa, sb]] of pairs.entries()) {
      const na = sa.reduce((p, d) => p * d, 1);
      const nb = sb.reduce((p, d) => p * d, 1);
      const a = uniformF32(na, -5, 5, 200 + i);
      // Divisors kept away from zero so the reference is well conditioned.
      const b = op === 'div' ? uniformF32(nb, 0.5, 4, 300 + i) : uniformF32(nb, -5, 5, 300 + i);
      const ta = tensor(a, sa, 'f32', { engine });
      const tb = tensor(b, sb, 'f32', { engine });
      const shape = broadcastShapes(sa, sb, op);
      const c = ops[op](ta, tb);
      expectEqual(c.shape.join(','), shape.join(','), `${op} result shape`);
      const ref = binaryReference(op, a, sa, b, sb, shape);
      expectClose(await c.read(), ref, BINARY_TOL[op], `${op} [${sa.join(',')}] with [${sb.join(',')}]`);
      for (const t of [ta, tb, c]) t.dispose();
    }
  },
}));

const edgeCases: KernelCase[] = [
  {
    name: 'binary add over more than 65535 workgroups (2-D folded dispatch)',
    async run(engine: Engine) {
      // 65535 workgroups of 256 threads cover 16,776,960 elements; go past that.
      const n = 65535 * 256 + 1000;
      const grid = engine.dispatchGrid(n, 256);
      if (grid[1] < 2) throw new Error(`expected a folded grid for ${n} elements, got ${grid.join('x')}`);
      const a = new Float32Array(n);
      const b = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        a[i] = i % 1000;
        b[i] = Math.floor(i / 1000);
      }
      const ta = tensor(a, [n], 'f32', { engine });
      const tb = tensor(b, [n], 'f32', { engine });
      const c = ops.add(ta, tb);
      expectClose(await c.read(), binaryReference('add', a, [n], b, [n], [n]), EXACT, `add of ${n}`);
      for (const t of [ta, tb, c]) t.dispose();
    },
  },
  {
    name: 'binary ops refuse shapes that do not broadcast, naming both',
    async run(engine: Engine) {
      const a = tensor(new Float32Array(6), [2, 3], 'f32', { engine });
      const b = tensor(new Float32Array(4), [4], 'f32', { engine });
      await expectError(
        () => ops.add(a, b),
        RangeError,
        [/\[2, 3\]/, /\[4\]/, /cannot be broadcast/],
        'add [2,3]+[4]',
      );
      const i = tensor([1, 2, 3, 4, 5, 6], [2, 3], 'i32', { engine });
      await expectError(() => ops.mul(a, i), TypeError, [/needs f32/, /i32/], 'mul f32*i32');
      for (const t of [a, b, i]) t.dispose();
    },
  },
  {
    name: 'unary and binary kernels refuse a bad count or a buffer smaller than its shape, naming both',
    async run(engine: Engine) {
      const bufs = new CaseBuffers(engine);
      try {
        const six = bufs.empty(6, 'elementwise test six');
        const four = bufs.empty(4, 'elementwise test four');
        const before = engine.stats().dispatches;
        await expectError(
          () => encodeUnary(engine, 'neg', six, four, 6),
          RangeError,
          [/unary_neg: buffer y \("elementwise test four"\) has 16 bytes; \[6\] f32 needs 24/],
          'unary y too small',
        );
        await expectError(
          () => encodeUnary(engine, 'exp', six, six, 2.5),
          RangeError,
          [/unary_exp: n must be a non-negative integer \(a u32\), got 2\.5/],
          'unary n 2.5',
        );
        await expectError(
          () =>
            encodeBinary(
              engine,
              'add',
              { buffer: six, shape: [2, 3] },
              { buffer: four, shape: [3] },
              four,
              [2, 3],
            ),
          RangeError,
          [/binary_add: buffer out \("elementwise test four"\) has 16 bytes; \[2, 3\] f32 needs 24/],
          'binary out too small',
        );
        await expectError(
          () =>
            encodeBinary(
              engine,
              'mul',
              { buffer: four, shape: [2, 3] },
              { buffer: six, shape: [2, 3] },
              six,
              [2, 3],
            ),
          RangeError,
          [/binary_mul: buffer a \("elementwise test four"\) has 16 bytes; \[2, 3\] f32 needs 24/],
          'binary a too small',
        );
        expectEqual(engine.stats().dispatches, before, 'dispatches after refused calls');
      } finally {
        bufs.release();
      }
    },
  },
];

export const cases: KernelCase[] = [...unaryCases, ...specialCases, ...binaryCases, ...edgeCases];
