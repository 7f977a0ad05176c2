/**
 * What a trained MNIST model's weights look like: each first-layer unit's 784 input weights
 * as a 28×28 image (blue where a lit pixel raises the unit, red where it lowers it, scaled by
 * the unit's largest |w|), and a histogram of each Dense kernel's weights. Pure: the Predict
 * tab draws the results, and Node tests check them against their definitions.
 */

/** A weight as getWeights gives it. */
export interface NamedWeight {
  name: string;
  shape: number[];
  data: Float32Array;
}

/** Colour of v in [−1, 1]: red (−1) through white (0) to blue (+1), each channel rounded. */
export function weightColor(v: number): [number, number, number] {
  const t = Number.isFinite(v) ? Math.max(-1, Math.min(1, v)) : 0;
  const neg: [number, number, number] = [214, 39, 40];
  const pos: [number, number, number] = [31, 119, 180];
  const end = t < 0 ? neg : pos;
  const f = Math.abs(t);
  return [0, 1, 2].map((c) => Math.round(255 + ((end[c] as number) - 255) * f)) as [number, number, number];
}

/** One first-layer unit's weights as an image. */
export interface UnitImage {
  unit: number;
  /** Its largest |w| (what ±1 of the colour scale stands for). */
  maxAbs: number;
  /** RGBA, 28×28, row-major (the pixel order of MNIST's rows). */
  rgba: Uint8ClampedArray;
}

/**
 * The first `count` units of a Dense kernel with 784 inputs ([784, units], row-major: w[i][u]
 * at i·units + u) as 28×28 images; undefined if the kernel does not take 784 inputs.
 */
export function firstLayerImages(kernel: NamedWeight, count = 32): UnitImage[] | undefined {
  const [inputs, units] = kernel.shape;
  if (kernel.shape.length !== 2 || inputs !== 784 || units === undefined) return undefined;
  return Array.from({ length: Math.min(count, units) }, (_, u) => {
    let maxAbs = 0;
    for (let i = 0; i < 784; i++) maxAbs = Math.max(maxAbs, Math.abs(kernel.data[i * units + u] as number));
    const rgba = new Uint8ClampedArray(784 * 4);
    for (let i = 0; i < 784; i++) {
      const w = kernel.data[i * units + u] as number;
      const [r, g, b] = weightColor(maxAbs > 0 ? w / maxAbs : 0);
      rgba.set([r, g, b, 255], 4 * i);
    }
    return { unit: u, maxAbs, rgba };
  });
}

/** A histogram: `bins` equal bins from min to max (the last one closed), counts per bin. */
export interface Histogram {
  min: number;
  max: number;
  counts: number[];
}

/** The histogram of the finite values of `data` in `bins` bins over their range. */
export function histogram(data: ArrayLike<number>, bins = 30): Histogram {
  const { min, max } = finiteRange([data]);
  if (min > max) return { min: NaN, max: NaN, counts: new Array<number>(bins).fill(0) };
  return { min, max, counts: binCounts(data, min, (max - min) / bins, bins) };
}

