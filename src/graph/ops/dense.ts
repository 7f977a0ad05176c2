/**
 * The Dense family: matmul (x · W), biasAdd (x + b), and dense(), which builds matmul →
 * biasAdd → activation. Fusion folds the bias and the activation into the matmul's epilogue
 * (one kernel), so the group lowered here is the whole Dense layer:
 *   forward   y = f(x·W + b), storing z = x·W + b too when f' needs its input;
 *   backward  dz = dy ⊙ f'  (skipped when the consumer's dX matmul already applied f'),
 *             dW = xᵀ·dz, db = column sums of dz, dx = dz·Wᵀ, where dx's matmul applies the
 *             derivative of the activation below in its epilogue when that layer is a Dense
 *             group whose output has no other gradient contribution.
 * Layouts: x [rows, in], W [in, out] row-major (row i = input feature i), b [out].
 */
import { activationFromY, type ActivationSpec } from '../../../shaders/activations.js';
import { encodeActivationGrad } from '../../kernels/activations.js';
import { encodeBinary } from '../../kernels/elementwise.js';
import { encodeMatmul, matmulKernelFor, type MatmulSpec } from '../../kernels/matmul.js';
import { encodeSum } from '../../kernels/reduce.js';
import type { Graph } from '../ir.js';
import type { VBuf } from '../liveness.js';
import { GraphError, UnaryOp } from '../op.js';
import type {
  ActivationAttrs,
  EpilogueStage,
  Group,
  LowerContext,
  Param,
  ReferenceBackwardContext,
  ReferenceForwardContext,
  Value,
} from '../op.js';
import { activation } from './activation.js';
import { at } from './util.js';

/** x · W; attrs: the kernel W, a [in, out] parameter. */
export class MatmulOp extends UnaryOp<{ w: Param }> {
  readonly kind = 'matmul';

  override get gradParams(): readonly Param[] {
    return [this.attrs.w];
  }

  shape(): { features: number; name: string } {
    const { x } = this;
    const { w } = this.attrs;
    const [rows, cols] = w.shape;
    if (w.shape.length !== 2 || rows !== x.features || cols === undefined) {
      throw new GraphError(
        `layer "${this.layer}": input "${x.name}" has shape [batch, ${x.features}] but the kernel ` +
          `"${w.name}" is [${w.shape.join(', ')}]; it needs [${x.features}, units]`,
      );
    }
    return { features: cols, name: `${this.layer}/matmul` };
  }

  override get hasEpilogue(): boolean {
    return true;
  }

  lower(L: LowerContext, g: Group): void {
    const x = L.buf(this.x);
    const y = L.temp(g.out.features, g.out.name);
    const pre =
      L.mode === 'train' && usesPre(g.activation) ? L.temp(g.out.features, `${this.layer}/z`) : undefined;
    const w = L.env.param(this.attrs.w);
    const b = g.bias ? L.env.param(g.bias) : undefined;
    const spec: MatmulSpec = {
      m: L.rows,
      n: g.out.features,
      k: this.x.features,
      bias: b !== undefined,
      activation: g.activation,
      writePreActivation: pre !== undefined,
    };
    L.emit(`${this.layer} forward`, [x, w, b], [y, pre], (e, get) =>
      encodeMatmul(
        e,
        spec,
        {
          a: get(x),
          b: get(w),
          c: get(y),
          ...(b ? { bias: get(b) } : {}),
          ...(pre ? { preActivation: get(pre) } : {}),
        },
        this.layer,
      ),
    );
    L.define(g.out, y);
    if (pre) L.keep(g.out, pre);
  }

