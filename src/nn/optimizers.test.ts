/**
 * Optimizer factories: Keras 3's documented defaults (keras.optimizers.SGD / RMSprop / Adam /
 * Nadam signatures), agreement with the kernel layer's own defaults, name resolution,
 * serialized Keras / tfjs configs, and range errors.
 */
import { describe, expect, it } from 'vitest';
import { resolveOptimizerSpec as resolveKernelOptimizer } from '../kernels/optim.js';
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
    expect(() => optimizers.adam({ learning_rate: 0.01 } as never)).toThrow(
      /^adam: unknown option 'learning_rate'; did you mean 'learningRate'\? Valid: learningRate, beta1, /,
    );
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
    expect(() => resolveOptimizer({ className: 'Adam', config: { weight_decay: 0.004 } })).toThrow(
      /optimizer Adam: 'weight_decay' = 0.004 is not supported yet/,
    );
    expect(() => resolveOptimizer({ className: 'Adam', config: { decay: 0.01 } })).toThrow(/'decay' = 0.01/);
    expect(() => resolveOptimizer({ className: 'Adam', config: { betta: 0.5 } })).toThrow(
      /unknown config key 'betta'/,
    );
  });

  it('unknown names suggest; known Keras optimizers that are missing say so', () => {
    expect(() => resolveOptimizer('adan')).toThrow(
      new Error("unknown optimizer 'adan'; did you mean 'adam'? Valid: sgd, rmsprop, adam, nadam"),
    );
    expect(() => resolveOptimizer('rmsprob')).toThrow(/did you mean 'rmsprop'\?/);
    expect(() => resolveOptimizer('adagrad')).toThrow(
      new Error("optimizer 'adagrad' is not supported yet; supported: sgd, rmsprop, adam, nadam"),
    );
    expect(() => resolveOptimizer('AdamW')).toThrow(/not supported yet/);
    expect(() => resolveOptimizer('quantum')).toThrow(/^unknown optimizer 'quantum'\. Valid: sgd/);
    expect(() => resolveOptimizer(3 as unknown as string)).toThrow(TypeError);
  });
});
