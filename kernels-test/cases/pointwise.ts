/**
 * The pointwise family (src/kernels/pointwise.ts, shaders/pointwise.ts): the scalar ops pow,
 * pow_grad, clamp, clamp_grad against scalarOpReference; fill; copyBlock (row slices, strided
 * column blocks, dst += src, and the source offset moved by a u32 storage word, eagerly and in
 * a recorded dispatch replayed after the word changes) against copyBlockReference; and the
 * wrappers' refusals.
 *
 * Tolerances (|a − e| ≤ atol + rtol·|e|, NaN only against NaN, ±Inf only against itself):
 * - pow p = 0 and p = 1 are exact (1 and x); p = 2 is x·x, one f32 rounding (rtol 2^-24).
 * - Other exponents go through WGSL's pow, specified as exp2(p·log2 x): log2 within 3 ULP
 *   (2^-21 absolute for x in [0.5, 2]), exp2 within 3 + 2|y| ULP for y = p·log2 x. powRtol
 *   adds these up for |x| in [2^-4, 4] (|log2 x| ≤ 4), the range the random inputs keep to,
 *   which gives rtol 1.4e-6 (p = 0.5) up to 6.7e-6 (p = 3); a value near zero is held by the
 *   same relative bound, since the inputs stay far from f32's subnormals. ±0 (0, ±Inf, -0)
 *   and the signs of negative bases are handled apart from pow(), so they match exactly.
 *   Measured on llvmpipe (Node): at most 7.5e-7 relative (p = 3); x·x (p = 2) 5.8e-8.
 * - pow_grad is dy·(p·x^(p−1)): powRtol(p − 1) plus the two f32 products (2·2^-24).
 *   Measured on llvmpipe: at most 7.7e-7 relative (p = -2).
 * - clamp, clamp_grad, fill and copyBlock move values: exact. copyBlock with accumulate adds
 *   once in f32 (rtol 2^-24).
 */
import type { Engine } from '../../src/index.js';
import { BufferSlice } from '../../src/gpu/engine.js';
import {
  copyBlockReference,
  encodeCopyBlock,
  encodeFill,
  encodeScalarOp,
  scalarOpReference,
  type CopyBlockSpec,
  type ScalarOp,
} from '../../src/kernels/pointwise.js';
import { CaseBuffers } from '../buffers.js';
import { EXACT, expectClose, expectEqual, expectError, rng, uniformF32, type Tolerance } from '../harness.js';
import type { KernelCase } from './types.js';

/** One correctly rounded f32 operation, relative to its result. */
const ROUND = 2 ** -24;
/** One f32 ULP, relative to the value (at most 2^-23). */
const ULP = 2 ** -23;
/** |log2 |x|| for the random pow inputs: |x| in [2^-4, 2^2]. */
const LOG2_RANGE = 4;

/** WGSL's bound on pow(x, e) = exp2(e·log2 x) for |log2 x| ≤ LOG2_RANGE, relative to the result. */
function powRtol(e: number): number {
  if (e === 0 || e === 1) return 0;
  if (e === 2) return ROUND; // x·x
  const y = Math.abs(e) * LOG2_RANGE;
  const log2Error = Math.max(2 ** -21, 3 * ULP * LOG2_RANGE);
  const yError = Math.abs(e) * log2Error + ROUND * y; // and e·log2 x rounds once
  return Math.LN2 * yError + (3 + 2 * y) * ULP;
}

const EXPONENTS = [0, 1, 2, 3, -1, 0.5, 2.5, -2];
/** Sizes around the 256-thread workgroup. */
const SIZES = [1, 255, 256, 257, 3000];
/** Signs, zeros, integers and halves, NaN: the front of every pow input of 13 values or more. */
const POW_SPECIALS = new Float32Array([NaN, 0, -0, 1, -1, 2, -2, 0.5, -0.5, 3, -3, 0.25, -4]);

