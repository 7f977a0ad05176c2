/**
 * The stages of a compiled step around the graph's own calls, emitted through the same
 * Lowering (so the same idiom and the same buffer ids as every other call):
 *   gather      the batch's input rows and targets, from the dataset at the GPU cursor;
 *   penalty     rows · Σ (l1·|w| + l2·w²) of the regularized weights, into the penalty slot;
 *   optimizer   the step counter's advance, then ONE update of every parameter segment,
 *               which records a non-finite parameter or state value it writes (with
 *               clipnorm or global_clipnorm, one dispatch of the gradients' norms before);
 *   step end    the bookkeeping: the first non-finite loss, the step count, the cursor.
 */
import type { Bindable } from '../gpu/engine.js';
import type { DataColumn, GpuData } from './dataset.js';
import { encodeGatherBatch, encodeGatherLabels, type GatherLabels } from '../kernels/gather.js';
import {
  encodeOptimizerAdvance,
  encodeOptimizerNorms,
  encodeOptimizerUpdate,
  optimizerNeedsNorms,
  optimizerNormsBytes,
} from '../kernels/optim.js';
import { encodeAccumulateSum } from '../kernels/reduce.js';
import { encodePenaltyTerms, encodeStepEnd } from '../kernels/step.js';
import type { ModelArenas } from './arenas.js';
import type { VBuf } from './liveness.js';
import type { Lowering } from './lowering.js';

/**
 * Gathers every input column, the sample weights (of weighted data) and every loss
 * head's targets into the step's batch buffers. The class ids of the first target ride in
 * the first input's dispatch where that input is one buffer (one dispatch fewer).
 */
export function emitGather(L: Lowering, model: ModelArenas, data: GpuData): void {
  const batch = L.rows;
  const perm = model.whole(data.perm);
  const cursor = model.whole(model.cursor);
  const errors = model.whole(model.labelErrors);
  /** A target gathered as labels (class ids, or f32 values of a label buffer). */
  interface LabelTarget {
    src: VBuf;
    out: VBuf;
    labels: GatherLabels;
    dense: boolean;
  }
  const labelTargets = L.targets.map((t, i): LabelTarget | undefined => {
    const col = data.targets[i];
    if (!col) throw new Error(`internal: data has no target column ${i}`);
    if (t.format === 'f32' && (col.source === 'u8' || col.source === 'f32')) return undefined;
    if (col.parts.length !== 1) {
      throw new RangeError(
        `target column ${i}: class ids split over ${col.parts.length} buffers are not supported`,
      );
    }
    const head = L.graph.losses[i];
    if (!head) throw new Error(`internal: no loss head ${i}`);
    const classes = head.output.features;
    const dense = t.format === 'f32';
    const labels: GatherLabels = dense
      ? { source: col.source, width: col.width, out: 'f32' }
      : { source: col.source, width: 1, out: t.format, classes };
    return { src: model.whole(col.parts[0] as Bindable), out: t.buf, labels, dense };
  });
  const label = (lt: LabelTarget, get: (v: VBuf) => Bindable) => ({
    labelSource: get(lt.src),
    labelsOut: get(lt.out),
    ...(lt.dense ? {} : { labelErrors: get(errors) }),
  });
  const labelWrites = (lt: LabelTarget): (VBuf | undefined)[] => [lt.out, lt.dense ? undefined : errors];
  const first = labelTargets[0];
  const input0 = data.inputs[0];
  const fold = first !== undefined && input0?.parts.length === 1 ? first : undefined;
  /** Rows of a u8/f32 column (split over parts, scaled) into out [batch, width] f32. */
  const gatherRows = (col: DataColumn, out: VBuf, what: string, with_?: LabelTarget): void => {
    const parts = col.parts.map((p) => model.whole(p));
    const spec = {
      batch,
      features: col.width,
      source: col.source === 'u8' ? ('u8' as const) : ('f32' as const),
      scale: col.scale,
      offset: col.offset,
      rowsPerPart: col.rowsPerPart,
      rows: data.sourceRows,
      ...(with_ ? { labels: with_.labels } : {}),
    };
    const reads = [...parts, perm, cursor, ...(with_ ? [with_.src] : [])];
    L.emit(what, reads, [out, ...(with_ ? labelWrites(with_) : [])], (e, get) =>
      encodeGatherBatch(e, spec, {
        parts: parts.map((p) => get(p)),
        perm: get(perm),
        permLength: data.rows,
        cursor: get(cursor),
        out: get(out),
        ...(with_ ? label(with_, get) : {}),
      }),
    );
  };
  L.inputs.forEach((out, i) => {
    const col = data.inputs[i];
    if (!col) throw new Error(`internal: data has no input column ${i}`);
    if (i === 0 && fold) gatherRows(col, out, 'gather input 0 and target 0', fold);
    else gatherRows(col, out, `gather input ${i}`);
  });
  if (L.weights) {
    if (!data.weights) throw new Error('internal: data has no weights column');
    gatherRows(data.weights, L.weights, 'gather sample weights');
  }
  L.targets.forEach((t, i) => {
    const lt = labelTargets[i];
    if (!lt) {
      const col = data.targets[i];
      if (!col) throw new Error(`internal: data has no target column ${i}`);
      gatherRows(col, t.buf, `gather target ${i}`); // may be split over bindings, like inputs
      return;
    }
    if (i === 0 && fold) return;
    L.emit(`gather target ${i}`, [lt.src, perm, cursor], labelWrites(lt), (e, get) =>
      encodeGatherLabels(
        e,
        { batch, rows: data.sourceRows, labels: lt.labels },
        { perm: get(perm), permLength: data.rows, cursor: get(cursor), ...label(lt, get) },
      ),
    );
  });
}

