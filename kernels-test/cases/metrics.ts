/**
 * Epoch metric kernels against float64/integer references: per-row absolute and squared
 * errors (mae / mse / rmse), confusion counts at a threshold (precision / recall / f1) and
 * Keras's AUC bucket histogram.
 *
 * Tolerances: a row error of c columns is c differences (1 rounding each; a square adds one
 * and doubles the relative error of the difference), c − 1 adds in one chain and a division:
 * relative error ≤ (2c + 3) · 2^-24 against the row's own value, whose terms are all ≥ 0,
 * so no cancellation hides an error; rtol = (2c + 3) · 2^-24, one more rounding for a
 * weight's multiply. Counts are integers: exact; weighted confusion cells and AUC buckets
 * per row are an integer below 2^24 times the weight: one rounding.
 */
import type { Engine } from '../../src/index.js';
import {
  aucHistogramReference,
  aucHistogramWords,
  aucRowsReference,
  confusionReference,
  confusionRowsReference,
  encodeAucHistogram,
  encodeAucRows,
  encodeConfusion,
  encodeConfusionRows,
  encodeRowError,
  rowErrorReference,
  type RowErrorKind,
} from '../../src/kernels/metrics.js';
import { EXACT, expectClose, expectEqual, expectError, rng, uniformF32 } from '../harness.js';
import type { KernelCase } from './types.js';

const EPS32 = 2 ** -24;

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

/** Binary labels with some soft (0.3: positive, as a bool cast makes it) and NaN ones. */
function labelsFor(n: number, seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, (_, i) =>
    i % 97 === 5 ? NaN : i % 41 === 3 ? 0.3 : r() < 0.4 ? 1 : 0,
  );
}

async function rowErrorCase(
  engine: Engine,
  kind: RowErrorKind,
  rows: number,
  cols: number,
  weighted = false,
): Promise<void> {
  const pred = uniformF32(rows * cols, -3, 3, 11 + cols);
  const target = uniformF32(rows * cols, -2, 2, 23 + cols);
  pred[cols] = NaN; // row 1 must be NaN
  const weights = Float32Array.from({ length: rows }, (_, r) => (r % 4 === 2 ? 0 : 0.25 + (r % 7)));
  const p = storage(engine, pred, 'pred');
  const t = storage(engine, target, 'target');
  const w = storage(engine, weights, 'weights');
  // A sentinel word after the rows catches a stray write.
  const out = storage(engine, new Float32Array(rows + 1).fill(-7), 'out');
  try {
    encodeRowError(
      engine,
      { kind, rows, cols },
      { pred: p, target: t, out, ...(weighted ? { weights: w } : {}) },
    );
    const got = await readF32(engine, out, rows + 1);
    const want = rowErrorReference(kind, pred, target, rows, cols, weighted ? weights : undefined);
    expectEqual(Number.isNaN(want[1]), true, 'reference row 1 is NaN');
    expectEqual(got[rows], -7, 'sentinel after the rows');
    const rtol = (2 * cols + 3 + (weighted ? 1 : 0)) * EPS32;
    expectClose(
      got.subarray(0, rows),
      want,
      { atol: 0, rtol },
      `row error ${kind} [${rows}, ${cols}] weighted=${weighted}`,
    );
  } finally {
    for (const b of [p, t, w, out]) engine.releaseBuffer(b);
  }
}

