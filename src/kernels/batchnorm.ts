/**
 * Batch normalisation (Keras 3 BatchNormalization on a [rows, features] input, axis −1):
 * dispatch geometry, validation, and the float64 reference. The WGSL lives in
 * shaders/batchnorm.ts.
 *
 * Semantics, as in Keras 3 (keras/src/layers/normalization/batch_normalization.py):
 * defaults momentum 0.99 and epsilon 1e-3; training normalises with the batch mean and the
 * biased batch variance (mean of squared deviations, no Bessel correction), and the moving
 * statistics are updated with that same biased variance:
 *   moving = momentum·moving + (1 − momentum)·batch.
 * Inference normalises with the moving statistics.
 */
import {
  batchNormBackwardShader,
  batchNormInferenceShader,
  batchNormTrainShader,
  BN_FEATURES_PER_WG,
  BN_SAVED,
  BN_SAVED_ROWS,
} from '../../shaders/batchnorm.js';
import { WORKGROUP_1D } from '../../shaders/common.js';
import type { Bindable, Engine } from '../gpu/engine.js';
import { checkCount, checkF32 } from './validate.js';

export { BN_SAVED, BN_SAVED_ROWS };

export interface BatchNormSpec {
  rows: number;
  features: number;
  /** Added to the variance before the square root; Keras default 1e-3. */
  epsilon: number;
  /** Weight of the old moving statistics; Keras default 0.99. */
  momentum: number;
  /**
   * Update the moving variance with the unbiased batch variance (× rows / (rows − 1)), as
   * PyTorch's BatchNorm does; Keras (default false) uses the biased one. The normalisation
   * itself uses the biased variance either way.
   */
  unbiasedMovingVariance?: boolean;
}

/** Keras 3 BatchNormalization defaults. */
export const BATCH_NORM_DEFAULTS = { epsilon: 1e-3, momentum: 0.99 } as const;

/**
 * Training forward: batch mean and biased variance per feature, y = γ·x̂ + β, and
 * runningMean/runningVar updated in place. `saved` ([BN_SAVED_ROWS = 4, features] f32,
 * row-major; row r starts at element r·features) receives, per feature f:
 *  - row BN_SAVED.mean (0): the batch mean, rounded once to f32. For reading (metrics,
 *    debugging); the backward does not use it.
 *  - row BN_SAVED.invStd (1): invStd = 1/√(var + ε), var the biased batch variance.
 *  - row BN_SAVED.shift (2): the shift k = x[0, f] the sums were taken around.
 *  - row BN_SAVED.shiftedMean (3): mean(x[:, f] − k) in f32. k + shiftedMean (summed in
 *    float64) is the batch mean to well below f32's resolution at |mean|, and the forward
 *    centres x as (x − k) − shiftedMean.
 * Pass the same buffer to encodeBatchNormBackward, which rebuilds x̂ from rows 1–3 exactly as
 * the forward formed it.
 */
export function encodeBatchNormTrain(
  engine: Engine,
  spec: BatchNormSpec,
  b: {
    x: Bindable;
    gamma: Bindable;
    beta: Bindable;
    y: Bindable;
    saved: Bindable;
    runningMean: Bindable;
    runningVar: Bindable;
  },
): void {
  const label = 'batchnorm_train';
  checkSpec(spec, label);
  const { rows, features } = spec;
  checkSizes(label, spec, b, ['x', 'y'], ['gamma', 'beta', 'runningMean', 'runningVar'], ['saved']);
  const words = new Uint32Array(8);
  const floats = new Float32Array(words.buffer);
  words[0] = rows;
  words[1] = features;
  floats[2] = spec.epsilon;
  floats[3] = spec.momentum;
  floats[4] = 1 - spec.momentum; // formed in float64, rounded once
  floats[5] = spec.unbiasedMovingVariance && rows > 1 ? rows / (rows - 1) : 1;
  const pipeline = engine.pipeline(batchNormTrainShader(), label);
  const params = engine.tempUniform(words, `${label} params`);
  // Per element, as the three passes form it: Σ(x − k) 2, Σe and Σe² 5, y 4 (per-feature
  // terms left out). x read (the kernel reads it 3 times: once counted) and y written; γ, β
  // read, the moving statistics read and written, saved's 4 rows written.
  const n = rows * features;
  const work = { flops: 11 * n, bytes: 4 * (2 * n + 10 * features) };
  engine.dispatch(
    pipeline,
    [b.x, b.gamma, b.beta, b.y, b.saved, b.runningMean, b.runningVar, params],
    engine.dispatchGrid(features, BN_FEATURES_PER_WG),
    label,
    work,
  );
}

