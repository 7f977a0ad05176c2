/**
 * batchNorm: Keras BatchNormalization over the batch, per feature. γ and β are trainable;
 * the moving mean and variance are non-trainable state that a training step updates
 * (moving·momentum + batch·(1 − momentum), Keras 3, biased batch variance). Training
 * normalises with the batch statistics and keeps them (BN_SAVED_ROWS rows) for backward;
 * evaluate and predict use the moving statistics.
 *
 * A batch norm of a frozen layer (attrs.training false; Keras's `trainable = false`, which
 * since Keras 2.1 also means inference mode) uses the moving statistics in training steps
 * too and never updates them: it is the affine map y = γ·(x − m)/√(v + ε) + β, whose input
 * gradient is dy·γ/√(v + ε).
 */
import {
  batchNormReference,
  BN_SAVED_ROWS,
  encodeBatchNormBackward,
  encodeBatchNormInference,
  encodeBatchNormTrain,
} from '../../kernels/batchnorm.js';
import { encodeBinary } from '../../kernels/elementwise.js';
import type { Graph } from '../ir.js';
import type { VBuf } from '../liveness.js';
import { GraphError, UnaryOp } from '../op.js';
import type {
  Group,
  LowerContext,
  Param,
  ReferenceBackwardContext,
  ReferenceForwardContext,
  Value,
} from '../op.js';
import { at } from './util.js';

export interface BatchNormParams {
  gamma: Param;
  beta: Param;
  movingMean: Param;
  movingVariance: Param;
}

/** The statistics a reference pass normalised with (batch in training, moving otherwise). */
interface Norm {
  mean: Float64Array;
  invStd: Float64Array;
  train: boolean;
}

/**
 * attrs: γ, β, the moving statistics, epsilon and momentum, and training: false for a frozen
 * layer's batch norm (inference mode in every step).
 */
export class BatchNormOp extends UnaryOp<
  BatchNormParams & { epsilon: number; momentum: number; training: boolean }
