/**
 * The parts of tuning that need no GPU: the `hp` search space (values, defaults, errors),
 * random draws, objective directions, and Hyperband's bracket schedule against Keras Tuner's
 * formulas and the Hyperband paper's table.
 */
import { describe, expect, it } from 'vitest';
import { createRng } from '../util/random.js';
import {
  defaultValue,
  gridOf,
  HyperParameterError,
  HyperParameters,
  sampleValue,
  SearchSpace,
  valuesOf,
  type HpDefinition,
} from './hyperparameters.js';
import { bestEpoch, inferDirection, resolveObjective } from './objective.js';
import { hyperbandBrackets, hyperbandSchedule, scheduleTotals } from './schedule.js';
import { gridSearch } from './searchers.js';

describe('hp search space', () => {
  it('records definitions in order and returns the defaults while discovering', () => {
    const hp = new HyperParameters();
    expect(hp.int('units', 32, 512, { step: 32 })).toBe(32);
    expect(hp.choice('learning_rate', [1e-2, 1e-3, 1e-4])).toBe(1e-2);
    expect(hp.float('dropout', 0.1, 0.5, { step: 0.1 })).toBe(0.1);
    expect(hp.boolean('bn')).toBe(false);
    expect(hp.fixed('batch', 64)).toBe(64);
    expect(hp.space.definitions.map((d) => d.name)).toEqual([
      'units',
      'learning_rate',
      'dropout',
      'bn',
      'batch',
    ]);
    expect(hp.values).toEqual({ units: 32, learning_rate: 0.01, dropout: 0.1, bn: false, batch: 64 });
    // Asking again with the same definition is fine and gives the same value.
    expect(hp.int('units', 32, 512, 32)).toBe(32);
    expect(hp.space.describe()).toBe('units: 16 × learning_rate: 3 × dropout: 5 × bn: 2 × batch: 1');
    expect(hp.space.size()).toBe(16 * 3 * 5 * 2);
  });

  it('returns the trial values given, and defaults for names the trial lacks', () => {
    const space = new SearchSpace();
    const seen: string[] = [];
    const hp = new HyperParameters(space, { units: 96 }, (d) => seen.push(d.name));
    expect(hp.int('units', 32, 512, 32)).toBe(96);
    expect(hp.choice('act', ['relu', 'tanh'])).toBe('relu');
    expect(seen).toEqual(['units', 'act']);
    expect(hp.get('act')).toBe('relu');
    expect(() => hp.get('nope')).toThrow(/'nope' has not been defined/);
  });

  it('lists values: linear steps, log factors, every integer, floats only with a step', () => {
    const def = (d: Partial<HpDefinition> & { kind: HpDefinition['kind'] }) =>
      ({ name: 'x', sampling: 'linear', ...d }) as HpDefinition;
    expect(valuesOf(def({ kind: 'int', min: 32, max: 512, step: 32 }))).toHaveLength(16);
    expect(valuesOf(def({ kind: 'int', min: 1, max: 10, step: 4 }))).toEqual([1, 5, 9]);
    expect(valuesOf(def({ kind: 'int', min: 3, max: 6 }))).toEqual([3, 4, 5, 6]);
    expect(valuesOf(def({ kind: 'int', min: 2, max: 64, step: 2, sampling: 'log' }))).toEqual([
      2, 4, 8, 16, 32, 64,
    ]);
    // 0.1 + 0.1 + 0.1 is 0.30000000000000004 in floats: listed as 0.3, and 0.5 is kept.
    expect(valuesOf(def({ kind: 'float', min: 0.1, max: 0.5, step: 0.1 }))).toEqual([
      0.1, 0.2, 0.3, 0.4, 0.5,
    ]);
    expect(valuesOf(def({ kind: 'float', min: 1e-4, max: 1e-1, step: 10, sampling: 'log' }))).toEqual([
      1e-4, 1e-3, 1e-2, 1e-1,
    ]);
    expect(valuesOf(def({ kind: 'float', min: 0, max: 1 }))).toBeUndefined();
    expect(valuesOf({ kind: 'boolean', name: 'b' })).toEqual([false, true]);
    expect(defaultValue({ kind: 'choice', name: 'c', values: ['a', 'b'] })).toBe('a');
  });

  it('counts and samples a large integer range without listing it', () => {
    // A seed or a batch count as a hyperparameter: ten million values, more than a grid lists.
    const hp = new HyperParameters();
    hp.int('seed', 0, 10_000_000);
    hp.int('batch', 16, 4096, { step: 16 });
    expect(hp.space.size()).toBe(10_000_001 * 256);
    expect(hp.space.describe()).toBe('seed: 10000001 × batch: 256');
    expect(() => gridOf(hp.space)).toThrow(/'seed' has 10000001 values; at most 1000000/);
    const rng = createRng(3);
    const seeds = Array.from({ length: 200 }, () => sampleValue(hp.space.get('seed') as HpDefinition, rng));
    for (const v of seeds)
      expect(Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 1e7).toBe(true);
    // 200 uniform draws of 10^7 + 1 values: a repeat has probability ≈ 200² / 2e7 = 0.002.
    expect(new Set(seeds).size).toBe(200);
    const batch = sampleValue(hp.space.get('batch') as HpDefinition, rng) as number;
    expect(batch % 16 === 0 && batch >= 16 && batch <= 4096).toBe(true);
  });

  it('lists an int with a log factor below 2 without repeats; a number is a float step', () => {
    const d: HpDefinition = { kind: 'int', name: 'u', min: 1, max: 10, step: 1.5, sampling: 'log' };
    // 1, 1.5, 2.25, 3.375, 5.06, 7.59 rounded: 1, 2, 2, 3, 5, 8.
    expect(valuesOf(d)).toEqual([1, 2, 3, 5, 8]);
    const hp = new HyperParameters();
    hp.float('dropout', 0, 0.5, 0.1);
    expect(hp.space.describe()).toBe('dropout: 6');
  });

  it('values holds what the build asked for; sameAs tells configurations that build the same model', () => {
    const space = new SearchSpace();
    // Discovery: kind 'linear' reads no units.
    const build = (hp: HyperParameters) => {
      if (hp.choice('kind', ['linear', 'mlp']) === 'mlp') hp.int('units', 4, 8, 4);
      hp.fixed('epochs', 3);
    };
    build(new HyperParameters(space));
    const given = new HyperParameters(space, { kind: 'linear', units: 8, epochs: 9 });
    build(given);
    expect(given.values).toEqual({ kind: 'linear', epochs: 3 });
    expect(() => given.get('units')).toThrow(/'units' has not been defined/);
    const mlp = new HyperParameters(space, { kind: 'mlp' });
    build(mlp);
    expect(mlp.values).toEqual({ kind: 'mlp', units: 4, epochs: 3 });
    expect(space.sameAs(given.values, { kind: 'linear', units: 4 })).toBe(true);
    expect(space.sameAs(given.values, { kind: 'mlp' })).toBe(false);
    // A missing name takes its default (units 4); a fixed one is read whatever is given.
    expect(space.sameAs(mlp.values, { kind: 'mlp', epochs: 1 })).toBe(true);
    expect(space.sameAs(mlp.values, { kind: 'mlp', units: 8 })).toBe(false);
  });

  it('rejects bad definitions with the name and the problem', () => {
    const hp = new HyperParameters();
    const err = (f: () => unknown) => expect(f).toThrow(HyperParameterError);
    expect(() => hp.int('u', 10, 2)).toThrow(/hp\.int\('u'\): min 10 > max 2/);
    expect(() => hp.int('u', 1, 10, 0)).toThrow(/step 0 must be > 0/);
    expect(() => hp.int('u', 1, 10, -2)).toThrow(/step -2 must be > 0/);
    expect(() => hp.int('u', 1.5, 10)).toThrow(/min 1.5 must be an integer/);
    expect(() => hp.float('lr', 0, 1, { log: true })).toThrow(/log sampling needs min > 0, got 0/);
    expect(() => hp.float('lr', 1e-4, 1, { sampling: 'log', step: 1 })).toThrow(/factor and must be > 1/);
    expect(() => hp.float('lr', 1e-4, 1, { log: false, sampling: 'log' })).toThrow(/contradicts/);
    expect(() => hp.choice('c', [])).toThrow(/non-empty list/);
    expect(() => hp.choice('c', [1, 2, 1])).toThrow(/1 is listed twice/);
    expect(() => hp.choice('c', [NaN])).toThrow(/not a finite number/);
    err(() => hp.int('', 1, 2));
    hp.int('units', 1, 8);
    expect(() => hp.int('units', 1, 16)).toThrow(/'units' is defined twice: int\(1, 8\), then int\(1, 16\)/);
    expect(() => hp.choice('units', [1, 2])).toThrow(/defined twice/);
  });

  it('a grid is the product of the value lists, last name fastest; a float without step is refused', () => {
    const hp = new HyperParameters();
    hp.int('units', 4, 16, 4);
    hp.choice('lr', [0.1, 0.01]);
    hp.boolean('bn');
    const grid = gridOf(hp.space);
    expect(grid).toHaveLength(4 * 2 * 2); // units 4, 8, 12, 16
    expect(grid.slice(0, 3)).toEqual([
      { units: 4, lr: 0.1, bn: false },
      { units: 4, lr: 0.1, bn: true },
      { units: 4, lr: 0.01, bn: false },
    ]);
    expect(new Set(grid.map((v) => JSON.stringify(v))).size).toBe(16);
    hp.float('dropout', 0, 0.5);
    expect(() => gridOf(hp.space)).toThrow(/'dropout' is a float without step/);
  });

  it('draws uniformly over listed values and log-uniformly for log floats', () => {
    const rng = createRng(7);
    const log: HpDefinition = { kind: 'float', name: 'lr', min: 1e-4, max: 1e-1, sampling: 'log' };
    const lin: HpDefinition = { kind: 'float', name: 'p', min: 1e-4, max: 1e-1, sampling: 'linear' };
    const n = 4000;
    const below = (d: HpDefinition) => {
      let k = 0;
      let outside = 0;
      for (let i = 0; i < n; i++) {
        const v = sampleValue(d, rng) as number;
        if (v < 1e-4 || v > 1e-1) outside++;
        if (v < 10 ** -2.5) k++;
      }
      expect(outside).toBe(0);
      return k / n;
    };
    // 10^-2.5 is the middle of [1e-4, 1e-1] in log scale; uniformly, only (10^-2.5 − 1e-4)/0.0999 ≈ 0.0307 lies below it.
    expect(below(log)).toBeCloseTo(0.5, 1);
    expect(below(lin)).toBeCloseTo(0.0307, 1);
    const c: HpDefinition = { kind: 'choice', name: 'c', values: ['a', 'b', 'c'] };
    const counts = new Map<string, number>();
    for (let i = 0; i < 3000; i++) {
      const v = sampleValue(c, rng) as string;
      counts.set(v, (counts.get(v) ?? 0) + 1);
    }
    // Each count is Binomial(3000, 1/3): σ = √(3000 · 1/3 · 2/3) ≈ 25.8, so ±100 is ±3.9σ.
    for (const k of ['a', 'b', 'c']) expect(Math.abs((counts.get(k) ?? 0) - 1000)).toBeLessThan(100);
  });
});