/** Inference forward: y = γ·(x − runningMean)/√(runningVar + ε) + β. */
export function encodeBatchNormInference(
  engine: Engine,
  spec: BatchNormSpec,
  b: {
    x: Bindable;
    gamma: Bindable;
    beta: Bindable;
    runningMean: Bindable;
    runningVar: Bindable;
    y: Bindable;
  },
): void {
  const label = 'batchnorm_inference';
  checkSpec(spec, label);
  const n = spec.rows * spec.features;
  checkSizes(label, spec, b, ['x', 'y'], ['gamma', 'beta', 'runningMean', 'runningVar']);
  const words = new Uint32Array(4);
  words[0] = n;
  words[1] = spec.features;
  new Float32Array(words.buffer)[2] = spec.epsilon;
  const pipeline = engine.pipeline(batchNormInferenceShader(), label);
  const params = engine.tempUniform(words, `${label} params`);
  // Per element: subtract, scale, shift (the per-feature γ/√(var + ε) left out); x read and y
  // written, the four per-feature arrays read once.
  const work = { flops: 3 * n, bytes: 4 * (2 * n + 4 * spec.features) };
  engine.dispatch(
    pipeline,
    [b.x, b.gamma, b.beta, b.runningMean, b.runningVar, b.y, params],
    engine.dispatchGrid(n, WORKGROUP_1D),
    label,
    work,
  );
}

/**
 * Backward in the fused form, from the `saved` buffer the training forward wrote (same x):
 * dβ = Σdy, dγ = Σdy·x̂, dx = γ·invStd/N · (N·dy − dβ − x̂·dγ), with
 * x̂ = ((x − shift) − shiftedMean)·invStd as in the forward (so |mean| ≫ std stays accurate).
 * dgamma and dbeta are overwritten (not accumulated).
 */
export function encodeBatchNormBackward(
  engine: Engine,
  spec: BatchNormSpec,
  b: {
    x: Bindable;
    dy: Bindable;
    gamma: Bindable;
    saved: Bindable;
    dx: Bindable;
    dgamma: Bindable;
    dbeta: Bindable;
  },
): void {
  const label = 'batchnorm_backward';
  checkSpec(spec, label);
  checkSizes(label, spec, b, ['x', 'dy', 'dx'], ['gamma', 'dgamma', 'dbeta'], ['saved']);
  const pipeline = engine.pipeline(batchNormBackwardShader(), label);
  const params = engine.tempUniform(new Uint32Array([spec.rows, spec.features, 0, 0]), `${label} params`);
  // Per element: Σdy and Σdy·e 5, dx 8 (per-feature terms left out). x and dy read (twice by
  // the kernel: once counted), dx written; γ and saved's rows 1-3 read, dγ and dβ written.
  const n = spec.rows * spec.features;
  const work = { flops: 13 * n, bytes: 4 * (3 * n + 6 * spec.features) };
  engine.dispatch(
    pipeline,
    [b.x, b.dy, b.gamma, b.saved, b.dx, b.dgamma, b.dbeta, params],
    engine.dispatchGrid(spec.features, BN_FEATURES_PER_WG),
    label,
    work,
  );
}

function checkSpec(spec: BatchNormSpec, what: string): void {
  const { rows, features, epsilon, momentum } = spec;
  checkCount(what, 'rows', rows, 1, 2 ** 24);
  checkCount(what, 'features', features, 1);
  checkCount(what, 'rows × features', rows * features, 1); // elements are indexed by u32
  if (!(epsilon > 0) || !Number.isFinite(epsilon)) {
    throw new RangeError(`${what}: epsilon must be a positive finite number, got ${epsilon}`);
  }
  if (!(momentum >= 0 && momentum <= 1)) {
    throw new RangeError(`${what}: momentum must be in [0, 1], got ${momentum}`);
  }
}

/**
 * Checks every buffer is large enough: those named in `full` hold [rows, features], those
 * in `perFeature` hold [features], those in `saved` hold [BN_SAVED_ROWS, features].
 */
function checkSizes<K extends string>(
  what: string,
  spec: BatchNormSpec,
  buffers: Record<K, Bindable>,
  full: readonly K[],
  perFeature: readonly K[],
  saved: readonly K[] = [],
): void {
  const { rows, features } = spec;
  for (const name of full) checkF32(what, name, buffers[name], rows * features, `[${rows}, ${features}]`);
  for (const name of perFeature) checkF32(what, name, buffers[name], features, `[${features}]`);
  for (const name of saved) {
    checkF32(what, name, buffers[name], BN_SAVED_ROWS * features, `[${BN_SAVED_ROWS}, ${features}]`);
  }
}

