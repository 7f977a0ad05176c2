/**
 * The built-in callbacks as Keras 3 (keras/src/callbacks/): options in both spellings with
 * unknown keys refused, Keras's positional first arguments, the epochs EarlyStopping runs and
 * the weights it restores, ModelCheckpoint's saves and console lines, 'acc' / 'val_acc' as
 * names of the accuracy metric in monitors and History. The decision rules are driven by hand
 * with Keras's own test sequences (early_stopping_test.py); fit() runs show them end to end.
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi, type MockInstance } from 'vitest';
import { seededDense } from '../../kernels-test/models.js';
import { initEngine, loadModel, type Engine } from '../node/index.js';
import { optimizers } from '../nn/optimizers.js';
import {
  callbacks,
  CSVLogger,
  EarlyStopping,
  History,
  LearningRateScheduler,
  ModelCheckpoint,
  pyFloat,
  ReduceLROnPlateau,
  type Logs,
  type TrainingModel,
  type TrainParams,
} from './callbacks.js';
import { sequential } from './model.js';

/** A model whose weights are one number, the epoch that set it (Keras's DummyModel). */
class FakeModel implements TrainingModel {
  stopTraining = false;
  learningRate = 0.1;
  weight = -1;
  readonly saves: string[] = [];
  getWeights() {
    return Promise.resolve([{ name: 'w', shape: [1], data: Float32Array.of(this.weight) }]);
  }
  setWeights(values: readonly (ArrayLike<number> | { data: ArrayLike<number> })[]) {
    const v = values[0];
    this.weight = (v && 'data' in v ? v.data[0] : v?.[0]) ?? NaN;
    return Promise.resolve();
  }
  save(url: string) {
    this.saves.push(url);
    return Promise.resolve();
  }
}

const PARAMS: TrainParams = {
  epochs: 100,
  steps: 1,
  samples: 1,
  batchSize: 1,
  verbose: 0,
  doValidation: true,
};

/** Runs `cb` over one value of `key` per epoch, as fit would; the epochs run and the model. */
async function drive(
  cb: EarlyStopping | ModelCheckpoint | ReduceLROnPlateau,
  key: string,
  values: readonly number[],
  params: TrainParams = PARAMS,
): Promise<{ epochs: number; model: FakeModel }> {
  const model = new FakeModel();
  cb.setModel(model);
  cb.setParams(params);
  cb.onTrainBegin();
  let epochs = 0;
  for (const [epoch, v] of values.entries()) {
    epochs++;
    model.weight = epoch;
    await cb.onEpochEnd(epoch, { loss: 1, [key]: v });
    if (model.stopTraining) break;
  }
  await (cb as { onTrainEnd?: () => unknown }).onTrainEnd?.();
  return { epochs, model };
}

let log: MockInstance<typeof console.log>;
const printed = (): string[] => log.mock.calls.map((c) => String(c[0]));
beforeAll(() => {
  log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
});
afterEach(() => log.mockClear());
afterAll(() => log.mockRestore());

