/**
 * Optimizer factories: Keras 3's documented defaults (keras.optimizers.SGD / RMSprop / Adam /
 * AdamW / Nadam signatures), agreement with the kernel layer's own defaults, name resolution,
 * serialized Keras / tfjs configs, and range errors; options in either spelling, Keras's
 * aliases (beta_1, Keras 2's lr with its note), the positional learning rate, and the
 * options every optimizer takes (decay, clipnorm, clipvalue, global_clipnorm, weight_decay).
 */
import { describe, expect, it } from 'vitest';
import { resetOptionNotes } from '../util/options.js';
import { resolveOptimizerSpec as resolveKernelOptimizer } from '../kernels/optim.js';
import { optimizerStepReference } from '../kernels/optim-reference.js';
import { optimizers, resolveOptimizer, type Optimizer } from './optimizers.js';

describe('factories', () => {
  it("Keras 3's defaults, class names and configs", () => {
    expect(optimizers.sgd()).toEqual({
      spec: { kind: 'sgd', momentum: 0, nesterov: false },
      learningRate: 0.01,
      className: 'SGD',
      config: { learning_rate: 0.01, momentum: 0, nesterov: false },
    });
    expect(optimizers.rmsprop()).toEqual({
      spec: { kind: 'rmsprop', rho: 0.9, momentum: 0, epsilon: 1e-7, centered: false },
      learningRate: 0.001,
      className: 'RMSprop',
      config: { learning_rate: 0.001, rho: 0.9, momentum: 0, epsilon: 1e-7, centered: false },
    });
    expect(optimizers.adam()).toEqual({
      spec: { kind: 'adam', beta1: 0.9, beta2: 0.999, epsilon: 1e-7, amsgrad: false },
      learningRate: 0.001,
      className: 'Adam',
      config: { learning_rate: 0.001, beta_1: 0.9, beta_2: 0.999, epsilon: 1e-7, amsgrad: false },
    });
    expect(optimizers.nadam()).toEqual({
      spec: { kind: 'nadam', beta1: 0.9, beta2: 0.999, epsilon: 1e-7 },
      learningRate: 0.001,
      className: 'Nadam',
      config: { learning_rate: 0.001, beta_1: 0.9, beta_2: 0.999, epsilon: 1e-7 },
    });
  });

  it('options reach the spec and the config', () => {
    const s = optimizers.sgd({ learningRate: 0.1, momentum: 0.9, nesterov: true });
    expect(s.spec).toEqual({ kind: 'sgd', momentum: 0.9, nesterov: true });
    expect(s.config).toEqual({ learning_rate: 0.1, momentum: 0.9, nesterov: true });
    const r = optimizers.rmsprop({
      learningRate: 0.01,
      rho: 0.95,
      momentum: 0.5,
      epsilon: 1e-6,
      centered: true,
    });
    expect(r.spec).toEqual({ kind: 'rmsprop', rho: 0.95, momentum: 0.5, epsilon: 1e-6, centered: true });
    const a = optimizers.adam({ learningRate: 0.002, beta1: 0.8, beta2: 0.99, epsilon: 1e-8, amsgrad: true });
    expect(a.config).toEqual({
      learning_rate: 0.002,
      beta_1: 0.8,
      beta_2: 0.99,
      epsilon: 1e-8,
      amsgrad: true,
    });
    const n = optimizers.nadam({ scheduleDecay: 0.004 });
    expect(n.spec).toEqual({ kind: 'nadam', beta1: 0.9, beta2: 0.999, epsilon: 1e-7, scheduleDecay: 0.004 });
    expect(n.config.schedule_decay).toBe(0.004);
  });

  it('the specs are complete: the kernel layer fills in nothing different', () => {
    for (const o of [optimizers.sgd(), optimizers.rmsprop(), optimizers.adam()]) {
      expect(resolveKernelOptimizer(o.spec), o.className).toEqual(o.spec);
    }
    // Nadam's schedule decay is left to the kernel layer's Keras 3 default.
    expect(resolveKernelOptimizer(optimizers.nadam().spec)).toEqual({
      ...optimizers.nadam().spec,
      scheduleDecay: 1,
    });
  });

  it('range errors name the optimizer, the option and the value', () => {
    expect(() => optimizers.adam({ learningRate: 0 })).toThrow(
      new RangeError('adam: learningRate must be a finite number > 0, got 0'),
    );
    expect(() => optimizers.sgd({ learningRate: -0.1 })).toThrow(RangeError);
    expect(() => optimizers.sgd({ learningRate: Number.NaN })).toThrow(RangeError);
    expect(() => optimizers.rmsprop({ learningRate: Infinity })).toThrow(RangeError);
    expect(() => optimizers.sgd({ momentum: -0.1 })).toThrow(/sgd: momentum must be in \[0, 1\], got -0.1/);
    expect(() => optimizers.sgd({ momentum: 1.5 })).toThrow(RangeError);
    expect(optimizers.sgd({ momentum: 1 }).spec).toMatchObject({ momentum: 1 }); // Keras allows [0, 1]
    expect(() => optimizers.rmsprop({ rho: 1 })).toThrow(/rmsprop: rho must be in \[0, 1\), got 1/);
    expect(() => optimizers.rmsprop({ momentum: 2 })).toThrow(RangeError);
    expect(() => optimizers.adam({ beta1: 1 })).toThrow(/adam: beta1 must be in \[0, 1\), got 1/);
    expect(() => optimizers.adam({ beta2: -0.5 })).toThrow(/adam: beta2 must be in \[0, 1\)/);
    expect(() => optimizers.nadam({ beta2: 1 })).toThrow(RangeError);
    expect(() => optimizers.adam({ epsilon: 0 })).toThrow(/adam: epsilon must be a finite number > 0, got 0/);
    expect(() => optimizers.nadam({ scheduleDecay: 0 })).toThrow(RangeError);
    expect(() => optimizers.sgd({ nesterov: 'yes' as unknown as boolean })).toThrow(TypeError);
    expect(() => optimizers.adam({ learnRate: 0.01 } as never)).toThrow(
      /^adam: unknown option 'learnRate'; did you mean 'learningRate'\? Valid options: learningRate, /,
    );
    expect(() => optimizers.adam({ beta_3: 0.01 } as never)).toThrow(
      /unknown option 'beta_3'; did you mean 'beta_1'/,
    );
  });

  it('the common options: ranges, one clip at most, reaching spec and config', () => {
    for (const key of ['decay', 'clipnorm', 'clipvalue', 'globalClipnorm', 'weightDecay'] as const) {
      expect(() => optimizers.sgd({ [key]: -1 })).toThrow(
        new RangeError(`sgd: ${key} must be a finite number >= 0, got -1`),
      );
      expect(() => optimizers.adam({ [key]: Number.NaN })).toThrow(/must be a finite number >= 0, got NaN/);
      expect(() => optimizers.adam({ [key]: '1' as unknown as number })).toThrow(RangeError);
    }
    expect(() => optimizers.sgd({ clipnorm: 1, clipvalue: 0.5 })).toThrow(
      /^sgd: only one of clipnorm, clipvalue and globalClipnorm can be set, got clipnorm 1 and clipvalue 0.5/,
    );
    expect(() => optimizers.adam({ clipnorm: 1, global_clipnorm: 2 })).toThrow(/only one of clipnorm/);
    // null is Keras's None (off); 0 is off too, as Keras's `if self.clipnorm`.
    expect(optimizers.sgd({ clipnorm: null, clipvalue: 0.5 }).spec).toEqual({
      kind: 'sgd',
      momentum: 0,
      nesterov: false,
      clipvalue: 0.5,
    });
    expect(optimizers.sgd({ weightDecay: 0 }).spec).toEqual(optimizers.sgd().spec);
    const s = optimizers.sgd({ lr: 0.1, decay: 1e-3, clipnorm: 1, weight_decay: 0.01 });
    expect(s.spec).toEqual({
      kind: 'sgd',
      momentum: 0,
      nesterov: false,
      decay: 1e-3,
      clipnorm: 1,
      weightDecay: 0.01,
    });
    expect(s.config).toEqual({
      learning_rate: 0.1,
      momentum: 0,
      nesterov: false,
      weight_decay: 0.01,
      clipnorm: 1,
      decay: 1e-3,
    });
    const n = optimizers.nadam({ global_clipnorm: 2 });
    expect(n.spec).toEqual({ kind: 'nadam', beta1: 0.9, beta2: 0.999, epsilon: 1e-7, globalClipnorm: 2 });
    expect(n.config.global_clipnorm).toBe(2);
    expect(resolveKernelOptimizer(s.spec)).toEqual(s.spec);
  });
});

