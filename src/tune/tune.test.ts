/**
 * Grid, random and Hyperband search on the GPU (small synthetic problems, seeded): the
 * trials each searcher runs, the setting a search finds where the answer is known, failed
 * trials recorded while the search goes on, callbacks inside trials, the best models rebuilt
 * from kept weights, and GPU memory back where it started.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initEngine, type Engine } from '../node/index.js';
import { createRng } from '../util/random.js';
import { GpuData } from '../graph/dataset.js';
import { BaseCallback, EarlyStopping, TerminateOnNaN } from '../model/callbacks.js';
import { sequential } from '../model/model.js';
import { layers } from '../nn/layers/index.js';
import { optimizers } from '../nn/optimizers.js';
import type { HyperParameters } from './hyperparameters.js';
import { ObjectiveError } from './objective.js';
import { hyperbandSchedule } from './schedule.js';
import { gridSearch, hyperband, randomSearch } from './searchers.js';
import type { Trial, TrialEventDetail } from './tuner.js';
import { seededDense } from '../../kernels-test/models.js';

let engine: Engine;
beforeAll(async () => {
  engine = await initEngine({ adapter: (process.env.WEBGPU_MLP_ADAPTER ?? 'auto') as 'auto', log: false });
});
afterAll(() => engine.dispose());

/**
 * XOR of the signs: four clusters around (±1, ±1), class 1 where the signs agree. No single
 * relu unit separates it (at most 3 of the 4 clusters, 75%); 16 units do.
 */
function xor(n: number, seed: number) {
  const rng = createRng(seed);
  const x = new Float32Array(n * 2);
  const y = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const a = rng.next() < 0.5 ? -1 : 1;
    const b = rng.next() < 0.5 ? -1 : 1;
    x[2 * i] = a + (rng.next() - 0.5) * 0.6;
    x[2 * i + 1] = b + (rng.next() - 0.5) * 0.6;
    y[i] = a * b > 0 ? 1 : 0;
  }
  return { x: { data: x, shape: [n, 2] }, y };
}

function mlp(units: number, optimizer: ReturnType<typeof optimizers.adam>, activation = 'relu') {
  const m = sequential({
    layers: [
      layers.dense({
        units,
        activation,
        inputShape: [2],
        kernelInitializer: { className: 'GlorotUniform', config: { seed: 1 } },
      }),
      seededDense(2, 'softmax', 2),
    ],
  });
  m.compile({ optimizer, loss: 'sparse_categorical_crossentropy', metrics: ['accuracy'] });
  return m;
}

const train = xor(256, 1);
const val = xor(128, 2);
const memory = () => {
  const s = engine.stats();
  return { buffers: s.liveBuffers, bytes: s.liveBytes };
};