describe('options as Keras and tfjs spell them', () => {
  it('EarlyStopping reads snake_case and camelCase alike and refuses unknown keys with a suggestion', () => {
    const snake = new EarlyStopping({
      monitor: 'val_acc',
      min_delta: -0.01,
      patience: 3,
      restore_best_weights: true,
      start_from_epoch: 2,
      verbose: 1,
    });
    const camel = callbacks.earlyStopping({
      monitor: 'val_acc',
      minDelta: -0.01,
      patience: 3,
      restoreBestWeights: true,
      startFromEpoch: 2,
      verbose: 1,
    });
    for (const es of [snake, camel]) {
      expect([es.minDelta, es.patience, es.restoreBestWeights, es.startFromEpoch, es.verbose]).toEqual([
        0.01,
        3,
        true,
        2,
        1,
      ]);
    }
    expect(() => new EarlyStopping({ patient: 3 } as never)).toThrow(
      /EarlyStopping: unknown option 'patient'; did you mean 'patience'\?/,
    );
    expect(() => new EarlyStopping({ restore_best_weight: true } as never)).toThrow(
      /did you mean 'restore_best_weights'\?/,
    );
    expect(() => new EarlyStopping({ min_delta: 0.1, minDelta: 0.2 })).toThrow(/same option/);
  });

  it('validates values, naming the option', () => {
    expect(() => new EarlyStopping({ patience: -1 })).toThrow(/patience must be an integer ≥ 0, got -1/);
    expect(() => new EarlyStopping({ mode: 'maximum' as never })).toThrow(
      /mode must be 'auto', 'min' or 'max'/,
    );
    expect(() => new EarlyStopping({ restore_best_weights: 1 as never })).toThrow(
      /restoreBestWeights \(restore_best_weights\) must be true or false/,
    );
    expect(() => new ReduceLROnPlateau({ factor: 1 })).toThrow(/factor 1 must be in \(0, 1\)/);
    expect(() => new ReduceLROnPlateau({ min_lr: -1 })).toThrow(/minLr \(min_lr\) must be ≥ 0/);
    expect(() => new ModelCheckpoint('x.h5', { save_freq: 100 as never })).toThrow(
      /saveFreq 100 is not supported/,
    );
  });

  it("mode 'auto' follows Keras 3: losses and errors down, accuracies up; an unknown name needs a mode", async () => {
    // On 0.5, 0.6, 0.55 with patience 1: maximised, epoch 1 improves and epoch 2 stops;
    // minimised, epoch 1 stops.
    const stopsAt = async (monitor: string) => {
      const es = new EarlyStopping({ monitor, patience: 1 });
      await drive(es, monitor, [0.5, 0.6, 0.55]);
      return es.stoppedEpoch;
    };
    for (const monitor of ['val_acc', 'accuracy', 'val_binary_accuracy', 'auc', 'val_f1_score', 'out_acc'])
      expect(await stopsAt(monitor)).toBe(2);
    for (const monitor of ['loss', 'val_loss', 'val_mse', 'mean_absolute_error', 'out_loss'])
      expect(await stopsAt(monitor)).toBe(1);
    expect(() => new EarlyStopping({ monitor: 'lr' })).toThrow(
      /EarlyStopping: cannot tell whether monitor 'lr' should be minimised or maximised; pass mode: 'min' or mode: 'max'/,
    );
    expect(() => new EarlyStopping({ monitor: 'lr', mode: 'min' })).not.toThrow();
  });

  it('ModelCheckpoint takes its filepath first (or in the options), LearningRateScheduler its verbose', () => {
    const a = new ModelCheckpoint('best.h5', { monitor: 'val_loss', save_best_only: true, verbose: 1 });
    const b = new ModelCheckpoint({
      filepath: 'best.h5',
      monitor: 'val_loss',
      saveBestOnly: true,
      verbose: 1,
    });
    const c = callbacks.modelCheckpoint('best.h5', { save_best_only: true, verbose: 1 });
    for (const m of [a, b, c])
      expect([m.filepath, m.saveBestOnly, m.verbose, m.monitor]).toEqual(['best.h5', true, 1, 'val_loss']);
    expect(() => new ModelCheckpoint({ file_path: 'x' } as never)).toThrow(/did you mean 'filepath'\?/);
    expect(() => new ModelCheckpoint({} as never)).toThrow(/filepath must be a non-empty string/);
    const f = (e: number) => e;
    expect(new LearningRateScheduler(f, { verbose: 1 }).verbose).toBe(1);
    expect(new LearningRateScheduler(f, 1).verbose).toBe(1);
    expect(callbacks.learningRateScheduler(f).verbose).toBe(0);
    expect(() => new LearningRateScheduler(f, { verbos: 1 } as never)).toThrow(/did you mean 'verbose'\?/);
    expect(() => new LearningRateScheduler(0.1 as never)).toThrow(/schedule must be a function/);
    expect(new CSVLogger('log.csv', { separator: ';', append: true }).separator).toBe(';');
    expect(() => new CSVLogger('log.csv', { seperator: ';' } as never)).toThrow(/did you mean 'separator'\?/);
  });
});

