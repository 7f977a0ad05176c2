/**
 * fit's sampleWeight / classWeight (issue 17, item 6) against Keras 3: a batch's loss is
 * Σ w·l / rows ('sum_over_batch_size', keras/src/losses/loss.py reduce_values), class_weight
 * is the sample weight of each row's class (data_adapter_utils.class_weight_to_sample_weights),
 * compiled metrics and class-weighted validation stay unweighted, and bad weights are refused
 * before any step with the weights bit-identical.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededDense } from '../../kernels-test/models.js';
import { initEngine, type Engine } from '../node/index.js';
import { optimizers } from '../nn/optimizers.js';
import { DataError } from './fit-data.js';
import { sequential, type LayersModel } from './model.js';

let engine: Engine;
beforeAll(async () => {
  engine = await initEngine({ adapter: (process.env.WEBGPU_MLP_ADAPTER ?? 'auto') as 'auto', log: false });
});
afterAll(() => engine.dispose());

const ROWS = 6;
const IN = 4;
const K = 3;
const LR = 0.5;
/** 6 rows of 4 features in [0, 1). */
const X = Float32Array.from({ length: ROWS * IN }, (_, i) => ((i * 7) % 11) / 11);
const IDS = Float32Array.from([0, 1, 2, 0, 0, 1]);
const ONE_HOT = Float32Array.from({ length: ROWS * K }, (_, i) => (IDS[Math.floor(i / K)] === i % K ? 1 : 0));
const CLASS_WEIGHT = { 0: 0.5, 1: 2, 2: 3 };
const IMPLIED = Float32Array.from(IDS, (c) => CLASS_WEIGHT[c as 0 | 1 | 2]);

function softmaxModel(loss = 'sparseCategoricalCrossentropy'): LayersModel {
  const m = sequential({ layers: [seededDense(K, 'softmax', 11, { inputShape: [IN], name: 'out' })] });
  m.compile({ optimizer: optimizers.sgd(LR), loss, metrics: ['accuracy'] });
  return m;
}

async function bits(m: LayersModel): Promise<number[][]> {
  return (await m.getWeights()).map((w) =>
    Array.from(new Uint32Array(w.data.buffer, w.data.byteOffset, w.data.length)),
  );
}

/**
 * Float64 reference of one SGD step of softmax regression on all rows: the weighted mean
 * loss Σ w·l / rows and the new kernel [IN, K] and bias [K].
 */
function referenceStep(
  kernel: Float32Array,
  bias: Float32Array,
  w: ArrayLike<number>,
): { loss: number; kernel: Float64Array; bias: Float64Array } {
  const gk = new Float64Array(IN * K);
  const gb = new Float64Array(K);
  let loss = 0;
  for (let r = 0; r < ROWS; r++) {
    const z = Array.from({ length: K }, (_, k) => {
      let s = bias[k] as number;
      for (let i = 0; i < IN; i++) s += (X[r * IN + i] as number) * (kernel[i * K + k] as number);
      return s;
    });
    const mx = Math.max(...z);
    const e = z.map((v) => Math.exp(v - mx));
    const sum = e.reduce((a, b) => a + b, 0);
    const y = IDS[r] as number;
    const wr = w[r] as number;
    loss += wr * -Math.log((e[y] as number) / sum);
    for (let k = 0; k < K; k++) {
      const d = (wr * ((e[k] as number) / sum - (k === y ? 1 : 0))) / ROWS;
      gb[k] = (gb[k] as number) + d;
      for (let i = 0; i < IN; i++) gk[i * K + k] = (gk[i * K + k] as number) + (X[r * IN + i] as number) * d;
    }
  }
  return {
    loss: loss / ROWS,
    kernel: Float64Array.from(kernel, (v, i) => v - LR * (gk[i] as number)),
    bias: Float64Array.from(bias, (v, i) => v - LR * (gb[i] as number)),
  };
}

function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, atol: number): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++)
    expect(Math.abs((got[i] as number) - (want[i] as number)), `index ${i}`).toBeLessThanOrEqual(atol);
}

