/**
 * Lowering: a fused graph becomes the kernel calls of one step for a fixed batch size.
 * Each group's forward rule and its backward rule sit together below (forwardX / backwardX).
 *
 * Gradients: every value that needs one gets a gradient buffer; the first contribution writes
 * it, later ones (fan-out: residual branches, a value read twice, shared kernels) accumulate.
 * A dense group's dY, when it has one producer and that producer is the next layer's input
 * gradient dX = dZ'·W'ᵀ, arrives already multiplied by the activation derivative (the
 * matmul's gradient epilogue), so no separate activation-gradient pass runs.
 */
import { activationFromY, type ActivationSpec } from '../../shaders/activations.js';
import {
  encodeActivation,
  encodeActivationGrad,
  encodeSoftmax,
  encodeSoftmaxGrad,
} from '../kernels/activations.js';
import {
  encodeBatchNormBackward,
  encodeBatchNormInference,
  encodeBatchNormTrain,
} from '../kernels/batchnorm.js';
import { encodeDropout, encodeDropoutGrad } from '../kernels/dropout.js';
import { encodeBinary } from '../kernels/elementwise.js';
import { encodeActivityGrad, encodeActivityPenalty, encodeCopyColumns, STATUS } from '../kernels/step.js';
import { encodeLoss, encodeSoftmaxCrossEntropy } from '../kernels/losses.js';
import { encodeMatmul, type MatmulSpec } from '../kernels/matmul.js';
import { encodeAucHistogram, encodeConfusion, encodeRowError } from '../kernels/metrics.js';
import {
  encodeAccumulateSum,
  encodeCorrectCount,
  encodeSum,
  type CorrectCountKind,
} from '../kernels/reduce.js';
import { BN_SAVED_ROWS } from '../kernels/batchnorm.js';
import {
  fuse,
  groupInputs,
  logitsFor,
  type DenseGroup,
  type Fused,
  type Group,
  type Mode,
  type NodeGroup,
} from './fusion.js';
import type { Graph, LossHead, Param, Value } from './ir.js';
import { metricLayout } from './arenas.js';
import type { Call, VBuf } from './liveness.js';

/** How a loss head's targets are gathered for the kernels that read them. */
export type TargetFormat = 'u32' | 'onehot' | 'f32';

/** The fixed buffers a step reads and writes (owned by the model, see compile.ts). */
export interface LowerEnv {
  /** A trainable weight's slice of the parameter arena, or a state tensor's slice. */
  param(p: Param): VBuf;
  /** A trainable weight's slice of the gradient arena. */
  grad(p: Param): VBuf;
  /** u32 status words (see STATUS): word STEPS is the dropout step. */
  status: VBuf;
  /** f32 loss sums, one slot per loss head (then MetricLayout's sums). */
  lossSums: VBuf;
  /** u32 right-prediction counts, one slot per metric head (then MetricLayout's counts). */
  counts: VBuf;
  /** u32 [1]: bit 0 set when a sparse label was out of range. */
  labelFlags: VBuf;
  /** The lossSums slot of regularization penalties (weights and activity), if any. */
  penaltySlot?: number;
}

export interface Lowered {
  calls: Call[];
  /** Batch buffers the plan fills before the step (one per graph input). */
  inputs: VBuf[];
  /** Per loss head (train/evaluate): its targets and how to gather them. */
  targets: { buf: VBuf; format: TargetFormat; width: number }[];
  /** The buffers holding the requested outputs (predict); plan them as pinned. */
  outputs: VBuf[];
  fused: Fused;
}

class Lowering {
  readonly calls: Call[] = [];
  private nextId = 0;
  readonly value = new Map<Value, VBuf>();
  /** Pre-activations kept for backward (activations whose derivative needs x). */
  readonly pre = new Map<Value, VBuf>();
  readonly saved = new Map<Value, VBuf>();
  readonly grads = new Map<Value, VBuf>();
  readonly received = new Map<Value, number>();
  readonly gradUses = new Map<Value, number>();
  /** Gradients that already include the producing group's activation derivative. */
  readonly dzFused = new Set<Value>();
  private readonly paramGradWritten = new Set<Param>();
  private readonly needsGradCache = new Map<Value, boolean>();

