/**
 * The heads of a step: each loss head's per-row loss and the gradient it seeds (the fused
 * softmax + cross-entropy on logits where fusion chose it, else the generic loss kernel),
 * summed into its lossSums slot; accuracy counts; the other metrics (MetricLayout); and the
 * weighted metrics (Keras's weighted_metrics).
 */
import type { Bindable } from '../gpu/engine.js';
import { encodeSoftmax } from '../kernels/activations.js';
import { encodeLoss, encodeSoftmaxCrossEntropy, encodeWeightRows } from '../kernels/losses.js';
import {
  encodeAucHistogram,
  encodeAucRows,
  encodeConfusion,
  encodeConfusionRows,
  encodeRowError,
} from '../kernels/metrics.js';
import {
  encodeAccumulateSum,
  encodeAccumulateSums,
  encodeCorrectCount,
  encodeRowCorrect,
  type CorrectCountKind,
} from '../kernels/reduce.js';
import { logitsFor, type Fused } from './fusion.js';
import type { Graph, LossHead } from './ir.js';
import type { VBuf } from './liveness.js';
import { metricLayout, weightedWords, type MetricLayout } from './metric-layout.js';
import type { LowerContext } from './op.js';

/** How a loss head's targets are gathered for the kernels that read them. */
export type TargetFormat = 'u32' | 'onehot' | 'f32';

export interface LoweredTarget {
  buf: VBuf;
  format: TargetFormat;
  width: number;
}

/** The lowering walker as the heads see it (lowering.ts's Lowering). */
export interface HeadsContext extends LowerContext {
  readonly graph: Graph;
  readonly fused: Fused;
  /** Per loss head: its gathered targets. */
  readonly targets: readonly LoweredTarget[];
  /** Weighted data (train/evaluate): the batch's sample weights [rows]. */
  readonly weights: VBuf | undefined;
  /**
   * Leaves the sum of loss head `slot`'s per-row losses into its lossSums slot to the step
   * end, one dispatch fewer (see encodeStepEnd); false where it cannot (too many rows or
   * heads): then the head sums them itself.
   */
  deferLossSum(slot: number, rows: VBuf): boolean;
}

/**
 * The loss heads (per-row loss, its gradient, with sample weights both scaled by the row's
 * weight, then the sum), then the metric heads (never weighted, as Keras's `metrics`), then
 * the weighted metric heads (Keras's `weighted_metrics`).
 */
