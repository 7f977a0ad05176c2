/**
 * The decks' Keras layer code as students translate it: options in snake_case and camelCase,
 * unknown and unsupported options refused by name, Keras's positional first arguments,
 * input_dim / input_shape / batch_input_shape, initializers and regularizers in Keras's
 * spellings, and the per-layer API (get_weights, set_weights, count_params, output_shape)
 * checked against Keras's documented values and closed forms.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initEngine, type Engine } from '../../node/index.js';
import { sequential } from '../../model/model.js';
import { optimizers } from '../optimizers.js';
import { initializers, resolveInitializer } from '../initializers.js';
import { regularizers } from '../regularizers.js';
import { Dense, input, layers } from './index.js';

describe('layer options in both spellings', () => {
  it('snake_case and camelCase give the same Dense, in any mix', () => {
    const snake = layers.dense({
      units: 4,
      activation: 'relu',
      use_bias: false,
      kernel_initializer: 'he_uniform',
      kernel_regularizer: regularizers.l2(0.001),
      input_shape: [3],
    });
    const camel = layers.dense({
      units: 4,
      activation: 'relu',
      useBias: false,
      kernelInitializer: 'heUniform',
      kernelRegularizer: regularizers.l2(0.001),
      inputShape: [3],
    });
    for (const d of [snake, camel]) {
      expect(d.useBias).toBe(false);
      expect(d.kernelInitializer.name).toBe('HeUniform');
      expect(d.kernelRegularizer).toMatchObject({ l1: 0, l2: 0.001 });
      expect(d.inputShape).toEqual([3]);
    }
    const mixed = layers.dense({ units: 2, use_bias: false, kernelInitializer: 'zeros' });
    expect([mixed.useBias, mixed.kernelInitializer.name]).toEqual([false, 'Zeros']);
  });

  it('an unknown option is a TypeError naming it and the closest valid one, in the caller’s spelling', () => {
    expect(() => layers.dense({ units: 4, actvation: 'relu' } as never)).toThrow(
      /layers\.dense: unknown option 'actvation'; did you mean 'activation'\?/,
    );
    expect(() => layers.dense({ units: 4, kernel_initialiser: 'zeros' } as never)).toThrow(
      /unknown option 'kernel_initialiser'; did you mean 'kernel_initializer'\?/,
    );
    expect(() => layers.dropout({ rate: 0.5, sed: 1 } as never)).toThrow(/did you mean 'seed'\?/);
    expect(() => layers.batchNormalization({ momentun: 0.9 } as never)).toThrow(
      /layers\.batchNormalization: unknown option 'momentun'; did you mean 'momentum'\?/,
    );
    expect(() => layers.flatten({ input_shap: [28, 28] } as never)).toThrow(/did you mean 'input_shape'\?/);
    expect(() => new Dense({ units: 1, unit: 2 } as never)).toThrow(TypeError);
  });

  it('the same option twice (both spellings) is an error', () => {
    expect(() => layers.dense({ units: 1, useBias: true, use_bias: false })).toThrow(
      /'useBias' and 'use_bias' are the same option/,
    );
  });

  it('Keras options this library does not implement say "not supported"; their off values pass', () => {
    expect(() => layers.dense({ units: 4, kernel_constraint: 'max_norm' } as never)).toThrow(
      /layers\.dense: option 'kernelConstraint' \("max_norm"\) is not supported/,
    );
    expect(layers.dense({ units: 4, kernel_constraint: null } as never).units).toBe(4);
    expect(() => layers.dense({ units: 4, dtype: 'float64' } as never)).toThrow(
      /dtype "float64" is not supported; only float32/,
    );
    expect(layers.dense({ units: 4, dtype: 'float32' }).units).toBe(4);
    expect(() => layers.dropout({ rate: 0.5, noise_shape: [1, 4] } as never)).toThrow(
      /option 'noiseShape' \(\[1,4\]\) is not supported/,
    );
    expect(() => layers.flatten({ activity_regularizer: 'l2' } as never)).toThrow(
      /option 'activityRegularizer' \("l2"\) is not supported by this library; only Dense/,
    );
    expect(() => layers.dense({ units: 4, batch_size: 32 } as never)).toThrow(
      /'batchSize' \(32\) is not supported/,
    );
    expect(() => layers.batchNormalization({ axis: 1 } as never)).toThrow(
      /'axis' \(1\) is not supported by this library; only the last axis/,
    );
    expect(layers.batchNormalization({ axis: -1 } as never).momentum).toBe(0.99);
    expect(() => layers.batchNormalization({ beta_regularizer: 'l2' } as never)).toThrow(/not supported/);
    expect(() => layers.concatenate({ axis: 0 })).toThrow(/axis 0 is not supported/);
  });

  it('BatchNormalization reads its Keras options in snake_case', () => {
    const bn = layers.batchNormalization({
      momentum: 0.9,
      epsilon: 1e-5,
      moving_variance_initializer: 'zeros',
    });
    expect([bn.momentum, bn.epsilon]).toEqual([0.9, 1e-5]);
    expect(bn.getConfig().moving_variance_initializer).toEqual({ class_name: 'Zeros', config: {} });
  });
});

describe("Keras's positional first arguments", () => {
  it('Dense(units), Dense(units, activation), Dense(units, { ... })', () => {
    const a = layers.dense(64, { activation: 'relu' });
    const b = layers.dense(64, 'relu');
    const c = layers.dense(64, 'relu', { use_bias: false });
    const d = layers.dense(10);
    expect([a.units, a.activation, b.units, b.activation]).toEqual([64, 'relu', 64, 'relu']);
    expect([c.units, c.useBias, d.units, d.activation]).toEqual([64, false, 10, 'linear']);
    expect(() => layers.dense(64, { units: 32 } as never)).toThrow(/units given twice/);
    expect(() => layers.dense(64, 'relu', { activation: 'tanh' } as never)).toThrow(/activation given twice/);
    expect(() => layers.dense(0)).toThrow(/units must be a positive integer, got 0/);
  });

  it('Dropout(rate), Dropout(rate, { seed }), Activation(name); the options forms still work', () => {
    expect(layers.dropout(0.2).rate).toBe(0.2);
    expect(layers.dropout(0.2, { seed: 5 }).seed).toBe(5);
    expect(layers.dropout({ rate: 0.3 }).rate).toBe(0.3);
    expect(() => layers.dropout(1)).toThrow(/dropout rate 1 must be in \[0, 1\)/);
    expect(() => layers.dropout(0.2, { rate: 0.1 } as never)).toThrow(/rate given twice/);
    expect(layers.activation('relu').activation).toBe('relu');
    expect(layers.activation({ activation: 'tanh' }).activation).toBe('tanh');
    expect(() => layers.activation('rleu')).toThrow(/relu/);
  });
});

describe('input_dim, input_shape, batch_input_shape', () => {
  it("deck 003's Dense(10, input_dim=3, activation='relu') is inputShape [3]: 161 parameters", () => {
    const m = sequential({
      layers: [
        layers.dense(10, { input_dim: 3, activation: 'relu' }),
        layers.dense(10, { activation: 'relu' }),
        layers.dense(1, { activation: 'sigmoid' }),
      ],
    });
    // (3·10 + 10) + (10·10 + 10) + (10·1 + 1) = 40 + 110 + 11, Keras's summary for the deck.
    expect(m.countParams()).toBe(161);
    expect(layers.dense(4, { inputDim: 7 }).inputShape).toEqual([7]);
  });

  it('batch_input_shape [null, ...] and input_shape agree; conflicting ones are a clear error', () => {
    expect(layers.dense(4, { batch_input_shape: [null, 8] }).inputShape).toEqual([8]);
    expect(layers.flatten({ batchInputShape: [null, 28, 28] }).inputShape).toEqual([28, 28]);
    expect(layers.dense(4, { input_shape: [8], input_dim: 8 }).inputShape).toEqual([8]);
    expect(() => layers.dense(4, { input_shape: [8], input_dim: 9 })).toThrow(
      /inputShape and inputDim disagree \(per-sample shapes \[8\] and \[9\]\)/,
    );
    expect(() => layers.dense(4, { input_shape: [8], batch_input_shape: [null, 7] })).toThrow(/disagree/);
    expect(() => layers.dense(4, { batch_input_shape: [32, 8] })).toThrow(
      /a fixed batch size \(32\) is not supported; write null first/,
    );
    expect(() => layers.dense(4, { input_dim: 0 })).toThrow(/inputDim must be a positive integer/);
  });

  it("InputLayer and Input as Keras 2 and 3 write them (deck 002's InputLayer(input_shape=...))", () => {
    expect(layers.inputLayer({ input_shape: [8] }).shape).toEqual([8]);
    expect(layers.inputLayer({ shape: [8] }).outputShape).toEqual([null, 8]);
    expect(layers.inputLayer({ batch_shape: [null, 5] }).shape).toEqual([5]);
    expect(() => layers.inputLayer({ shape: [8], input_shape: [9] })).toThrow(
      /shape and inputShape disagree/,
    );
    expect(() => layers.inputLayer({ shap: [8] } as never)).toThrow(/did you mean 'shape'\?/);
    expect(() => layers.inputLayer({ shape: [8], sparse: true } as never)).toThrow(
      /'sparse' \(true\) is not supported/,
    );
    const wide = input([5], { name: 'wide_input' });
    expect([wide.shape, wide.name]).toEqual([[5], 'wide_input']);
    expect(input({ shape: [3] }).shape).toEqual([3]);
  });
});

describe('initializers and regularizers in Keras spellings', () => {
  it("the course's random uniform (−0.5, +0.5): options, Keras's positional class form, same draws", () => {
    const a = initializers.randomUniform({ minval: -0.5, maxval: 0.5, seed: 3 });
    const b = initializers.RandomUniform(-0.5, 0.5, 3);
    expect(a.config).toEqual({ minval: -0.5, maxval: 0.5, seed: 3 });
    const va = a.init([200], 0);
    expect(b.init([200], 0)).toEqual(va);
    expect(Math.min(...va)).toBeGreaterThanOrEqual(-0.5);
    expect(Math.max(...va)).toBeLessThan(0.5);
    expect(() => initializers.randomUniform({ minvall: -1 } as never)).toThrow(
      /initializers\.randomUniform: unknown option 'minvall'; did you mean 'minval'\?/,
    );
    expect(() => initializers.heUniform({ sead: 1 } as never)).toThrow(/did you mean 'seed'\?/);
    expect(initializers.he_uniform(7).init([4, 4], 0)).toEqual(
      initializers.heUniform({ seed: 7 }).init([4, 4], 1),
    );
    expect(initializers.Constant(0.25).init([2], 0)).toEqual(new Float32Array([0.25, 0.25]));
    // Keras JSON's class_name works as tfjs's className.
    const j = resolveInitializer({
      class_name: 'RandomUniform',
      config: { minval: -0.5, maxval: 0.5 },
    } as never);
    expect(j.config).toMatchObject({ minval: -0.5, maxval: 0.5 });
  });

  it("'he_uniform' by name in a layer (deck 001: relu with he_uniform); bad names suggest", () => {
    const d = layers.dense(4, { activation: 'relu', kernel_initializer: 'he_uniform', input_shape: [50] });
    expect(d.kernelInitializer.name).toBe('HeUniform');
    expect(() => layers.dense(4, { kernel_initializer: 'he_unifrom' })).toThrow(/did you mean/);
  });

  it("l2(0.001), l1_l2, Keras's L1/L2/L1L2 classes and their defaults", () => {
    expect(regularizers.l2(0.001)).toMatchObject({ l1: 0, l2: 0.001, className: 'L2' });
    expect(regularizers.L1(0.01)).toMatchObject({ l1: 0.01, l2: 0, className: 'L1' });
    expect(regularizers.L2()).toMatchObject({ l1: 0, l2: 0.01 }); // Keras's L2(l2=0.01)
    expect(regularizers.l1_l2({ l1: 0.01, l2: 0.001 })).toMatchObject({
      l1: 0.01,
      l2: 0.001,
      className: 'L1L2',
    });
    expect(regularizers.l1l2(0.01, 0.001)).toMatchObject({ l1: 0.01, l2: 0.001 });
    expect(regularizers.l1_l2()).toMatchObject({ l1: 0.01, l2: 0.01 }); // tf.keras 2's l1_l2
    expect(regularizers.L1L2()).toMatchObject({ l1: 0, l2: 0 }); // Keras 3's L1L2 class
    expect(() => regularizers.l1l2({ l1: 0.1, l3: 0.1 } as never)).toThrow(
      /regularizers\.l1l2: unknown option 'l3'; did you mean/,
    );
    expect(() => regularizers.l2({ l1: 0.1 } as never)).toThrow(/unknown option 'l1'; did you mean 'l2'\?/);
    // Deck 001: Dense(units=5, kernel_regularizer=L1(0.01), activity_regularizer=L2(0.01)).
    const d = layers.dense({
      units: 5,
      kernel_regularizer: regularizers.L1(0.01),
      activity_regularizer: regularizers.L2(0.01),
    });
    expect(d.kernelRegularizer).toMatchObject({ l1: 0.01, l2: 0 });
    expect(d.activityRegularizer).toMatchObject({ l1: 0, l2: 0.01 });
  });
});

describe('the per-layer Keras API', () => {
  it('deck 002: model.layers[1].get_weights() gives (784, 300), (300,) with zero biases; outputShape, countParams', async () => {
    const hidden1 = layers.dense(300, { activation: 'relu', name: 'hidden1' });
    const flatten = layers.flatten({ input_shape: [28, 28] });
    expect(() => hidden1.outputShape).toThrow(/has never been called and thus has no defined output shape/);
    expect(hidden1.countParams()).toBe(0);
    sequential({ layers: [flatten, hidden1, layers.dense(100, 'relu'), layers.dense(10, 'softmax')] });
    expect(hidden1.name).toBe('hidden1');
    expect(hidden1.outputShape).toEqual([null, 300]);
    expect(flatten.outputShape).toEqual([null, 784]);
    expect(hidden1.countParams()).toBe(784 * 300 + 300); // 235,500 as in the deck's summary
    const [weights, biases] = await hidden1.getWeights();
    expect(weights?.shape).toEqual([784, 300]);
    expect(biases?.shape).toEqual([300]);
    expect(biases?.data.every((b) => b === 0)).toBe(true);
    // Glorot uniform: |w| < √(6 / (784 + 300)) = 0.07440, as in the deck's printed values.
    const limit = Math.sqrt(6 / (784 + 300));
    expect(weights?.data.every((w) => Math.abs(w) < limit)).toBe(true);
    const largest = (weights?.data ?? new Float32Array()).reduce((m, w) => Math.max(m, Math.abs(w)), 0);
    expect(largest).toBeGreaterThan(0.99 * limit); // 235,200 draws reach the edge
    expect(hidden1.trainable).toBe(true);
  });

  it('setWeights checks count, length, shape and finiteness before setting anything', async () => {
    const d = layers.dense(2, { input_shape: [3] });
    sequential({ layers: [d] });
    const before = (await d.getWeights()).map((w) => Array.from(w.data));
    await expect(d.setWeights([new Float32Array(6)])).rejects.toThrow(/the layer has 2 weights/);
    await expect(d.setWeights([new Float32Array(5), new Float32Array(2)])).rejects.toThrow(
      /"dense(_\d+)?\/kernel" \[3, 2\] needs 6 values, got 5/,
    );
    await expect(
      d.setWeights([{ data: new Float32Array(6), shape: [2, 3] }, new Float32Array(2)]),
    ).rejects.toThrow(/has shape \[3, 2\], got values of shape \[2,3\]/);
    await expect(d.setWeights([new Float32Array(6), [0, Number.NaN]])).rejects.toThrow(
      /has NaN at index 1 \(of 2 values\); weights must be finite\. Nothing was changed/,
    );
    expect((await d.getWeights()).map((w) => Array.from(w.data))).toEqual(before);
    await d.setWeights([[1, 2, 3, 4, 5, 6], { data: [7, 8], shape: [2] }]);
    const [k, b] = await d.getWeights();
    expect(Array.from(k?.data ?? [])).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Array.from(b?.data ?? [])).toEqual([7, 8]);
  });
});

describe('per-layer weights and the GPU copy', () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await initEngine({ adapter: (process.env.WEBGPU_MLP_ADAPTER ?? 'auto') as 'auto', log: false });
  });
  afterAll(() => engine.dispose());

  it('getWeights reads what training left on the GPU; setWeights reaches the GPU copy', async () => {
    const d = layers.dense(1, { input_shape: [2] });
    const m = sequential({ layers: [d] });
    m.compile({ optimizer: optimizers.sgd({ learningRate: 0.1 }), loss: 'meanSquaredError' });
    await d.setWeights([[1, -1], [0]]);
    // One SGD step on x = [[1, 2], [3, 4]], y = [[1], [0]] from w = [1, −1], b = 0:
    // ŷ = [−1, −1], e = [−2, −1]; dL/dw = Σ eᵢxᵢ = [−5, −8], dL/db = −3 (mean over 2, ×2).
    // w ← [1, −1] − 0.1·[−5, −8] = [1.5, −0.2]; b ← 0.3.
    await m.fit(
      [
        [1, 2],
        [3, 4],
      ],
      [[1], [0]],
      { epochs: 1, batchSize: 2, shuffle: false, verbose: 0 },
    );
    const [k, b] = await d.getWeights();
    expect(k?.data[0]).toBeCloseTo(1.5, 6);
    expect(k?.data[1]).toBeCloseTo(-0.2, 6);
    expect(b?.data[0]).toBeCloseTo(0.3, 6);
    // The layer's values are the model's.
    const fromModel = await m.getWeights();
    expect(Array.from(fromModel[0]?.data ?? [])).toEqual(Array.from(k?.data ?? []));
    // New values reach the copy the model predicts with: ŷ = 2·1 + 3·1 + 1 = 6.
    await d.setWeights([[2, 3], [1]]);
    const p = await m.predict([[1, 1]]);
    expect(Array.isArray(p) ? undefined : p.data[0]).toBeCloseTo(6, 5);
  });
});
