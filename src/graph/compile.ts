/**
 * A Plan: one step of a model for one batch size and mode, compiled once. Compiling lowers
 * the fused graph to kernel calls with the batch gather in front and the penalty, optimizer
 * and step bookkeeping behind (all emitted through one Lowering), plans the temporaries'
 * memory (liveness.ts), and records every dispatch with its pipeline and bind group. Running
 * N steps is then N replays of the same recording: no buffer, bind group or pipeline is
 * created, nothing is read back.
 */
import type { Engine, Recording } from '../gpu/engine.js';
import { GPULimitError } from '../gpu/errors.js';
import { profile, type DispatchTiming } from '../gpu/profiler.js';
import { bytesText, type ModelArenas } from './arenas.js';
import type { GpuData } from './dataset.js';
import type { Fused } from './fusion.js';
import { planMemory, type Call, type MemoryPlan, type VBuf } from './liveness.js';
import { Lowering } from './lowering.js';
import type { Mode, Value } from './op.js';
import { emitGather, emitOptimizer, emitStepEnd, emitWeightPenalty } from './stages.js';

export interface PlanOptions {
  mode: Mode;
  /** Rows per step. */
  batch: number;
  data: GpuData;
  /** predict: the values to compute (default: the loss heads' outputs). */
  outputs?: readonly Value[];
}

export interface PlanStats {
  mode: Mode;
  batch: number;
  /** Dispatches one step encodes. */
  dispatchesPerStep: number;
  /** Dispatches by kernel label, in step order. */
  dispatches: string[];
  /**
   * The work of one step: the sum of what its dispatches declared (DispatchWork in
   * src/gpu/engine.ts), e.g. flops / (ms per step) / 1e6 for the step's GFLOP/s.
   */
  work: { flops: number; bytes: number };
  /** GPU buffers the plan owns (shared temporaries + the kernels' parameter uniforms and scratch). */
  buffers: number;
  /** Their bytes. */
  bytes: number;
  /** Bytes the temporaries would take without sharing by liveness. */
  unsharedTempBytes: number;
  /**
   * Bytes resident while this plan runs: the model (arenas, optimizer state, snapshots,
   * small buffers), this plan's, and the dataset's. Other plans of the same Executor (other
   * batch sizes, the partial batch, evaluate) add theirs: see Executor.memory().
   */
  residentBytes: number;
}

/** A compiled step's calls (every stage), its fusion and its outputs' buffers (predict, pinned). */
export interface Lowered {
  readonly calls: readonly Call[];
  readonly fused: Fused;
  readonly outputs: readonly VBuf[];
}

export class Plan {
  private disposed = false;

  constructor(
    readonly engine: Engine,
    readonly model: ModelArenas,
    readonly options: PlanOptions,
    readonly recording: Recording,
    readonly memory: MemoryPlan,
    /** What compiling produced: the step's calls, its fusion, and the output buffers. */
    readonly lowered: Lowered,
  ) {}

  /** Called with the number of steps each time steps are encoded (the Executor's step count). */
  onSteps: ((steps: number) => void) | undefined;

  /**
   * Encodes `steps` steps (not submitted; the executor submits per window), after one run
   * of `before` (e.g. the weight snapshot) in the same compute pass. The steps read their
   * batches at the GPU cursor, which each step advances (Executor.resetCursor() rewinds it).
   */
  encode(steps = 1, before?: Recording): void {
    if (this.disposed) throw new Error('this plan was disposed');
    this.engine.replaySequence([
      ...(before ? [{ recording: before, times: 1 }] : []),
      { recording: this.recording, times: steps },
    ]);
    this.onSteps?.(steps);
  }

  /** The physical buffer holding output i (predict plans). */
  output(i: number): GPUBuffer {
    const v = this.lowered.outputs[i];
    const b = v ? this.memory.assignment.get(v.id) : undefined;
    if (!b) throw new Error(`plan has no output ${i}`);
    return b;
  }

  stats(): PlanStats {
    const bytes = this.memory.bytes + this.recording.bytes;
    return {
      mode: this.options.mode,
      batch: this.options.batch,
      dispatchesPerStep: this.recording.dispatches.length,
      dispatches: this.recording.dispatches.map((d) => d.label),
      work: {
        flops: this.recording.dispatches.reduce((s, d) => s + (d.work?.flops ?? 0), 0),
        bytes: this.recording.dispatches.reduce((s, d) => s + (d.work?.bytes ?? 0), 0),
      },
      buffers: this.memory.buffers.length + this.recording.buffers.length,
      bytes,
      unsharedTempBytes: this.memory.unsharedBytes,
      residentBytes: this.model.bytes + bytes + this.options.data.bytes,
    };
  }