describe('spellings, aliases and the positional learning rate', () => {
  it("snake_case, camelCase, Keras's beta_1/beta_2, and a duplicate refused", () => {
    const a = optimizers.adam({ learning_rate: 0.01, beta_1: 0.8, beta_2: 0.99, weight_decay: 0.1 });
    expect(a).toEqual(optimizers.adam({ learningRate: 0.01, beta1: 0.8, beta2: 0.99, weightDecay: 0.1 }));
    expect(optimizers.rmsprop({ learning_rate: 0.1, global_clipnorm: 1 }).spec).toMatchObject({
      globalClipnorm: 1,
    });
    expect(() => optimizers.adam({ beta_1: 0.8, beta1: 0.7 })).toThrow(
      /'beta_1' and 'beta1' are the same option/,
    );
    expect(() => optimizers.sgd('fast' as never)).toThrow(/sgd: options must be an object/);
  });

  it("Keras 2's lr: an alias of learning_rate, with Keras's note printed once", () => {
    resetOptionNotes();
    const lines: string[] = [];
    const warn = console.warn;
    console.warn = (line: string) => lines.push(line);
    try {
      expect(optimizers.sgd({ lr: 0.1 }).learningRate).toBe(0.1);
      expect(optimizers.sgd({ lr: 0.2, momentum: 0.9 }).learningRate).toBe(0.2);
    } finally {
      console.warn = warn;
    }
    expect(lines).toEqual(['sgd: The `lr` argument is deprecated, use `learning_rate` instead.']);
    expect(() => optimizers.sgd({ lr: 0.1, learning_rate: 0.2 })).toThrow(/same option \(learningRate\)/);
  });

  it('the learning rate first, as Keras passes it', () => {
    expect(optimizers.sgd(0.05)).toEqual(optimizers.sgd({ learningRate: 0.05 }));
    expect(optimizers.sgd(0.01, { momentum: 0.9 })).toEqual(
      optimizers.sgd({ learningRate: 0.01, momentum: 0.9 }),
    );
    expect(optimizers.adam(1e-3)).toEqual(optimizers.adam());
    expect(optimizers.SGD(0.1, { decay: 1e-4 }).config.decay).toBe(1e-4);
    expect(() => optimizers.sgd(0.01, { learningRate: 0.1 })).toThrow(/learning rate is given twice/);
    expect(() => optimizers.sgd(-1)).toThrow(
      new RangeError('sgd: learningRate must be a finite number > 0, got -1'),
    );
    expect(() => optimizers.sgd({ momentum: 0.9 }, { nesterov: true })).toThrow(/options after options/);
  });

  it("Keras's class names are the same factories", () => {
    expect(optimizers.SGD({ lr: 0.1 })).toEqual(optimizers.sgd(0.1));
    expect(optimizers.RMSprop()).toEqual(optimizers.rmsprop());
    expect(optimizers.Adam()).toEqual(optimizers.adam());
    expect(optimizers.Nadam()).toEqual(optimizers.nadam());
    expect(optimizers.AdamW()).toEqual(optimizers.adamw());
  });

  it("AdamW: Keras 3's Adam with weight decay 0.004", () => {
    const w = optimizers.adamw();
    expect(w.className).toBe('AdamW');
    expect(w.spec).toEqual({
      kind: 'adam',
      beta1: 0.9,
      beta2: 0.999,
      epsilon: 1e-7,
      amsgrad: false,
      weightDecay: 0.004,
    });
    expect(w.config).toEqual({
      learning_rate: 0.001,
      beta_1: 0.9,
      beta_2: 0.999,
      epsilon: 1e-7,
      amsgrad: false,
      weight_decay: 0.004,
    });
    expect(optimizers.adamw({ weight_decay: 0 }).config.weight_decay).toBe(0);
    expect(() => optimizers.adamw({ weightDecay: null })).toThrow(/adamw: weightDecay must be a number/);
    expect(() => optimizers.adamw({ beta1: 1 })).toThrow(/^adamw: beta1 must be in \[0, 1\), got 1/);
  });
});

