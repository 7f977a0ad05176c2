/**
 * Reading a step's accumulators back without stalling the queue: a ring of staging buffers,
 * each read encoded right after the steps it covers and mapped while the GPU goes on; and
 * what the words mean: the epoch's losses and metrics (StepLogs) from the loss sums and
 * counts laid out by metric-layout.ts.
 */
import type { Engine } from '../gpu/engine.js';
import {
  aucFromHistogram,
  aucHistogramWords,
  CONFUSION_WORDS,
  f1From,
  precisionFrom,
  recallFrom,
} from '../kernels/metrics.js';
import { STATUS_WORDS } from '../kernels/step.js';
import type { ModelArenas } from './arenas.js';
import {
  isStatMetricKind,
  type Graph,
  type MetricHead,
  type StatMetricHead,
  type WeightedMetricHead,
} from './ir.js';
import { metricSource, weightedSource } from './metric-layout.js';

export interface StepLogs {
  /** Steps of this epoch done when the values were read. */
  step: number;
  /** Samples seen so far in this epoch. */
  samples: number;
  /** Weighted sum of the heads' mean losses over those samples. */
  loss: number;
  headLosses: number[];
  /** Each metric's value (by name, in the order added; repeated names get a suffix). */
  metrics: Record<string, number>;
}

const RING_SLOTS = 3;

/** The accumulator words of one read. */
export interface RawLogs {
  status: Uint32Array;
  sums: Float32Array;
  counts: Uint32Array;
  flags: number;
  labelErrors: number;
}

/** The ring of staging buffers the accumulators are copied into and mapped from. */
export class Readback {
  private readonly ring: GPUBuffer[] = [];
  private next = 0;
  private readonly busy = new Map<GPUBuffer, Promise<unknown>>();

  constructor(
    readonly engine: Engine,
    readonly model: ModelArenas,
  ) {
    try {
      for (let i = 0; i < RING_SLOTS; i++) {
        this.ring.push(
          engine.createBuffer({
            size: this.bytesPerRead,
            usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
            label: `readback ring ${i}`,
          }),
        );
      }
    } catch (e) {
      this.dispose();
      throw e;
    }
  }

  /** Bytes of the ring. */
  get bytes(): number {
    return this.ring.reduce((s, b) => s + b.size, 0);
  }

  private get bytesPerRead(): number {
    const { sums, counts } = this.model.accumulatorWords;
    // status, loss and metric sums, counts, label flags (16 bytes), label errors (16 bytes).
    return STATUS_WORDS * 4 + 4 * sums + 4 * counts + 16 + 16;
  }

  /** The next ring slot, once the read that last used it is done. */
  async nextSlot(): Promise<GPUBuffer> {
    const slot = this.ring[this.next] as GPUBuffer;
    this.next = (this.next + 1) % this.ring.length;
    await this.busy.get(slot);
    return slot;
  }

  /**
   * Encodes the copies of status, sums and counts into `slot` NOW (so they see exactly the
   * steps submitted so far) and resolves when the slot is mapped; nothing waits meanwhile.
   */
  start(slot: GPUBuffer): Promise<RawLogs> {
    const m = this.model;
    const { sums, counts } = m.accumulatorWords;
    const read = this.engine
      .readInto(
        slot,
        [
          { buffer: m.status, size: STATUS_WORDS * 4 },
          { buffer: m.lossSums, size: sums * 4 },
          { buffer: m.counts, size: counts * 4 },
          { buffer: m.labelFlags, size: 16 },
          { buffer: m.labelErrors, size: 16 },
        ],
        'logs',
      )
      .then((bytes) => {
        slot.unmap();
        const words = new Uint32Array(bytes);
        return {
          status: words.slice(0, STATUS_WORDS),
          sums: new Float32Array(bytes, STATUS_WORDS * 4, sums),
          counts: words.slice(STATUS_WORDS + sums, STATUS_WORDS + sums + counts),
          flags: words[STATUS_WORDS + sums + counts] ?? 0,
          labelErrors: words[STATUS_WORDS + sums + counts + 4] ?? 0,
        };
      });
    this.busy.set(
      slot,
      read.catch(() => undefined),
    );
    return read;
  }

  /** A read of everything submitted so far. */
  async read(): Promise<RawLogs> {
    return this.start(await this.nextSlot());
  }

  dispose(): void {
    for (const b of this.ring) this.engine.releaseBuffer(b, true);
    this.ring.length = 0;
  }
}

/**
 * The history key of each metric head, in Graph.allMetrics order: its name, with _2, _3, ...
 * for a name already taken (two outputs with 'accuracy').
 */
