/**
 * Keras's `keras.utils` (and Keras 2's `np_utils`) as the course calls them:
 * `utils.to_categorical(y, 10)` or `utils.toCategorical(y, { num_classes: 10 })`.
 */
export { toCategorical, toCategorical as to_categorical } from './prep.js';
export type { ToCategoricalOptions } from './prep.js';
