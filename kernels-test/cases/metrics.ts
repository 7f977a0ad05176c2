/**
 * Epoch metric kernels against float64/integer references: per-row absolute and squared
 * errors (mae / mse / rmse), confusion counts at a threshold (precision / recall / f1) and
 * Keras's AUC bucket histogram.
 *
 * Tolerances: a row error of c columns is c differences (1 rounding each; a square adds one
 * and doubles the relative error of the difference), c − 1 adds in one chain and a division:
 * relative error ≤ (2c + 3) · 2^-24 against the row's own value, whose terms are all ≥ 0,
 * so no cancellation hides an error; rtol = (2c + 3) · 2^-24. Counts are integers: exact.
 */
import type { Engine } from '../../src/index.js';
import {
  aucHistogramReference,
  aucHistogramWords,
  confusionReference,
  encodeAucHistogram,
  encodeConfusion,
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

async function rowErrorCase(engine: Engine, kind: RowErrorKind, rows: number, cols: number): Promise<void> {
  const pred = uniformF32(rows * cols, -3, 3, 11 + cols);
  const target = uniformF32(rows * cols, -2, 2, 23 + cols);
  pred[cols] = NaN; // row 1 must be NaN
  const p = storage(engine, pred, 'pred');
  const t = storage(engine, target, 'target');
  const out = storage(engine, new Float32Array(rows).fill(-7), 'out');
  try {
    encodeRowError(engine, { kind, rows, cols }, { pred: p, target: t, out });
    const got = await readF32(engine, out, rows);
    const want = rowErrorReference(kind, pred, target, rows, cols);
    expectEqual(Number.isNaN(want[1]), true, 'reference row 1 is NaN');
    expectClose(got, want, { atol: 0, rtol: (2 * cols + 3) * EPS32 }, `row error ${kind} [${rows}, ${cols}]`);
  } finally {
    for (const b of [p, t, out]) engine.releaseBuffer(b);
  }
}

export const cases: KernelCase[] = [
  {
    name: 'metrics: row errors (abs, squared) vs float64, NaN rows stay NaN',
    async run(engine) {
      for (const kind of ['abs', 'squared'] as const) {
        await rowErrorCase(engine, kind, 300, 1);
        await rowErrorCase(engine, kind, 37, 7);
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
