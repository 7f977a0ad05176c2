/**
 * The Playground's run on the GPU (playground-model.ts): XOR from x₁ and x₂ alone learned
 * to ≥ 95% on the test points, the boundary equal to model.predict on the same grid given
 * as host rows, and the hidden units' host outputs carried through the output layer in
 * float64 giving the GPU's boundary again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Dense, initEngine, type Engine } from '../../src/node/index.js';
import {
  buildPlaygroundModel,
  PLAYGROUND_DEFAULTS,
  PlaygroundRun,
  type PlaygroundSettings,
} from './playground-model.js';

/** XOR needs a hidden layer: 8 tanh units, SGD 0.1, batch 10, 250 training points. */
const XOR: PlaygroundSettings = { ...PLAYGROUND_DEFAULTS, dataset: 'xor', hidden: [8], learningRate: 0.1 };

describe('playground run', () => {
  let engine: Engine;
  let run: PlaygroundRun;
  beforeAll(async () => {
    engine = await initEngine({ adapter: (process.env.WEBGPU_MLP_ADAPTER ?? 'auto') as 'auto', log: false });
    run = new PlaygroundRun(engine, XOR, 30);
  });
  afterAll(async () => {
    await run.dispose();
    engine.dispose();
  });

  it('learns XOR from x₁ and x₂ to at least 95% test accuracy in 20 epochs', async () => {
    const before = await run.accuracy('test');
    await run.trainEpochs(10);
    const logs = await run.trainEpochs(10);
    expect(run.epoch).toBe(20);
    const test = await run.accuracy('test');
    // fit's val_accuracy (binary accuracy at 0.5 on the test points) counts the same thing.
    expect(logs.val_accuracy).toBeCloseTo(test, 6);
    expect(test).toBeGreaterThanOrEqual(0.95);
    expect(before).toBeLessThan(0.8); // it was not solved before training
    console.log(`playground XOR: test accuracy ${before} before, ${test} after 20 epochs; loss ${logs.loss}`);
  });

  it('draws the boundary the model predicts at those grid points', async () => {
    const boundary = await run.boundary();
    expect(boundary.length).toBe(30 * 30);
    const rows = Array.from({ length: 900 }, (_, i) => [
      run.grid[2 * i] as number,
      run.grid[2 * i + 1] as number,
    ]);
    const p = await run.model.predict(rows);
    const direct = (Array.isArray(p) ? p[0] : p)?.data ?? new Float32Array();
    expect(Array.from(boundary)).toEqual(Array.from(direct));
    // XOR: blue (class 1) where x₁·x₂ > 0 away from the axes, orange elsewhere.
    const at = (x: number, y: number) => {
      const col = Math.floor(((x + 6) / 12) * 30);
      const row = Math.floor(((6 - y) / 12) * 30);
      return boundary[row * 30 + col] as number;
    };
    expect(at(3, 3)).toBeGreaterThan(0.9);
    expect(at(-3, -3)).toBeGreaterThan(0.9);
    expect(at(3, -3)).toBeLessThan(0.1);
    expect(at(-3, 3)).toBeLessThan(0.1);
  });

  it("gives each hidden unit's output, which through the output layer is the boundary", async () => {
    const units = await run.hiddenUnits();
    expect(units.map((l) => l.length)).toEqual([8]);
    const weights = await run.model.getWeights();
    const k = weights[2]?.data ?? new Float32Array();
    const b = weights[3]?.data[0] ?? NaN;
    const boundary = await run.boundary();
    let worst = 0;
    for (let c = 0; c < 900; c++) {
      let z = b;
      units[0]?.forEach((u, i) => (z += (u.values[c] as number) * (k[i] as number)));
      worst = Math.max(worst, Math.abs(1 / (1 + Math.exp(-z)) - (boundary[c] as number)));
    }
    expect(worst).toBeLessThan(1e-5);
    for (const u of units[0] ?? []) {
      expect(u.min).toBeGreaterThanOrEqual(-1);
      expect(u.max).toBeLessThanOrEqual(1);
      expect(u.min).toBe(Math.min(...u.values));
    }
  });
});

describe('playground model', () => {
  it('builds the layers the settings name, with the regularizer on every kernel', () => {
    const m = buildPlaygroundModel({
      ...PLAYGROUND_DEFAULTS,
      features: ['x1', 'x2', 'x1x2'],
      hidden: [5, 3],
      activation: 'relu',
      regularization: 'l1',
      regularizationRate: 0.01,
    });
    const dense = m.layers.filter((l): l is Dense => l instanceof Dense);
    expect(dense.map((d) => [d.units, d.activation])).toEqual([
      [5, 'relu'],
      [3, 'relu'],
      [1, 'sigmoid'],
    ]);
    expect(dense[0]?.kernel?.shape).toEqual([3, 5]);
    for (const d of dense) expect(d.kernelRegularizer?.config).toEqual({ l1: 0.01 });
    const none = buildPlaygroundModel({
      ...PLAYGROUND_DEFAULTS,
      regularization: 'l2',
      regularizationRate: 0,
    });
    expect(none.layers.every((l) => !(l instanceof Dense) || l.kernelRegularizer === undefined)).toBe(true);
    expect(() => buildPlaygroundModel({ ...PLAYGROUND_DEFAULTS, hidden: [0] })).toThrow(/hidden layer 1/);
  });
});
