/**
 * Inside the network while it trains: each hidden layer's activations and each Dense kernel's
 * gradient, on a fixed probe of validation rows, before training and at every epoch's end,
 * as histograms that compare across epochs. Read from the GPU between epochs, where the
 * library lets a callback call predict and computeGradients on the fitting model: training
 * itself is not changed, and the GPU work of its epochs is not slowed (each reading adds a
 * weight read, a 128-row prediction and a 128-row gradient between epochs).
 *
 * Activations come from a model of the trained model's hidden outputs (Keras's
 * `Model(inputs, [layer.output ...])`), which shares its weights. Gradients are binned as
 * log₁₀|∂L/∂w| on fixed edges, the scale on which vanishing gradients show: a layer whose
 * histogram sits decades to the left of the others learns that much more slowly.
 */
import { model, type GpuData, type Layer, type LayersModel, type Prediction } from '../../src/index.js';
import { EpochHistograms, kernels, type KernelEpochs } from './weights-view.js';

/** The probe: this many validation rows (the first ones). */
export const PROBE_ROWS = 128;

/** log₁₀|g| bins: from 1e-10 (everything smaller, zero included, in the first) to 10. */
export const LOG_GRADIENT_RANGE: readonly [number, number] = [-10, 1];
export const LOG_GRADIENT_BINS = 44;

/**
 * The layers whose outputs are the hidden activations: each hidden Dense with its own
 * activation, or the Activation layer after a Dense (batch-norm models); not the output layer.
 */
export function activationLayers(layers: readonly Layer[]): Layer[] {
  return layers.slice(0, -1).filter((l) => {
    if (l.className === 'Activation') return true;
    return l.className === 'Dense' && (l.getConfig().activation ?? 'linear') !== 'linear';
  });
}

/**
 * Counts of log₁₀|v| for the finite values of `data` in LOG_GRADIENT_BINS equal bins over
 * LOG_GRADIENT_RANGE (below it: the first bin, zero included; above: the last).
 */
export function logMagnitudeCounts(data: ArrayLike<number>): number[] {
  const [lo, hi] = LOG_GRADIENT_RANGE;
  const bins = LOG_GRADIENT_BINS;
  const width = (hi - lo) / bins;
  const counts = new Array<number>(bins).fill(0);
  for (let i = 0; i < data.length; i++) {
    const v = Math.abs(data[i] as number);
    if (!Number.isFinite(v)) continue;
    const e = v > 0 ? Math.log10(v) : -Infinity;
    const b = Math.max(0, Math.min(bins - 1, Math.floor((e - lo) / width)));
    counts[b] = (counts[b] as number) + 1;
  }
  return counts;
}

/** The centres of the log₁₀|g| bins. */
export function logMagnitudeCentres(): number[] {
  const [lo, hi] = LOG_GRADIENT_RANGE;
  const width = (hi - lo) / LOG_GRADIENT_BINS;
  return Array.from({ length: LOG_GRADIENT_BINS }, (_, i) => lo + (i + 0.5) * width);
}

/**
 * Watches a model through one fit: `record()` before it, and `callback` in fit's callbacks,
 * reads the activations and kernel gradients on `probe` (rows with their labels) each time.
 * Keeps counts only (EpochHistograms for the activations, fixed log bins for the gradients). `dispose()` frees the activations model (the probe is the caller's).
 */
export class InsideWatch {
  private readonly features: LayersModel | undefined;
  private readonly names: string[];
  private readonly activationCounts = new EpochHistograms();
  private readonly gradientCounts = new Map<string, number[][]>();

  constructor(
    private readonly trained: LayersModel,
    private readonly probe: GpuData,
  ) {
    const hidden = activationLayers(trained.layers);
    this.names = hidden.map((l) => l.name);
    this.features =
      hidden.length > 0 ? model({ inputs: trained.inputs, outputs: hidden.map((l) => l.output) }) : undefined;
  }

  /** For fit's callbacks: a reading at each epoch's end. */
  readonly callback = {
    onEpochEnd: async (): Promise<void> => {
      await this.record();
    },
  };

  /** Takes one reading (before training; the callback takes the others). */
  async record(): Promise<void> {
    if (this.features) {
      const out = await this.features.predict(this.probe, { batchSize: this.probe.rows });
      const list: Prediction[] = Array.isArray(out) ? out : [out];
      this.activationCounts.add(list.map((p, i) => ({ name: this.names[i] ?? `output ${i}`, data: p.data })));
    }
    const grads = kernels(await this.trained.computeGradients(this.probe));
    for (const g of grads) {
      const series = this.gradientCounts.get(g.name) ?? [];
      series.push(logMagnitudeCounts(g.data));
      this.gradientCounts.set(g.name, series);
    }
  }

  /** Each hidden layer's activations per reading, on bins shared by all readings. */
  activations(bins = 30): KernelEpochs[] {
    return this.activationCounts.histograms(bins);
  }

  /** Each Dense kernel's log₁₀|gradient| per reading (LOG_GRADIENT_RANGE). */
  gradients(): KernelEpochs[] {
    const centres = logMagnitudeCentres();
    return [...this.gradientCounts].map(([name, counts]) => ({ name, centres, counts }));
  }

  async dispose(): Promise<void> {
    await this.features?.dispose();
  }
}
