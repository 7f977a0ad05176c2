/**
 * activation: y = f(x) for any Keras activation (element-wise), or softmax (row-wise).
 * An element-wise one after a matmul (its only consumer) is folded into the matmul's
 * epilogue; a softmax feeding only a categorical cross-entropy is replaced by the fused
 * softmax + cross-entropy kernel on its logits (fusion.ts reads softmaxLogits).
 */
import { ACTIVATIONS, activationFromY } from '../../../shaders/activations.js';
import {
  activationReference,
  encodeActivation,
  encodeActivationGrad,
  encodeSoftmax,
  encodeSoftmaxGrad,
  softmaxGradReference,
  softmaxReference,
} from '../../kernels/activations.js';
import type { Graph } from '../ir.js';
import type { VBuf } from '../liveness.js';
import { GraphError, UnaryOp } from '../op.js';
import type {
  ActivationAttrs,
  EpilogueStage,
  Group,
  LowerContext,
  ReferenceBackwardContext,
  ReferenceForwardContext,
  Value,
} from '../op.js';
import { at } from './util.js';

/** attrs: the activation (name, and alpha where it has one). */
export class ActivationOp extends UnaryOp<ActivationAttrs> {
  readonly kind = 'activation';

  shape(): { features: number; name: string } {
    const act = this.attrs;
    const names: readonly string[] = [...ACTIVATIONS, 'softmax'];
    if (!names.includes(act.name)) {
      throw new GraphError(
        `layer "${this.layer}": unknown activation '${act.name}'; expected one of ${names.join(', ')}`,
      );
    }
    if ('alpha' in act && act.alpha !== undefined && !Number.isFinite(act.alpha)) {
      throw new GraphError(`layer "${this.layer}": activation alpha ${act.alpha} must be a finite number`);
    }
    return { features: this.x.features, name: `${this.layer}/${act.name}` };
  }

  override get epilogueStage(): EpilogueStage | undefined {
    const act = this.attrs;
    return act.name === 'softmax' ? undefined : { activation: act };
  }

  override get softmaxLogits(): Value | undefined {
    return this.attrs.name === 'softmax' ? this.x : undefined;
  }

  lower(L: LowerContext, g: Group): void {
    const x = L.buf(this.x);
    const f = g.out.features;
    const rows = L.rows;
    const y = L.temp(f, g.out.name);
    const act = this.attrs;
    L.emit(`${this.layer} ${act.name}`, [x], [y], (e, get) =>
      act.name === 'softmax'
        ? encodeSoftmax(e, get(x), get(y), rows, f)
        : encodeActivation(e, act, get(x), get(y), rows * f),
    );
    L.define(g.out, y);
  }

  override lowerBackward(L: LowerContext, g: Group, dy: VBuf): void {
    if (!L.needsGrad(this.x)) return;
    const act = this.attrs;
    const y = L.buf(g.out);
    const x = L.buf(this.x);
    const f = g.out.features;
    const rows = L.rows;
    const layer = this.layer;
    if (act.name === 'softmax') {
      L.contribute(this.x, false, (dx) =>
        L.emit(`${layer} softmax grad`, [y, dy], [dx], (e, get) =>
          encodeSoftmaxGrad(e, get(y), get(dy), get(dx), rows, f),
        ),
      );
      return;
    }
    const fromY = activationFromY(act);
    const src = fromY ? y : x;
    L.contribute(this.x, true, (dx, accumulate) =>
      L.emit(`${layer} ${act.name} grad`, [src, dy, accumulate ? dx : undefined], [dx], (e, get) =>
        encodeActivationGrad(e, act, fromY ? 'y' : 'x', get(src), get(dy), get(dx), rows * f, {
          accumulate,
        }),
      ),
    );
  }

  reference(R: ReferenceForwardContext, out: Value): Float64Array {
    const x = R.value(this.x);
    const act = this.attrs;
    if (act.name === 'softmax') return softmaxReference(x, R.rows, out.features);
    const fn = activationReference(act).f;
    return x.map((e) => fn(e));
  }

  override referenceBackward(R: ReferenceBackwardContext, out: Value, dy: Float64Array): void {
    const act = this.attrs;
    if (act.name === 'softmax') {
      R.accumulate(this.x, softmaxGradReference(R.value(out), dy, R.rows, out.features));
      return;
    }
    const { df } = activationReference(act);
    const x = R.value(this.x);
    R.accumulate(
      this.x,
      dy.map((d, i) => d * df(at(x, i))),
    );
  }
}

export function activation(g: Graph, layer: string, x: Value, act: ActivationAttrs): Value {
  return g.apply(new ActivationOp(layer, x, act));
}