  constructor(
    readonly graph: Graph,
    readonly fused: Fused,
    readonly env: LowerEnv,
    readonly rows: number,
    readonly mode: Mode,
  ) {}

  /** A temporary of `features` f32 values per row of the batch. */
  temp(features: number, label: string): VBuf {
    return this.tempBytes(this.rows * features * 4, label);
  }

  /** A temporary of `bytes` bytes (rounded up to 16). */
  tempBytes(bytes: number, label: string): VBuf {
    return { id: this.nextId++, bytes: align16(bytes), label };
  }

  emit(
    label: string,
    reads: (VBuf | undefined)[],
    writes: (VBuf | undefined)[],
    encode: Call['encode'],
  ): void {
    this.calls.push({
      label,
      reads: reads.filter((v): v is VBuf => v !== undefined),
      writes: writes.filter((v): v is VBuf => v !== undefined),
      encode,
    });
  }

  buf(v: Value): VBuf {
    const b = this.value.get(v);
    if (!b) throw new Error(`internal: value "${v.name}" was not computed before use`);
    return b;
  }

  needsGrad(v: Value): boolean {
    if (this.mode !== 'train') return false;
    const hit = this.needsGradCache.get(v);
    if (hit !== undefined) return hit;
    const g = this.fused.groupOf.get(v);
    let r = false;
    if (g) {
      const params = g.kind === 'dense' ? [g.w, ...(g.bias ? [g.bias] : [])] : nodeTrainable(g);
      r = params.some((p) => p.trainable) || groupInputs(g).some((x) => this.needsGrad(x));
    }
    this.needsGradCache.set(v, r);
    return r;
  }

  /**
   * Adds a gradient contribution to v. `write(dst, accumulate)` encodes it; kernels without
   * an accumulate mode pass canAccumulate false and get a temporary that is then added.
   */
  contribute(v: Value, canAccumulate: boolean, write: (dst: VBuf, accumulate: boolean) => void): void {
    const n = (this.received.get(v) ?? 0) + 1;
    this.received.set(v, n);
    const first = n === 1;
    let dst = this.grads.get(v);
    if (!dst) {
      dst = this.temp(v.features, `d(${v.name})`);
      this.grads.set(v, dst);
    }
    if (first || canAccumulate) {
      write(dst, !first);
      return;
    }
    const part = this.temp(v.features, `d(${v.name}) part`);
    write(part, false);
    const target = dst;
    const spec = copySpec(this.rows, v.features, v.features, 0, v.features, 0, true);
    this.emit('grad_accumulate', [part, target], [target], (e, get) =>
      encodeCopyColumns(e, spec, get(part), get(target)),
    );
  }

  /** A gradient passed through unchanged (add, biasAdd): aliased when it is v's only one. */
  passThrough(v: Value, dy: VBuf): void {
    if ((this.gradUses.get(v) ?? 0) === 1) {
      this.received.set(v, 1);
      this.grads.set(v, dy);
      return;
    }
    this.contribute(v, true, (dst, accumulate) => {
      const spec = copySpec(this.rows, v.features, v.features, 0, v.features, 0, accumulate);
      this.emit(
        accumulate ? 'grad_accumulate' : 'grad_copy',
        [dy, accumulate ? dst : undefined],
        [dst],
        (e, get) => encodeCopyColumns(e, spec, get(dy), get(dst)),
      );
    });
  }

  /** Writes or accumulates a parameter's gradient. */
  paramGrad(p: Param, write: (dst: VBuf, accumulate: boolean) => void): void {
    if (!p.trainable) return;
    const accumulate = this.paramGradWritten.has(p);
    this.paramGradWritten.add(p);
    write(this.env.grad(p), accumulate);
  }

