/**
 * Data utilities, browser-safe: the IDX reader, MNIST through fetch, and the scikit-learn /
 * Keras style preparation helpers. Meant to be re-exported as a namespace
 * (`export * as data from './data/index.js'`); the Node MNIST loader is src/node/mnist.ts.
 */
export { parseIdx, readIdxHeader, idxByteLength, IdxError } from './idx.js';
export type { IdxType, IdxData, IdxHeader, IdxTensor, ParseIdxOptions } from './idx.js';
export { fetchMnist, mnistSplit, MNIST_FILES, MNIST_SIDE, MNIST_FEATURES, MNIST_CLASSES } from './mnist.js';
export type { MnistData, MnistSplit, MnistOptions, FetchMnistOptions } from './mnist.js';
export {
  toCategorical,
  takeRows,
  standardScaler,
  minMaxScaler,
  StandardScaler,
  MinMaxScaler,
  trainTestSplit,
  kFold,
  stratifiedKFold,
  KFold,
  StratifiedKFold,
  shuffledIndices,
} from './prep.js';
export * as utils from './utils.js';
export { createRng } from '../util/random.js';
export type { Rng } from '../util/random.js';
export type {
  NumericArray,
  Split,
  StandardScalerOptions,
  MinMaxScalerOptions,
  TrainTestSplitOptions,
  KFoldOptions,
  KFoldArgs,
  ToCategoricalOptions,
} from './prep.js';
export { gpuDataset, mnistDatasets, mnist } from './gpu.js';
export type { MnistDatasets } from './gpu.js';