describe('grid search', () => {
  it('runs exactly the product, logs its size, finds units 16 with learning rate 0.05, frees the GPU', async () => {
    const build = (hp: HyperParameters) =>
      mlp(
        hp.choice('units', [1, 16]),
        optimizers.adam({ learningRate: hp.choice('learning_rate', [1e-6, 1e-4, 0.05]) }),
      );
    const lines: string[] = [];
    const events: TrialEventDetail[] = [];
    const before = memory();
    const tuner = gridSearch(build, { objective: 'val_accuracy', print: (l) => lines.push(l) });
    tuner.events.addEventListener('trial', (e) => events.push((e as CustomEvent<TrialEventDetail>).detail));
    await tuner.search(train.x, train.y, {
      epochs: 20,
      batchSize: 32,
      validationData: [val.x, val.y],
      seed: 3,
    });
    expect(memory()).toEqual(before);

    expect(lines[0]).toBe('Grid search: 6 trials (units: 2 × learning_rate: 3)');
    expect(tuner.trials.map((t) => [t.hyperparameters.units, t.hyperparameters.learning_rate])).toEqual([
      [1, 1e-6],
      [1, 1e-4],
      [1, 0.05],
      [16, 1e-6],
      [16, 1e-4],
      [16, 0.05],
    ]);
    expect(events.map((e) => [e.index, e.total, e.trial.id])).toEqual(
      [0, 1, 2, 3, 4, 5].map((i) => [i, 6, i]),
    );
    for (const t of tuner.trials) {
      expect(t.status).toBe('completed');
      expect(t.epochs).toBe(20);
      expect(t.history.val_accuracy).toHaveLength(20);
      // The score is the best epoch's value (Keras Tuner's nanmax), at bestEpoch.
      expect(t.score).toBe(Math.max(...(t.history.val_accuracy ?? [])));
      expect(t.history.val_accuracy?.[t.bestEpoch ?? -1]).toBe(t.score);
    }
    // One relu unit gets at most 3 of the 4 XOR clusters; 16 units at 0.05 separate them.
    const best = tuner.trials[5] as Trial;
    expect(tuner.getBestHyperparameters().map((h) => h.values)).toEqual([{ units: 16, learning_rate: 0.05 }]);
    expect(best.score).toBeGreaterThanOrEqual(0.98);
    for (const t of tuner.trials.slice(0, 3)) expect(t.score).toBeLessThanOrEqual(0.8);
    // 1e-6 and 1e-4 move each weight by at most ~160 · lr in 160 Adam steps: no time to learn XOR.
    expect(tuner.trials[3]?.score).toBeLessThan(0.8);
    expect(tuner.trials[4]?.score).toBeLessThan(0.8);

    // The best model: rebuilt with the weights of its best epoch, no training.
    const model = await tuner.bestModel();
    const logs = await model.evaluate(val.x, val.y);
    expect(logs.accuracy).toBeCloseTo(best.score ?? NaN, 6);
    await model.dispose();
    expect(memory()).toEqual(before);

    const table: string[] = [];
    tuner.resultsSummary(3, (l) => table.push(l));
    expect(table[0]).toMatch(/^Results: 6 trials \(6 completed, 0 failed\); objective val_accuracy \(higher/);
    expect(table[3]).toMatch(/^1\s+5\s+16\s+0\.05\s+/);
    expect(table).toHaveLength(3 + 3 + 1); // title, header, rule, 3 rows, "3 more"

    // A second search compiles no new shaders: every trial's kernels come from the cache.
    const pipelines = engine.stats().pipelines;
    const again = gridSearch(build, { objective: 'val_accuracy', verbose: 0 });
    await again.search(train.x, train.y, {
      epochs: 1,
      batchSize: 32,
      validationData: [val.x, val.y],
      seed: 3,
    });
    expect(engine.stats().pipelines).toBe(pipelines);
    expect(memory()).toEqual(before);
  });

  it('validation_freq: a trial is scored on the epochs that validated, the others skipped', async () => {
    const build = (hp: HyperParameters) => mlp(hp.choice('units', [8]), optimizers.sgd(0.1), 'relu');
    const tuner = gridSearch(build, { objective: 'val_loss', verbose: 0 });
    await tuner.search(train.x, train.y, {
      epochs: 4,
      batch_size: 32,
      validation_split: 0.25,
      validation_freq: 2,
      seed: 1,
    });
    const trial = tuner.trials[0];
    expect(trial?.status).toBe('completed');
    expect(trial?.epochs).toBe(4);
    // Keras: validation after epochs 2 and 4 (counted from 1) only.
    expect(trial?.history.val_loss?.length).toBe(2);
    expect(trial?.score).toBe(Math.min(...(trial?.history.val_loss ?? [])));
  });

  it('records failed trials (a build that throws, a NaN loss) with the reason and goes on', async () => {
    const build = (hp: HyperParameters) =>
      mlp(
        8,
        optimizers.sgd({ learningRate: hp.choice('learning_rate', [0.1, 1e30]) }),
        hp.choice('activation', ['relu', 'no_such_activation']),
      );
    const before = memory();
    const tuner = gridSearch(build, { objective: 'val_loss', verbose: 0 });
    await tuner.search(train.x, train.y, { epochs: 3, batchSize: 32, validationSplit: 0.25, seed: 1 });
    expect(memory()).toEqual(before);
    const status = tuner.trials.map((t) => [
      t.hyperparameters.learning_rate,
      t.hyperparameters.activation,
      t.status,
    ]);
    expect(status).toEqual([
      [0.1, 'relu', 'completed'],
      [0.1, 'no_such_activation', 'failed'],
      [1e30, 'relu', 'failed'],
      [1e30, 'no_such_activation', 'failed'],
    ]);
    expect(tuner.trials[1]?.error).toMatch(/activation 'no_such_activation'/);
    expect(tuner.trials[2]?.error).toMatch(/^NonFiniteLossError/);
    expect(tuner.trials[2]?.score).toBeUndefined();
    const lines: string[] = [];
    tuner.resultsSummary(10, (l) => lines.push(l));
    expect(lines[0]).toMatch(/4 trials \(1 completed, 3 failed\); objective val_loss \(lower is better\)/);
    // Failed trials come last, each with its reason.
    expect(lines.slice(-3).every((l) => l.startsWith('failed: trial '))).toBe(true);
    expect(lines.at(-2)).toMatch(/learning_rate 1e\+30, activation relu\): NonFiniteLossError/);

    // With TerminateOnNaN, fit ends the NaN trial itself: failed too, and the search goes on.
    const nan = gridSearch((hp) => mlp(8, optimizers.sgd({ learningRate: hp.choice('lr', [1e30, 0.1]) })), {
      objective: 'val_loss',
      verbose: 0,
    });
    await nan.search(train.x, train.y, {
      epochs: 3,
      validationSplit: 0.25,
      callbacks: [new TerminateOnNaN()],
    });
    expect(nan.trials.map((t) => t.status)).toEqual(['failed', 'completed']);
    expect(nan.trials[0]?.error).toMatch(
      /no finite value of "val_loss" in 1 epoch\(s\) \(the loss became NaN\)/,
    );
    expect(memory()).toEqual(before);
  });

  it('honours callbacks in every trial, scores validationSplit rows, and refuses a missing objective', async () => {
    const build = (hp: HyperParameters) =>
      mlp(hp.int('units', 4, 8, 4), optimizers.adam({ learningRate: 0.05 }));
    // EarlyStopping with a min_delta no epoch can meet stops each trial after 1 + patience epochs.
    const stop = new EarlyStopping({ monitor: 'loss', patience: 1, min_delta: 1e9 });
    const tuner = gridSearch(build, { objective: 'val_accuracy', verbose: 0 });
    await tuner.search(train.x, train.y, {
      epochs: 6,
      batchSize: 32,
      validationSplit: 0.25,
      callbacks: [stop],
    });
    expect(tuner.trials.map((t) => t.epochs)).toEqual([2, 2]);
    // validationSplit validates on the last 25% of the rows (64 of 256), as Keras does.
    const model = await tuner.bestModel();
    const last = { data: train.x.data.subarray(192 * 2), shape: [64, 2] };
    const logs = await model.evaluate(last, train.y.subarray(192));
    expect(logs.accuracy).toBeCloseTo(
      tuner.trials.find((t) => t.id === tuner.ranked()[0]?.id)?.score ?? NaN,
      6,
    );
    await model.dispose();

    const before = memory();
    const wrong = gridSearch(build, { objective: 'val_auc', verbose: 0 });
    const search = wrong.search(train.x, train.y, { epochs: 1, validationData: [val.x, val.y] });
    await expect(search).rejects.toThrow(ObjectiveError);
    await expect(search).rejects.toThrow(
      /"val_auc" is not in the logs \(loss, accuracy, val_loss, val_accuracy\)/,
    );
    const noVal = gridSearch(build, { objective: 'val_accuracy', verbose: 0 });
    await expect(noVal.search(train.x, train.y, { epochs: 1 })).rejects.toThrow(/pass validationData/);
    expect(memory()).toEqual(before);
  });
});

