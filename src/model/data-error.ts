/**
 * The error for data a model cannot train on (x or y of the wrong shape, NaN, labels the loss
 * cannot read, bad sample or class weights): its own module, so that the modules checking
 * data (fit-data.ts, sample-weights.ts) need not import each other.
 */
export class DataError extends Error {
  override name = 'DataError';
}