  /**
   * Where a parameter's gradient goes: its slice of the gradient arena, or (for a parameter
   * already given a gradient this step: a shared layer) a temporary that finish() adds to
   * it. A non-trainable parameter gets a scratch temporary.
   */
  paramGradTarget(p: Param, label: string): { buf: VBuf; finish(): void } {
    const scratch = (): VBuf => this.tempBytes(p.length * 4, label);
    if (!p.trainable) return { buf: scratch(), finish: () => undefined };
    const accumulate = this.paramGradWritten.has(p);
    this.paramGradWritten.add(p);
    const dst = this.env.grad(p);
    if (!accumulate) return { buf: dst, finish: () => undefined };
    const part = scratch();
    const spec = copySpec(1, p.length, p.length, 0, p.length, 0, true);
    return {
      buf: part,
      finish: () =>
        this.emit(`${label} accumulate`, [part, dst], [dst], (e, get) =>
          encodeCopyColumns(e, spec, get(part), get(dst)),
        ),
    };
  }

  gradOf(v: Value): VBuf | undefined {
    return this.grads.get(v);
  }
}

function nodeTrainable(g: NodeGroup): Param[] {
  const n = g.node;
  if (n.op === 'batchNorm') return [n.gamma, n.beta];
  if (n.op === 'biasAdd') return [n.b];
  return [];
}

function align16(bytes: number): number {
  return Math.max(16, Math.ceil(bytes / 16) * 16);
}

function copySpec(
  rows: number,
  width: number,
  srcCols: number,
  srcOffset: number,
  dstCols: number,
  dstOffset: number,
  accumulate: boolean,
): Parameters<typeof encodeCopyColumns>[1] {
  return { rows, width, srcCols, srcOffset, dstCols, dstOffset, accumulate };
}

// ------------------------------------------------------------------ dense (matmul + bias + act)

function usesPre(activation: ActivationSpec): boolean {
  return activation.name !== 'linear' && !activationFromY(activation);
}

function forwardDense(L: Lowering, g: DenseGroup): void {
  const x = L.buf(g.x);
  const y = L.temp(g.out.features, g.out.name);
  const pre =
    L.mode === 'train' && usesPre(g.activation) ? L.temp(g.out.features, `${g.layer}/z`) : undefined;
  const w = L.env.param(g.w);
  const b = g.bias ? L.env.param(g.bias) : undefined;
  const spec: MatmulSpec = {
    m: L.rows,
    n: g.out.features,
    k: g.x.features,
    bias: b !== undefined,
    activation: g.activation,
    writePreActivation: pre !== undefined,
  };
  L.emit(`${g.layer} forward`, [x, w, b], [y, pre], (e, get) =>
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
      g.layer,
    ),
  );
  L.value.set(g.out, y);
  if (pre) L.pre.set(g.out, pre);
}