/** n values of random sign and magnitude 2^u, u uniform in [-4, 2], after the specials. */
function powInputs(n: number, seed: number): Float32Array {
  const r = rng(seed);
  const x = Float32Array.from({ length: n }, () => (r() < 0.5 ? -1 : 1) * 2 ** (-LOG2_RANGE + 6 * r()));
  x.set(POW_SPECIALS.subarray(0, Math.min(n, POW_SPECIALS.length)));
  return x;
}

/** Runs one scalar op on the GPU and returns its n outputs. */
async function runScalarOp(
  engine: Engine,
  op: ScalarOp,
  x: Float32Array,
  p: number,
  q = 0,
  dy?: Float32Array,
): Promise<Float32Array> {
  const bufs = new CaseBuffers(engine);
  try {
    const n = x.length;
    const y = bufs.empty(Math.max(n, 1), `${op} y`);
    const b = { x: bufs.data(x, `${op} x`), y, ...(dy ? { dy: bufs.data(dy, `${op} dy`) } : {}) };
    encodeScalarOp(engine, op, b, n, p, q);
    return await bufs.read(y, n, `${op} y`);
  } finally {
    bufs.release();
  }
}

const powCases: KernelCase[] = EXPONENTS.map((p, k) => ({
  name: `pow p=${p}: signs, zeros, NaN, sizes 1..3000 against float64`,
  async run(engine: Engine) {
    const tol: Tolerance = { atol: 0, rtol: powRtol(p) };
    for (const [i, n] of SIZES.entries()) {
      const x = powInputs(n, 1000 + 10 * k + i);
      const y = await runScalarOp(engine, 'pow', x, p);
      expectClose(y, scalarOpReference('pow', x, p), tol, `pow(x, ${p}) n=${n}`);
    }
  },
}));

const powGradCases: KernelCase[] = EXPONENTS.map((p, k) => ({
  name: `pow_grad p=${p}: dy·p·x^(p−1), sizes 1..3000 against float64`,
  async run(engine: Engine) {
    const tol: Tolerance = { atol: 0, rtol: powRtol(p - 1) + 2 * ROUND };
    for (const [i, n] of SIZES.entries()) {
      const x = powInputs(n, 2000 + 10 * k + i);
      // NaN x stays in: the gradient kernel passes it through (NaN, but 0 for p = 0 and dy
      // for p = 1, as the reference and PyTorch give).
      const dy = uniformF32(n, -2, 2, 3000 + 10 * k + i);
      const y = await runScalarOp(engine, 'pow_grad', x, p, 0, dy);
      expectClose(y, scalarOpReference('pow_grad', x, p, 0, dy), tol, `pow_grad(x, ${p}) n=${n}`);
    }
  },
}));

/** The f32 next to v towards +Inf (dir 1) or −Inf (dir −1), for v ≠ 0. */
function nextF32(v: number, dir: 1 | -1): number {
  const f = new Float32Array([v]);
  const u = new Uint32Array(f.buffer);
  u[0] = (u[0] as number) + (Math.sign(v) === dir ? 1 : -1);
  return f[0] as number;
}

/**
 * Bounds of the clamp tests: [lo, hi]; q = +Inf (a lower bound only: with lo = 0, NaN must
 * still pass through), p = −Inf (an upper bound only).
 */
const CLAMP_BOUNDS: [number, number][] = [
  [-1.25, 0.75],
  [0.5, 0.5],
  [-3, Infinity],
  [0, Infinity],
  [-Infinity, 1],
];

/** Random values in [-4, 4) after the exact bounds, their f32 neighbours, NaN and ±Inf. */
function clampInputs(n: number, lo: number, hi: number, seed: number): Float32Array {
  const x = uniformF32(n, -4, 4, seed);
  const edges = [NaN, Infinity, -Infinity, 0, -0, lo, hi];
  for (const b of [lo, hi]) if (Number.isFinite(b)) edges.push(nextF32(b, -1), nextF32(b, 1));
  x.set(edges.slice(0, n));
  return x;
}

