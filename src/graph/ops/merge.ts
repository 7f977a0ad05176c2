/**
 * The merge ops of functional models: concat ([x1 | x2 | ...] along features) and add
 * (x1 + x2 + ..., residual connections). Their gradients are column slices of dy (concat)
 * or dy itself for every input (add, aliased where an input has no other gradient).
 */
import { encodeBinary } from '../../kernels/elementwise.js';
import { encodeCopyColumns } from '../../kernels/step.js';
import type { Graph } from '../ir.js';
import type { VBuf } from '../liveness.js';
import { GraphError, Op } from '../op.js';
import type { Group, LowerContext, ReferenceBackwardContext, ReferenceForwardContext, Value } from '../op.js';
import { at, wholeCopy } from './util.js';

abstract class MergeOp extends Op {
  constructor(
    layer: string,
    readonly xs: readonly Value[],
  ) {
    super(layer);
  }

  get inputs(): readonly Value[] {
    return this.xs;
  }

  protected checkCount(what: string): void {
    if (this.xs.length < 2) {
      throw new GraphError(`layer "${this.layer}": ${what} needs at least 2 inputs, got ${this.xs.length}`);
    }
  }
}

export class ConcatOp extends MergeOp {
  readonly kind = 'concat';

  shape(): { features: number; name: string } {
    this.checkCount('concatenate');
    return { features: this.xs.reduce((s, x) => s + x.features, 0), name: `${this.layer}/concat` };
  }

  lower(L: LowerContext, g: Group): void {
    const f = g.out.features;
    const y = L.temp(f, g.out.name);
    let offset = 0;
    for (const input of this.xs) {
      const x = L.buf(input);
      const spec = {
        rows: L.rows,
        width: input.features,
        srcCols: input.features,
        srcOffset: 0,
        dstCols: f,
        dstOffset: offset,
        accumulate: false,
      };
      L.emit(`${this.layer} concat`, [x], [y], (e, get) => encodeCopyColumns(e, spec, get(x), get(y)));
      offset += input.features;
    }
    L.define(g.out, y);
  }

  override lowerBackward(L: LowerContext, g: Group, dy: VBuf): void {
    const f = g.out.features;
    let offset = 0;
    for (const input of this.xs) {
      const off = offset;
      offset += input.features;
      if (!L.needsGrad(input)) continue;
      L.contribute(input, true, (dx, accumulate) => {
        const spec = {
          rows: L.rows,
          width: input.features,
          srcCols: f,
          srcOffset: off,
          dstCols: input.features,
          dstOffset: 0,
          accumulate,
        };
        L.emit(`${this.layer} concat grad`, [dy, accumulate ? dx : undefined], [dx], (e, get) =>
          encodeCopyColumns(e, spec, get(dy), get(dx)),
        );
      });
    }
  }

  reference(R: ReferenceForwardContext, out: Value): Float64Array {
    const f = out.features;
    const y = new Float64Array(R.rows * f);
    let offset = 0;
    for (const xv of this.xs) {
      const x = R.value(xv);
      const w = xv.features;
      for (let r = 0; r < R.rows; r++) {
        for (let j = 0; j < w; j++) y[r * f + offset + j] = at(x, r * w + j);
      }
      offset += w;
    }
    return y;
  }

  override referenceBackward(R: ReferenceBackwardContext, out: Value, dy: Float64Array): void {
    let offset = 0;
    for (const x of this.xs) {
      const dx = new Float64Array(R.rows * x.features);
      for (let r = 0; r < R.rows; r++) {
        for (let j = 0; j < x.features; j++) dx[r * x.features + j] = at(dy, r * out.features + offset + j);
      }
      R.accumulate(x, dx);
      offset += x.features;
    }
  }
}

export class AddOp extends MergeOp {
  readonly kind = 'add';

  shape(): { features: number; name: string } {
    this.checkCount('add');
    const first = this.xs[0] as Value;
    for (const x of this.xs) {
      if (x.features !== first.features) {
        throw new GraphError(
          `layer "${this.layer}": add needs equal shapes, got "${first.name}" [batch, ${first.features}] ` +
            `and "${x.name}" [batch, ${x.features}]`,
        );
      }
    }
    return { features: first.features, name: `${this.layer}/add` };
  }

  lower(L: LowerContext, g: Group): void {
    const f = g.out.features;
    const rows = L.rows;
    const y = L.temp(f, g.out.name);
    const [a, b, ...rest] = this.xs.map((v) => L.buf(v)) as [VBuf, VBuf, ...VBuf[]];
    L.emit(`${this.layer} add`, [a, b], [y], (e, get) =>
      encodeBinary(
        e,
        'add',
        { buffer: get(a), shape: [rows, f] },
        { buffer: get(b), shape: [rows, f] },
        get(y),
        [rows, f],
      ),
    );
    for (const x of rest) {
      const spec = wholeCopy(rows, f, true);
      L.emit(`${this.layer} add`, [x, y], [y], (e, get) => encodeCopyColumns(e, spec, get(x), get(y)));
    }
    L.define(g.out, y);
  }

  override lowerBackward(L: LowerContext, _g: Group, dy: VBuf): void {
    for (const input of this.xs) if (L.needsGrad(input)) L.passThrough(input, dy);
  }

  reference(R: ReferenceForwardContext, out: Value): Float64Array {
    const y = new Float64Array(R.rows * out.features);
    for (const xv of this.xs) {
      const x = R.value(xv);
      for (let i = 0; i < y.length; i++) y[i] = at(y, i) + at(x, i);
    }
    return y;
  }

  override referenceBackward(R: ReferenceBackwardContext, _out: Value, dy: Float64Array): void {
    for (const x of this.xs) R.accumulate(x, dy);
  }
}

export function concat(g: Graph, layer: string, xs: readonly Value[]): Value {
  return g.apply(new ConcatOp(layer, [...xs]));
}

export function add(g: Graph, layer: string, xs: readonly Value[]): Value {
  return g.apply(new AddOp(layer, [...xs]));
}