describe('kept weights', () => {
  const build = (hp: HyperParameters) =>
    mlp(hp.choice('units', [16]), optimizers.adam({ learningRate: hp.fixed('learning_rate', 0.05) }));
  const fitArgs = {
    batchSize: 32,
    validationData: [val.x, val.y] as [typeof val.x, typeof val.y],
    seed: 3,
  };
  const argBest = (v: readonly number[], sign: number) =>
    v.reduce((best, x, i) => (sign * x > sign * (v[best] ?? NaN) ? i : best), 0);

  it('bestModel has the weights of the best epoch, not the last', async () => {
    // Maximising val_loss while training lowers it: the best epoch is the first.
    const tuner = gridSearch(build, { objective: { name: 'val_loss', direction: 'max' }, verbose: 0 });
    await tuner.search(train.x, train.y, { ...fitArgs, epochs: 4 });
    const t = tuner.trials[0] as Trial;
    const history = t.history.val_loss ?? [];
    expect(history).toHaveLength(4);
    expect(t.bestEpoch).toBe(argBest(history, 1));
    expect(t.score).toBe(history[t.bestEpoch ?? -1]);
    expect(history[3]).toBeLessThan((history[0] ?? NaN) - 0.01); // the last epoch differs
    const model = await tuner.bestModel();
    const logs = await model.evaluate(val.x, val.y, { batchSize: 32 });
    await model.dispose();
    expect(logs.loss).toBeCloseTo(t.score ?? NaN, 5);
  });

  it("keeps the objective's best epoch when EarlyStopping restores another epoch's weights", async () => {
    // EarlyStopping on loss, mode max: epoch 0 is its best, and at epoch 2 (patience 2) it
    // stops and restores epoch 0's weights in its onEpochEnd. The objective (val_loss, min)
    // is best at the last epoch, whose weights the tuner read before that restore.
    const stop = new EarlyStopping({ monitor: 'loss', mode: 'max', patience: 2, restoreBestWeights: true });
    const tuner = gridSearch(build, { objective: 'val_loss', verbose: 0 });
    await tuner.search(train.x, train.y, { ...fitArgs, epochs: 6, callbacks: [stop] });
    const t = tuner.trials[0] as Trial;
    const history = t.history.val_loss ?? [];
    expect(stop.stoppedEpoch).toBe(2);
    expect(history).toHaveLength(3);
    expect(t.bestEpoch).toBe(argBest(history, -1));
    expect(t.bestEpoch).toBe(2);
    const model = await tuner.bestModel();
    const logs = await model.evaluate(val.x, val.y, { batchSize: 32 });
    await model.dispose();
    expect(logs.loss).toBeCloseTo(history[2] ?? NaN, 5);
    expect(Math.abs((logs.loss ?? NaN) - (history[0] ?? NaN))).toBeGreaterThan(0.01);
  });
});