describe('objective', () => {
  it("infers Keras Tuner's directions", () => {
    expect(inferDirection('val_loss')).toBe('min');
    expect(inferDirection('loss')).toBe('min');
    expect(inferDirection('val_accuracy')).toBe('max');
    expect(inferDirection('acc')).toBe('max');
    expect(inferDirection('val_sparse_categorical_accuracy')).toBe('max');
    expect(inferDirection('val_auc')).toBe('max');
    expect(inferDirection('precision')).toBe('max');
    expect(inferDirection('val_f1_score')).toBe('max');
    expect(inferDirection('val_mae')).toBe('min');
    expect(inferDirection('mean_squared_error')).toBe('min');
    expect(inferDirection('val_out_a_loss')).toBe('min');
    expect(inferDirection('val_out_a_accuracy')).toBe('max');
    expect(inferDirection('throughput')).toBeUndefined();
    expect(() => resolveObjective('throughput')).toThrow(/direction: "min" \| "max"/);
    // A missing objective (JavaScript callers) is named, not a TypeError about reading 'name'.
    expect(() => resolveObjective(undefined as unknown as string)).toThrow(
      /objective: give a log name such as "val_accuracy" or \{ name, direction \}, got undefined/,
    );
    const build = () => {
      throw new Error('not built');
    };
    expect(() => gridSearch(build, undefined as never)).toThrow(/second argument must be the options/);
    expect(() => gridSearch(build, {} as never)).toThrow(/objective: give a log name/);
    expect(resolveObjective({ name: 'throughput', direction: 'max' })).toEqual({
      name: 'throughput',
      direction: 'max',
    });
  });

  it('scores a trial by its best epoch, skipping NaN (nanmax / nanmin)', () => {
    const max = resolveObjective('val_accuracy');
    expect(bestEpoch(max, [0.5, NaN, 0.9, 0.8], [0, 1, 2, 3])).toEqual({ score: 0.9, epoch: 2 });
    const min = resolveObjective('val_loss');
    expect(bestEpoch(min, [0.5, 0.3, 0.3, 0.4], [4, 5, 6, 7])).toEqual({ score: 0.3, epoch: 5 });
    expect(bestEpoch(min, [NaN], [0])).toBeUndefined();
  });
});