  override lowerBackward(L: LowerContext, g: Group, dy: VBuf): void {
    const { rows } = L;
    const out = g.out.features;
    const inF = this.x.features;
    const layer = this.layer;
    let dz = dy;
    if (g.activation.name !== 'linear' && !L.activationApplied(g.out)) {
      const fromY = activationFromY(g.activation);
      const src = fromY ? L.buf(g.out) : (L.kept(g.out) as VBuf);
      const target = L.temp(out, `d(${layer}/z)`);
      const act = g.activation;
      L.emit(`${layer} activation grad`, [src, dy], [target], (e, get) =>
        encodeActivationGrad(e, act, fromY ? 'y' : 'x', get(src), get(dy), get(target), rows * out),
      );
      dz = target;
    }
    const x = L.buf(this.x);
    const dZ = dz;
    // dW = Xᵀ·dZ: A = X stored [rows, in] = [k, m] (transA), B = dZ [rows, out] = [k, n];
    // db = Σ rows of dZ, the column sums of B, in the same pass where both are written alike.
    // Not for a layer of at most 8 inputs: its dW is the thin kernel's, far faster there
    // than the tiled one that writes the sums (src/kernels/matmul.ts, matmulKernelFor, asked
    // without a profile: up to 8 rows. SwiftShader's profile would run a wider dW thin too,
    // but folding the sums keeps it in one tiled pass, as elsewhere).
    const bias = g.bias;
    const tiled = matmulKernelFor({ m: inF, n: out, k: rows, transA: true }) === 'tiled';
    const fold = bias !== undefined && tiled && L.gradsWrittenAlike(this.attrs.w, bias);
    L.paramGrad(this.attrs.w, (dw, accumulate) => {
      const spec: MatmulSpec = { m: inF, n: out, k: rows, transA: true, accumulate };
      if (!fold) {
        L.emit(`${layer} dW`, [x, dZ, accumulate ? dw : undefined], [dw], (e, get) =>
          encodeMatmul(e, spec, { a: get(x), b: get(dZ), c: get(dw) }, `${layer}_dW`),
        );
        return;
      }
      L.paramGrad(bias, (db) =>
        L.emit(
          `${layer} dW, db`,
          [x, dZ, accumulate ? dw : undefined, accumulate ? db : undefined],
          [dw, db],
          (e, get) =>
            encodeMatmul(
              e,
              { ...spec, columnSums: true },
              { a: get(x), b: get(dZ), c: get(dw), columnSums: get(db) },
              `${layer}_dW`,
            ),
        ),
      );
    });
    if (bias && !fold) columnSumGrad(L, layer, bias, dZ, out);
    // dX = dZ·Wᵀ: A = dZ [rows, out] = [m, k], B = W stored [in, out] = [n, k] (transB).
    if (!L.needsGrad(this.x)) return;
    const w = L.env.param(this.attrs.w);
    const prev = L.producer(this.x);
    const fuseAct =
      prev !== undefined && prev.activation.name !== 'linear' && L.gradUses(this.x) === 1 ? prev : undefined;
    L.contribute(this.x, fuseAct === undefined, (dx, accumulate) => {
      const spec: MatmulSpec = { m: rows, n: inF, k: out, transB: true, accumulate };
      let source: VBuf | undefined;
      if (fuseAct) {
        const fromY = activationFromY(fuseAct.activation);
        source = fromY ? L.buf(this.x) : L.kept(this.x);
        spec.gradActivation = { activation: fuseAct.activation, from: fromY ? 'y' : 'x' };
        L.markActivationApplied(this.x);
      }
      const src = source;
      L.emit(`${layer} dX`, [dZ, w, src, accumulate ? dx : undefined], [dx], (e, get) =>
        encodeMatmul(
          e,
          spec,
          { a: get(dZ), b: get(w), c: get(dx), ...(src ? { gradSource: get(src) } : {}) },
          `${layer}_dX`,
        ),
      );
    });
  }

  reference(R: ReferenceForwardContext, out: Value): Float64Array {
    const x = R.value(this.x);
    const w = R.param(this.attrs.w);
    const f = out.features;
    const n = this.x.features;
    const y = new Float64Array(R.rows * f);
    for (let r = 0; r < R.rows; r++) {
      for (let j = 0; j < f; j++) {
        let s = 0;
        for (let i = 0; i < n; i++) s += at(x, r * n + i) * at(w, i * f + j);
        y[r * f + j] = s;
      }
    }
    return y;
  }

