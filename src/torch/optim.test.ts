/**
 * torch.optim against PyTorch 1.13 (test/fixtures/torch.json, made by make_torch.py): every
 * optimizer run of the fixture (SGD with momentum, dampening, Nesterov and weight decay;
 * Adam, with weight decay and AMSGrad; AdamW; RMSprop, plain and centred with momentum),
 * parameter by parameter after each of 5 steps; StepLR and ExponentialLR; the constructors'
 * errors; and the parameters still working as tensors once an optimizer holds them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initEngine, type Engine } from '../node/index.js';
import { torch } from '../index.js';
import fixture from '../../test/fixtures/torch.json';
import { expectNear, flat, must, values } from '../../kernels-test/torch-checks.js';

type Tensor = torch.Tensor;
type Parameter = torch.Parameter;
const { optim } = torch;

let engine: Engine;
beforeAll(async () => {
  engine = await initEngine({ adapter: (process.env.WEBGPU_MLP_ADAPTER ?? 'auto') as 'auto', log: false });
});
afterAll(() => engine.dispose());

/**
 * Both sides run the update in float32 with the same formulas; the GPU's sqrt and division
 * may differ from the CPU's by an ulp or two, and differences carry over the 5 steps:
 * |got − expected| ≤ atol + rtol·|expected|, rtol = 2e-6 (about 17 ulps). atol = 1e-6 for
 * values that cancel to near zero (SGD's last step leaves a weight at −2.3e-9, the float32
 * residue of −1.5 + 1.5-ish sums, where an ulp of the operands is ~1e-7).
 * These are expectNear's defaults (kernels-test/torch-checks.ts).
 */

// ---------------------------------------------------------------- the fixture's runs

interface WB {
  weight: number[][];
  bias: number[];
}

interface Run {
  optimizer: 'SGD' | 'Adam' | 'AdamW' | 'RMSprop';
  kwargs: {
    lr: number;
    momentum?: number;
    dampening?: number;
    nesterov?: boolean;
    weight_decay?: number;
    betas?: [number, number];
    eps?: number;
    amsgrad?: boolean;
    alpha?: number;
    centered?: boolean;
  };
  defaults: Record<string, unknown>;
  steps: WB[];
}

interface Scheduler {
  scheduler: 'StepLR' | 'ExponentialLR';
  kwargs: { step_size?: number; gamma: number };
  optimizer: 'SGD';
  initial_lr: number;
  epochs: number;
  lr_after_step: number[];
  get_last_lr: number[];
}

const OPT = fixture.optimizers as unknown as {
  initial: WB;
  grads: WB[];
  runs: Run[];
  schedulers: Scheduler[];
};

/** PyTorch's keyword arguments in this API's spelling (weight_decay → weightDecay). */
function optionsOf(k: Run['kwargs']): Record<string, unknown> {
  const o: Record<string, unknown> = { lr: k.lr };
  if (k.momentum !== undefined) o.momentum = k.momentum;
  if (k.dampening !== undefined) o.dampening = k.dampening;
  if (k.nesterov !== undefined) o.nesterov = k.nesterov;
  if (k.weight_decay !== undefined) o.weightDecay = k.weight_decay;
  if (k.betas !== undefined) o.betas = [k.betas[0], k.betas[1]];
  if (k.eps !== undefined) o.eps = k.eps;
  if (k.amsgrad !== undefined) o.amsgrad = k.amsgrad;
  if (k.alpha !== undefined) o.alpha = k.alpha;
  if (k.centered !== undefined) o.centered = k.centered;
  return o;
}

function makeOptimizer(
  name: Run['optimizer'],
  params: Parameter[],
  options: Record<string, unknown>,
): torch.optim.Optimizer {
  switch (name) {
    case 'SGD':
      return new optim.SGD(params, options as unknown as torch.optim.SGDOptions);
    case 'Adam':
      return new optim.Adam(params, options);
    case 'AdamW':
      return new optim.AdamW(params, options);
    case 'RMSprop':
      return new optim.RMSprop(params, options);
  }
}