function backwardDense(L: Lowering, g: DenseGroup): void {
  const dy = L.gradOf(g.out);
  if (!dy) return;
  const { rows } = L;
  const out = g.out.features;
  const inF = g.x.features;
  let dz = dy;
  if (g.activation.name !== 'linear' && !L.dzFused.has(g.out)) {
    const fromY = activationFromY(g.activation);
    const src = fromY ? L.buf(g.out) : (L.pre.get(g.out) as VBuf);
    dz = L.temp(out, `d(${g.layer}/z)`);
    const target = dz;
    L.emit(`${g.layer} activation grad`, [src, dy], [target], (e, get) =>
      encodeActivationGrad(e, g.activation, fromY ? 'y' : 'x', get(src), get(dy), get(target), rows * out),
    );
  }
  const x = L.buf(g.x);
  const dZ = dz;
  // dW = Xᵀ·dZ: A = X stored [rows, in] = [k, m] (transA), B = dZ [rows, out] = [k, n].
  L.paramGrad(g.w, (dw, accumulate) =>
    L.emit(`${g.layer} dW`, [x, dZ, accumulate ? dw : undefined], [dw], (e, get) =>
      encodeMatmul(
        e,
        { m: inF, n: out, k: rows, transA: true, accumulate },
        { a: get(x), b: get(dZ), c: get(dw) },
        `${g.layer}_dW`,
      ),
    ),
  );
  // db = column sums of dZ.
  if (g.bias) {
    const db = L.paramGradTarget(g.bias, `${g.layer} db`);
    L.emit(`${g.layer} db`, [dZ], [db.buf], (e, get) =>
      encodeSum(e, get(dZ), get(db.buf), { outer: 1, n: rows, inner: out }, 1, `${g.layer}_db`),
    );
    db.finish();
  }
  // dX = dZ·Wᵀ: A = dZ [rows, out] = [m, k], B = W stored [in, out] = [n, k] (transB).
  if (!L.needsGrad(g.x)) return;
  const w = L.env.param(g.w);
  const prev = L.fused.groupOf.get(g.x);
  const fuseAct =
    prev?.kind === 'dense' && prev.activation.name !== 'linear' && (L.gradUses.get(g.x) ?? 0) === 1;
  L.contribute(g.x, !fuseAct, (dx, accumulate) => {
    const spec: MatmulSpec = { m: rows, n: inF, k: out, transB: true, accumulate };
    let source: VBuf | undefined;
    if (fuseAct) {
      const fromY = activationFromY(prev.activation);
      source = fromY ? L.buf(g.x) : L.pre.get(g.x);
      spec.gradActivation = { activation: prev.activation, from: fromY ? 'y' : 'x' };
      L.dzFused.add(g.x);
    }
    const src = source;
    L.emit(`${g.layer} dX`, [dZ, w, src, accumulate ? dx : undefined], [dx], (e, get) =>
      encodeMatmul(
        e,
        spec,
        { a: get(dZ), b: get(w), c: get(dx), ...(src ? { gradSource: get(src) } : {}) },
        `${g.layer}_dX`,
      ),
    );
  });
}

// ------------------------------------------------------------------ the other ops

