/**
 * torch.nn against PyTorch 1.13 (test/fixtures/torch.json, made by make_torch.py) and closed
 * forms: every loss of the fixture (each reduction, its output and the input's gradient),
 * nn.Linear's default initialisation (statistics of many draws), and the Module API: names
 * of parameters and state, calling a module, loadStateDict and its errors, train()/eval(),
 * Dropout, BatchNorm1d, Flatten, toString and the errors PyTorch users meet.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initEngine, type Engine } from '../node/index.js';
import { torch } from '../index.js';
import fixture from '../../test/fixtures/torch.json';
import { expectNear, flat, must, values } from '../../kernels-test/torch-checks.js';
import { sampleStats } from '../../kernels-test/harness.js';

type Tensor = torch.Tensor;
const { nn } = torch;

let engine: Engine;
beforeAll(async () => {
  engine = await initEngine({ adapter: (process.env.WEBGPU_MLP_ADAPTER ?? 'auto') as 'auto', log: false });
});
afterAll(() => engine.dispose());

/**
 * Float32 on both sides, the same formulas, but other summation orders and the GPU's exp/log:
 * a few ulps. |got − expected| ≤ atol + rtol·|expected|, rtol ≈ 17 ulps of float32; atol 1e-6 for
 * values that cancel to near zero (gradients of 0 and of tiny magnitudes).
 * These are expectNear's defaults (kernels-test/torch-checks.ts).
 */

function shapeOf(v: unknown): number[] {
  const shape: number[] = [];
  let level = v;
  while (Array.isArray(level)) {
    shape.push(level.length);
    level = level[0] as unknown;
  }
  return shape;
}

// ---------------------------------------------------------------- losses

type Reduction = 'mean' | 'sum' | 'none';

interface LossCase {
  loss: 'BCELoss' | 'BCEWithLogitsLoss' | 'CrossEntropyLoss' | 'NLLLoss' | 'MSELoss' | 'L1Loss';
  label: string;
  kwargs: { weight?: number[]; ignore_index?: number };
  reduction: Reduction;
  input: number[][];
  target: number[][] | number[];
  target_dtype: 'float' | 'long';
  output: number | number[] | number[][];
  grad_output?: number[] | number[][];
  grad: number[][];
}

interface LossOptions {
  reduction: Reduction;
  weight?: Tensor;
  ignoreIndex?: number;
}

type LossModule = (input: Tensor, target: Tensor) => Tensor;

const LOSS_CLASSES: Record<LossCase['loss'], (o: LossOptions) => LossModule> = {
  BCELoss: (o) => new nn.BCELoss(o),
  BCEWithLogitsLoss: (o) => new nn.BCEWithLogitsLoss(o),
  CrossEntropyLoss: (o) => new nn.CrossEntropyLoss(o),
  NLLLoss: (o) => new nn.NLLLoss(o),
  MSELoss: (o) => new nn.MSELoss(o),
  L1Loss: (o) => new nn.L1Loss(o),
};

const LOSS_FUNCTIONS: Record<LossCase['loss'], (input: Tensor, target: Tensor, o: LossOptions) => Tensor> = {
  BCELoss: (x, y, o) => nn.functional.binaryCrossEntropy(x, y, o),
  BCEWithLogitsLoss: (x, y, o) => nn.functional.binaryCrossEntropyWithLogits(x, y, o),
  CrossEntropyLoss: (x, y, o) => nn.functional.crossEntropy(x, y, o),
  NLLLoss: (x, y, o) => nn.functional.nllLoss(x, y, o),
  MSELoss: (x, y, o) => nn.functional.mseLoss(x, y, o),
  L1Loss: (x, y, o) => nn.functional.l1Loss(x, y, o),
};

const LOSS_CASES = fixture.losses as unknown as LossCase[];

/** The fixture's kwargs in this API's spelling (weight as a tensor, ignore_index → ignoreIndex). */
function lossOptions(c: LossCase): LossOptions {
  const o: LossOptions = { reduction: c.reduction };
  if (c.kwargs.weight !== undefined) o.weight = torch.tensor(c.kwargs.weight);
  if (c.kwargs.ignore_index !== undefined) o.ignoreIndex = c.kwargs.ignore_index;
  return o;
}

function targetOf(c: LossCase): Tensor {
  return torch.tensor(c.target, { dtype: c.target_dtype === 'long' ? 'long' : 'float32' });
}

