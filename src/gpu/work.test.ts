/**
 * The work each dispatch declares (Engine.dispatch's DispatchWork): the matmul and optimizer
 * wrappers' flops and bytes against closed forms computed here from the shapes, and the
 * profiler reporting them beside each GPU time. Times are never asserted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initEngine, type Engine } from '../node/index.js';
import { encodeActivation, encodeSoftmaxGrad } from '../kernels/activations.js';
import { encodeBinary, encodeUnary } from '../kernels/elementwise.js';
import { encodeAdvanceCursor, encodeGatherBatch } from '../kernels/gather.js';
import { encodeActivityGrad, encodeCopyColumns } from '../kernels/step.js';
import { encodeLoss, encodeSoftmaxCrossEntropy, LOSS_NAMES } from '../kernels/losses.js';
import { encodeMatmul, type MatmulSpec } from '../kernels/matmul.js';
import {
  createOptimizerHyper,
  encodeOptimizerAdvance,
  encodeOptimizerSetLearningRate,
  encodeOptimizerUpdate,
  optimizerStateSlots,
  planArena,
  type OptimizerSpec,
} from '../kernels/optim.js';
import { encodeArgmax, encodeCorrectCount, encodeSum } from '../kernels/reduce.js';
import type { DispatchWork } from './engine.js';
import { profile } from './profiler.js';

let engine: Engine;
beforeAll(async () => {
  engine = await initEngine({ adapter: (process.env.WEBGPU_MLP_ADAPTER ?? 'auto') as 'auto', log: false });
});
afterAll(() => engine.dispose());

function storage(elements: number, label: string): GPUBuffer {
  return engine.createBuffer({ size: elements * 4, usage: GPUBufferUsage.STORAGE, label });
}

/** The work of each dispatch `encode` records (nothing runs). */
function recordedWork(encode: () => void): (DispatchWork | undefined)[] {
  const rec = engine.record('work test', encode);
  const work = rec.dispatches.map((d) => d.work);
  rec.release();
  return work;
}

/** Declared work of one encodeMatmul with fresh buffers of the sizes the spec needs. */
function matmulWork(spec: MatmulSpec): DispatchWork | undefined {
  const { m, n, k } = spec;
  const a = storage(m * k, 'A');
  const b = storage(k * n, 'B');
  const c = storage(m * n, 'C');
  const bias = spec.bias ? storage(n, 'bias') : undefined;
  const pre = spec.writePreActivation ? storage(m * n, 'z') : undefined;
  const src = spec.gradActivation ? storage(m * n, 'S') : undefined;
  const work = recordedWork(() =>
    encodeMatmul(engine, spec, {
      a,
      b,
      c,
      ...(bias && { bias }),
      ...(pre && { preActivation: pre }),
      ...(src && { gradSource: src }),
    }),
  );
  for (const buf of [a, b, c, bias, pre, src]) if (buf) engine.releaseBuffer(buf);
  expect(work).toHaveLength(1);
  return work[0];
}

