/** Regularizers: Keras's penalty l1·Σ|w| + l2·Σw² against hand-computed sums; specs; errors. */
import { describe, expect, it } from 'vitest';
import { penalty, regularizers, resolveRegularizer } from './regularizers.js';

// w = [1, −2, 3, −0.5]: Σ|w| = 6.5, Σw² = 1 + 4 + 9 + 0.25 = 14.25.
const W = [1, -2, 3, -0.5];

describe('penalty', () => {
  it('l1, l2 and l1l2 against hand-computed values', () => {
    expect(penalty(regularizers.l1(0.01), W)).toBeCloseTo(0.065, 15);
    expect(penalty(regularizers.l2(0.001), W)).toBeCloseTo(0.01425, 15); // Keras l2(0.001): 0.001·w² each
    expect(penalty(regularizers.l1l2({ l1: 0.01, l2: 0.001 }), W)).toBeCloseTo(0.07925, 15);
    expect(penalty({ l1: 0, l2: 0 }, W)).toBe(0);
    expect(penalty(regularizers.l2(1), [])).toBe(0);
  });

  it('sums the f32 weights in float64', () => {
    // fround(0.1) = 0.100000001490116…; its square in float64, not rounded to f32.
    const w = new Float32Array([0.1, 0.1]);
    const x = Math.fround(0.1);
    expect(penalty({ l1: 0, l2: 1 }, w)).toBe(2 * x * x);
    expect(penalty({ l1: 1, l2: 0 }, w)).toBe(2 * x);
    // 10^6 × 0.1: f32 accumulation would drift by ~1e-2; float64 stays within 1e-9 relative.
    const many = new Float32Array(1_000_000).fill(0.1);
    expect(Math.abs(penalty({ l1: 1, l2: 0 }, many) / (1e6 * x) - 1)).toBeLessThan(1e-9);
  });

  it('a NaN weight gives NaN', () => {
    expect(penalty(regularizers.l2(0.01), [1, Number.NaN])).toBeNaN();
  });
});

describe('resolveRegularizer', () => {
  it('names use the Keras factor 0.01', () => {
    expect(resolveRegularizer('l1')).toEqual({ l1: 0.01, l2: 0, className: 'L1', config: { l1: 0.01 } });
    expect(resolveRegularizer('l2')).toEqual({ l1: 0, l2: 0.01, className: 'L2', config: { l2: 0.01 } });
    for (const name of ['l1_l2', 'l1l2', 'L1L2']) {
      expect(resolveRegularizer(name), name).toEqual({
        l1: 0.01,
        l2: 0.01,
        className: 'L1L2',
        config: { l1: 0.01, l2: 0.01 },
      });
    }
  });

  it('factor objects, serialized objects, regularizers, and none', () => {
    expect(resolveRegularizer({ l2: 1e-4 })).toEqual({
      l1: 0,
      l2: 1e-4,
      className: 'L2',
      config: { l2: 1e-4 },
    });
    expect(resolveRegularizer({ l1: 1e-3 })).toEqual({
      l1: 1e-3,
      l2: 0,
      className: 'L1',
      config: { l1: 1e-3 },
    });
    expect(resolveRegularizer({ l1: 1e-3, l2: 1e-4 })).toEqual({
      l1: 1e-3,
      l2: 1e-4,
      className: 'L1L2',
      config: { l1: 1e-3, l2: 1e-4 },
    });
    // tfjs model.json: { class_name: 'L1L2', config: { l1: 0, l2: 0.02 } }
    expect(resolveRegularizer({ className: 'L1L2', config: { l1: 0, l2: 0.02 } })).toEqual({
      l1: 0,
      l2: 0.02,
      className: 'L1L2',
      config: { l1: 0, l2: 0.02 },
    });
    expect(resolveRegularizer({ className: 'L2', config: { l2: 0.5 } })).toMatchObject({ l1: 0, l2: 0.5 });
    const r = regularizers.l1l2({ l1: 0.2 });
    expect(r).toEqual({ l1: 0.2, l2: 0.01, className: 'L1L2', config: { l1: 0.2, l2: 0.01 } });
    expect(resolveRegularizer(r)).toEqual(r);
    expect(resolveRegularizer({ l1: 0.1, l2: 0.2, className: 'L1', config: { l1: 0.1 } })).toEqual({
      l1: 0.1,
      l2: 0.2,
      className: 'L1L2',
      config: { l1: 0.1, l2: 0.2 },
    });
    expect(resolveRegularizer(undefined)).toBeUndefined();
    expect(resolveRegularizer(null)).toBeUndefined();
  });

  it('factories take a number (Keras) or an object (tfjs); defaults 0.01', () => {
    expect(regularizers.l1()).toMatchObject({ l1: 0.01, l2: 0 });
    expect(regularizers.l2({ l2: 0.003 })).toMatchObject({ l1: 0, l2: 0.003, className: 'L2' });
    expect(regularizers.l1(0.5)).toMatchObject({ l1: 0.5, l2: 0, className: 'L1' });
    expect(regularizers.l1l2()).toMatchObject({ l1: 0.01, l2: 0.01 });
  });

  it('negative, NaN and infinite factors, unknown names and keys are errors', () => {
    expect(() => regularizers.l2(-0.1)).toThrow(/regularizers\.l2: l2 must be a finite number ≥ 0, got -0.1/);
    expect(() => regularizers.l1(Number.NaN)).toThrow(RangeError);
    expect(() => regularizers.l1l2({ l1: Infinity })).toThrow(/l1 must be a finite number ≥ 0, got Infinity/);
    expect(() => resolveRegularizer({ l2: -1 })).toThrow(RangeError);
    expect(() => resolveRegularizer({ className: 'L1L2', config: { l1: Number.NaN, l2: 0 } })).toThrow(
      RangeError,
    );
    // A regularizer object is checked too.
    expect(() => resolveRegularizer({ l1: -0.1, l2: 0, className: 'L1', config: {} })).toThrow(RangeError);
    expect(() => resolveRegularizer('l3')).toThrow(
      /^unknown regularizer 'l3'; did you mean 'l1'\? Valid: l1, l2, l1_l2/,
    );
    expect(() => resolveRegularizer('elastic')).toThrow(/^unknown regularizer 'elastic'\. Valid/);
    expect(() => resolveRegularizer({})).toThrow(/needs at least one factor/);
    expect(() => resolveRegularizer({ l3: 1 } as never)).toThrow(/unknown option 'l3'; did you mean 'l1'\?/);
    expect(() => resolveRegularizer({ className: 'L2', config: { factor: 1 } })).toThrow(
      /unknown config key 'factor'/,
    );
  });
});
