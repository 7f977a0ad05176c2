/**
 * The model's resident GPU memory, shared by all of its plans: the flat arenas (trainable
 * parameters, their gradients, the optimizer state, and the non-trainable state such as
 * batch-norm moving statistics), the optimizer's hyper buffer, the status/cursor words and
 * the GPU accumulators (laid out by metric-layout.ts), plus the snapshot copies used to undo
 * a step that went non-finite.
 */
import { BufferSlice, type Bindable, type Engine } from '../gpu/engine.js';
import { GPULimitError } from '../gpu/errors.js';
import {
  ARENA_ALIGN,
  createOptimizerHyper,
  createSegmentTable,
  OPTIMIZER_HYPER_BYTES,
  optimizerStateSlots,
  planArena,
  type ArenaSegment,
  type OptimizerSettings,
} from '../kernels/optim.js';
import { STATUS_WORDS } from '../kernels/step.js';
import type { Graph } from './ir.js';
import { vbuf, type VBuf } from './liveness.js';
import { metricLayout, type MetricLayout } from './metric-layout.js';
import type { LowerEnv, Param } from './op.js';

const STORAGE = (): number => GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

export class ModelArenas {
  readonly trainable: Param[];
  readonly nonTrainable: Param[];
  readonly segments: ArenaSegment[];
  readonly totalLength: number;
  /** Element offsets of the non-trainable tensors in `state` (written by steps) or `frozen`. */
  readonly stateOffsets = new Map<Param, number>();
  readonly stateLength: number;
  readonly frozenLength: number;
  readonly params: GPUBuffer;
  readonly grads: GPUBuffer;
  readonly optState: GPUBuffer[];
  /** Non-trainable tensors a step writes (batch-norm moving statistics). */
  readonly state: GPUBuffer;
  /**
   * Other non-trainable tensors (frozen weights): a separate buffer, because one dispatch may
   * read a frozen γ while writing the moving statistics, and WebGPU forbids binding one
   * buffer both read-only and writable in a dispatch.
   */
  readonly frozen: GPUBuffer;
  private readonly written: Set<Param>;
  readonly hyper: GPUBuffer | undefined;
  readonly segmentTable: GPUBuffer | undefined;
  readonly status: GPUBuffer;
  readonly cursor: GPUBuffer;
  /**
   * f32 loss sums per head, then the metric sums; u32 right-prediction counts per accuracy
   * metric, then the confusion counts and AUC histograms (see MetricLayout).
   */
  readonly lossSums: GPUBuffer;
  readonly counts: GPUBuffer;
  readonly metricLayout: MetricLayout;
  readonly labelFlags: GPUBuffer;
  readonly labelErrors: GPUBuffer;
  /** Snapshot of params / optimizer state / non-trainable state / hyper (see executor.ts). */
  readonly backup: { params: GPUBuffer; optState: GPUBuffer[]; state: GPUBuffer; hyper?: GPUBuffer };
  private readonly owned: GPUBuffer[] = [];
  private readonly slices = new Map<string, VBuf>();
  private readonly wholes = new Map<Bindable, VBuf>();
  private disposed = false;

  constructor(
    readonly engine: Engine,
    readonly graph: Graph,
    readonly optimizer?: OptimizerSettings,
  ) {
    this.trainable = graph.params.filter((p) => p.trainable);
    this.nonTrainable = graph.params.filter((p) => !p.trainable);
    const arena = planArena(this.trainable.map((p) => ({ length: p.length, l1: p.l1, l2: p.l2 })));
    this.segments = arena.segments;
    this.totalLength = Math.max(ARENA_ALIGN, arena.totalLength);
    this.written = new Set(graph.values.flatMap((v) => v.node.stateWrites));
    const layout = (params: readonly Param[]): number => {
      let offset = 0;
      for (const p of params) {
        this.stateOffsets.set(p, offset);
        offset += Math.ceil(p.length / ARENA_ALIGN) * ARENA_ALIGN;
      }
      return Math.max(ARENA_ALIGN, offset);
    };
    this.metricLayout = metricLayout(graph);
    this.stateLength = layout(this.nonTrainable.filter((p) => this.written.has(p)));
    this.frozenLength = layout(this.nonTrainable.filter((p) => !this.written.has(p)));
    // Each arena is one storage binding: refuse a model too big for it by its layers, before
    // anything is allocated (the engine's own check would name only "params arena").
    checkArenaFits(engine, 'trainable weights', this.totalLength, this.trainable);
    checkArenaFits(
      engine,
      'non-trainable weights a step updates',
      this.stateLength,
      this.nonTrainable.filter((p) => this.written.has(p)),
    );
    checkArenaFits(
      engine,
      'frozen weights',
      this.frozenLength,
      this.nonTrainable.filter((p) => !this.written.has(p)),
    );
    try {
      const bytes = this.totalLength * 4;
      // Gradients and the NaN-restore snapshot serve training only, which needs an optimizer
      // (compilePlan refuses 'train' without one): an inference model keeps a token buffer.
      const trainingBytes = optimizer ? bytes : 16;
      this.params = this.buffer(bytes, 'params arena');
      this.grads = this.buffer(trainingBytes, 'grads arena');
      const slots = optimizer ? optimizerStateSlots(optimizer.spec) : 0;
      this.optState = Array.from({ length: slots }, (_, i) => this.buffer(bytes, `optimizer state ${i}`));
      this.state = this.buffer(this.stateLength * 4, 'state arena');
      this.frozen = this.buffer(this.frozenLength * 4, 'frozen arena');
      this.status = this.buffer(STATUS_WORDS * 4, 'status');
      this.cursor = this.buffer(16, 'cursor');
      this.lossSums = this.buffer(Math.max(1, this.metricLayout.sumWords) * 4, 'loss sums');
      this.counts = this.buffer(Math.max(1, this.metricLayout.countWords) * 4, 'metric counts');
      this.labelFlags = this.buffer(16, 'label flags');
      this.labelErrors = this.buffer(16, 'label errors');
      this.backup = {
        params: this.buffer(trainingBytes, 'params backup'),
        optState: this.optState.map((_, i) => this.buffer(bytes, `optimizer state ${i} backup`)),
        state: this.buffer(this.stateLength * 4, 'state backup'),
      };
      if (optimizer) {
        this.hyper = this.adopt(createOptimizerHyper(engine, optimizer.spec, optimizer.learningRate));
        this.segmentTable = this.adopt(createSegmentTable(engine, this.segments, this.totalLength));
        this.backup.hyper = this.buffer(OPTIMIZER_HYPER_BYTES, 'hyper backup');
      }
      this.writeInitialValues();
    } catch (e) {
      this.dispose();
      throw e;
    }
  }

