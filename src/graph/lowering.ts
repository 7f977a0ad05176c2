/**
 * Lowering: a fused graph becomes the kernel calls of one step for a fixed batch size. The
 * walker knows no op: each group's head op emits its own forward calls (Op.lower) and, in
 * reverse order, its backward calls (Op.lowerBackward); this file keeps the bookkeeping they
 * share (temporaries, where each value lives, gradient fan-in) and the heads (heads.ts).
 *
 * Gradients: every value that needs one gets a gradient buffer; the first contribution writes
 * it, later ones (fan-out: residual branches, a value read twice, shared kernels) accumulate.
 *
 * The compiled step (compile.ts) emits its other stages (the batch gather before, the
 * penalty, optimizer and bookkeeping after) through the same Lowering, so every call of a
 * step is made the same way and every buffer id comes from liveness.ts's vbuf().
 */
import { SUM_SINGLE_PASS_MAX } from '../kernels/reduce.js';
import { encodeCopyColumns, STEP_END_MAX_SUMS } from '../kernels/step.js';
import { fuse, groupGradParams, type Fused } from './fusion.js';
import { lowerHeads, type HeadsContext, type LoweredTarget, type TargetFormat } from './heads.js';
import type { Graph } from './ir.js';
import { vbuf, type Call, type VBuf } from './liveness.js';
import type { Group, LowerEnv, Mode, Param, Value } from './op.js';
import { wholeCopy } from './ops/util.js';

export class Lowering implements HeadsContext {
  readonly calls: Call[] = [];
  readonly fused: Fused;
  /** Batch buffers filled before the step (one per graph input). */
  readonly inputs: VBuf[];
  /** Per loss head (train/evaluate): its targets and how to gather them. */
  readonly targets: LoweredTarget[];
  /** Weighted data (train/evaluate): the batch's sample weights [rows] (heads.ts applies them). */
  readonly weights: VBuf | undefined;
  /** Loss heads 0, 1, ...: per-row losses the step end sums into their slots (deferLossSum). */
  readonly deferredSums: VBuf[] = [];
  private readonly value = new Map<Value, VBuf>();
  private readonly keptBufs = new Map<Value, VBuf>();
  private readonly grads = new Map<Value, VBuf>();
  private readonly received = new Map<Value, number>();
  private readonly uses = new Map<Value, number>();
  private readonly applied = new Set<Value>();
  private readonly paramGradWritten = new Set<Param>();
  private readonly needsGradCache = new Map<Value, boolean>();

  constructor(
    readonly graph: Graph,
    readonly env: LowerEnv,
    readonly rows: number,
    readonly mode: Mode,
    readonly outputs: readonly Value[] = [],
    /** The data carries sample weights (train and evaluate apply them; predict has no loss). */
    weighted = false,
  ) {
    this.fused = fuse(graph, mode, outputs);
    this.inputs = graph.inputs.map((v) => {
      const b = this.temp(v.features, `input ${v.name}`);
      this.value.set(v, b);
      return b;
    });
    this.targets =
      mode === 'predict'
        ? []
        : graph.losses.map((h, i) => {
            const format = this.targetFormat(i);
            const width = format === 'u32' ? 1 : h.output.features;
            return { buf: this.temp(width, `target ${i}`), format, width };
          });
    this.weights = mode !== 'predict' && weighted ? this.temp(1, 'sample weights') : undefined;
  }

  deferLossSum(slot: number, rows: VBuf): boolean {
    const fits = this.rows <= SUM_SINGLE_PASS_MAX && this.deferredSums.length < STEP_END_MAX_SUMS;
    if (!fits || slot !== this.deferredSums.length) return false;
    this.deferredSums.push(rows);
    return true;
  }

  /**
   * Emits the graph's calls: every group's forward, the loss and metric heads, and (training)
   * every group's backward in reverse order. Returns the buffers of the requested outputs.
   */
  lowerGraph(): VBuf[] {
    const { fused, mode } = this;
    for (const g of fused.groups) g.node.lower(this, g);
    if (mode !== 'predict') {
      if (mode === 'train') this.countGradUses();
      lowerHeads(this);
    }
    if (mode === 'train') {
      for (const g of [...fused.groups].reverse()) {
        const dy = this.grads.get(g.out);
        if (dy) g.node.lowerBackward(this, g, dy);
      }
    }
    return this.outputs.map((o) => this.buf(o));
  }