describe('EarlyStopping decisions (Keras 3 early_stopping_test.py sequences)', () => {
  it('stops at epoch max(patience, 1) + 2 on losses 10, 9, 8, 9, 8.9, ...', async () => {
    const losses = [10, 9, 8, 9, 8.9, 8.8, 8.7, 8.6, 8.5];
    for (const patience of [0, 1, 2, 3]) {
      const es = new EarlyStopping({ monitor: 'loss', patience });
      await drive(es, 'loss', losses);
      expect(es.stoppedEpoch).toBe(Math.max(patience, 1) + 2);
    }
  });

  it('restores the best epoch at the end: after a stop, and when all epochs ran', async () => {
    const stop = new EarlyStopping({ monitor: 'val_loss', patience: 2, restore_best_weights: true });
    const r = await drive(stop, 'val_loss', [0.2, 0.15, 0.1, 0.11, 0.12]);
    expect([r.epochs, r.model.weight, stop.bestEpoch]).toEqual([5, 2, 2]);
    // Patience never reached: Keras 3 still restores when training ends.
    const all = new EarlyStopping({ monitor: 'val_loss', patience: 10, restore_best_weights: true });
    const s = await drive(all, 'val_loss', [0.2, 0.1, 0.3, 0.4]);
    expect([s.epochs, s.model.weight, all.stoppedEpoch]).toEqual([4, 1, 0]);
    // Without restoreBestWeights the last epoch's weights stay.
    const keep = await drive(
      new EarlyStopping({ monitor: 'val_loss', patience: 10 }),
      'val_loss',
      [0.2, 0.1, 0.3],
    );
    expect(keep.model.weight).toBe(2);
  });

  it('baseline: with no epoch beating it, trains `patience` epochs and restores the best of them', async () => {
    const es = new EarlyStopping({
      monitor: 'val_loss',
      patience: 5,
      baseline: 0.5,
      restore_best_weights: true,
    });
    const r = await drive(es, 'val_loss', [0.9, 0.8, 0.7, 0.71, 0.72, 0.73]);
    expect([r.epochs, r.model.weight]).toEqual([5, 2]);
    // Beating the baseline resets the wait as any improvement does.
    const beat = await drive(
      new EarlyStopping({ monitor: 'val_loss', patience: 2, baseline: 0.5 }),
      'val_loss',
      [0.9, 0.4, 0.3, 0.35, 0.36, 0.37],
    );
    expect(beat.epochs).toBe(5);
    // Improving below the baseline never stops (Keras 3's code): the wait counts on, and the
    // first epoch without improvement once it reaches patience stops.
    const creeping = await drive(
      new EarlyStopping({ monitor: 'val_loss', patience: 2, baseline: 0.1 }),
      'val_loss',
      [0.9, 0.8, 0.7, 0.6, 0.65, 0.5],
    );
    expect(creeping.epochs).toBe(5);
  });

  it('min_delta: a change of at most min_delta is no improvement; mode max; start_from_epoch', async () => {
    const delta = new EarlyStopping({ monitor: 'loss', patience: 1, min_delta: 0.1 });
    await drive(delta, 'loss', [1, 0.95, 0.7]); // 0.05 < 0.1: epoch 1 does not improve
    expect(delta.stoppedEpoch).toBe(1);
    const up = new EarlyStopping({ monitor: 'val_acc', patience: 1 });
    await drive(up, 'val_acc', [0.5, 0.6, 0.7, 0.65]);
    expect(up.stoppedEpoch).toBe(3);
    const warm = new EarlyStopping({ monitor: 'loss', patience: 0, start_from_epoch: 3 });
    await drive(warm, 'loss', [1, 2, 3, 4, 5, 6]); // epochs 0-2 are not watched
    expect(warm.stoppedEpoch).toBe(4);
  });

  it("verbose 1 prints Keras's two lines", async () => {
    const es = new EarlyStopping({
      monitor: 'val_loss',
      patience: 2,
      verbose: 1,
      restore_best_weights: true,
    });
    await drive(es, 'val_loss', [0.3, 0.2, 0.25, 0.26, 0.1]);
    expect(printed()).toEqual([
      'Epoch 4: early stopping',
      'Restoring model weights from the end of the best epoch: 2.',
    ]);
  });

  it('a monitor that is not logged is an error naming the keys; epochs without validation are skipped', async () => {
    const es = new EarlyStopping({ monitor: 'val_accuracy', patience: 1 });
    await expect(drive(es, 'val_loss', [0.3])).rejects.toThrow(
      "EarlyStopping: monitor 'val_accuracy' is not in the logs (loss, val_loss)",
    );
    await expect(
      drive(new EarlyStopping({ monitor: 'val_loss' }), 'val_loss', [1], { ...PARAMS, doValidation: false }),
    ).rejects.toThrow(/monitor 'val_loss' is a validation metric, but this fit has no validation data/);
    // validationFreq: an epoch whose logs have no val_ key at all does not count.
    const freq = new EarlyStopping({ monitor: 'val_loss', patience: 1 });
    const model = new FakeModel();
    freq.setModel(model);
    freq.setParams(PARAMS);
    freq.onTrainBegin();
    const epochs: Logs[] = [{ loss: 1, val_loss: 1 }, { loss: 1 }, { loss: 1, val_loss: 2 }];
    for (const [e, logs] of epochs.entries()) await freq.onEpochEnd(e, logs);
    expect(freq.stoppedEpoch).toBe(2);
  });
});