  private buffer(size: number, label: string): GPUBuffer {
    return this.adopt(this.engine.createBuffer({ size, usage: STORAGE(), label }));
  }

  private adopt(b: GPUBuffer): GPUBuffer {
    this.owned.push(b);
    return b;
  }

  private writeInitialValues(): void {
    const params = new Float32Array(this.totalLength);
    this.trainable.forEach((p, i) => params.set(p.init, (this.segments[i] as ArenaSegment).offset));
    this.engine.writeBuffer(this.params, 0, params);
    const state = new Float32Array(this.stateLength);
    const frozen = new Float32Array(this.frozenLength);
    for (const p of this.nonTrainable)
      (this.written.has(p) ? state : frozen).set(p.init, this.stateOffsets.get(p) ?? 0);
    this.engine.writeBuffer(this.state, 0, state);
    this.engine.writeBuffer(this.frozen, 0, frozen);
  }

  /** Where `p` lives: its arena buffer and element offset. */
  location(p: Param): { buffer: GPUBuffer; offset: number } {
    if (p.trainable) {
      const i = this.trainable.indexOf(p);
      const seg = this.segments[i];
      if (!seg) throw new Error(`parameter "${p.name}" is not in this model`);
      return { buffer: this.params, offset: seg.offset };
    }
    const offset = this.stateOffsets.get(p);
    if (offset === undefined) throw new Error(`state "${p.name}" is not in this model`);
    return { buffer: this.written.has(p) ? this.state : this.frozen, offset };
  }

  /** A fixed VBuf for a parameter's (or state tensor's) slice. */
  param(p: Param): VBuf {
    return this.slice(`p${p.id}`, () => {
      const { buffer, offset } = this.location(p);
      return new BufferSlice(buffer, offset * 4, align16(p.length * 4), p.name);
    });
  }

  /** A fixed VBuf for a trainable parameter's gradient slice. */
  grad(p: Param): VBuf {
    return this.slice(`g${p.id}`, () => {
      const { offset } = this.location(p);
      return new BufferSlice(this.grads, offset * 4, align16(p.length * 4), `d(${p.name})`);
    });
  }

  /** The fixed buffers a step of this model reads and writes, for the lowering. */
  lowerEnv(): LowerEnv {
    return {
      param: (p) => this.param(p),
      grad: (p) => this.grad(p),
      status: this.whole(this.status),
      lossSums: this.whole(this.lossSums),
      counts: this.whole(this.counts),
      labelFlags: this.whole(this.labelFlags),
      ...(this.metricLayout.penaltySlot !== undefined ? { penaltySlot: this.metricLayout.penaltySlot } : {}),
    };
  }

  /**
   * A fixed VBuf for a whole buffer or a slice of one (one per object, whatever its label),
   * e.g. the parts of a dataset.
   */
  whole(b: Bindable): VBuf {
    let v = this.wholes.get(b);
    if (!v) {
      v = vbuf(b.size, b.label, b);
      this.wholes.set(b, v);
    }
    return v;
  }

  /** Forgets the VBufs of buffers that are gone (a disposed dataset's). */
  forget(buffers: readonly Bindable[]): void {
    for (const b of buffers) this.wholes.delete(b);
  }

  private slice(key: string, make: () => GPUBuffer | BufferSlice): VBuf {
    let v = this.slices.get(key);
    if (!v) {
      const fixed = make();
      v = vbuf(fixed.size, fixed.label, fixed);
      this.slices.set(key, v);
    }
    return v;
  }