  /**
   * GPU time of each dispatch of one step (needs 'timestamp-query'). The step really runs:
   * on a training plan it is one training step.
   */
  async profile(): Promise<{ dispatches: DispatchTiming[]; totalMs: number }> {
    const p = await profile(this.engine, () => this.encode(1), {
      maxDispatches: this.recording.dispatches.length,
    });
    return { dispatches: p.dispatches, totalMs: p.totalMs };
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.recording.release();
    for (const b of this.memory.buffers) this.engine.releaseBuffer(b, true);
  }
}

export function compilePlan(engine: Engine, model: ModelArenas, options: PlanOptions): Plan {
  const { mode, batch, data } = options;
  const graph = model.graph;
  if (!Number.isSafeInteger(batch) || batch <= 0)
    throw new RangeError(`batch size ${batch} must be a positive integer`);
  if (mode === 'train' && !model.optimizer)
    throw new Error('a training plan needs a model compiled with an optimizer');
  data.check(graph, mode);
  const outputs =
    options.outputs ?? (mode === 'predict' ? uniqueOutputs(graph.losses.map((h) => h.output)) : []);
  // The step, stage by stage, as one list of calls made the same way (lowering.ts, stages.ts).
  const L = new Lowering(graph, model.lowerEnv(), batch, mode, outputs, data.weights !== undefined);
  emitGather(L, model, data);
  const outs = L.lowerGraph();
  // The penalty of the weights this step used, before the optimizer changes them.
  if (mode !== 'predict') emitWeightPenalty(L, model);
  if (mode === 'train') emitOptimizer(L, model);
  emitStepEnd(L, model);
  const calls = L.calls;
  checkTempsFit(engine, calls, mode, batch);
  const memory = planMemory(engine, calls, `${mode} b${batch}`, new Set(outs.map((v) => v.id)));
  const get = (v: VBuf): GPUBuffer | NonNullable<VBuf['fixed']> => {
    if (v.fixed) return v.fixed;
    const b = memory.assignment.get(v.id);
    if (!b) throw new Error(`internal: no buffer for "${v.label}"`);
    return b;
  };
  let recording: Recording;
  try {
    recording = engine.record(`${mode} step (batch ${batch})`, () => {
      for (const call of calls) call.encode(engine, get);
    });
  } catch (e) {
    for (const b of memory.buffers) engine.releaseBuffer(b);
    throw e;
  }
  return new Plan(engine, model, { ...options, outputs }, recording, memory, {
    calls,
    fused: L.fused,
    outputs: outs,
  });
}

/**
 * Refuses a step whose largest temporary (an activation or its gradient, [batch, units]) is
 * over maxStorageBufferBindingSize, naming it, the batch and the batch that would fit; the
 * engine's own check would name only a shared "temp" buffer and advise splitting data.
 */
function checkTempsFit(engine: Engine, calls: readonly Call[], mode: string, batch: number): void {
  const limit = engine.limits.maxStorageBufferBindingSize;
  let worst: VBuf | undefined;
  for (const c of calls)
    for (const v of [...c.reads, ...c.writes]) if (!v.fixed && v.bytes > (worst?.bytes ?? limit)) worst = v;
  if (!worst) return;
  // A temporary over the limit grows with the batch: the weight-sized ones (penalty terms,
  // gradient scratch) are no larger than the params arena, which ModelArenas checked.
  const fits = Math.floor((limit / worst.bytes) * batch);
  const advice =
    fits >= 1
      ? `use a batchSize of at most ${fits}, or a smaller layer`
      : 'use a smaller layer (fewer units)';
  throw new GPULimitError(
    `the ${mode} step with batch ${batch} needs "${worst.label}" of ${bytesText(worst.bytes)} in one ` +
      `GPU storage buffer, over this adapter's maxStorageBufferBindingSize of ${bytesText(limit)} ` +
      `on "${engine.adapter.name}"; nothing was allocated: ${advice}.`,
    'maxStorageBufferBindingSize',
    limit,
    worst.bytes,
  );
}

function uniqueOutputs(values: readonly Value[]): Value[] {
  return [...new Set(values)];
}
