/**
 * The split Keras's regression loaders share (keras/src/datasets/california_housing.py and
 * boston_housing.py): rows shuffled by numpy's RandomState(seed), then the first
 * ⌊n·(1 − test_split)⌋ rows for training and the rest for testing.
 */
import { expectArray, withCacheName, type FloatArray, type LoadedData } from './common.js';
import { DatasetError, getDatasetFile, type DownloadOptions, type RemoteFile } from './get-file.js';
import { parseNpz, type NdArray } from './npy.js';
import { randomStatePermutation } from './numpy-random.js';

/** x [n, features] and y [n], float as stored in Keras's file. */
export type HousingData = LoadedData<FloatArray, FloatArray>;

export interface HousingLoadOptions extends DownloadOptions {
  /** The file's name in the cache (Keras's `path`). */
  path?: string;
  /** The fraction of rows kept for testing, in [0, 1) (default 0.2). */
  testSplit?: number;
  /** numpy RandomState seed of the shuffle, an integer in [0, 2³² − 1] (default 113). */
  seed?: number;
}

export const HOUSING_KEYS = { path: true, testSplit: true, seed: true } as const;

/**
 * `file`'s x and y, the first `keep` rows when given, split as Keras splits them.
 * `features`: the columns of x.
 */
export async function loadHousing(
  file: Readonly<RemoteFile>,
  options: HousingLoadOptions,
  what: string,
  features: number,
  keep?: number,
): Promise<HousingData> {
  const testSplit = options.testSplit ?? 0.2;
  if (typeof testSplit !== 'number' || !(testSplit >= 0 && testSplit < 1)) {
    throw new DatasetError(
      `${what}: test_split ${String(testSplit)} must be between 0 and 1 (exclusive of 1), as in Keras`,
    );
  }
  const seed = options.seed ?? 113;
  if (!Number.isSafeInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new DatasetError(
      `${what}: seed ${String(seed)} must be an integer between 0 and 2**32 - 1 (numpy's RandomState)`,
    );
  }
  const named = withCacheName(file, options.path, what);
  const [x, y] = await getDatasetFile(named, options, what, async (bytes, where) => {
    const a = await parseNpz(bytes, where, ['x', 'y']);
    const xs = expectArray(a.x, where, 'x', ['float64', 'float32'], [-1, features]);
    const ys = expectArray(a.y, where, 'y', ['float64', 'float32'], [xs.shape[0] ?? 0]);
    return [xs as FloatArray, ys as FloatArray] as const;
  });
  const n = Math.min(keep ?? Infinity, x.shape[0] ?? 0);
  const order = randomStatePermutation(n, seed);
  // int(len(x) * (1 - test_split)) in Python is the same double product, truncated.
  const cut = Math.trunc(n * (1 - testSplit));
  return [
    [rows(x, order, 0, cut), rows(y, order, 0, cut)],
    [rows(x, order, cut, n), rows(y, order, cut, n)],
  ];
}

/** Rows order[start..end) of `a` (a row: all values after the first dimension), copied. */
function rows(a: FloatArray, order: Uint32Array, start: number, end: number): FloatArray {
  const width = a.shape.slice(1).reduce((p, d) => p * d, 1);
  const src = a.data;
  const out = new (src.constructor as new (n: number) => typeof src)((end - start) * width);
  for (let r = start; r < end; r++) {
    const from = (order[r] ?? 0) * width;
    out.set(src.subarray(from, from + width), (r - start) * width);
  }
  return { dtype: a.dtype, data: out, shape: [end - start, ...a.shape.slice(1)] } as NdArray as FloatArray;
}
