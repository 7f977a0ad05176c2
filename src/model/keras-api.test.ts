/**
 * Keras's model API as the course's decks use it, against Keras's documented behaviour and
 * closed forms: options in either spelling (unknown ones refused with a suggestion),
 * validation_freq, evaluate's list with named values (return_dict), a Sequential without
 * input shape built by its first data or build(), model.layers / getLayer / inputs / outputs,
 * and frozen layers (bit-identical weights; a frozen BatchNormalization in inference mode,
 * checked against its float64 formula).
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { initEngine, type Engine } from '../node/index.js';
import { InputLayer, layers } from '../nn/layers/index.js';
import { optimizers } from '../nn/optimizers.js';
import { input, model, sequential, type LayersModel } from './model.js';

let engine: Engine;
beforeAll(async () => {
  engine = await initEngine({ adapter: (process.env.WEBGPU_MLP_ADAPTER ?? 'auto') as 'auto', log: false });
});
afterAll(() => engine.dispose());

/** ŷ = x·[1, −1] + 0.5, fixed weights. */
async function linear(): Promise<LayersModel> {
  const m = sequential({ layers: [layers.dense({ units: 1, inputShape: [2] })] });
  await m.setWeights([Float32Array.from([1, -1]), Float32Array.from([0.5])]);
  return m;
}

const X = [
  [1, 2],
  [3, 1],
  [0, 0],
  [2, 2],
];
// ŷ = [-0.5, 2.5, 0.5, 0.5]; y below: e = ŷ − y = [-1.5, 0.5, 0.5, -0.5].
const Y = [[1], [2], [0], [1]];
const MSE = (2.25 + 0.25 + 0.25 + 0.25) / 4;
const MAE = (1.5 + 0.5 + 0.5 + 0.5) / 4;

const bits = (a: Float32Array | undefined): number[] =>
  a ? [...new Uint32Array(a.buffer, a.byteOffset, a.length)] : [];
/** a[i], which the test knows is there. */
const at = (a: ArrayLike<number>, i: number): number => a[i] ?? NaN;

