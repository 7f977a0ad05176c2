/**
 * `datasets`: Keras's dataset loaders under Keras's names (`datasets.mnist.loadData()` is
 * `keras.datasets.mnist.load_data()`), each giving `[[xTrain, yTrain], [xTest, yTest]]` of
 * `{ dtype, data, shape }` arrays that `model.fit` takes as they are. Files come from the
 * origin Keras uses (or a `url` mirror, or a local `dir`), are checked against the sha256
 * Keras publishes, and are cached where Keras caches them (Node: ~/.keras/datasets or
 * $KERAS_HOME/datasets; browser: Cache Storage). Also the .npy/.npz reader they use.
 */
import { loadData as loadBostonHousing } from './boston-housing.js';
import { FEATURE_NAMES, loadData as loadCaliforniaHousing } from './california-housing.js';
import { CLASS_NAMES, loadData as loadFashionMnist } from './fashion-mnist.js';
import { loadData as loadMnist } from './mnist.js';

/** `keras.datasets.mnist`: handwritten digits, u8 x [n, 28, 28], u8 y [n]. */
export const mnist = { loadData: loadMnist } as const;

/** `keras.datasets.fashion_mnist`: clothes, u8 x [n, 28, 28], u8 y [n]; classNames[y] names a label. */
export const fashionMnist = { loadData: loadFashionMnist, classNames: CLASS_NAMES } as const;

/** `keras.datasets.california_housing`: x [n, 8] (featureNames), y [n] in dollars. */
export const californiaHousing = { loadData: loadCaliforniaHousing, featureNames: FEATURE_NAMES } as const;

/** `keras.datasets.boston_housing`: x [n, 13], y [n] in k$ (Keras discourages its use). */
export const bostonHousing = { loadData: loadBostonHousing } as const;

export { parseNpy, parseNpz, readNpyHeader, NpyError } from './npy.js';
export type { NdArray, NpyArrays, NpyDType, NpyHeader } from './npy.js';
export { DatasetError, KERAS_ORIGIN } from './get-file.js';
export type { DownloadOptions } from './get-file.js';
export type { LoadedData, ImageData, FloatArray } from './common.js';
export type { HousingData, HousingLoadOptions } from './housing.js';
export type { MnistLoadOptions } from './mnist.js';
export type { FashionMnistLoadOptions } from './fashion-mnist.js';
export type { CaliforniaHousingLoadOptions } from './california-housing.js';
export type { BostonHousingLoadOptions } from './boston-housing.js';
export { registerDatasetHost, CACHE_STORAGE_NAME } from './host.js';
export type { DatasetHost, DatasetStore } from './host.js';
