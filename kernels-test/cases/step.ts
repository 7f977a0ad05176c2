/**
 * The compiled step's helper kernels: column copies (concatenate and its gradient split,
 * gradient accumulation), the per-step bookkeeping, and the guarded snapshot copy.
 * Copies are exact (EXACT); an accumulation is one f32 add, compared with the float64 sum
 * rounded once (atol 0, rtol 2^-24).
 */
import type { Engine } from '../../src/index.js';
import {
  copyColumnsReference,
  encodePenaltyTerms,
  encodeActivityGrad,
  encodeActivityPenalty,
  encodeCopyColumns,
  encodeGuardedCopy,
  encodeStepEnd,
  STATUS,
  STEP_END_MAX_SUMS,
  writeStatus,
} from '../../src/kernels/step.js';
import { encodeAccumulateSum, SUM_SINGLE_PASS_MAX } from '../../src/kernels/reduce.js';
import { writeCursor } from '../../src/kernels/gather.js';
import { createSegmentTable, planArena } from '../../src/kernels/optim.js';
import { Graph } from '../../src/graph/ir.js';
import * as ops from '../../src/graph/ops/index.js';
import { CaseBuffers } from '../buffers.js';
import { bn, checkGradients, dense } from '../graph-check.js';
import { EXACT, expectClose, expectEqual, expectError, uniformF32 } from '../harness.js';
import type { KernelCase } from './types.js';

async function copyCase(engine: Engine, accumulate: boolean): Promise<void> {
  const b = new CaseBuffers(engine);
  try {
    // src [7, 9]: columns 2..6 into dst [7, 11] at column 5.
    const spec = { rows: 7, width: 5, srcCols: 9, srcOffset: 2, dstCols: 11, dstOffset: 5, accumulate };
    const src = uniformF32(63, -2, 2, 1);
    src[3 * 9 + 4] = NaN;
    const dst0 = uniformF32(77, -1, 1, 2);
    const s = b.data(src, 'src');
    const d = b.data(dst0, 'dst');
    encodeCopyColumns(engine, spec, s, d);
    const expected = copyColumnsReference(spec, src, Float64Array.from(dst0));
    expectClose(
      await b.read(d, 77, 'dst'),
      expected,
      accumulate ? { atol: 0, rtol: 2 ** -24 } : EXACT,
      'copyColumns',
    );
    await expectError(
      () => encodeCopyColumns(engine, { ...spec, dstOffset: 7 }, s, d),
      RangeError,
      [/run past a row/],
      'columns past the row',
    );
  } finally {
    b.release();
  }
}