export const cases: KernelCase[] = [
  {
    name: 'metrics: row errors (abs, squared) vs float64, NaN rows stay NaN',
    async run(engine) {
      for (const kind of ['abs', 'squared'] as const) {
        await rowErrorCase(engine, kind, 300, 1);
        await rowErrorCase(engine, kind, 37, 7);
        await rowErrorCase(engine, kind, 37, 7, true);
      }
    },
  },
  {
    name: 'metrics: confusion cells per row, weighted and not; cell sums equal the confusion counts',
    async run(engine) {
      const rows = 301;
      const cols = 5;
      const n = rows * cols;
      const pred = uniformF32(n, 0, 1, 15);
      pred[0] = 0.5; // not above
      pred[1] = NaN; // never above
      const labels = labelsFor(n, 21);
      const weights = Float32Array.from({ length: rows }, (_, r) => (r % 6 === 0 ? 0 : 0.5 + (r % 4) * 1.25));
      const p = storage(engine, pred, 'pred');
      const l = storage(engine, labels, 'labels');
      const w = storage(engine, weights, 'weights');
      const out = storage(engine, new Float32Array(4 * rows + 1).fill(-3), 'cells');
      try {
        for (const weighted of [false, true]) {
          encodeConfusionRows(
            engine,
            { rows, cols },
            { pred: p, labels: l, out, ...(weighted ? { weights: w } : {}) },
          );
          const got = await readF32(engine, out, 4 * rows + 1);
          const want = confusionRowsReference(pred, labels, rows, cols, weighted ? weights : undefined);
          expectClose(
            got.subarray(0, 4 * rows),
            want,
            { atol: 0, rtol: EPS32 },
            `confusion rows weighted=${weighted}`,
          );
          expectEqual(got[4 * rows], -3, 'sentinel after the cells');
          if (!weighted) {
            // Independent of the per-row reference: each cell's sum over rows is the count.
            const counts = confusionReference(pred, labels, n);
            const sums = [0, 1, 2, 3].map((c) =>
              want.subarray(c * rows, (c + 1) * rows).reduce((s, v) => s + v, 0),
            );
            expectClose(sums, counts, EXACT, 'cell sums are the confusion counts');
          }
        }
      } finally {
        for (const b of [p, l, w, out]) engine.releaseBuffer(b);
      }
    },
  },
  {
    name: 'metrics: AUC buckets per row (edges, clipping, NaN), weighted and not; bucket sums equal the histogram',
    async run(engine) {
      const rows = 67;
      const cols = 4;
      const n = rows * cols;
      const pred = uniformF32(n, 0, 1, 61);
      const r = rng(5);
      for (let i = 0; i < 40; i++) pred[8 + i] = Math.fround(Math.floor(r() * 200) / 199); // bucket edges
      pred[0] = -0.25;
      pred[1] = 1.5;
      pred[2] = NaN;
      pred[3] = 0;
      const labels = labelsFor(n, 17);
      const weights = Float32Array.from({ length: rows }, (_, k) => (k % 5 === 1 ? 0 : 0.75 + (k % 3)));
      for (const thresholds of [200, 3]) {
        const words = aucHistogramWords(thresholds);
        const p = storage(engine, pred, 'pred');
        const l = storage(engine, labels, 'labels');
        const w = storage(engine, weights, 'weights');
        const out = storage(engine, new Float32Array(words * rows + 1).fill(-9), 'buckets');
        try {
          for (const weighted of [false, true]) {
            encodeAucRows(
              engine,
              { rows, cols, thresholds },
              { pred: p, labels: l, out, ...(weighted ? { weights: w } : {}) },
            );
            const got = await readF32(engine, out, words * rows + 1);
            const want = aucRowsReference(
              pred,
              labels,
              rows,
              cols,
              weighted ? weights : undefined,
              thresholds,
            );
            expectClose(
              got.subarray(0, words * rows),
              want,
              { atol: 0, rtol: EPS32 },
              `auc rows ${thresholds} weighted=${weighted}`,
            );
            expectEqual(got[words * rows], -9, 'sentinel after the buckets');
            if (!weighted) {
              // Independent of the per-row reference: each word's sum over rows is the histogram.
              const h = aucHistogramReference(pred, labels, n, thresholds);
              const sums = Array.from({ length: words }, (_, k) =>
                want.subarray(k * rows, (k + 1) * rows).reduce((s, v) => s + v, 0),
              );
              expectClose(sums, h, EXACT, `bucket sums are the histogram (${thresholds})`);
            }
          }
        } finally {
          for (const b of [p, l, w, out]) engine.releaseBuffer(b);
        }
      }
    },
  },
  {
    name: 'metrics: confusion counts at 0.5 (ties, NaN, soft labels) accumulate across calls, exact',
    async run(engine) {
      const n = 1037; // 5 workgroups, the last partial
      const pred = uniformF32(n, 0, 1, 5);
      pred[0] = 0.5; // not above the threshold
      pred[1] = Math.fround(0.5 + 2 ** -24); // above
      pred[2] = NaN; // never above
      pred[3] = 2; // above
      const labels = labelsFor(n, 9);
      const offset = 3;
      const init = Uint32Array.from({ length: offset + 6 }, (_, i) => 100 + i);
      const p = storage(engine, pred, 'pred');
      const l = storage(engine, labels, 'labels');
      const counts = storage(engine, init, 'counts');
      try {
        encodeConfusion(engine, { n }, { pred: p, labels: l, counts, offset });
        encodeConfusion(engine, { n: 500 }, { pred: p, labels: l, counts, offset });
        const got = await readU32(engine, counts, init.length);
        const a = confusionReference(pred, labels, n);
        const b = confusionReference(pred, labels, 500);
        const want = Array.from(init);
        for (let k = 0; k < 4; k++) want[offset + k] = (init[offset + k] ?? 0) + (a[k] ?? 0) + (b[k] ?? 0);
        expectClose(got, want, EXACT, 'confusion counts');
        expectEqual(
          a.reduce((s, v) => s + v, 0),
          n,
          'reference counts every element once',
        );
        // Another threshold.
        const c2 = storage(engine, new Uint32Array(4), 'counts 0.25');
        try {
          encodeConfusion(engine, { n, threshold: 0.25 }, { pred: p, labels: l, counts: c2 });
          expectClose(
            await readU32(engine, c2, 4),
            confusionReference(pred, labels, n, 0.25),
            EXACT,
            'confusion at 0.25',
          );
        } finally {
          engine.releaseBuffer(c2);
        }
      } finally {
        for (const buf of [p, l, counts]) engine.releaseBuffer(buf);
      }
    },
  },
  {
    name: 'metrics: AUC bucket histogram (200 thresholds; edges, clipping, NaN) accumulates, exact',
    async run(engine) {
      const n = 3001;
      const pred = uniformF32(n, 0, 1, 77);
      const r = rng(3);
      // Exact bucket edges i/199 (in f32), values out of [0, 1], and NaN.
      for (let i = 0; i < 200; i++) pred[4 + i] = Math.fround(Math.floor(r() * 200) / 199);
      pred[0] = -0.25;
      pred[1] = 1.5;
      pred[2] = NaN;
      pred[3] = 0;
      const labels = labelsFor(n, 13);
      const words = aucHistogramWords();
      const offset = 5;
      const init = Uint32Array.from({ length: offset + words + 2 }, (_, i) => i * 3);
      const p = storage(engine, pred, 'pred');
      const l = storage(engine, labels, 'labels');
      const counts = storage(engine, init, 'histogram');
      try {
        encodeAucHistogram(engine, { n }, { pred: p, labels: l, counts, offset });
        encodeAucHistogram(engine, { n: 250 }, { pred: p, labels: l, counts, offset });
        const got = await readU32(engine, counts, init.length);
        const a = aucHistogramReference(pred, labels, n);
        const b = aucHistogramReference(pred, labels, 250);
        const want = Array.from(init);
        for (let k = 0; k < words; k++)
          want[offset + k] = (init[offset + k] ?? 0) + (a[k] ?? 0) + (b[k] ?? 0);
        expectClose(got, want, EXACT, 'AUC histogram');
        expectEqual(
          a.reduce((s, v) => s + v, 0),
          n,
          'reference counts every element once',
        );
        // A small threshold count (3: buckets 0, 1, 2).
        const small = storage(engine, new Uint32Array(6), 'histogram 3');
        try {
          encodeAucHistogram(engine, { n, thresholds: 3 }, { pred: p, labels: l, counts: small });
          expectClose(
            await readU32(engine, small, 6),
            aucHistogramReference(pred, labels, n, 3),
            EXACT,
            'AUC histogram, 3 thresholds',
          );
        } finally {
          engine.releaseBuffer(small);
        }
      } finally {
        for (const buf of [p, l, counts]) engine.releaseBuffer(buf);
      }
    },
  },
  {
    name: 'metrics: argument errors name the buffer and the shape',
    async run(engine) {
      const small = storage(engine, new Float32Array(6), 'small');
      const big = storage(engine, new Float32Array(64), 'big');
      const words = storage(engine, new Uint32Array(8), 'words');
      try {
        await expectError(
          () =>
            encodeRowError(engine, { kind: 'abs', rows: 4, cols: 3 }, { pred: small, target: big, out: big }),
          RangeError,
          [/buffer pred \("small"\) has 24 bytes/, /\[4, 3\] f32 needs 48/],
          'pred too small',
        );
        await expectError(
          () =>
            encodeRowError(
              engine,
              { kind: 'cube' as RowErrorKind, rows: 1, cols: 1 },
              { pred: big, target: big, out: big },
            ),
          TypeError,
          [/unknown kind 'cube'/],
          'unknown kind',
        );
        await expectError(
          () => encodeConfusion(engine, { n: 4 }, { pred: big, labels: big, counts: words, offset: 5 }),
          RangeError,
          [/buffer counts \("words"\) has 32 bytes/, /words 5\.\.8/],
          'confusion counts too small',
        );
        await expectError(
          () => encodeAucHistogram(engine, { n: 4 }, { pred: big, labels: big, counts: words }),
          RangeError,
          [/buffer counts \("words"\) has 32 bytes/, /needs 1600/],
          'histogram too small',
        );
        await expectError(
          () =>
            encodeAucHistogram(engine, { n: 4, thresholds: 1 }, { pred: big, labels: big, counts: words }),
          RangeError,
          [/thresholds must be an integer ≥ 2 and ≤ 1024, got 1/],
          'one threshold',
        );
      } finally {
        for (const b of [small, big, words]) engine.releaseBuffer(b);
      }
    },
  },
];
