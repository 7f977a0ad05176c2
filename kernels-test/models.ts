/** Small model pieces the model and tune tests share. */
import { layers, type Dense } from '../src/nn/layers/index.js';
import type { DenseArgs } from '../src/nn/layers/dense.js';

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