function initialParams(): [Parameter, Parameter] {
  return [
    new torch.Parameter(torch.tensor(OPT.initial.weight)),
    new torch.Parameter(torch.tensor(OPT.initial.bias)),
  ];
}

/** sum(w ⊙ G) + sum(b ⊙ g): its gradient is exactly (G, g). */
function lossWithGradient(w: Tensor, b: Tensor, g: WB): Tensor {
  return w
    .mul(torch.tensor(g.weight))
    .sum()
    .add(b.mul(torch.tensor(g.bias)).sum());
}

function describeRun(r: Run): string {
  return `${r.optimizer}(${Object.entries(r.kwargs)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? `(${v.join(', ')})` : String(v)}`)
    .join(', ')})`;
}

describe('optimizers against PyTorch 1.13: parameters after each of 5 steps', () => {
  it('the fixture holds 11 runs of 5 steps, from the stored initial parameters and gradients', () => {
    expect(OPT.runs.length).toBe(11);
    expect(OPT.grads.length).toBe(5);
    for (const r of OPT.runs) expect(r.steps.length).toBe(OPT.grads.length);
  });

  for (const run of OPT.runs) {
    it(describeRun(run), async () => {
      const [w, b] = initialParams();
      const opt = makeOptimizer(run.optimizer, [w, b], optionsOf(run.kwargs));
      expect(opt.paramGroups[0].lr).toBe(run.kwargs.lr);
      for (const [k, g] of OPT.grads.entries()) {
        opt.zeroGrad();
        lossWithGradient(w, b, g).backward();
        opt.step();
        const want = run.steps[k] as WB;
        expectNear(await w.data(), flat(want.weight), `step ${k + 1}: weight`);
        expectNear(await b.data(), flat(want.bias), `step ${k + 1}: bias`);
      }
      expect(opt.steps).toBe(OPT.grads.length);
    });
  }

  it("each run's defaults are the ones this API applies (PyTorch's param_groups[0] vs ours)", () => {
    const spelled: Record<string, string> = { weight_decay: 'weightDecay' };
    for (const run of OPT.runs) {
      const opt = makeOptimizer(run.optimizer, initialParams(), optionsOf(run.kwargs));
      const group = opt.paramGroups[0] as unknown as Record<string, unknown>;
      for (const [k, v] of Object.entries(run.defaults)) {
        if (['maximize', 'differentiable', 'foreach', 'capturable', 'fused'].includes(k)) continue;
        const ours = group[spelled[k] ?? k];
        // PyTorch stores momentum 0 as int 0 and nesterov False; ours the same values
        expect(ours, `${describeRun(run)}: ${k}`).toEqual(v);
      }
    }
  });
});

// ---------------------------------------------------------------- schedulers

describe('lr schedulers against PyTorch 1.13', () => {
  /** lr values computed by repeated multiplication in float64, as PyTorch's chainable form. */
  const REL = 1e-12;

  for (const s of OPT.schedulers) {
    it(`${s.scheduler}(${JSON.stringify(s.kwargs)}) on SGD(lr=${s.initial_lr}): lr after each of ${s.epochs} scheduler.step()`, async () => {
      const w = new torch.Parameter(torch.tensor(OPT.initial.weight));
      const opt = new optim.SGD([w], { lr: s.initial_lr });
      const sched =
        s.scheduler === 'StepLR'
          ? new optim.StepLR(opt, { stepSize: s.kwargs.step_size as number, gamma: s.kwargs.gamma })
          : new optim.lrScheduler.ExponentialLR(opt, { gamma: s.kwargs.gamma });
      expect(sched.getLastLr()).toEqual([s.initial_lr]);
      for (let e = 0; e < s.epochs; e++) {
        opt.zeroGrad();
        opt.step(); // no backward yet: a zero gradient, as the fixture's zeros_like
        sched.step();
        const want = s.lr_after_step[e] as number;
        expect(
          Math.abs(opt.paramGroups[0].lr - want),
          `epoch ${e + 1}: lr ${opt.paramGroups[0].lr} vs ${want}`,
        ).toBeLessThanOrEqual(REL * want);
        expect(sched.getLastLr()).toEqual([opt.paramGroups[0].lr]);
      }
      const last = sched.getLastLr();
      expect(last.length).toBe(s.get_last_lr.length);
      expect(Math.abs((last[0] as number) - (s.get_last_lr[0] as number))).toBeLessThanOrEqual(
        REL * (s.get_last_lr[0] as number),
      );
      // zero gradients, no weight decay, no momentum: the parameter has not moved
      expect(await values(w)).toEqual(flat(OPT.initial.weight).map(Math.fround));
    });
  }

  it('the scheduled lr is the one the next step uses: w ← w − lr·g with lr halving every step', async () => {
    const w = new torch.Parameter(torch.tensor([1.0, -2.0, 0.5]));
    const opt = new optim.SGD([w], { lr: 0.5 });
    const sched = new optim.StepLR(opt, { stepSize: 1, gamma: 0.5 });
    const g = [0.25, -0.5, 1.0];
    let expected = [1.0, -2.0, 0.5];
    for (let e = 0; e < 4; e++) {
      const lr = opt.paramGroups[0].lr;
      opt.zeroGrad();
      w.mul(torch.tensor(g)).sum().backward();
      opt.step();
      // float32 update of exact binary fractions: exact
      expected = expected.map((v, i) => Math.fround(v - Math.fround(lr * (g[i] as number))));
      expect(await values(w), `step ${e + 1}, lr ${lr}`).toEqual(expected);
      sched.step();
    }
    expect(opt.paramGroups[0].lr).toBe(0.5 / 16);
  });
});

// ---------------------------------------------------------------- errors

describe('optimizer errors', () => {
  const param = () => new torch.Parameter(torch.tensor([1, 2, 3]));

  it('an empty parameter list', () => {
    expect(() => new optim.SGD([], { lr: 0.1 })).toThrow('optimizer got an empty parameter list');
    expect(() => new optim.Adam([])).toThrow('optimizer got an empty parameter list');
  });

  it('SGD without lr', () => {
    expect(() => new optim.SGD([param()], {} as torch.optim.SGDOptions)).toThrow(
      'SGD: lr is a required argument',
    );
  });

  it('a negative lr, at construction and when set before a step', () => {
    expect(() => new optim.SGD([param()], { lr: -0.1 })).toThrow('Invalid learning rate value: -0.1');
    expect(() => new optim.Adam([param()], { lr: -1e-3 })).toThrow('Invalid learning rate value: -0.001');
    const opt = new optim.RMSprop([param()], { lr: 0.01 });
    opt.paramGroups[0].lr = -1;
    expect(() => opt.step()).toThrow('Invalid learning rate: -1');
  });

  // PyTorch words these 'Invalid beta parameter at index 0: 1.0' and 'Invalid weight_decay
  // value: -1'; ours add 'value' ('... index 0 value: 1', RMSprop's '... value value: -1').
  it('betas out of [0, 1)', () => {
    expect(() => new optim.Adam([param()], { betas: [1.0, 0.999] })).toThrow(
      /Invalid beta parameter at index 0( value)?: 1 /,
    );
    expect(() => new optim.AdamW([param()], { betas: [0.9, -0.1] })).toThrow(
      /Invalid beta parameter at index 1( value)?: -0\.1 /,
    );
    expect(() => new optim.Adam([param()], { betas: [0.9] as unknown as [number, number] })).toThrow(
      'betas must be a pair',
    );
  });

  it('the same parameter given to two optimizers', () => {
    const p = param();
    new optim.SGD([p], { lr: 0.1 });
    expect(() => new optim.Adam([p])).toThrow('already belongs to another optimizer');
  });

  it('an unknown option, and other invalid values', () => {
    expect(
      () => new optim.SGD([param()], { lr: 0.1, momentun: 0.9 } as unknown as torch.optim.SGDOptions),
    ).toThrow("SGD: unknown option 'momentun'");
    expect(
      () => new optim.Adam([param()], { learningRate: 0.1 } as unknown as torch.optim.AdamOptions),
    ).toThrow("Adam: unknown option 'learningRate'");
    expect(() => new optim.SGD([param()], { lr: 0.1, nesterov: true })).toThrow(
      'Nesterov momentum requires a momentum and zero dampening',
    );
    expect(() => new optim.SGD([param()], { lr: 0.1, momentum: -0.5 })).toThrow(
      'Invalid momentum value: -0.5',
    );
    expect(() => new optim.RMSprop([param()], { weightDecay: -1 })).toThrow(
      /Invalid weight_decay value( value)?: -1 /,
    );
    // a plain tensor (as from JavaScript, where the types do not stop it)
    const plain: unknown = [torch.tensor([1, 2])];
    expect(() => new optim.SGD(plain as Iterable<Parameter>, { lr: 0.1 })).toThrow('is not a Parameter');
  });
});

// ---------------------------------------------------------------- parameters as tensors

describe("an optimizer's parameters keep working as tensors", () => {
  it('values, grad null before backward, the gradient after, zeros after zeroGrad, null after zeroGrad(true)', async () => {
    const [w, b] = initialParams();
    const opt = new optim.Adam([w, b], { lr: 0.01 });
    expect(await values(w)).toEqual(flat(OPT.initial.weight));
    expect(await values(b)).toEqual(flat(OPT.initial.bias));
    expect(w.grad).toBeNull();
    expect(b.grad).toBeNull();
    expect([...w.shape]).toEqual([3, 2]);
    // ops on them still run, and differentiate
    expect(await values(w.mul(2))).toEqual(flat(OPT.initial.weight).map((v) => 2 * v));

    const g = OPT.grads[0] as WB;
    lossWithGradient(w, b, g).backward();
    expect(await values(w.grad as Tensor)).toEqual(flat(g.weight));
    expect(await values(b.grad as Tensor)).toEqual(flat(g.bias));
    // without zeroGrad a second backward accumulates, as in PyTorch
    lossWithGradient(w, b, g).backward();
    expect(await values(b.grad as Tensor)).toEqual(flat(g.bias).map((v) => Math.fround(2 * v)));

    opt.zeroGrad();
    expect(await values(w.grad as Tensor)).toEqual(flat(g.weight).map(() => 0));
    expect(await values(b.grad as Tensor)).toEqual([0, 0]);
    // zeroGrad then backward overwrites
    const g2 = OPT.grads[1] as WB;
    lossWithGradient(w, b, g2).backward();
    expect(await values(w.grad as Tensor)).toEqual(flat(g2.weight));

    opt.zeroGrad(true);
    expect(w.grad).toBeNull();
    expect(b.grad).toBeNull();
    // a step with no gradient leaves Adam's parameters where they are (zero moments)
    const before = await values(w);
    opt.step();
    expect(await values(w)).toEqual(before);
  });

  it('a Linear layer trained with SGD moves by −lr·grad, and its stateDict reads the new values', async () => {
    torch.manualSeed(21);
    const lin = new torch.nn.Linear(2, 1);
    const opt = new optim.SGD(lin.parameters(), { lr: 0.25 });
    const W0 = await values(lin.weight);
    const b0 = await values(lin.bias as Tensor);
    const x = torch.tensor([
      [1, 2],
      [-1, 0.5],
    ]);
    opt.zeroGrad();
    lin(x).sum().backward();
    // d/dW sum(x·Wᵀ + b) = column sums of x = [0, 2.5]; d/db = rows = 2
    expect(await values(lin.weight.grad as Tensor)).toEqual([0, 2.5]);
    expect(await values(must(lin.bias, 'bias').grad as Tensor)).toEqual([2]);
    opt.step();
    const sd = lin.stateDict();
    expectNear(
      await values(must(sd.weight, 'weight')),
      [W0[0] as number, (W0[1] as number) - 0.25 * 2.5],
      'weight',
      1e-7,
      1e-7,
    );
    expectNear(await values(must(sd.bias, 'bias')), [(b0[0] as number) - 0.5], 'bias', 1e-7, 1e-7);
  });
});
