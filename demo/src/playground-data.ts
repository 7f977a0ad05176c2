/**
 * The Playground tab's 2-D toy problems (the intuition TensorFlow Playground gives): four
 * seeded two-class datasets of points in [−6, 6]², the input features computed from a
 * point's (x₁, x₂), and the grid of points the decision boundary is drawn from.
 * Browser-safe and Node-safe; no GPU here. The library's seeded generator (xoshiro128**)
 * draws the points, so a seed gives the same dataset everywhere.
 */
import { createRng } from '../../src/util/random.js';

export const DATASETS = ['circles', 'xor', 'gaussians', 'spirals'] as const;
export type DatasetKind = (typeof DATASETS)[number];

export const DATASET_LABELS: Readonly<Record<DatasetKind, string>> = {
  circles: 'Circles',
  xor: 'XOR',
  gaussians: 'Two Gaussians',
  spirals: 'Spirals',
};

/** Points lie in [−EXTENT, EXTENT]² (before noise); the boundary is drawn over that square. */
export const EXTENT = 6;
/** The radius the datasets use inside that square. */
const RADIUS = 5;

/** n points, row-major [n, 2], with a class 0 or 1 each. */
export interface PointSet {
  xy: Float32Array;
  labels: Uint8Array;
}

/**
 * `n` points of `kind`, half of each class (the odd one class 1), with Gaussian noise of
 * standard deviation `noise` × RADIUS added to each coordinate (noise in [0, 0.5]):
 * - circles: class 1 inside radius 2.5, class 0 on a ring from 3.5 to 5;
 * - xor: uniform in the square of side 10, class 1 where x₁·x₂ ≥ 0 (a margin of 0.3 keeps
 *   points off the axes);
 * - gaussians: class 1 around (2, 2), class 0 around (−2, −2), standard deviation 1;
 * - spirals: two interleaved arms of 1.75 turns out to radius 5, one per class.
 * The class comes from the point before noise, so noise moves points across the boundary.
 */
export function makeDataset(kind: DatasetKind, n: number, noise: number, seed: number): PointSet {
  if (!Number.isSafeInteger(n) || n < 2) throw new RangeError(`points must be a whole number ≥ 2, got ${n}`);
  if (!(noise >= 0 && noise <= 0.5)) throw new RangeError(`noise must be from 0 to 0.5, got ${noise}`);
  if (!DATASETS.includes(kind))
    throw new RangeError(`unknown dataset "${kind}" (have ${DATASETS.join(', ')})`);
  const rng = createRng(seed);
  const random = () => rng.next();
  const normal = () => rng.normal();
  const xy = new Float32Array(2 * n);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const label = i % 2;
    let x: number;
    let y: number;
    switch (kind) {
      case 'circles': {
        const r = label === 1 ? random() * 0.5 * RADIUS : (0.7 + 0.3 * random()) * RADIUS;
        const a = 2 * Math.PI * random();
        x = r * Math.cos(a);
        y = r * Math.sin(a);
        break;
      }
      case 'xor': {
        // |x₁|, |x₂| in [0.3, 5]; the signs give the quadrant, which gives the class.
        const ax = 0.3 + (RADIUS - 0.3) * random();
        const ay = 0.3 + (RADIUS - 0.3) * random();
        const sx = random() < 0.5 ? -1 : 1;
        const sy = label === 1 ? sx : -sx;
        x = sx * ax;
        y = sy * ay;
        break;
      }
      case 'gaussians': {
        const c = label === 1 ? 2 : -2;
        x = c + normal();
        y = c + normal();
        break;
      }
      case 'spirals': {
        const t = random();
        const r = t * RADIUS;
        const a = 1.75 * 2 * Math.PI * t + (label === 1 ? Math.PI : 0);
        x = r * Math.sin(a);
        y = r * Math.cos(a);
        break;
      }
    }
    xy[2 * i] = x + noise * RADIUS * normal();
    xy[2 * i + 1] = y + noise * RADIUS * normal();
    labels[i] = label;
  }
  return { xy, labels };
}

/** The rows of `set` at `rows`. */
function pick(set: PointSet, rows: readonly number[]): PointSet {
  const xy = new Float32Array(2 * rows.length);
  const labels = new Uint8Array(rows.length);
  rows.forEach((r, i) => {
    xy[2 * i] = set.xy[2 * r] as number;
    xy[2 * i + 1] = set.xy[2 * r + 1] as number;
    labels[i] = set.labels[r] as number;
  });
  return { xy, labels };
}

/** A seeded shuffle of `set` cut into train (the first `trainFraction`) and test; both non-empty. */
export function splitTrainTest(
  set: PointSet,
  trainFraction: number,
  seed: number,
): { train: PointSet; test: PointSet } {
  const n = set.labels.length;
  if (!(trainFraction > 0 && trainFraction < 1))
    throw new RangeError(`the training fraction must be between 0 and 1, got ${trainFraction}`);
  const order = Array.from({ length: n }, (_, i) => i);
  const rng = createRng(seed ^ 0x5eed);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j] as number, order[i] as number];
  }
  const cut = Math.min(n - 1, Math.max(1, Math.round(trainFraction * n)));
  return { train: pick(set, order.slice(0, cut)), test: pick(set, order.slice(cut)) };
}

/** TensorFlow Playground's input features, each a function of the point (x₁, x₂). */
export const FEATURES = {
  x1: { label: 'x₁', of: (x: number) => x },
  x2: { label: 'x₂', of: (_: number, y: number) => y },
  x1sq: { label: 'x₁²', of: (x: number) => x * x },
  x2sq: { label: 'x₂²', of: (_: number, y: number) => y * y },
  x1x2: { label: 'x₁x₂', of: (x: number, y: number) => x * y },
  sinx1: { label: 'sin x₁', of: (x: number) => Math.sin(x) },
  sinx2: { label: 'sin x₂', of: (_: number, y: number) => Math.sin(y) },
} as const satisfies Record<string, { label: string; of: (x: number, y: number) => number }>;
export type FeatureId = keyof typeof FEATURES;
export const FEATURE_IDS = Object.keys(FEATURES) as FeatureId[];

/** The feature rows [n, features.length] of the points xy [n, 2]. */
export function featureRows(xy: Float32Array, features: readonly FeatureId[]): Float32Array {
  if (features.length === 0) throw new RangeError('choose at least one input feature');
  const n = xy.length / 2;
  const out = new Float32Array(n * features.length);
  for (let i = 0; i < n; i++) {
    const x = xy[2 * i] as number;
    const y = xy[2 * i + 1] as number;
    features.forEach((f, j) => (out[i * features.length + j] = FEATURES[f].of(x, y)));
  }
  return out;
}

/**
 * The centres of a `resolution` × `resolution` grid of cells over [−EXTENT, EXTENT]², row by
 * row from the top (x₂ = +EXTENT) as a canvas is drawn: cell (row, col) is point
 * row·resolution + col, at x₁ = −EXTENT + (col + ½)·2·EXTENT/resolution and
 * x₂ = EXTENT − (row + ½)·2·EXTENT/resolution.
 */
export function gridPoints(resolution: number): Float32Array {
  const xy = new Float32Array(2 * resolution * resolution);
  const cell = (2 * EXTENT) / resolution;
  for (let row = 0; row < resolution; row++) {
    for (let col = 0; col < resolution; col++) {
      const i = row * resolution + col;
      xy[2 * i] = -EXTENT + (col + 0.5) * cell;
      xy[2 * i + 1] = EXTENT - (row + 0.5) * cell;
    }
  }
  return xy;
}
