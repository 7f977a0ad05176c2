/**
 * How the Playground draws: a diverging colour scale (class 0 orange, undecided near-white,
 * class 1 blue), the decision boundary as one canvas pixel per grid cell, and the points.
 * The colour functions are pure (the tab's test checks the canvas against them); the draw
 * functions need a 2-D canvas context.
 */
import { EXTENT, type PointSet } from './playground-data.js';

export type Rgb = readonly [number, number, number];

/** Class 0, the middle and class 1 of the scale. */
export const CLASS0: Rgb = [245, 147, 34];
export const MIDDLE: Rgb = [232, 234, 235];
export const CLASS1: Rgb = [8, 119, 189];

/** The colour of t in [0, 1] (0: class 0, ½: undecided, 1: class 1), each channel rounded; t is clamped. */
export function scaleColor(t: number): Rgb {
  const u = Number.isFinite(t) ? Math.min(1, Math.max(0, t)) : 0.5;
  const [from, to, f] = u < 0.5 ? [CLASS0, MIDDLE, u * 2] : [MIDDLE, CLASS1, (u - 0.5) * 2];
  return [0, 1, 2].map((c) =>
    Math.round((from[c] as number) + ((to[c] as number) - (from[c] as number)) * f),
  ) as unknown as Rgb;
}

/**
 * Where a hidden unit's output v falls on the scale: tanh's [−1, 1] and sigmoid's [0, 1] as
 * they are; relu and linear outputs by the largest |v| over the grid (0 in the middle).
 */
export function unitScale(v: number, activation: string, maxAbs: number): number {
  if (activation === 'tanh') return (v + 1) / 2;
  if (activation === 'sigmoid') return v;
  return maxAbs > 0 ? 0.5 + (0.5 * v) / maxAbs : 0.5;
}

/**
 * Draws values (row-major resolution², from the top row, as gridPoints orders them) into
 * `canvas` at one pixel per cell: the canvas is resized to resolution × resolution and CSS
 * scales it up.
 */
export function drawCells(
  canvas: HTMLCanvasElement,
  values: ArrayLike<number>,
  resolution: number,
  toScale: (v: number) => number,
): void {
  canvas.width = resolution;
  canvas.height = resolution;
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const image = ctx.createImageData(resolution, resolution);
  for (let i = 0; i < resolution * resolution; i++) {
    const [r, g, b] = scaleColor(toScale(values[i] as number));
    image.data[4 * i] = r;
    image.data[4 * i + 1] = g;
    image.data[4 * i + 2] = b;
    image.data[4 * i + 3] = 255;
  }
  ctx.putImageData(image, 0, 0);
}

/** Draws the points over a transparent `canvas` of `size` CSS pixels: training points white-edged, test points black-edged. */
export function drawPoints(
  canvas: HTMLCanvasElement,
  size: number,
  train: PointSet,
  test: PointSet | undefined,
): void {
  const ratio = globalThis.devicePixelRatio || 1;
  canvas.width = Math.round(size * ratio);
  canvas.height = Math.round(size * ratio);
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, size, size);
  const at = (v: number) => ((v + EXTENT) / (2 * EXTENT)) * size;
  const draw = (set: PointSet, edge: string) => {
    ctx.strokeStyle = edge;
    ctx.lineWidth = 1;
    for (let i = 0; i < set.labels.length; i++) {
      const [r, g, b] = set.labels[i] === 1 ? CLASS1 : CLASS0;
      ctx.fillStyle = `rgb(${r}, ${g}, ${b})`;
      ctx.beginPath();
      ctx.arc(at(set.xy[2 * i] as number), size - at(set.xy[2 * i + 1] as number), 3.2, 0, 2 * Math.PI);
      ctx.fill();
      ctx.stroke();
    }
  };
  draw(train, '#fff');
  if (test) draw(test, '#1d2430');
}