describe('conditional hyperparameters and stop', () => {
  const linear = () => {
    const m = sequential({ layers: [layers.dense({ units: 2, activation: 'softmax', inputShape: [2] })] });
    m.compile({ optimizer: 'adam', loss: 'sparse_categorical_crossentropy', metrics: ['accuracy'] });
    return m;
  };
  // 'linear' reads no units: its two grid points build the same model.
  const conditional = (hp: HyperParameters) =>
    hp.choice('kind', ['mlp', 'linear']) === 'mlp'
      ? mlp(hp.choice('units', [4, 8]), optimizers.adam({ learningRate: 0.05 }))
      : linear();
  const fitArgs = {
    epochs: 1,
    batchSize: 64,
    validationData: [val.x, val.y] as [typeof val.x, typeof val.y],
  };

  it('grid search runs a configuration once when it differs only in a name its build does not read', async () => {
    const lines: string[] = [];
    const tuner = gridSearch(conditional, { objective: 'val_loss', print: (l) => lines.push(l) });
    await tuner.search(train.x, train.y, fitArgs);
    expect(lines[0]).toBe('Grid search: 4 trials (kind: 2 × units: 2)');
    // Trials record the values their build read: 'linear' has no units.
    expect(tuner.trials.map((t) => t.hyperparameters)).toEqual([
      { kind: 'mlp', units: 4 },
      { kind: 'mlp', units: 8 },
      { kind: 'linear' },
    ]);
    expect(lines).toContain(
      'Grid search: 1 configuration skipped, the same as a trial already run but for hyperparameters its build did not ask for',
    );
  });

  it('random search never runs the same model twice when a conditional name appears', async () => {
    // 'units' is first seen when 'hidden' is drawn true; three models in all.
    const build = (hp: HyperParameters) =>
      hp.boolean('hidden')
        ? mlp(hp.choice('units', [4, 8]), optimizers.adam({ learningRate: 0.05 }))
        : linear();
    for (const seed of [1, 2, 3, 4]) {
      const tuner = randomSearch(build, { objective: 'val_loss', maxTrials: 10, seed, verbose: 0 });
      await tuner.search(train.x, train.y, fitArgs);
      const runs = tuner.trials.map((t) => JSON.stringify(t.hyperparameters)).sort();
      expect(runs).toEqual(
        ['{"hidden":false}', '{"hidden":true,"units":4}', '{"hidden":true,"units":8}'].sort(),
      );
    }
  });

  it('a search stopped and started again runs every grid configuration once', async () => {
    const tuner = gridSearch(
      (hp) => mlp(hp.choice('units', [2, 4, 8, 16]), optimizers.adam({ learningRate: 0.05 })),
      { objective: 'val_loss', verbose: 0 },
    );
    const stopAfterFirst = (e: Event) => {
      if ((e as CustomEvent<TrialEventDetail>).detail.index === 0) tuner.stop();
    };
    tuner.events.addEventListener('trial', stopAfterFirst);
    await tuner.search(train.x, train.y, fitArgs);
    expect(tuner.trials).toHaveLength(1);
    tuner.events.removeEventListener('trial', stopAfterFirst);
    await tuner.search(train.x, train.y, fitArgs);
    expect(tuner.trials.map((t) => t.hyperparameters.units)).toEqual([2, 4, 8, 16]);
  });
});

