/**
 * dropout: inverted dropout (Keras): in training each element is dropped with probability
 * `rate` and the kept ones are scaled by 1/(1 − rate); evaluate and predict are the identity
 * (no kernel, no copy). The mask is a counter-based draw over (seed, stream, step, element),
 * so backward recomputes it instead of storing it; `stream` numbers the graph's dropout ops,
 * so layers sharing a seed get independent masks.
 */
import {
  dropoutMaskReference,
  dropoutScale,
  encodeDropout,
  encodeDropoutGrad,
} from '../../kernels/dropout.js';
import { STATUS } from '../../kernels/step.js';
import type { Graph } from '../ir.js';
import type { VBuf } from '../liveness.js';
import { GraphError, UnaryOp } from '../op.js';
import type { Group, LowerContext, ReferenceBackwardContext, ReferenceForwardContext, Value } from '../op.js';

/** attrs: the drop rate, the mask's seed (u32) and its stream (the graph's dropout count). */
export class DropoutOp extends UnaryOp<{ rate: number; seed: number; stream: number }> {
  readonly kind = 'dropout';

  shape(): { features: number; name: string } {
    const { layer } = this;
    const { rate, seed } = this.attrs;
    if (!(rate >= 0 && rate < 1))
      throw new GraphError(`layer "${layer}": dropout rate ${rate} must be in [0, 1)`);
    if (!Number.isSafeInteger(seed) || seed < 0 || seed >= 2 ** 32) {
      throw new GraphError(`layer "${layer}": dropout seed ${seed} must be an integer in [0, 2^32)`);
    }
    return { features: this.x.features, name: `${layer}/dropout` };
  }

  /** The kernels' spec for n elements; the step is the status buffer's STEPS word. */
  private spec(n: number): { n: number; rate: number; seed: number; stream: number; stepWord: number } {
    return { n, ...this.attrs, stepWord: STATUS.STEPS };
  }

  lower(L: LowerContext, g: Group): void {
    const x = L.buf(this.x);
    if (L.mode !== 'train' || this.attrs.rate === 0) {
      L.define(g.out, x); // identity: no copy
      return;
    }
    const y = L.temp(g.out.features, g.out.name);
    const spec = this.spec(L.rows * g.out.features);
    const status = L.env.status;
    L.emit(`${this.layer} dropout`, [x, status], [y], (e, get) =>
      encodeDropout(e, spec, { x: get(x), y: get(y), step: get(status) }),
    );
    L.define(g.out, y);
  }

  override lowerBackward(L: LowerContext, g: Group, dy: VBuf): void {
    if (!L.needsGrad(this.x)) return;
    if (this.attrs.rate === 0) {
      L.passThrough(this.x, dy);
      return;
    }
    const spec = this.spec(L.rows * g.out.features);
    const status = L.env.status;
    L.contribute(this.x, false, (dx) =>
      L.emit(`${this.layer} dropout grad`, [dy, status], [dx], (e, get) =>
        encodeDropoutGrad(e, spec, { dy: get(dy), dx: get(dx), step: get(status) }),
      ),
    );
  }

  reference(R: ReferenceForwardContext, out: Value): Float64Array {
    const x = R.value(this.x);
    if (!R.train) return Float64Array.from(x);
    const mask = dropoutMaskReference(
      this.attrs.seed,
      R.step,
      R.rows * out.features,
      this.attrs.rate,
      this.attrs.stream,
    );
    R.keep(out, mask);
    const scale = dropoutScale(this.attrs.rate);
    return x.map((e, i) => (mask[i] ? e * scale : 0));
  }

  override referenceBackward(R: ReferenceBackwardContext, out: Value, dy: Float64Array): void {
    const mask = R.kept(out) as Uint8Array | undefined;
    if (!mask) {
      R.accumulate(this.x, dy); // inference: identity
      return;
    }
    const scale = dropoutScale(this.attrs.rate);
    R.accumulate(
      this.x,
      dy.map((d, i) => (mask[i] ? d * scale : 0)),
    );
  }
}

/** Dropout of `x`; its stream is the number of dropout ops already in the graph. */
export function dropout(g: Graph, layer: string, x: Value, rate: number, seed: number): Value {
  const stream = g.values.filter((v) => v.node instanceof DropoutOp).length;
  return g.apply(new DropoutOp(layer, x, { rate, seed, stream }));
}
