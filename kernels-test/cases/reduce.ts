/**
 * Reductions against float64/integer references: sum and mean (rows, columns, full),
 * accumulation into a GPU slot, row-wise argmax, and the correct-prediction counts.
 *
 * Tolerance of sums: a float32 sum along a tree of additions errs by at most (to first
 * order) depth · 2^-24 · Σ|x|, where depth is the longest chain of roundings from an input
 * to the output. Every sum here (rows, columns, full) runs in barrier-free passes: up to 256
 * terms are one pass, one thread per output; longer axes first go through passes in which
 * a thread adds at most 64 terms. A thread keeps four interleaved chains and joins them with
 * 2 adds, so a pass of T terms adds ceil(T / 4) + 2 roundings; the scale adds 1.
 * sumRoundingDepth(n) computes the total from the pass geometry (n ≤ 64: ≤ 19; 256: 67;
 * a 5000-row column: 41, where one chain would be 5000; 1,000,003 values: 101). The bound
 * uses Σ|x|, so cancellation cannot hide an error. Accumulation adds one rounding per call.
 * Argmax and the counts are integers: exact. Row accuracies (weighted accuracy metrics): 0
 * or 1 exactly, a binary row's right/cols one division, times the weight one multiply:
 * rtol 2 · 2^-24.
 */
import { ops, tensor, type Engine } from '../../src/index.js';
import {
  argmaxReference,
  correctCountReference,
  encodeAccumulateSum,
  encodeAccumulateSums,
  encodeArgmax,
  encodeCorrectCount,
  encodeRowCorrect,
  rowCorrectReference,
  sumReference,
  sumRoundingDepth,
  type CorrectCountSpec,
} from '../../src/kernels/reduce.js';
import { EXACT, expectClose, expectEqual, expectError, rng, uniformF32 } from '../harness.js';
import type { KernelCase } from './types.js';

const EPS32 = 2 ** -24;

/** Absolute tolerance for every output of a sum over `view`, from Σ|x| of its terms. */
function sumTolerance(x: Float32Array, view: { outer: number; n: number; inner: number }, scale: number) {
  const abs = Float32Array.from(x, Math.abs);
  const bound = sumReference(abs, view, Math.abs(scale));
  let worst = 0;
  for (const b of bound) worst = Math.max(worst, b);
  return worst * sumRoundingDepth(view.n) * EPS32;
}

function viewOf(shape: number[], axis: number | undefined) {
  if (axis === undefined) return { outer: 1, n: shape.reduce((p, d) => p * d, 1), inner: 1 };
  const a = axis < 0 ? axis + shape.length : axis;
  const prod = (s: number[]) => s.reduce((p, d) => p * d, 1);
  return { outer: prod(shape.slice(0, a)), n: shape[a] ?? 1, inner: prod(shape.slice(a + 1)) };
}

function storage(engine: Engine, data: Float32Array | Uint32Array, label: string): GPUBuffer {
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
  return engine.createBufferWithData(data, usage, label);
}

async function readF32(engine: Engine, b: GPUBuffer, n: number): Promise<Float32Array> {
  return new Float32Array(await engine.read(b, n * 4, b.label));
}

async function readU32(engine: Engine, b: GPUBuffer, n: number): Promise<Uint32Array> {
  return new Uint32Array(await engine.read(b, n * 4, b.label));
}