describe('options in either spelling', () => {
  it("fit reads Keras's snake_case (batch_size, validation_split) and tfjs's camelCase alike", async () => {
    const m = await linear();
    m.compile({ optimizer: 'sgd', loss: 'mse' });
    const seen: { batchSize: number; steps: number; doValidation: boolean }[] = [];
    const probe = {
      setParams: (p: { batchSize: number; steps: number; doValidation: boolean }) => seen.push(p),
    };
    const h = await m.fit(X, Y, {
      batch_size: 1,
      validation_split: 0.5,
      epochs: 2,
      verbose: 0,
      callbacks: probe,
    });
    expect(seen[0]).toMatchObject({ batchSize: 1, steps: 2, doValidation: true });
    expect(h.history.val_loss).toHaveLength(2);
    const h2 = await m.fit(X, Y, { batchSize: 4, validationSplit: 0.25, verbose: 0, callbacks: probe });
    expect(seen[1]).toMatchObject({ batchSize: 4, steps: 1, doValidation: true });
    expect(h2.history.val_loss).toHaveLength(1);
  });

  it('unknown options are refused with the closest valid one; Keras options missing here are named', async () => {
    const m = await linear();
    m.compile({ optimizer: 'sgd', loss: 'mse' });
    const before = await m.getWeights();
    await expect(m.fit(X, Y, { epoch: 3 } as never)).rejects.toThrow(
      /unknown option 'epoch'; did you mean 'epochs'/,
    );
    await expect(m.fit(X, Y, { batch_sise: 3 } as never)).rejects.toThrow(/did you mean 'batch_size'/);
    await expect(m.evaluate(X, Y, { class_weight: { 0: 1 } } as never)).rejects.toThrow(
      /evaluate: 'class_weight' is not an option of Keras's evaluate/,
    );
    await expect(m.fit(X, Y, { batch_size: 2, batchSize: 2 })).rejects.toThrow(/same option/);
    await expect(m.predict(X, { sample_weight: [1] } as never)).rejects.toThrow(/not supported yet/);
    await expect(m.evaluate(X, Y, { batchsize: 2 } as never)).rejects.toThrow(/did you mean 'batchSize'/);
    await expect(m.predict(X, { batch: 2 } as never)).rejects.toThrow(/unknown option 'batch'/);
    await expect(m.fit(X, Y, { steps_per_epoch: 2 } as never)).rejects.toThrow(/no equivalent here/);
    expect(() => m.compile({ optimizer: 'sgd', loss: 'mse', metric: ['mae'] } as never)).toThrow(
      /did you mean 'metrics'/,
    );
    expect(() => m.compile({ optimizer: 'sgd', loss: 'mse', weighted_metrics: ['maee'] })).toThrow(
      /unknown metric 'maee'/,
    );
    await expect(m.save('file:///nowhere', { include_optimiser: true } as never)).rejects.toThrow(
      /did you mean 'include_optimizer'/,
    );
    expect(() => m.summary({ print_fn: 3 } as never)).toThrow(/printFn must be a function/);
    // Nothing ran: the weights are untouched.
    expect((await m.getWeights()).map((w) => bits(w.data))).toEqual(before.map((w) => bits(w.data)));
  });

  it('compile, evaluate, predict and save take snake_case too', async () => {
    const m = await linear();
    m.compile({ optimizer: 'sgd', loss: 'mse', loss_weights: [1], metrics: ['mae'] });
    const r = await m.evaluate(X, Y, { batch_size: 3, return_dict: true });
    expect(r.loss).toBeCloseTo(MSE, 6);
    const p = await m.predict(X, { batch_size: 3, verbose: 0 });
    expect(Array.isArray(p) ? undefined : [...p.data]).toEqual([-0.5, 2.5, 0.5, 0.5]);
    const lines: string[] = [];
    m.summary({ print_fn: (l: string) => lines.push(l) });
    expect(lines).toContain('Total params: 3');
  });
});

describe('validationFreq (Keras validation_freq)', () => {
  async function validatedEpochs(freq: number | number[], epochs: number): Promise<number[]> {
    const m = await linear();
    m.compile({ optimizer: 'sgd', loss: 'mse' });
    const validated: number[] = [];
    const h = await m.fit(X, Y, {
      epochs,
      verbose: 0,
      validation_data: [X, Y],
      validation_freq: freq,
      callbacks: {
        onEpochEnd: (e: number, logs?: Record<string, number>) => {
          if (logs && 'val_loss' in logs) validated.push(e + 1);
        },
      },
    });
    expect(h.history.val_loss).toHaveLength(validated.length);
    expect(h.history.loss).toHaveLength(epochs);
    return validated;
  }

  it('an integer n validates after epochs n, 2n, ... (counted from 1); a list after the epochs listed', async () => {
    expect(await validatedEpochs(2, 5)).toEqual([2, 4]);
    expect(await validatedEpochs(1, 3)).toEqual([1, 2, 3]);
    expect(await validatedEpochs([1, 4], 5)).toEqual([1, 4]);
  });

  it('bad values are refused, naming the option', async () => {
    const m = await linear();
    m.compile({ optimizer: 'sgd', loss: 'mse' });
    await expect(m.fit(X, Y, { validationFreq: 0, verbose: 0 })).rejects.toThrow(
      /validationFreq 0 must be an integer ≥ 1/,
    );
    await expect(m.fit(X, Y, { validationFreq: [0.5], verbose: 0 })).rejects.toThrow(
      /validationFreq lists epoch 0.5/,
    );
  });
});

