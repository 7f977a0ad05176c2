/**
 * A lost GPU device does not lose the model: fit keeps a host copy of the weights, optimizer
 * state and step count at every epoch end; after the loss getWeights() returns it and
 * dispose() resolves; after a new initEngine() the same model object resumes, and its weights
 * are bit-identical to those of an uninterrupted run. The same checks run in headless
 * Chromium as a kernel case (kernels-test/cases/engine.ts).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { currentEngine, DeviceLostError, initEngine, type Engine } from '../node/index.js';
import { layers } from '../nn/layers/index.js';
import { seededDense } from '../../kernels-test/models.js';
import type { Callback } from './callbacks.js';
import { sequential } from './model.js';

const adapter = (process.env.WEBGPU_MLP_ADAPTER ?? 'auto') as 'auto';
let engine: Engine | undefined;
async function freshEngine(): Promise<Engine> {
  engine = await initEngine({ adapter, log: false });
  return engine;
}
afterAll(() => engine?.dispose());

const ROWS = 40;
const x = { data: Float32Array.from({ length: ROWS * 3 }, (_, i) => Math.sin(0.37 * i)), shape: [ROWS, 3] };
const y = { data: Float32Array.from({ length: ROWS * 2 }, (_, i) => Math.cos(0.11 * i)), shape: [ROWS, 2] };
const FIT = { batchSize: 4, seed: 11, verbose: 0 as const };

/** Dense + dropout + Adam: the resumed run needs the weights, Adam's moments and the step. */
function make() {
  const m = sequential({
    layers: [
      seededDense(6, 'relu', 3, { inputShape: [3] }),
      layers.dropout({ rate: 0.25, seed: 5 }),
      seededDense(2, 'linear', 4),
    ],
  });
  m.compile({ optimizer: 'adam', loss: 'meanSquaredError' });
  return m;
}

async function weights(m: ReturnType<typeof make>): Promise<Float32Array[]> {
  return (await m.getWeights()).map((w) => w.data);
}

/** The weights after `epochs` epochs without interruption (computed once per count). */
const runs = new Map<number, Float32Array[]>();
async function uninterrupted(epochs: number): Promise<Float32Array[]> {
  const known = runs.get(epochs);
  if (known) return known;
  await freshEngine();
  const m = make();
  await m.fit(x, y, { ...FIT, epochs });
  const w = await weights(m);
  await m.dispose();
  runs.set(epochs, w);
  return w;
}

/** Destroys the current device from inside a callback. */
function destroy(): void {
  currentEngine().device.destroy();
}

describe('a lost device', () => {
  it('at an epoch end: the error says where to resume, the model resumes bit-identically', async () => {
    const [two, three] = [await uninterrupted(2), await uninterrupted(3)];
    await freshEngine();
    const m = make();
    // Between epochs 1 and 2: after epoch 1's checkpoint (taken after its onEpochEnd).
    const cb: Callback = { onEpochBegin: (epoch) => (epoch === 2 ? destroy() : undefined) };
    const err = await m.fit(x, y, { ...FIT, epochs: 3, callbacks: cb }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeviceLostError);
    expect((err as DeviceLostError).resumeEpoch).toBe(2);
    expect((err as Error).message).toMatch(/kept its weights and optimizer state as of the end of epoch 2/);
    expect((err as Error).message).toMatch(/initEngine\(\) again, then fit with initialEpoch: 2/);
    expect(await weights(m)).toEqual(two); // the host copy, no GPU read
    await expect(m.predict(x)).rejects.toThrow(/device was lost.*initEngine\(\) again/);
    await freshEngine();
    // The same object, not disposed: it leaves its dead copy and uploads the host's.
    await m.fit(x, y, { ...FIT, epochs: 3, initialEpoch: 2 });
    expect(await weights(m)).toEqual(three);
    await m.dispose();
  });

  it('mid-epoch: the epoch in flight is lost, dispose() resolves, the resumed run matches', async () => {
    const [one, three] = [await uninterrupted(1), await uninterrupted(3)];
    await freshEngine();
    const m = make();
    let epoch = 0;
    const cb: Callback = {
      onEpochBegin: (e) => {
        epoch = e;
      },
      onBatchEnd: (batch) => (epoch === 1 && batch === 3 ? destroy() : undefined),
    };
    const err = await m
      .fit(x, y, { ...FIT, epochs: 3, stepsPerSubmit: 1, callbacks: cb })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeviceLostError);
    expect((err as DeviceLostError).resumeEpoch).toBe(1);
    expect(await weights(m)).toEqual(one);
    await expect(m.dispose()).resolves.toBeUndefined();
    await expect(m.dispose()).resolves.toBeUndefined();
    await freshEngine();
    await m.fit(x, y, { ...FIT, epochs: 3, initialEpoch: 1 });
    expect(await weights(m)).toEqual(three);
    await m.dispose();
  });

  it("in an epoch's onEpochEnd (before its checkpoint): that epoch is redone on resuming", async () => {
    const [one, three] = [await uninterrupted(1), await uninterrupted(3)];
    await freshEngine();
    const m = make();
    const cb: Callback = { onEpochEnd: (epoch) => (epoch === 1 ? destroy() : undefined) };
    const err = await m.fit(x, y, { ...FIT, epochs: 3, callbacks: cb }).catch((e: unknown) => e);
    expect((err as DeviceLostError).resumeEpoch).toBe(1);
    expect(await weights(m)).toEqual(one);
    await freshEngine();
    const epochs: number[] = [];
    await m.fit(x, y, {
      ...FIT,
      epochs: 3,
      initialEpoch: 1,
      callbacks: { onEpochEnd: (e) => epochs.push(e) },
    });
    expect(epochs).toEqual([1, 2]); // every epoch's onEpochEnd ran once to completion
    expect(await weights(m)).toEqual(three);
    await m.dispose();
  });

  it('in the first epoch: the weights are those fit began with', async () => {
    await freshEngine();
    const m = make();
    const start = await weights(m);
    const err = await m
      .fit(x, y, {
        ...FIT,
        epochs: 2,
        stepsPerSubmit: 1,
        callbacks: { onBatchEnd: (b) => (b === 2 ? destroy() : undefined) },
      })
      .catch((e: unknown) => e);
    expect((err as DeviceLostError).resumeEpoch).toBe(0);
    expect((err as Error).message).toMatch(/as of the start of fit/);
    expect(await weights(m)).toEqual(start);
    await freshEngine();
    const h = await m.fit(x, y, { ...FIT, epochs: 1 });
    expect(Number.isFinite(h.history.loss?.[0])).toBe(true);
    await m.dispose();
  });

  it('outside fit: predict after the loss names initEngine; the model then predicts again', async () => {
    await freshEngine();
    const m = make();
    await m.fit(x, y, { ...FIT, epochs: 1 });
    const before = (await m.predict(x)) as { data: Float32Array };
    currentEngine().device.destroy();
    await expect(m.predict(x)).rejects.toBeInstanceOf(DeviceLostError);
    await freshEngine();
    const after = (await m.predict(x)) as { data: Float32Array };
    expect(after.data).toEqual(before.data);
    await m.dispose();
  });
});
