/**
 * What a PyTorch user expects to keep working and what must be freed: views that follow a
 * parameter into its optimizer's arena, a state dict loaded back into its own model,
 * compiled steps evicted or reset (their tensors then refused by name, their buffers freed),
 * constants bounded; the choice of the next replayed
 * iteration (zeroGrad first, a last smaller batch); dropout masks reproducible from a seed;
 * and the numerics of edge cases (log_softmax where softmax underflows, clamp with one
 * bound, class ids of any bits through slices, a leaf's own backward, typed zeros).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initEngine, type Engine } from '../node/index.js';
import { scalar } from './tensor.js';
import { MAX_COMPILED } from './trace.js';
import { manualSeed, nn, optim, Parameter, tensor, tracerOf, zeros, type Tensor } from './index.js';

let engine: Engine;
beforeAll(async () => {
  engine = await initEngine({ adapter: (process.env.WEBGPU_MLP_ADAPTER ?? 'auto') as 'auto', log: false });
});
afterAll(() => engine.dispose());

/** One iteration of a tiny regression: zeroGrad, forward, MSE, backward, step. */
function iteration(model: nn.Module, opt: optim.Optimizer, x: Tensor, y: Tensor): Tensor {
  opt.zeroGrad();
  const loss = new nn.MSELoss()(model(x), y);
  loss.backward();
  opt.step();
  return loss;
}

const X = () =>
  tensor([
    [1, 2],
    [3, -1],
    [0.5, 0.25],
    [-2, 1],
  ]);
const Y = () => tensor([[1], [-1], [0.5], [2]]);

describe('views, state dicts and parameters in an arena', () => {
  it('a view taken before the optimizer follows the parameter into its arena', async () => {
    manualSeed(1);
    const layer = new nn.Linear(2, 1);
    const view = layer.weight.detach();
    const reshaped = layer.weight.reshape(2);
    const before = Array.from(await view.data());
    const opt = new optim.SGD(layer.parameters(), { lr: 0.1 });
    expect(Array.from(await view.data())).toEqual(before);
    iteration(layer, opt, X(), Y());
    const after = Array.from(await layer.weight.data());
    expect(after).not.toEqual(before);
    expect(Array.from(await view.data())).toEqual(after);
    expect(Array.from(await reshaped.data())).toEqual(after);
  });

  it("loading a model's own state dict (views into one arena) changes nothing and breaks nothing", async () => {
    manualSeed(2);
    const model = new nn.Sequential(
      new nn.Linear(2, 3),
      new nn.Tanh(),
      new nn.Linear(3, 3),
      new nn.Tanh(),
      new nn.Linear(3, 1),
    );
    const opt = new optim.Adam(model.parameters(), { lr: 0.01 });
    iteration(model, opt, X(), Y());
    const best = model.stateDict();
    const values = await Promise.all(Object.values(best).map(async (t) => Array.from(await t.data())));
    model.loadStateDict(best);
    for (const [k, t] of Object.entries(model.stateDict())) {
      expect(Array.from(await t.data()), k).toEqual(values[Object.keys(best).indexOf(k)]);
    }
    // A parameter loaded from another slot of the same arena goes through a temporary buffer.
    model.loadStateDict({ ...best, '2.bias': best['0.bias'] as Tensor });
    expect(Array.from(await (model.stateDict()['2.bias'] as Tensor).data())).toEqual(values[1]);
    const loss = iteration(model, opt, X(), Y());
    expect(Number.isFinite(await loss.item())).toBe(true);
  });

  it('a gradient kept from before the optimizer moves into its arena', async () => {
    const p = new nn.Linear(2, 1, false).weight;
    p.mul(tensor([[3, 4]]))
      .sum()
      .backward();
    const opt = new optim.SGD([p], { lr: 1 });
    expect(Array.from(await (p.grad as Tensor).data())).toEqual([3, 4]);
    const before = Array.from(await p.data());
    opt.step();
    const g = [3, 4];
    expect(Array.from(await p.data())).toEqual(before.map((v, i) => Math.fround(v - (g[i] ?? NaN))));
  });
});