/** The smallest and largest finite value over `arrays` (min > max when there is none). */
function finiteRange(arrays: readonly ArrayLike<number>[]): { min: number; max: number } {
  let min = Infinity;
  let max = -Infinity;
  for (const data of arrays) {
    for (let i = 0; i < data.length; i++) {
      const v = data[i] as number;
      if (!Number.isFinite(v)) continue;
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
  }
  return { min, max };
}

/** Counts of the finite values of `data` in `bins` bins of `width` from `min` (the last one closed). */
function binCounts(data: ArrayLike<number>, min: number, width: number, bins: number): number[] {
  const counts = new Array<number>(bins).fill(0);
  for (let i = 0; i < data.length; i++) {
    const v = data[i] as number;
    if (!Number.isFinite(v)) continue;
    const b = width > 0 ? Math.min(bins - 1, Math.floor((v - min) / width)) : 0;
    counts[b] = (counts[b] as number) + 1;
  }
  return counts;
}

/** The Dense kernels (2-D weights named ".../kernel") of a model's weights, in order. */
export function kernels(weights: readonly NamedWeight[]): NamedWeight[] {
  return weights.filter((w) => w.shape.length === 2 && w.name.endsWith('/kernel'));
}

/** One kernel's (or layer's) values at each recorded epoch, binned on shared edges so that epochs compare. */
export interface KernelEpochs {
  name: string;
  /** The bin centres. */
  centres: number[];
  /** counts[e]: the histogram of snapshot e (epoch 0 = before training). */
  counts: number[][];
}

/**
 * Histograms of each named array across snapshots (the names of the first one, looked up by
 * name in the others), `bins` bins over the range all snapshots of that name span: the exact
 * binning, which EpochHistograms approximates without keeping the arrays.
 */
export function histogramsByEpoch(
  snapshots: readonly (readonly { name: string; data: ArrayLike<number> }[])[],
  bins = 30,
): KernelEpochs[] {
  const first = snapshots[0];
  if (!first) return [];
  return first.map((k) => {
    const series = snapshots.map((snap) => snap.find((w) => w.name === k.name)?.data ?? new Float32Array());
    const { min, max } = finiteRange(series);
    if (min > max) return { name: k.name, centres: [], counts: series.map(() => []) };
    const width = (max - min) / bins || 1;
    const centres = Array.from({ length: bins }, (_, i) => min + (i + 0.5) * width);
    const counts = series.map((data) => binCounts(data, min, width, bins));
    return { name: k.name, centres, counts };
  });
}

/** Fine bins an EpochHistograms keeps of each array per snapshot. */
export const FINE_BINS = 2048;

/**
 * Histograms by epoch without keeping the arrays: each snapshot's values are counted at once
 * in FINE_BINS bins over that array's own range, and `histograms()` re-bins those counts onto
 * `bins` shared edges over the range of every snapshot (each fine bin to the coarse bin of
 * its centre). So the memory per epoch is a few kB per array, not the array (2.7 MB an epoch
 * for the weights of a 512-512 MLP); every value is still counted once, and a value lands at
 * most half a fine bin (1/4096 of its snapshot's range) away from where histogramsByEpoch
 * would put it.
 */
export class EpochHistograms {
  private readonly names: string[] = [];
  private readonly fine = new Map<string, { min: number; max: number; counts: Uint32Array }[]>();

  /** Counts one snapshot (arrays by name; a name the first snapshot lacks is left out). */
  add(snapshot: readonly { name: string; data: ArrayLike<number> }[]): void {
    const first = this.fine.size === 0;
    for (const { name, data } of snapshot) {
      if (first) this.names.push(name);
      const list = this.fine.get(name) ?? (first ? [] : undefined);
      if (!list) continue;
      // No finite value: NaN bounds and zero counts, which histograms() passes over.
      const h = histogram(data, FINE_BINS);
      list.push({ min: h.min, max: h.max, counts: Uint32Array.from(h.counts) });
      this.fine.set(name, list);
    }
  }

  /** Each array's histogram per snapshot on `bins` shared edges (as histogramsByEpoch). */
  histograms(bins = 30): KernelEpochs[] {
    return this.names.map((name) => {
      const list = this.fine.get(name) ?? [];
      const valid = list.filter((f) => f.min <= f.max);
      const min = Math.min(...valid.map((f) => f.min));
      const max = Math.max(...valid.map((f) => f.max));
      if (!(min <= max)) return { name, centres: [], counts: list.map(() => []) };
      const width = (max - min) / bins || 1;
      const centres = Array.from({ length: bins }, (_, i) => min + (i + 0.5) * width);
      const counts = list.map((f) => {
        const out = new Array<number>(bins).fill(0);
        const fineWidth = (f.max - f.min) / FINE_BINS;
        f.counts.forEach((n, i) => {
          if (n === 0) return;
          const centre = f.max > f.min ? f.min + (i + 0.5) * fineWidth : f.min;
          const b = Math.max(0, Math.min(bins - 1, Math.floor((centre - min) / width)));
          out[b] = (out[b] as number) + n;
        });
        return out;
      });
      return { name, centres, counts };
    });
  }
}
