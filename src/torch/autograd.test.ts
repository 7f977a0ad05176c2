/**
 * Autograd of the PyTorch-style tensors: 28 expressions against PyTorch 1.13's values and
 * gradients (test/fixtures/torch.json, autograd), every op's gradient against central
 * differences of its own forward, a forward that branches on a value read with item(), and
 * the errors PyTorch gives for a misuse (in its words, naming the shapes).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initEngine, type Engine } from '../node/index.js';
import fixture from '../../test/fixtures/torch.json';
import { cat, nn, noGrad, tensor, fromValues, type Tensor } from './index.js';

let engine: Engine;
beforeAll(async () => {
  engine = await initEngine({ adapter: (process.env.WEBGPU_MLP_ADAPTER ?? 'auto') as 'auto', log: false });
});
afterAll(() => engine.dispose());

type Inputs = Record<string, Tensor>;
/** The fixture input named k. */
type Get = (k: string) => Tensor;
const long = (ids: number[]) => tensor(ids, { dtype: 'long' });

/** The fixture's expressions, written with this API. */
const EXPRESSIONS: Record<string, (v: Get) => Tensor> = {
  linear_relu_sum: (v) => v('x').matmul(v('W')).add(v('b')).relu().sum(),
  softmax_log_mean: (v) => v('x').softmax(1).log().mean(),
  // −log_softmax(x)[[0, 1, 2], [3, 0, 2]].mean() is the NLL of classes 3, 0, 2.
  log_softmax_nll: (v) => new nn.NLLLoss()(v('x').logSoftmax(1), long([3, 0, 2])),
  sigmoid: (v) => v('x').sigmoid(),
  tanh: (v) => v('x').tanh(),
  exp: (v) => v('x').exp(),
  log: (v) => v('x').log(),
  pow2: (v) => v('x').pow(2),
  relu: (v) => v('x').relu(),
  clamp: (v) => v('x').clamp(-0.5, 0.5),
  add_row: (v) => v('x').add(v('y')),
  sub_row: (v) => v('x').sub(v('y')),
  mul_row: (v) => v('x').mul(v('y')),
  div_row: (v) => v('x').div(v('y')),
  add_col: (v) => v('x').add(v('z')),
  sub_col: (v) => v('x').sub(v('z')),
  mul_col: (v) => v('x').mul(v('z')),
  div_col: (v) => v('x').div(v('z')),
  sum_dim1_keepdim: (v) => v('x').sum(1, true),
  mean_dim0: (v) => v('x').mean(0),
  cat_dim0: (v) => cat([v('a'), v('c')], 0),
  cat_dim1: (v) => cat([v('a'), v('d')], 1),
  reshape_matmul: (v) => v('x').reshape(4, 3).matmul(v('w')),
  view_mul: (v) => v('x').view(3, 4).mul(v('x').view(3, 4).slice(0, 1)),
  slice_rows: (v) => v('x').slice(1, 3),
  reuse: (v) => v('x').mul(v('x')).add(v('x')).sum(),
  composite: (v) => v('x').slice(1, 3).sigmoid().mul(2).sum(1, true).div(v('z').slice(1, 3)).mean(),
  mlp_bce: (v) =>
    new nn.BCELoss()(
      v('x').matmul(v('W1')).add(v('b1')).tanh().matmul(v('W2')).add(v('b2')).sigmoid(),
      tensor([[1], [0], [0], [1], [1]]),
    ),
};

interface Nested extends ReadonlyArray<number | Nested> {}
const flat = (v: number | Nested): number[] =>
  typeof v === 'number' ? [v] : ((v as unknown[]).flat(Infinity) as number[]);

function expectClose(
  got: ArrayLike<number>,
  want: readonly number[],
  atol: number,
  rtol: number,
  what: string,
) {
  expect(got.length, `${what}: length`).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const w = want[i] as number;
    const g = got[i] as number;
    expect(Math.abs(g - w), `${what}[${i}]: ${g} vs ${w}`).toBeLessThanOrEqual(atol + rtol * Math.abs(w));
  }
}