describe('parameters from tensors, and optimizers beside other loops', () => {
  it('a Parameter made from a tensor or its view copies it: the tensor stays usable after the optimizer', async () => {
    const w = tensor([1, 2, 3, 4]);
    const p = new Parameter(w.reshape(2, 2));
    const q = new Parameter(w);
    const opt = new optim.SGD([p, q], { lr: 1 });
    p.sum().add(q.sum()).backward();
    opt.step();
    expect(Array.from(await w.data())).toEqual([1, 2, 3, 4]);
    expect(Array.from(await p.data())).toEqual([0, 1, 2, 3]);
    expect(Array.from(await w.reshape(4).data())).toEqual([1, 2, 3, 4]);
  });

  it("a gradient read before the optimizer stays readable; another model's compiled loop and its tensors are untouched", async () => {
    manualSeed(6);
    const a = new nn.Linear(2, 1);
    const optA = new optim.SGD(a.parameters(), { lr: 0.01 });
    const x = X();
    const y = Y();
    let kept: Tensor | undefined;
    for (let k = 0; k < 4; k++) kept = iteration(a, optA, x, y);
    const tracer = tracerOf(engine);
    const compiled = tracer.compiledCount;
    const value = await (kept as Tensor).item();
    // A second model, its gradient read, then its optimizer.
    const b = new nn.Linear(2, 1);
    b(x).sum().backward();
    const g = b.weight.grad as Tensor;
    const gradValues = Array.from(await g.data());
    const optB = new optim.SGD(b.parameters(), { lr: 0.01 });
    expect(Array.from(await g.data())).toEqual(gradValues);
    expect(Array.from(await (b.weight.grad as Tensor).data())).toEqual(gradValues);
    // Model a's compiled step and its last loss were not forgotten.
    expect(tracer.compiledCount).toBe(compiled);
    expect(await (kept as Tensor).item()).toBe(value);
    // The next iteration of a also holds b's ops since a's last step (eager); the one after
    // replays a's compiled step again.
    iteration(a, optA, x, y);
    const r0 = tracer.stats.replayedIterations;
    iteration(a, optA, x, y);
    expect(tracer.stats.replayedIterations - r0).toBe(1);
    iteration(b, optB, x, y);
  });

  it('the same seed gives the same dropout masks in a compiled loop too', async () => {
    const run = async () => {
      manualSeed(77);
      const model = new nn.Sequential(new nn.Linear(2, 16), new nn.Dropout(0.5), new nn.Linear(16, 1));
      const opt = new optim.SGD(model.parameters(), { lr: 0.01 });
      const x = X();
      const y = Y();
      const losses: number[] = [];
      for (let k = 0; k < 6; k++) losses.push(await iteration(model, opt, x, y).item());
      return losses;
    };
    const first = await run();
    const second = await run();
    expect(second).toEqual(first);
    expect(new Set(first).size).toBeGreaterThan(1);
  });

  it('clone() copies any dtype; under noGrad it is a tensor of its own', async () => {
    const ids = tensor([3, -100, 7], { dtype: 'long' });
    const copy = ids.clone();
    expect(copy.dtype).toBe('int32');
    expect(Array.from(await copy.data())).toEqual([3, -100, 7]);
    const x = tensor([1, 2], { requiresGrad: true });
    x.clone().mul(3).sum().backward();
    expect(Array.from(await (x.grad as Tensor).data())).toEqual([3, 3]);
  });
});

describe('compiled steps: freed with their tensors refused, and chosen well', () => {
  it('more iteration shapes than MAX_COMPILED: the oldest compiled step is freed and its tensors refused by name', async () => {
    manualSeed(3);
    const model = new nn.Linear(2, 1);
    const opt = new optim.SGD(model.parameters(), { lr: 0.01 });
    const tracer = tracerOf(engine);
    tracer.reset(); // none of the earlier tests' compiled steps
    const rows = Array.from({ length: 8 }, (_, i) => [i / 8, 1 - i / 8]);
    const Xall = tensor(rows);
    const yall = tensor(rows.map(([a]) => [a as number]));
    let kept: Tensor | undefined;
    // Batch sizes 1 .. MAX_COMPILED + 1, three iterations each: compiled at the second,
    // replayed at the third.
    for (let b = 1; b <= MAX_COMPILED + 1; b++) {
      for (let k = 0; k < 3; k++) {
        const loss = iteration(model, opt, Xall.slice(0, b), yall.slice(0, b));
        if (b === 1) kept = loss;
      }
    }
    expect(tracer.compiledCount).toBe(MAX_COMPILED);
    await expect((kept as Tensor).item()).rejects.toThrow(/was freed with that compiled step/);
    // The model trains on.
    expect(Number.isFinite(await iteration(model, opt, Xall.slice(0, 1), yall.slice(0, 1)).item())).toBe(
      true,
    );
  });

  it('reset() frees a compiled step with its fed inputs', async () => {
    manualSeed(5);
    const rows = 4096;
    const host = Array.from({ length: rows }, (_, i) => [Math.sin(i), Math.cos(i)]);
    const target = host.map(([a]) => [a as number]);
    const model = new nn.Linear(2, 1);
    const opt = new optim.SGD(model.parameters(), { lr: 0.01 });
    const tracer = tracerOf(engine);
    tracer.reset();
    for (let k = 0; k < 4; k++) {
      // Tensors made anew each iteration: fed into the compiled step's own input buffers.
      await iteration(model, opt, tensor(host), tensor(target)).item();
    }
    expect(tracer.compiledCount).toBe(1);
    const before = engine.stats().liveBytes;
    tracer.reset();
    // At least the fed X [4096, 2] and y [4096, 1], the linear's output and the loss's input
    // gradient [4096, 1] (the recordings' own buffers come on top).
    expect(before - engine.stats().liveBytes).toBeGreaterThanOrEqual(4 * rows * (2 + 1 + 1 + 1));
  });

  it('zeroGrad first and a smaller last batch: both kinds of iteration replay', () => {
    manualSeed(4);
    const rows = Array.from({ length: 26 }, (_, i) => [Math.sin(i), Math.cos(i)]);
    const Xall = tensor(rows);
    const yall = tensor(rows.map(([a, b]) => [(a as number) - (b as number)]));
    const model = new nn.Sequential(new nn.Linear(2, 4), new nn.ReLU(), new nn.Linear(4, 1));
    const opt = new optim.Adam(model.parameters(), { lr: 0.01 });
    const tracer = tracerOf(engine);
    const r0 = tracer.stats.replayedIterations;
    const epochs = 8;
    for (let epoch = 0; epoch < epochs; epoch++) {
      for (let i = 0; i < 26; i += 8) {
        opt.zeroGrad(); // before the forward, as many tutorials write it
        const loss = new nn.MSELoss()(model(Xall.slice(i, i + 8)), yall.slice(i, i + 8));
        loss.backward();
        opt.step();
      }
    }
    // Batches 8, 8, 8, 2 an epoch: eager only the first two of each kind (the full batch's
    // at iterations 1, 2; the last batch's in epochs 1 and 2), every other iteration replayed.
    expect(tracer.stats.replayedIterations - r0).toBe(epochs * 4 - 4);
  });

  it('number operands: the same constant is the same tensor, up to a bound', () => {
    const first = scalar(engine, 0.125);
    expect(scalar(engine, 0.125)).toBe(first);
    for (let k = 0; k < 300; k++) scalar(engine, 1000 + k);
    // Past the cache's bound a constant is a tensor of its own each time (freed with it).
    expect(scalar(engine, 5000.5)).not.toBe(scalar(engine, 5000.5));
    expect(scalar(engine, 0.125)).toBe(first);
  });
});