const clampCases: KernelCase[] = [
  {
    name: 'clamp and clamp_grad: bounds included, NaN and ±Inf inputs, against float64',
    async run(engine: Engine) {
      for (const [b, [lo, hi]] of CLAMP_BOUNDS.entries()) {
        for (const [i, n] of [13, 257, 3000].entries()) {
          const x = clampInputs(n, lo, hi, 4000 + 10 * b + i);
          const dy = uniformF32(n, -2, 2, 5000 + 10 * b + i);
          const what = `[${lo}, ${hi}] n=${n}`;
          const y = await runScalarOp(engine, 'clamp', x, lo, hi);
          expectClose(y, scalarOpReference('clamp', x, lo, hi), EXACT, `clamp ${what}`);
          const dx = await runScalarOp(engine, 'clamp_grad', x, lo, hi, dy);
          expectClose(dx, scalarOpReference('clamp_grad', x, lo, hi, dy), EXACT, `clamp_grad ${what}`);
        }
      }
    },
  },
];

const fillCases: KernelCase[] = [
  {
    name: 'fill: sizes 1..3000, nothing past n, n = 0 dispatches nothing, a slice destination',
    async run(engine: Engine) {
      const SENTINEL = -7.5;
      const bufs = new CaseBuffers(engine);
      try {
        const values = [3.25, -1e30, 0, NaN, 1 / 3];
        for (const [i, n] of SIZES.entries()) {
          const value = values[i % values.length] as number;
          const before = new Float32Array(n + 5).fill(SENTINEL);
          const y = bufs.data(before, `fill y ${n}`);
          encodeFill(engine, y, n, value);
          const expected = Float64Array.from(before, (v, j) => (j < n ? Math.fround(value) : v));
          expectClose(await bufs.read(y, n + 5, 'fill y'), expected, EXACT, `fill ${value} n=${n}`);
        }

        // n = 0: no dispatch, no error, the buffer as it was.
        const y0 = bufs.data(new Float32Array(4).fill(SENTINEL), 'fill y0');
        await engine.flush();
        const dispatches = engine.stats().dispatches;
        encodeFill(engine, y0, 0, 1);
        await engine.flush();
        expectEqual(engine.stats().dispatches, dispatches, 'fill n=0 dispatches');
        expectClose(await bufs.read(y0, 4, 'fill y0'), new Float64Array(4).fill(SENTINEL), EXACT, 'fill n=0');

        // A slice starting one offset alignment into its buffer.
        const align = engine.limits.minStorageBufferOffsetAlignment / 4;
        const n = 300;
        const total = align + n + 7;
        const arena = bufs.data(new Float32Array(total).fill(SENTINEL), 'fill arena');
        encodeFill(engine, new BufferSlice(arena, align * 4, n * 4, 'fill slice'), n, -2.5);
        const expected = Float64Array.from({ length: total }, (_, j) =>
          j >= align && j < align + n ? -2.5 : SENTINEL,
        );
        expectClose(await bufs.read(arena, total, 'fill arena'), expected, EXACT, 'fill into a slice');
      } finally {
        bufs.release();
      }
    },
  },
];

/** Runs encodeCopyBlock over GPU copies of src and dst (and dyn[0] = dynValue); returns dst. */
async function runCopyBlock(
  engine: Engine,
  spec: CopyBlockSpec,
  src: Float32Array,
  dst: Float32Array,
  dynValue?: number,
): Promise<Float32Array> {
  const bufs = new CaseBuffers(engine);
  try {
    const d = bufs.data(dst, 'copy dst');
    const dyn = dynValue === undefined ? undefined : bufs.data(new Uint32Array([dynValue, 0, 0, 0]), 'dyn');
    encodeCopyBlock(engine, spec, { src: bufs.data(src, 'copy src'), dst: d, ...(dyn ? { dyn } : {}) });
    return await bufs.read(d, dst.length, 'copy dst');
  } finally {
    bufs.release();
  }
}

