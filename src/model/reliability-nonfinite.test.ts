/**
 * Overflow with a finite loss: inputs near the f32 limit (3e38 is finite) or a huge learning
 * rate can make the update write ±Inf or NaN into a weight or the optimizer state while the
 * loss of that step is still finite. The update records that step itself, so fit undoes it:
 * after the NonFiniteLossError the weights and the optimizer state are bit for bit those from
 * before the step (checked against the model before fit, or against a second model trained on
 * the rows before it, and against a float64 reference of those steps), and a next fit trains.
 *
 * The models are one Dense unit over two features, MSE, batch size 1 unless said, no shuffle:
 * loss (ŷ − y)², gradients 2(ŷ − y)·x and 2(ŷ − y). A kernel entry of exactly 0 on a 3e38
 * feature keeps ŷ (and the loss) finite while that entry's gradient overflows to ±Inf.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  callbacks,
  initEngine,
  layers,
  NonFiniteLossError,
  NonFiniteWeightError,
  optimizers,
  sequential,
  type Engine,
  type Optimizer,
} from '../node/index.js';

let engine: Engine;
beforeAll(async () => {
  engine = await initEngine({ adapter: (process.env.WEBGPU_MLP_ADAPTER ?? 'auto') as 'auto', log: false });
});
afterAll(() => engine.dispose());

type Rows = { x: number[][]; y: number[][] };

/** Dense(1) over 2 features, compiled with `optimizer` and MSE, starting at kernel w, bias b. */
async function dense(optimizer: Optimizer, w: [number, number], b: number) {
  const m = sequential({ layers: [layers.dense({ units: 1, inputShape: [2] })] });
  m.compile({ optimizer, loss: 'meanSquaredError' });
  await m.setWeights([Float32Array.from(w), Float32Array.from([b])]);
  return m;
}

type Model = Awaited<ReturnType<typeof dense>>;

/** The f32 bit patterns of values (so −0, NaN payloads and ±Inf all compare exactly). */
function bits(a: ArrayLike<number>): number[] {
  return Array.from(new Uint32Array(Float32Array.from(a).buffer));
}

/**
 * Weights and optimizer state as bit patterns, by name without the layer's (so that two
 * models compare): 'kernel', 'bias', 'iterations', 'kernel/velocity'... Each value is also
 * checked finite.
 */