describe('hyperband schedule', () => {
  it("maxEpochs 10, factor 3: Keras Tuner's three brackets", () => {
    // _get_num_brackets: 10 → 3.33 → 1.11 → 0.37: 3 brackets (s = 2, 1, 0).
    // bracket0_end_size = ceil(1 + log3(10)) = ceil(3.096) = 4; bracket s: endSize = 4 / (s + 1).
    // s = 2: sizes ceil(4/3 · 9) = 12, ceil(4/3 · 3) = 4, ceil(4/3) = 2; epochs ceil(10/9) = 2, ceil(10/3) = 4, 10.
    // s = 1: sizes ceil(2 · 3) = 6, 2; epochs 4, 10.   s = 0: size 4, epochs 10.
    expect(hyperbandBrackets(10, 3)).toBe(3);
    expect(hyperbandSchedule(10, 3)).toEqual([
      {
        bracket: 2,
        rounds: [
          { trials: 12, epochs: 2 },
          { trials: 4, epochs: 4 },
          { trials: 2, epochs: 10 },
        ],
      },
      {
        bracket: 1,
        rounds: [
          { trials: 6, epochs: 4 },
          { trials: 2, epochs: 10 },
        ],
      },
      { bracket: 0, rounds: [{ trials: 4, epochs: 10 }] },
    ]);
    // Epochs: 12·2 + 4·(4−2) + 2·(10−4) + 6·4 + 2·(10−4) + 4·10 = 24 + 8 + 12 + 24 + 12 + 40.
    expect(scheduleTotals(hyperbandSchedule(10, 3))).toEqual({ trials: 30, epochs: 120 });
  });

  it('maxEpochs 81, factor 3: the Hyperband paper (R = 81, η = 3) where Keras Tuner follows it', () => {
    const s = hyperbandSchedule(81, 3);
    // 81 / 3^k ≥ 1 for k = 0..4: 5 brackets; bracket0_end_size = 1 + log3(81) = 5.
    expect(s.map((b) => b.bracket)).toEqual([4, 3, 2, 1, 0]);
    // Keras Tuner's sizes ceil(5/(s+1) · 3^(s−r)) and epochs ceil(81 / 3^(s−r)):
    const expected = [
      [
        [81, 1],
        [27, 3],
        [9, 9],
        [3, 27],
        [1, 81],
      ], // s = 4: 5/5 · 81, 27, 9, 3, 1
      [
        [34, 3],
        [12, 9],
        [4, 27],
        [2, 81],
      ], // s = 3: ceil(1.25 · 27) = 34, ceil(11.25) = 12, ceil(3.75) = 4, ceil(1.25) = 2
      [
        [15, 9],
        [5, 27],
        [2, 81],
      ], // s = 2: 5/3 · 9 = 15, 5, ceil(1.67) = 2
      [
        [8, 27],
        [3, 81],
      ], // s = 1: ceil(2.5 · 3) = 8, ceil(2.5) = 3
      [[5, 81]], // s = 0
    ];
    expect(s.map((b) => b.rounds.map((r) => [r.trials, r.epochs]))).toEqual(expected);
    // The paper's Table 1 (Li et al. 2018): n_0 = 81, 34, 15, 8, 5 and r_i = 81 · 3^(i − s) in
    // every bracket; bracket s = 4 halves as n_i = 81, 27, 9, 3, 1. Later rounds of s = 3, 2, 1
    // keep floor(n_i/η) in the paper (11, 3, 1 / 5, 1 / 2), ceil(...) in Keras Tuner (12, 4, 2 / 5, 2 / 3).
    expect(s.map((b) => b.rounds[0]?.trials)).toEqual([81, 34, 15, 8, 5]);
    s.forEach((b) => b.rounds.forEach((r, i) => expect(r.epochs).toBe(81 * 3 ** (i - b.bracket))));
    expect(s[0]?.rounds.map((r) => r.trials)).toEqual([81, 27, 9, 3, 1]);
  });

  it('small and edge cases follow the same formulas', () => {
    // maxEpochs 1: one bracket of ceil(1 + 0) = 1 trial (random search at 1 epoch).
    expect(hyperbandSchedule(1, 3)).toEqual([{ bracket: 0, rounds: [{ trials: 1, epochs: 1 }] }]);
    // maxEpochs 4, factor 2 (used by the GPU test): 3 brackets, end size 1 + 2 = 3.
    expect(hyperbandSchedule(4, 2).map((b) => b.rounds.map((r) => [r.trials, r.epochs]))).toEqual([
      [
        [4, 1],
        [2, 2],
        [1, 4],
      ],
      [
        [3, 2],
        [2, 4],
      ],
      [[3, 4]],
    ]);
    // 27 = 3^3 exactly: JavaScript's Math.log(27) / Math.log(3) is 3.0000000000000004 (Python's
    // math.log(27, 3) is 3.0), so ceil(log) + 1 would give end size 5; ceil(1 + log) and the exact
    // log give 4. Python's math.log(125, 5) is 3.0000000000000004 too, and Keras Tuner's
    // ceil(1 + log) is still 4 (1 + it rounds to 4.0).
    expect(hyperbandSchedule(27, 3).at(-1)).toEqual({ bracket: 0, rounds: [{ trials: 4, epochs: 27 }] });
    expect(hyperbandSchedule(125, 5).at(-1)).toEqual({ bracket: 0, rounds: [{ trials: 4, epochs: 125 }] });
    // The stated difference: math.log(15625, 5) = 6.000000000000001, so Keras Tuner's end size is
    // ceil(7.000000000000001) = 8; the exact 1 + 6 gives 7.
    expect(hyperbandSchedule(15625, 5).at(-1)?.rounds).toEqual([{ trials: 7, epochs: 15625 }]);
    expect(() => hyperbandSchedule(0, 3)).toThrow(/maxEpochs 0/);
    expect(() => hyperbandSchedule(10, 1)).toThrow(/factor 1/);
  });
});