describe('declared work: matmul', () => {
  // Odd sizes (no vec4 paths) and multiples of 4, so every variant's wrapper is exercised.
  const shapes = [
    { m: 5, n: 6, k: 7 },
    { m: 32, n: 64, k: 16 },
  ];

  it('NN, NT and TN products: 2mnk flops, A, B and C once each', () => {
    for (const { m, n, k } of shapes) {
      for (const t of [{}, { transB: true }, { transA: true }]) {
        expect(matmulWork({ m, n, k, ...t }), `${m}x${n}x${k} ${JSON.stringify(t)}`).toEqual({
          flops: 2 * m * n * k,
          bytes: 4 * (m * k + k * n + m * n),
        });
      }
    }
  });

  it('bias + relu epilogue with the pre-activation stored: + mn per epilogue op, + bias and z', () => {
    for (const { m, n, k } of shapes) {
      const spec = { m, n, k, bias: true, activation: { name: 'relu' as const }, writePreActivation: true };
      expect(matmulWork(spec)).toEqual({
        flops: 2 * m * n * k + m * n /* bias add */ + m * n /* relu */,
        bytes: 4 * (m * k + k * n + m * n + n /* bias */ + m * n) /* z */,
      });
      // Bias alone (linear): one epilogue op, no z.
      expect(matmulWork({ m, n, k, bias: true, transA: true })).toEqual({
        flops: 2 * m * n * k + m * n,
        bytes: 4 * (m * k + k * n + m * n + n),
      });
    }
  });

  it('accumulate (C += A·B): + mn adds, C read as well as written', () => {
    for (const { m, n, k } of shapes) {
      expect(matmulWork({ m, n, k, accumulate: true, transA: true })).toEqual({
        flops: 2 * m * n * k + m * n,
        bytes: 4 * (m * k + k * n + 2 * m * n),
      });
    }
  });

  it("activation-gradient epilogue (C = A·Bᵀ ⊙ f'(S)): + 2mn (f' and the product), + S read", () => {
    for (const { m, n, k } of shapes) {
      const spec = {
        m,
        n,
        k,
        transB: true,
        gradActivation: { activation: { name: 'tanh' as const }, from: 'y' as const },
      };
      expect(matmulWork(spec)).toEqual({
        flops: 2 * m * n * k + 2 * m * n,
        bytes: 4 * (m * k + k * n + 2 * m * n),
      });
    }
  });
});

describe('declared work: optimizer update', () => {
  // Three tensors with padding between them: the padding does not count as work.
  const { segments, totalLength } = planArena([{ length: 100 }, { length: 7, l2: 0.01 }, { length: 300 }]);
  const n = 100 + 7 + 300;
  const table = 16 * (1 + 3); // header + one 16-byte entry per segment

  function updateWork(spec: OptimizerSpec): DispatchWork | undefined {
    const params = storage(totalLength, 'params');
    const grads = storage(totalLength, 'grads');
    const state = Array.from({ length: optimizerStateSlots(spec) }, (_, i) => storage(totalLength, `s${i}`));
    const hyper = createOptimizerHyper(engine, spec, 0.01);
    const work = recordedWork(() => {
      encodeOptimizerAdvance(engine, spec, hyper);
      encodeOptimizerUpdate(engine, spec, segments, { params, grads, state, hyper }, totalLength);
    });
    for (const buf of [params, grads, hyper, ...state]) engine.releaseBuffer(buf);
    expect(work).toHaveLength(2);
    // The advance reads and writes the step word (8 bytes); for Adam it also writes the two
    // bias corrections (8 bytes), each 1 − β^t counted as 20 flops (an exp or a series).
    const adamLike = spec.kind === 'adam';
    expect(work[0]).toEqual(adamLike ? { flops: 40, bytes: 16 } : { flops: 0, bytes: 8 });
    return work[1];
  }

  it('arena padding is not counted', () => {
    expect(totalLength).toBeGreaterThan(n);
  });

  it('SGD: w, g read and w written (3 arrays); with momentum + the velocity read and written', () => {
    expect(updateWork({ kind: 'sgd' })?.bytes).toBe(4 * n * 3 + table);
    expect(updateWork({ kind: 'sgd', momentum: 0.9 })?.bytes).toBe(4 * n * 5 + table);
  });

  it('Adam: p, g, m, v read and p, m, v written (7 arrays); AMSGrad + v̂ read and written', () => {
    const adam = updateWork({ kind: 'adam' });
    expect(adam?.bytes).toBe(4 * n * 7 + table);
    // Per parameter: the regularized gradient 5 (2 products, sign, 2 adds), m 3, v 4,
    // w − α·m/(√v + ε) 5.
    expect(adam?.flops).toBe(17 * n);
    expect(updateWork({ kind: 'adam', amsgrad: true })?.bytes).toBe(4 * n * 9 + table);
  });
});