async function state(m: Model): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = {};
  for (const t of [...(await m.getWeights()), ...(await m.getOptimizerWeights())]) {
    expect(Array.from(t.data).every(Number.isFinite), `${t.name} finite`).toBe(true);
    out[t.name.replace(/^[^/]*\//, '')] = bits(t.data);
  }
  return out;
}

/** fit's rejection, required to be a NonFiniteLossError. */
async function failingFit(
  m: Model,
  rows: Rows,
  args: Record<string, unknown> = {},
): Promise<NonFiniteLossError> {
  const err = await m
    .fit(rows.x, rows.y, { epochs: 1, batchSize: 1, shuffle: false, verbose: 0, ...args })
    .catch((e: unknown) => e);
  expect(err).toBeInstanceOf(NonFiniteLossError);
  return err as NonFiniteLossError;
}

const OVERFLOW_MESSAGE =
  /a weight or optimizer state value became NaN or infinite at step (\d+) of the epoch/;

/** The MSE of Dense(1) at kernel w, bias b over rows, in float64. */
function mse(w: readonly number[], b: number, rows: Rows): number {
  let sum = 0;
  rows.x.forEach((x, r) => {
    const e = (x[0] ?? 0) * (w[0] ?? 0) + (x[1] ?? 0) * (w[1] ?? 0) + b - (rows.y[r]?.[0] ?? 0);
    sum += e * e;
  });
  return sum / rows.x.length;
}

/**
 * A next fit on clean rows trains: one full-batch step, whose loss is the MSE at the weights
 * the failed fit left (read from the model), and finite weights after it.
 */
async function expectNextFitTrains(m: Model): Promise<void> {
  const clean: Rows = {
    x: [
      [1, 2],
      [3, 4],
    ],
    y: [[1], [0]],
  };
  const [kernel, bias] = await m.getWeights();
  const want = mse(Array.from(kernel?.data ?? []), bias?.data[0] ?? NaN, clean);
  const h = await m.fit(clean.x, clean.y, { epochs: 1, batchSize: 2, shuffle: false, verbose: 0 });
  expect(h.history.loss?.[0]).toBeCloseTo(want, 4);
  const after = await m.getWeights();
  expect(after.every((t) => Array.from(t.data).every(Number.isFinite))).toBe(true);
  expect(bits(after[0]?.data ?? [])).not.toEqual(bits(kernel?.data ?? []));
}

describe('overflow with a finite loss', () => {
  it('x = 3e38 at the first step: named as an overflow at step 0, weights and state as before fit', async () => {
    const m = await dense(optimizers.sgd({ learningRate: 0.01, momentum: 0.9 }), [0, 0.5], 0);
    const before = await state(m);
    // ŷ = 0·3e38 + 0.5·1 = 0.5, loss 2.25; the kernel's gradient 2·(−1.5)·3e38 is −Inf.
    const rows: Rows = { x: [[3e38, 1]], y: [[2]] };
    expect(mse([0, 0.5], 0, rows)).toBe(2.25);
    const err = await failingFit(m, rows);
    expect(err.what).toBe('weights');
    expect(err.epochStep).toBe(0);
    expect(err.message).toMatch(OVERFLOW_MESSAGE);
    expect(err.message).toMatch(/too large|too high/);
    expect(err.message).toMatch(/restored to their values before that step/);
    expect(await state(m)).toEqual(before);
    await expectNextFitTrains(m);
  });

  for (const stepsPerSubmit of [2, 32]) {
    it(`x = 3e38 at step 3 (stepsPerSubmit ${stepsPerSubmit}): the weights of the 3 steps before it`, async () => {
      // Feature 1 is 0 in the first three rows, so its kernel entry stays exactly 0 and the
      // 3e38 in row 3 leaves ŷ finite; its gradient 2(ŷ − 10)·3e38 overflows. The loss is
      // finite at every step: without the update's check this epoch would end "fine".
      const rows: Rows = {
        x: [
          [1, 0],
          [2, 0],
          [-1, 0],
          [0.5, 3e38],
        ],
        y: [[1], [0], [2], [10]],
      };
      const lr = 0.05;
      const mu = 0.9;
      const w0: [number, number] = [0.5, 0];
      const b0 = 0.25;
      const m = await dense(optimizers.sgd({ learningRate: lr, momentum: mu }), w0, b0);
      const err = await failingFit(m, rows, { stepsPerSubmit });
      expect(err.what).toBe('weights');
      expect(err.epochStep).toBe(3);
      expect(err.message).toMatch(OVERFLOW_MESSAGE);
      expect(err.message).toMatch(/restored/);

      // The same model trained on the first three rows only.
      const ref = await dense(optimizers.sgd({ learningRate: lr, momentum: mu }), w0, b0);
      await ref.fit(rows.x.slice(0, 3), rows.y.slice(0, 3), {
        epochs: 1,
        batchSize: 1,
        shuffle: false,
        verbose: 0,
      });
      const got = await state(m);
      expect(got).toEqual(await state(ref));

      // And the float64 reference of those three steps (Keras's momentum: v = μv − lr·g, w += v).
      const w = [...w0, b0];
      const v = [0, 0, 0];
      for (let r = 0; r < 3; r++) {
        const x = [...(rows.x[r] ?? []), 1];
        const e = x.reduce((s, xi, k) => s + xi * (w[k] ?? 0), 0) - (rows.y[r]?.[0] ?? 0);
        for (let k = 0; k < 3; k++) {
          v[k] = mu * (v[k] ?? 0) - lr * 2 * e * (x[k] ?? 0);
          w[k] = (w[k] ?? 0) + (v[k] ?? 0);
        }
      }
      const [kernel, bias] = await m.getWeights();
      const values = [...Array.from(kernel?.data ?? []), bias?.data[0] ?? NaN];
      values.forEach((x, k) =>
        expect(Math.abs(x - (w[k] ?? 0))).toBeLessThan(1e-6 + 1e-5 * Math.abs(w[k] ?? 0)),
      );
      expect(values[1]).toBe(0); // the 3e38 feature's entry, untouched by the rows before
      const opt = await m.getOptimizerWeights();
      expect(opt.find((t) => t.name === 'iterations')?.data[0]).toBe(3);
      const velocity = opt.filter((t) => t.name.endsWith('/velocity')).flatMap((t) => Array.from(t.data));
      velocity.forEach((x, k) =>
        expect(Math.abs(x - (v[k] ?? 0))).toBeLessThan(1e-6 + 1e-5 * Math.abs(v[k] ?? 0)),
      );
      await expectNextFitTrains(m);
    });
  }

  it('a learning rate of 1e38: lr·g overflows at step 0 while its loss is 25', async () => {
    const m = await dense(optimizers.sgd({ learningRate: 1e38, momentum: 0.9 }), [0.5, -0.25], 0);
    const before = await state(m);
    // ŷ = 0.5 − 0.5 = 0, loss 25; v = −1e38·2·(−5)·[1, 2] overflows.
    const rows: Rows = {
      x: [
        [1, 2],
        [3, 4],
      ],
      y: [[5], [6]],
    };
    expect(mse([0.5, -0.25], 0, { x: rows.x.slice(0, 1), y: rows.y.slice(0, 1) })).toBe(25);
    const err = await failingFit(m, rows);
    expect(err.what).toBe('weights');
    expect(err.epochStep).toBe(0);
    expect(err.message).toMatch(OVERFLOW_MESSAGE);
    expect(await state(m)).toEqual(before);
    m.learningRate = 0.01;
    await expectNextFitTrains(m);
  });

  it('computeGradients with a learning rate of 1e38: the finite gradients, nothing changed', async () => {
    const m = await dense(optimizers.sgd({ learningRate: 1e38 }), [0.5, -0.25], 0);
    const before = await state(m);
    // One row: ŷ = 0, e = ŷ − y = −5; d(e²)/dw = 2e·x = [−10, −20], d/db = 2e = −10.
    const grads = await m.computeGradients([[1, 2]], [[5]]);
    expect(grads.map((g) => Array.from(g.data))).toEqual([[-10, -20], [-10]]);
    expect(await state(m)).toEqual(before);
  });

  it("Adam's g² overflows (x = 1e20) while the weights stay finite: the state is restored too", async () => {
    const m = await dense(optimizers.adam({ learningRate: 0.001 }), [0, 0.5], 0);
    const before = await state(m);
    // ŷ = 0.5, loss 2.25; g = −3e20 for the kernel's first entry: v = 0.001·g² is Inf in f32,
    // and the update m·α/(√v + ε) is 0, so only the optimizer state goes non-finite.
    const err = await failingFit(m, { x: [[1e20, 1]], y: [[2]] });
    expect(err.what).toBe('weights');
    expect(err.epochStep).toBe(0);
    expect(err.message).toMatch(OVERFLOW_MESSAGE);
    const after = await state(m);
    expect(after).toEqual(before);
    expect(after.iterations).toEqual(bits([0]));
    await expectNextFitTrains(m);
  });

  it('an infinite loss is still named as the loss, though its overflowing gradients are written too', async () => {
    const m = await dense(optimizers.sgd({ learningRate: 0.01 }), [0.5, 0.5], 0);
    // Step 0 is finite (e = 0.5); at step 1 ŷ ≈ 0.49·1e20 makes (ŷ − y)² and 2(ŷ − y)·x overflow.
    const err = await failingFit(m, {
      x: [
        [1, 2],
        [1e20, 0],
      ],
      y: [[1], [0]],
    });
    expect(err.what).toBe('loss');
    expect(err.epochStep).toBe(1);
    expect(err.message).toMatch(/the loss became NaN or infinite at step 1 of the epoch/);
    // Restored to after step 0: one SGD step from [0.5, 0.5], 0 on row 0 (e = 0.5).
    const [kernel, bias] = await m.getWeights();
    const e = 0.5 * 1 + 0.5 * 2 - 1;
    const want = [0.5 - 0.01 * 2 * e * 1, 0.5 - 0.01 * 2 * e * 2, 0 - 0.01 * 2 * e];
    [...Array.from(kernel?.data ?? []), bias?.data[0] ?? NaN].forEach((x, k) =>
      expect(Math.abs(x - (want[k] ?? 0))).toBeLessThan(1e-7),
    );
    await state(m); // finite
  });

  it('TerminateOnNaN ends fit on an overflow without throwing; weights and predictions finite', async () => {
    const m = await dense(optimizers.sgd({ learningRate: 0.01, momentum: 0.9 }), [0, 0.5], 0.25);
    const before = await state(m);
    const h = await m.fit([[3e38, 1]], [[2]], {
      epochs: 3,
      batchSize: 1,
      shuffle: false,
      verbose: 0,
      callbacks: [callbacks.terminateOnNaN()],
    });
    expect(h.epoch).toEqual([0]);
    expect(Number.isNaN(h.history.loss?.[0])).toBe(true);
    expect(await state(m)).toEqual(before);
    // ŷ = 0·x0 + 0.5·x1 + 0.25 at the restored weights.
    const p = await m.predict([
      [1, 2],
      [-4, 3],
    ]);
    const data = Array.isArray(p) ? p[0]?.data : p.data;
    expect(Array.from(data ?? [])).toEqual([1.25, 1.75]);
  });
});

describe('non-finite weights from the host', () => {
  for (const bad of [NaN, Infinity, -Infinity]) {
    it(`setWeights refuses ${bad} naming the weight and index; nothing is set, fit trains`, async () => {
      const m = await dense(optimizers.sgd({ learningRate: 0.01 }), [0.5, -0.5], 0.25);
      const before = await state(m);
      const kernel = Float32Array.from([1, 2]);
      const err = await m.setWeights([kernel, Float32Array.from([bad])]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NonFiniteWeightError);
      expect((err as NonFiniteWeightError).weight).toMatch(/\/bias$/);
      expect((err as NonFiniteWeightError).index).toBe(0);
      expect((err as Error).message).toMatch(
        new RegExp(`setWeights: weight ".*/bias" has ${String(bad)} at index 0 \\(of 1 values\\)`),
      );
      expect(await state(m)).toEqual(before); // the valid kernel was not set either
      // One step of SGD on ((0.5·1 − 0.5·2 + 0.25) − 1)² from the unchanged weights.
      await m.fit([[1, 2]], [[1]], { epochs: 1, batchSize: 1, verbose: 0 });
      const g = 2 * (0.5 - 1 + 0.25 - 1);
      const w = (await m.getWeights()).flatMap((t) => Array.from(t.data));
      [0.5 - 0.01 * g, -0.5 - 0.01 * g * 2, 0.25 - 0.01 * g].forEach((v, k) =>
        expect(w[k]).toBeCloseTo(v, 6),
      );
    });
  }
});