  /**
   * The gradients of the last training step by Param.id (trainable parameters only; the
   * others are undefined), read while the weights are those the step started from: the
   * gradient arena plus each weight's regularization term (2·l2·w + l1·sign(w)), which the
   * optimizer kernel adds as it updates.
   */
  async readGrads(): Promise<(Float32Array | undefined)[]> {
    const bytes = this.totalLength * 4;
    const penalized = this.segments.some((s) => s.l1 !== 0 || s.l2 !== 0);
    const [grads, params] = await Promise.all([
      this.engine.read(this.grads, bytes, 'grads'),
      penalized ? this.engine.read(this.params, bytes, 'params') : undefined,
    ]);
    const g = new Float32Array(grads);
    const w = params ? new Float32Array(params) : undefined;
    const out: (Float32Array | undefined)[] = [];
    this.trainable.forEach((p, k) => {
      const seg = this.segments[k];
      if (!seg) return;
      const values = g.slice(seg.offset, seg.offset + p.length);
      if (w && (seg.l1 !== 0 || seg.l2 !== 0)) {
        for (let i = 0; i < values.length; i++) {
          const v = w[seg.offset + i] ?? 0;
          values[i] = (values[i] ?? 0) + 2 * seg.l2 * v + seg.l1 * Math.sign(v);
        }
      }
      out[p.id] = values;
    });
    return out;
  }

  /** Reads every parameter (trainable and state) back, by Param.id. */
  async readParams(): Promise<Float32Array[]> {
    const out: Float32Array[] = [];
    const params = new Float32Array(await this.engine.read(this.params, this.totalLength * 4, 'params'));
    const state = new Float32Array(await this.engine.read(this.state, this.stateLength * 4, 'state'));
    const frozen = new Float32Array(await this.engine.read(this.frozen, this.frozenLength * 4, 'frozen'));
    for (const p of this.graph.params) {
      const { buffer, offset } = this.location(p);
      const from = buffer === this.params ? params : buffer === this.state ? state : frozen;
      out[p.id] = from.slice(offset, offset + p.length);
    }
    return out;
  }

  /** Overwrites parameter values (by Param.id; undefined entries are left as they are). */
  writeParams(values: readonly (ArrayLike<number> | undefined)[]): void {
    for (const p of this.graph.params) {
      const v = values[p.id];
      if (!v) continue;
      if (v.length !== p.length) {
        throw new RangeError(
          `setting "${p.name}" [${p.shape.join(', ')}]: got ${v.length} values, need ${p.length}`,
        );
      }
      const { buffer, offset } = this.location(p);
      this.engine.writeBuffer(buffer, offset * 4, Float32Array.from(v));
    }
  }

  /** Words of lossSums (loss sums, then metric sums) and of counts (see MetricLayout). */
  get accumulatorWords(): { sums: number; counts: number } {
    const layout = this.metricLayout;
    return { sums: Math.max(1, layout.sumWords), counts: Math.max(1, layout.countWords) };
  }

  /** Bytes of everything the model keeps resident (arenas, state, snapshots, small buffers). */
  get bytes(): number {
    return this.owned.reduce((s, b) => s + b.size, 0);
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const b of this.owned) this.engine.releaseBuffer(b);
    this.owned.length = 0;
  }
}

/** "157,000,192 bytes (149.7 MiB)". */
export function bytesText(bytes: number): string {
  const mib = bytes / 2 ** 20;
  const size = mib >= 1024 ? `${(mib / 1024).toFixed(1)} GiB` : `${mib.toFixed(1)} MiB`;
  return `${bytes.toLocaleString('en-US')} bytes (${size})`;
}

/**
 * Refuses an arena of `length` floats over maxStorageBufferBindingSize (a GPULimitError naming
 * the largest weights and their layers, the bytes and the limit), before any allocation.
 */
function checkArenaFits(engine: Engine, what: string, length: number, params: readonly Param[]): void {
  const limit = engine.limits.maxStorageBufferBindingSize;
  const bytes = length * 4;
  if (bytes <= limit) return;
  const largest = [...params]
    .sort((a, b) => b.length - a.length)
    .slice(0, 2)
    .map((p) => {
      const layer = p.name.includes('/') ? p.name.slice(0, p.name.lastIndexOf('/')) : p.name;
      return `layer "${layer}": "${p.name}" [${p.shape.join(', ')}], ${bytesText(p.length * 4)}`;
    });
  throw new GPULimitError(
    `the model's ${what} need ${bytesText(bytes)} in one GPU storage buffer, over this adapter's ` +
      `maxStorageBufferBindingSize of ${bytesText(limit)} on "${engine.adapter.name}" ` +
      `(maxBufferSize ${bytesText(engine.limits.maxBufferSize)}); nothing was allocated. ` +
      `The largest: ${largest.join('; ')}. Use smaller layers (fewer units, or a smaller input ` +
      'before the widest Dense), or an adapter with a larger limit.',
    'maxStorageBufferBindingSize',
    limit,
    bytes,
  );
}

function align16(bytes: number): number {
  return Math.ceil(bytes / 16) * 16;
}
