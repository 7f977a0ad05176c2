/**
 * Smoke test of `npm run example:tune` (demo/node/tune.ts, the course's Hyperband search on
 * MNIST) with a small budget: 600 training rows (480 train, 120 validate), 500 test rows,
 * maxEpochs 3. It lives here because the example scripts are not in a test folder.
 *
 * Threshold, from runs on the software adapter (lavapipe) with seeds 1-3: the best model's
 * test accuracy was 0.822, 0.656, 0.772 (480 rows, 3 epochs at most). Asserted for seed 1:
 * ≥ 0.6 (chance is 0.1).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initEngine, type Engine } from '../node/index.js';
import { runTune } from '../../demo/node/tune.js';

let engine: Engine;
beforeAll(async () => {
  engine = await initEngine({ adapter: 'software', log: false });
});
afterAll(() => engine.dispose());

describe('example:tune', () => {
  it('runs the Hyperband schedule on MNIST and reports the best model', async () => {
    const lines: string[] = [];
    const before = engine.stats();
    const r = await runTune(engine, {
      rows: 600,
      testRows: 500,
      maxEpochs: 3,
      factor: 3,
      seed: 1,
      print: (l) => lines.push(l),
    });
    const after = engine.stats();
    expect([after.liveBuffers, after.liveBytes]).toEqual([before.liveBuffers, before.liveBytes]);
    expect([r.trainRows, r.valRows]).toEqual([480, 120]);
    // maxEpochs 3, factor 3: bracket 1 = 3 trials × 1 epoch → the best 1 continues to 3 epochs;
    // bracket 0 = 2 trials × 3 epochs (space.test.ts checks the formulas).
    expect(lines).toContain('  bracket 1: 3 × 1 ep → 1 × 3 ep');
    expect(lines).toContain('  bracket 0: 2 × 3 ep');
    expect(r.trials.map((t) => [t.bracket, t.round, t.initialEpoch])).toEqual([
      [1, 0, 0],
      [1, 0, 0],
      [1, 0, 0],
      [1, 1, 1],
      [0, 0, 0],
      [0, 0, 0],
    ]);
    for (const t of r.trials) {
      expect((t.hyperparameters.units as number) % 32).toBe(0);
      expect([1e-2, 1e-3, 1e-4]).toContain(t.hyperparameters.learning_rate);
    }
    // The best model holds the weights of the best trial's best epoch: its validation accuracy is the score.
    expect(r.valAccuracy).toBeCloseTo(r.bestScore, 6);
    expect(r.testAccuracy).toBeGreaterThanOrEqual(0.6);
    expect(lines.some((l) => l.startsWith('best hyperparameters: units '))).toBe(true);
    expect(lines.some((l) => /^best model: test accuracy \d+\.\d\d%/.test(l))).toBe(true);
  });
});