describe('resolveOptimizer', () => {
  it('names give the factory defaults', () => {
    expect(resolveOptimizer('sgd')).toEqual(optimizers.sgd());
    expect(resolveOptimizer('SGD')).toEqual(optimizers.sgd());
    expect(resolveOptimizer('rmsprop')).toEqual(optimizers.rmsprop());
    expect(resolveOptimizer('RMSprop')).toEqual(optimizers.rmsprop());
    expect(resolveOptimizer('adam')).toEqual(optimizers.adam());
    expect(resolveOptimizer('Adam')).toEqual(optimizers.adam());
    expect(resolveOptimizer('nadam')).toEqual(optimizers.nadam());
    expect(resolveOptimizer('AdamW')).toEqual(optimizers.adamw());
    expect(resolveOptimizer('adamw')).toEqual(optimizers.adamw());
  });

  it('an Optimizer is checked again and copied', () => {
    const a = optimizers.adam({ learningRate: 0.01 });
    const r = resolveOptimizer(a);
    expect(r).toEqual(a);
    expect(r).not.toBe(a);
    const bad: Optimizer = { ...a, learningRate: -1 };
    expect(() => resolveOptimizer(bad)).toThrow(/learningRate must be a finite number > 0/);
    const badSpec: Optimizer = { ...a, spec: { kind: 'adam', beta1: 2 } };
    expect(() => resolveOptimizer(badSpec)).toThrow(/beta1 must be in \[0, 1\)/);
    for (const o of [
      optimizers.adamw({ weightDecay: 0 }),
      optimizers.adamw({ clipvalue: 0.5 }),
      optimizers.sgd({ decay: 0.01, clipnorm: 2 }),
    ]) {
      expect(resolveOptimizer(o)).toEqual(o);
    }
  });

  it('serialized Keras and tfjs configs', () => {
    // Keras 3 Adam.get_config()
    const keras = resolveOptimizer({
      className: 'Adam',
      config: {
        name: 'adam',
        learning_rate: 0.002,
        weight_decay: null,
        clipnorm: null,
        global_clipnorm: null,
        clipvalue: null,
        use_ema: false,
        ema_momentum: 0.99,
        ema_overwrite_frequency: null,
        loss_scale_factor: null,
        gradient_accumulation_steps: null,
        beta_1: 0.8,
        beta_2: 0.99,
        epsilon: 1e-8,
        amsgrad: true,
      },
    });
    expect(keras).toEqual(
      optimizers.adam({ learningRate: 0.002, beta1: 0.8, beta2: 0.99, epsilon: 1e-8, amsgrad: true }),
    );
    // tfjs RMSPropOptimizer.getConfig(): ρ is called `decay` there.
    const tfjs = resolveOptimizer({
      className: 'RMSProp',
      config: { learningRate: 0.01, decay: 0.95, momentum: 0, epsilon: 1e-7, centered: false },
    });
    expect(tfjs.spec).toEqual({ kind: 'rmsprop', rho: 0.95, momentum: 0, epsilon: 1e-7, centered: false });
    expect(tfjs.learningRate).toBe(0.01);
    expect(resolveOptimizer({ className: 'SGD', config: { lr: 0.5 } }).learningRate).toBe(0.5);
    // The common options are read back, not refused as inert.
    expect(resolveOptimizer({ className: 'Adam', config: { weight_decay: 0.004 } })).toEqual(
      optimizers.adam({ weightDecay: 0.004 }),
    );
    // Keras 2's SGD.get_config() holds `decay` (0.0 when unused).
    expect(
      resolveOptimizer({ className: 'SGD', config: { learning_rate: 0.1, decay: 0.01, momentum: 0 } }),
    ).toEqual(optimizers.sgd({ lr: 0.1, decay: 0.01 }));
    expect(resolveOptimizer({ className: 'SGD', config: { decay: 0 } })).toEqual(optimizers.sgd());
    expect(
      resolveOptimizer({
        className: 'RMSprop',
        config: { clipnorm: 1, clipvalue: null, global_clipnorm: null },
      }),
    ).toEqual(optimizers.rmsprop({ clipnorm: 1 }));
    expect(() => resolveOptimizer({ className: 'SGD', config: { clipnorm: 1, clipvalue: 1 } })).toThrow(
      /only one of clipnorm/,
    );
    // Keras 3 AdamW.get_config(); a null weight_decay is refused as Keras refuses it.
    const adamw = resolveOptimizer({
      className: 'AdamW',
      config: { name: 'adamw', learning_rate: 0.001, weight_decay: 0.01, clipnorm: null, beta_1: 0.9 },
    });
    expect(adamw).toEqual(optimizers.adamw({ weightDecay: 0.01 }));
    expect(resolveOptimizer({ className: adamw.className, config: adamw.config })).toEqual(adamw);
    expect(() => resolveOptimizer({ className: 'AdamW', config: { weight_decay: null } })).toThrow(
      /weightDecay must be a number/,
    );
    expect(() => resolveOptimizer({ className: 'Adam', config: { use_ema: true } })).toThrow(
      /'use_ema' = true is not supported yet/,
    );
    expect(() => resolveOptimizer({ className: 'Adam', config: { betta: 0.5 } })).toThrow(
      /unknown config key 'betta'/,
    );
  });

  it('unknown names suggest; known Keras optimizers that are missing say so', () => {
    expect(() => resolveOptimizer('adan')).toThrow(
      new Error("unknown optimizer 'adan'; did you mean 'adam'? Valid: sgd, rmsprop, adam, adamw, nadam"),
    );
    expect(() => resolveOptimizer('rmsprob')).toThrow(/did you mean 'rmsprop'\?/);
    expect(() => resolveOptimizer('adagrad')).toThrow(
      new Error("optimizer 'adagrad' is not supported yet; supported: sgd, rmsprop, adam, adamw, nadam"),
    );
    expect(() => resolveOptimizer('quantum')).toThrow(/^unknown optimizer 'quantum'\. Valid: sgd/);
    expect(() => resolveOptimizer(3 as unknown as string)).toThrow(TypeError);
  });
});

