/**
 * The PyTorch-style front-end end to end, in Node (Dawn) and in headless Chromium alike: the
 * deck's hand-written loop (deck 003: Sequential 8 → 12 → 8 → 1, BCELoss, Adam 0.001, batches
 * of 10, 5 epochs) from PyTorch's own initial weights, against PyTorch 1.13's losses and final
 * weights (test/fixtures/torch.json, deck_loop.sequential_60), with every iteration after the
 * second replayed from its compiled recording.
 *
 * Tolerances as src/torch/loop.test.ts: float32 in another summation order, losses 2e-6
 * relative, weights 2e-6 absolute.
 */
import fixture from '../../test/fixtures/torch.json';
import type { Engine } from '../../src/index.js';
import { nn, optim, setDefaultDevice, tensor, tracerOf } from '../../src/torch/index.js';
import { expectClose } from '../harness.js';
import { deckSequential } from '../models.js';
import type { KernelCase } from './types.js';

const run = fixture.deck_loop.sequential_60;

export const cases: KernelCase[] = [
  {
    name: 'torch: the deck loop, replayed after two iterations, against PyTorch 1.13',
    async run(engine: Engine) {
      // Modules and tensors on the runner's engine (other cases make and lose engines of their own).
      setDefaultDevice(engine);
      try {
        await deckLoop(engine);
      } finally {
        setDefaultDevice(null);
      }
    },
  },
];

/** The deck's loop as its slide writes it, checked against PyTorch's run. */
async function deckLoop(engine: Engine): Promise<void> {
  const tracer = tracerOf(engine);
  const before = { ...tracer.stats };
  const model = deckSequential();
  model.loadStateDict(Object.fromEntries(run.initial_state.map((e) => [e.name, e.values])));
  const X = tensor(run.X, { engine });
  const y = tensor(run.y, { engine });
  const lossFn = new nn.BCELoss();
  const optimizer = new optim.Adam(model.parameters(), { lr: 0.001 });
  const losses: number[] = [];
  for (let epoch = 0; epoch < run.n_epochs; epoch++) {
    for (let i = 0; i < run.X.length; i += run.batch_size) {
      const Xbatch = X.slice(i, i + run.batch_size);
      const yPred = model(Xbatch);
      const ybatch = y.slice(i, i + run.batch_size);
      const loss = lossFn(yPred, ybatch);
      optimizer.zeroGrad();
      loss.backward();
      optimizer.step();
      losses.push(await loss.item());
    }
  }
  expectClose(losses, run.losses, { atol: 0, rtol: 2e-6 }, 'losses');
  const state = model.stateDict();
  for (const e of run.final_state) {
    const got = await (state[e.name] as NonNullable<(typeof state)[string]>).data();
    expectClose(got, (e.values as unknown[]).flat() as number[], { atol: 2e-6, rtol: 0 }, e.name);
  }
  const replayed = tracer.stats.replayedIterations - before.replayedIterations;
  if (replayed < run.losses.length - 3) {
    throw new Error(`only ${replayed} of ${run.losses.length} iterations replayed`);
  }
}
