/**
 * Keras 3's weighted_metrics, evaluate / testOnBatch's sample_weight and evaluate's list
 * order (issue 17's last part), each value against a float64 reference computed here from
 * the model's own predictions (predict), so that only the metric arithmetic is tested:
 *  - a weighted metric is Σ w·v / Σ w over the rows (v: the row's accuracy, or its error
 *    averaged over the units; rmse the root of the weighted mse), precision / recall / f1 on
 *    confusion counts that add w per unit; `metrics` stay unweighted; without weights a
 *    weighted metric equals the unweighted one;
 *  - evaluate's loss with sample weights is Σ w·l / rows ('sum_over_batch_size');
 *  - names as CompileMetrics.result(): `weighted_<name>` only when an unweighted metric has
 *    the name, `<output>_` before both for several outputs;
 *  - the list order of Trainer._flatten_metrics_in_order.
 * fit's History is checked with a learning rate of 1e-30 (0 is refused), so every batch
 * sees the weights predict saw, to far below the tolerances.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededDense } from '../../kernels-test/models.js';
import { initEngine, type Engine } from '../node/index.js';
import { optimizers } from '../nn/optimizers.js';
import { tensor } from '../tensor/tensor.js';
import { DataError } from './fit-data.js';
import { input } from '../nn/layers/layer.js';
import { model, sequential, type LayersModel, type Prediction } from './model.js';

let engine: Engine;
beforeAll(async () => {
  engine = await initEngine({ adapter: (process.env.WEBGPU_MLP_ADAPTER ?? 'auto') as 'auto', log: false });
});
afterAll(() => engine.dispose());

/** A learning rate whose steps change no prediction measurably. */
const NO_STEP = 1e-30;
const ROWS = 37; // with batch 8: four full batches and a partial one
const IN = 5;
const K = 3;
const X = Float32Array.from({ length: ROWS * IN }, (_, i) => (((i * 7919) % 200) - 100) / 60);
const IDS = Uint32Array.from({ length: ROWS }, (_, r) => (r * 5 + (r % 3)) % K);
const ONE_HOT = Float32Array.from({ length: ROWS * K }, (_, i) => (IDS[Math.floor(i / K)] === i % K ? 1 : 0));
/** Weights with zeros, fractions and a large one. */
const W = Float32Array.from({ length: ROWS }, (_, r) =>
  r % 7 === 0 ? 0 : r % 5 === 0 ? 4.5 : 0.25 + (r % 3),
);
/** Regression targets [ROWS, 2]. */
const T2 = Float32Array.from({ length: ROWS * 2 }, (_, i) => Math.sin(i * 0.7));
/** Binary targets [ROWS, 3]. */
const B3 = Float32Array.from({ length: ROWS * 3 }, (_, i) => ((i * 13) % 5 < 2 ? 1 : 0));

const rowsOf = (n: number): number[] => Array.from({ length: n }, (_, r) => r);
const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);
/** Σ w·v / Σ w in float64 (Keras's Mean with sample_weight; 0 when Σ w is 0). */
const weightedMean = (v: readonly number[], w: ArrayLike<number>): number => {
  const sw = sum(v.map((_, r) => w[r] as number));
  return sw === 0 ? 0 : sum(v.map((x, r) => x * (w[r] as number))) / sw;
};
const ONES = new Float64Array(ROWS).fill(1);

/** |got − want| ≤ 1e-6 + 2e-5·|want| for every named value. */
function expectLogs(got: Record<string, number>, want: Record<string, number>): void {
  expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
  for (const [k, e] of Object.entries(want)) {
    const g = got[k] as number;
    if (Math.abs(g - e) > 1e-6 + 2e-5 * Math.abs(e)) expect.fail(`${k}: got ${g}, want ${e}`);
  }
}

/** The named values of evaluate's list (its index keys left out). */
function named(ev: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(ev).filter(([k]) => !/^\d+$/.test(k)));
}

async function predicted(m: LayersModel): Promise<Float32Array> {
  return ((await m.predict(X)) as Prediction).data;
}

/** Per row: argmax of the prediction == label (1/0). */
function rowCorrect(p: Float32Array): number[] {
  return rowsOf(ROWS).map((r) => {
    const row = Array.from(p.subarray(r * K, (r + 1) * K));
    return row.indexOf(Math.max(...row)) === IDS[r] ? 1 : 0;
  });
}