export function lowerHeads(L: HeadsContext): void {
  const { graph, fused, rows, env, targets, weights } = L;
  // Per fused softmax head: the first accuracy metric on its logits, counted by the loss's own
  // kernel (the same rules and count as the accuracy kernel, one dispatch fewer).
  const countedBy = new Map<number, number>();
  graph.metrics.forEach((m, j) => {
    const logits = fused.softmaxLogits.get(m.lossIndex);
    const same = logits !== undefined && logitsFor(m.output, graph.losses, fused.softmaxLogits) === logits;
    if (m.kind !== 'binary' && same && !countedBy.has(m.lossIndex)) countedBy.set(m.lossIndex, j);
  });
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
        const slot = countedBy.get(i);
        const spec = {
          rows,
          classes: f,
          labels: h.target,
          gradScale,
          ...(slot !== undefined ? { countCorrect: { slot } } : {}),
        };
        const { labelFlags: flags, counts } = env;
        const written = slot !== undefined ? [rowLoss, d, flags, counts] : [rowLoss, d, flags];
        L.emit(`loss ${i} softmax_xent`, [p, t, ...(slot !== undefined ? [counts] : [])], written, (e, get) =>
          encodeSoftmaxCrossEntropy(e, spec, {
            logits: get(p),
            labels: get(t),
            loss: get(rowLoss),
            dlogits: get(d),
            flags: get(flags),
            ...(slot !== undefined ? { counts: get(counts) } : {}),
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
      // Σ w·l / rows after the sum below: Keras's 'sum_over_batch_size' of weighted losses.
      if (weights) {
        L.emit(`loss ${i} sample weights`, [weights, rowLoss, d], [rowLoss, d], (e, get) =>
          encodeWeightRows(
            e,
            { rows, cols: f },
            { weights: get(weights), loss: get(rowLoss), dpred: get(d) },
          ),
        );
      }
    };
    if (train) L.contribute(pred, false, emitLoss);
    else emitLoss(L.temp(f, `loss ${i} gradient (unused)`));
    if (L.deferLossSum(i, rowLoss)) return;
    const sums = env.lossSums;
    L.emit(`loss ${i} sum`, [rowLoss, sums], [sums], (e, get) =>
      encodeAccumulateSum(e, get(rowLoss), rows, get(sums), i, `loss_${i}_sum`),
    );
  });
  graph.metrics.forEach((m, j) => {
    if (countedBy.get(m.lossIndex) === j) return; // counted by the loss kernel above
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
  // A function of the graph alone: the arenas sized lossSums and counts from the same.
  const layout = metricLayout(graph);
  const inputs = metricInputs(L);
  lowerStatMetrics(L, layout, inputs);
  lowerWeightedMetrics(L, layout, inputs);
}

/** What the stat and weighted metrics of a loss head read (see metricInputs). */
interface MetricInputs {
  /** The head's output (its probabilities: softmax run once where the loss was fused). */
  predOf: (lossIndex: number) => VBuf;
  /** The head's f32 targets. */
  targetOf: (lossIndex: number) => VBuf;
  cols: (lossIndex: number) => number;
}

/**
 * The metrics' inputs per loss head. They read the head's output; where the softmax was
 * fused into the loss (so only the logits exist), a softmax is run first, once per head.
 */
function metricInputs(L: HeadsContext): MetricInputs {
  const { graph, fused, rows, targets } = L;
  const probs = new Map<number, VBuf>();
  return {
    predOf: (lossIndex) => {
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
    },
    targetOf: (lossIndex) => {
      const t = targets[lossIndex];
      if (t?.format !== 'f32') throw new Error('internal: a metric needs f32 targets');
      return t.buf;
    },
    cols: (lossIndex) => (graph.losses[lossIndex] as LossHead).output.features,
  };
}

/**
 * mae / mse / rmse, precision / recall / f1 and auc (see MetricLayout): per loss head, one
 * row-error pass plus its sum into an f32 slot per error kind, one confusion count and one
 * AUC histogram, each only when a metric asks for it.
 */
function lowerStatMetrics(L: HeadsContext, layout: MetricLayout, inputs: MetricInputs): void {
  const { graph, rows, env } = L;
  if (graph.statMetrics.length === 0) return;
  const { predOf, targetOf, cols } = inputs;
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

/**
 * The weighted metrics (see MetricLayout.weighted): per loss head and per-row value, one
 * kernel writing w·v for each row (the row's accuracy, error, confusion cells or AUC
 * buckets; w = 1 for data without weights) and its sum into the value's slots; then, for
 * weighted data, Σ w into weightSumSlot. The epoch's value is Σ w·v / Σ w (readback.ts).
 */
function lowerWeightedMetrics(L: HeadsContext, layout: MetricLayout, inputs: MetricInputs): void {
  const { graph, fused, rows, env, targets, weights } = L;
  if (graph.weightedMetrics.length === 0) return;
  const { predOf, targetOf, cols } = inputs;
  const sums = env.lossSums;
  const w = weights ? [weights] : [];
  const withWeights = (get: (b: VBuf) => Bindable): { weights?: Bindable } =>
    weights ? { weights: get(weights) } : {};
  for (const { lossIndex, value, slot } of layout.weighted) {
    const f = cols(lossIndex);
    const name = `weighted metrics ${lossIndex} ${value}`;
    const cells = weightedWords(value);
    const perRow = L.temp(cells, `${name} rows`);
    if (value === 'abs' || value === 'squared') {
      const p = predOf(lossIndex);
      const t = targetOf(lossIndex);
      L.emit(name, [p, t, ...w], [perRow], (e, get) =>
        encodeRowError(
          e,
          { kind: value, rows, cols: f },
          { pred: get(p), target: get(t), out: get(perRow), ...withWeights(get) },
        ),
      );
    } else if (value === 'auc') {
      const p = predOf(lossIndex);
      const t = targetOf(lossIndex);
      L.emit(name, [p, t, ...w], [perRow], (e, get) =>
        encodeAucRows(
          e,
          { rows, cols: f },
          { pred: get(p), labels: get(t), out: get(perRow), ...withWeights(get) },
        ),
      );
    } else if (value === 'confusion') {
      const p = predOf(lossIndex);
      const t = targetOf(lossIndex);
      L.emit(name, [p, t, ...w], [perRow], (e, get) =>
        encodeConfusionRows(
          e,
          { rows, cols: f },
          { pred: get(p), labels: get(t), out: get(perRow), ...withWeights(get) },
        ),
      );
    } else {
      const target = targets[lossIndex];
      if (!target) throw new Error('internal: metric target missing');
      const h = graph.losses[lossIndex] as LossHead;
      // Argmax is the same on the logits of a fused softmax; a threshold needs probabilities.
      const p =
        value === 'binary'
          ? predOf(lossIndex)
          : L.buf(logitsFor(h.output, graph.losses, fused.softmaxLogits) ?? h.output);
      const kind: CorrectCountKind =
        value === 'binary' ? 'binary' : target.format === 'u32' ? 'sparse' : 'dense';
      const t = target.buf;
      L.emit(name, [p, t, ...w], [perRow], (e, get) =>
        encodeRowCorrect(
          e,
          { kind, rows, cols: f },
          { pred: get(p), labels: get(t), out: get(perRow), ...withWeights(get) },
        ),
      );
    }
    L.emit(`${name} sum`, [perRow, sums], [sums], (e, get) =>
      encodeAccumulateSums(
        e,
        get(perRow),
        { outer: cells, n: rows },
        get(sums),
        slot,
        `weighted_${value}_sum`,
      ),
    );
  }
  const weightSlot = layout.weightSumSlot;
  if (weights && weightSlot !== undefined) {
    L.emit('weighted metrics weight sum', [weights, sums], [sums], (e, get) =>
      encodeAccumulateSum(e, get(weights), rows, get(sums), weightSlot, 'weight_sum'),
    );
  }
}
