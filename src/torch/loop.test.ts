/**
 * The deck's hand-written PyTorch loop (deck 003), run as written, against PyTorch 1.13's
 * own run of it (test/fixtures/make_torch.py → torch.json: same data, same initial
 * weights, float32): the loss of every iteration, the final weights and predictions. Then
 * the compiled step: after the first iterations the loop replays, creating no buffer, bind
 * group or pipeline per iteration and reading nothing back unless item() is called, and it
 * gives the same numbers as running every iteration eagerly; a last smaller batch, a branch
 * on a value read in forward, tensors made anew each iteration and a tensor kept from an
 * earlier iteration behave as they should.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initEngine, type Engine } from '../node/index.js';
import fixture from '../../test/fixtures/torch.json';
import { manualSeed, nn, noGrad, optim, tensor, tracerOf, type Tensor } from './index.js';
import { deckSequential } from '../../kernels-test/models.js';

let engine: Engine;
beforeAll(async () => {
  engine = await initEngine({ adapter: (process.env.WEBGPU_MLP_ADAPTER ?? 'auto') as 'auto', log: false });
});
afterAll(() => engine.dispose());

type Run = (typeof fixture.deck_loop)['sequential_60'];
type StateEntry = Run['initial_state'][number];

/** The fixture's CustomNet, subclassed as the deck writes it. */
class CustomNet extends nn.Module {
  layer1 = new nn.Linear(8, 12);
  layer2 = new nn.Linear(12, 1);

  override forward(x: Tensor): Tensor {
    const h = new nn.ReLU()(this.layer1(x));
    return new nn.Sigmoid()(this.layer2(h));
  }
}

function stateOf(entries: readonly StateEntry[]): Record<string, number[] | number[][]> {
  return Object.fromEntries(entries.map((e) => [e.name, e.values]));
}

interface LoopOptions {
  /** Replay compiled iterations (default) or run every one eagerly. */
  trace?: boolean;
  /** Make each batch anew from host rows (torch.tensor per iteration) instead of X.slice. */
  hostBatches?: boolean;
  /** Read loss.item() every iteration (default true). */
  readLoss?: boolean;
}

/** The deck's loop, exactly as its slide writes it. */
async function deckLoop(run: Run, model: nn.Module, options: LoopOptions = {}) {
  const tracer = tracerOf(engine);
  tracer.reset();
  tracer.enabled = options.trace ?? true;
  const before = { ...tracer.stats };
  model.loadStateDict(stateOf(run.initial_state));
  const X = tensor(run.X);
  const y = tensor(run.y);
  const lossFn = new nn.BCELoss();
  const optimizer = new optim.Adam(model.parameters(), { lr: 0.001 });
  const losses: number[] = [];
  const batch = run.batch_size;
  for (let epoch = 0; epoch < run.n_epochs; epoch++) {
    for (let i = 0; i < run.X.length; i += batch) {
      const Xbatch = options.hostBatches ? tensor(run.X.slice(i, i + batch)) : X.slice(i, i + batch);
      const yPred = model(Xbatch);
      const ybatch = options.hostBatches ? tensor(run.y.slice(i, i + batch)) : y.slice(i, i + batch);
      const loss = lossFn(yPred, ybatch);
      optimizer.zeroGrad();
      loss.backward();
      optimizer.step();
      if (options.readLoss ?? true) losses.push(await loss.item());
    }
  }
  const stats = Object.fromEntries(
    Object.entries(tracer.stats).map(([k, v]) => [k, v - before[k as keyof typeof before]]),
  ) as typeof before;
  tracer.enabled = true;
  return { losses, stats, X, optimizer };
}

async function finalState(model: nn.Module): Promise<Record<string, Float32Array>> {
  const out: Record<string, Float32Array> = {};
  for (const [k, t] of Object.entries(model.stateDict())) out[k] = (await t.data()) as Float32Array;
  return out;
}

/** |a − b| ≤ atol + rtol·|b| elementwise, with the worst element named on failure. */
function expectClose(
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  atol: number,
  rtol: number,
  what: string,
) {
  expect(got.length, `${what}: length`).toBe(want.length);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < want.length; i++) {
    const excess =
      Math.abs((got[i] as number) - (want[i] as number)) - (atol + rtol * Math.abs(want[i] as number));
    if (excess > worst || Number.isNaN(excess)) {
      worst = excess;
      at = i;
    }
  }
  expect(at, `${what}: element ${at} is ${got[at]}, want ${want[at]}`).toBe(-1);
}