describe("evaluate's result", () => {
  it("destructures as Keras's list (loss, then the metrics in compile order) and keeps the names", async () => {
    const m = await linear();
    m.compile({ optimizer: 'sgd', loss: 'mse', metrics: ['mae', 'mse'] });
    const r = await m.evaluate(X, Y);
    const [loss, mae, mse] = r;
    expect(loss).toBeCloseTo(MSE, 6);
    expect(mae).toBeCloseTo(MAE, 6);
    expect(mse).toBeCloseTo(MSE, 6);
    expect(r).toHaveLength(3);
    expect(r.loss).toBe(loss);
    expect(r.mae).toBe(mae);
    const d = await m.evaluate(X, Y, { returnDict: true });
    expect(Array.isArray(d)).toBe(false);
    expect(d).toEqual({ loss, mae, mse });
    // testOnBatch and trainOnBatch give the same shapes (trainOnBatch: the loss before its step).
    const t = await m.testOnBatch(X, Y);
    expect([...t]).toEqual([...r]);
    expect(await m.testOnBatch(X, Y, { return_dict: true })).toEqual(d);
    const [trainLoss] = await m.trainOnBatch(X, Y);
    expect(trainLoss).toBeCloseTo(MSE, 6);
  });

  it('a model without metrics gives a list of one loss; several outputs: per-output losses in output order, then the rest sorted (Keras 3)', async () => {
    const m = await linear();
    m.compile({ optimizer: 'sgd', loss: 'mse' });
    const [mse] = await m.evaluate(X, Y);
    expect(mse).toBeCloseTo(MSE, 6);

    const x = input({ shape: [2], name: 'kx' });
    const a = layers.dense({ units: 1, name: 'k_b' }).apply(x);
    const b = layers.dense({ units: 1, name: 'k_a' }).apply(x);
    const two = model({ inputs: x, outputs: [a, b] });
    two.compile({ optimizer: 'sgd', loss: 'mse', metrics: ['mae'] });
    const r = await two.evaluate(X, [Y, Y]);
    const d = await two.evaluate(X, [Y, Y], { returnDict: true });
    // Trainer._flatten_metrics_in_order: loss, the compiled metrics' plain names found in the
    // logs (none: several outputs prefix them), the per-output losses, the other keys sorted.
    const order = ['loss', 'k_b_loss', 'k_a_loss', 'k_a_mae', 'k_b_mae'];
    expect([...r]).toEqual(order.map((k) => d[k]));
  });
});

describe('deferred build (a Sequential without input shape)', () => {
  it('summary says the model is not built; compile works; the first data builds it', async () => {
    const m = sequential({ layers: [layers.dense({ units: 3 }), layers.dense({ units: 1 })] });
    expect(m.isBuilt).toBe(false);
    expect(() => m.summary(() => undefined)).toThrow(/This model has not yet been built/);
    expect(() => m.inputs).toThrow(/no defined inputs yet/);
    expect(m.layers).toHaveLength(2);
    expect(await m.getWeights()).toEqual([]);
    m.compile({ optimizer: 'sgd', loss: 'mse', metrics: ['mae'] });
    const h = await m.fit(X, Y, { epochs: 1, verbose: 0 });
    expect(h.history.loss).toHaveLength(1);
    expect(m.isBuilt).toBe(true);
    expect(m.inputs[0]?.shape).toEqual([2]);
    expect(m.countParams()).toBe(2 * 3 + 3 + 3 + 1);
    const lines: string[] = [];
    m.summary((l) => lines.push(l));
    expect(lines).toContain('Total params: 13');
  });

  it('build([null, n]) and build([n]) build it, as Keras; predict and evaluate build from their data', async () => {
    const a = sequential({ layers: [layers.dense({ units: 1 })] });
    a.build([null, 2]);
    await a.setWeights([Float32Array.from([1, -1]), Float32Array.from([0.5])]);
    const pa = await a.predict(X);
    expect(Array.isArray(pa) ? undefined : [...pa.data]).toEqual([-0.5, 2.5, 0.5, 0.5]);
    expect(() => a.build([null, 3])).toThrow(/built for inputs \[null, 2\]/);

    const b = sequential({ layers: [layers.dense({ units: 1 })] });
    b.build([2]);
    expect(b.inputs[0]?.shape).toEqual([2]);

    const c = sequential({ layers: [layers.flatten(), layers.dense({ units: 1 })] });
    const p = await c.predict({ data: new Float32Array(3 * 6), shape: [3, 2, 3] });
    expect(Array.isArray(p) ? undefined : p.shape).toEqual([3, 1]);
    expect(c.inputs[0]?.shape).toEqual([2, 3]);

    const d = sequential({ layers: [layers.dense({ units: 1 })] });
    d.compile({ optimizer: 'sgd', loss: 'mse' });
    await expect(d.evaluate(new Float32Array(8), new Float32Array(4))).rejects.toThrow(
      /flat array.*model\.build/,
    );
    expect(d.isBuilt).toBe(false);
    const [loss] = await d.evaluate(X, Y);
    expect(loss).toBeGreaterThanOrEqual(0);
    expect(() => sequential({ layers: [layers.dense({ units: 1 })] }).build([null])).toThrow(/no per-sample/);
  });
});

