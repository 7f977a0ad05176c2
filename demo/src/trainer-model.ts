/**
 * The models <mlp-trainer> trains: the demo's MNIST MLP (models.ts's buildModel), or the
 * same architecture for an app's own data, with its input width and number of classes.
 */
import { EarlyStopping, type Sequential } from '../../src/index.js';
import { buildModel, type ModelConfig } from './models.js';

/** Epochs without a better val_loss before the Train tab's early stopping ends the run. */
export const EARLY_STOPPING_PATIENCE = 3;

/**
 * The callbacks of the Train tab's options: with early stopping, Keras's
 * EarlyStopping(monitor='val_loss', patience=3, restore_best_weights=True).
 */
export function trainCallbacks(earlyStopping: boolean): EarlyStopping[] {
  return earlyStopping
    ? [
        new EarlyStopping({
          monitor: 'val_loss',
          patience: EARLY_STOPPING_PATIENCE,
          restore_best_weights: true,
        }),
      ]
    : [];
}

/**
 * The MLP of `c` for `features` inputs and `classes` softmax outputs, compiled with sparse
 * categorical cross-entropy and accuracy (models.ts's buildModel; MNIST is 784 → 10).
 */
export function buildMlp(c: ModelConfig, features = 784, classes = 10): Sequential {
  return buildModel(c, { features, classes });
}

/** "784-128-64-10 relu + BN, dropout 0.2". */
export function architecture(c: ModelConfig, features: number, classes: number): string {
  return (
    `${[features, ...c.hidden, classes].join('-')} ${c.activation}` +
    `${c.batchNorm ? ' + BN' : ''}${c.dropout > 0 ? `, dropout ${c.dropout}` : ''}`
  );
}