describe('losses against PyTorch 1.13', () => {
  it('the fixture holds 33 cases: 11 setups × 3 reductions', () => {
    expect(LOSS_CASES.length).toBe(33);
    expect(new Set(LOSS_CASES.map((c) => c.reduction))).toEqual(new Set(['mean', 'sum', 'none']));
  });

  for (const c of LOSS_CASES) {
    it(`${c.loss}(reduction='${c.reduction}'${c.kwargs.weight ? ', weight' : ''}${c.kwargs.ignore_index !== undefined ? `, ignore_index=${c.kwargs.ignore_index}` : ''}): ${c.label}`, async () => {
      const lossFn = LOSS_CLASSES[c.loss](lossOptions(c));
      const input = torch.tensor(c.input, { requiresGrad: true });
      const out = lossFn(input, targetOf(c));
      expect([...out.shape]).toEqual(shapeOf(c.output));
      if (c.reduction === 'none') {
        expect(c.grad_output, 'the fixture stores grad_output for none').toBeDefined();
        out.backward(torch.tensor(c.grad_output as number[]));
      } else {
        out.backward();
      }
      expectNear(await out.data(), flat(c.output), 'output');
      expect(input.grad).not.toBeNull();
      expectNear(await values(input.grad as Tensor), flat(c.grad), 'input.grad');
    });
  }

  it("functional forms give the modules' results (every 'mean' and 'sum' case)", async () => {
    for (const c of LOSS_CASES.filter((k) => k.reduction !== 'none')) {
      const input = torch.tensor(c.input, { requiresGrad: true });
      const out = LOSS_FUNCTIONS[c.loss](input, targetOf(c), lossOptions(c));
      out.backward();
      expectNear([await out.item()], flat(c.output), `${c.loss} ${c.reduction} ${c.label}: output`);
      expectNear(
        await values(input.grad as Tensor),
        flat(c.grad),
        `${c.loss} ${c.reduction} ${c.label}: grad`,
      );
    }
  });

  it('snake_case ignore_index is the same option as ignoreIndex', async () => {
    const c = LOSS_CASES.find(
      (k) => k.kwargs.ignore_index !== undefined && k.reduction === 'mean',
    ) as LossCase;
    const weight = torch.tensor(c.kwargs.weight as number[]);
    const lossFn = new nn.CrossEntropyLoss({ weight, ignore_index: c.kwargs.ignore_index });
    const out = lossFn(torch.tensor(c.input), targetOf(c));
    expectNear([await out.item()], flat(c.output), 'output');
  });
});

// ---------------------------------------------------------------- Linear's initialisation

interface Stats {
  count: number;
  min: number;
  max: number;
  mean: number;
  std: number;
}

interface InitCase {
  in: number;
  out: number;
  weight_shape: number[];
  bias_shape: number[];
  draws: number;
  bound: number;
  uniform_std: number;
  weight: Stats;
  bias: Stats;
}

function statsOf(v: Float64Array): Stats {
  const { n, min, max, mean, std } = sampleStats(v);
  return { count: n, min, max, mean, std };
}

/**
 * Our generator is not PyTorch's, so the draws are compared in distribution. For n draws of
 * U(−b, b): σ = b/√3, the mean's standard error σ/√n, the (biased) std's standard error
 * b/√(15n) (Var(x²) = 4b⁴/45, delta method); the gap between two independent samples' statistics
 * has √2 times that. Z = 4.5 standard errors: a deterministic seed, so the test cannot flake,
 * and a wrong bound (e.g. 1/in or √(6/in)) or a non-zero centre would be off by far more.
 * The extremes: b − max of n draws is about Exp(mean 2b/n); 20 such means is e^-10 unlikely.
 */
const Z = 4.5;

