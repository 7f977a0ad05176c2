/** Small model pieces the model, tune and torch tests share. */
import { layers, type Dense } from '../src/nn/layers/index.js';
import type { DenseArgs } from '../src/nn/layers/dense.js';
import { nn } from '../src/torch/index.js';
import { createRng } from '../src/util/random.js';

/**
 * layers.dense with a GlorotUniform kernel seeded in its config, so a test's model starts
 * from the same weights on every run; `args` adds the rest (inputShape, regularizers...).
 */
export function seededDense(
  units: number,
  activation: string,
  seed: number,
  args: Omit<DenseArgs, 'units' | 'activation' | 'kernelInitializer'> = {},
): Dense {
  return layers.dense({
    units,
    activation,
    ...args,
    kernelInitializer: { className: 'GlorotUniform', config: { seed } },
  });
}

/** k Gaussian blobs in 3-D, `per` rows each, class c centred at (c, −c, c/2), seeded. */
export function blobs3(k: number, per: number, seed = 5): { x: number[][]; ids: number[] } {
  const rng = createRng(seed);
  const x: number[][] = [];
  const ids: number[] = [];
  for (let c = 0; c < k; c++)
    for (let i = 0; i < per; i++) {
      x.push([c + 0.8 * rng.normal(), -c + 0.8 * rng.normal(), c / 2 + 0.8 * rng.normal()]);
      ids.push(c);
    }
  return { x, ids };
}

/** The course deck's Sequential (deck 003, Pima): 8 → 12 → 8 → 1, ReLU, ReLU, Sigmoid. */
export function deckSequential(): nn.Sequential {
  return new nn.Sequential(
    new nn.Linear(8, 12),
    new nn.ReLU(),
    new nn.Linear(12, 8),
    new nn.ReLU(),
    new nn.Linear(8, 1),
    new nn.Sigmoid(),
  );
}