describe('random search', () => {
  const build = (hp: HyperParameters) =>
    mlp(
      hp.int('units', 2, 32),
      optimizers.adam({ learningRate: hp.float('learning_rate', 1e-4, 1e-1, { sampling: 'log' }) }),
    );
  const run = async (seed: number) => {
    const tuner = randomSearch(build, { objective: 'val_loss', maxTrials: 4, seed, verbose: 0 });
    await tuner.search(train.x, train.y, {
      epochs: 1,
      batchSize: 64,
      validationData: [val.x, val.y],
      seed: 1,
    });
    return tuner.trials.map((t) => t.hyperparameters);
  };

  it('draws the same configurations for the same seed and others for another', async () => {
    const a = await run(1);
    const b = await run(1);
    const c = await run(2);
    expect(a).toHaveLength(4);
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
    for (const v of [...a, ...c]) {
      expect(Number.isInteger(v.units) && (v.units as number) >= 2 && (v.units as number) <= 32).toBe(true);
      expect(v.learning_rate).toBeGreaterThanOrEqual(1e-4);
      expect(v.learning_rate).toBeLessThanOrEqual(1e-1);
    }
  });

  it('never repeats a configuration and stops when the space is exhausted', async () => {
    const small = (hp: HyperParameters) =>
      mlp(hp.choice('units', [2, 4, 8]), optimizers.adam({ learningRate: hp.choice('lr', [0.01, 0.1]) }));
    const lines: string[] = [];
    const tuner = randomSearch(small, {
      objective: 'loss',
      maxTrials: 10,
      seed: 5,
      print: (l) => lines.push(l),
    });
    await tuner.search(train.x, train.y, { epochs: 1, batchSize: 64 });
    expect(tuner.trials).toHaveLength(6);
    expect(new Set(tuner.trials.map((t) => JSON.stringify(t.hyperparameters))).size).toBe(6);
    expect(lines[0]).toBe('Random search: 6 trials over units: 3 × lr: 2');

    // stop() from a 'trial' listener (a page's Stop button): no further trial starts.
    const stopped = randomSearch(small, { objective: 'loss', maxTrials: 10, seed: 5, verbose: 0 });
    stopped.events.addEventListener('trial', (e) => {
      if ((e as CustomEvent<TrialEventDetail>).detail.index === 1) stopped.stop();
    });
    await stopped.search(train.x, train.y, { epochs: 1, batchSize: 64 });
    expect(stopped.trials).toHaveLength(2);
  });
});

