/**
 * activityReg: a Keras activity regularizer on x: the identity (no copy), adding
 * (l1·Σ|x| + l2·Σx²) / batch to the loss (tf.keras's activity regularizer, made batch-size
 * independent). Training and evaluation add l1·Σ|a| + l2·Σa² per step to the penalty sum
 * (÷ rows for the step's loss, × rows for the epoch's weighted mean: Σ); backward adds
 * (l1·sign(a) + 2·l2·a) / rows to the gradient passing through.
 */
import { encodeAccumulateSum } from '../../kernels/reduce.js';
import { encodeActivityGrad, encodeActivityPenalty } from '../../kernels/step.js';
import type { Graph } from '../ir.js';
import type { VBuf } from '../liveness.js';
import { GraphError, UnaryOp } from '../op.js';
import type { Group, LowerContext, ReferenceBackwardContext, ReferenceForwardContext, Value } from '../op.js';
import { at } from './util.js';

/** attrs: the regularizer's factors. */
export class ActivityRegOp extends UnaryOp<{ l1: number; l2: number }> {
  readonly kind = 'activityReg';

  override get penalized(): boolean {
    return true;
  }

  shape(): { features: number; name: string } {
    const { l1, l2 } = this.attrs;
    if (!(Number.isFinite(l1) && l1 >= 0 && Number.isFinite(l2) && l2 >= 0)) {
      throw new GraphError(
        `layer "${this.layer}": activity regularizer l1 ${l1} and l2 ${l2} must be finite and ≥ 0`,
      );
    }
    return { features: this.x.features, name: `${this.layer}/activity` };
  }

  lower(L: LowerContext, g: Group): void {
    const a = L.buf(this.x);
    L.define(g.out, a);
    const slot = L.env.penaltySlot;
    if (L.mode === 'predict' || slot === undefined) return;
    const n = L.rows * g.out.features;
    const terms = L.temp(g.out.features, `${this.layer} activity terms`);
    const sums = L.env.lossSums;
    const spec = { n, ...this.attrs };
    L.emit(`${this.layer} activity penalty`, [a], [terms], (e, get) =>
      encodeActivityPenalty(e, spec, { a: get(a), terms: get(terms) }),
    );
    L.emit(`${this.layer} activity sum`, [terms, sums], [sums], (e, get) =>
      encodeAccumulateSum(e, get(terms), n, get(sums), slot, `${this.layer}_activity_sum`),
    );
  }

  override lowerBackward(L: LowerContext, g: Group, dy: VBuf): void {
    if (!L.needsGrad(this.x)) return;
    const a = L.buf(this.x);
    const rows = L.rows;
    const n = rows * g.out.features;
    L.contribute(this.x, true, (dx, accumulate) => {
      const spec = { n, ...this.attrs, scale: 1 / rows, accumulate };
      L.emit(`${this.layer} activity grad`, [a, dy, accumulate ? dx : undefined], [dx], (e, get) =>
        encodeActivityGrad(e, spec, { a: get(a), dy: get(dy), dx: get(dx) }),
      );
    });
  }

  reference(R: ReferenceForwardContext): Float64Array {
    return Float64Array.from(R.value(this.x)); // identity; its penalty joins the loss
  }

  override referenceBackward(R: ReferenceBackwardContext, _out: Value, dy: Float64Array): void {
    const a = R.value(this.x);
    const { l1, l2 } = this.attrs;
    R.accumulate(
      this.x,
      dy.map((d, i) => d + (l1 * Math.sign(at(a, i)) + 2 * l2 * at(a, i)) / R.rows),
    );
  }

  override referencePenalty(R: ReferenceBackwardContext): number {
    let p = 0;
    const { l1, l2 } = this.attrs;
    for (const x of R.value(this.x)) p += l1 * Math.abs(x) + l2 * x * x;
    return p / R.rows;
  }
}

/** A Keras activity regularizer on `x`: the identity, with its penalty added to the loss. */
export function activityRegularizer(
  g: Graph,
  layer: string,
  x: Value,
  factors: { l1?: number; l2?: number },
): Value {
  return g.apply(new ActivityRegOp(layer, x, { l1: factors.l1 ?? 0, l2: factors.l2 ?? 0 }));
}