describe('autograd against PyTorch 1.13', () => {
  it('covers every fixture expression', () => {
    expect(Object.keys(EXPRESSIONS).sort()).toEqual(fixture.autograd.map((c) => c.name).sort());
  });

  // float32 with a different summation order: values and gradients to 2e-6 relative,
  // 1e-6 absolute (softmax/log near 0 and sums of a few products).
  for (const c of fixture.autograd) {
    it(`${c.name}: ${c.expr}`, async () => {
      const leaves: Inputs = {};
      const inputs = c.inputs as Record<string, { shape: number[]; values: Nested } | undefined>;
      for (const [k, v] of Object.entries(inputs)) {
        if (v) leaves[k] = fromValues(flat(v.values), v.shape, 'float32', { engine, requiresGrad: true });
      }
      const y = (EXPRESSIONS[c.name] as (v: Get) => Tensor)((k) => leaves[k] as Tensor);
      expect([...y.shape], 'output shape').toEqual(c.output.shape);
      expectClose(await y.data(), flat(c.output.values), 1e-6, 2e-6, `${c.name} value`);
      const go = (c as { grad_output?: Nested }).grad_output;
      y.backward(go === undefined ? undefined : fromValues(flat(go), y.shape, 'float32', { engine }));
      for (const [k, g] of Object.entries(c.grads)) {
        expectClose(
          await gradOf(leaves[k] as Tensor).data(),
          flat(g as Nested),
          1e-6,
          2e-6,
          `${c.name} d/d${k}`,
        );
      }
    });
  }
});

// ---------------------------------------------------------------- central differences

/** Seeded values in [lo, hi), kept away from a set of kinks by at least `gap`. */
function values(n: number, seed: number, lo = -1.5, hi = 1.5, kinks: number[] = [], gap = 0.05): number[] {
  let s = seed;
  const out: number[] = [];
  while (out.length < n) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    const v = Math.fround(lo + ((hi - lo) * s) / 2 ** 31);
    if (kinks.every((k) => Math.abs(v - k) > gap)) out.push(v);
  }
  return out;
}

interface Case {
  name: string;
  inputs: { shape: number[]; lo?: number; hi?: number; kinks?: number[] }[];
  /** The op of one or two inputs (b is a when there is one). */
  f: (a: Tensor, b: Tensor) => Tensor;
}

const OP_CASES: Case[] = [
  { name: 'matmul', inputs: [{ shape: [3, 4] }, { shape: [4, 2] }], f: (a, b) => a.matmul(b) },
  { name: 'add broadcast', inputs: [{ shape: [3, 4] }, { shape: [4] }], f: (a, b) => a.add(b) },
  { name: 'sub broadcast', inputs: [{ shape: [3, 1] }, { shape: [3, 4] }], f: (a, b) => a.sub(b) },
  { name: 'mul broadcast', inputs: [{ shape: [2, 3] }, { shape: [2, 1] }], f: (a, b) => a.mul(b) },
  {
    name: 'div broadcast',
    inputs: [{ shape: [2, 3] }, { shape: [3], lo: 0.5, hi: 2 }],
    f: (a, b) => a.div(b),
  },
  { name: 'neg', inputs: [{ shape: [5] }], f: (a) => a.neg() },
  { name: 'exp', inputs: [{ shape: [5] }], f: (a) => a.exp() },
  { name: 'log', inputs: [{ shape: [5], lo: 0.3, hi: 3 }], f: (a) => a.log() },
  { name: 'relu', inputs: [{ shape: [6], kinks: [0] }], f: (a) => a.relu() },
  { name: 'sigmoid', inputs: [{ shape: [6] }], f: (a) => a.sigmoid() },
  { name: 'tanh', inputs: [{ shape: [6] }], f: (a) => a.tanh() },
  { name: 'softmax', inputs: [{ shape: [2, 4] }], f: (a) => a.softmax(1) },
  { name: 'logSoftmax', inputs: [{ shape: [2, 4] }], f: (a) => a.logSoftmax(-1) },
  { name: 'pow 3', inputs: [{ shape: [5] }], f: (a) => a.pow(3) },
  { name: 'pow 0.5', inputs: [{ shape: [5], lo: 0.3, hi: 2 }], f: (a) => a.pow(0.5) },
  { name: 'clamp', inputs: [{ shape: [8], kinks: [-0.5, 0.5] }], f: (a) => a.clamp(-0.5, 0.5) },
  { name: 'sum dim 0', inputs: [{ shape: [3, 2] }], f: (a) => a.sum(0) },
  { name: 'mean dim 1 keepdim', inputs: [{ shape: [3, 2] }], f: (a) => a.mean(1, true) },
  { name: 'mean of all', inputs: [{ shape: [2, 3] }], f: (a) => a.mean() },
  { name: 'slice of columns', inputs: [{ shape: [3, 4] }], f: (a) => a.slice(1, 3, 1) },
  { name: 'reshape', inputs: [{ shape: [2, 3] }], f: (a) => a.reshape(3, 2).mul(a.reshape(3, -1)) },
  { name: 'cat', inputs: [{ shape: [2, 2] }, { shape: [2, 3] }], f: (a, b) => cat([a, b], 1) },
  { name: 'linear', inputs: [{ shape: [3, 4] }], f: (x) => linear(x) },
  {
    name: 'MSELoss',
    inputs: [{ shape: [3, 2] }, { shape: [3, 2] }],
    f: (a, b) => new nn.MSELoss()(a, b),
  },
  {
    name: 'L1Loss sum',
    inputs: [{ shape: [4] }, { shape: [4], lo: 3, hi: 4 }],
    f: (a, b) => new nn.L1Loss({ reduction: 'sum' })(a, b),
  },
  {
    name: 'BCELoss',
    inputs: [{ shape: [4], lo: 0.1, hi: 0.9 }],
    f: (a) => new nn.BCELoss()(a, target01()),
  },
  {
    name: 'BCEWithLogitsLoss',
    inputs: [{ shape: [4] }],
    f: (a) => new nn.BCEWithLogitsLoss()(a, target01()),
  },
  {
    name: 'CrossEntropyLoss',
    inputs: [{ shape: [3, 4] }],
    f: (a) => new nn.CrossEntropyLoss()(a, long([2, 0, 3])),
  },
];