/** Records each fit's starting weights and its weights after every epoch. */
class WeightRecorder extends BaseCallback {
  readonly starts: Float32Array[][] = [];
  readonly epochs: { epoch: number; weights: Float32Array[] }[][] = [];
  async onTrainBegin(): Promise<void> {
    this.starts.push((await this.target.getWeights()).map((w) => w.data));
    this.epochs.push([]);
  }
  async onEpochEnd(epoch: number): Promise<void> {
    this.epochs.at(-1)?.push({ epoch, weights: (await this.target.getWeights()).map((w) => w.data) });
  }
}

describe('hyperband', () => {
  it('trains exactly the scheduled trials and epochs, continuing the best of each round from their weights', async () => {
    // maxEpochs 4, factor 2 (space.test.ts): bracket 2 = 4 × 1 → 2 × 2 → 1 × 4 epochs,
    // bracket 1 = 3 × 2 → 2 × 4, bracket 0 = 3 × 4: 15 trials, 4 + 2 + 2 + 6 + 4 + 12 = 30 epochs.
    const build = (hp: HyperParameters) =>
      mlp(hp.int('units', 2, 16), optimizers.adam({ learningRate: 0.02 }));
    const trainData = new GpuData(engine, {
      inputs: [{ data: train.x.data, width: 2 }],
      targets: [{ data: train.y, width: 1 }],
    });
    const valData = new GpuData(engine, {
      inputs: [{ data: val.x.data, width: 2 }],
      targets: [{ data: val.y, width: 1 }],
    });
    const before = memory();
    const recorder = new WeightRecorder();
    const lines: string[] = [];
    const tuner = hyperband(build, {
      objective: 'val_loss',
      maxEpochs: 4,
      factor: 2,
      seed: 1,
      keepModels: 2,
      print: (l) => lines.push(l),
    });
    await tuner.search(trainData, undefined, {
      batchSize: 64,
      validationData: [valData],
      callbacks: [recorder],
      seed: 2,
    });
    expect(memory()).toEqual(before); // the caller's GpuData are not freed by the search
    expect(trainData.isDisposed).toBe(false);
    expect(lines.slice(0, 4)).toEqual([
      'Hyperband: maxEpochs 4, factor 2, 3 brackets; per iteration at most 15 trials and 30 epochs (× 1) over units: 15',
      '  bracket 2: 4 × 1 ep → 2 × 2 ep → 1 × 4 ep',
      '  bracket 1: 3 × 2 ep → 2 × 4 ep',
      '  bracket 0: 3 × 4 ep',
    ]);

    const expected = hyperbandSchedule(4, 2).flatMap((b) =>
      b.rounds.flatMap((r, i) => {
        const from = i > 0 ? (b.rounds[i - 1]?.epochs ?? 0) : 0;
        return Array.from({ length: r.trials }, () => [b.bracket, i, from, r.epochs - from]);
      }),
    );
    const ts = tuner.trials;
    expect(ts.map((t) => [t.bracket, t.round, t.initialEpoch, t.epochs])).toEqual(expected);
    expect(recorder.epochs.flat()).toHaveLength(30);
    expect(ts.every((t) => t.status === 'completed')).toBe(true);
    // Round 0 of each bracket draws configurations never tried before (10 distinct of 15).
    const fresh = ts.filter((t) => t.round === 0).map((t) => t.hyperparameters.units);
    expect(new Set(fresh).size).toBe(10);

    for (const t of ts.filter((u) => (u.round ?? 0) > 0)) {
      const parent = ts[t.parent ?? -1] as Trial;
      // The parent is among the best of its round, and has the same hyperparameters.
      const round = ts.filter((u) => u.bracket === t.bracket && u.round === parent.round);
      const promoted = ts.filter((u) => u.bracket === t.bracket && u.round === t.round).length;
      const top = [...round].sort((a, b) => (a.score ?? 0) - (b.score ?? 0)).slice(0, promoted);
      expect(top.map((u) => u.id)).toContain(parent.id);
      expect(t.hyperparameters).toEqual(parent.hyperparameters);
      // It starts from the weights of the parent's best epoch, and its epochs count on from there.
      const best = recorder.epochs[parent.id]?.find((e) => e.epoch === parent.bestEpoch);
      const start = recorder.starts[t.id];
      expect(best?.weights).toHaveLength(4); // two dense layers: kernel and bias each
      expect(start).toEqual(best?.weights);
      expect(recorder.epochs[t.id]?.[0]?.epoch).toBe(t.initialEpoch);
    }
    const models = await tuner.getBestModels(2);
    expect(models).toHaveLength(2);
    for (const m of models) await m.dispose();
    await expect(tuner.getBestModels(3)).rejects.toThrow(/keepModels: 3/);
    trainData.dispose();
    valData.dispose();
  });
});