/**
 * Tolerances against PyTorch: the same float32 formulas in a different summation order
 * (tiled matmul, tree reductions); 30-60 Adam steps at lr 1e-3 keep the weights within a few
 * ulps of 1e-3 steps. Losses 2e-6 relative, weights and predictions 2e-6 absolute.
 */
const LOSS_RTOL = 2e-6;
const WEIGHT_ATOL = 2e-6;

describe('the deck loop against PyTorch 1.13', () => {
  const cases: [string, Run, () => nn.Module][] = [
    ['Sequential, 60 rows in batches of 10', fixture.deck_loop.sequential_60, deckSequential],
    ['Sequential, 64 rows (a last batch of 4)', fixture.deck_loop.sequential_64, deckSequential],
    ['CustomNet (a Module subclass with forward)', fixture.deck_loop.custom_net_60, () => new CustomNet()],
  ];
  for (const [name, run, build] of cases) {
    it(name, async () => {
      const model = build();
      const { losses, stats } = await deckLoop(run, model);
      expectClose(losses, run.losses, 0, LOSS_RTOL, `${name}: losses`);
      const state = await finalState(model);
      for (const e of run.final_state) {
        expectClose(
          state[e.name] as Float32Array,
          (e.values as unknown[]).flat() as number[],
          WEIGHT_ATOL,
          0,
          `${name}: ${e.name}`,
        );
      }
      model.eval();
      const predictions = await model(tensor(run.X)).data();
      expectClose(predictions, run.final_predictions.flat(), WEIGHT_ATOL, 0, `${name}: predictions`);
      // Most iterations replayed: the full batches from the third iteration on; with a last
      // batch of 4, that batch's iteration compiles at its second occurrence (epoch 2).
      const iterations = run.losses.length;
      expect(stats.replayedIterations + stats.eagerIterations).toBe(iterations);
      expect(stats.replayedIterations).toBeGreaterThanOrEqual(iterations - 5);
    });
  }
});

