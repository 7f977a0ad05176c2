/**
 * The models <mlp-trainer> trains: the demo's MNIST MLP (models.ts's buildModel), or the
 * same architecture for an app's own data, with its input width and number of classes.
 */
import type { Sequential } from '../../src/index.js';
import { buildModel, type ModelConfig } from './models.js';

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
