/**
 * `datasets.fashionMnist.loadData()`: Keras's `keras.datasets.fashion_mnist.load_data()`.
 * Zalando's 60,000 + 10,000 28×28 grayscale pictures of clothes in 10 classes
 * (CLASS_NAMES), u8 x [n, 28, 28] and u8 y [n], from the four gzipped IDX files Keras
 * downloads, cached where Keras caches them (~/.keras/datasets/fashion-mnist/).
 *
 * Keras publishes no hash for these files, so none is checked (as in Keras); a damaged file
 * still fails loudly: gzip's CRC-32 and length trailer, then the IDX header and sizes.
 */
import type { Spelled } from '../../util/options.js';
import { parseIdx } from '../idx.js';
import { mnistSplit } from '../mnist.js';
import { readLoaderOptions, type ImageData } from './common.js';
import { getDatasetFile, gunzip, KERAS_ORIGIN, type DownloadOptions, type RemoteFile } from './get-file.js';

/** The label names, by class id (Keras's docstring and Zalando's README). */
export const CLASS_NAMES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
] as const;

/** keras/src/datasets/fashion_mnist.py's four files, in its order. */
export const FASHION_MNIST_FILES: Readonly<
  Record<'trainLabels' | 'trainImages' | 'testLabels' | 'testImages', RemoteFile>
> = {
  trainLabels: {
    fname: 'train-labels-idx1-ubyte.gz',
    origin: KERAS_ORIGIN,
    subdir: 'datasets/fashion-mnist',
  },
  trainImages: {
    fname: 'train-images-idx3-ubyte.gz',
    origin: KERAS_ORIGIN,
    subdir: 'datasets/fashion-mnist',
  },
  testLabels: { fname: 't10k-labels-idx1-ubyte.gz', origin: KERAS_ORIGIN, subdir: 'datasets/fashion-mnist' },
  testImages: { fname: 't10k-images-idx3-ubyte.gz', origin: KERAS_ORIGIN, subdir: 'datasets/fashion-mnist' },
};

export type FashionMnistLoadOptions = DownloadOptions;

const WHAT = 'datasets.fashionMnist.loadData';

/**
 * Fashion MNIST as Keras gives it: `[[xTrain, yTrain], [xTest, yTest]]`, each
 * `{ dtype: 'uint8', data, shape }` (x [n, 28, 28], y [n]); CLASS_NAMES[y] names a label.
 * With `url` or `dir`, the four files are read there under Keras's names.
 */
export async function loadData(options?: Spelled<FashionMnistLoadOptions>): Promise<ImageData> {
  return loadFashionFrom(FASHION_MNIST_FILES, options);
}

/** loadData reading `files` (tests serve their own). */
export async function loadFashionFrom(
  files: typeof FASHION_MNIST_FILES,
  given?: Spelled<FashionMnistLoadOptions>,
): Promise<ImageData> {
  const options = readLoaderOptions<FashionMnistLoadOptions>(WHAT, given, {});
  // One file: gunzipped, and its IDX header and length checked (so a damaged cached copy
  // is caught here, where it is downloaded again).
  const idx = (file: RemoteFile): Promise<{ bytes: Uint8Array; where: string }> =>
    getDatasetFile(file, options, WHAT, async (gz, where) => {
      const bytes = await gunzip(gz, where);
      parseIdx(bytes, { name: where });
      return { bytes, where };
    });
  const [trainLabels, trainImages, testLabels, testImages] = await Promise.all([
    idx(files.trainLabels),
    idx(files.trainImages),
    idx(files.testLabels),
    idx(files.testImages),
  ]);
  const split = (images: typeof trainImages, labels: typeof trainLabels, option: string): ImageData[0] => {
    const s = mnistSplit(images.bytes, labels.bytes, undefined, {
      images: images.where,
      labels: labels.where,
      option,
    });
    return [
      { dtype: 'uint8', data: s.images, shape: [s.rows, 28, 28] },
      { dtype: 'uint8', data: s.labels, shape: [s.rows] },
    ];
  };
  return [split(trainImages, trainLabels, 'train'), split(testImages, testLabels, 'test')];
}
