/**
 * scikit-learn style preprocessing, pipelines, splitters, metrics, Keras estimator wrappers
 * and cross-validated searches, browser-safe.
 * Meant to be re-exported as a namespace (`export * as sklearn from './sklearn/index.js'`):
 * its StandardScaler and MinMaxScaler take rows (number[][]), data's take flat arrays.
 */
export type { Matrix, Labels, Estimator, Transformer, Splitter } from './types.js';
export { StandardScaler, MinMaxScaler, LabelEncoder, OneHotEncoder } from './preprocessing.js';
export type { OneHotEncoderOptions, Table } from './preprocessing.js';
export { Pipeline, makePipeline } from './pipeline.js';
export type { Step } from './pipeline.js';
export { ShuffleSplit, asSplitter, trainTestSplit } from './split.js';
export type { ShuffleSplitOptions, TrainTestSplitOptions } from './split.js';
export {
  accuracyScore,
  f1Score,
  rocAucScore,
  meanSquaredError,
  meanAbsoluteError,
  r2Score,
  scorer,
  SCORER_NAMES,
} from './metrics.js';
export type { Scorer, ScorerName } from './metrics.js';
export { KerasClassifier, KerasRegressor } from './wrappers.js';
export type { KerasBuildFn, KerasMeta, KerasWrapperOptions } from './wrappers.js';
export {
  crossValScore,
  crossValidate,
  GridSearchCV,
  RandomizedSearchCV,
  uniform,
  logUniform,
  randint,
  parameterGrid,
} from './model-selection.js';
export type {
  CrossValidateOptions,
  CrossValidateResult,
  CvResults,
  Distribution,
  ParamGrid,
  ParamDistributions,
  RandomizedSearchOptions,
  SearchOptions,
  ScorerFn,
  Fold,
} from './model-selection.js';