  temp(features: number, label: string): VBuf {
    return this.tempBytes(this.rows * features * 4, label);
  }

  tempBytes(bytes: number, label: string): VBuf {
    return vbuf(Math.max(16, Math.ceil(bytes / 16) * 16), label);
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

  define(v: Value, b: VBuf): void {
    this.value.set(v, b);
  }

  keep(v: Value, b: VBuf): void {
    this.keptBufs.set(v, b);
  }

  kept(v: Value): VBuf | undefined {
    return this.keptBufs.get(v);
  }

  producer(v: Value): Group | undefined {
    return this.fused.groupOf.get(v);
  }

  needsGrad(v: Value): boolean {
    if (this.mode !== 'train') return false;
    const hit = this.needsGradCache.get(v);
    if (hit !== undefined) return hit;
    const g = this.fused.groupOf.get(v);
    const r =
      g !== undefined &&
      (groupGradParams(g).some((p) => p.trainable) || g.node.inputs.some((x) => this.needsGrad(x)));
    this.needsGradCache.set(v, r);
    return r;
  }

  gradUses(v: Value): number {
    return this.uses.get(v) ?? 0;
  }

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
    const spec = wholeCopy(this.rows, v.features, true);
    this.emit('grad_accumulate', [part, target], [target], (e, get) =>
      encodeCopyColumns(e, spec, get(part), get(target)),
    );
  }

  passThrough(v: Value, dy: VBuf): void {
    if (this.gradUses(v) === 1) {
      this.received.set(v, 1);
      this.grads.set(v, dy);
      return;
    }
    this.contribute(v, true, (dst, accumulate) => {
      const spec = wholeCopy(this.rows, v.features, accumulate);
      this.emit(
        accumulate ? 'grad_accumulate' : 'grad_copy',
        [dy, accumulate ? dst : undefined],
        [dst],
        (e, get) => encodeCopyColumns(e, spec, get(dy), get(dst)),
      );
    });
  }

  paramGrad(p: Param, write: (dst: VBuf, accumulate: boolean) => void): void {
    if (!p.trainable) return;
    const accumulate = this.paramGradWritten.has(p);
    this.paramGradWritten.add(p);
    write(this.env.grad(p), accumulate);
  }

  gradsWrittenAlike(p: Param, q: Param): boolean {
    return p.trainable && q.trainable && this.paramGradWritten.has(p) === this.paramGradWritten.has(q);
  }

  paramGradTarget(p: Param, label: string): { buf: VBuf; finish(): void } {
    const scratch = (): VBuf => this.tempBytes(p.length * 4, label);
    if (!p.trainable) return { buf: scratch(), finish: () => undefined };
    const accumulate = this.paramGradWritten.has(p);
    this.paramGradWritten.add(p);
    const dst = this.env.grad(p);
    if (!accumulate) return { buf: dst, finish: () => undefined };
    const part = scratch();
    const spec = wholeCopy(1, p.length, true);
    return {
      buf: part,
      finish: () =>
        this.emit(`${label} accumulate`, [part, dst], [dst], (e, get) =>
          encodeCopyColumns(e, spec, get(part), get(dst)),
        ),
    };
  }

  markActivationApplied(v: Value): void {
    this.applied.add(v);
  }

  activationApplied(v: Value): boolean {
    return this.applied.has(v);
  }

  private targetFormat(head: number): TargetFormat {
    const h = this.graph.losses[head];
    if (h?.target !== 'sparse') return 'f32';
    return this.fused.softmaxLogits.has(head) ? 'u32' : 'onehot';
  }

  /** Expected gradient contributions per value: one per consuming group input and loss head. */
  private countGradUses(): void {
    const bump = (v: Value): void => {
      if (this.needsGrad(v)) this.uses.set(v, (this.uses.get(v) ?? 0) + 1);
    };
    for (const g of this.fused.groups) for (const x of g.node.inputs) bump(x);
    this.graph.losses.forEach((h, i) => bump(this.fused.softmaxLogits.get(i) ?? h.output));
  }
}