export function metricKeys(graph: Graph): string[] {
  const taken = new Set<string>();
  return graph.allMetrics.map((m) => {
    let name = m.name;
    for (let k = 2; taken.has(name); k++) name = `${m.name}_${k}`;
    taken.add(name);
    return name;
  });
}

/**
 * The logs of `samples` rows from a read (after its failure flags were checked); `weighted`:
 * the rows carried sample weights (else each weighs 1 in the weighted metrics).
 */
export function stepLogs(
  model: ModelArenas,
  keys: readonly string[],
  raw: RawLogs,
  step: number,
  samples: number,
  weighted = false,
): StepLogs {
  const graph = model.graph;
  const headLosses = graph.losses.map((_, i) => (raw.sums[i] ?? NaN) / samples);
  const penaltySlot = model.metricLayout.penaltySlot;
  const penalty = penaltySlot === undefined ? 0 : (raw.sums[penaltySlot] ?? NaN) / samples;
  // Keras's loss: the weighted head losses plus the regularization penalty.
  const loss = graph.losses.reduce((s, h, i) => s + h.weight * (headLosses[i] ?? NaN), penalty);
  const metrics: Record<string, number> = {};
  const weightSlot = model.metricLayout.weightSumSlot;
  const weightSum = weighted && weightSlot !== undefined ? (raw.sums[weightSlot] ?? NaN) : samples;
  graph.allMetrics.forEach((m, k) => {
    metrics[keys[k] as string] =
      'weighted' in m ? weightedValue(model, m, raw, weightSum) : metricValue(model, m, raw, samples);
  });
  return { step, samples, loss, headLosses, metrics };
}

/**
 * A metric's epoch value from the accumulators: accuracy = right / samples (per unit for
 * binary); mae, mse = Σ per-sample error / samples, rmse = √mse; precision, recall, f1
 * and auc by Keras's formulas on the epoch's counts (src/kernels/metrics.ts).
 */
function metricValue(
  model: ModelArenas,
  m: MetricHead | StatMetricHead,
  raw: RawLogs,
  samples: number,
): number {
  if (!isStatMetricKind(m.kind)) {
    const j = model.graph.metrics.indexOf(m as MetricHead);
    const denom = m.kind === 'binary' ? samples * m.output.features : samples;
    return (raw.counts[j] ?? 0) / denom;
  }
  const at = metricSource(model.metricLayout, m as StatMetricHead);
  switch (m.kind) {
    case 'mae':
    case 'mse':
      return (raw.sums[at] ?? NaN) / samples;
    case 'rmse':
      return Math.sqrt((raw.sums[at] ?? NaN) / samples);
    case 'precision':
      return precisionFrom(raw.counts.subarray(at, at + CONFUSION_WORDS));
    case 'recall':
      return recallFrom(raw.counts.subarray(at, at + CONFUSION_WORDS));
    case 'f1':
      return f1From(raw.counts.subarray(at, at + CONFUSION_WORDS));
    case 'auc':
      return aucFromHistogram(raw.counts.subarray(at, at + aucHistogramWords()));
  }
}

/** tf.math.divide_no_nan, as Keras's Mean.result() divides by Σ w: 0 where Σ w is 0. */
function divideNoNan(a: number, b: number): number {
  return b === 0 ? 0 : a / b;
}

/**
 * A weighted metric's epoch value from the accumulators (Keras's metrics given
 * sample_weight): accuracy, mae, mse = Σ w·v / Σ w, rmse = √(weighted mse); precision,
 * recall, f1 and auc by the formulas of the unweighted ones on the weighted confusion
 * counts and AUC histogram.
 */
function weightedValue(model: ModelArenas, m: WeightedMetricHead, raw: RawLogs, weightSum: number): number {
  const at = weightedSource(model.metricLayout, m);
  const total = raw.sums[at] ?? NaN;
  switch (m.kind) {
    case 'sparse':
    case 'dense':
    case 'binary':
    case 'mae':
    case 'mse':
      return divideNoNan(total, weightSum);
    case 'rmse':
      return Math.sqrt(divideNoNan(total, weightSum));
    case 'precision':
      return precisionFrom(raw.sums.subarray(at, at + CONFUSION_WORDS));
    case 'recall':
      return recallFrom(raw.sums.subarray(at, at + CONFUSION_WORDS));
    case 'f1':
      return f1From(raw.sums.subarray(at, at + CONFUSION_WORDS));
    case 'auc':
      return aucFromHistogram(raw.sums.subarray(at, at + aucHistogramWords()));
  }
}
