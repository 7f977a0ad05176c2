/**
 * input: a model input, [batch, features]. It has no kernel of its own: the compiled step's
 * gather fills its buffer from a dataset column before the forward pass (compile.ts).
 */
import { GraphError, Op } from '../op.js';
import type { Group, LowerContext, ReferenceForwardContext, Value } from '../op.js';

export class InputOp extends Op {
  readonly kind = 'input';

  constructor(
    layer: string,
    /** Which graph input this is (the dataset column and the reference batch's entry). */
    readonly inputIndex: number,
    readonly width: number,
  ) {
    super(layer);
  }

  get inputs(): readonly Value[] {
    return [];
  }

  shape(): { features: number; name: string } {
    if (!Number.isSafeInteger(this.width) || this.width <= 0) {
      throw new GraphError(`input "${this.layer}": features must be a positive integer, got ${this.width}`);
    }
    return { features: this.width, name: this.layer };
  }

  lower(L: LowerContext, g: Group): void {
    L.buf(g.out); // defined by the step's gather, before the forward pass
  }

  reference(R: ReferenceForwardContext): Float64Array {
    return Float64Array.from(R.input(this.inputIndex));
  }
}
