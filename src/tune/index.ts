/**
 * Hyperparameter search and cross-validation: the `hp` search space, grid / random /
 * Hyperband / Bayesian-optimization tuners (Keras Tuner's API in camelCase) and
 * scikit-learn's cross_val_score.
 */
export { HyperParameters, SearchSpace, HyperParameterError } from './hyperparameters.js';
export type {
  HpValue,
  HpValues,
  HpDefinition,
  NumberOptions,
  RangeOptions,
  ChoiceOptions,
  ChoiceArgs,
  BooleanOptions,
  FixedArgs,
  Sampling,
} from './hyperparameters.js';
export { resolveObjective, inferDirection, ObjectiveError } from './objective.js';
export type { Objective, ObjectiveSpec, Direction } from './objective.js';
export { hyperbandSchedule, hyperbandBrackets, scheduleTotals, formatSchedule } from './schedule.js';
export type { HyperbandBracket, HyperbandRound } from './schedule.js';
export { Tuner } from './tuner.js';
export type {
  BuildFn,
  HyperModel,
  Hypermodel,
  Trial,
  TrialStatus,
  TrialPlan,
  TunerOptions,
  TrialEventDetail,
} from './tuner.js';
export { GridSearch, RandomSearch, Hyperband, gridSearch, randomSearch, hyperband } from './searchers.js';
export type {
  GridSearchOptions,
  RandomSearchOptions,
  HyperbandOptions,
  WithHypermodel,
} from './searchers.js';
export {
  BayesianOptimization,
  BayesianOracle,
  GaussianProcess,
  bayesianOptimization,
  fitGaussianProcess,
  encodeValue,
  decodeValue,
} from './bayesian.js';
export type { BayesianOptimizationOptions, Observation, OracleSettings } from './bayesian.js';
export { registerTunerStoreHost, indexedDbTunerStore, TUNER_DATABASE } from './store.js';
export type { TunerStore, TunerStoreHost } from './store.js';
export { crossValScore } from './crossval.js';
export type { CrossValOptions, CrossValResult } from './crossval.js';