describe('declared work: the wrappers a compiled step does not use (src/graph/work.test.ts has the rest)', () => {
  it('each dispatch declares work; elementwise, gather, loss and multi-pass sum counts match their closed forms', () => {
    const pool = (i: number) => storage(4096, `pool ${i}`);
    const buf = [pool(0), pool(1), pool(2), pool(3), pool(4), pool(5)] as const;
    const [b0, b1, b2, b3, b4, b5] = buf;
    const hyper = createOptimizerHyper(engine, { kind: 'sgd' }, 0.1);
    const work = recordedWork;

    // out [4, 3] = a [4, 3] + b [3]: each operand's own elements read once.
    const binary = work(() =>
      encodeBinary(engine, 'add', { buffer: b0, shape: [4, 3] }, { buffer: b1, shape: [3] }, b2, [4, 3]),
    );
    expect(binary).toEqual([{ flops: 12, bytes: 4 * (12 + 3 + 12) }]);

    // A sum over 1000 terms takes two passes; each counts its own reads and writes: pass 1
    // reads the 1000 terms and writes P partials, the last reads the P partials and writes 1.
    const sum = work(() => encodeSum(engine, b0, b1, { outer: 1, n: 1000, inner: 1 }, 1));
    expect(sum).toHaveLength(2);
    const partials = ((sum[0]?.bytes ?? NaN) - 4 * 1000) / 4;
    expect(partials).toBeGreaterThan(1);
    expect(sum[1]?.bytes).toBe(4 * (partials + 1));
    // Column sums of [8, 5] in one pass: 40 adds + per output 3 chain joins and the scale.
    expect(work(() => encodeSum(engine, b0, b1, { outer: 1, n: 8, inner: 5 }, 0.5))).toEqual([
      { flops: 40 + 5 * 4, bytes: 4 * (40 + 5) },
    ]);

    // A batch of 4 rows of 5 u8 features and their one-hot labels (3 classes) from u8 class ids.
    const gather = work(() =>
      encodeGatherBatch(
        engine,
        {
          batch: 4,
          features: 5,
          source: 'u8',
          scale: 1 / 255,
          rowsPerPart: 10,
          rows: 10,
          labels: { source: 'u8', width: 1, out: 'onehot', classes: 3 },
        },
        { parts: [b0], perm: b1, permLength: 10, cursor: b2, out: b3, labelSource: b4, labelsOut: b5 },
      ),
    );
    // One dispatch (the rows are one buffer): u8 in, f32 out, the 4 u8 ids, [4, 3] f32, and
    // the permutation entries and the cursor once.
    expect(gather).toEqual([{ flops: 2 * 20, bytes: 20 * 1 + 20 * 4 + 4 * 1 + 4 * 3 * 4 + 4 * 4 + 4 }]);

    // Per-row losses over [6, 7]: pred and target read, dpred and the 6 row losses written;
    // hinge losses also clear and set a flag in two small passes, and read it.
    const [rows, cols] = [6, 7];
    for (const name of LOSS_NAMES) {
      const loss = work(() =>
        encodeLoss(
          engine,
          { name, rows, cols, gradScale: 1 },
          { pred: b0, target: b1, loss: b2, dpred: b3, flag: b4 },
        ),
      );
      const hinge = name === 'hinge' || name === 'squared_hinge';
      expect(loss.at(-1)?.bytes, name).toBe(4 * (3 * rows * cols + rows) + (hinge ? 4 : 0));
      expect(loss.at(-1)?.flops, name).toBeGreaterThan(0);
      if (hinge) {
        expect(loss.slice(0, 2), name).toEqual([
          { flops: 0, bytes: 4 },
          { flops: 2 * rows * cols, bytes: 4 * rows * cols },
        ]);
      }
    }

    // Everything else: declared, finite, and moving at least one byte.
    const rest = [
      ...work(() =>
        encodeSoftmaxCrossEntropy(
          engine,
          { rows, classes: cols, labels: 'dense', gradScale: 1 },
          { logits: b0, labels: b1, loss: b2, dlogits: b3, flags: b4 },
        ),
      ),
      ...work(() => encodeActivation(engine, { name: 'gelu' }, b0, b1, 100)),
      ...work(() => encodeSoftmaxGrad(engine, b0, b1, b2, rows, cols)),
      ...work(() => encodeAdvanceCursor(engine, b0, 32)),
      ...work(() => encodeOptimizerSetLearningRate(engine, hyper, 0.5)),
      ...work(() => encodeArgmax(engine, b0, b1, rows, cols)),
      ...work(() =>
        encodeCorrectCount(engine, { kind: 'dense', rows, cols }, { pred: b0, labels: b1, counts: b2 }),
      ),
      ...work(() =>
        encodeCorrectCount(engine, { kind: 'binary', rows, cols }, { pred: b0, labels: b1, counts: b2 }),
      ),
      ...work(() =>
        encodeCopyColumns(
          engine,
          { rows, width: 3, srcCols: 7, srcOffset: 2, dstCols: 4, dstOffset: 1, accumulate: true },
          b0,
          b1,
        ),
      ),
      ...work(() =>
        encodeActivityGrad(
          engine,
          { n: 50, l1: 0.1, l2: 0.1, scale: 0.5, accumulate: true },
          { a: b0, dy: b1, dx: b2 },
        ),
      ),
    ];
    expect(rest).toHaveLength(10);
    for (const w of rest) {
      expect(w).toBeDefined();
      expect(Number.isFinite(w?.flops) && Number.isFinite(w?.bytes) && (w?.bytes ?? 0) > 0).toBe(true);
    }
    // The accumulating column copy reads src and dst and writes dst: 3 · rows · width words.
    expect(rest[8]).toEqual({ flops: rows * 3, bytes: 4 * 3 * rows * 3 });
    for (const b of [...buf, hyper]) engine.releaseBuffer(b);
  });
});