describe('model.layers, getLayer, inputs and outputs', () => {
  it('a Sequential lists its stack without the InputLayer; a functional model lists its inputs', () => {
    const s = sequential({
      layers: [
        layers.inputLayer({ inputShape: [2] }),
        layers.dense({ units: 3, name: 'ga' }),
        layers.dense({ units: 1, name: 'gb' }),
      ],
    });
    expect(s.layers.map((l) => l.name)).toEqual(['ga', 'gb']);
    expect(s.layers.some((l) => l instanceof InputLayer)).toBe(false);
    const x = input({ shape: [2], name: 'gin' });
    const f = model({ inputs: x, outputs: layers.dense({ units: 1, name: 'gout' }).apply(x) });
    expect(f.layers.map((l) => l.name)).toEqual(['gin', 'gout']);
    expect(f.inputs.map((t) => t.name)).toEqual(['gin']);
    expect(f.outputs.map((t) => t.name)).toEqual(['gout']);
  });

  it('getLayer(name), getLayer(undefined, index), getLayer({ index }) as Keras get_layer', () => {
    const s = sequential({
      layers: [
        layers.dense({ units: 3, name: 'hl_a', inputShape: [2] }),
        layers.dense({ units: 1, name: 'hl_b' }),
      ],
    });
    expect(s.getLayer('hl_b').name).toBe('hl_b');
    expect(s.getLayer(undefined, 0).name).toBe('hl_a');
    expect(s.getLayer({ index: 1 }).name).toBe('hl_b');
    expect(s.getLayer({ name: 'hl_a' }).name).toBe('hl_a');
    expect(s.getLayer({ index: -1 }).name).toBe('hl_b');
    expect(() => s.getLayer('hl_c')).toThrow(/no such layer: "hl_c"; did you mean "hl_a"\?.*hl_a, hl_b/);
    expect(() => s.getLayer(undefined, 2)).toThrow(/index 2, but the model only has 2 layers/);
    expect(() => s.getLayer({ name: 'hl_a', index: 0 })).toThrow(/only a layer name or a layer index/);
    expect(() => s.getLayer()).toThrow(/either a layer name or a layer index/);
    expect(() => s.getLayer({ idx: 0 } as never)).toThrow(/did you mean 'index'/);
  });
});