/** Per row: Keras's sparse categorical cross-entropy on probabilities (clipped to [ε, 1 − ε]). */
function rowXent(p: Float32Array): number[] {
  return rowsOf(ROWS).map(
    (r) => -Math.log(Math.min(Math.max(p[r * K + (IDS[r] as number)] as number, 1e-7), 1 - 1e-7)),
  );
}

function softmaxModel(compile: Record<string, unknown>, lr = NO_STEP): LayersModel {
  const m = sequential({ layers: [seededDense(K, 'softmax', 5, { inputShape: [IN], name: 'out' })] });
  m.compile({ optimizer: optimizers.sgd(lr), loss: 'sparseCategoricalCrossentropy', ...compile });
  return m;
}

describe('weightedMetrics: accuracy', () => {
  it("names 'weighted_accuracy' when metrics has accuracy too; evaluate and fit History with sampleWeight", async () => {
    const m = softmaxModel({ metrics: ['accuracy'], weightedMetrics: ['accuracy'] });
    const p = await predicted(m);
    const c = rowCorrect(p);
    const l = rowXent(p);
    const want = {
      loss: sum(l.map((v, r) => v * (W[r] as number))) / ROWS,
      accuracy: sum(c) / ROWS,
      weighted_accuracy: weightedMean(c, W),
    };
    // The weights matter for this data: weighted and plain accuracy differ.
    expect(Math.abs(want.weighted_accuracy - want.accuracy)).toBeGreaterThan(0.01);
    const ev = await m.evaluate(X, IDS, { batchSize: 8, sampleWeight: W });
    expectLogs(named(ev), want);
    expect([...ev]).toEqual([ev.loss, ev.accuracy, ev.weighted_accuracy]);
    // Eager Tensors as x and y: the same values, bit for bit.
    const onGpu = await m.evaluate(tensor(X, [ROWS, IN]), tensor(IDS, [ROWS], 'u32'), {
      batchSize: 8,
      sampleWeight: W,
    });
    expect([...onGpu]).toEqual([...ev]);
    const h = await m.fit(X, IDS, { batchSize: 8, epochs: 1, verbose: 0, shuffle: false, sample_weight: W });
    expectLogs(Object.fromEntries(Object.entries(h.history).map(([k, v]) => [k, v[0] as number])), want);
    // Without weights the weighted metric is the plain one.
    const plain = await m.evaluate(X, IDS, { returnDict: true });
    expectLogs(plain, { loss: sum(l) / ROWS, accuracy: want.accuracy, weighted_accuracy: want.accuracy });
  });

  it('validationData (x, y, sample_weight) weights the validation loss and weighted metrics', async () => {
    const m = softmaxModel({ metrics: ['accuracy'], weightedMetrics: ['accuracy'] });
    const p = await predicted(m);
    const c = rowCorrect(p);
    const l = rowXent(p);
    const h = await m.fit(X, IDS, {
      batchSize: 8,
      epochs: 1,
      verbose: 0,
      shuffle: false,
      validation_data: [X, IDS, W],
    });
    const v = Object.fromEntries(Object.entries(h.history).map(([k, vs]) => [k, vs[0] as number]));
    expectLogs(
      {
        val_loss: v.val_loss as number,
        val_accuracy: v.val_accuracy as number,
        val_weighted_accuracy: v.val_weighted_accuracy as number,
      },
      {
        val_loss: sum(l.map((x, r) => x * (W[r] as number))) / ROWS,
        val_accuracy: sum(c) / ROWS,
        val_weighted_accuracy: weightedMean(c, W),
      },
    );
    // Weights of the wrong length are refused naming validationData; the model is unchanged.
    const before = await m.getWeights();
    await expect(
      m.fit(X, IDS, { epochs: 1, verbose: 0, validationData: [X, IDS, W.subarray(1)] }),
    ).rejects.toThrow(/validationData.*\b36\b.*\b37\b|validationData.*37.*36/);
    const after = await m.getWeights();
    after.forEach((w, i) => expect(Array.from(w.data)).toEqual(Array.from(before[i]?.data ?? [])));
  });

  it('classWeight weights the weighted metrics (and not metrics); a weighted metric alone keeps its name', async () => {
    const m = softmaxModel({ weightedMetrics: ['accuracy'] });
    const p = await predicted(m);
    const cw = { 0: 3, 1: 0.5 }; // class 2 unlisted: 1
    const w = Float64Array.from(IDS, (id) => (id === 0 ? 3 : id === 1 ? 0.5 : 1));
    const h = await m.fit(X, IDS, { batchSize: 8, verbose: 0, shuffle: false, classWeight: cw });
    const l = rowXent(p);
    expectLogs(Object.fromEntries(Object.entries(h.history).map(([k, v]) => [k, v[0] as number])), {
      loss: sum(l.map((v, r) => v * (w[r] as number))) / ROWS,
      accuracy: weightedMean(rowCorrect(p), w),
    });
  });

  it('testOnBatch takes sampleWeight; one-hot targets and a softmax fused into the loss', async () => {
    const m = sequential({ layers: [seededDense(K, 'softmax', 9, { inputShape: [IN] })] });
    m.compile({
      optimizer: optimizers.sgd(NO_STEP),
      loss: 'categoricalCrossentropy',
      metrics: ['categorical_accuracy'],
      weighted_metrics: ['categorical_accuracy', 'accuracy'],
    });
    const p = await predicted(m);
    const c = rowCorrect(p);
    const l = rowXent(p);
    const got = await m.testOnBatch(X, ONE_HOT, { sample_weight: W, returnDict: true });
    expectLogs(got, {
      loss: sum(l.map((v, r) => v * (W[r] as number))) / ROWS,
      categorical_accuracy: sum(c) / ROWS,
      weighted_categorical_accuracy: weightedMean(c, W),
      accuracy: weightedMean(c, W),
    });
  });
});

