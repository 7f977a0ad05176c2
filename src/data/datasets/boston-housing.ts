/**
 * `datasets.bostonHousing.loadData()`: Keras's `keras.datasets.boston_housing.load_data()`.
 * 506 Boston suburbs of the 1970s: x [n, 13], y [n] the median home value in k$, split as
 * Keras splits it (test_split 0.2, seed 113 by default). Keras warns of the dataset's ethical
 * problem (its "B" column) and discourages its use; California housing is the replacement.
 */
import type { Spelled } from '../../util/options.js';
import { readLoaderOptions } from './common.js';
import { KERAS_ORIGIN, type RemoteFile } from './get-file.js';
import { HOUSING_KEYS, loadHousing, type HousingData, type HousingLoadOptions } from './housing.js';

/** keras/src/datasets/boston_housing.py's file. */
export const BOSTON_HOUSING_FILE: Readonly<RemoteFile> = {
  fname: 'boston_housing.npz',
  origin: KERAS_ORIGIN,
  subdir: 'datasets',
  sha256: 'f553886a1f8d56431e820c5b82552d9d95cfcb96d1e678153f8839538947dff5',
};

export type BostonHousingLoadOptions = HousingLoadOptions;

const WHAT = 'datasets.bostonHousing.loadData';

/** `[[xTrain, yTrain], [xTest, yTest]]`: x [n, 13], y [n], float as stored in Keras's file. */
export async function loadData(options?: Spelled<BostonHousingLoadOptions>): Promise<HousingData> {
  return loadBostonFrom(BOSTON_HOUSING_FILE, options);
}

/** loadData reading `file` (tests serve their own). */
export async function loadBostonFrom(
  file: Readonly<RemoteFile>,
  given?: Spelled<BostonHousingLoadOptions>,
): Promise<HousingData> {
  const options = readLoaderOptions<BostonHousingLoadOptions>(WHAT, given, HOUSING_KEYS);
  return loadHousing(file, options, WHAT, 13);
}