let linearLayer: nn.Linear | undefined;
function linear(x: Tensor): Tensor {
  linearLayer ??= new nn.Linear(4, 2);
  return linearLayer(x).tanh();
}

function target01(): Tensor {
  return tensor([1, 0, 0, 1]);
}

describe('every op against central differences of its own forward', () => {
  // L = Σ f(x) ⊙ R with fixed R; ∂L/∂x_j ≈ (L(x + h e_j) − L(x − h e_j)) / 2h. In float32
  // with h = 1e-2: truncation O(h²·f''') and rounding ~1e-7/h, so agreement to 2e-3 of the
  // largest gradient (and 2e-3 absolute) shows the rule is right.
  for (const c of OP_CASES) {
    it(c.name, async () => {
      const xs = c.inputs.map((spec, i) =>
        values(
          spec.shape.reduce((p, d) => p * d, 1),
          17 + 31 * i,
          spec.lo,
          spec.hi,
          spec.kinks,
        ),
      );
      const make = (data: number[][], grad: boolean) =>
        data.map((d, i) =>
          fromValues(d, (c.inputs[i] as { shape: number[] }).shape, 'float32', {
            engine,
            requiresGrad: grad,
          }),
        );
      const leaves = make(xs, true);
      const apply = (ts: Tensor[]) => c.f(ts[0] as Tensor, (ts[1] ?? ts[0]) as Tensor);
      const out = apply(leaves);
      const r = fromValues(values(out.elements, 99, 0.5, 1.5), out.shape, 'float32', { engine });
      out.mul(r).sum().backward();
      const loss = async (data: number[][]) => noGrad(() => apply(make(data, false)).mul(r).sum()).item();
      const h = 1e-2;
      for (const [i, x] of xs.entries()) {
        const analytic = await gradOf(leaves[i] as Tensor).data();
        const numeric: number[] = [];
        for (let j = 0; j < x.length; j++) {
          const plus = xs.map((v) => [...v]);
          const minus = xs.map((v) => [...v]);
          (plus[i] as number[])[j] = (x[j] as number) + h;
          (minus[i] as number[])[j] = (x[j] as number) - h;
          numeric.push(((await loss(plus)) - (await loss(minus))) / (2 * h));
        }
        const scale = Math.max(...numeric.map(Math.abs), 1);
        expectClose(analytic, numeric, 2e-3 * scale, 0, `${c.name}: d/d input ${i}`);
      }
    });
  }
});

