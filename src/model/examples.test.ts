/**
 * Smoke tests of the course examples in demo/node (npm run example:iris / example:cars), with
 * fewer epochs than the scripts. They live here because vitest's node project includes
 * src/**, not demo/**.
 *
 * Thresholds, from runs on the software adapter (lavapipe) with seeds 1-6:
 * - Iris, 30 epochs: mean 5-fold accuracy 0.94-0.96, worst fold 0.867. Asserted: mean ≥ 0.9,
 *   every fold ≥ 0.8.
 * - Cars, 60 epochs: test MAE 1.86-2.05 mpg, 0.25-0.32 of the baseline's (predicting the
 *   training mean). Asserted: MAE < 0.5 × baseline and < 3 mpg.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initEngine, type Engine } from '../node/index.js';
import { loadIris, runIris } from '../../demo/node/iris.js';
import { CAR_FEATURES, loadCars, runCars } from '../../demo/node/cars.js';

let engine: Engine;
beforeAll(async () => {
  engine = await initEngine({ adapter: 'software', log: false });
});
afterAll(() => engine.dispose());

describe('course examples', () => {
  it('iris: the data set is the 150 flowers, 50 per species', () => {
    const { x, labels, classNames } = loadIris();
    expect(classNames).toEqual(['setosa', 'versicolor', 'virginica']);
    expect(x.length).toBe(150 * 4);
    expect([0, 1, 2].map((k) => labels.filter((c) => c === k).length)).toEqual([50, 50, 50]);
    // Fisher's first flower: 5.1, 3.5, 1.4, 0.2 (setosa); column means of the classic table.
    expect([...x.subarray(0, 4)].map((v) => Math.round(v * 10) / 10)).toEqual([5.1, 3.5, 1.4, 0.2]);
    const means = [0, 1, 2, 3].map((c) => x.filter((_, i) => i % 4 === c).reduce((a, b) => a + b, 0) / 150);
    [5.8433, 3.0573, 3.758, 1.1993].forEach((m, c) => expect(means[c]).toBeCloseTo(m, 3));
  });

  it('iris: stratified 5-fold cross-validation of 4-16-3 reaches mean accuracy ≥ 0.9', async () => {
    const r = await runIris({ epochs: 30, folds: 5, seed: 1 });
    // The folds partition the 150 rows; each test fold holds 10 flowers of each species.
    const { labels } = loadIris();
    expect(r.folds).toHaveLength(5);
    const seen = new Array<number>(150).fill(0);
    for (const { train, test } of r.folds) {
      expect(train.length + test.length).toBe(150);
      const inTest = new Set(test);
      expect(inTest.size).toBe(30);
      expect(train.every((i) => !inTest.has(i))).toBe(true);
      for (const i of test) seen[i] = (seen[i] as number) + 1;
      expect([0, 1, 2].map((k) => test.filter((i) => labels[i] === k).length)).toEqual([10, 10, 10]);
    }
    expect(seen.every((n) => n === 1)).toBe(true);
    // evaluate's accuracy metric agrees with argmax counted on the host, in steps of 1/30.
    expect(r.foldAccuracies).toHaveLength(5);
    r.foldAccuracies.forEach((a, f) => {
      expect(a).toBeCloseTo(r.hostAccuracies[f] as number, 6);
      expect(Math.abs(a * 30 - Math.round(a * 30))).toBeLessThan(1e-4);
      expect(a).toBeGreaterThanOrEqual(0.8);
    });
    const mean = r.hostAccuracies.reduce((a, b) => a + b, 0) / 5;
    const std = Math.sqrt(r.hostAccuracies.reduce((a, b) => a + (b - mean) ** 2, 0) / 5);
    expect(r.mean).toBeCloseTo(mean, 6);
    expect(r.std).toBeCloseTo(std, 6);
    expect(r.mean).toBeGreaterThanOrEqual(0.9);
  });

  it('cars: 392 complete rows with the Auto MPG statistics', () => {
    const { x, y, dropped } = loadCars();
    // 406 cars, 8 without mpg and 6 without horsepower: the 392 rows of the usual Auto MPG table.
    expect(dropped).toBe(14);
    expect(y.length).toBe(392);
    expect(x.length).toBe(392 * CAR_FEATURES.length);
    // Means of the 392-row table (ISLR's Auto): mpg 23.446, weight 2977.58, horsepower 104.469.
    const col = (c: number) => x.filter((_, i) => i % CAR_FEATURES.length === c);
    const mean = (a: Float32Array) => a.reduce((s, v) => s + v, 0) / a.length;
    expect(mean(y)).toBeCloseTo(23.4459, 3);
    expect(mean(col(CAR_FEATURES.indexOf('Weight_in_lbs')))).toBeCloseTo(2977.584, 2);
    expect(mean(col(CAR_FEATURES.indexOf('Horsepower')))).toBeCloseTo(104.4694, 3);
    const years = col(CAR_FEATURES.indexOf('Year'));
    expect(Math.min(...years)).toBe(1970);
    expect(Math.max(...years)).toBe(1982);
  });

  it('cars: the wide & deep model beats the mean predictor (MAE < 0.5 × baseline)', async () => {
    const r = await runCars({ epochs: 60, seed: 1 });
    expect(r.trainRows).toBe(313);
    expect(r.testRows).toBe(79); // ceil(0.2 · 392)
    expect(r.predictions).toHaveLength(79);
    // evaluate's loss is the MSE of predict's outputs; the MAE is recomputed here in float64.
    let se = 0;
    let ae = 0;
    r.predictions.forEach((p, i) => {
      const e = p - (r.targets[i] as number);
      se += e * e;
      ae += Math.abs(e);
    });
    expect(r.testMse).toBeCloseTo(se / 79, 3);
    expect(r.testMae).toBeCloseTo(ae / 79, 5);
    if (r.evaluateMae !== undefined) expect(r.evaluateMae).toBeCloseTo(r.testMae, 4);
    // Predicting one value for every car: the baseline's MAE is at least the median predictor's.
    const sorted = [...r.targets].sort((a, b) => a - b);
    const median = sorted[39] as number; // the middle of 79
    const medianMae = r.targets.reduce((s, t) => s + Math.abs(t - median), 0) / 79;
    expect(r.baselineMae).toBeGreaterThanOrEqual(medianMae - 1e-6);
    expect(r.baselineMae).toBeGreaterThan(5);
    expect(r.testMae).toBeLessThan(0.5 * r.baselineMae);
    expect(r.testMae).toBeLessThan(3);
  });
});