describe('numerics at the edges', () => {
  it('log_softmax stays finite where softmax underflows: NLL of [0, 200] is 200, its gradient softmax − onehot', async () => {
    const x = tensor([[0, 200]], { requiresGrad: true });
    const loss = new nn.NLLLoss()(x.logSoftmax(1), tensor([0], { dtype: 'long' }));
    expect(await loss.item()).toBe(200);
    loss.backward();
    expect(Array.from(await (x.grad as Tensor).data())).toEqual([-1, 1]);
  });

  it('clamp with one bound: NaN stays NaN at min 0, ±Inf beyond the open side stay with gradient 1', async () => {
    const x = tensor([NaN, -1, 0, 2, Infinity, -Infinity], { requiresGrad: true });
    const y = x.clamp(0);
    expect(Array.from(await y.data())).toEqual([NaN, 0, 0, 2, Infinity, 0]);
    y.sum().backward();
    expect(Array.from(await (x.grad as Tensor).data())).toEqual([0, 0, 1, 1, 1, 0]);
    expect(Array.from(await tensor([-Infinity, 3]).clamp(null, 1).data())).toEqual([-Infinity, 1]);
  });

  it('class ids survive slicing bit for bit, ignore_index −100 included', async () => {
    const ids = [2, 0, -100, 1, 3, -100, 2, 1];
    const y = tensor(ids, { dtype: 'long' });
    expect(Array.from(await y.slice(1, 7).data())).toEqual(ids.slice(1, 7));
    const logits = tensor(
      Array.from({ length: 6 }, (_, r) => [r, -r, 0.5, 1]),
      { requiresGrad: true },
    );
    const loss = new nn.CrossEntropyLoss()(logits, y.slice(1, 7));
    // Rows with −100 count nothing: the mean is over the 4 others.
    const p = (r: number) => [r, -r, 0.5, 1].map((v) => Math.exp(v));
    const rowLoss = (r: number, c: number) => -Math.log((p(r)[c] ?? NaN) / p(r).reduce((a, b) => a + b, 0));
    const want = (rowLoss(0, 0) + rowLoss(2, 1) + rowLoss(3, 3) + rowLoss(5, 2)) / 4;
    expect(Math.abs((await loss.item()) - want)).toBeLessThan(2e-6);
  });

  it("a leaf's own backward: its gradient is 1 (or the gradient given), added to what it has", async () => {
    const x = tensor(3, { requiresGrad: true });
    x.backward();
    x.backward();
    expect(await (x.grad as Tensor).item()).toBe(2);
    const v = tensor([1, 2], { requiresGrad: true });
    v.backward(tensor([0.5, -1]));
    expect(Array.from(await (v.grad as Tensor).data())).toEqual([0.5, -1]);
  });

  it('zeros and ones honour dtype', async () => {
    const ids = zeros(3, { dtype: 'long' });
    expect(ids.dtype).toBe('int32');
    expect(Array.from(await ids.data())).toEqual([0, 0, 0]);
  });

  it('the same seed gives the same dropout masks again', async () => {
    const masks = async () => {
      manualSeed(42);
      const drop = new nn.Dropout(0.5);
      const x = tensor(Array.from({ length: 64 }, () => 1));
      const a = Array.from(await drop(x).data());
      const b = Array.from(await drop(x).data());
      return [a, b];
    };
    const [a1, b1] = await masks();
    const [a2, b2] = await masks();
    expect(a2).toEqual(a1);
    expect(b2).toEqual(b1);
    expect(b1).not.toEqual(a1);
  });
});