describe('control flow on a value read back', () => {
  it('a forward with an if on item() gives the gradient of the branch taken, on both branches', async () => {
    const w = tensor(
      [
        [0.5, -1],
        [2, 0.25],
      ],
      { requiresGrad: true },
    );
    const forward = async (x: Tensor) => {
      const h = x.matmul(w);
      return (await h.sum().item()) > 0 ? h.pow(2).sum() : h.mul(-3).sum();
    };
    // x = [[1, 1]]: h = [2.5, −0.75], sum > 0 → Σ h², dL/dw = xᵀ · 2h.
    const grad = async () => Array.from(await gradOf(w).data(), (v) => v + 0); // −0 → 0
    (await forward(tensor([[1, 1]]))).backward();
    expect(await grad()).toEqual([5, -1.5, 5, -1.5]);
    w.grad = null;
    // x = [[-1, 0]]: h = [−0.5, 1], sum > 0 → 2h·x = [1, −2] in row 0.
    (await forward(tensor([[-1, 0]]))).backward();
    expect(await grad()).toEqual([1, -2, 0, 0]);
    w.grad = null;
    // x = [[0, -1]]: h = [−2, −0.25], sum < 0 → −3·x in each column: row 1 = [3, 3].
    (await forward(tensor([[0, -1]]))).backward();
    expect(await grad()).toEqual([0, 0, 3, 3]);
  });
});

/** A leaf's gradient, which must be there. */
function gradOf(t: Tensor): Tensor {
  const g = t.grad;
  if (!g) throw new Error(`${t.describe()} has no gradient`);
  return g;
}

describe('misuse, in PyTorch words', () => {
  it('backward() of a non-scalar without a gradient', () => {
    const x = tensor([1, 2, 3], { requiresGrad: true });
    expect(() => x.mul(2).backward()).toThrow(
      /grad can be implicitly created only for scalar outputs.*3 elements/,
    );
  });

  it('a second backward through a freed graph, and retainGraph', async () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const y = x.mul(x).sum();
    y.backward();
    expect(() => y.backward()).toThrow(/backward through the graph a second time.*retainGraph: true/);
    const z = x.mul(x).sum();
    x.grad = null;
    z.backward(null, { retainGraph: true });
    z.backward();
    // Two backwards accumulate: 2 · 2x.
    expect(Array.from(await gradOf(x).data())).toEqual([4, 8]);
  });

  it('mismatched shapes name both shapes', () => {
    const a = tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(() => a.add(tensor([1, 2]))).toThrow(
      /size of tensor a \(3\) must match the size of tensor b \(2\) at non-singleton dimension 1: shapes \[2, 3\] and \[2\]/,
    );
    expect(() => a.matmul(tensor([[1, 2]]))).toThrow(
      /mat1 and mat2 shapes cannot be multiplied \(2x3 and 1x2\)/,
    );
    expect(() => a.reshape(4, 2)).toThrow(/shape '\[4, 2\]' is invalid for input of size 6/);
    expect(() => cat([a, tensor([[1, 2]])], 0)).toThrow(/Sizes of tensors must match except in dimension 0/);
    expect(() => a.softmax(0)).toThrow(/only the last dimension/);
    expect(() => a.sum(2)).toThrow(
      /Dimension out of range \(expected to be in range of \[-2, 1\], but got 2\)/,
    );
  });

  it('backward() of a tensor that needs no gradient, and item() of many elements', async () => {
    expect(() => tensor([1]).mul(2).backward()).toThrow(/does not require grad and does not have a gradFn/);
    await expect(tensor([1, 2]).item()).rejects.toThrow(/2 elements cannot be converted to a number/);
  });

  it('a module whose engine was disposed names the problem', async () => {
    const other = await initEngine({
      adapter: (process.env.WEBGPU_MLP_ADAPTER ?? 'auto') as 'auto',
      log: false,
    });
    // initEngine() made `other` the current engine: the layer's parameters live on it.
    const layer = new nn.Linear(3, 2);
    const x = tensor([[1, 2, 3]], { engine: other });
    other.dispose();
    expect(() => x.relu()).toThrow(/relu\(\): tensor of shape \[1, 3\] lives on an engine that was disposed/);
    expect(() => layer(tensor([[1, 2, 3]], { engine }))).toThrow(
      /Parameter of shape \[2, 3\] lives on an engine that was disposed/,
    );
  });
});