describe('weightedMetrics: regression and binary', () => {
  it('mae, mse, rmse weighted: per-row means over the units, then Σ w·v / Σ w', async () => {
    const m = sequential({ layers: [seededDense(2, 'linear', 3, { inputShape: [IN] })] });
    m.compile({
      optimizer: optimizers.sgd(NO_STEP),
      loss: 'mse',
      metrics: ['mae'],
      weightedMetrics: ['mse', 'rmse', 'mae'],
    });
    const p = await predicted(m);
    const err = (f: (e: number) => number): number[] =>
      rowsOf(ROWS).map(
        (r) =>
          (f((p[2 * r] as number) - (T2[2 * r] as number)) +
            f((p[2 * r + 1] as number) - (T2[2 * r + 1] as number))) /
          2,
      );
    const sq = err((e) => e * e);
    const ab = err(Math.abs);
    const want = {
      loss: sum(sq.map((v, r) => v * (W[r] as number))) / ROWS,
      mae: sum(ab) / ROWS,
      mse: weightedMean(sq, W),
      rmse: Math.sqrt(weightedMean(sq, W)),
      weighted_mae: weightedMean(ab, W),
    };
    const ev = await m.evaluate(X, { data: T2, shape: [ROWS, 2] }, { batchSize: 8, sampleWeight: W });
    expectLogs(named(ev), want);
    // Keras's order: loss, metrics, weighted metrics by plain name, then the rest sorted.
    expect([...ev]).toEqual([ev.loss, ev.mae, ev.mse, ev.rmse, ev.weighted_mae].map((v) => v as number));
    const h = await m.fit(
      X,
      { data: T2, shape: [ROWS, 2] },
      { batchSize: 8, verbose: 0, shuffle: false, sampleWeight: W },
    );
    expectLogs(Object.fromEntries(Object.entries(h.history).map(([k, v]) => [k, v[0] as number])), want);
  });

  it('binary_accuracy, precision, recall, f1_score, auc weighted (a row weight counts for each unit)', async () => {
    const m = sequential({ layers: [seededDense(3, 'sigmoid', 4, { inputShape: [IN] })] });
    const list = ['binary_accuracy', 'precision', 'recall', 'f1_score', 'auc'];
    m.compile({ optimizer: optimizers.sgd(NO_STEP), loss: 'binaryCrossentropy', weightedMetrics: list });
    const p = await predicted(m);
    const reference = (w: ArrayLike<number>): Record<string, number> => {
      let [tp, fp, fn] = [0, 0, 0];
      const acc: number[] = [];
      for (let r = 0; r < ROWS; r++) {
        let right = 0;
        for (let j = 0; j < 3; j++) {
          const on = (p[r * 3 + j] as number) > 0.5;
          const pos = B3[r * 3 + j] !== 0;
          if (on === pos) right++;
          const wr = w[r] as number;
          if (on && pos) tp += wr;
          else if (on) fp += wr;
          else if (pos) fn += wr;
        }
        acc.push(right / 3);
      }
      const precision = tp + fp === 0 ? 0 : tp / (tp + fp);
      const recall = tp + fn === 0 ? 0 : tp / (tp + fn);
      const p1 = tp / (tp + fp + 1e-7);
      const r1 = tp / (tp + fn + 1e-7);
      // Keras AUC: thresholds [−ε, 1/199, ..., 198/199, 1 + ε] compared in f32, weighted
      // tp / fp per threshold, ROC with interpolation (the trapezoid of the rates).
      const T = 200;
      const ts = [-1e-7, ...Array.from({ length: T - 2 }, (_, i) => (i + 1) / (T - 1)), 1 + 1e-7];
      const rates = ts.map((th) => {
        const t32 = Math.fround(th);
        let [ttp, tfp, pos, neg] = [0, 0, 0, 0];
        for (let i = 0; i < ROWS * 3; i++) {
          const wr = w[Math.floor(i / 3)] as number;
          const on = (p[i] as number) > t32;
          if (B3[i] !== 0) {
            pos += wr;
            if (on) ttp += wr;
          } else {
            neg += wr;
            if (on) tfp += wr;
          }
        }
        return { tpr: pos === 0 ? 0 : ttp / pos, fpr: neg === 0 ? 0 : tfp / neg };
      });
      let auc = 0;
      for (let i = 0; i + 1 < T; i++) {
        const a = rates[i] as { tpr: number; fpr: number };
        const b = rates[i + 1] as { tpr: number; fpr: number };
        auc += ((a.fpr - b.fpr) * (a.tpr + b.tpr)) / 2;
      }
      return {
        binary_accuracy: weightedMean(acc, w),
        precision,
        recall,
        f1_score: (2 * p1 * r1) / (p1 + r1 + 1e-7),
        auc,
      };
    };
    const y = { data: B3, shape: [ROWS, 3] };
    // Keras's binary cross-entropy per row: the mean over units on probabilities clipped to
    // [ε, 1 − ε]; the loss Σ w·l / rows.
    const clip = (v: number): number => Math.min(Math.max(v, 1e-7), 1 - 1e-7);
    const bce = rowsOf(ROWS).map(
      (r) =>
        sum(
          [0, 1, 2].map((j) => {
            const q = clip(p[r * 3 + j] as number);
            return B3[r * 3 + j] === 1 ? -Math.log(q) : -Math.log(1 - q);
          }),
        ) / 3,
    );
    const loss = (w: ArrayLike<number>): number => sum(bce.map((v, r) => v * (w[r] as number))) / ROWS;
    const got = await m.evaluate(X, y, { batchSize: 8, sampleWeight: W, returnDict: true });
    expectLogs(got, { loss: loss(W), ...reference(W) });
    const plain = await m.evaluate(X, y, { batchSize: 8, returnDict: true });
    expectLogs(plain, { loss: loss(ONES), ...reference(ONES) });
  });
});