function forwardNode(L: Lowering, g: NodeGroup): void {
  const n = g.node;
  const { rows } = L;
  const f = g.out.features;
  switch (n.op) {
    case 'input':
      return; // filled by the plan's gather
    case 'biasAdd': {
      const x = L.buf(n.x);
      const b = L.env.param(n.b);
      const y = L.temp(f, g.out.name);
      L.emit(`${n.layer} bias`, [x, b], [y], (e, get) =>
        encodeBinary(e, 'add', { buffer: get(x), shape: [rows, f] }, { buffer: get(b), shape: [f] }, get(y), [
          rows,
          f,
        ]),
      );
      L.value.set(g.out, y);
      return;
    }
    case 'activation': {
      const x = L.buf(n.x);
      const y = L.temp(f, g.out.name);
      const act = n.activation;
      L.emit(`${n.layer} ${act.name}`, [x], [y], (e, get) =>
        act.name === 'softmax'
          ? encodeSoftmax(e, get(x), get(y), rows, f)
          : encodeActivation(e, act, get(x), get(y), rows * f),
      );
      L.value.set(g.out, y);
      return;
    }
    case 'batchNorm': {
      const x = L.buf(n.x);
      const y = L.temp(f, g.out.name);
      const [gamma, beta, mean, variance] = [n.gamma, n.beta, n.movingMean, n.movingVariance].map((p) =>
        L.env.param(p),
      ) as [VBuf, VBuf, VBuf, VBuf];
      const spec = { rows, features: f, epsilon: n.epsilon, momentum: n.momentum };
      if (L.mode === 'train') {
        const s = L.tempBytes(BN_SAVED_ROWS * f * 4, `${n.layer} saved`);
        L.saved.set(g.out, s);
        L.emit(`${n.layer} batchnorm`, [x, gamma, beta, mean, variance], [y, s, mean, variance], (e, get) =>
          encodeBatchNormTrain(e, spec, {
            x: get(x),
            gamma: get(gamma),
            beta: get(beta),
            y: get(y),
            saved: get(s),
            runningMean: get(mean),
            runningVar: get(variance),
          }),
        );
      } else {
        L.emit(`${n.layer} batchnorm`, [x, gamma, beta, mean, variance], [y], (e, get) =>
          encodeBatchNormInference(e, spec, {
            x: get(x),
            gamma: get(gamma),
            beta: get(beta),
            runningMean: get(mean),
            runningVar: get(variance),
            y: get(y),
          }),
        );
      }
      L.value.set(g.out, y);
      return;
    }
    case 'dropout': {
      const x = L.buf(n.x);
      if (L.mode !== 'train' || n.rate === 0) {
        L.value.set(g.out, x); // identity: no copy
        return;
      }
      const y = L.temp(f, g.out.name);
      const spec = { n: rows * f, rate: n.rate, seed: n.seed, stream: n.stream, stepWord: STATUS.STEPS };
      const status = L.env.status;
      L.emit(`${n.layer} dropout`, [x, status], [y], (e, get) =>
        encodeDropout(e, spec, { x: get(x), y: get(y), step: get(status) }),
      );
      L.value.set(g.out, y);
      return;
    }
    case 'concat': {
      const y = L.temp(f, g.out.name);
      let offset = 0;
      for (const input of n.xs) {
        const x = L.buf(input);
        const spec = copySpec(rows, input.features, input.features, 0, f, offset, false);
        L.emit(`${n.layer} concat`, [x], [y], (e, get) => encodeCopyColumns(e, spec, get(x), get(y)));
        offset += input.features;
      }
      L.value.set(g.out, y);
      return;
    }
    case 'add': {
      const y = L.temp(f, g.out.name);
      const [a, b, ...rest] = n.xs.map((v) => L.buf(v)) as [VBuf, VBuf, ...VBuf[]];
      L.emit(`${n.layer} add`, [a, b], [y], (e, get) =>
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
        const spec = copySpec(rows, f, f, 0, f, 0, true);
        L.emit(`${n.layer} add`, [x, y], [y], (e, get) => encodeCopyColumns(e, spec, get(x), get(y)));
      }
      L.value.set(g.out, y);
      return;
    }
    case 'activityReg': {
      // The identity (no copy); training and evaluation add l1·Σ|a| + l2·Σa² per step to the
      // penalty sum (÷ rows for the step's loss, × rows for the epoch's weighted mean: Σ).
      const a = L.buf(n.x);
      L.value.set(g.out, a);
      const slot = L.env.penaltySlot;
      if (L.mode === 'predict' || slot === undefined) return;
      const terms = L.temp(f, `${n.layer} activity terms`);
      const sums = L.env.lossSums;
      const spec = { n: rows * f, l1: n.l1, l2: n.l2 };
      L.emit(`${n.layer} activity penalty`, [a], [terms], (e, get) =>
        encodeActivityPenalty(e, spec, { a: get(a), terms: get(terms) }),
      );
      L.emit(`${n.layer} activity sum`, [terms, sums], [sums], (e, get) =>
        encodeAccumulateSum(e, get(terms), rows * f, get(sums), slot, `${n.layer}_activity_sum`),
      );
      return;
    }
  }
}