describe('sampleWeight / classWeight: one SGD step against a float64 reference', () => {
  for (const [name, opts, w] of [
    ['classWeight', { class_weight: CLASS_WEIGHT }, IMPLIED],
    ['sampleWeight', { sampleWeight: [1, 0, 2.5, 0.25, 1, 3] }, [1, 0, 2.5, 0.25, 1, 3]],
  ] as const) {
    it(`${name}: weights after the step and the loss are Σ w·l / rows (not / Σw)`, async () => {
      const m = softmaxModel();
      const [k0, b0] = (await m.getWeights()).map((t) => t.data) as [Float32Array, Float32Array];
      const ref = referenceStep(k0, b0, w);
      const h = await m.fit(X, IDS, { ...opts, batchSize: ROWS, shuffle: false, verbose: 0 });
      const [k1, b1] = (await m.getWeights()).map((t) => t.data) as [Float32Array, Float32Array];
      expectClose(k1, ref.kernel, 2e-6);
      expectClose(b1, ref.bias, 2e-6);
      expect(h.history.loss?.[0]).toBeCloseTo(ref.loss, 5);
      // The weights matter: the unweighted step lands elsewhere.
      const plain = referenceStep(k0, b0, new Float64Array(ROWS).fill(1));
      expect(Math.abs((plain.loss - ref.loss) / ref.loss)).toBeGreaterThan(1e-2);
    });
  }

  it('categorical targets (one-hot rows): classWeight takes the argmax of each row', async () => {
    const a = softmaxModel('categoricalCrossentropy');
    const b = softmaxModel('categoricalCrossentropy');
    const ha = await a.fit(X, ONE_HOT, {
      classWeight: CLASS_WEIGHT,
      batchSize: 4,
      shuffle: false,
      verbose: 0,
    });
    const hb = await b.fit(X, ONE_HOT, { sampleWeight: IMPLIED, batchSize: 4, shuffle: false, verbose: 0 });
    expect(await bits(a)).toEqual(await bits(b));
    expect(ha.history.loss).toEqual(hb.history.loss);
  });

  it('one sigmoid unit: classWeight looks up the 0/1 target (binary cross-entropy)', async () => {
    const y = Float32Array.from([0, 1, 1, 0, 1, 0]);
    const make = (): LayersModel => {
      const m = sequential({ layers: [seededDense(1, 'sigmoid', 3, { inputShape: [IN] })] });
      m.compile({ optimizer: optimizers.sgd(LR), loss: 'binaryCrossentropy' });
      return m;
    };
    const a = make();
    const b = make();
    await a.fit(X, y, { classWeight: { 0: 1, 1: 4 }, batchSize: ROWS, shuffle: false, verbose: 0 });
    await b.fit(X, y, {
      sampleWeight: Array.from(y, (v) => (v === 1 ? 4 : 1)),
      batchSize: ROWS,
      shuffle: false,
      verbose: 0,
    });
    expect(await bits(a)).toEqual(await bits(b));
  });
});

describe('sampleWeight / classWeight: identities', () => {
  const fitOf = async (opts: object): Promise<{ w: number[][]; loss: number[] }> => {
    const m = softmaxModel();
    const h = await m.fit(X, IDS, { ...opts, epochs: 2, batchSize: 4, seed: 7, verbose: 0 });
    return { w: await bits(m), loss: h.history.loss ?? [] };
  };

  it('sampleWeight all ones and classWeight of ones equal unweighted bit for bit', async () => {
    const plain = await fitOf({});
    expect(await fitOf({ sampleWeight: new Float32Array(ROWS).fill(1) })).toEqual(plain);
    expect(await fitOf({ classWeight: { 0: 1, 1: 1, 2: 1 } })).toEqual(plain);
  });

  it('classWeight equals the sampleWeight it implies (shuffled, partial last batch)', async () => {
    expect(await fitOf({ classWeight: CLASS_WEIGHT })).toEqual(await fitOf({ sampleWeight: IMPLIED }));
  });

  it('trainOnBatch takes sample_weight and class_weight the same way', async () => {
    const a = softmaxModel();
    const b = softmaxModel();
    const la = await a.trainOnBatch(X, IDS, { class_weight: CLASS_WEIGHT, returnDict: true });
    const lb = await b.trainOnBatch(X, IDS, { sample_weight: IMPLIED, returnDict: true });
    expect(la).toEqual(lb);
    expect(await bits(a)).toEqual(await bits(b));
  });
});