describe('the compiled step', () => {
  const run = fixture.deck_loop.sequential_60;

  it('gives the eager loop bit for bit, and replays with nothing created and nothing read', async () => {
    const eager = deckSequential();
    const a = await deckLoop(run, eager, { trace: false });
    expect(a.stats.replayedIterations).toBe(0);
    const traced = deckSequential();
    const b = await deckLoop(run, traced, { trace: true });
    expect(b.stats.compiles).toBe(1);
    expect(b.losses).toEqual(a.losses);
    const [sa, sb] = [await finalState(eager), await finalState(traced)];
    for (const k of Object.keys(sa))
      expect(Array.from(sb[k] as Float32Array), k).toEqual(Array.from(sa[k] as Float32Array));

    // Counts of replayed iterations: run 12 more without reading the loss.
    const model = deckSequential();
    const X = tensor(run.X);
    const y = tensor(run.y);
    const lossFn = new nn.BCELoss();
    const opt = new optim.Adam(model.parameters(), { lr: 0.001 });
    const iteration = (i: number) => {
      const loss = lossFn(model(X.slice(i, i + 10)), y.slice(i, i + 10));
      opt.zeroGrad();
      loss.backward();
      opt.step();
      return loss;
    };
    for (let k = 0; k < 3; k++) iteration(10 * k); // learn and compile
    const s0 = engine.stats();
    const r0 = tracerOf(engine).stats.replayedIterations;
    for (let k = 0; k < 12; k++) iteration(10 * (k % 6));
    const s1 = engine.stats();
    expect(tracerOf(engine).stats.replayedIterations - r0).toBe(12);
    expect(s1.buffersCreated - s0.buffersCreated).toBe(0);
    expect(s1.bindGroups - s0.bindGroups).toBe(0);
    expect(s1.pipelines - s0.pipelines).toBe(0);
    expect(s1.readbacks - s0.readbacks).toBe(0);
    // Each replayed iteration: one submit, and the same dispatches as its recording.
    expect(s1.submits - s0.submits).toBe(12);
    const perIteration = (s1.dispatches - s0.dispatches) / 12;
    expect(Number.isInteger(perIteration)).toBe(true);
    // The deck's model: 2 slices; 3 linear kernels with their activation fused; the loss
    // (a row pass and a sum); backward: sigmoid's gradient, 3 × (dW, db), 2 dX with the
    // ReLU's derivative in the product's epilogue (the loss's gradient is used where the
    // forward wrote it); Adam's advance and update.
    expect(perIteration).toBe(2 + 3 + 2 + (1 + 3 * 2 + 2) + 2);
    // A read costs one readback and no buffer beyond its staging buffer.
    const loss = iteration(0);
    const s2 = engine.stats();
    await loss.item();
    expect(engine.stats().readbacks - s2.readbacks).toBe(1);
  });

  it('tensors made anew each iteration from host rows are fed into the recorded buffers', async () => {
    const a = await deckLoop(run, deckSequential(), { trace: false });
    const b = await deckLoop(run, deckSequential(), { hostBatches: true });
    expect(b.stats.replayedIterations).toBe(run.losses.length - 2);
    expect(b.losses).toEqual(a.losses);
  });

  it('a tensor kept from an earlier replayed iteration is refused by name, not read stale', async () => {
    manualSeed(1);
    const model = deckSequential();
    const X = tensor(run.X);
    const y = tensor(run.y);
    const lossFn = new nn.BCELoss();
    const opt = new optim.SGD(model.parameters(), { lr: 0.1 });
    const kept: Tensor[] = [];
    for (let k = 0; k < 5; k++) {
      const pred = model(X.slice(10 * k, 10 * k + 10));
      const loss = lossFn(pred, y.slice(10 * k, 10 * k + 10));
      opt.zeroGrad();
      loss.backward();
      opt.step();
      kept.push(loss);
    }
    // The last iteration's loss is still valid; the one before was overwritten by it.
    expect(Number.isFinite(await (kept[4] as Tensor).item())).toBe(true);
    await expect((kept[3] as Tensor).item()).rejects.toThrow(
      /earlier iteration of a compiled training step.*has since reused.*noGrad\(\(\) => t\.clone\(\)\)/,
    );
    // A detached view follows its base: refused too, not read stale; a copy made under
    // noGrad is a tensor of its own.
    const view = (kept[4] as Tensor).detach();
    const copy = noGrad(() => (kept[4] as Tensor).clone());
    const value = await copy.item();
    expect(await view.item()).toBe(value);
    const loss = lossFn(model(X.slice(0, 10)), y.slice(0, 10));
    opt.zeroGrad();
    loss.backward();
    opt.step();
    await expect(view.item()).rejects.toThrow(/earlier iteration/);
    expect(await copy.item()).toBe(value);
  });

  it('a forward that branches on a value read with item() replays the branch it took before and runs the other eagerly', async () => {
    class Branchy extends nn.Module {
      a = new nn.Linear(2, 3);
      b = new nn.Linear(3, 1);
      c = new nn.Linear(3, 1);
      async decide(x: Tensor): Promise<Tensor> {
        const h = this.a(x).tanh();
        return (await h.sum().item()) > 0 ? this.b(h) : this.c(h).mul(-1);
      }
    }
    const rows = [
      [1, 2],
      [-1, -2],
      [0.5, -0.25],
      [-3, 1],
    ];
    const target = tensor([[0.5], [-0.5], [0.25], [1]]);
    const train = async (traced: boolean) => {
      manualSeed(7);
      const m = new Branchy();
      const tracer = tracerOf(engine);
      tracer.reset();
      tracer.enabled = traced;
      const opt = new optim.SGD(m.parameters(), { lr: 0.05, momentum: 0.9 });
      const replayed0 = tracer.stats.replayedIterations;
      const X = tensor(rows);
      const losses: number[] = [];
      for (let k = 0; k < 12; k++) {
        // Two rows at a time: one batch's hidden sum is positive, the other's negative.
        const i = (k % 2) * 2;
        const out = await m.decide(X.slice(i, i + 2));
        const loss = new nn.MSELoss()(out, target.slice(i, i + 2));
        opt.zeroGrad();
        loss.backward();
        opt.step();
        losses.push(await loss.item());
      }
      tracer.enabled = true;
      return { losses, state: await finalState(m), replayed: tracer.stats.replayedIterations - replayed0 };
    };
    const eager = await train(false);
    const traced = await train(true);
    expect(traced.losses).toEqual(eager.losses);
    for (const k of Object.keys(eager.state)) {
      expect(Array.from(traced.state[k] as Float32Array), k).toEqual(
        Array.from(eager.state[k] as Float32Array),
      );
    }
    // Each branch's iteration compiles at its second occurrence (by iteration 4 at the
    // latest); from then on the next iteration is predicted from the last (B follows A, A
    // follows B), so both branches replay: at least the last 8 iterations.
    expect(eager.replayed).toBe(0);
    expect(traced.replayed).toBeGreaterThanOrEqual(12 - 4);
  });

  it('dropout draws a new mask each replayed iteration, batch norm keeps its running statistics, noGrad evaluation keeps the replay going', async () => {
    manualSeed(5);
    const drop = new nn.Dropout(0.5);
    const bn = new nn.BatchNorm1d(12);
    const model = new nn.Sequential(
      new nn.Linear(8, 12),
      bn,
      new nn.ReLU(),
      drop,
      new nn.Linear(12, 1),
      new nn.Sigmoid(),
    );
    const X = tensor(run.X);
    const y = tensor(run.y);
    const lossFn = new nn.BCELoss();
    const opt = new optim.Adam(model.parameters(), { lr: 0.01 });
    const tracer = tracerOf(engine);
    const replayed0 = tracer.stats.replayedIterations;
    const masks: string[] = [];
    let mean: ArrayLike<number> = new Float32Array(12);
    for (let k = 0; k < 8; k++) {
      const xb = X.slice(10 * (k % 6), 10 * (k % 6) + 10);
      // The same forward, layer by layer, so the dropout's output can be read.
      const h = drop(new nn.ReLU()(bn(model.at(0)(xb))));
      const out = model.at(5)(model.at(4)(h));
      const loss = lossFn(out, y.slice(10 * (k % 6), 10 * (k % 6) + 10));
      opt.zeroGrad();
      loss.backward();
      opt.step();
      const values = await h.data();
      // Kept values are doubled ReLU outputs, dropped ones 0: the pattern is the mask.
      masks.push(Array.from(values, (v) => (v === 0 ? '0' : '1')).join(''));
      // An evaluation between steps, under noGrad, with the running statistics.
      model.eval();
      const p = await noGrad(() => model(X.slice(0, 10))).data();
      expect(p.every((v) => v > 0 && v < 1)).toBe(true);
      model.train();
      mean = await bn.runningMean.data();
    }
    expect(tracer.stats.replayedIterations - replayed0).toBeGreaterThanOrEqual(5);
    expect(new Set(masks).size).toBe(masks.length);
    // The running mean moved from 0 at PyTorch's momentum 0.1 per training step.
    expect(Array.from(mean).some((v) => v !== 0)).toBe(true);
  });

  it('an iteration whose backward keeps its graph (retainGraph) is not compiled and stays right', async () => {
    const train = async (traced: boolean) => {
      manualSeed(9);
      const m = deckSequential();
      tracerOf(engine).reset();
      tracerOf(engine).enabled = traced;
      const X = tensor(run.X);
      const y = tensor(run.y);
      const opt = new optim.SGD(m.parameters(), { lr: 0.1 });
      const losses: number[] = [];
      for (let k = 0; k < 6; k++) {
        const loss = new nn.BCELoss()(m(X.slice(10 * k, 10 * k + 10)), y.slice(10 * k, 10 * k + 10));
        opt.zeroGrad();
        loss.backward(null, { retainGraph: true });
        loss.backward(); // twice: the gradient doubles
        opt.step();
        losses.push(await loss.item());
      }
      const stats = { ...tracerOf(engine).stats };
      tracerOf(engine).enabled = true;
      return { losses, stats, state: await finalState(m) };
    };
    const eager = await train(false);
    const compiles = tracerOf(engine).stats.compiles;
    const traced = await train(true);
    expect(traced.stats.compiles).toBe(compiles);
    expect(traced.losses).toEqual(eager.losses);
    for (const k of Object.keys(eager.state)) {
      expect(Array.from(traced.state[k] as Float32Array), k).toEqual(
        Array.from(eager.state[k] as Float32Array),
      );
    }
  });
});