function checkStats(ours: Stats, ref: Stats, c: InitCase, what: string): void {
  const b = c.bound;
  const n = ours.count;
  const seMean = c.uniform_std / Math.sqrt(n);
  const seStd = b / Math.sqrt(15 * n);
  expect(c.uniform_std).toBeCloseTo(b / Math.sqrt(3), 15);
  expect(ref.count, `${what}: count`).toBe(n);
  // within the bound: f32 rounding is monotone, so |fround(u·b)| ≤ fround(b)
  expect(ours.max, `${what}: max`).toBeLessThanOrEqual(Math.fround(b));
  expect(ours.min, `${what}: min`).toBeGreaterThanOrEqual(-Math.fround(b));
  expect(ours.max, `${what}: max near the bound`).toBeGreaterThanOrEqual(b - (20 * b) / n);
  expect(ours.min, `${what}: min near the bound`).toBeLessThanOrEqual(-b + (20 * b) / n);
  expect(Math.abs(ours.mean), `${what}: mean vs 0 (SE ${seMean})`).toBeLessThanOrEqual(Z * seMean);
  expect(Math.abs(ours.std - c.uniform_std), `${what}: std vs b/√3 (SE ${seStd})`).toBeLessThanOrEqual(
    Z * seStd,
  );
  // against PyTorch's own sample (itself checked against the closed form)
  expect(Math.abs(ref.mean), `${what}: PyTorch's mean vs 0`).toBeLessThanOrEqual(Z * seMean);
  expect(Math.abs(ref.std - c.uniform_std), `${what}: PyTorch's std vs b/√3`).toBeLessThanOrEqual(Z * seStd);
  expect(Math.abs(ours.mean - ref.mean), `${what}: mean vs PyTorch's`).toBeLessThanOrEqual(
    Z * Math.SQRT2 * seMean,
  );
  expect(Math.abs(ours.std - ref.std), `${what}: std vs PyTorch's`).toBeLessThanOrEqual(
    Z * Math.SQRT2 * seStd,
  );
}

describe("nn.Linear's default initialisation", () => {
  const cases = fixture.linear_init as InitCase[];

  for (const [k, c] of cases.entries()) {
    it(`Linear(${c.in}, ${c.out}): ${c.draws} draws within ±1/√${c.in}, uniform mean and std as PyTorch's`, async () => {
      expect(c.bound).toBeCloseTo(1 / Math.sqrt(c.in), 15);
      torch.manualSeed(100 + k);
      const w = new Float64Array(c.weight.count);
      const b = new Float64Array(c.bias.count);
      const wn = c.in * c.out;
      for (let d = 0; d < c.draws; d++) {
        const lin = new nn.Linear(c.in, c.out);
        expect([...lin.weight.shape]).toEqual(c.weight_shape);
        expect(lin.bias).not.toBeNull();
        const bias = lin.bias as torch.Parameter;
        expect([...bias.shape]).toEqual(c.bias_shape);
        expect(lin.weight.requiresGrad && bias.requiresGrad).toBe(true);
        w.set(await lin.weight.data(), d * wn);
        b.set(await bias.data(), d * c.out);
        lin.weight.dispose();
        bias.dispose();
      }
      checkStats(statsOf(w), c.weight, c, 'weight');
      checkStats(statsOf(b), c.bias, c, 'bias');
    });
  }

  it('manualSeed makes the initialisation reproducible; another seed gives other values', async () => {
    const draw = async (seed: number) => {
      torch.manualSeed(seed);
      const lin = new nn.Linear(5, 4);
      return [...(await values(lin.weight)), ...(await values(lin.bias as Tensor))];
    };
    const a = await draw(7);
    expect(await draw(7)).toEqual(a);
    const other = await draw(8);
    expect(other).not.toEqual(a);
  });

  it('Linear(in, out, false) has no bias, and its forward is x·Wᵀ', async () => {
    const lin = new nn.Linear(3, 2, false);
    expect(lin.bias).toBeNull();
    expect(lin.namedParameters().map(([k]) => k)).toEqual(['weight']);
    const x = [
      [1, 2, 3],
      [-0.5, 0.25, 4],
    ];
    const W = await values(lin.weight);
    const want = x.flatMap((row) =>
      [0, 1].map((o) => row.reduce((s, v, i) => s + v * (W[o * 3 + i] as number), 0)),
    );
    expectNear(await values(lin(torch.tensor(x))), want, 'x·Wᵀ', 1e-6, 1e-6);
  });
});

// ---------------------------------------------------------------- Module API

class Net extends nn.Module {
  layer1 = new nn.Linear(3, 4);
  layer2 = new nn.Linear(4, 2);
  override forward(x: Tensor): Tensor {
    return this.layer2(this.layer1(x).relu());
  }
}

/** relu(x·W1ᵀ + b1)·W2ᵀ + b2 on the host, in float64. */
function mlpOnHost(
  x: number[][],
  W1: number[],
  b1: number[],
  W2: number[],
  b2: number[],
  nIn: number,
  nHid: number,
  nOut: number,
): number[] {
  return x.flatMap((row) => {
    const h = Array.from({ length: nHid }, (_, j) =>
      Math.max(
        0,
        row.reduce((s, v, i) => s + v * (W1[j * nIn + i] as number), b1[j] as number),
      ),
    );
    return Array.from({ length: nOut }, (_, o) =>
      h.reduce((s, v, j) => s + v * (W2[o * nHid + j] as number), b2[o] as number),
    );
  });
}