describe('sampleWeight / classWeight: what stays unweighted', () => {
  it('accuracy is not weighted; class-weighted validation loss is not weighted', async () => {
    const weighted = softmaxModel();
    const plain = softmaxModel();
    const vx = X.subarray(0, 3 * IN);
    const vy = IDS.subarray(0, 3);
    // Rows of class 1 weigh 0: a weighted accuracy would count only the others.
    const hw = await weighted.fit(X, IDS, {
      classWeight: { 1: 0 },
      batchSize: ROWS,
      validationData: [vx, vy],
      verbose: 0,
    });
    const hp = await plain.fit(X, IDS, { batchSize: ROWS, validationData: [vx, vy], verbose: 0 });
    // Same start, same forward pass: the step's accuracy is the same with and without weights.
    expect(hw.history.accuracy).toEqual(hp.history.accuracy);
    const ev = (await weighted.evaluate(vx, vy, { returnDict: true })) as unknown as Record<string, number>;
    expect(hw.history.val_loss?.[0]).toBeCloseTo(ev.loss as number, 6);
    expect(hw.history.val_accuracy?.[0]).toBe(ev.accuracy);
  });

  it('validationSplit splits sampleWeight with x and y (Keras weights its validation loss)', async () => {
    const m = softmaxModel();
    const sw = [1, 1, 1, 1, 0, 2];
    const h = await m.fit(X, IDS, { sampleWeight: sw, validationSplit: 1 / 3, batchSize: 4, verbose: 0 });
    // Validation rows 4 and 5 (weights 0, 2), after the step: Σ w·l / 2 from the per-row losses.
    const p = (await m.predict(X.subarray(4 * IN), { batchSize: 2 })) as { data: Float32Array };
    const l4 = -Math.log(p.data[0 * K + (IDS[4] as number)] as number);
    const l5 = -Math.log(p.data[1 * K + (IDS[5] as number)] as number);
    expect(h.history.val_loss?.[0]).toBeCloseTo((0 * l4 + 2 * l5) / 2, 5);
  });
});

describe('sampleWeight / classWeight: refused before any step, weights untouched', () => {
  const cases: [string, object, RegExp][] = [
    ['sampleWeight too short', { sampleWeight: [1, 1, 1] }, /^fit: sampleWeight has 3 entries for 6 rows/],
    [
      'sampleWeight NaN',
      { sampleWeight: [1, 1, NaN, 1, 1, 1] },
      /^fit: sampleWeight\[2\] = NaN is not finite/,
    ],
    [
      'sampleWeight negative',
      { sample_weight: [1, -2, 1, 1, 1, 1] },
      /^fit: sampleWeight\[1\] = -2 is negative/,
    ],
    [
      'classWeight out of range',
      { classWeight: { 0: 1, 3: 2 } },
      /^fit: classWeight key "3" is not a class of the output "out" \(class ids 0 to 2\)/,
    ],
    [
      'classWeight non-integer key',
      { classWeight: { '1.5': 2 } },
      /^fit: classWeight key "1.5" is not a class/,
    ],
    ['classWeight negative', { classWeight: { 1: -1 } }, /^fit: classWeight\[1\] = -1 is negative/],
    [
      'classWeight infinite',
      { class_weight: { 2: Infinity } },
      /^fit: classWeight\[2\] = Infinity is not finite/,
    ],
    [
      'both',
      { classWeight: { 0: 1 }, sampleWeight: new Float32Array(ROWS) },
      /^fit: pass classWeight or sampleWeight, not both/,
    ],
  ];
  for (const [name, opts, message] of cases) {
    it(name, async () => {
      const m = softmaxModel();
      await m.fit(X, IDS, { batchSize: 3, verbose: 0 });
      const before = await bits(m);
      const err = await m.fit(X, IDS, { ...opts, verbose: 0 } as never).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(DataError);
      expect((err as Error).message).toMatch(message);
      expect(await bits(m)).toEqual(before);
    });
  }

  it('weighted_metrics names are checked as metrics are (weighted-metrics.test.ts tests the values)', () => {
    const m = sequential({ layers: [seededDense(1, 'linear', 1, { inputShape: [2] })] });
    const message = (key: 'metrics' | 'weighted_metrics'): string => {
      try {
        m.compile({ optimizer: 'sgd', loss: 'mse', [key]: ['mean_absolute_eror'] });
      } catch (e) {
        return (e as Error).message;
      }
      return 'accepted';
    };
    expect(message('weighted_metrics')).toMatch(/unknown metric 'mean_absolute_eror'/);
    expect(message('weighted_metrics')).toBe(message('metrics'));
  });
});