const ACC_TOL: Tolerance = { atol: 0, rtol: ROUND };

const copyCases: KernelCase[] = [
  {
    name: 'copyBlock: row slices, strided column blocks (concatenation), empty blocks',
    async run(engine: Engine) {
      // Rows [3, 8) of a [10, 7] matrix into a [5, 7] one.
      {
        const src = uniformF32(70, -5, 5, 6000);
        const dst = uniformF32(35, -5, 5, 6001);
        const spec: CopyBlockSpec = {
          rows: 5,
          cols: 7,
          src: { offset: 21, stride: 7 },
          dst: { offset: 0, stride: 7 },
        };
        const got = await runCopyBlock(engine, spec, src, dst);
        expectClose(got, copyBlockReference(spec, src, dst), EXACT, 'rows [3, 8) of [10, 7]');
      }
      // concat([A [6, 4], B [6, 6]], dim 1) into C [6, 10]: two column blocks of C.
      {
        const a = uniformF32(24, -5, 5, 6002);
        const b = uniformF32(36, -5, 5, 6003);
        let c = uniformF32(60, -5, 5, 6004);
        const specA: CopyBlockSpec = {
          rows: 6,
          cols: 4,
          src: { offset: 0, stride: 4 },
          dst: { offset: 0, stride: 10 },
        };
        const specB: CopyBlockSpec = {
          rows: 6,
          cols: 6,
          src: { offset: 0, stride: 6 },
          dst: { offset: 4, stride: 10 },
        };
        const afterA = copyBlockReference(specA, a, c);
        c = await runCopyBlock(engine, specA, a, c);
        expectClose(c, afterA, EXACT, 'concat part A (cols 0..3 of stride 10)');
        const afterB = copyBlockReference(specB, b, c);
        c = await runCopyBlock(engine, specB, b, c);
        expectClose(c, afterB, EXACT, 'concat part B (cols 4..9 of stride 10)');
        // Its gradient: the column block of B back out of C.
        const gB = new Float32Array(36);
        const back: CopyBlockSpec = {
          rows: 6,
          cols: 6,
          src: { offset: 4, stride: 10 },
          dst: { offset: 0, stride: 6 },
        };
        expectClose(
          await runCopyBlock(engine, back, c, gB),
          copyBlockReference(back, c, gB),
          EXACT,
          'concat grad B',
        );
      }
      // A large strided block between offset regions: 300 × 257 from stride 300 to stride 260.
      {
        const spec: CopyBlockSpec = {
          rows: 300,
          cols: 257,
          src: { offset: 17, stride: 300 },
          dst: { offset: 3, stride: 260 },
        };
        const src = uniformF32(17 + 299 * 300 + 257, -5, 5, 6005);
        const dst = uniformF32(3 + 299 * 260 + 257 + 5, -5, 5, 6006);
        const got = await runCopyBlock(engine, spec, src, dst);
        expectClose(got, copyBlockReference(spec, src, dst), EXACT, '300 × 257 strided block');
      }
      // One row may have any stride; empty blocks touch nothing.
      {
        const src = uniformF32(9, -5, 5, 6007);
        const dst = uniformF32(12, -5, 5, 6008);
        for (const spec of [
          { rows: 1, cols: 9, src: { offset: 0, stride: 0 }, dst: { offset: 3, stride: 0 } },
          { rows: 0, cols: 9, src: { offset: 0, stride: 9 }, dst: { offset: 0, stride: 9 } },
          { rows: 4, cols: 0, src: { offset: 0, stride: 9 }, dst: { offset: 0, stride: 9 } },
        ] satisfies CopyBlockSpec[]) {
          const what = `rows ${spec.rows} cols ${spec.cols}`;
          expectClose(
            await runCopyBlock(engine, spec, src, dst),
            copyBlockReference(spec, src, dst),
            EXACT,
            what,
          );
        }
      }
    },
  },
  {
    name: 'copyBlock accumulate: dst += src over a strided block, twice',
    async run(engine: Engine) {
      const spec: CopyBlockSpec = {
        rows: 40,
        cols: 13,
        src: { offset: 5, stride: 20 },
        dst: { offset: 2, stride: 15 },
        accumulate: true,
      };
      const src = uniformF32(5 + 39 * 20 + 13, -5, 5, 7000);
      let dst = uniformF32(2 + 39 * 15 + 13 + 4, -5, 5, 7001);
      for (const time of [1, 2]) {
        const expected = copyBlockReference(spec, src, dst);
        dst = await runCopyBlock(engine, spec, src, dst);
        expectClose(dst, expected, ACC_TOL, `accumulate, time ${time}`);
      }
    },
  },
  {
    name: 'copyBlock dyn offset: dyn[0]·dynScale moves the source, eagerly and on replay',
    async run(engine: Engine) {
      const bufs = new CaseBuffers(engine);
      try {
        // Rows [i, i + 4) of columns 2..4 of a [20, 7] matrix, i = dyn[0].
        const spec: CopyBlockSpec = {
          rows: 4,
          cols: 3,
          src: { offset: 2, stride: 7 },
          dst: { offset: 1, stride: 3 },
          dynScale: 7,
          dynMax: 16,
        };
        const src = uniformF32(140, -5, 5, 8000);
        const dst0 = uniformF32(14, -5, 5, 8001);
        const s = bufs.data(src, 'dyn src');
        const d = bufs.data(dst0, 'dyn dst');
        const dyn = bufs.data(new Uint32Array([3, 0, 0, 0]), 'dyn word');
        const b = { src: s, dst: d, dyn };
        const read = () => bufs.read(d, dst0.length, 'dyn dst');

        encodeCopyBlock(engine, spec, b);
        expectClose(await read(), copyBlockReference(spec, src, dst0, 3), EXACT, 'eager, dyn = 3');
        engine.writeBuffer(dyn, 0, new Uint32Array([11]));
        encodeCopyBlock(engine, spec, b);
        expectClose(await read(), copyBlockReference(spec, src, dst0, 11), EXACT, 'eager, dyn = 11');

        // Recorded once; each replay reads the word written before it.
        const rec = engine.record('copy rows at dyn', () => encodeCopyBlock(engine, spec, b));
        try {
          for (const i of [7, 0, 16, 5]) {
            engine.writeBuffer(dyn, 0, new Uint32Array([i]));
            engine.replay(rec);
            expectClose(await read(), copyBlockReference(spec, src, dst0, i), EXACT, `replay, dyn = ${i}`);
          }
        } finally {
          rec.release();
        }

        // Accumulating replays into zeros: rows at 2, then rows at 9 added.
        const accSpec: CopyBlockSpec = { ...spec, accumulate: true };
        const zeros = new Float32Array(dst0.length);
        engine.writeBuffer(d, 0, zeros);
        const acc = engine.record('add rows at dyn', () => encodeCopyBlock(engine, accSpec, b));
        try {
          engine.writeBuffer(dyn, 0, new Uint32Array([2]));
          engine.replay(acc);
          const first = copyBlockReference(accSpec, src, zeros, 2);
          expectClose(await read(), first, EXACT, 'accumulating replay, dyn = 2');
          engine.writeBuffer(dyn, 0, new Uint32Array([9]));
          engine.replay(acc);
          const second = copyBlockReference(accSpec, src, first, 9);
          expectClose(await read(), second, ACC_TOL, 'accumulating replay, then dyn = 9');
        } finally {
          acc.release();
        }
      } finally {
        bufs.release();
      }
    },
  },
];

