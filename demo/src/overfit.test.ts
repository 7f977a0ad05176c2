/**
 * The Train tab's "Overfit me" preset does what it promises on MNIST: trained as the tab
 * trains it (the first 500 images, the last 50 validating, seed 1), the training loss falls
 * toward 0 while the validation loss passes its minimum early and then rises, the course's
 * picture of overfitting (the cue for EarlyStopping and dropout). With the tab's early
 * stopping the same run ends PATIENCE epochs after its best validation loss and keeps that
 * epoch's weights.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initEngine, type Engine } from '../../src/node/index.js';
import { loadMnist } from '../../src/node/mnist.js';
import { gpuSplit, trainValidation } from './mnist.js';
import { baseForm, NO_ATTRIBUTES, OVERFIT_PRESET, parseForm } from './trainer-form.js';
import { buildMlp, EARLY_STOPPING_PATIENCE, trainCallbacks } from './trainer-model.js';

let engine: Engine;
beforeAll(async () => {
  engine = await initEngine({ adapter: (process.env.WEBGPU_MLP_ADAPTER ?? 'auto') as 'auto', log: false });
});
afterAll(() => engine.dispose());

describe('the "Overfit me" preset', () => {
  it('overfits MNIST: training loss falls toward 0, validation loss turns and rises', async () => {
    // The preset over the demo's defaults, as the form has it after the button.
    const form = { ...baseForm(NO_ATTRIBUTES, {}, true), ...OVERFIT_PRESET };
    const { config, trainRows } = parseForm(form, 1, false);
    expect([config.hidden, config.dropout, config.batchNorm, config.epochs, trainRows]).toEqual([
      [512, 512],
      0,
      false,
      40,
      500,
    ]);
    const mnist = await loadMnist({ trainRows, testRows: 1 });
    const { train, validation } = trainValidation(mnist.train, trainRows);
    const model = buildMlp(config);
    const history = await model.fit(gpuSplit(engine, train, 'train'), undefined, {
      epochs: config.epochs,
      batchSize: config.batchSize,
      validationData: [gpuSplit(engine, validation, 'validation')],
      verbose: 0,
      seed: 1,
    });
    const loss = history.history.loss ?? [];
    const val = history.history.val_loss ?? [];
    expect(val).toHaveLength(config.epochs);
    const best = val.indexOf(Math.min(...val));
    const last = val.at(-1) ?? NaN;
    console.log(
      `overfit preset: loss ${loss[0]?.toFixed(3)} → ${loss.at(-1)?.toExponential(2)}; val_loss min ${val[best]?.toFixed(3)} at epoch ${best + 1}, last ${last.toFixed(3)}`,
    );
    // Seen here (lavapipe): loss 1.26 → 2.6e-4; val_loss lowest 0.690 at epoch 5, last 0.891.
    expect(loss.at(-1)).toBeLessThan(0.01);
    expect(best + 1).toBeLessThanOrEqual(15); // the turn comes early
    expect(last).toBeGreaterThan(1.15 * (val[best] ?? NaN)); // and the validation loss rises
    for (const v of val.slice(-10)) expect(v).toBeGreaterThan(val[best] ?? NaN);
    await model.dispose();
  }, 300_000);

  it("with the tab's early stopping, ends 3 epochs after the best val_loss and keeps that epoch's weights", async () => {
    const form = { ...baseForm(NO_ATTRIBUTES, {}, true), ...OVERFIT_PRESET, earlyStopping: true };
    const { config, trainRows } = parseForm(form, 1, false);
    const mnist = await loadMnist({ trainRows, testRows: 1 });
    const { train, validation } = trainValidation(mnist.train, trainRows);
    const val = gpuSplit(engine, validation, 'validation');
    const model = buildMlp(config);
    const history = await model.fit(gpuSplit(engine, train, 'train'), undefined, {
      epochs: config.epochs,
      batchSize: config.batchSize,
      validationData: [val],
      verbose: 0,
      seed: 1,
      callbacks: trainCallbacks(form.earlyStopping),
    });
    const losses = history.history.val_loss ?? [];
    const best = losses.indexOf(Math.min(...losses));
    // Stopped: the best epoch, then PATIENCE epochs without a better one.
    expect(losses.length).toBe(best + 1 + EARLY_STOPPING_PATIENCE);
    expect(losses.length).toBeLessThan(config.epochs);
    // The weights are the best epoch's: evaluating them gives its validation loss.
    const logs = (await model.evaluate(val, undefined, { returnDict: true, verbose: 0 })) as Record<
      string,
      number
    >;
    expect(Math.abs((logs.loss ?? NaN) - (losses[best] ?? NaN))).toBeLessThanOrEqual(
      1e-5 * (losses[best] ?? NaN),
    );
    await model.dispose();
  }, 300_000);
});