describe('several outputs', () => {
  it("prefixes '<output>_' and '<output>_weighted_'; evaluate's list in Keras 3's order", async () => {
    const x = input({ shape: [IN], name: 'x' });
    const cls = seededDense(K, 'softmax', 6, { name: 'cls' }).apply(x);
    const reg = seededDense(2, 'linear', 7, { name: 'reg' }).apply(x);
    const m = model({ inputs: x, outputs: [cls, reg] });
    m.compile({
      optimizer: optimizers.sgd(NO_STEP),
      loss: ['sparseCategoricalCrossentropy', 'mse'],
      lossWeights: [1, 0.5],
      metrics: { cls: ['accuracy'], reg: ['mae'] },
      weightedMetrics: { reg: ['mae', 'mse'], cls: ['accuracy'] },
    });
    const [pc, pr] = ((await m.predict(X)) as Prediction[]).map((o) => o.data) as [
      Float32Array,
      Float32Array,
    ];
    const c = rowCorrect(pc);
    const ab = rowsOf(ROWS).map(
      (r) =>
        (Math.abs((pr[2 * r] as number) - (T2[2 * r] as number)) +
          Math.abs((pr[2 * r + 1] as number) - (T2[2 * r + 1] as number))) /
        2,
    );
    const sq = rowsOf(ROWS).map(
      (r) =>
        (((pr[2 * r] as number) - (T2[2 * r] as number)) ** 2 +
          ((pr[2 * r + 1] as number) - (T2[2 * r + 1] as number)) ** 2) /
        2,
    );
    const clsLoss = sum(rowXent(pc).map((v, r) => v * (W[r] as number))) / ROWS;
    const regLoss = sum(sq.map((v, r) => v * (W[r] as number))) / ROWS;
    const want = {
      loss: clsLoss + 0.5 * regLoss,
      cls_loss: clsLoss,
      reg_loss: regLoss,
      cls_accuracy: sum(c) / ROWS,
      cls_weighted_accuracy: weightedMean(c, W),
      reg_mae: sum(ab) / ROWS,
      reg_weighted_mae: weightedMean(ab, W),
      reg_mse: weightedMean(sq, W),
    };
    const ev = await m.evaluate(X, [IDS, { data: T2, shape: [ROWS, 2] }], { batchSize: 8, sampleWeight: W });
    expectLogs(named(ev), want);
    // loss, the per-output losses in output order, then every other key sorted.
    const order = [
      'loss',
      'cls_loss',
      'reg_loss',
      ...Object.keys(want)
        .filter((k) => !k.endsWith('loss'))
        .sort(),
    ];
    expect([...ev]).toEqual(order.map((k) => ev[k]));
    expect(order.slice(3)).toEqual([
      'cls_accuracy',
      'cls_weighted_accuracy',
      'reg_mae',
      'reg_mse',
      'reg_weighted_mae',
    ]);
  });
});