describe('ModelCheckpoint', () => {
  it("save_best_only with verbose 1: Keras 3's lines, saves only on improvement", async () => {
    const ck = new ModelCheckpoint('best_model.h5', {
      monitor: 'val_loss',
      save_best_only: true,
      verbose: 1,
    });
    const { model } = await drive(ck, 'val_loss', [0.35, 0.32, 0.4, 0.32]);
    expect(printed()).toEqual([
      'Epoch 1: val_loss improved from None to 0.35000, saving model to best_model.h5',
      'Epoch 1: finished saving model to best_model.h5',
      'Epoch 2: val_loss improved from 0.35000 to 0.32000, saving model to best_model.h5',
      'Epoch 2: finished saving model to best_model.h5',
      'Epoch 3: val_loss did not improve from 0.32000',
      'Epoch 4: val_loss did not improve from 0.32000',
    ]);
    expect(model.saves).toEqual(['file://best_model.h5', 'file://best_model.h5']);
    expect(ck.saved).toEqual([0, 1]);
  });

  it('initial_value_threshold, mode max on val_acc, and every-epoch saves with placeholders', async () => {
    const ck = new ModelCheckpoint('m.h5', {
      monitor: 'val_acc',
      save_best_only: true,
      initial_value_threshold: 0.8,
    });
    const r = await drive(ck, 'val_accuracy', [0.7, 0.85, 0.8]);
    expect(r.model.saves).toEqual(['file://m.h5']);
    expect(ck.best).toBe(0.85);
    const every = new ModelCheckpoint('ck-{epoch:02d}-{val_acc:.2f}-{loss}.h5', { verbose: 1 });
    const e = await drive(every, 'val_accuracy', [0.5, 0.625]);
    // Python rounds the tie 0.625 to even: '0.62'.
    expect(e.model.saves).toEqual(['file://ck-01-0.50-1.0.h5', 'file://ck-02-0.62-1.0.h5']);
    expect(printed()[0]).toBe('Epoch 1: saving model to ck-01-0.50-1.0.h5');
    await expect(drive(new ModelCheckpoint('{val_auc}.h5'), 'val_loss', [1])).rejects.toThrow(
      /filepath "\{val_auc\}.h5" names \{val_auc\}, which is not in the logs \(loss, val_loss\)/,
    );
  });

  it('save_weights_only calls model.saveWeights, and is refused by a model without it', async () => {
    const ck = new ModelCheckpoint('w.weights.h5', { save_weights_only: true });
    const model = new FakeModel();
    const saved: string[] = [];
    const withWeights = Object.assign(model, {
      saveWeights: (url: string) => {
        saved.push(url);
        return Promise.resolve();
      },
    });
    ck.setModel(withWeights);
    ck.onTrainBegin();
    await ck.onEpochEnd(0, { loss: 1, val_loss: 1 });
    expect([saved, model.saves]).toEqual([['file://w.weights.h5'], []]);
    ck.setModel(new FakeModel());
    expect(() => ck.onTrainBegin()).toThrow(/saveWeightsOnly needs model.saveWeights\(\)/);
  });
});

