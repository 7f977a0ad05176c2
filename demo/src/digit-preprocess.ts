/**
 * A drawing → the 784 inputs of an MNIST model, the way MNIST's digits were made (LeCun et
 * al.): the ink's bounding box is scaled to fit a 20×20 box keeping its aspect ratio
 * (area averaging, so thin strokes come out antialiased rather than dropped), and placed in
 * the 28×28 field so that its centre of mass is at the field's centre. Pure functions (no
 * DOM), so they are tested in Node.
 */

/** MNIST's field and the box the digit is scaled into. */
export const FIELD = 28;
export const BOX = 20;

/**
 * Ink in [0, 1] of an RGBA image drawn white on black (a canvas's getImageData): the red
 * channel / 255. `rgba`: [height, width, 4] row-major.
 */
export function inkFromRgba(rgba: ArrayLike<number>): Float32Array {
  const ink = new Float32Array(rgba.length / 4);
  for (let i = 0; i < ink.length; i++) ink[i] = (rgba[4 * i] as number) / 255;
  return ink;
}

/**
 * The 28×28 MNIST input of a drawing, row-major, values in [0, 1]; undefined when there is
 * no ink. `ink`: [height, width] row-major, values in [0, 1] (0 = background).
 *
 * Coordinates are continuous (pixel x covers [x, x + 1)). With s = 20 / max(box width,
 * box height) and (cx, cy) the ink's centre of mass, source point p maps to
 * (p − c)·s + 14, so the centre of mass lands on the field's centre (pixel index 13.5).
 * Each output pixel is the mean of the source over the square that maps onto it; the
 * average is separable, so it is done along rows, then along columns. Area averaging keeps
 * the total ink times s² (up to what falls outside the field) and the first moments, so the
 * output's centre of mass stays within a fraction of a pixel of 13.5.
 */
export function preprocessDigit(
  ink: ArrayLike<number>,
  width: number,
  height: number,
): Float32Array | undefined {
  if (ink.length !== width * height) {
    throw new RangeError(`preprocessDigit: ${ink.length} values are not a ${width}×${height} image`);
  }
  // Bounding box [x0, x1) × [y0, y1) of the ink, its mass and centre of mass.
  let x0 = width;
  let x1 = 0;
  let y0 = height;
  let y1 = 0;
  let mass = 0;
  let mx = 0;
  let my = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const v = ink[y * width + x] as number;
      if (!(v > 0)) continue;
      x0 = Math.min(x0, x);
      x1 = Math.max(x1, x + 1);
      y0 = Math.min(y0, y);
      y1 = Math.max(y1, y + 1);
      mass += v;
      mx += v * (x + 0.5);
      my += v * (y + 0.5);
    }
  }
  if (mass === 0) return undefined;
  const s = BOX / Math.max(x1 - x0, y1 - y0);
  const wx = areaWeights(mx / mass, s, x0, x1);
  const wy = areaWeights(my / mass, s, y0, y1);

  // Along rows: rows[y - y0][i] = Σ_x wx[i](x) · ink[y][x], for the box's rows.
  const rows = new Float32Array((y1 - y0) * FIELD);
  for (let y = y0; y < y1; y++) {
    const base = y * width;
    const out = (y - y0) * FIELD;
    for (let i = 0; i < FIELD; i++) {
      const w = wx[i] as Weights;
      let sum = 0;
      for (let k = 0; k < w.values.length; k++)
        sum += (w.values[k] as number) * (ink[base + w.start + k] as number);
      rows[out + i] = sum;
    }
  }
  // Along columns.
  const field = new Float32Array(FIELD * FIELD);
  for (let j = 0; j < FIELD; j++) {
    const w = wy[j] as Weights;
    for (let i = 0; i < FIELD; i++) {
      let sum = 0;
      for (let k = 0; k < w.values.length; k++) {
        sum += (w.values[k] as number) * (rows[(w.start + k - y0) * FIELD + i] as number);
      }
      // The mean of values in [0, 1] is in [0, 1]; clamp the float rounding.
      field[j * FIELD + i] = Math.min(1, Math.max(0, sum));
    }
  }
  return field;
}

/** Source pixels start .. start + values.length − 1 and their weights for one output pixel. */
interface Weights {
  start: number;
  values: Float32Array;
}

/**
 * For each output pixel i of one axis: the source pixels in [lo, hi) that overlap the
 * interval mapping onto [i, i + 1), each weighted by its overlap × s (the weights of a full
 * interval sum to 1: a mean).
 */
function areaWeights(centre: number, s: number, lo: number, hi: number): Weights[] {
  const half = FIELD / 2;
  return Array.from({ length: FIELD }, (_, i) => {
    const a = centre + (i - half) / s;
    const b = centre + (i + 1 - half) / s;
    const start = Math.max(lo, Math.floor(a));
    const end = Math.min(hi, Math.ceil(b));
    const values = new Float32Array(Math.max(0, end - start));
    for (let x = start; x < end; x++) {
      values[x - start] = Math.max(0, Math.min(b, x + 1) - Math.max(a, x)) * s;
    }
    return { start, values };
  });
}