describe("deck 001's Keras Tuner code, mechanically translated", () => {
  it('Hyperband(...snake_case) → search(x, y, { epochs, validation_split, callbacks }) → best_hps.get → hypermodel.build', async () => {
    const modelBuilder = (hp: HyperParameters) =>
      mlp(
        hp.Int('units', { min_value: 1, max_value: 16, step: 15 }),
        optimizers.adam({ learningRate: 0.05 }),
      );
    const lines: string[] = [];
    const tuner = hyperband(modelBuilder, {
      objective: 'val_accuracy',
      max_epochs: 3,
      factor: 3,
      print: (l) => lines.push(l),
    });
    const es = new EarlyStopping({ monitor: 'val_loss', patience: 5 });
    await expect(tuner.search(train.x, train.y, { epoch: 3 } as never)).rejects.toThrow(
      /search: unknown option 'epoch'; did you mean 'epochs'\?/,
    );
    await tuner.search(train.x, train.y, { epochs: 50, validation_split: 0.2, callbacks: [es], seed: 1 });
    expect(tuner.trials.length).toBeGreaterThan(0);
    // validation_split ran: every completed trial scored on val_accuracy.
    for (const t of tuner.trials.filter((t) => t.status === 'completed'))
      expect(t.history.val_accuracy?.length).toBe(t.epochs);
    const [bestHps] = tuner.getBestHyperparameters({ num_trials: 1 });
    expect([1, 16]).toContain(bestHps?.get('units'));
    const best = tuner.hypermodel.build(bestHps as HyperParameters);
    try {
      expect(best.countParams()).toBe(bestHps?.get('units') === 16 ? 16 * 3 + 17 * 2 : 1 * 3 + 2 * 2);
    } finally {
      await best.dispose();
    }
  });
});
