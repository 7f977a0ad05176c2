/**
 * The Tune tab's space without the page: the learning-rate field, the counts shown before a
 * search (against the product of the value counts and Keras Tuner's Hyperband totals), the
 * trial model's shape, and how values are written.
 */
import { describe, expect, it } from 'vitest';
import { HyperParameters, type Trial } from '../../src/index.js';
import {
  buildTrialModel,
  cvDefaults,
  cvRows,
  describeConfig,
  fittingLine,
  formatHp,
  initialPointsOf,
  parseRates,
  trialCurves,
  parseUnits,
  plannedTrials,
  spaceOf,
  tuneDefaults,
  unitsValues,
  type SpaceSettings,
  type TuneSettings,
} from './tune-space.js';

const COURSE: SpaceSettings = {
  unitsMin: 32,
  unitsMax: 512,
  unitsStep: 32,
  learningRates: [1e-2, 1e-3, 1e-4],
  extras: false,
};

function settings(over: Partial<TuneSettings> = {}): TuneSettings {
  return {
    searcher: 'grid',
    rows: 2000,
    batchSize: 32,
    epochs: 2,
    maxEpochs: 10,
    factor: 3,
    maxTrials: 10,
    seed: 1,
    space: COURSE,
    ...over,
  };
}

describe('the Tune tab space', () => {
  it('reads the learning-rate field as the course writes it, naming what is wrong', () => {
    expect(parseRates('1e-2, 1e-3, 1e-4')).toEqual([0.01, 0.001, 0.0001]);
    expect(parseRates(' 0.1 3e-4;0.5 ')).toEqual([0.1, 0.0003, 0.5]);
    expect(() => parseRates('')).toThrow(/learning rates/);
    expect(() => parseRates('1e-2, fast')).toThrow(/"fast"/);
    expect(() => parseRates('0, 1e-3')).toThrow(/"0"/);
    expect(() => parseRates('-1e-3')).toThrow(/"-1e-3"/);
    expect(() => parseRates('1e-2, 0.01')).toThrow(/0\.01 is listed twice/);
  });

  it('counts the configurations: (512 − 32) / 32 + 1 = 16 units × 3 rates, × 3 dropouts × 2 with the extras', () => {
    expect(spaceOf(COURSE)).toEqual({ size: 48, text: 'units: 16 × learning_rate: 3' });
    expect(spaceOf({ ...COURSE, extras: true })).toEqual({
      size: 288,
      text: 'units: 16 × learning_rate: 3 × dropout: 3 × batch_norm: 2',
    });
    // The software adapter's defaults: 16, 32, 48, 64.
    const d = tuneDefaults(true);
    expect(
      spaceOf({ ...COURSE, unitsMin: Number(d.unitsMin), unitsMax: Number(d.unitsMax), unitsStep: 16 }).size,
    ).toBe(4 * 3);
  });

  it('plans the trials: the grid, random capped by the space, Keras Tuner’s Hyperband totals', () => {
    expect(plannedTrials(settings())).toBe(48);
    expect(plannedTrials(settings({ searcher: 'random', maxTrials: 10 }))).toBe(10);
    expect(plannedTrials(settings({ searcher: 'random', maxTrials: 100 }))).toBe(48);
    // Bayesian optimization: maxTrials capped by the space too.
    expect(plannedTrials(settings({ searcher: 'bayesian', maxTrials: 10 }))).toBe(10);
    expect(plannedTrials(settings({ searcher: 'bayesian', maxTrials: 100 }))).toBe(48);
    // Keras Tuner, max_epochs=10, factor=3: 12 + 4 + 2, 6 + 2, 4 trials.
    expect(plannedTrials(settings({ searcher: 'hyperband', maxEpochs: 10, factor: 3 }))).toBe(30);
    // The software adapter's default, maxEpochs 3: 3 → 1, then 2.
    expect(plannedTrials(settings({ searcher: 'hyperband', maxEpochs: 3, factor: 3 }))).toBe(6);
  });

  it('builds the trial’s 784-units-10 model with its values, seeded', async () => {
    const cfg = settings({ space: { ...COURSE, extras: true } });
    const values = { units: 64, learning_rate: 1e-3, dropout: 0.2, batch_norm: false };
    const hp = new HyperParameters(undefined, values);
    const model = buildTrialModel(hp, cfg);
    expect(hp.values).toEqual(values);
    const shapes = (await model.getWeights()).map((w) => w.shape);
    expect(shapes).toEqual([[784, 64], [64], [64, 10], [10]]);
    // The same seed gives the same initial weights: trials of one width start alike.
    const again = buildTrialModel(new HyperParameters(undefined, { ...values, learning_rate: 1e-2 }), cfg);
    const [a, b] = [await model.getWeights(), await again.getWeights()];
    expect(b.map((w) => Array.from(w.data))).toEqual(a.map((w) => Array.from(w.data)));
  });

  it('writes values as the course does', () => {
    expect([0.01, 0.001, 0.0003, 1e-6, 0.2, 0.5, 32, true, false].map(formatHp)).toEqual([
      '1e-2',
      '1e-3',
      '3e-4',
      '1e-6',
      '0.2',
      '0.5',
      '32',
      'yes',
      'no',
    ]);
    expect(describeConfig({ units: 48, learning_rate: 0.01 })).toBe('784-48-10 relu, Adam 1e-2');
    expect(describeConfig({ units: 48, learning_rate: 0.001, dropout: 0.2, batch_norm: true })).toBe(
      '784-48-10 relu +BN dropout 0.2, Adam 1e-3',
    );
  });

  it('starts Bayesian optimization with Keras Tuner’s 3 × the hyperparameters random trials unless told', () => {
    expect(initialPointsOf(settings({ searcher: 'bayesian' }))).toBe(3 * 2);
    expect(initialPointsOf(settings({ searcher: 'bayesian', space: { ...COURSE, extras: true } }))).toBe(
      3 * 4,
    );
    expect(initialPointsOf(settings({ searcher: 'bayesian', initialPoints: 2 }))).toBe(2);
  });

  it('reads the cross-validated grid: the units list, the tuner form’s units range, scikit-learn’s line', () => {
    expect(parseUnits('16, 64')).toEqual([16, 64]);
    expect(parseUnits(' 8;32 128 ')).toEqual([8, 32, 128]);
    expect(() => parseUnits('')).toThrow(/units/);
    expect(() => parseUnits('16, 2.5')).toThrow(/"2\.5"/);
    expect(() => parseUnits('0')).toThrow(/"0"/);
    expect(() => parseUnits('16, 16')).toThrow(/16 is listed twice/);
    // hp.int(32, 512, step 32): 16 values; the software adapter's 16..64 step 16: 4.
    expect(unitsValues(COURSE)).toEqual(Array.from({ length: 16 }, (_, i) => 32 * (i + 1)));
    expect(unitsValues({ ...COURSE, unitsMin: 16, unitsMax: 70, unitsStep: 16 })).toEqual([16, 32, 48, 64]);
    expect(fittingLine(5, 2)).toBe('Fitting 5 folds for each of 2 candidates, totalling 10 fits');
    const d = cvDefaults(true);
    expect([parseUnits(d.units).length, parseRates(d.rates).length, Number(d.folds), Number(d.rows)]).toEqual(
      [2, 2, 3, 1000],
    );
  });

  it('turns cv_results_ columns into one row per candidate', () => {
    const results = {
      params: [
        { learning_rate: 0.01, units: 16 },
        { learning_rate: 0.001, units: 16 },
      ],
      mean_test_score: Float64Array.of(0.75, 0.5),
      std_test_score: Float64Array.of(0.05, 0),
      rank_test_score: Int32Array.of(1, 2),
      mean_fit_time: Float64Array.of(1.5, 2),
      split0_test_score: Float64Array.of(0.7, 0.5),
      split1_test_score: Float64Array.of(0.8, 0.5),
    };
    expect(cvRows(results, 2)).toEqual([
      { params: results.params[0], splits: [0.7, 0.8], mean: 0.75, std: 0.05, rank: 1, meanFitTime: 1.5 },
      { params: results.params[1], splits: [0.5, 0.5], mean: 0.5, std: 0, rank: 2, meanFitTime: 2 },
    ]);
    expect(() => cvRows(results, 3)).toThrow(/split2_test_score/);
  });

  it("draws each trial's objective per epoch, a continuation from its parent's epochs, the best in front", () => {
    const trial = (id: number, initialEpoch: number, val: number[], lr: number): Trial => ({
      id,
      hyperparameters: { units: 32, learning_rate: lr },
      status: val.length ? 'completed' : 'failed',
      score: val.length ? Math.max(...val) : undefined,
      bestEpoch: undefined,
      epochs: val.length,
      initialEpoch,
      history: val.length ? { val_accuracy: val, loss: val.map((v) => 1 - v) } : {},
      seconds: 1,
    });
    const a = trial(0, 0, [0.5, 0.7], 1e-2);
    const b = trial(1, 2, [0.8, 0.9], 1e-3); // a Hyperband continuation of a
    const failed = trial(2, 0, [], 1e-2);
    const curves = trialCurves(
      [a, b, failed],
      (t) => (t.hyperparameters.learning_rate === 1e-2 ? 'red' : 'blue'),
      b,
    );
    expect(curves.map((c) => [c.label, c.color, c.faded, c.points])).toEqual([
      [
        'trial 0: 784-32-10 relu, Adam 1e-2',
        'red',
        true,
        [
          { x: 1, y: 0.5 },
          { x: 2, y: 0.7 },
        ],
      ],
      [
        'trial 1: 784-32-10 relu, Adam 1e-3',
        'blue',
        false,
        [
          { x: 3, y: 0.8 },
          { x: 4, y: 0.9 },
        ],
      ],
    ]);
    // While the search runs (no best yet) none is faded.
    expect(trialCurves([a, b], () => 'red').map((c) => c.faded)).toEqual([false, false]);
  });
});