describe('frozen layers (trainable = false)', () => {
  it('a frozen Dense is not updated by fit (bit-identical); the others are', async () => {
    const frozen = layers.dense({ units: 3, inputShape: [2], activation: 'tanh' });
    const head = layers.dense({ units: 1 });
    const m = sequential({ layers: [frozen, head] });
    frozen.trainable = false;
    m.compile({ optimizer: optimizers.sgd({ learningRate: 0.1 }), loss: 'mse' });
    const before = await m.getWeights();
    await m.fit(X, Y, { epochs: 3, batchSize: 2, verbose: 0 });
    const after = await m.getWeights();
    expect(bits(after[0]?.data)).toEqual(bits(before[0]?.data));
    expect(bits(after[1]?.data)).toEqual(bits(before[1]?.data));
    expect(bits(after[2]?.data)).not.toEqual(bits(before[2]?.data));
    const lines: string[] = [];
    m.summary((l) => lines.push(l));
    expect(lines).toContain('Trainable params: 4');
    expect(lines).toContain('Non-trainable params: 9');
  });

  it('as in Keras, a change of trainable after compile() takes effect at the next compile()', async () => {
    const first = layers.dense({ units: 2, inputShape: [2] });
    const m = sequential({ layers: [first, layers.dense({ units: 1 })] });
    m.compile({ optimizer: 'sgd', loss: 'mse' });
    first.trainable = false;
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const w0 = await m.getWeights();
    await m.fit(X, Y, { epochs: 1, verbose: 0 });
    expect(warn.mock.calls.some(([line]) => /takes effect at the next compile/.test(String(line)))).toBe(
      true,
    );
    warn.mockRestore();
    const w1 = await m.getWeights();
    expect(bits(w1[0]?.data)).not.toEqual(bits(w0[0]?.data)); // compiled trainable: it trained
    m.compile({ optimizer: 'sgd', loss: 'mse' });
    await m.fit(X, Y, { epochs: 1, verbose: 0 });
    const w2 = await m.getWeights();
    expect(bits(w2[0]?.data)).toEqual(bits(w1[0]?.data)); // recompiled frozen: unchanged
  });

  it('a frozen BatchNormalization runs in inference mode in training: moving statistics, not updated (float64 reference)', async () => {
    // x → dense1 (2×2, trainable) → BN (frozen) → dense2 (2×1, trainable); loss mse.
    const d1 = layers.dense({ units: 2, inputShape: [2] });
    const bn = layers.batchNormalization();
    const d2 = layers.dense({ units: 1 });
    const m = sequential({ layers: [d1, bn, d2] });
    bn.trainable = false;
    const W1 = [0.5, -0.25, 0.75, 1]; // [in, out] row-major
    const b1 = [0.1, -0.2];
    const gamma = [1.5, 0.5];
    const beta = [0.25, -0.5];
    const mean = [0.3, -0.4];
    const variance = [2, 0.5];
    const W2 = [0.8, -1.2];
    const b2 = [0.05];
    await m.setWeights([W1, b1, gamma, beta, mean, variance, W2, b2].map((a) => Float32Array.from(a)));
    const eps = 1e-3;
    // Float64 forward with the moving statistics, and the analytic gradient of the mse.
    const n = X.length;
    let loss = 0;
    const gW1 = [0, 0, 0, 0];
    const gW2 = [0, 0];
    for (let r = 0; r < n; r++) {
      const x = X[r] as number[];
      const h = [0, 1].map(
        (j) => (x[0] as number) * at(W1, j) + (x[1] as number) * at(W1, 2 + j) + at(b1, j),
      );
      const s = [0, 1].map((j) => at(gamma, j) / Math.sqrt(at(variance, j) + eps));
      const z = [0, 1].map((j) => (at(h, j) - at(mean, j)) * at(s, j) + at(beta, j));
      const yhat = at(z, 0) * at(W2, 0) + at(z, 1) * at(W2, 1) + at(b2, 0);
      const e = yhat - at(Y[r] ?? [], 0);
      loss += (e * e) / n;
      const dy = (2 * e) / n;
      for (const j of [0, 1]) {
        gW2[j] = at(gW2, j) + dy * at(z, j);
        const dh = dy * at(W2, j) * at(s, j);
        gW1[j] = at(gW1, j) + dh * (x[0] as number);
        gW1[2 + j] = at(gW1, 2 + j) + dh * (x[1] as number);
      }
    }
    m.compile({ optimizer: optimizers.sgd({ learningRate: 0.1 }), loss: 'mse' });
    const grads = await m.computeGradients(X, Y);
    expect(grads.map((g) => g.name)).toEqual(
      [d1.name, d1.name, d2.name, d2.name].map((l, i) => `${l}/${i % 2 ? 'bias' : 'kernel'}`),
    );
    [...(grads[0]?.data ?? [])].forEach((g, i) => expect(g).toBeCloseTo(at(gW1, i), 5));
    [...(grads[2]?.data ?? [])].forEach((g, i) => expect(g).toBeCloseTo(at(gW2, i), 5));
    // The training loss of a step is the inference-mode loss (batch statistics would differ).
    const [trainLoss] = await m.trainOnBatch(X, Y);
    expect(trainLoss).toBeCloseTo(loss, 5);
    await m.fit(X, Y, { epochs: 2, batchSize: 2, verbose: 0 });
    const w = await m.getWeights();
    // γ, β and the moving statistics: bit-identical; the Dense layers trained.
    [gamma, beta, mean, variance].forEach((v, i) =>
      expect(bits(w[2 + i]?.data)).toEqual(bits(Float32Array.from(v))),
    );
    expect(bits(w[0]?.data)).not.toEqual(bits(Float32Array.from(W1)));
    // Unfrozen and recompiled, the same layer uses batch statistics and updates them again.
    bn.trainable = true;
    m.compile({ optimizer: optimizers.sgd({ learningRate: 0.1 }), loss: 'mse' });
    await m.fit(X, Y, { epochs: 1, batchSize: 4, verbose: 0 });
    const w2 = await m.getWeights();
    expect(bits(w2[4]?.data)).not.toEqual(bits(Float32Array.from(mean)));
  });
});

