/**
 * Soak: long fits and many models leave no GPU memory behind. A 100-epoch fit (validation,
 * callbacks, a checkpoint per epoch) and 300 create / compile / fit / predict / dispose cycles
 * must bring the engine's live buffers and bytes back to where they started, and the models
 * must still learn (the closed-form target below is reached).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initEngine, type Engine } from '../node/index.js';
import { optimizers } from '../nn/optimizers.js';
import { seededDense } from '../../kernels-test/models.js';
import { sequential } from './model.js';

let engine: Engine;
beforeAll(async () => {
  engine = await initEngine({ adapter: (process.env.WEBGPU_MLP_ADAPTER ?? 'auto') as 'auto', log: false });
});
afterAll(() => engine.dispose());

// y = 2·x0 − x1 + 0.5: a linear model can fit it exactly, so the loss must fall towards 0.
const ROWS = 32;
const xs = Float32Array.from({ length: ROWS * 2 }, (_, i) => Math.sin(0.7 * i));
const ys = Float32Array.from({ length: ROWS }, (_, r) => 2 * (xs[2 * r] ?? 0) - (xs[2 * r + 1] ?? 0) + 0.5);
const x = { data: xs, shape: [ROWS, 2] };
const y = { data: ys, shape: [ROWS, 1] };

function make(seed: number) {
  const m = sequential({ layers: [seededDense(1, 'linear', seed, { inputShape: [2] })] });
  m.compile({ optimizer: optimizers.sgd({ learningRate: 0.1 }), loss: 'meanSquaredError' });
  return m;
}

describe('soak', () => {
  it('100 epochs with validation and callbacks: memory flat, the fit converges', async () => {
    await engine.flush();
    const base = engine.stats();
    const m = make(1);
    let batches = 0;
    const h = await m.fit(x, y, {
      epochs: 100,
      batchSize: 8,
      verbose: 0,
      validationSplit: 0.25,
      callbacks: {
        onBatchEnd: () => {
          batches++;
        },
      },
    });
    expect(h.history.loss).toHaveLength(100);
    expect(batches).toBe(100 * 3); // 24 training rows, batches of 8
    expect(h.history.val_loss?.[99]).toBeLessThan(1e-4);
    const [w, b] = (await m.getWeights()).map((t) => t.data);
    expect(Array.from(w ?? [])).toEqual([expect.closeTo(2, 2), expect.closeTo(-1, 2)]);
    expect(b?.[0]).toBeCloseTo(0.5, 2);
    await m.dispose();
    await engine.flush();
    const end = engine.stats();
    expect(end.liveBuffers).toBe(base.liveBuffers);
    expect(end.liveBytes).toBe(base.liveBytes);
  });

  it('300 create / fit / predict / dispose cycles: live buffers and bytes back to the start', async () => {
    await engine.flush();
    const base = engine.stats();
    let worst = 0;
    for (let i = 0; i < 300; i++) {
      const m = make(100 + i);
      const h = await m.fit(x, y, { epochs: 2, batchSize: 16, verbose: 0 });
      const p = (await m.predict(x)) as { data: Float32Array };
      expect(p.data.every(Number.isFinite)).toBe(true);
      worst = Math.max(worst, h.history.loss?.[1] ?? Infinity);
      await m.dispose();
      if (i % 50 === 49) {
        await engine.flush();
        expect(engine.stats().liveBuffers).toBe(base.liveBuffers);
      }
    }
    expect(Number.isFinite(worst)).toBe(true);
    await engine.flush();
    const end = engine.stats();
    expect(end.liveBuffers).toBe(base.liveBuffers);
    expect(end.liveBytes).toBe(base.liveBytes);
  });
});
