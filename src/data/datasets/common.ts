/** What the dataset loaders share: their return shape, option reading and array checks. */
import { readOptions } from '../../util/options.js';
import { DOWNLOAD_KEYS, DatasetError, type DownloadOptions, type RemoteFile } from './get-file.js';
import type { NdArray, NpyDType } from './npy.js';

/** Keras's `(x_train, y_train), (x_test, y_test)`. */
export type LoadedData<X, Y> = [train: [x: X, y: Y], test: [x: X, y: Y]];

/** Images and labels, u8, as Keras's MNIST-like loaders give them: x [n, 28, 28], y [n]. */
export type ImageData = LoadedData<NdArray<'uint8'>, NdArray<'uint8'>>;

/** A float array as stored in Keras's file (float64 in Keras's housing files). */
export type FloatArray = NdArray<'float64'> | NdArray<'float32'>;

/** Options in camelCase (after readOptions) for a loader with `keys` beyond the download ones. */
export function readLoaderOptions<T extends DownloadOptions>(
  what: string,
  given: unknown,
  keys: Readonly<Record<Exclude<keyof T, keyof DownloadOptions> & string, true>>,
): T {
  return readOptions<T>(what, given, { ...DOWNLOAD_KEYS, ...keys } as Readonly<
    Record<keyof T & string, true>
  >);
}

/**
 * Keras's `path` argument: the file's name in the cache (Keras 3 refuses paths; the folder
 * is cacheDir's business).
 */
export function withCacheName(file: RemoteFile, path: string | undefined, what: string): RemoteFile {
  if (path === undefined) return file;
  if (typeof path !== 'string' || path === '' || /[\\/]/.test(path)) {
    throw new DatasetError(
      `${what}: path ${JSON.stringify(path)} must be a file name (the folder is cacheDir's), as in Keras 3`,
    );
  }
  return { ...file, cacheName: path };
}

/** `arr` checked to be one of `dtypes` with a shape matching `shape` (-1: any size). */
export function expectArray<D extends NpyDType>(
  arr: NdArray | undefined,
  where: string,
  name: string,
  dtypes: readonly D[],
  shape: readonly number[],
): NdArray<D> {
  const want = `${dtypes.join(' or ')} [${shape.map((d) => (d < 0 ? 'n' : String(d))).join(', ')}]`;
  if (!arr) throw new DatasetError(`${where}: no array '${name}' (expected ${want})`);
  const fits =
    (dtypes as readonly NpyDType[]).includes(arr.dtype) &&
    arr.shape.length === shape.length &&
    shape.every((d, i) => d < 0 || d === arr.shape[i]);
  if (!fits) {
    throw new DatasetError(
      `${where}: array '${name}' is ${arr.dtype} [${arr.shape.join(', ')}], expected ${want}`,
    );
  }
  return arr as NdArray<D>;
}