describe('declared work in the engine and the profiler', () => {
  it('refuses declared work that is negative or not finite', () => {
    const pipeline = engine.pipeline(
      '@group(0) @binding(0) var<storage, read_write> a: array<u32>;\n@compute @workgroup_size(1) fn main() { a[0] = 1u; }',
      'work test',
    );
    const buf = storage(1, 'work test');
    expect(() => engine.dispatch(pipeline, [buf], [1], 'bad', { flops: NaN, bytes: 4 })).toThrow(RangeError);
    expect(() => engine.dispatch(pipeline, [buf], [1], 'bad', { flops: 0, bytes: -4 })).toThrow(/bytes: -4/);
    engine.releaseBuffer(buf);
  });

  it("profile() entries carry each eager dispatch's declared flops and bytes, and none where none was declared", async () => {
    const m = 8;
    const n = 12;
    const k = 20;
    const a = storage(m * k, 'A');
    const b = storage(k * n, 'B');
    const c = storage(m * n, 'C');
    const y = storage(m * n, 'y');
    const pipeline = engine.pipeline(
      '@group(0) @binding(0) var<storage, read_write> a: array<u32>;\n@compute @workgroup_size(1) fn main() { a[0] = 1u; }',
      'work test',
    );
    const run = () => {
      encodeMatmul(engine, { m, n, k }, { a, b, c });
      encodeUnary(engine, 'exp', c, y, m * n);
      engine.dispatch(pipeline, [y], [1], 'undeclared');
    };
    if (engine.features.has('timestamp-query')) {
      const p = await profile(engine, run);
      expect(p.dispatches.map((d) => [d.flops, d.bytes])).toEqual([
        [2 * m * n * k, 4 * (m * k + k * n + m * n)],
        [m * n, 8 * m * n], // one exp per element, x read and y written
        [undefined, undefined],
      ]);
      expect(p.dispatches[2]).not.toHaveProperty('flops');
      expect(p.dispatches[2]).not.toHaveProperty('bytes');
    } else {
      await expect(profile(engine, run)).rejects.toThrow(/timestamp-query/);
    }
    await engine.flush();
    for (const buf of [a, b, c, y]) engine.releaseBuffer(buf);
  });
});