const X53 = [
  [0.5, -1, 2],
  [1.5, 0.25, -0.75],
  [-2, 0.5, 1],
  [0, 0, 0],
  [3, -2.5, 0.125],
];

describe('Module API', () => {
  it("a Sequential names its parameters '0.weight', '0.bias', '2.weight', ... and stateDict has the same keys", () => {
    const model = new nn.Sequential(
      new nn.Linear(3, 4),
      new nn.ReLU(),
      new nn.Linear(4, 2),
      new nn.Sigmoid(),
    );
    const names = model.namedParameters().map(([k]) => k);
    expect(names).toEqual(['0.weight', '0.bias', '2.weight', '2.bias']);
    expect(model.namedParameters().map(([, p]) => [...p.shape])).toEqual([[4, 3], [4], [2, 4], [2]]);
    expect(model.parameters().length).toBe(4);
    expect(model.parameters().every((p) => p instanceof torch.Parameter && p.requiresGrad)).toBe(true);
    expect(Object.keys(model.stateDict())).toEqual(names);
    expect(model.length).toBe(4);
    expect(model.at(-1)).toBeInstanceOf(nn.Sigmoid);
    expect(model.at(0)).toBeInstanceOf(nn.Linear);
  });

  it("a subclass names parameters after its fields ('layer1.weight', ...), nested ones with dots", () => {
    const net = new Net();
    expect(net.namedParameters().map(([k]) => k)).toEqual([
      'layer1.weight',
      'layer1.bias',
      'layer2.weight',
      'layer2.bias',
    ]);
    expect(Object.keys(net.stateDict())).toEqual([
      'layer1.weight',
      'layer1.bias',
      'layer2.weight',
      'layer2.bias',
    ]);
    expect(net.namedChildren().map(([k]) => k)).toEqual(['layer1', 'layer2']);
    const outer = new nn.Sequential(new Net(), new nn.BatchNorm1d(2));
    expect(Object.keys(outer.stateDict())).toEqual([
      '0.layer1.weight',
      '0.layer1.bias',
      '0.layer2.weight',
      '0.layer2.bias',
      '1.weight',
      '1.bias',
      '1.running_mean',
      '1.running_var',
    ]);
  });

  it('a parameter shared by two layers is listed once', () => {
    const a = new nn.Linear(2, 2);
    const model = new nn.Sequential(a, new nn.ReLU(), a);
    expect(model.namedParameters().map(([k]) => k)).toEqual(['0.weight', '0.bias']);
  });

  it('modules are callable: model(x) is model.forward(x), and computes relu(x·W1ᵀ + b1)·W2ᵀ + b2', async () => {
    torch.manualSeed(3);
    const net = new Net();
    expect(typeof net).toBe('function');
    const x = torch.tensor(X53);
    const y = net(x);
    expect([...y.shape]).toEqual([5, 2]);
    const [W1, b1, W2, b2] = await Promise.all(net.parameters().map(values));
    const want = mlpOnHost(X53, must(W1, 'W1'), must(b1, 'b1'), must(W2, 'W2'), must(b2, 'b2'), 3, 4, 2);
    expectNear(await values(y), want, 'net(x)', 1e-6, 1e-6);
    expect(await values(net.forward(x))).toEqual(await values(y));
    // A 1-D input is one row.
    const row = net(torch.tensor(must(X53[0], 'row 0')));
    expect([...row.shape]).toEqual([2]);
    expectNear(await values(row), want.slice(0, 2), 'net(x[0])', 1e-6, 1e-6);
  });

  it('a subclass without forward names the module in its error', () => {
    class NoForward extends nn.Module {
      layer = new nn.Linear(2, 2);
    }
    const m = new NoForward();
    expect(() => m(torch.tensor([[1, 2]]))).toThrow(
      'Module [NoForward] is missing the required "forward" function',
    );
  });

  it('loadStateDict round trip: the values read back equal, and so do the outputs', async () => {
    torch.manualSeed(11);
    const a = new Net();
    torch.manualSeed(12);
    const b = new Net();
    const before = await values(b.layer1.weight);
    const aState = a.stateDict();
    expect(await values(must(aState['layer1.weight'], 'layer1.weight'))).not.toEqual(before);
    const bView = b.stateDict(); // shares b's storage
    b.loadStateDict(aState);
    for (const [k, t] of Object.entries(aState)) {
      const got = await values(must(b.stateDict()[k], k));
      expect(got, k).toEqual(await values(t));
      expect(await values(must(bView[k], k)), `${k} through the earlier stateDict`).toEqual(got);
    }
    const x = torch.tensor(X53);
    expect(await values(b(x))).toEqual(await values(a(x)));

    // nested arrays (tolist()) load as well
    torch.manualSeed(13);
    const c = new Net();
    const lists: Record<string, torch.NestedNumbers | number> = {};
    for (const [k, t] of Object.entries(a.stateDict())) lists[k] = await t.tolist();
    c.loadStateDict(lists);
    for (const [k, t] of Object.entries(a.stateDict()))
      expect(await values(must(c.stateDict()[k], k)), k).toEqual(await values(t));
  });

  it('loadStateDict keeps BatchNorm1d running statistics', async () => {
    const a = new nn.Sequential(new nn.Linear(2, 3), new nn.BatchNorm1d(3)).train();
    a(
      torch.tensor([
        [1, 2],
        [3, -1],
        [0.5, 0.5],
        [-2, 4],
      ]),
    ); // training: running stats move
    const b = new nn.Sequential(new nn.Linear(2, 3), new nn.BatchNorm1d(3));
    b.loadStateDict(a.stateDict());
    for (const k of ['1.running_mean', '1.running_var']) {
      expect(await values(must(b.stateDict()[k], k)), k).toEqual(await values(must(a.stateDict()[k], k)));
    }
    expect(await values(must(a.stateDict()['1.running_var'], '1.running_var'))).not.toEqual([1, 1, 1]);
  });

  describe('loadStateDict errors name the keys and shapes, and load nothing', () => {
    const stateOf = (m: torch.nn.Module): Record<string, Tensor> => ({ ...m.stateDict() });

    it('a missing key', async () => {
      const model = new nn.Sequential(new nn.Linear(3, 4), new nn.ReLU(), new nn.Linear(4, 2));
      const before = await values(must(model.stateDict()['0.weight'], '0.weight'));
      const state = stateOf(new nn.Sequential(new nn.Linear(3, 4), new nn.ReLU(), new nn.Linear(4, 2)));
      delete state['2.bias'];
      expect(() => model.loadStateDict(state)).toThrow('Missing key(s) in state_dict: "2.bias".');
      expect(() => model.loadStateDict(state)).toThrow('Error(s) in loading state_dict for Sequential');
      expect(await values(must(model.stateDict()['0.weight'], '0.weight'))).toEqual(before);
    });

    it('an unexpected key', () => {
      const model = new Net();
      const state = { ...stateOf(new Net()), 'layer3.weight': torch.zeros([2, 2]) };
      expect(() => model.loadStateDict(state)).toThrow('Unexpected key(s) in state_dict: "layer3.weight".');
      expect(() => model.loadStateDict(state)).toThrow('Error(s) in loading state_dict for Net');
    });

    it('a size mismatch', async () => {
      const model = new Net();
      const before = await values(model.layer2.bias as Tensor);
      const state = { ...stateOf(new Net()), 'layer1.weight': torch.zeros([4, 2]) };
      expect(() => model.loadStateDict(state)).toThrow(
        'size mismatch for layer1.weight: copying a param with shape [4, 2] from checkpoint, the shape in current model is [4, 3].',
      );
      expect(await values(model.layer2.bias as Tensor)).toEqual(before);
    });

    it('all of them at once', () => {
      const model = new Net();
      const state: Record<string, Tensor> = {
        ...stateOf(new Net()),
        extra: torch.zeros([1]),
        'layer2.bias': torch.zeros([3]),
      };
      delete state['layer1.bias'];
      let message = '';
      try {
        model.loadStateDict(state);
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message).toContain('Missing key(s) in state_dict: "layer1.bias".');
      expect(message).toContain('Unexpected key(s) in state_dict: "extra".');
      expect(message).toContain(
        'size mismatch for layer2.bias: copying a param with shape [3] from checkpoint, the shape in current model is [2].',
      );
    });
  });

  // Fails at the time of writing: Module's field initialiser `training = true` runs on the
  // object the base constructor discards (it returns a callable instead), so a new module's
  // `training` is undefined, i.e. eval mode, until train() is called.
  it('a new module is in training mode, as in PyTorch: Dropout drops and BatchNorm1d uses batch statistics without train()', async () => {
    const model = new nn.Sequential(new nn.Linear(3, 4), new nn.BatchNorm1d(4), new nn.Dropout(0.5));
    expect([model, model.at(0), model.at(1), model.at(2), new Net()].map((m) => m.training)).toEqual([
      true,
      true,
      true,
      true,
      true,
    ]);
    const bn = new nn.BatchNorm1d(2);
    bn(
      torch.tensor([
        [1, 2],
        [3, 6],
      ]),
    );
    expectNear(await values(bn.runningMean), [0.2, 0.4], 'running_mean after one training batch', 1e-6, 1e-7);
    const y = await values(new nn.Dropout(0.5)(torch.ones([64, 64])));
    expect(y.filter((v) => v === 0).length, 'dropped elements').toBeGreaterThan(0);
  });

  it('train() and eval() set the flag on every submodule and return the module', () => {
    const inner = new nn.Sequential(new nn.BatchNorm1d(4), new nn.Dropout(0.3));
    const model = new nn.Sequential(new nn.Linear(3, 4), inner, new nn.ReLU());
    const all = [model, model.at(0), inner, inner.at(0), inner.at(1), model.at(2)];
    expect(model.eval()).toBe(model);
    expect(all.map((m) => m.training)).toEqual(all.map(() => false));
    expect(model.train()).toBe(model);
    expect(all.map((m) => m.training)).toEqual(all.map(() => true));
    model.train(false);
    expect(all.map((m) => m.training)).toEqual(all.map(() => false));
    inner.train();
    expect(all.map((m) => m.training)).toEqual([false, false, true, true, true, false]);
  });

  describe('Dropout', () => {
    const rows = 100;
    const cols = 200;
    // no zeros among the inputs, signs and magnitudes varied
    const x = Float32Array.from(
      { length: rows * cols },
      (_, i) => ((i % 97) - 48.5) * 0.037 + (i % 7) * 0.001,
    );

    it('in eval mode is the identity', async () => {
      const d = new nn.Dropout(0.5).eval();
      const t = torch.fromValues(x, [rows, cols], 'float32');
      expect(await values(d(t))).toEqual(Array.from(x));
    });

    for (const p of [0.5, 0.2]) {
      it(`p=${p} in training zeroes about p of the elements and scales the rest by 1/(1 − p), exactly; the gradient is the same mask`, async () => {
        torch.manualSeed(5);
        const d = new nn.Dropout(p).train();
        expect(d.training).toBe(true);
        const t = torch.fromValues(x, [rows, cols], 'float32', { requiresGrad: true });
        const y = d(t);
        const got = await y.data();
        let dropped = 0;
        const wrong: string[] = [];
        for (let i = 0; i < x.length; i++) {
          if (got[i] === 0) dropped++;
          else if (got[i] !== Math.fround((x[i] as number) / (1 - p)))
            wrong.push(`[${i}] ${got[i]} ≠ ${x[i]}/(1 − ${p})`);
        }
        expect(wrong.slice(0, 10)).toEqual([]);
        const n = x.length;
        // Binomial(n, p): 5 standard errors
        expect(Math.abs(dropped / n - p)).toBeLessThanOrEqual(5 * Math.sqrt((p * (1 - p)) / n));
        y.sum().backward();
        const g = await (t.grad as Tensor).data();
        const scale = Math.fround(1 / (1 - p));
        const mismatched = Array.from(g).filter((v, i) => v !== (got[i] === 0 ? 0 : scale)).length;
        expect(mismatched).toBe(0);
      });
    }

    it('two calls draw different masks; p=0 is the identity; p outside [0, 1) is refused', async () => {
      const d = new nn.Dropout(0.5).train();
      const t = torch.fromValues(x, [rows, cols], 'float32');
      const a = await values(d(t));
      const b = await values(d(t));
      expect(a).not.toEqual(b);
      expect(await values(new nn.Dropout(0).train()(t))).toEqual(Array.from(x));
      expect(() => new nn.Dropout(1)).toThrow(RangeError);
      expect(() => new nn.Dropout(-0.1)).toThrow('dropout probability has to be between 0 and 1');
    });
  });

  describe('BatchNorm1d', () => {
    const X = [
      [1.0, -2.0, 10.0],
      [2.5, 0.5, 12.0],
      [-0.5, 1.5, 9.0],
      [3.0, -1.0, 11.5],
      [0.25, 2.0, 10.5],
      [1.75, 0.0, 8.0],
    ];
    const rows = X.length;
    const cols = 3;
    const column = (j: number) => X.map((r) => r[j] as number);
    const mean = [0, 1, 2].map((j) => column(j).reduce((s, v) => s + v, 0) / rows);
    const biasedVar = [0, 1, 2].map(
      (j) => column(j).reduce((s, v) => s + (v - (mean[j] as number)) ** 2, 0) / rows,
    );
    const eps = 1e-5;

    it('in training normalises each column with the batch mean and biased variance, and updates the running stats with momentum 0.1', async () => {
      const bn = new nn.BatchNorm1d(cols).train();
      expect(await values(bn.runningMean)).toEqual([0, 0, 0]);
      expect(await values(bn.runningVar)).toEqual([1, 1, 1]);
      const y = await values(bn(torch.tensor(X)));
      // closed form (γ = 1, β = 0), in float64
      const want = X.flatMap((r) =>
        r.map((v, j) => (v - (mean[j] as number)) / Math.sqrt((biasedVar[j] as number) + eps)),
      );
      expectNear(y, want, 'y', 1e-5, 1e-6);
      for (let j = 0; j < cols; j++) {
        const col = y.filter((_, i) => i % cols === j);
        const m = col.reduce((s, v) => s + v, 0) / rows;
        const v = col.reduce((s, u) => s + (u - m) ** 2, 0) / rows;
        expect(Math.abs(m), `column ${j} mean`).toBeLessThan(1e-6);
        // biased variance of the output: var/(var + eps)
        expect(v, `column ${j} variance`).toBeCloseTo(
          (biasedVar[j] as number) / ((biasedVar[j] as number) + eps),
          5,
        );
      }
      // running_mean = 0.9·0 + 0.1·batch mean
      expectNear(
        await values(bn.runningMean),
        mean.map((m) => 0.1 * m),
        'running_mean',
        1e-6,
        1e-7,
      );
      // running_var = 0.9·1 + 0.1·var with PyTorch's unbiased variance, var·n/(n − 1)
      expectNear(
        await values(bn.runningVar),
        biasedVar.map((v) => 0.9 + (0.1 * v * rows) / (rows - 1)),
        'running_var',
        1e-6,
        1e-7,
      );
      const sd = bn.stateDict();
      expect(Object.keys(sd)).toEqual(['weight', 'bias', 'running_mean', 'running_var']);
    });

    it('in eval mode uses the running statistics, and does not update them', async () => {
      const bn = new nn.BatchNorm1d(cols, { momentum: 0.5 }).train();
      bn(torch.tensor(X));
      const rm = await values(bn.runningMean);
      const rv = await values(bn.runningVar);
      expectNear(
        rm,
        mean.map((m) => 0.5 * m),
        'running_mean, momentum 0.5',
        1e-6,
        1e-7,
      );
      bn.eval();
      const Z = [
        [0.0, 0.0, 0.0],
        [1.0, -1.0, 10.0],
      ];
      const y = await values(bn(torch.tensor(Z)));
      const want = Z.flatMap((r) =>
        r.map((v, j) => (v - (rm[j] as number)) / Math.sqrt((rv[j] as number) + eps)),
      );
      expectNear(y, want, 'eval y', 1e-5, 1e-6);
      expect(await values(bn.runningMean)).toEqual(rm);
      expect(await values(bn.runningVar)).toEqual(rv);
    });

    it('refuses a wrong width, and one row in training', () => {
      const bn = new nn.BatchNorm1d(3).train();
      expect(() => bn(torch.zeros([4, 2]))).toThrow('expected input of shape [batch, 3], got [4, 2]');
      expect(() => bn(torch.zeros([1, 3]))).toThrow('Expected more than 1 value per channel when training');
      expect(() => new nn.BatchNorm1d(3, { epsilon: 1e-3 } as unknown as { eps: number })).toThrow(
        "unknown option 'epsilon'",
      );
    });
  });

  it('Flatten merges startDim..endDim (default 1..−1) and keeps the values in order', async () => {
    const v = Array.from({ length: 2 * 3 * 4 * 5 }, (_, i) => i * 0.5 - 7);
    const t = torch.fromValues(v, [2, 3, 4, 5], 'float32');
    const f = new nn.Flatten();
    const y = f(t);
    expect([...y.shape]).toEqual([2, 60]);
    expect(await values(y)).toEqual(v);
    expect([...new nn.Flatten(0)(t).shape]).toEqual([120]);
    expect([...new nn.Flatten(1, 2)(t).shape]).toEqual([2, 12, 5]);
    expect([...new nn.Flatten(-2)(t).shape]).toEqual([2, 3, 20]);
    expect([...new nn.Flatten()(torch.zeros([7, 3])).shape]).toEqual([7, 3]);
  });

  it('toString prints a Sequential as PyTorch does', () => {
    const model = new nn.Sequential(
      new nn.Linear(8, 12),
      new nn.ReLU(),
      new nn.Dropout(0.25),
      new nn.Linear(12, 1, false),
      new nn.Sigmoid(),
    );
    expect(model.toString()).toBe(
      [
        'Sequential(',
        '  (0): Linear(in_features=8, out_features=12, bias=True)',
        '  (1): ReLU()',
        '  (2): Dropout(p=0.25, inplace=False)',
        '  (3): Linear(in_features=12, out_features=1, bias=False)',
        '  (4): Sigmoid()',
        ')',
      ].join('\n'),
    );
    expect(new nn.Sequential(new nn.Sequential(new nn.Tanh()), new nn.Softmax(1)).toString()).toBe(
      ['Sequential(', '  (0): Sequential(', '    (0): Tanh()', '  )', '  (1): Softmax(dim=1)', ')'].join(
        '\n',
      ),
    );
    expect(String(new Net())).toBe(
      [
        'Net(',
        '  (layer1): Linear(in_features=3, out_features=4, bias=True)',
        '  (layer2): Linear(in_features=4, out_features=2, bias=True)',
        ')',
      ].join('\n'),
    );
  });

  describe("errors with PyTorch's messages", () => {
    it('Linear given the wrong input width', () => {
      const lin = new nn.Linear(3, 4);
      expect(() => lin(torch.zeros([5, 2]))).toThrow(
        'mat1 and mat2 shapes cannot be multiplied (5x2 and 3x4)',
      );
      const model = new nn.Sequential(new nn.Linear(8, 12), new nn.ReLU(), new nn.Linear(10, 1));
      expect(() => model(torch.zeros([6, 8]))).toThrow(
        'mat1 and mat2 shapes cannot be multiplied (6x12 and 10x1)',
      );
    });

    it('a loss with mismatched input and target shapes names both', () => {
      for (const lossFn of [
        new nn.MSELoss(),
        new nn.BCELoss(),
        new nn.L1Loss(),
        new nn.BCEWithLogitsLoss(),
      ]) {
        let message = '';
        try {
          lossFn(torch.zeros([4, 3]), torch.zeros([4, 2]));
        } catch (e) {
          message = (e as Error).message;
        }
        expect(message).toContain('[4, 3]');
        expect(message).toContain('[4, 2]');
        expect(message).toContain(lossFn.constructor.name);
      }
    });

    it("CrossEntropyLoss and NLLLoss with float targets say to use dtype 'long'", () => {
      const x = torch.zeros([4, 3]);
      const y = torch.tensor([0, 2, 1, 2]);
      expect(() => new nn.CrossEntropyLoss()(x, y)).toThrow("{ dtype: 'long' }");
      expect(() => new nn.NLLLoss()(x, y)).toThrow("{ dtype: 'long' }");
      expect(() => new nn.CrossEntropyLoss()(x, torch.tensor([0, 1], { dtype: 'long' }))).toThrow(
        'of shape [4]',
      );
      expect(() =>
        new nn.CrossEntropyLoss({ weight: torch.ones([2]) })(
          x,
          torch.tensor([0, 2, 1, 2], { dtype: 'long' }),
        ),
      ).toThrow('weight tensor should be defined either for all 3 classes');
    });

    it('an unknown option or an invalid reduction is an error', () => {
      expect(() => new nn.BCELoss({ reduce: 'sum' } as unknown as { reduction?: Reduction })).toThrow(
        "BCELoss: unknown option 'reduce'",
      );
      expect(() => new nn.MSELoss({ size_average: true } as unknown as { reduction?: Reduction })).toThrow(
        "MSELoss: unknown option 'size_average'",
      );
      expect(
        () => new nn.BCELoss({ weight: torch.ones([3]) } as unknown as { reduction?: Reduction }),
      ).toThrow("unknown option 'weight'");
      expect(() => new nn.L1Loss({ reduction: 'avg' as 'mean' })).toThrow(
        'avg is not a valid value for reduction',
      );
      expect(() => new nn.Linear(0, 3)).toThrow('in_features must be a positive integer');
    });
  });
});