describe('learning-rate callbacks', () => {
  it("LearningRateScheduler and ReduceLROnPlateau print Keras's lines with Python's float repr", async () => {
    expect([0.1, 1e-5, 1, 0.0005, 2.5e-17, 1e16].map(pyFloat)).toEqual([
      '0.1',
      '1e-05',
      '1.0',
      '0.0005',
      '2.5e-17',
      '1e+16',
    ]);
    const s = new LearningRateScheduler((e) => 0.1 * 0.5 ** e, { verbose: 1 });
    const model = new FakeModel();
    s.setModel(model);
    for (const e of [0, 1]) s.onEpochBegin(e);
    const rlr = new ReduceLROnPlateau({ monitor: 'loss', factor: 0.5, patience: 1, cooldown: 2, verbose: 1 });
    const r = await drive(rlr, 'loss', [1, 1, 1, 1, 1]);
    expect(printed()).toEqual([
      'Epoch 1: LearningRateScheduler setting learning rate to 0.1.',
      'Epoch 2: LearningRateScheduler setting learning rate to 0.05.',
      // patience 1: epoch 2 reduces. Keras counts the cooldown down at the start of each epoch
      // end: cooldown 2 leaves epoch 3 out and epoch 4 reduces again (cooldown 1 would not).
      'Epoch 2: ReduceLROnPlateau reducing learning rate to 0.05.',
      'Epoch 4: ReduceLROnPlateau reducing learning rate to 0.025.',
    ]);
    expect(r.model.learningRate).toBe(0.025);
  });
});

describe('History: acc and accuracy name the same metric', () => {
  it('reads val_acc when the metric was accuracy, val_accuracy when it was acc; shows the logged keys', () => {
    const h = new History();
    h.onEpochEnd(0, { loss: 1, accuracy: 0.5, val_loss: 2, val_accuracy: 0.25 });
    h.onEpochEnd(1, { loss: 0.5, accuracy: 0.75, val_loss: 1, val_accuracy: 0.5 });
    expect(h.history.val_acc).toEqual([0.25, 0.5]);
    expect(h.history.acc).toBe(h.history.accuracy);
    expect(Object.keys(h.history)).toEqual(['loss', 'accuracy', 'val_loss', 'val_accuracy']);
    expect(JSON.parse(JSON.stringify(h.history))).toEqual({
      loss: [1, 0.5],
      accuracy: [0.5, 0.75],
      val_loss: [2, 1],
      val_accuracy: [0.25, 0.5],
    });
    const k2 = new History();
    k2.onEpochEnd(0, { loss: 1, acc: 0.5, val_acc: 0.25, val_binary_accuracy: 0.25 });
    expect([k2.history.val_accuracy, k2.history.accuracy, k2.history.val_binary_acc]).toEqual([
      [0.25],
      [0.5],
      undefined,
    ]);
    expect('val_accuracy' in k2.history).toBe(true);
    expect(Object.keys(k2.history)).toEqual(['loss', 'acc', 'val_acc', 'val_binary_accuracy']);
  });
});

