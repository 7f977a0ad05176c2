/**
 * Reliability of fit() around callbacks: a hook that throws or rejects (custom or built in)
 * makes fit reject with that error, leaves no unhandled rejection, frees the fit's GPU data
 * and leaves a model that trains; the learning rate can be changed from a callback while the
 * GPU trains; `callbacks` given as one object works and a misspelled hook is an error.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initEngine, type Engine } from '../node/index.js';
import { optimizers } from '../nn/optimizers.js';
import { seededDense } from '../../kernels-test/models.js';
import { LearningRateScheduler, ModelCheckpoint, type Callback } from './callbacks.js';
import { sequential } from './model.js';

let engine: Engine;
beforeAll(async () => {
  engine = await initEngine({ adapter: (process.env.WEBGPU_MLP_ADAPTER ?? 'auto') as 'auto', log: false });
});
afterAll(() => engine.dispose());

const ROWS = 48;
const x = { data: Float32Array.from({ length: ROWS * 3 }, (_, i) => Math.sin(0.37 * i)), shape: [ROWS, 3] };
const y = { data: Float32Array.from({ length: ROWS }, (_, i) => Math.cos(0.11 * i)), shape: [ROWS, 1] };

function make(lr = 0.05) {
  const m = sequential({
    layers: [seededDense(4, 'tanh', 1, { inputShape: [3] }), seededDense(1, 'linear', 2)],
  });
  m.compile({ optimizer: optimizers.sgd({ learningRate: lr }), loss: 'meanSquaredError' });
  return m;
}

type Model = ReturnType<typeof make>;

async function weights(m: Model): Promise<Float32Array[]> {
  return (await m.getWeights()).map((w) => w.data);
}

/** A small fit after a failure trains: a finite loss, and the weights move. */
async function trainsAfterwards(m: Model): Promise<void> {
  const before = await weights(m);
  const h = await m.fit(x, y, { epochs: 1, batchSize: 16, verbose: 0 });
  expect(Number.isFinite(h.history.loss?.[0])).toBe(true);
  const after = await weights(m);
  expect(after.some((w, i) => w.some((v, j) => v !== before[i]?.[j]))).toBe(true);
}

const HOOKS = [
  'onTrainBegin',
  'onEpochBegin',
  'onBatchBegin',
  'onBatchEnd',
  'onEpochEnd',
  'onTrainEnd',
] as const;

describe('a callback that fails', () => {
  for (const hook of HOOKS) {
    for (const how of ['throws', 'rejects'] as const) {
      it(`in ${hook} (${how}) makes fit reject with its error; the data is freed and the model trains`, async () => {
        const m = make();
        // A first fit builds the model; its data is freed at the end, the model's buffers stay.
        await m.fit(x, y, { epochs: 1, batchSize: 16, verbose: 0 });
        const base = engine.stats();
        const error = new Error(`${hook} failed on purpose`);
        let calls = 0;
        const cb: Callback = {
          [hook]: () => {
            calls++;
            if (how === 'throws') throw error;
            return Promise.reject(error);
          },
        };
        // stepsPerSubmit 1: many batch callbacks are pending when the first one fails.
        await expect(
          m.fit(x, y, { epochs: 3, batchSize: 4, verbose: 0, stepsPerSubmit: 1, callbacks: [cb] }),
        ).rejects.toBe(error);
        expect(calls).toBe(1); // the first failure ends fit: no hook runs after it
        const after = engine.stats();
        expect(after.liveBuffers).toBe(base.liveBuffers);
        expect(after.liveBytes).toBe(base.liveBytes);
        await trainsAfterwards(m);
        await m.dispose();
      });
    }
  }

  it('built in: ModelCheckpoint to a path under a file rejects fit with the file error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'webgpu-mlp-cb-'));
    const file = join(dir, 'a-file');
    writeFileSync(file, 'not a directory');
    const m = make();
    const cb = new ModelCheckpoint({ filepath: join(file, 'model') });
    await expect(m.fit(x, y, { epochs: 2, batchSize: 16, verbose: 0, callbacks: [cb] })).rejects.toThrow(
      /a-file/,
    );
    expect(cb.saved).toEqual([]);
    await trainsAfterwards(m);
    await m.dispose();
  });

  it('built in: a LearningRateScheduler whose schedule gives NaN rejects fit before any step', async () => {
    const m = make();
    const before = await weights(m);
    const cb = new LearningRateScheduler(() => NaN);
    await expect(m.fit(x, y, { epochs: 2, batchSize: 16, verbose: 0, callbacks: [cb] })).rejects.toThrow(
      /LearningRateScheduler: schedule\(0\) gave NaN/,
    );
    expect(await weights(m)).toEqual(before);
    await trainsAfterwards(m);
    await m.dispose();
  });
});

