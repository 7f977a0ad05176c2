/**
 * `datasets.californiaHousing.loadData()`: Keras's
 * `keras.datasets.california_housing.load_data()`. 20,640 California block groups of the 1990
 * census (version 'large'; 'small' keeps the file's first 600 rows): x [n, 8] with the columns
 * FEATURE_NAMES, y [n] the median house value in dollars. Split as Keras splits it
 * (test_split 0.2, seed 113 by default: the same rows Keras gives).
 */
import type { Spelled } from '../../util/options.js';
import { readLoaderOptions } from './common.js';
import { DatasetError, KERAS_ORIGIN, type RemoteFile } from './get-file.js';
import { HOUSING_KEYS, loadHousing, type HousingData, type HousingLoadOptions } from './housing.js';

/** keras/src/datasets/california_housing.py's file. */
export const CALIFORNIA_HOUSING_FILE: Readonly<RemoteFile> = {
  fname: 'california_housing.npz',
  origin: KERAS_ORIGIN,
  subdir: 'datasets',
  sha256: '1a2e3a52e0398de6463aebe6f4a8da34fb21fbb6b934cf88c3425e766f2a1a6f',
};

/** x's columns, in order (Keras's docstring). */
export const FEATURE_NAMES = [
  'MedInc',
  'HouseAge',
  'AveRooms',
  'AveBedrms',
  'Population',
  'AveOccup',
  'Latitude',
  'Longitude',
] as const;

export interface CaliforniaHousingLoadOptions extends HousingLoadOptions {
  /** 'large' (default): all 20,640 rows; 'small': the first 600 (a stand-in for Boston housing). */
  version?: 'large' | 'small';
}

const WHAT = 'datasets.californiaHousing.loadData';

/**
 * `[[xTrain, yTrain], [xTest, yTest]]`: x `{ dtype, data, shape: [n, 8] }`, y `{ dtype, data,
 * shape: [n] }`, float as stored in Keras's file, usable by `model.fit` as is.
 */
export async function loadData(options?: Spelled<CaliforniaHousingLoadOptions>): Promise<HousingData> {
  return loadCaliforniaFrom(CALIFORNIA_HOUSING_FILE, options);
}

/** loadData reading `file` (tests serve their own). */
export async function loadCaliforniaFrom(
  file: Readonly<RemoteFile>,
  given?: Spelled<CaliforniaHousingLoadOptions>,
): Promise<HousingData> {
  const options = readLoaderOptions<CaliforniaHousingLoadOptions>(WHAT, given, {
    ...HOUSING_KEYS,
    version: true,
  });
  const version: string = options.version ?? 'large';
  if (version !== 'large' && version !== 'small') {
    throw new DatasetError(`${WHAT}: version ${JSON.stringify(version)} must be one of 'small', 'large'`);
  }
  return loadHousing(file, options, WHAT, FEATURE_NAMES.length, version === 'small' ? 600 : undefined);
}