function backwardNode(L: Lowering, g: NodeGroup): void {
  const n = g.node;
  const dy = L.gradOf(g.out);
  if (!dy || n.op === 'input') return;
  const { rows } = L;
  const f = g.out.features;
  switch (n.op) {
    case 'biasAdd': {
      const db = L.paramGradTarget(n.b, `${n.layer} db`);
      L.emit(`${n.layer} db`, [dy], [db.buf], (e, get) =>
        encodeSum(e, get(dy), get(db.buf), { outer: 1, n: rows, inner: f }, 1, `${n.layer}_db`),
      );
      db.finish();
      if (L.needsGrad(n.x)) L.passThrough(n.x, dy);
      return;
    }
    case 'activation': {
      if (!L.needsGrad(n.x)) return;
      const act = n.activation;
      const y = L.buf(g.out);
      const x = L.buf(n.x);
      if (act.name === 'softmax') {
        L.contribute(n.x, false, (dx) =>
          L.emit(`${n.layer} softmax grad`, [y, dy], [dx], (e, get) =>
            encodeSoftmaxGrad(e, get(y), get(dy), get(dx), rows, f),
          ),
        );
        return;
      }
      const fromY = activationFromY(act);
      const src = fromY ? y : x;
      L.contribute(n.x, true, (dx, accumulate) =>
        L.emit(`${n.layer} ${act.name} grad`, [src, dy, accumulate ? dx : undefined], [dx], (e, get) =>
          encodeActivationGrad(e, act, fromY ? 'y' : 'x', get(src), get(dy), get(dx), rows * f, {
            accumulate,
          }),
        ),
      );
      return;
    }
    case 'batchNorm': {
      const x = L.buf(n.x);
      const saved = L.saved.get(g.out) as VBuf;
      const gamma = L.env.param(n.gamma);
      // A batch-norm layer applied twice shares γ and β: the second gradient is added.
      const dgTarget = L.paramGradTarget(n.gamma, `${n.layer} dgamma`);
      const dbTarget = L.paramGradTarget(n.beta, `${n.layer} dbeta`);
      const [dg, db] = [dgTarget.buf, dbTarget.buf];
      const spec = { rows, features: f, epsilon: n.epsilon, momentum: n.momentum };
      const encode = (dx: VBuf): void =>
        L.emit(`${n.layer} batchnorm grad`, [x, dy, gamma, saved], [dx, dg, db], (e, get) =>
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
      if (L.needsGrad(n.x)) L.contribute(n.x, false, (dx) => encode(dx));
      else encode(L.temp(f, `${n.layer} dx (unused)`));
      dgTarget.finish();
      dbTarget.finish();
      return;
    }
    case 'dropout': {
      if (!L.needsGrad(n.x)) return;
      if (n.rate === 0) {
        L.passThrough(n.x, dy);
        return;
      }
      const spec = { n: rows * f, rate: n.rate, seed: n.seed, stream: n.stream, stepWord: STATUS.STEPS };
      const status = L.env.status;
      L.contribute(n.x, false, (dx) =>
        L.emit(`${n.layer} dropout grad`, [dy, status], [dx], (e, get) =>
          encodeDropoutGrad(e, spec, { dy: get(dy), dx: get(dx), step: get(status) }),
        ),
      );
      return;
    }
    case 'concat': {
      let offset = 0;
      for (const input of n.xs) {
        const off = offset;
        offset += input.features;
        if (!L.needsGrad(input)) continue;
        L.contribute(input, true, (dx, accumulate) => {
          const spec = copySpec(rows, input.features, f, off, input.features, 0, accumulate);
          L.emit(`${n.layer} concat grad`, [dy, accumulate ? dx : undefined], [dx], (e, get) =>
            encodeCopyColumns(e, spec, get(dy), get(dx)),
          );
        });
      }
      return;
    }
    case 'add':
      for (const input of n.xs) if (L.needsGrad(input)) L.passThrough(input, dy);
      return;
    case 'activityReg': {
      if (!L.needsGrad(n.x)) return;
      const a = L.buf(n.x);
      L.contribute(n.x, true, (dx, accumulate) => {
        const spec = { n: rows * f, l1: n.l1, l2: n.l2, scale: 1 / rows, accumulate };
        L.emit(`${n.layer} activity grad`, [a, dy, accumulate ? dx : undefined], [dx], (e, get) =>
          encodeActivityGrad(e, spec, { a: get(a), dy: get(dy), dx: get(dx) }),
        );
      });
      return;
    }
  }
}

// ------------------------------------------------------------------ heads

function targetFormat(graph: Graph, fused: Fused, head: number): TargetFormat {
  const h = graph.losses[head];
  if (h?.target !== 'sparse') return 'f32';
  return fused.softmaxLogits.has(head) ? 'u32' : 'onehot';
}

function lowerHeads(L: Lowering, targets: Lowered['targets']): void {
  const { graph, fused, rows, env } = L;
  graph.losses.forEach((h, i) => {
    const target = targets[i];
    if (!target) throw new Error('internal: target missing');
    const t = target.buf;
    const rowLoss = L.temp(1, `loss ${i} rows`);
    const gradScale = h.weight / rows;
    const logits = fused.softmaxLogits.get(i);
    const pred = logits ?? h.output;
    const p = L.buf(pred);
    const f = pred.features;
    const train = L.mode === 'train' && L.needsGrad(pred);
    const emitLoss = (d: VBuf): void => {
      if (logits) {
        const spec = { rows, classes: f, labels: h.target, gradScale };
        const flags = env.labelFlags;
        L.emit(`loss ${i} softmax_xent`, [p, t], [rowLoss, d, flags], (e, get) =>
          encodeSoftmaxCrossEntropy(e, spec, {
            logits: get(p),
            labels: get(t),
            loss: get(rowLoss),
            dlogits: get(d),
            flags: get(flags),
          }),
        );
      } else {
        const spec = {
          name: h.loss,
          rows,
          cols: f,
          gradScale,
          ...(h.delta !== undefined ? { delta: h.delta } : {}),
        };
        L.emit(`loss ${i} ${h.loss}`, [p, t], [rowLoss, d], (e, get) =>
          encodeLoss(e, spec, { pred: get(p), target: get(t), loss: get(rowLoss), dpred: get(d) }),
        );
      }
    };
    if (train) L.contribute(pred, false, emitLoss);
    else emitLoss(L.temp(f, `loss ${i} gradient (unused)`));
    const sums = env.lossSums;
    L.emit(`loss ${i} sum`, [rowLoss, sums], [sums], (e, get) =>
      encodeAccumulateSum(e, get(rowLoss), rows, get(sums), i, `loss_${i}_sum`),
    );
  });
  graph.metrics.forEach((m, j) => {
    const target = targets[m.lossIndex];
    if (!target) throw new Error('internal: metric target missing');
    const predValue = logitsFor(m.output, graph.losses, fused.softmaxLogits) ?? m.output;
    const p = L.buf(predValue);
    const kind: CorrectCountKind =
      m.kind === 'binary' ? 'binary' : target.format === 'u32' ? 'sparse' : 'dense';
    const spec = { kind, rows, cols: predValue.features };
    const counts = env.counts;
    const t = target.buf;
    L.emit(`metric ${m.name}`, [p, t, counts], [counts], (e, get) =>
      encodeCorrectCount(e, spec, { pred: get(p), labels: get(t), counts: get(counts), slot: j }),
    );
  });
  lowerStatMetrics(L, targets);
}

/**
 * mae / mse / rmse, precision / recall / f1 and auc (see MetricLayout): per loss head, one
 * row-error pass plus its sum into an f32 slot per error kind, one confusion count and one
 * AUC histogram, each only when a metric asks for it. They read the head's output; where
 * the softmax was fused into the loss (so only the logits exist), a softmax is run first.
 */
function lowerStatMetrics(L: Lowering, targets: Lowered['targets']): void {
  const { graph, fused, rows, env } = L;
  if (graph.statMetrics.length === 0) return;
  // A function of the graph alone: ModelArenas sized lossSums and counts from the same.
  const layout = metricLayout(graph);
  const probs = new Map<number, VBuf>();
  const predOf = (lossIndex: number): VBuf => {
    const h = graph.losses[lossIndex];
    if (!h) throw new Error('internal: metric head missing');
    const logits = fused.softmaxLogits.get(lossIndex);
    if (!logits) return L.buf(h.output);
    let y = probs.get(lossIndex);
    if (!y) {
      const x = L.buf(logits);
      const out = L.temp(h.output.features, `metrics ${lossIndex} softmax`);
      const f = h.output.features;
      L.emit(`metrics ${lossIndex} softmax`, [x], [out], (e, get) =>
        encodeSoftmax(e, get(x), get(out), rows, f),
      );
      probs.set(lossIndex, out);
      y = out;
    }
    return y;
  };
  const targetOf = (lossIndex: number): VBuf => {
    const t = targets[lossIndex];
    if (t?.format !== 'f32') throw new Error('internal: a metric needs f32 targets');
    return t.buf;
  };
  const cols = (lossIndex: number): number => (graph.losses[lossIndex] as LossHead).output.features;
  const sums = env.lossSums;
  const counts = env.counts;
  for (const s of layout.sums) {
    const p = predOf(s.lossIndex);
    const t = targetOf(s.lossIndex);
    const f = cols(s.lossIndex);
    const rowErr = L.temp(1, `metrics ${s.lossIndex} ${s.kind} rows`);
    L.emit(`metrics ${s.lossIndex} ${s.kind} error`, [p, t], [rowErr], (e, get) =>
      encodeRowError(e, { kind: s.kind, rows, cols: f }, { pred: get(p), target: get(t), out: get(rowErr) }),
    );
    L.emit(`metrics ${s.lossIndex} ${s.kind} sum`, [rowErr, sums], [sums], (e, get) =>
      encodeAccumulateSum(e, get(rowErr), rows, get(sums), s.slot, `metric_${s.kind}_sum`),
    );
  }
  for (const c of layout.confusion) {
    const p = predOf(c.lossIndex);
    const t = targetOf(c.lossIndex);
    const n = rows * cols(c.lossIndex);
    L.emit(`metrics ${c.lossIndex} confusion`, [p, t, counts], [counts], (e, get) =>
      encodeConfusion(e, { n }, { pred: get(p), labels: get(t), counts: get(counts), offset: c.offset }),
    );
  }
  for (const a of layout.auc) {
    const p = predOf(a.lossIndex);
    const t = targetOf(a.lossIndex);
    const n = rows * cols(a.lossIndex);
    L.emit(`metrics ${a.lossIndex} auc`, [p, t, counts], [counts], (e, get) =>
      encodeAucHistogram(e, { n }, { pred: get(p), labels: get(t), counts: get(counts), offset: a.offset }),
    );
  }
}

// ------------------------------------------------------------------ entry point

export function lower(
  graph: Graph,
  env: LowerEnv,
  rows: number,
  mode: Mode,
  outputs: readonly Value[] = [],
): Lowered {
  const fused = fuse(graph, mode, outputs);
  const L = new Lowering(graph, fused, env, rows, mode);
  const inputs = graph.inputs.map((v) => {
    const b = L.temp(v.features, `input ${v.name}`);
    L.value.set(v, b);
    return b;
  });
  const targets: Lowered['targets'] =
    mode === 'predict'
      ? []
      : graph.losses.map((h, i) => {
          const format = targetFormat(graph, fused, i);
          const width = format === 'u32' ? 1 : h.output.features;
          return { buf: L.temp(width, `target ${i}`), format, width };
        });
  for (const g of fused.groups) {
    if (g.kind === 'dense') forwardDense(L, g);
    else forwardNode(L, g);
  }
  if (mode !== 'predict') {
    if (mode === 'train') countGradUses(L);
    lowerHeads(L, targets);
  }
  if (mode === 'train') {
    for (const g of [...fused.groups].reverse()) {
      if (g.kind === 'dense') backwardDense(L, g);
      else backwardNode(L, g);
    }
  }
  const outs = outputs.map((o) => L.buf(o));
  return { calls: L.calls, inputs, targets, outputs: outs, fused };
}

/** Expected gradient contributions per value: one per consuming group input and loss head. */
function countGradUses(L: Lowering): void {
  const bump = (v: Value): void => {
    if (L.needsGrad(v)) L.gradUses.set(v, (L.gradUses.get(v) ?? 0) + 1);
  };
  for (const g of L.fused.groups) for (const x of groupInputs(g)) bump(x);
  L.graph.losses.forEach((h, i) => bump(L.fused.softmaxLogits.get(i) ?? h.output));
}

export type { Group };