describe("the float64 reference against Keras's formulas worked by hand", () => {
  // The GPU update is tested against optimizerStepReference; these pin the reference itself.
  const seg = [{ offset: 0, length: 2, l1: 0, l2: 0 }];
  const step = (spec: object, w: number[], g: number[], t: number, lr = 0.1): number[] => {
    const params = Float64Array.from(w);
    const state = 'momentum' in spec ? [new Float64Array(2)] : [];
    optimizerStepReference({ kind: 'sgd', ...spec } as never, seg, params, g, state, {
      lr,
      step: t,
      uProduct: 1,
    });
    return Array.from(params);
  };
  const near = (got: number[], want: number[]): void => {
    expect(got.length).toBe(want.length);
    got.forEach((v, i) => expect(v).toBeCloseTo(want[i] ?? NaN, 14));
  };
  it('clipnorm 1 scales the gradient [3, 4] (norm 5) to [0.6, 0.8]', () => {
    near(step({ clipnorm: 1 }, [0, 0], [3, 4], 1), [-0.06, -0.08]);
  });
  it('clipvalue 0.5 clamps each element; global_clipnorm 1 scales by 1/5', () => {
    near(step({ clipvalue: 0.5 }, [0, 0], [3, -0.2], 1), [-0.05, 0.02]);
    near(step({ globalClipnorm: 1 }, [0, 0], [3, 4], 1), [-0.06, -0.08]);
  });
  it('decay 0.5: the rate of update t is lr / (1 + 0.5 (t - 1)) (Keras 2)', () => {
    near(step({ decay: 0.5 }, [1, 1], [1, 2], 1), [0.9, 0.8]);
    near(step({ decay: 0.5 }, [1, 1], [1, 2], 3), [0.95, 0.9]);
  });
  it('weight_decay 0.1: w ← w − w·0.1·lr before the SGD step (Keras 3)', () => {
    // w = 2: 2 − 2·0.1·0.1 = 1.98, then − 0.1·1 = 1.88.
    near(step({ weightDecay: 0.1 }, [2, -1], [1, 0], 1), [1.88, -0.99]);
  });
});