const errorCases: KernelCase[] = [
  {
    name: 'pointwise refusals: unknown op, dy, strides, sizes, dyn',
    async run(engine: Engine) {
      const bufs = new CaseBuffers(engine);
      try {
        const x = bufs.empty(8, 'x');
        const y = bufs.empty(8, 'y');
        const small = bufs.empty(4, 'small');
        await expectError(
          () => encodeScalarOp(engine, 'tanh' as ScalarOp, { x, y }, 8, 1),
          RangeError,
          [/unknown op 'tanh'/, /pow, pow_grad, clamp, clamp_grad/],
          'unknown op',
        );
        await expectError(
          () => encodeScalarOp(engine, 'pow_grad', { x, y }, 8, 2),
          TypeError,
          [/scalar_pow_grad: needs dy buffer/],
          'pow_grad without dy',
        );
        await expectError(
          () => encodeScalarOp(engine, 'clamp_grad', { x, y }, 8, 0, 1),
          TypeError,
          [/scalar_clamp_grad: needs dy buffer/],
          'clamp_grad without dy',
        );
        await expectError(
          () => encodeScalarOp(engine, 'pow', { x, dy: x, y }, 8, 2),
          TypeError,
          [/scalar_pow: takes no dy buffer/],
          'pow with dy',
        );
        await expectError(
          () => encodeScalarOp(engine, 'pow', { x, y }, 8, NaN),
          RangeError,
          [/scalar_pow: p must be finite, got NaN/],
          'pow p = NaN',
        );
        await expectError(
          () => encodeScalarOp(engine, 'clamp', { x, y: small }, 8, 0, 1),
          RangeError,
          [/buffer y \("small"\) has 16 bytes; \[8\] f32 needs 32/],
          'scalar op y too small',
        );
        await expectError(
          () => encodeFill(engine, small, 5, 1),
          RangeError,
          [/fill: buffer y \("small"\) has 16 bytes; \[5\] f32 needs 20/],
          'fill y too small',
        );
        const src = bufs.empty(100, 'src');
        const dst = bufs.empty(20, 'dst');
        const side = { offset: 0, stride: 5 };
        await expectError(
          () =>
            encodeCopyBlock(
              engine,
              { rows: 4, cols: 5, src: { offset: 0, stride: 3 }, dst: side },
              { src, dst },
            ),
          RangeError,
          [/copy_block: src\.stride 3 is less than cols 5/],
          'src stride < cols',
        );
        await expectError(
          () =>
            encodeCopyBlock(
              engine,
              { rows: 2, cols: 5, src: side, dst: { offset: 0, stride: 4 } },
              { src, dst },
            ),
          RangeError,
          [/dst\.stride 4 is less than cols 5/],
          'dst stride < cols',
        );
        await expectError(
          () =>
            encodeCopyBlock(
              engine,
              { rows: 4, cols: 5, src: side, dst: { offset: 1, stride: 5 } },
              { src, dst },
            ),
          RangeError,
          [/copy_block: buffer dst \("dst"\) has 80 bytes; a block of \[4, 5\] f32 needs 84/],
          'dst too small',
        );
        await expectError(
          () =>
            encodeCopyBlock(
              engine,
              { rows: 4, cols: 5, src: side, dst: side, accumulate: true, dynScale: 5, dynMax: 17 },
              { src, dst, dyn: bufs.data(new Uint32Array(4), 'dyn') },
            ),
          RangeError,
          [/copy_block_acc: buffer src \("src"\) has 400 bytes; a block of \[4, 5\] f32 needs 420/],
          'src too small for dynMax',
        );
        await expectError(
          () =>
            encodeCopyBlock(engine, { rows: 4, cols: 5, src: side, dst: side, dynScale: 5 }, { src, dst }),
          TypeError,
          [/copy_block: dynScale is set but no dyn buffer was given/],
          'dynScale without dyn',
        );
        // Nothing refused reached the device.
        await engine.flush();
      } finally {
        bufs.release();
      }
    },
  },
];

export const cases: KernelCase[] = [
  ...powCases,
  ...powGradCases,
  ...clampCases,
  ...fillCases,
  ...copyCases,
  ...errorCases,
];
