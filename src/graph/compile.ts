/**
 * A Plan: one step of a model for one batch size and mode, compiled once. Compiling lowers
 * the fused graph to kernel calls, adds the batch gather in front and the optimizer and the
 * step bookkeeping behind, plans the temporaries' memory, and records every dispatch with
 * its pipeline and bind group. Running N steps is then N replays of the same recording:
 * no buffer, bind group or pipeline is created, nothing is read back.
 */
import type { Engine, Recording } from '../gpu/engine.js';
import { profile, type DispatchTiming } from '../gpu/profiler.js';
import { encodeGatherBatch, encodeGatherLabels } from '../kernels/gather.js';
import { encodePenaltyTerms, encodeStepEnd } from '../kernels/step.js';
import { encodeAccumulateSum } from '../kernels/reduce.js';
import { encodeOptimizerAdvance, encodeOptimizerUpdate } from '../kernels/optim.js';
import type { Mode } from './fusion.js';
import type { Value } from './ir.js';
import { lower, type Lowered } from './lowering.js';
import type { ModelArenas } from './arenas.js';
import { planMemory, type Call, type MemoryPlan, type VBuf } from './liveness.js';
import type { DataColumn, GpuData } from './dataset.js';

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

export class Plan {
  private disposed = false;

  constructor(
    readonly engine: Engine,
    readonly model: ModelArenas,
    readonly options: PlanOptions,
    readonly recording: Recording,
    readonly memory: MemoryPlan,
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
  const env = {
    param: (p: Parameters<ModelArenas['param']>[0]) => model.param(p),
    grad: (p: Parameters<ModelArenas['grad']>[0]) => model.grad(p),
    status: model.whole(model.status),
    lossSums: model.whole(model.lossSums),
    counts: model.whole(model.counts),
    labelFlags: model.whole(model.labelFlags),
    ...(model.metricLayout.penaltySlot !== undefined ? { penaltySlot: model.metricLayout.penaltySlot } : {}),
  };
  const lowered = lower(graph, env, batch, mode, outputs);
  const calls: Call[] = [...gatherCalls(model, data, lowered, batch), ...lowered.calls];
  // The penalty of the weights this step used, before the optimizer changes them.
  if (mode !== 'predict') calls.push(...penaltyCalls(model, batch));
  if (mode === 'train' && model.trainable.length > 0) calls.push(...optimizerCalls(model));
  const acc = env.lossSums;
  const status = env.status;
  const cursor = model.whole(model.cursor);
  // Only training watches for a non-finite loss (there is a step to undo); evaluate
  // reports a NaN loss as its result, as Keras does.
  const slots = mode === 'train' ? graph.losses.length : 0;
  calls.push({
    label: 'step end',
    reads: [acc],
    writes: [status, cursor],
    encode: (e, get) =>
      encodeStepEnd(
        e,
        { slots, batch, countStep: mode === 'train' },
        { acc: get(acc), status: get(status), cursor: get(cursor) },
      ),
  });
  const memory = planMemory(engine, calls, `${mode} b${batch}`, new Set(lowered.outputs.map((v) => v.id)));
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
  return new Plan(engine, model, { ...options, outputs }, recording, memory, lowered);
}

function uniqueOutputs(values: readonly Value[]): Value[] {
  return [...new Set(values)];
}

function gatherCalls(model: ModelArenas, data: GpuData, lowered: Lowered, batch: number): Call[] {
  const calls: Call[] = [];
  const perm = model.whole(data.perm);
  const cursor = model.whole(model.cursor);
  /** Rows of a u8/f32 column (split over parts, scaled) into out [batch, width] f32. */
  const gatherRows = (col: DataColumn, out: VBuf, label: string): void => {
    const parts = col.parts.map((p) => model.whole(p));
    const spec = {
      batch,
      features: col.width,
      source: col.source === 'u8' ? ('u8' as const) : ('f32' as const),
      scale: col.scale,
      offset: col.offset,
      rowsPerPart: col.rowsPerPart,
      rows: data.rows,
    };
    calls.push({
      label,
      reads: [...parts, perm, cursor],
      writes: [out],
      encode: (e, get) =>
        encodeGatherBatch(e, spec, {
          parts: parts.map((p) => get(p)),
          perm: get(perm),
          permLength: data.rows,
          cursor: get(cursor),
          out: get(out),
        }),
    });
  };
  lowered.inputs.forEach((out, i) => {
    const col = data.inputs[i];
    if (!col) throw new Error(`internal: data has no input column ${i}`);
    gatherRows(col, out, `gather input ${i}`);
  });
  lowered.targets.forEach((t, i) => {
    const col = data.targets[i];
    if (!col) throw new Error(`internal: data has no target column ${i}`);
    if (t.format === 'f32' && (col.source === 'u8' || col.source === 'f32')) {
      gatherRows(col, t.buf, `gather target ${i}`); // may be split over bindings, like inputs
      return;
    }
    if (col.parts.length !== 1) {
      throw new RangeError(
        `target column ${i}: class ids split over ${col.parts.length} buffers are not supported`,
      );
    }
    const src = model.whole(col.parts[0] as GPUBuffer);
    const errors = model.whole(model.labelErrors);
    const labels =
      t.format === 'f32'
        ? { source: col.source, width: col.width, out: 'f32' as const }
        : { source: col.source, width: 1, out: t.format, classes: classesOf(model, i) };
    calls.push({
      label: `gather target ${i}`,
      reads: [src, perm, cursor],
      writes: [t.buf, ...(t.format === 'f32' ? [] : [errors])],
      encode: (e, get) =>
        encodeGatherLabels(
          e,
          { batch, rows: data.rows, labels },
          {
            labelSource: get(src),
            perm: get(perm),
            permLength: data.rows,
            cursor: get(cursor),
            labelsOut: get(t.buf),
            ...(t.format === 'f32' ? {} : { labelErrors: get(errors) }),
          },
        ),
    });
  });
  return calls;
}

function classesOf(model: ModelArenas, head: number): number {
  const h = model.graph.losses[head];
  if (!h) throw new Error(`internal: no loss head ${head}`);
  return h.output.features;
}

/** rows · Σ (l1·|w| + l2·w²) over the regularized weights, added to the penalty slot. */
function penaltyCalls(model: ModelArenas, batch: number): Call[] {
  const slot = model.metricLayout.penaltySlot;
  const weights = model.trainable.some((p) => p.l1 > 0 || p.l2 > 0);
  if (slot === undefined || !weights || !model.segmentTable) return [];
  const params = model.whole(model.params);
  const table = model.whole(model.segmentTable);
  const sums = model.whole(model.lossSums);
  const total = model.totalLength;
  const terms: VBuf = { id: -2_000_000, bytes: total * 4, label: 'penalty terms' };
  return [
    {
      label: 'penalty terms',
      reads: [params, table],
      writes: [terms],
      encode: (e, get) =>
        encodePenaltyTerms(
          e,
          { total, rows: batch },
          { params: get(params), table: get(table), terms: get(terms) },
        ),
    },
    {
      label: 'penalty sum',
      reads: [terms, sums],
      writes: [sums],
      encode: (e, get) => encodeAccumulateSum(e, get(terms), total, get(sums), slot, 'penalty_sum'),
    },
  ];
}

function optimizerCalls(model: ModelArenas): Call[] {
  const opt = model.optimizer;
  if (!opt || !model.hyper || !model.segmentTable) return [];
  const hyper = model.whole(model.hyper);
  const params = model.whole(model.params);
  const grads = model.whole(model.grads);
  const state = model.optState.map((b) => model.whole(b));
  const table = model.whole(model.segmentTable);
  return [
    {
      label: 'optimizer advance',
      reads: [hyper],
      writes: [hyper],
      encode: (e, get) => encodeOptimizerAdvance(e, opt.spec, get(hyper)),
    },
    {
      label: 'optimizer update',
      reads: [grads, hyper, table],
      writes: [params, ...state],
      encode: (e, get) =>
        encodeOptimizerUpdate(
          e,
          opt.spec,
          model.segments,
          {
            params: get(params),
            grads: get(grads),
            state: state.map((s) => get(s)),
            hyper: get(hyper),
            segmentTable: get(table),
          },
          model.totalLength,
        ),
    },
  ];
}