  override referenceBackward(R: ReferenceBackwardContext, out: Value, dy: Float64Array): void {
    const x = R.value(this.x);
    const w = R.param(this.attrs.w);
    const [n, m] = [this.x.features, out.features];
    // dx = dy·Wᵀ, dW = xᵀ·dy
    const dx = new Float64Array(R.rows * n);
    const dw = new Float64Array(n * m);
    for (let r = 0; r < R.rows; r++) {
      for (let i = 0; i < n; i++) {
        let s = 0;
        const xi = at(x, r * n + i);
        for (let j = 0; j < m; j++) {
          const d = at(dy, r * m + j);
          s += d * at(w, i * m + j);
          dw[i * m + j] = at(dw, i * m + j) + xi * d;
        }
        dx[r * n + i] = s;
      }
    }
    R.paramGrad(this.attrs.w, dw);
    R.accumulate(this.x, dx);
  }
}

/** x + b; attrs: the bias b, a [features] parameter broadcast over rows. */
export class BiasAddOp extends UnaryOp<{ b: Param }> {
  readonly kind = 'biasAdd';

  override get gradParams(): readonly Param[] {
    return [this.attrs.b];
  }

  shape(): { features: number; name: string } {
    const { x } = this;
    const { b } = this.attrs;
    if (b.shape.length !== 1 || b.length !== x.features) {
      throw new GraphError(
        `layer "${this.layer}": bias "${b.name}" is [${b.shape.join(', ')}] but the value "${x.name}" ` +
          `has shape [batch, ${x.features}]`,
      );
    }
    return { features: x.features, name: `${this.layer}/bias` };
  }

  override get epilogueStage(): EpilogueStage {
    return { bias: this.attrs.b };
  }

  lower(L: LowerContext, g: Group): void {
    const x = L.buf(this.x);
    const b = L.env.param(this.attrs.b);
    const f = g.out.features;
    const rows = L.rows;
    const y = L.temp(f, g.out.name);
    L.emit(`${this.layer} bias`, [x, b], [y], (e, get) =>
      encodeBinary(e, 'add', { buffer: get(x), shape: [rows, f] }, { buffer: get(b), shape: [f] }, get(y), [
        rows,
        f,
      ]),
    );
    L.define(g.out, y);
  }

  override lowerBackward(L: LowerContext, g: Group, dy: VBuf): void {
    columnSumGrad(L, this.layer, this.attrs.b, dy, g.out.features);
    if (L.needsGrad(this.x)) L.passThrough(this.x, dy);
  }

  reference(R: ReferenceForwardContext, out: Value): Float64Array {
    const b = R.param(this.attrs.b);
    const f = out.features;
    return R.value(this.x).map((x, i) => x + at(b, i % f));
  }

  override referenceBackward(R: ReferenceBackwardContext, out: Value, dy: Float64Array): void {
    const f = out.features;
    const db = new Float64Array(f);
    for (let r = 0; r < R.rows; r++) for (let j = 0; j < f; j++) db[j] = at(db, j) + at(dy, r * f + j);
    R.paramGrad(this.attrs.b, db);
    R.accumulate(this.x, dy);
  }
}

/** db = column sums of dz [rows, features] into the bias's gradient. */
function columnSumGrad(L: LowerContext, layer: string, bias: Param, dz: VBuf, features: number): void {
  const db = L.paramGradTarget(bias, `${layer} db`);
  const rows = L.rows;
  L.emit(`${layer} db`, [dz], [db.buf], (e, get) =>
    encodeSum(e, get(dz), get(db.buf), { outer: 1, n: rows, inner: features }, 1, `${layer}_db`),
  );
  db.finish();
}

/** True when the activation's derivative needs its input z (kept by the forward pass). */
function usesPre(act: ActivationSpec): boolean {
  return act.name !== 'linear' && !activationFromY(act);
}

// ---------------------------------------------------------------- builders

export function matmul(g: Graph, layer: string, x: Value, w: Param): Value {
  return g.apply(new MatmulOp(layer, x, { w }));
}

export function biasAdd(g: Graph, layer: string, x: Value, b: Param): Value {
  return g.apply(new BiasAddOp(layer, x, { b }));
}

/** A Dense layer: matmul, then bias (optional), then activation (unless linear). */
export function dense(
  g: Graph,
  layer: string,
  x: Value,
  kernel: Param,
  bias: Param | undefined,
  act: ActivationAttrs = { name: 'linear' },
): Value {
  let y = matmul(g, layer, x, kernel);
  if (bias) y = biasAdd(g, layer, y, bias);
  return act.name === 'linear' ? y : activation(g, layer, y, act);
}