describe('refusals', () => {
  async function bits(m: LayersModel): Promise<number[][]> {
    return (await m.getWeights()).map((w) =>
      Array.from(new Uint32Array(w.data.buffer, w.data.byteOffset, w.data.length)),
    );
  }

  const bad: [string, unknown, RegExp][] = [
    ['too few', W.subarray(1), /sampleWeight has 36 entries for 37 rows/],
    ['negative', Float32Array.from(W, (v, r) => (r === 3 ? -1 : v)), /sampleWeight\[3\] = -1 is negative/],
    ['NaN', Float32Array.from(W, (v, r) => (r === 4 ? NaN : v)), /sampleWeight\[4\] = NaN is not finite/],
  ];
  for (const [what, sampleWeight, message] of bad) {
    it(`evaluate and testOnBatch refuse ${what} sample weights (arrays and Tensors), weights untouched`, async () => {
      const m = softmaxModel({ weightedMetrics: ['accuracy'] }, 0.5);
      const before = await bits(m);
      const given = Array.from(sampleWeight as Float32Array);
      for (const run of [
        () => m.evaluate(X, IDS, { sampleWeight: sampleWeight as Float32Array }),
        () => m.testOnBatch(X, IDS, { sample_weight: given } as never),
        () => m.evaluate(tensor(X, [ROWS, IN]), tensor(IDS, [ROWS], 'u32'), { sampleWeight: given }),
      ]) {
        const err = await run().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(DataError);
        expect((err as Error).message).toMatch(message);
      }
      expect(given).toEqual(Array.from(sampleWeight as Float32Array));
      expect(await bits(m)).toEqual(before);
    });
  }

  it('evaluate refuses classWeight (Keras has none there); unknown weighted metrics are refused', async () => {
    const m = softmaxModel({ weightedMetrics: ['accuracy'] });
    await expect(m.evaluate(X, IDS, { class_weight: { 0: 2 } } as never)).rejects.toThrow(
      /evaluate: 'class_weight' is not an option of Keras's evaluate; pass sampleWeight/,
    );
    await expect(m.testOnBatch(X, IDS, { classWeight: { 0: 2 } } as never)).rejects.toThrow(
      /testOnBatch: 'classWeight' is not an option of Keras's test_on_batch/,
    );
    const r = sequential({ layers: [seededDense(1, 'sigmoid', 2, { inputShape: [IN] })] });
    expect(() =>
      r.compile({ optimizer: 'sgd', loss: 'binaryCrossentropy', weighted_metrics: ['aucc'] }),
    ).toThrow(/unknown metric 'aucc'/);
    expect(() =>
      r.compile({ optimizer: 'sgd', loss: 'binaryCrossentropy', weightedMetrics: ['acuracy'] }),
    ).toThrow(/acuracy/);
  });
});
