/**
 * Where a step's loss and metric accumulators live: the words of the model's lossSums (f32)
 * and counts (u32) buffers. The lowering writes them (heads.ts) and the executor reads them
 * back (readback.ts); both take the layout from here, a function of the graph alone.
 */
import { aucHistogramWords, CONFUSION_WORDS, type RowErrorKind } from '../kernels/metrics.js';
import type { Graph, MetricKind, StatMetricHead, WeightedMetricHead } from './ir.js';

/**
 * What a weighted metric's numerator sums per row (times the row's weight): an accuracy
 * flavour's per-sample accuracy, a row error, the four confusion cells (4 slots), or the
 * AUC bucket histogram (aucHistogramWords() slots).
 */
export type WeightedValue = MetricKind | 'abs' | 'squared' | 'confusion' | 'auc';

/** lossSums words of a weighted value. */
export function weightedWords(value: WeightedValue): number {
  return value === 'confusion' ? CONFUSION_WORDS : value === 'auc' ? aucHistogramWords() : 1;
}

/** The per-row value behind a weighted metric of this kind. */
export function weightedValueOf(m: WeightedMetricHead): WeightedValue {
  switch (m.kind) {
    case 'mae':
      return 'abs';
    case 'mse':
    case 'rmse':
      return 'squared';
    case 'precision':
    case 'recall':
    case 'f1':
      return 'confusion';
    default:
      return m.kind;
  }
}

/**
 * Where the non-accuracy metrics accumulate. f32 sums follow the loss sums in `lossSums`
 * (one word per loss head and row-error kind, shared by mae / mse / rmse of that head); u32
 * counts follow the accuracy counts in `counts`: per loss head with precision, recall or f1
 * one confusion block (TP, FP, FN, TN), per loss head with auc one AUC histogram. Indices
 * are absolute word indices in those buffers. A graph without such metrics adds nothing.
 */
export interface MetricLayout {
  sums: { lossIndex: number; kind: RowErrorKind; slot: number }[];
  confusion: { lossIndex: number; offset: number }[];
  auc: { lossIndex: number; offset: number }[];
  /**
   * The lossSums slot of the regularization penalty (Σ over steps of rows · Σ l1|w| + l2·w²,
   * the loss Keras reports adds it); absent when no weight has a regularizer.
   */
  penaltySlot?: number;
  /**
   * Weighted metrics (after the penalty): per loss head and WeightedValue one lossSums slot
   * (confusion: 4, TP FP FN TN; auc: the histogram) of Σ w·v over the epoch's rows, shared
   * by the metrics that read it; and `weightSumSlot`, Σ w over the rows of weighted data
   * (data without weights leaves it alone: its Σ w is the row count). Absent without
   * weighted metrics.
   */
  weighted: { lossIndex: number; value: WeightedValue; slot: number }[];
  weightSumSlot?: number;
  /** Words of lossSums and of counts in all. */
  sumWords: number;
  countWords: number;
}

export function metricLayout(graph: Graph): MetricLayout {
  const layout: MetricLayout = {
    sums: [],
    confusion: [],
    auc: [],
    weighted: [],
    sumWords: 0,
    countWords: 0,
  };
  let sumWords = graph.losses.length;
  let countWords = graph.metrics.length;
  for (const m of graph.statMetrics) {
    const { lossIndex } = m;
    if (m.kind === 'mae' || m.kind === 'mse' || m.kind === 'rmse') {
      const kind: RowErrorKind = m.kind === 'mae' ? 'abs' : 'squared';
      if (!layout.sums.some((s) => s.lossIndex === lossIndex && s.kind === kind))
        layout.sums.push({ lossIndex, kind, slot: sumWords++ });
    } else if (m.kind === 'auc') {
      if (!layout.auc.some((a) => a.lossIndex === lossIndex)) {
        layout.auc.push({ lossIndex, offset: countWords });
        countWords += aucHistogramWords();
      }
    } else if (!layout.confusion.some((c) => c.lossIndex === lossIndex)) {
      layout.confusion.push({ lossIndex, offset: countWords });
      countWords += CONFUSION_WORDS;
    }
  }
  const regularized =
    graph.params.some((p) => p.trainable && (p.l1 > 0 || p.l2 > 0)) ||
    graph.values.some((v) => v.node.penalized);
  if (regularized) layout.penaltySlot = sumWords++;
  for (const m of graph.weightedMetrics) {
    const { lossIndex } = m;
    const value = weightedValueOf(m);
    if (layout.weighted.some((w) => w.lossIndex === lossIndex && w.value === value)) continue;
    layout.weighted.push({ lossIndex, value, slot: sumWords });
    sumWords += weightedWords(value);
  }
  if (graph.weightedMetrics.length > 0) layout.weightSumSlot = sumWords++;
  layout.sumWords = sumWords;
  layout.countWords = countWords;
  return layout;
}

/** The slot (lossSums) or offset (counts) a stat metric reads in `layout`. */
export function metricSource(layout: MetricLayout, m: StatMetricHead): number {
  const found =
    m.kind === 'mae' || m.kind === 'mse' || m.kind === 'rmse'
      ? layout.sums.find(
          (s) => s.lossIndex === m.lossIndex && s.kind === (m.kind === 'mae' ? 'abs' : 'squared'),
        )?.slot
      : m.kind === 'auc'
        ? layout.auc.find((a) => a.lossIndex === m.lossIndex)?.offset
        : layout.confusion.find((c) => c.lossIndex === m.lossIndex)?.offset;
  if (found === undefined) throw new Error(`internal: metric ${m.name} has no accumulator`);
  return found;
}

/** The first lossSums slot a weighted metric reads in `layout`. */
export function weightedSource(layout: MetricLayout, m: WeightedMetricHead): number {
  const value = weightedValueOf(m);
  const found = layout.weighted.find((w) => w.lossIndex === m.lossIndex && w.value === value)?.slot;
  if (found === undefined) throw new Error(`internal: weighted metric ${m.name} has no accumulator`);
  return found;
}