describe('the learning rate set from a callback', () => {
  it('model.optimizer.learningRate = 0 in onBatchEnd takes effect while fit runs', async () => {
    const m = make();
    const seen: number[] = [];
    await m.fit(x, y, {
      epochs: 2,
      batchSize: 4,
      verbose: 0,
      stepsPerSubmit: 1,
      callbacks: {
        onBatchEnd: () => {
          seen.push((m.optimizer as { learningRate: number }).learningRate);
          (m.optimizer as { learningRate: number }).learningRate = 0;
        },
      },
    });
    expect(seen[0]).toBeCloseTo(0.05, 7);
    expect(seen.slice(1).every((lr) => lr === 0)).toBe(true);
    expect(m.learningRate).toBe(0);
    expect(m.optimizer?.config.learning_rate).toBe(0);
    // The GPU has rate 0 too: another epoch leaves every weight bit-identical.
    const before = await weights(m);
    await m.fit(x, y, { epochs: 1, batchSize: 4, verbose: 0 });
    expect(await weights(m)).toEqual(before);
    await m.dispose();
  });

  it("the model's setter in onEpochBegin: rate 0 from epoch 1 gives the weights of one epoch", async () => {
    const one = make();
    await one.fit(x, y, { epochs: 1, batchSize: 8, verbose: 0, shuffle: false });
    const expected = await weights(one);
    await one.dispose();
    const m = make();
    await m.fit(x, y, {
      epochs: 3,
      batchSize: 8,
      verbose: 0,
      shuffle: false,
      callbacks: {
        onEpochBegin: (epoch: number) => {
          if (epoch === 1) m.learningRate = 0;
        },
      },
    });
    expect(await weights(m)).toEqual(expected);
    await m.dispose();
  });

  it('a bad rate set from a callback rejects fit with a RangeError naming it', async () => {
    const m = make();
    await expect(
      m.fit(x, y, {
        epochs: 1,
        batchSize: 4,
        verbose: 0,
        callbacks: {
          onBatchEnd: () => {
            m.learningRate = -1;
          },
        },
      }),
    ).rejects.toThrow(/learning rate -1 must be a finite number ≥ 0/);
    expect(m.learningRate).toBeCloseTo(0.05, 7);
    await trainsAfterwards(m);
    await m.dispose();
  });
});

describe('the callbacks option', () => {
  it('accepts one callback object as well as an array', async () => {
    const m = make();
    const epochs: number[] = [];
    await m.fit(x, y, {
      epochs: 3,
      batchSize: 16,
      verbose: 0,
      callbacks: { onEpochEnd: (e) => epochs.push(e) },
    });
    expect(epochs).toEqual([0, 1, 2]);
    await m.dispose();
  });

  it('refuses what is not a callback, and a hook fit() would never call, before training', async () => {
    const m = make();
    const before = await weights(m);
    const fit = (callbacks: unknown) =>
      m.fit(x, y, { epochs: 1, verbose: 0, callbacks: callbacks as Callback });
    await expect(fit('earlyStopping')).rejects.toThrow(/callbacks must be a callback object .* got string/);
    await expect(fit([{}, 3])).rejects.toThrow(/callbacks\[1\] must be a callback object .* got number/);
    await expect(fit({ on_epoch_end: () => undefined })).rejects.toThrow(
      /'on_epoch_end' that fit\(\) never calls; did you mean 'onEpochEnd'\?/,
    );
    await expect(fit([{ onEpochEnds: () => undefined }])).rejects.toThrow(
      /callbacks\[0\] has a method 'onEpochEnds'.*did you mean 'onEpochEnd'\?/,
    );
    await expect(fit({ onTrainBatchEnd: () => undefined })).rejects.toThrow(/did you mean 'onBatchEnd'\?/);
    await expect(fit({ onTestEnd: () => undefined })).rejects.toThrow(
      /evaluate and predict take no callbacks/,
    );
    await expect(fit({ onYield: () => undefined })).rejects.toThrow(
      /'onYield' that fit\(\) never calls; .*use onBatchEnd/,
    );
    await expect(fit({ on_epoch_ends_soon: () => undefined })).rejects.toThrow(
      /'on_epoch_ends_soon' that fit\(\) never calls\. Hooks:/,
    );
    expect(await weights(m)).toEqual(before);
    await trainsAfterwards(m);
    await m.dispose();
  });

  it("a callback's own methods that are not hooks (onImprovement) are its business", async () => {
    const m = make();
    const improved: number[] = [];
    const cb = {
      best: Infinity,
      onImprovement(epoch: number) {
        improved.push(epoch);
      },
      onEpochEnd(epoch: number, logs?: Record<string, number>) {
        const loss = logs?.loss ?? Infinity;
        if (loss < this.best) {
          this.best = loss;
          this.onImprovement(epoch);
        }
      },
    };
    await m.fit(x, y, { epochs: 3, batchSize: 16, verbose: 0, callbacks: cb });
    expect(improved[0]).toBe(0);
    await m.dispose();
  });

  it('calls onBatchBegin before the first batch and after each onBatchEnd, in order', async () => {
    const m = make();
    const events: string[] = [];
    await m.fit(x, y, {
      epochs: 1,
      batchSize: 4,
      verbose: 0,
      callbacks: {
        onBatchBegin: (b: number) => events.push(`begin ${b}`),
        onBatchEnd: (b: number) => events.push(`end ${b}`),
      },
    });
    // 12 batches, read every ⌈12/30⌉ = 1 step: every batch is reported.
    const expected = ['begin 0'];
    for (let b = 0; b < 12; b++) expected.push(`end ${b}`, ...(b < 11 ? [`begin ${b + 1}`] : []));
    expect(events).toEqual(expected);
    await m.dispose();
  });
});

describe('callbacks that read the weights during fit', () => {
  it('getWeights in every onBatchEnd changes nothing: the final weights match a run without it', async () => {
    const plain = make();
    await plain.fit(x, y, { epochs: 2, batchSize: 4, verbose: 0, seed: 9 });
    const expected = await weights(plain);
    await plain.dispose();
    const m = make();
    let reads = 0;
    await m.fit(x, y, {
      epochs: 2,
      batchSize: 4,
      verbose: 0,
      seed: 9,
      callbacks: {
        onBatchEnd: async () => {
          await m.getWeights();
          reads++;
        },
      },
    });
    expect(reads).toBe(24);
    // The host copy after fit is the trained one, and the GPU agrees (predict uses it).
    expect(await weights(m)).toEqual(expected);
    await m.dispose();
  });
});