describe("Keras's Sequential and Model constructors", () => {
  it('sequential([...]) takes the layer list positionally, as Keras; options are checked', async () => {
    const m = sequential([layers.dense({ units: 4, inputShape: [3] }), layers.dense({ units: 2 })], {
      name: 'stack',
    });
    expect(m.name).toBe('stack');
    expect(m.layers.map((l) => l.countParams())).toEqual([3 * 4 + 4, 4 * 2 + 2]);
    const p = await m.predict(new Float32Array(6));
    expect((Array.isArray(p) ? p[0] : p)?.shape).toEqual([2, 2]);
    expect(() => sequential({ layer: [layers.dense({ units: 1 })] } as never)).toThrow(
      /sequential: unknown option 'layer'; did you mean 'layers'\?/,
    );
    expect(() => sequential([layers.dense({ units: 1 })], { nmae: 'x' } as never)).toThrow(
      /sequential: unknown option 'nmae'; did you mean 'name'\?/,
    );
    const x = input({ shape: [3] });
    expect(() =>
      model({ inputs: x, outputs: layers.dense({ units: 1 }).apply(x), nmae: 'm' } as never),
    ).toThrow(/model: unknown option 'nmae'; did you mean 'name'\?/);
    await m.dispose();
  });

  it("a later layer's input shape must agree with what it is given, never silently dropped", () => {
    const first = layers.dense({ units: 4, inputShape: [3] });
    expect(() => sequential([first, layers.dense({ units: 2, inputShape: [5] })])).toThrow(
      /layer "dense.*" declares an input shape \[5\], but it follows a layer whose output has shape \[4\]/,
    );
    const agrees = sequential([
      layers.dense({ units: 4, inputShape: [3] }),
      layers.dense({ units: 2, inputShape: [4] }),
    ]);
    expect(agrees.layers.length).toBe(2);
    expect(() =>
      sequential([layers.dense({ units: 4 }), layers.dense({ units: 2, input_dim: 4 } as never)]),
    ).toThrow(/only the first layer of a Sequential model sets its input shape/);
  });
});