export const cases: KernelCase[] = [
  { name: 'step copyColumns (concatenate)', run: (e) => copyCase(e, false) },
  { name: 'step copyColumns accumulate (gradient fan-in)', run: (e) => copyCase(e, true) },
  {
    name: 'step stepEnd records the first non-finite step and advances the cursor',
    async run(engine) {
      const b = new CaseBuffers(engine);
      try {
        const acc = b.data([1.5, 2], 'acc');
        const status = b.data(new Uint32Array([5, 0, 0, 0]), 'status');
        const cursor = b.data(new Uint32Array([40]), 'cursor');
        const step = (): void => encodeStepEnd(engine, { slots: 2, batch: 8 }, { acc, status, cursor });
        step();
        step();
        const words = async (buf: GPUBuffer, n: number): Promise<Uint32Array> =>
          new Uint32Array(await engine.read(buf, n * 4, 'words'));
        let s = await words(status, 4);
        expectEqual(s[STATUS.STEPS], 7, 'steps after 2');
        expectEqual(s[STATUS.BAD_STEP], 0, 'no bad step while finite');
        expectEqual((await words(cursor, 1))[0], 56, 'cursor 40 + 2·8');
        // An Inf in slot 1 at step 7, then a NaN later: the first one is kept.
        const inf = b.data([1.5, Infinity], 'acc inf');
        encodeStepEnd(engine, { slots: 2, batch: 8 }, { acc: inf, status, cursor });
        const nan = b.data([NaN, 0], 'acc nan');
        encodeStepEnd(engine, { slots: 2, batch: 8 }, { acc: nan, status, cursor });
        s = await words(status, 4);
        expectEqual(s[STATUS.BAD_STEP], 8, 'bad step = 7 + 1');
        expectEqual(s[STATUS.STEPS], 9, 'steps keep counting');
        // slots 1 ignores the Inf in slot 1.
        const fresh = b.data(new Uint32Array([0, 0, 0, 0]), 'status 2');
        encodeStepEnd(engine, { slots: 1, batch: 1 }, { acc: inf, status: fresh, cursor });
        expectEqual((await words(fresh, 4))[STATUS.BAD_STEP], 0, 'only the first slot watched');
      } finally {
        b.release();
      }
    },
  },
  {
    name: 'step stepEnd sums loss rows into their slots bit for bit as a sum dispatch, then watches them',
    async run(engine) {
      const b = new CaseBuffers(engine);
      try {
        const words = async (buf: GPUBuffer, n: number): Promise<Uint32Array> =>
          new Uint32Array(await engine.read(buf, n * 4, 'words'));
        for (const [ni, n] of [1, 3, 7, 32, SUM_SINGLE_PASS_MAX].entries()) {
          const heads = 1 + (ni % STEP_END_MAX_SUMS);
          const start = uniformF32(heads, -3, 3, 300 + ni);
          const rows = Array.from({ length: heads }, (_, h) => uniformF32(n, -1e3, 1e3, 310 + 10 * ni + h));
          const bufs = rows.map((r, h) => b.data(r, `rows ${h}`));
          const acc = b.data(start, 'acc');
          const ref = b.data(start, 'acc by sums');
          const status = b.data(new Uint32Array([4, 0, 0, 0]), 'status');
          const cursor = b.data(new Uint32Array([0]), 'cursor');
          const before = engine.stats().dispatches;
          // Twice: the second adds to the first's sums (an epoch's accumulators).
          for (let rep = 0; rep < 2; rep++) {
            encodeStepEnd(
              engine,
              { slots: heads, batch: n, sumRows: n },
              { acc, status, cursor, sums: bufs },
            );
          }
          expectEqual(engine.stats().dispatches - before, 2, `n ${n}: one dispatch a step end`);
          for (let rep = 0; rep < 2; rep++) {
            for (const [h, buf] of bufs.entries()) encodeAccumulateSum(engine, buf, n, ref, h);
          }
          const got = await b.read(acc, heads, 'acc');
          const expected = await b.read(ref, heads, 'acc by sums');
          expectClose(got, expected, EXACT, `n ${n}, ${heads} heads: the bits of encodeAccumulateSum`);
          // Independently: the float64 sums, within the four chains' rounding.
          const f64 = start.map((v, h) => v + 2 * (rows[h]?.reduce((x, y) => x + y, 0) ?? NaN));
          const mag = rows.map((r) => 2 * r.reduce((x, y) => x + Math.abs(y), 0) + 3);
          expectClose(
            got,
            f64,
            { atol: Math.max(...mag) * (n / 4 + 4) * 2 ** -23, rtol: 0 },
            `n ${n}: float64`,
          );
          const s = await words(status, 4);
          expectEqual(s[STATUS.STEPS], 6, `n ${n}: steps 4 + 2`);
          expectEqual(s[STATUS.BAD_STEP], 0, `n ${n}: finite sums`);
          expectEqual((await words(cursor, 1))[0], 2 * n, `n ${n}: cursor`);
        }
        // A NaN row makes its slot NaN, and the same step end records it.
        const nanRows = b.data([1, NaN, 2], 'nan rows');
        const acc = b.data([0, 0], 'acc 2');
        const status = b.data(new Uint32Array([9, 0, 0, 0]), 'status 2');
        const cursor = b.data(new Uint32Array([0]), 'cursor 2');
        encodeStepEnd(engine, { slots: 2, batch: 3, sumRows: 3 }, { acc, status, cursor, sums: [nanRows] });
        expectEqual(Number.isNaN((await b.read(acc, 2, 'acc 2'))[0]), true, 'the NaN row in slot 0');
        expectEqual((await words(status, 4))[STATUS.BAD_STEP], 10, 'recorded as step 9 + 1');
        const before = engine.stats().dispatches;
        const many = Array.from({ length: STEP_END_MAX_SUMS + 1 }, () => nanRows);
        await expectError(
          () =>
            encodeStepEnd(engine, { slots: 1, batch: 3, sumRows: 3 }, { acc, status, cursor, sums: many }),
          RangeError,
          [new RegExp(`at most ${STEP_END_MAX_SUMS} loss sums, got ${STEP_END_MAX_SUMS + 1}`)],
          'too many sums',
        );
        const long = b.data(new Float32Array(SUM_SINGLE_PASS_MAX + 1), 'long rows');
        await expectError(
          () =>
            encodeStepEnd(
              engine,
              { slots: 1, batch: 3, sumRows: SUM_SINGLE_PASS_MAX + 1 },
              { acc, status, cursor, sums: [long] },
            ),
          RangeError,
          [/sumRows 257 must be from 1 to 256/],
          'too many rows',
        );
        await expectError(
          () =>
            encodeStepEnd(
              engine,
              { slots: 1, batch: 3, sumRows: 4 },
              { acc, status, cursor, sums: [nanRows] },
            ),
          RangeError,
          [/sums\[0\]/, /\[4\] f32 needs 16/],
          'rows buffer too small',
        );
        expectEqual(engine.stats().dispatches, before, 'dispatches after refused calls');
      } finally {
        b.release();
      }
    },
  },
  {
    name: 'step writeStatus / writeCursor set the words stepEnd and guardedCopy read',
    async run(engine) {
      const b = new CaseBuffers(engine);
      try {
        const acc = b.data([1], 'acc');
        const status = b.data(new Uint32Array([99, 5, 98, 0]), 'status');
        const cursor = b.data(new Uint32Array([77, 0, 0, 0]), 'cursor');
        writeStatus(engine, status, 12);
        writeCursor(engine, cursor, 24);
        encodeStepEnd(engine, { slots: 1, batch: 8 }, { acc, status, cursor });
        encodeStepEnd(engine, { slots: 1, batch: 8 }, { acc, status, cursor });
        const words = async (buf: GPUBuffer, n: number): Promise<Uint32Array> =>
          new Uint32Array(await engine.read(buf, n * 4, 'words'));
        let s = await words(status, 4);
        expectEqual(s[STATUS.STEPS], 14, 'steps 12 + 2');
        expectEqual(s[STATUS.BAD_STEP], 0, 'the bad step cleared');
        expectEqual(s[STATUS.BACKUP_STEP], 12, 'the snapshot step set with the steps');
        expectEqual((await words(cursor, 1))[0], 40, 'cursor 24 + 2·8');
        // A cleared bad step lets the guarded copy run again and mark its step.
        const src = b.data([3, 4], 'src');
        const dst = b.data([0, 0], 'dst');
        encodeGuardedCopy(engine, 2, { src, dst, status }, true);
        expectClose(new Float32Array(await engine.read(dst, 8, 'dst')), [3, 4], EXACT, 'copied');
        s = await words(status, 4);
        expectEqual(s[STATUS.BACKUP_STEP], 14, 'marked at step 14');
        await expectError(
          () => writeStatus(engine, status, -1),
          RangeError,
          [/writeStatus: steps must be a non-negative integer \(a u32\), got -1/],
          'negative steps',
        );
      } finally {
        b.release();
      }
    },
  },
  {
    name: 'step guardedCopy copies bit-exactly until a bad step is recorded',
    async run(engine) {
      const b = new CaseBuffers(engine);
      try {
        // u32 words that are f32 subnormals and NaN payloads must survive unchanged.
        const src = new Uint32Array([1, 2, 0x7fc00001, 0xffffffff, 0x3f800000]);
        const dst = b.empty(5, 'dst');
        const s = b.data(src, 'src');
        const status = b.data(new Uint32Array([12, 0, 0, 0]), 'status');
        encodeGuardedCopy(engine, 5, { src: s, dst, status }, true);
        const got = new Uint32Array(await engine.read(dst, 20, 'dst'));
        expectClose(got, src, EXACT, 'copied words');
        expectEqual(
          new Uint32Array(await engine.read(status, 16, 's'))[STATUS.BACKUP_STEP],
          12,
          'marked step',
        );
        const bad = b.data(new Uint32Array([20, 4, 0, 0]), 'bad status');
        const s2 = b.data(new Uint32Array([9, 9, 9, 9, 9]), 'src 2');
        encodeGuardedCopy(engine, 5, { src: s2, dst, status: bad }, true);
        expectClose(
          new Uint32Array(await engine.read(dst, 20, 'dst')),
          src,
          EXACT,
          'no copy after a bad step',
        );
        expectEqual(
          new Uint32Array(await engine.read(bad, 16, 's'))[STATUS.BACKUP_STEP],
          0,
          'no mark after a bad step',
        );
      } finally {
        b.release();
      }
    },
  },
  {
    // The whole compiled step in both runtimes: BN (train mode), dropout, a residual add and
    // concatenate, every parameter's gradient against the float64 model.
    name: 'step training step gradients (batch-norm, dropout, residual, concatenate)',
    async run(engine) {
      const g = new Graph();
      const x = g.input('x', 6);
      const h1 = ops.activation(g, 'a1', bn(g, 'bn1', dense(g, 'd1', x, 8, 'linear', 1), 3), {
        name: 'relu',
      });
      const h2 = ops.dropout(g, 'drop', dense(g, 'd2', h1, 8, 'tanh', 5), 0.25, 99);
      const r = ops.add(g, 'res', [h1, h2]);
      const cat = ops.concat(g, 'cat', [r, x]);
      g.loss(dense(g, 'out', cat, 4, 'softmax', 7), 'categorical_crossentropy', 'sparse');
      await checkGradients(engine, 'graph step', g, 12, 80);
    },
  },
  {
    name: 'step penaltyTerms: rows · (l1·|w| + l2·w²) per segment, 0 in the padding',
    async run(engine) {
      const b = new CaseBuffers(engine);
      try {
        // Three tensors: 70 values with l2 0.01, 5 with l1 0.5 and l2 0.1, 3 unregularized.
        const plan = planArena([{ length: 70, l2: 0.01 }, { length: 5, l1: 0.5, l2: 0.1 }, { length: 3 }]);
        const w = uniformF32(plan.totalLength, -2, 2, 5);
        const table = createSegmentTable(engine, plan.segments, plan.totalLength);
        const params = b.data(w, 'params');
        const terms = b.empty(plan.totalLength, 'terms');
        encodePenaltyTerms(engine, { total: plan.totalLength, rows: 3 }, { params, table, terms });
        const expected = new Float64Array(plan.totalLength);
        for (const seg of plan.segments) {
          for (let i = seg.offset; i < seg.offset + seg.length; i++) {
            const x = w[i] ?? NaN;
            expected[i] = 3 * (seg.l1 * Math.abs(x) + seg.l2 * x * x);
          }
        }
        // Two f32 products and a sum: a few ulp.
        expectClose(
          await b.read(terms, plan.totalLength, 'terms'),
          expected,
          { atol: 0, rtol: 4 * 2 ** -24 },
          'penalty terms',
        );
        engine.releaseBuffer(table);
      } finally {
        b.release();
      }
    },
  },
  {
    name: 'step activity regularizer: penalty terms and gradient (l1·sign + 2·l2·a)/rows, plain and accumulated',
    async run(engine) {
      const b = new CaseBuffers(engine);
      try {
        const n = 37;
        const a = uniformF32(n, -2, 2, 8);
        a[3] = 0; // sign(0) = 0
        const dy = uniformF32(n, -1, 1, 9);
        const dx0 = uniformF32(n, -1, 1, 10);
        const [ab, dyb, terms, dx] = [
          b.data(a, 'a'),
          b.data(dy, 'dy'),
          b.empty(n, 'terms'),
          b.data(dx0, 'dx'),
        ];
        const l1 = 0.3;
        const l2 = 0.05;
        encodeActivityPenalty(engine, { n, l1, l2 }, { a: ab, terms });
        const t = Float64Array.from(a, (x) => l1 * Math.abs(x) + l2 * x * x);
        expectClose(await b.read(terms, n, 'terms'), t, { atol: 0, rtol: 4 * 2 ** -24 }, 'activity terms');
        const g = Float64Array.from(a, (x, i) => (dy[i] ?? NaN) + (l1 * Math.sign(x) + 2 * l2 * x) / 4);
        encodeActivityGrad(engine, { n, l1, l2, scale: 0.25, accumulate: true }, { a: ab, dy: dyb, dx });
        const acc = g.map((v, i) => v + (dx0[i] ?? NaN));
        expectClose(
          await b.read(dx, n, 'dx'),
          acc,
          { atol: 1e-7, rtol: 8 * 2 ** -24 },
          'activity grad (accumulated)',
        );
        encodeActivityGrad(engine, { n, l1, l2, scale: 0.25, accumulate: false }, { a: ab, dy: dyb, dx });
        expectClose(await b.read(dx, n, 'dx'), g, { atol: 1e-7, rtol: 8 * 2 ** -24 }, 'activity grad');
      } finally {
        b.release();
      }
    },
  },
];
