/**
 * Initializers against Keras 3's formulas: sample statistics of 10^6 draws (fixed seeds, so
 * deterministic) against the closed-form mean, variance, bounds and tail mass, and the
 * truncated normal's 0.8796… constant against its closed form (erf by its power series).
 *
 * Tolerances: a mean within 4 standard errors (σ/√n); a variance within 1% (its relative
 * standard error is √((κ − 1)/n) ≈ 0.1% for these kurtoses κ ≤ 3 at n = 10^6); a tail mass
 * within 0.002 (binomial standard error ≤ 0.0005).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { computeFans, initializers, resolveInitializer, type Initializer } from './initializers.js';
import { sampleStats } from '../../kernels-test/harness.js';

/** erf by its Maclaurin series (converges fast for |x| ≤ 2). */
function erf(x: number): number {
  let sum = 0;
  let term = x; // (−1)^n x^(2n+1) / n!
  for (let n = 0; n < 60; n++) {
    sum += term / (2 * n + 1);
    term *= (-x * x) / (n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

/** Variance of N(0, 1) conditioned on |z| ≤ 2: 1 − 2·2·φ(2) / (Φ(2) − Φ(−2)). */
const TRUNC_VAR = 1 - (4 * Math.exp(-2)) / Math.sqrt(2 * Math.PI) / erf(Math.SQRT2);

interface Stats {
  n: number;
  mean: number;
  variance: number;
  min: number;
  max: number;
}

function stats(v: Float32Array): Stats {
  return sampleStats(v);
}

function fraction(v: Float32Array, pred: (x: number) => boolean): number {
  let c = 0;
  for (const x of v) if (pred(x)) c++;
  return c / v.length;
}

/** Checks mean ≈ `mean` (4 standard errors) and variance ≈ `variance` (1%). */
function expectMoments(s: Stats, mean: number, variance: number, what: string): void {
  expect(Math.abs(s.mean - mean), `${what}: mean ${s.mean}`).toBeLessThan(
    (4 * Math.sqrt(variance)) / Math.sqrt(s.n),
  );
  expect(Math.abs(s.variance / variance - 1), `${what}: variance ${s.variance} vs ${variance}`).toBeLessThan(
    0.01,
  );
}

// A non-square kernel tells fan_in, fan_out and fan_avg apart: 10^6 values.
const FAN_IN = 400;
const FAN_OUT = 2500;
const SHAPE = [FAN_IN, FAN_OUT];

describe('computeFans (Keras compute_fans)', () => {
  it('scalars, vectors, kernels and convolution kernels', () => {
    expect(computeFans([])).toEqual([1, 1]);
    expect(computeFans([7])).toEqual([7, 7]);
    expect(computeFans([3, 5])).toEqual([3, 5]);
    // [kh, kw, in, out] = [2, 3, 4, 5]: receptive field 6 → 24, 30.
    expect(computeFans([2, 3, 4, 5])).toEqual([24, 30]);
    expect(() => computeFans([2, -1])).toThrow(RangeError);
  });
});

describe('variance-scaling initializers', () => {
  const uniform: [string, Initializer, number][] = [
    ['glorotUniform', initializers.glorotUniform(), Math.sqrt(6 / (FAN_IN + FAN_OUT))],
    ['heUniform', initializers.heUniform(), Math.sqrt(6 / FAN_IN)],
    ['lecunUniform', initializers.lecunUniform(), Math.sqrt(3 / FAN_IN)],
  ];
  for (const [name, init, limit] of uniform) {
    it(`${name}: U[−limit, limit], limit = ${limit.toFixed(5)}`, () => {
      const v = init.init(SHAPE, 11);
      expect(v.length).toBe(FAN_IN * FAN_OUT);
      const s = stats(v);
      expect(s.min).toBeGreaterThanOrEqual(-Math.fround(limit));
      expect(s.max).toBeLessThanOrEqual(Math.fround(limit));
      // 10^6 uniform draws come within 10^-4·limit of both ends.
      expect(s.min).toBeLessThan(-0.9999 * limit);
      expect(s.max).toBeGreaterThan(0.9999 * limit);
      expectMoments(s, 0, (limit * limit) / 3, name);
    });
  }

  const normal: [string, Initializer, number][] = [
    ['glorotNormal', initializers.glorotNormal(), 2 / (FAN_IN + FAN_OUT)],
    ['heNormal', initializers.heNormal(), 2 / FAN_IN],
    ['lecunNormal', initializers.lecunNormal(), 1 / FAN_IN],
  ];
  for (const [name, init, variance] of normal) {
    it(`${name}: truncated normal with variance ${variance.toExponential(3)} after truncation`, () => {
      const stddev = Math.sqrt(variance) / 0.87962566103423978; // before truncation
      const s = stats(init.init(SHAPE, 12));
      const bound = Math.fround(2 * stddev);
      expect(s.min).toBeGreaterThanOrEqual(-bound);
      expect(s.max).toBeLessThanOrEqual(bound);
      expect(s.max).toBeGreaterThan(0.999 * bound);
      expectMoments(s, 0, variance, name);
    });
  }

  it("Keras's 0.87962566103423978 is the standard deviation of N(0, 1) truncated to [−2, 2]", () => {
    expect(Math.sqrt(TRUNC_VAR)).toBeCloseTo(0.87962566103423978, 14);
  });

  it('VarianceScaling: modes, untruncated normal, and tfjs / Keras 2 spellings', () => {
    const fanOut = initializers.varianceScaling({ scale: 3, mode: 'fan_out', distribution: 'uniform' });
    expectMoments(stats(fanOut.init(SHAPE, 1)), 0, 3 / FAN_OUT, 'fan_out uniform');
    const untruncated = initializers.varianceScaling({
      scale: 2,
      mode: 'fanIn',
      distribution: 'untruncated_normal',
    });
    const v = untruncated.init(SHAPE, 2);
    expectMoments(stats(v), 0, 2 / FAN_IN, 'untruncated');
    // P(|z| > 2) = 1 − erf(√2) ≈ 0.0455 for a normal that is not truncated.
    const sd = Math.sqrt(2 / FAN_IN);
    expect(Math.abs(fraction(v, (x) => Math.abs(x) > 2 * sd) - (1 - erf(Math.SQRT2)))).toBeLessThan(0.002);
    // Keras default: scale 1, fan_in, truncated normal; 'normal' is Keras 2's name for it.
    expect(initializers.varianceScaling().config).toEqual({
      scale: 1,
      mode: 'fan_in',
      distribution: 'truncated_normal',
      seed: null,
    });
    const legacy = resolveInitializer({ className: 'VarianceScaling', config: { distribution: 'normal' } });
    expect(legacy.config.distribution).toBe('truncated_normal');
    expect(legacy.init([30, 40], 5)).toEqual(initializers.varianceScaling().init([30, 40], 5));
  });

  it("tfjs's serialized glorotUniform (VarianceScaling fanAvg uniform) draws what glorotUniform draws", () => {
    const tfjs = resolveInitializer({
      className: 'VarianceScaling',
      config: { scale: 1, mode: 'fanAvg', distribution: 'uniform', seed: null },
    });
    expect(tfjs.init([20, 30], 9)).toEqual(initializers.glorotUniform().init([20, 30], 9));
    // A GlorotUniform config written by tfjs carries the VarianceScaling keys: accepted.
    const written = resolveInitializer({
      className: 'GlorotUniform',
      config: { scale: 1, mode: 'fan_avg', distribution: 'uniform', seed: 3 },
    });
    expect(written.init([20, 30], 0)).toEqual(initializers.glorotUniform({ seed: 3 }).init([20, 30], 0));
  });

  it('1-D shapes use fan_in = fan_out = length; empty shapes give empty arrays', () => {
    // glorot on [5000]: limit √(6/10000); fans (5000, 1) would give a limit √2 wider.
    const limit = Math.sqrt(6 / 10000);
    const s = stats(initializers.glorotUniform().init([5000], 3));
    expect(Math.max(-s.min, s.max)).toBeLessThanOrEqual(Math.fround(limit));
    expect(Math.max(-s.min, s.max)).toBeGreaterThan(0.99 * limit);
    expect(initializers.heUniform().init([0, 7], 1)).toEqual(new Float32Array(0));
  });
});

describe('random and constant initializers', () => {
  it('randomUniform: Keras default [−0.05, 0.05) and the course’s [−0.5, 0.5)', () => {
    const d = initializers.randomUniform();
    expect(d.name).toBe('RandomUniform');
    expect(d.config).toEqual({ minval: -0.05, maxval: 0.05, seed: null });
    const sd = stats(d.init(SHAPE, 4));
    expect(sd.min).toBeGreaterThanOrEqual(Math.fround(-0.05));
    expect(sd.max).toBeLessThanOrEqual(Math.fround(0.05));
    expectMoments(sd, 0, 0.01 / 12, 'randomUniform default');

    for (const course of [
      initializers.randomUniform({ minval: -0.5, maxval: 0.5 }),
      resolveInitializer({ className: 'RandomUniform', config: { minval: -0.5, maxval: 0.5 } }),
    ]) {
      expect(course.config).toEqual({ minval: -0.5, maxval: 0.5, seed: null });
      const s = stats(course.init(SHAPE, 5));
      expect(s.min).toBeGreaterThanOrEqual(-0.5);
      expect(s.max).toBeLessThanOrEqual(0.5);
      expect(s.min).toBeLessThan(-0.4999);
      expect(s.max).toBeGreaterThan(0.4999);
      expectMoments(s, 0, 1 / 12, 'randomUniform(-0.5, 0.5)');
    }
    // An asymmetric range: mean (a + b)/2, variance (b − a)²/12.
    expectMoments(
      stats(initializers.randomUniform({ minval: 1, maxval: 4 }).init(SHAPE, 6)),
      2.5,
      9 / 12,
      'U[1, 4)',
    );
  });

  it('randomNormal: N(0, 0.05²) by default, with its 4.55% beyond 2σ', () => {
    const init = resolveInitializer('random_normal');
    expect(init.config).toEqual({ mean: 0, stddev: 0.05, seed: null });
    const v = init.init(SHAPE, 7);
    expectMoments(stats(v), 0, 0.0025, 'randomNormal');
    expect(Math.abs(fraction(v, (x) => Math.abs(x) > 0.1) - (1 - erf(Math.SQRT2)))).toBeLessThan(0.002);
    expectMoments(
      stats(initializers.randomNormal({ mean: -3, stddev: 2 }).init(SHAPE, 8)),
      -3,
      4,
      'N(-3, 4)',
    );
  });

  it('truncatedNormal: draws beyond 2σ redrawn; variance σ²·0.7737; P(|z| ≤ 1) = erf(1/√2)/erf(√2)', () => {
    const init = initializers.truncatedNormal({ mean: 1, stddev: 0.5 });
    expect(init.config).toEqual({ mean: 1, stddev: 0.5, seed: null });
    const v = init.init(SHAPE, 9);
    const s = stats(v);
    expect(s.min).toBeGreaterThanOrEqual(0);
    expect(s.max).toBeLessThanOrEqual(2);
    expect(s.max).toBeGreaterThan(1.999);
    expectMoments(s, 1, 0.25 * TRUNC_VAR, 'truncatedNormal');
    const within1 = erf(Math.SQRT1_2) / erf(Math.SQRT2);
    expect(Math.abs(fraction(v, (x) => Math.abs(x - 1) <= 0.5) - within1)).toBeLessThan(0.002);
    expect(resolveInitializer('truncatedNormal').config).toEqual({ mean: 0, stddev: 0.05, seed: null });
  });

  it('zeros, ones, constant', () => {
    expect(resolveInitializer('zeros').init([2, 3], 0)).toEqual(new Float32Array(6));
    expect(resolveInitializer('Ones').init([4], 0)).toEqual(new Float32Array([1, 1, 1, 1]));
    const c = initializers.constant({ value: 0.25 });
    expect(c.name).toBe('Constant');
    expect(c.config).toEqual({ value: 0.25 });
    expect(c.init([3], 0)).toEqual(new Float32Array([0.25, 0.25, 0.25]));
    expect(resolveInitializer('constant').init([2], 0)).toEqual(new Float32Array(2)); // Keras default 0
    expect(resolveInitializer({ className: 'Constant', config: { value: -2 } }).init([1], 0)).toEqual(
      new Float32Array([-2]),
    );
    expect(initializers.zeros().config).toEqual({});
  });
});

describe('seeds', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('the same seed gives the same values, another seed others; Math.random is never used', () => {
    const random = vi.spyOn(Math, 'random');
    for (const name of [
      'glorotUniform',
      'glorotNormal',
      'randomNormal',
      'randomUniform',
      'truncatedNormal',
    ]) {
      const init = resolveInitializer(name);
      const a = init.init([50, 40], 123);
      const b = resolveInitializer(name).init([50, 40], 123);
      const c = init.init([50, 40], 124);
      expect(a, name).toEqual(b);
      expect(
        fraction(
          a.map((x, i) => (x === c[i] ? 1 : 0)),
          (x) => x === 1,
        ),
        name,
      ).toBeLessThan(0.01);
    }
    // The high half of a seed counts: 1 and 2^32 + 1 differ.
    const g = initializers.glorotUniform();
    expect(g.init([10], 1)).not.toEqual(g.init([10], 2 ** 32 + 1));
    expect(random).not.toHaveBeenCalled();
  });

  it('a seed in the config wins over the caller’s and repeats on every call (Keras 3)', () => {
    const seeded = initializers.heNormal({ seed: 42 });
    expect(seeded.config).toEqual({ scale: 2, mode: 'fan_in', distribution: 'truncated_normal', seed: 42 });
    expect(seeded.init([8, 8], 1)).toEqual(seeded.init([8, 8], 2));
    expect(seeded.init([8, 8], 1)).toEqual(initializers.heNormal().init([8, 8], 42));
    expect(resolveInitializer({ className: 'HeNormal', config: { seed: 42 } }).init([8, 8], 0)).toEqual(
      seeded.init([8, 8], 0),
    );
  });

  it('rejects seeds that are not integers', () => {
    expect(() => initializers.glorotUniform({ seed: 1.5 })).toThrow(
      /seed must be an integer or null, got 1.5/,
    );
    expect(() => initializers.glorotUniform().init([2, 2], Number.NaN)).toThrow(/seed must be an integer/);
  });
});

describe('names and errors', () => {
  it('snake_case, camelCase, Keras and tfjs class names', () => {
    const cases: [string, string][] = [
      ['glorot_uniform', 'GlorotUniform'],
      ['glorotUniform', 'GlorotUniform'],
      ['GlorotUniform', 'GlorotUniform'],
      ['glorot_normal', 'GlorotNormal'],
      ['he_uniform', 'HeUniform'],
      ['heNormal', 'HeNormal'],
      ['lecun_uniform', 'LecunUniform'],
      ['leCunNormal', 'LecunNormal'],
      ['LeCunUniform', 'LecunUniform'],
      ['random_uniform', 'RandomUniform'],
      ['uniform', 'RandomUniform'],
      ['randomNormal', 'RandomNormal'],
      ['normal', 'RandomNormal'],
      ['truncated_normal', 'TruncatedNormal'],
      ['variance_scaling', 'VarianceScaling'],
      ['zeros', 'Zeros'],
      ['ones', 'Ones'],
      ['constant', 'Constant'],
    ];
    for (const [given, className] of cases) expect(resolveInitializer(given).name, given).toBe(className);
    expect(initializers.heUniform().config).toEqual({
      scale: 2,
      mode: 'fan_in',
      distribution: 'uniform',
      seed: null,
    });
    expect(initializers.glorotUniform().config).toEqual({
      scale: 1,
      mode: 'fan_avg',
      distribution: 'uniform',
      seed: null,
    });
    expect(initializers.lecunNormal().config).toEqual({
      scale: 1,
      mode: 'fan_in',
      distribution: 'truncated_normal',
      seed: null,
    });
    const custom: Initializer = {
      name: 'Mine',
      config: {},
      init: (shape) => new Float32Array(shape[0] ?? 0).fill(7),
    };
    expect(resolveInitializer(custom)).toBe(custom);
  });

  it('suggests the closest name; rejects bad configs clearly', () => {
    expect(() => resolveInitializer('glorot_unifrom')).toThrow(
      /^unknown initializer 'glorot_unifrom'; did you mean 'glorot_uniform'\? Valid: zeros, ones, /,
    );
    expect(() => resolveInitializer('heUnifrom')).toThrow(/did you mean 'heUniform'\?/);
    expect(() => resolveInitializer('orthogonal')).toThrow(/^initializer 'orthogonal' is not supported yet/);
    expect(() => resolveInitializer({ className: 'RandomUniform', config: { minVal: -1 } })).toThrow(
      /RandomUniform: unknown config key 'minVal'; valid: minval, maxval, seed/,
    );
    expect(() => initializers.randomUniform({ minval: 1, maxval: 0 })).toThrow(/minval 1 must be ≤ maxval 0/);
    expect(() => initializers.randomNormal({ stddev: -1 })).toThrow(/stddev must be ≥ 0/);
    expect(() => initializers.constant({ value: Number.NaN })).toThrow(/value must be a finite number/);
    expect(() => initializers.varianceScaling({ scale: 0 })).toThrow(/scale must be > 0/);
    expect(() => initializers.varianceScaling({ mode: 'fan_sum' })).toThrow(
      /mode must be one of fan_in, fan_out, fan_avg, got fan_sum/,
    );
    expect(() => initializers.varianceScaling({ distribution: 'cauchy' })).toThrow(
      /distribution must be one of/,
    );
    expect(() => resolveInitializer(42 as unknown as string)).toThrow(TypeError);
  });
});