describe('through fit()', () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await initEngine({ adapter: (process.env.WEBGPU_MLP_ADAPTER ?? 'auto') as 'auto', log: false });
  });
  afterAll(() => engine.dispose());

  const ROWS = 32;
  const x = { data: Float32Array.from({ length: ROWS * 3 }, (_, i) => Math.sin(0.37 * i)), shape: [ROWS, 3] };
  const y = {
    data: Float32Array.from({ length: ROWS }, (_, i) => (Math.cos(0.7 * i) > 0 ? 1 : 0)),
    shape: [ROWS, 1],
  };
  const classifier = (lr: number) => {
    const m = sequential({
      layers: [seededDense(4, 'tanh', 1, { inputShape: [3] }), seededDense(1, 'sigmoid', 2)],
    });
    m.compile({
      optimizer: optimizers.sgd({ learningRate: lr }),
      loss: 'binary_crossentropy',
      metrics: ['accuracy'],
    });
    return m;
  };

  it("EarlyStopping(monitor='val_acc') stops a fit compiled with metrics ['accuracy'] (deck 001)", async () => {
    // A learning rate far below the weights' float32 spacing: no weight changes, nor does
    // val_accuracy, so epoch 1 is the first without improvement.
    const m = classifier(1e-20);
    const es = new EarlyStopping({ monitor: 'val_acc', patience: 1 });
    const h = await m.fit(x, y, {
      epochs: 50,
      batchSize: 8,
      verbose: 0,
      validationSplit: 0.25,
      callbacks: es,
    });
    expect(h.epoch).toEqual([0, 1]);
    expect(es.stoppedEpoch).toBe(1);
    expect(h.history.val_acc).toEqual(h.history.val_accuracy);
    expect(h.history.val_acc).toHaveLength(2);
    await m.dispose();
  });

  it('restore_best_weights sets, bit for bit, the weights the best epoch ended with, also when all epochs ran', async () => {
    const m = classifier(0.1);
    const seen: Float32Array[][] = [];
    const capture = {
      onEpochEnd: async () => void seen.push((await m.getWeights()).map((w) => w.data.slice())),
    };
    // mode max on the loss: the best epoch is the one with the highest loss, here the first
    // (the loss falls every epoch with this seed).
    const es = new EarlyStopping({ monitor: 'loss', mode: 'max', patience: 10, restore_best_weights: true });
    const h = await m.fit(x, y, { epochs: 4, batchSize: 8, verbose: 0, seed: 1, callbacks: [capture, es] });
    const loss = h.history.loss ?? [];
    const best = loss.reduce((b, v, i) => (v > (loss[b] ?? -Infinity) ? i : b), 0);
    expect(h.epoch).toEqual([0, 1, 2, 3]);
    expect([es.bestEpoch, best]).toEqual([best, 0]);
    const now = (await m.getWeights()).map((w) => w.data);
    expect(now).toEqual(seen[best]);
    expect(now).not.toEqual(seen[3]); // the training moved the weights after the best epoch
    await m.dispose();
  });

  it("ModelCheckpoint('best_model.h5', verbose=1, save_best_only) saves and prints as Keras (deck 000)", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ck-keras-'));
    const m = classifier(0.5);
    const ck = new ModelCheckpoint(join(dir, 'best_model.h5'), {
      monitor: 'val_loss',
      verbose: 1,
      save_best_only: true,
    });
    const h = await m.fit(x, y, {
      epochs: 3,
      batchSize: 8,
      verbose: 0,
      validationSplit: 0.25,
      callbacks: [ck],
    });
    const val = h.history.val_loss ?? [];
    let best: number | undefined;
    const expected: string[] = [];
    val.forEach((v, e) => {
      const from = best === undefined ? 'None' : best.toFixed(5);
      if (best === undefined || v < best) {
        expected.push(
          `Epoch ${e + 1}: val_loss improved from ${from} to ${v.toFixed(5)}, saving model to ${dir}/best_model.h5`,
        );
        expected.push(`Epoch ${e + 1}: finished saving model to ${dir}/best_model.h5`);
        best = v;
      } else expected.push(`Epoch ${e + 1}: val_loss did not improve from ${from}`);
    });
    expect(printed()).toEqual(expected);
    expect(readdirSync(dir)).toEqual(['best_model.h5']);
    // A Keras HDF5 file: its signature, and the model's weights when loaded back.
    const bytes = readFileSync(join(dir, 'best_model.h5'));
    expect([...bytes.subarray(0, 8)]).toEqual([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect((await loadModel(join(dir, 'best_model.h5'))).layers.map((l) => l.name)).toEqual(
      m.layers.map((l) => l.name),
    );
    await m.dispose();
  });
});