> {
  readonly kind = 'batchNorm';

  override get gradParams(): readonly Param[] {
    return [this.attrs.gamma, this.attrs.beta];
  }

  override get stateWrites(): readonly Param[] {
    return this.attrs.training ? [this.attrs.movingMean, this.attrs.movingVariance] : [];
  }

  shape(): { features: number; name: string } {
    const { x, layer } = this;
    const { gamma, beta, movingMean, movingVariance, epsilon, momentum } = this.attrs;
    for (const [k, param] of Object.entries({ gamma, beta, movingMean, movingVariance })) {
      if (param.length !== x.features || param.shape.length !== 1) {
        throw new GraphError(
          `layer "${layer}": ${k} "${param.name}" is [${param.shape.join(', ')}] but the input ` +
            `"${x.name}" has ${x.features} features`,
        );
      }
    }
    if (movingMean.trainable || movingVariance.trainable) {
      throw new GraphError(`layer "${layer}": moving statistics must be non-trainable parameters`);
    }
    if (!this.attrs.training && (gamma.trainable || beta.trainable)) {
      throw new GraphError(`layer "${layer}": a frozen batch norm needs non-trainable γ and β`);
    }
    if (!(epsilon > 0) || !(momentum >= 0 && momentum <= 1)) {
      throw new GraphError(
        `layer "${layer}": epsilon ${epsilon} must be > 0 and momentum ${momentum} in [0, 1]`,
      );
    }
    return { features: x.features, name: `${layer}/bn` };
  }

  private spec(rows: number): { rows: number; features: number; epsilon: number; momentum: number } {
    const { epsilon, momentum } = this.attrs;
    return { rows, features: this.x.features, epsilon, momentum };
  }

  lower(L: LowerContext, g: Group): void {
    const x = L.buf(this.x);
    const f = g.out.features;
    const y = L.temp(f, g.out.name);
    const { gamma, beta, movingMean, movingVariance } = this.attrs;
    const [gm, bt, mean, variance] = [gamma, beta, movingMean, movingVariance].map((p) => L.env.param(p)) as [
      VBuf,
      VBuf,
      VBuf,
      VBuf,
    ];
    const spec = this.spec(L.rows);
    const label = `${this.layer} batchnorm`;
    if (L.mode === 'train' && this.attrs.training) {
      const s = L.tempBytes(BN_SAVED_ROWS * f * 4, `${this.layer} saved`);
      L.keep(g.out, s);
      L.emit(label, [x, gm, bt, mean, variance], [y, s, mean, variance], (e, get) =>
        encodeBatchNormTrain(e, spec, {
          x: get(x),
          gamma: get(gm),
          beta: get(bt),
          y: get(y),
          saved: get(s),
          runningMean: get(mean),
          runningVar: get(variance),
        }),
      );
    } else {
      L.emit(label, [x, gm, bt, mean, variance], [y], (e, get) =>
        encodeBatchNormInference(e, spec, {
          x: get(x),
          gamma: get(gm),
          beta: get(bt),
          runningMean: get(mean),
          runningVar: get(variance),
          y: get(y),
        }),
      );
    }
    L.define(g.out, y);
  }

  override lowerBackward(L: LowerContext, g: Group, dy: VBuf): void {
    if (!this.attrs.training) {
      this.lowerFrozenBackward(L, g, dy);
      return;
    }
    const x = L.buf(this.x);
    const saved = L.kept(g.out) as VBuf;
    const gamma = L.env.param(this.attrs.gamma);
    // A batch-norm layer applied twice shares γ and β: the second gradient is added.
    const dgTarget = L.paramGradTarget(this.attrs.gamma, `${this.layer} dgamma`);
    const dbTarget = L.paramGradTarget(this.attrs.beta, `${this.layer} dbeta`);
    const [dg, db] = [dgTarget.buf, dbTarget.buf];
    const spec = this.spec(L.rows);
    const encode = (dx: VBuf): void =>
      L.emit(`${this.layer} batchnorm grad`, [x, dy, gamma, saved], [dx, dg, db], (e, get) =>
        encodeBatchNormBackward(e, spec, {
          x: get(x),
          dy: get(dy),
          gamma: get(gamma),
          saved: get(saved),
          dx: get(dx),
          dgamma: get(dg),
          dbeta: get(db),
        }),
      );
    if (L.needsGrad(this.x)) L.contribute(this.x, false, (dx) => encode(dx));
    else encode(L.temp(g.out.features, `${this.layer} dx (unused)`));
    dgTarget.finish();
    dbTarget.finish();
  }

  /**
   * A frozen batch norm's backward: dx = dy·γ/√(v + ε), by the inference kernel itself run on
   * dy with a zero mean and shift (z = m − m: exact zeros for the finite moving mean). γ and
   * β are frozen: no gradient of theirs is kept.
   */
  private lowerFrozenBackward(L: LowerContext, g: Group, dy: VBuf): void {
    if (!L.needsGrad(this.x)) return;
    const f = g.out.features;
    const { gamma, movingMean, movingVariance } = this.attrs;
    const [gm, mean, variance] = [gamma, movingMean, movingVariance].map((p) => L.env.param(p)) as [
      VBuf,
      VBuf,
      VBuf,
    ];
    const zero = L.tempBytes(f * 4, `${this.layer} zeros`);
    L.emit(`${this.layer} zeros`, [mean], [zero], (e, get) => {
      const m = { buffer: get(mean), shape: [f] };
      encodeBinary(e, 'sub', m, m, get(zero), [f]);
    });
    const spec = this.spec(L.rows);
    L.contribute(this.x, false, (dx) =>
      L.emit(`${this.layer} frozen batchnorm grad`, [dy, gm, zero, variance], [dx], (e, get) =>
        encodeBatchNormInference(e, spec, {
          x: get(dy),
          gamma: get(gm),
          beta: get(zero),
          runningMean: get(zero),
          runningVar: get(variance),
          y: get(dx),
        }),
      ),
    );
  }

  reference(R: ReferenceForwardContext, out: Value): Float64Array {
    const spec = this.spec(R.rows);
    const { movingMean, movingVariance } = this.attrs;
    const inputs = {
      x: R.value(this.x),
      gamma: R.param(this.attrs.gamma),
      beta: R.param(this.attrs.beta),
      // The state as of this node: a moving-stat param shared by two layers updates twice.
      runningMean: R.state(movingMean),
      runningVar: R.state(movingVariance),
    };
    if (R.train && this.attrs.training) {
      const r = batchNormReference(spec, 'train', inputs);
      R.setState(movingMean, r.runningMean);
      R.setState(movingVariance, r.runningVar);
      R.keep(out, { mean: r.mean, invStd: r.invStd, train: true } satisfies Norm);
      return r.y;
    }
    const mean = Float64Array.from(inputs.runningMean);
    const invStd = inputs.runningVar.map((s2) => 1 / Math.sqrt(s2 + this.attrs.epsilon));
    R.keep(out, { mean, invStd, train: false } satisfies Norm);
    return batchNormReference(spec, 'inference', inputs).y;
  }

  override referenceBackward(R: ReferenceBackwardContext, out: Value, dy: Float64Array): void {
    const norm = R.kept(out) as Norm | undefined;
    if (!norm) throw new Error(`referenceGradients: no statistics saved for "${out.name}"`);
    const x = R.value(this.x);
    const gamma = R.param(this.attrs.gamma);
    const f = out.features;
    if (norm.train) {
      const b = batchNormReference(this.spec(R.rows), 'backward', {
        x,
        dy,
        gamma,
        mean: norm.mean,
        invStd: norm.invStd,
      });
      R.paramGrad(this.attrs.gamma, b.dgamma);
      R.paramGrad(this.attrs.beta, b.dbeta);
      R.accumulate(this.x, b.dx);
      return;
    }
    // Inference is affine per feature: y = γ·(x − m)·s + β with constant m, s.
    const dx = new Float64Array(R.rows * f);
    const dgamma = new Float64Array(f);
    const dbeta = new Float64Array(f);
    for (let r = 0; r < R.rows; r++) {
      for (let j = 0; j < f; j++) {
        const i = r * f + j;
        const s = at(norm.invStd, j);
        dbeta[j] = at(dbeta, j) + at(dy, i);
        dgamma[j] = at(dgamma, j) + at(dy, i) * (at(x, i) - at(norm.mean, j)) * s;
        dx[i] = at(dy, i) * at(gamma, j) * s;
      }
    }
    R.paramGrad(this.attrs.gamma, dgamma);
    R.paramGrad(this.attrs.beta, dbeta);
    R.accumulate(this.x, dx);
  }
}

/**
 * A batch norm; `training` false (default: whether a frozen layer is adding it, see
 * Graph.inFrozenLayer) runs it in inference mode in training steps too.
 */
export function batchNorm(
  g: Graph,
  layer: string,
  x: Value,
  p: BatchNormParams,
  options: { epsilon: number; momentum: number; training?: boolean },
): Value {
  return g.apply(
    new BatchNormOp(layer, x, {
      ...p,
      epsilon: options.epsilon,
      momentum: options.momentum,
      training: options.training ?? !g.inFrozenLayer,
    }),
  );
}