/** rows · Σ (l1·|w| + l2·w²) over the regularized weights, added to the penalty slot. */
export function emitWeightPenalty(L: Lowering, model: ModelArenas): void {
  const slot = model.metricLayout.penaltySlot;
  const weights = model.trainable.some((p) => p.l1 > 0 || p.l2 > 0);
  if (slot === undefined || !weights || !model.segmentTable) return;
  const params = model.whole(model.params);
  const table = model.whole(model.segmentTable);
  const sums = model.whole(model.lossSums);
  const total = model.totalLength;
  const rows = L.rows;
  const terms = L.tempBytes(total * 4, 'penalty terms');
  L.emit('penalty terms', [params, table], [terms], (e, get) =>
    encodePenaltyTerms(e, { total, rows }, { params: get(params), table: get(table), terms: get(terms) }),
  );
  L.emit('penalty sum', [terms, sums], [sums], (e, get) =>
    encodeAccumulateSum(e, get(terms), total, get(sums), slot, 'penalty_sum'),
  );
}

/**
 * Advances the optimizer's step, then updates every trainable parameter in one dispatch
 * (preceded, for clipnorm or globalClipnorm, by one of the squared gradient norms into a
 * step-local buffer the plan allocates at compile time, as every temporary). The
 * update records a NaN/±Inf it writes in the status words as step `status[STEPS]`: it runs
 * before step end, which counts the step, so the executor undoes this step and not a later
 * one whose loss the overflow turned NaN.
 */
export function emitOptimizer(L: Lowering, model: ModelArenas): void {
  const opt = model.optimizer;
  if (!opt || !model.hyper || !model.segmentTable || model.trainable.length === 0) return;
  const hyper = model.whole(model.hyper);
  const params = model.whole(model.params);
  const grads = model.whole(model.grads);
  const state = model.optState.map((b) => model.whole(b));
  const table = model.whole(model.segmentTable);
  const status = model.whole(model.status);
  L.emit('optimizer advance', [hyper], [hyper], (e, get) => encodeOptimizerAdvance(e, opt.spec, get(hyper)));
  const norms = optimizerNeedsNorms(opt.spec)
    ? L.tempBytes(optimizerNormsBytes(model.segments), 'optimizer norms')
    : undefined;
  if (norms) {
    L.emit('optimizer norms', [params, grads, table], [norms], (e, get) =>
      encodeOptimizerNorms(
        e,
        model.segments,
        { params: get(params), grads: get(grads), norms: get(norms), segmentTable: get(table) },
        model.totalLength,
      ),
    );
  }
  L.emit('optimizer update', [grads, hyper, table, status, norms], [params, ...state, status], (e, get) =>
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
        status: get(status),
        ...(norms ? { norms: get(norms) } : {}),
      },
      model.totalLength,
    ),
  );
}

/**
 * The step's bookkeeping on the GPU. Only training watches for a non-finite loss (there is
 * a step to undo); evaluate reports a NaN loss as its result, as Keras does.
 */
export function emitStepEnd(L: Lowering, model: ModelArenas): void {
  const acc = model.whole(model.lossSums);
  const status = model.whole(model.status);
  const cursor = model.whole(model.cursor);
  const train = L.mode === 'train';
  const sums = L.deferredSums;
  const spec = {
    slots: train ? L.graph.losses.length : 0,
    batch: L.rows,
    countStep: train,
    sumRows: sums.length > 0 ? L.rows : 0,
  };
  L.emit('step end', [acc, ...sums], [acc, status, cursor], (e, get) =>
    encodeStepEnd(e, spec, {
      acc: get(acc),
      status: get(status),
      cursor: get(cursor),
      sums: sums.map((s) => get(s)),
    }),
  );
}