const sumCases: KernelCase[] = [
  {
    name: 'reduce sum of all elements: 1 to 1,000,003 values (single and multi-pass)',
    async run(engine: Engine) {
      for (const [i, n] of [1, 64, 65, 255, 256, 257, 4096, 4097, 16_385, 100_000, 1_000_003].entries()) {
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
    name: 'reduce sum and mean along an axis: rows, columns, middle axis, negative axis, keepDims',
    async run(engine: Engine) {
      const cases: [number[], number, boolean][] = [
        [[7, 300], 1, false], // row sums, two passes
        [[300, 7], 0, false], // column sums (bias gradient)
        [[3, 5, 7], 1, false], // middle axis
        [[3, 5, 7], -1, true],
        [[1, 1], 0, false],
        [[1000, 3], 0, true],
        [[5000, 3], 0, false], // a tall column sum: two passes, not a 5000-long chain
        [[70_000, 10], 1, false], // more rows than workgroups per dimension
        [[64, 784], 1, false],
        [[128, 512], 0, false],
        [[3, 20_000, 2], 1, false], // a long middle axis: blocks of 256 parts per pass
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
    name: 'reduce sum of a column of 5000 equal values is the exact product',
    async run(engine: Engine) {
      // 5000 · 0.1f: one f32 chain of 5000 adds ends 0.021 off (its rounding error grows to
      // 2^-16 per add as the running sum nears 500), 19× this bound; parts of 64 terms
      // summed in a second pass stay within it.
      const n = 5000;
      const v = Math.fround(0.1);
      const x = new Float32Array(n * 3).fill(v);
      const t = tensor(x, [n, 3], 'f32', { engine });
      const y = ops.sum(t, 0);
      const atol = n * v * sumRoundingDepth(n) * EPS32;
      expectClose(await y.read(), [n * v, n * v, n * v], { atol, rtol: 0 }, '5000 × 0.1f');
      t.dispose();
      y.dispose();
    },
  },
  {
    name: 'reduce sum over more than 65535 × 256 outputs (2-D folded dispatch)',
    async run(engine: Engine) {
      // A mean over a length-1 axis of [R, 1] is one thread per row, R of them: past the
      // 65535 workgroups of one dimension, so the grid is folded. Integers: exact.
      const rows = 65535 * 256 + 300;
      const grid = engine.dispatchGrid(rows, 256);
      if (grid[1] < 2) throw new Error(`expected a folded grid for ${rows} outputs, got ${grid.join('x')}`);
      const x = new Float32Array(rows);
      for (let i = 0; i < rows; i++) x[i] = (i % 2001) - 1000;
      const t = tensor(x, [rows, 1], 'f32', { engine });
      const y = ops.mean(t, 1);
      expectClose(await y.read(), x, EXACT, `mean over axis 1 of [${rows}, 1]`);
      t.dispose();
      y.dispose();
    },
  },
  {
    name: 'reduce sum propagates NaN and Inf (Inf + -Inf is NaN)',
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
      expectClose(await y.read(), [NaN, Infinity, -Infinity, NaN], EXACT, 'row sums with specials');
      const cols = ops.sum(t, 0);
      expectClose(await cols.read(), [NaN, NaN, NaN, 10], EXACT, 'column sums with specials');
      const all = ops.sum(t);
      expectClose(await all.read(), [NaN], EXACT, 'full sum with a NaN');
      // A NaN deep in a long vector survives every pass.
      const long = uniformF32(20_000, -1, 1, 4242);
      long[12_345] = NaN;
      const tl = tensor(long, [20_000], 'f32', { engine });
      const sl = ops.sum(tl);
      expectClose(await sl.read(), [NaN], EXACT, 'sum of 20,000 with one NaN');
      for (const u of [t, y, cols, all, tl, sl]) u.dispose();
    },
  },
];

const accumulateCases: KernelCase[] = [
  {
    name: 'reduce accumulateSum: several calls into one slot equal the float64 sum; other slots untouched',
    async run(engine: Engine) {
      const initial = Float32Array.from([7.25, -1.5, 3, 0.125]);
      const acc = storage(engine, initial, 'acc');
      const slot = 2;
      const sizes = [1, 3, 64, 65, 1000, 16_385, 100_003];
      let expected = initial[slot] ?? 0;
      let absTotal = Math.abs(expected);
      let depth = 0;
      const inputs: GPUBuffer[] = [];
      for (const [i, n] of sizes.entries()) {
        const x = uniformF32(n, -2, 2, 700 + i);
        const b = storage(engine, x, `x ${n}`);
        inputs.push(b);
        encodeAccumulateSum(engine, b, n, acc, slot);
        for (const v of x) {
          expected += v;
          absTotal += Math.abs(v);
        }
        depth = Math.max(depth, sumRoundingDepth(n));
      }
      const got = await readF32(engine, acc, 4);
      // Each call's sum errs by ≤ depth·u·Σ|x_call|, and its add into the slot by
      // u·|slot| ≤ u·(|initial| + Σ|x|); summed over the calls.
      const atol = (depth + sizes.length) * EPS32 * absTotal;
      expectClose([got[slot] ?? NaN], [expected], { atol, rtol: 0 }, 'accumulated slot');
      for (const k of [0, 1, 3]) {
        expectClose([got[k] ?? NaN], [initial[k] ?? NaN], EXACT, `slot ${k} untouched`);
      }
      for (const b of [acc, ...inputs]) engine.releaseBuffer(b);
    },
  },
  {
    name: 'reduce accumulateSum: same data gives the same bits (no atomics); n = 0 adds nothing; NaN propagates',
    async run(engine: Engine) {
      const acc = storage(engine, new Float32Array(4), 'acc');
      const x = uniformF32(50_000, -1, 1, 777);
      const b = storage(engine, x, 'x');
      for (let rep = 0; rep < 3; rep++) {
        encodeAccumulateSum(engine, b, 50_000, acc, 0);
        encodeAccumulateSum(engine, b, 50_000, acc, 1);
      }
      encodeAccumulateSum(engine, b, 0, acc, 0);
      const withNan = storage(engine, Float32Array.from([1, NaN, 2]), 'x with NaN');
      encodeAccumulateSum(engine, withNan, 3, acc, 3);
      const got = await readF32(engine, acc, 4);
      expectClose([got[0] ?? NaN], [got[1] ?? NaN], EXACT, 'slot 0 == slot 1');
      const one = sumReference(x, { outer: 1, n: 50_000, inner: 1 }, 1)[0] ?? NaN;
      const abs = x.reduce((s, v) => s + Math.abs(v), 0);
      const atol = 3 * (sumRoundingDepth(50_000) + 1) * EPS32 * abs;
      expectClose([got[0] ?? NaN], [3 * one], { atol, rtol: 0 }, 'three accumulations');
      expectClose([got[2] ?? NaN, got[3] ?? NaN], [0, NaN], EXACT, 'untouched slot, NaN slot');
      for (const u of [acc, b, withNan]) engine.releaseBuffer(u);
    },
  },
  {
    name: 'reduce accumulateSums: [outer, n] rows into consecutive slots; neighbours untouched',
    async run(engine: Engine) {
      const initial = Float32Array.from([9, 1.5, -2, 0.25, 4, 11]);
      const acc = storage(engine, initial, 'acc');
      const inputs: GPUBuffer[] = [];
      try {
        for (const n of [5, 300, 20_001]) {
          const x = uniformF32(4 * n, -2, 2, 40 + n);
          const b = storage(engine, x, `x [4, ${n}]`);
          inputs.push(b);
          encodeAccumulateSums(engine, b, { outer: 4, n }, acc, 1);
        }
        const got = await readF32(engine, acc, 6);
        const want = Array.from(initial);
        const abs = Array.from(initial, Math.abs);
        let depth = 0;
        for (const n of [5, 300, 20_001]) {
          const x = uniformF32(4 * n, -2, 2, 40 + n);
          const s = sumReference(x, { outer: 4, n, inner: 1 }, 1);
          const a = sumReference(Float32Array.from(x, Math.abs), { outer: 4, n, inner: 1 }, 1);
          for (let o = 0; o < 4; o++) {
            want[1 + o] = (want[1 + o] ?? NaN) + (s[o] ?? NaN);
            abs[1 + o] = (abs[1 + o] ?? NaN) + (a[o] ?? NaN);
          }
          depth = Math.max(depth, sumRoundingDepth(n));
        }
        const atol = Math.max(...abs) * (depth + 3) * EPS32;
        expectClose(got.subarray(1, 5), want.slice(1, 5), { atol, rtol: 0 }, 'four slots');
        expectClose([got[0] ?? NaN, got[5] ?? NaN], [9, 11], EXACT, 'slots 0 and 5 untouched');
        const one = inputs[0] as GPUBuffer;
        await expectError(
          () => encodeAccumulateSums(engine, one, { outer: 4, n: 5 }, acc, 3),
          RangeError,
          [/slots 3\.\.6/],
          'acc too small',
        );
      } finally {
        for (const b of [acc, ...inputs]) engine.releaseBuffer(b);
      }
    },
  },
];

const argmaxCases: KernelCase[] = [
  {
    name: 'reduce argmax: ties go to the first index, NaN rows to their first NaN, ±Inf, -0',
    async run(engine: Engine) {
      const cols = 4;
      const rows: [number[], number][] = [
        [[1, 3, 3, 2], 1], // tie: first
        [[5, 5, 5, 5], 0],
        [[-Infinity, -Infinity, -Infinity, -Infinity], 0],
        [[-Infinity, -1e30, -Infinity, -2e30], 1],
        [[1, NaN, 5, NaN], 1], // NaN: its first index
        [[NaN, 1, 2, 3], 0],
        [[Infinity, 2, NaN, Infinity], 2],
        [[0, 1, 2, Infinity], 3],
        [[-0, 0, -0, 0], 0], // -0 == 0: a tie
        [[-3, -2, -1, -1.5], 2],
      ];
      const x = Float32Array.from(rows.flatMap(([r]) => r));
      const xb = storage(engine, x, 'argmax x');
      const out = storage(engine, new Uint32Array(rows.length).fill(99), 'argmax out');
      encodeArgmax(engine, xb, out, rows.length, cols);
      const expected = rows.map(([, e]) => e);
      const got = await readU32(engine, out, rows.length);
      expectClose(got, expected, EXACT, 'argmax of hand-made rows');
      expectClose(argmaxReference(x, rows.length, cols), expected, EXACT, 'argmaxReference of the same rows');
      for (const b of [xb, out]) engine.releaseBuffer(b);
    },
  },
  {
    name: 'reduce argmax: random rows of 1, 10, 1000 columns against the reference',
    async run(engine: Engine) {
      for (const [i, [rowCount, cols]] of (
        [
          [5, 1],
          [257, 10],
          [600, 3],
          [40, 1000],
        ] as const
      ).entries()) {
        // Values on a coarse grid so ties occur.
        const r = rng(900 + i);
        const x = Float32Array.from({ length: rowCount * cols }, () => Math.floor(r() * 8) - 4);
        const xb = storage(engine, x, 'argmax x');
        const out = storage(engine, new Uint32Array(rowCount), 'argmax out');
        encodeArgmax(engine, xb, out, rowCount, cols);
        expectClose(
          await readU32(engine, out, rowCount),
          argmaxReference(x, rowCount, cols),
          EXACT,
          `argmax [${rowCount}, ${cols}]`,
        );
        for (const b of [xb, out]) engine.releaseBuffer(b);
      }
    },
  },
];

/** Predictions [rows, cols] and sparse labels, about half of them right. */
function classificationData(rows: number, cols: number, seed: number) {
  const r = rng(seed);
  const pred = Float32Array.from({ length: rows * cols }, () => r() * 4 - 2);
  const truth = argmaxReference(pred, rows, cols);
  const sparse = Uint32Array.from(truth, (t) => (r() < 0.5 ? t : Math.floor(r() * cols)));
  const dense = new Float32Array(rows * cols);
  sparse.forEach((c, row) => (dense[row * cols + c] = 1));
  return { pred, sparse, dense };
}

const rowCorrectCases: KernelCase[] = [
  {
    name: 'reduce rowCorrect: per-row accuracy (sparse, dense, binary) times sample weights; stray writes caught',
    async run(engine: Engine) {
      // Rows as the hand-made correctCount case, then random rows: 4 + 293 rows × 3 classes.
      const rows = 297;
      const cols = 3;
      const pred = uniformF32(rows * cols, 0, 1, 31);
      pred.set([0.1, 0.7, 0.2, 0.5, 0.5, 0, 0.2, 0.3, 0.9, 0, NaN, 1]);
      const r = rng(8);
      const sparse = Uint32Array.from({ length: rows }, (_, i) =>
        i < 4 ? ([1, 1, 2, 1][i] ?? 0) : Math.floor(r() * 3),
      );
      const dense = Float32Array.from({ length: rows * cols }, (_, i) =>
        sparse[Math.floor(i / cols)] === i % cols ? 1 : 0,
      );
      const binary = Float32Array.from({ length: rows * cols }, (_, i) =>
        i % 31 === 7 ? 0.5 : r() < 0.5 ? 1 : 0,
      );
      const weights = Float32Array.from({ length: rows }, (_, i) => (i % 5 === 0 ? 0 : 0.1 + 3 * r()));
      const p = storage(engine, pred, 'pred');
      const w = storage(engine, weights, 'weights');
      const labelBufs = {
        sparse: storage(engine, sparse, 'sparse labels'),
        dense: storage(engine, dense, 'dense labels'),
        binary: storage(engine, binary, 'binary labels'),
      };
      const labelData = { sparse, dense, binary };
      // One sentinel word past the rows catches a stray write.
      const out = storage(engine, new Float32Array(rows + 1).fill(-5), 'out');
      try {
        for (const kind of ['sparse', 'dense', 'binary'] as const) {
          for (const weighted of [false, true]) {
            encodeRowCorrect(
              engine,
              { kind, rows, cols },
              { pred: p, labels: labelBufs[kind], out, ...(weighted ? { weights: w } : {}) },
            );
            const got = await readF32(engine, out, rows + 1);
            const want = rowCorrectReference(
              { kind, rows, cols },
              pred,
              labelData[kind],
              weighted ? weights : undefined,
            );
            expectClose(
              got.subarray(0, rows),
              want,
              { atol: 0, rtol: 2 * EPS32 },
              `rowCorrect ${kind} weighted=${weighted}`,
            );
            expectEqual(got[rows], -5, 'sentinel after the rows');
            if (!weighted) {
              // Independent of the reference: the rows' sum is correctCount's count (binary: per unit).
              const total = want.reduce((s, v) => s + v, 0) * (kind === 'binary' ? cols : 1);
              const count = correctCountReference({ kind, rows, cols }, pred, labelData[kind]);
              expectClose(
                [total],
                [count],
                { atol: 1e-9, rtol: 1e-12 },
                `rowCorrect ${kind} sums to the count`,
              );
            }
          }
        }
        // The hand-made rows: sparse right, wrong (tie → 0), right, right.
        expectClose(
          rowCorrectReference({ kind: 'sparse', rows: 4, cols }, pred, sparse),
          [1, 0, 1, 1],
          EXACT,
          'hand-made sparse rows',
        );
        const short = storage(engine, new Float32Array(rows - 1), 'short weights');
        try {
          await expectError(
            () =>
              encodeRowCorrect(
                engine,
                { kind: 'dense', rows, cols },
                { pred: p, labels: labelBufs.dense, out, weights: short },
              ),
            RangeError,
            [/weights/, new RegExp(`\\[${rows}\\]`)],
            'weights of the wrong size',
          );
        } finally {
          engine.releaseBuffer(short);
        }
      } finally {
        for (const b of [p, w, out, ...Object.values(labelBufs)]) engine.releaseBuffer(b);
      }
    },
  },
];

const countCases: KernelCase[] = [
  {
    name: 'reduce correctCount: hand-made rows for sparse, dense and binary labels',
    async run(engine: Engine) {
      // 4 rows × 3 classes. Row 3 has a NaN: argmax is its index 1.
      const pred = Float32Array.from([0.1, 0.7, 0.2, 0.5, 0.5, 0, 0.2, 0.3, 0.9, 0, NaN, 1]);
      const sparse = Uint32Array.from([1, 1, 2, 1]); // right, wrong (tie → 0), right, right
      const dense = Float32Array.from([0, 1, 0, 0, 1, 0, 0, 0, 1, 0, 1, 0]);
      const binLabels = Float32Array.from([0, 1, 0, 1, 1, 0, 0, 1, 1, 0, 1, 1]);
      const p = storage(engine, pred, 'pred');
      const ls = storage(engine, sparse, 'sparse labels');
      const ld = storage(engine, dense, 'dense labels');
      const lb = storage(engine, binLabels, 'binary labels');
      const counts = storage(engine, Uint32Array.from([100, 0, 0, 0, 0, 0]), 'counts');
      const base = { rows: 4, cols: 3 };
      encodeCorrectCount(engine, { kind: 'sparse', ...base }, { pred: p, labels: ls, counts });
      encodeCorrectCount(engine, { kind: 'dense', ...base }, { pred: p, labels: ld, counts, slot: 1 });
      encodeCorrectCount(
        engine,
        { kind: 'sparse', ...base, rowsValid: 2 },
        { pred: p, labels: ls, counts, slot: 2 },
      );
      encodeCorrectCount(engine, { kind: 'binary', ...base }, { pred: p, labels: lb, counts, slot: 3 });
      encodeCorrectCount(
        engine,
        { kind: 'binary', ...base, threshold: 0.25 },
        { pred: p, labels: lb, counts, slot: 4 },
      );
      encodeCorrectCount(
        engine,
        { kind: 'binary', ...base, rowsValid: 0 },
        { pred: p, labels: lb, counts, slot: 5 },
      );
      // Binary at 0.5: pred > 0.5 is [0,1,0, 0,0,0, 0,0,1, 0,0,1] (0.5 is not above it, nor
      // is NaN) against labels [0,1,0, 1,1,0, 0,1,1, 0,1,1]: 8 of 12. At 0.25 pred positive
      // is [0,1,0, 1,1,0, 0,1,1, 0,0,1]: 11 of 12 (the NaN is the miss).
      const expected = [100 + 3, 3, 1, 8, 11, 0];
      expectClose(await readU32(engine, counts, 6), expected, EXACT, 'counts');
      const specs: CorrectCountSpec[] = [
        { kind: 'sparse', ...base },
        { kind: 'dense', ...base },
        { kind: 'sparse', ...base, rowsValid: 2 },
        { kind: 'binary', ...base },
        { kind: 'binary', ...base, threshold: 0.25 },
        { kind: 'binary', ...base, rowsValid: 0 },
      ];
      const labelsOf = [sparse, dense, sparse, binLabels, binLabels, binLabels];
      const ref = specs.map((s, k) => correctCountReference(s, pred, labelsOf[k] ?? []));
      expectClose(ref, [3, 3, 1, 8, 11, 0], EXACT, 'correctCountReference of the same rows');
      for (const b of [p, ls, ld, lb, counts]) engine.releaseBuffer(b);
    },
  },
  {
    name: 'reduce correctCount binary: soft labels are never right (Keras y_true == cast(y_pred > t))',
    async run(engine: Engine) {
      const pred = Float32Array.from([0.95, 0.05, 0.8, 0.2, NaN, 0.6, 0.4, 0.5, 0.7, 0.3]);
      const labels = Float32Array.from([0.9, 0.1, 1, 0, 0, 1, 0.5, -0, NaN, 2]);
      // At 0.5, pred > t is [1,0,1,0,0, 1,0,0,1,0] (NaN and 0.5 are not above). Equal to the
      // label: 1, 0 (elements 2, 3), 0 where the pred is NaN (4), 1 (5), −0 = 0 (7): 5 of 10.
      // The soft labels 0.9, 0.1, 0.5 and 2 and the NaN label miss; a rule thresholding the
      // label at 0.5 would count 8. At 0.75, pred > t is [1,0,1,0,0, 0,0,0,0,0]: elements
      // 2, 3, 4, 7 are right: 4.
      const p = storage(engine, pred, 'soft pred');
      const l = storage(engine, labels, 'soft labels');
      const counts = storage(engine, new Uint32Array(3), 'counts');
      const specs: CorrectCountSpec[] = [
        { kind: 'binary', rows: 2, cols: 5 },
        { kind: 'binary', rows: 2, cols: 5, threshold: 0.75 },
        { kind: 'binary', rows: 2, cols: 5, rowsValid: 1 },
      ];
      specs.forEach((spec, slot) => encodeCorrectCount(engine, spec, { pred: p, labels: l, counts, slot }));
      // Row 0 alone at 0.5: elements 2, 3, 4: 3.
      const expected = [5, 4, 3];
      expectClose(await readU32(engine, counts, 3), expected, EXACT, 'soft-label counts');
      const ref = specs.map((s) => correctCountReference(s, pred, labels));
      expectClose(ref, expected, EXACT, 'correctCountReference of the same elements');
      for (const b of [p, l, counts]) engine.releaseBuffer(b);
    },
  },
  {
    name: 'reduce correctCount: random batches, partial last batch, repeated calls, labels out of range',
    async run(engine: Engine) {
      const rows = 700; // three workgroups' worth of rows, the last one partial
      const cols = 10;
      const { pred, sparse, dense } = classificationData(rows, cols, 1234);
      // Labels no prediction can match: counted wrong.
      sparse[5] = cols;
      sparse[6] = 0xffffffff;
      const p = storage(engine, pred, 'pred');
      const ls = storage(engine, sparse, 'sparse labels');
      const ld = storage(engine, dense, 'dense labels');
      const r = rng(55);
      const binPred = Float32Array.from({ length: rows * cols }, () => r());
      binPred[17] = NaN;
      // Mostly hard labels, some soft (never right) and a NaN.
      const soft = [0.9, 0.1, 0.5, 0.999];
      const binLabels = Float32Array.from({ length: rows * cols }, () =>
        r() < 0.1 ? (soft[Math.floor(r() * soft.length)] ?? 0) : r() < 0.4 ? 1 : 0,
      );
      binLabels[23] = NaN;
      const bp = storage(engine, binPred, 'binary pred');
      const bl = storage(engine, binLabels, 'binary labels');
      const counts = storage(engine, new Uint32Array(8), 'counts');
      const runs: {
        spec: CorrectCountSpec;
        pred: Float32Array;
        labels: Float32Array | Uint32Array;
        slot: number;
      }[] = [];
      for (const rowsValid of [rows, 513, 1]) {
        runs.push({ spec: { kind: 'sparse', rows, cols, rowsValid }, pred, labels: sparse, slot: 0 });
        runs.push({ spec: { kind: 'dense', rows, cols, rowsValid }, pred, labels: dense, slot: 1 });
        runs.push({
          spec: { kind: 'binary', rows, cols, rowsValid },
          pred: binPred,
          labels: binLabels,
          slot: 2,
        });
        runs.push({
          spec: { kind: 'binary', rows, cols, rowsValid, threshold: 0.7 },
          pred: binPred,
          labels: binLabels,
          slot: 3,
        });
      }
      const expected = new Array<number>(8).fill(0);
      const buffers = new Map<Float32Array | Uint32Array, GPUBuffer>([
        [pred, p],
        [sparse, ls],
        [dense, ld],
        [binPred, bp],
        [binLabels, bl],
      ]);
      for (const run of runs) {
        const pb = buffers.get(run.pred);
        const lb = buffers.get(run.labels);
        if (!pb || !lb) throw new Error('test setup: unknown buffer');
        encodeCorrectCount(engine, run.spec, { pred: pb, labels: lb, counts, slot: run.slot });
        expected[run.slot] =
          (expected[run.slot] ?? 0) + correctCountReference(run.spec, run.pred, run.labels);
      }
      expectClose(await readU32(engine, counts, 8), expected, EXACT, 'accumulated counts per kind');
      // The sparse and dense counts agree where the dense labels are the sparse ones one-hot
      // (rows 5 and 6 differ: their sparse labels are out of range, their dense rows all 0).
      for (const b of [p, ls, ld, bp, bl, counts]) engine.releaseBuffer(b);
    },
  },
  {
    name: 'reduce argmax and correctCount refuse bad shapes and small buffers, naming sizes',
    async run(engine: Engine) {
      const small = storage(engine, new Float32Array(6), 'small');
      const out = storage(engine, new Uint32Array(4), 'out');
      await expectError(
        () => encodeArgmax(engine, small, out, 2, 0),
        RangeError,
        [/cols must be a positive integer \(a u32\), got 0/],
        'cols 0',
      );
      await expectError(
        () => encodeArgmax(engine, small, out, 4, 3),
        RangeError,
        [/buffer x \("small"\) has 24 bytes/, /\[4, 3\] f32 needs 48/],
        'x too small',
      );
      await expectError(
        () =>
          encodeCorrectCount(
            engine,
            { kind: 'sparse', rows: 2, cols: 3, rowsValid: 3 },
            { pred: small, labels: out, counts: out },
          ),
        RangeError,
        [/rowsValid 3 is more than rows 2/],
        'rowsValid > rows',
      );
      await expectError(
        () =>
          encodeCorrectCount(
            engine,
            { kind: 'dense', rows: 2, cols: 3 },
            { pred: small, labels: out, counts: out },
          ),
        RangeError,
        [/labels/, /has 16 bytes/, /\[2, 3\] f32 needs 24/],
        'dense labels too small',
      );
      await expectError(
        () => encodeAccumulateSum(engine, small, 6, out, 4),
        RangeError,
        [/acc \("out"\) has 16 bytes/, /slot 4/],
        'slot past the end',
      );
      for (const b of [small, out]) engine.releaseBuffer(b);
    },
  },
];

export const cases: KernelCase[] = [
  ...sumCases,
  ...accumulateCases,
  ...argmaxCases,
  ...countCases,
  ...rowCorrectCases,
];