// ------------------------------------------------------------ float64 reference

export interface BatchNormTrainReference {
  y: Float64Array;
  /** Batch mean and biased variance per feature. */
  mean: Float64Array;
  variance: Float64Array;
  invStd: Float64Array;
  /** The moving statistics after the update. */
  runningMean: Float64Array;
  runningVar: Float64Array;
}

export interface BatchNormBackwardReference {
  dx: Float64Array;
  dgamma: Float64Array;
  dbeta: Float64Array;
}

type Values = ArrayLike<number>;

/**
 * Float64 batch normalisation, evaluated by the textbook formulas (two passes over each
 * column, no shifts or fused forms), independent of the kernels' arithmetic.
 * - 'train': batch statistics, y, and the moving-statistic update.
 * - 'inference': y from the moving statistics.
 * - 'backward': dx, dγ, dβ given a mean and invStd, with x̂ = (x − mean)·invStd (with the
 *   exact batch statistics from 'train' this is the gradient of the 'train' forward; finite
 *   differences check that in the tests). It takes plain statistics, not the kernels'
 *   `saved` buffer: compare the kernel with the reference at float64 statistics.
 */
export function batchNormReference(
  spec: BatchNormSpec,
  mode: 'train',
  v: { x: Values; gamma: Values; beta: Values; runningMean: Values; runningVar: Values },
): BatchNormTrainReference;
export function batchNormReference(
  spec: BatchNormSpec,
  mode: 'inference',
  v: { x: Values; gamma: Values; beta: Values; runningMean: Values; runningVar: Values },
): { y: Float64Array };
export function batchNormReference(
  spec: BatchNormSpec,
  mode: 'backward',
  v: { x: Values; dy: Values; gamma: Values; mean: Values; invStd: Values },
): BatchNormBackwardReference;
export function batchNormReference(
  spec: BatchNormSpec,
  mode: 'train' | 'inference' | 'backward',
  v: Record<string, Values>,
): BatchNormTrainReference | BatchNormBackwardReference | { y: Float64Array } {
  const { rows, features, epsilon, momentum } = spec;
  const at = (a: Values | undefined, i: number): number => (a ? (a[i] ?? NaN) : NaN);
  const x = v.x;
  if (mode === 'backward') {
    const dx = new Float64Array(rows * features);
    const dgamma = new Float64Array(features);
    const dbeta = new Float64Array(features);
    for (let f = 0; f < features; f++) {
      const mu = at(v.mean, f);
      const s = at(v.invStd, f);
      let db = 0;
      let dg = 0;
      for (let r = 0; r < rows; r++) {
        const dy = at(v.dy, r * features + f);
        db += dy;
        dg += dy * (at(x, r * features + f) - mu) * s;
      }
      dbeta[f] = db;
      dgamma[f] = dg;
      const k = (at(v.gamma, f) * s) / rows;
      for (let r = 0; r < rows; r++) {
        const i = r * features + f;
        const xhat = (at(x, i) - mu) * s;
        dx[i] = k * (rows * at(v.dy, i) - db - xhat * dg);
      }
    }
    return { dx, dgamma, dbeta };
  }
  const y = new Float64Array(rows * features);
  const mean = new Float64Array(features);
  const variance = new Float64Array(features);
  const invStd = new Float64Array(features);
  const runningMean = new Float64Array(features);
  const runningVar = new Float64Array(features);
  for (let f = 0; f < features; f++) {
    let m: number;
    let s2: number;
    if (mode === 'train') {
      m = 0;
      for (let r = 0; r < rows; r++) m += at(x, r * features + f);
      m /= rows;
      s2 = 0;
      for (let r = 0; r < rows; r++) s2 += (at(x, r * features + f) - m) ** 2;
      s2 /= rows;
      runningMean[f] = momentum * at(v.runningMean, f) + (1 - momentum) * m;
      const unbiased = spec.unbiasedMovingVariance && rows > 1 ? rows / (rows - 1) : 1;
      runningVar[f] = momentum * at(v.runningVar, f) + (1 - momentum) * s2 * unbiased;
    } else {
      m = at(v.runningMean, f);
      s2 = at(v.runningVar, f);
    }
    mean[f] = m;
    variance[f] = s2;
    invStd[f] = 1 / Math.sqrt(s2 + epsilon);
    for (let r = 0; r < rows; r++) {
      const i = r * features + f;
      y[i] = at(v.gamma, f) * (at(x, i) - m) * (invStd[f] ?? NaN) + at(v.beta, f);
    }
  }
  if (mode === 'inference') return { y };
  return { y, mean, variance, invStd, runningMean, runningVar };
}
