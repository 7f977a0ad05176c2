/**
 * The drawing → MNIST input preprocessing (digit-preprocess.ts), against closed forms
 * (squares and bars whose 28×28 image is known exactly), two independent references (the
 * exact 2-D overlap integral in float64, and point supersampling), and the invariants of
 * area averaging (mass × s², centre of mass at 13.5, values in [0, 1]).
 */
import { describe, expect, it } from 'vitest';
import { BOX, FIELD, inkFromRgba, preprocessDigit } from './digit-preprocess.js';

const W = 280;
const H = 280;

/** A W×H image with the rectangle [x0, x1) × [y0, y1) set to `v`. */
function rect(x0: number, x1: number, y0: number, y1: number, v = 1, w = W, h = H): Float32Array {
  const ink = new Float32Array(w * h);
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) ink[y * w + x] = v;
  return ink;
}

/** A thick antialiased stroke through `points` (ink = coverage of a disk of radius r, 4×4 samples). */
function stroke(points: [number, number][], r: number): Float32Array {
  const ink = new Float32Array(W * H);
  const dist = (px: number, py: number): number => {
    let best = Infinity;
    for (let k = 0; k + 1 < points.length; k++) {
      const [ax, ay] = points[k] as [number, number];
      const [bx, by] = points[k + 1] as [number, number];
      const dx = bx - ax;
      const dy = by - ay;
      const t = Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)));
      best = Math.min(best, Math.hypot(px - ax - t * dx, py - ay - t * dy));
    }
    return best;
  };
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      let covered = 0;
      for (let a = 0; a < 4; a++)
        for (let b = 0; b < 4; b++) if (dist(x + (a + 0.5) / 4, y + (b + 0.5) / 4) <= r) covered++;
      ink[y * W + x] = covered / 16;
    }
  }
  return ink;
}

/** Sum, and centre of mass in pixel-index coordinates (pixel i's centre is i). */
function moments(img: ArrayLike<number>, w: number): { mass: number; cx: number; cy: number } {
  let mass = 0;
  let sx = 0;
  let sy = 0;
  for (let k = 0; k < img.length; k++) {
    const v = img[k] as number;
    mass += v;
    sx += v * (k % w);
    sy += v * Math.floor(k / w);
  }
  return { mass, cx: sx / mass, cy: sy / mass };
}

/** Bounding box and centre of mass of the ink, in continuous coordinates (float64). */
function frame(ink: ArrayLike<number>, w: number): { s: number; cx: number; cy: number } {
  let x0 = Infinity;
  let x1 = -Infinity;
  let y0 = Infinity;
  let y1 = -Infinity;
  for (let k = 0; k < ink.length; k++) {
    if (!((ink[k] as number) > 0)) continue;
    const x = k % w;
    const y = Math.floor(k / w);
    x0 = Math.min(x0, x);
    x1 = Math.max(x1, x + 1);
    y0 = Math.min(y0, y);
    y1 = Math.max(y1, y + 1);
  }
  const m = moments(ink, w);
  return { s: BOX / Math.max(x1 - x0, y1 - y0), cx: m.cx + 0.5, cy: m.cy + 0.5 };
}

/**
 * Reference 1: each output pixel is s² × Σ ink · (2-D overlap area of the source pixel with
 * the square mapping onto it), summed over every source pixel (no separability), float64.
 */
function exactReference(ink: ArrayLike<number>, w: number, h: number): Float64Array {
  const { s, cx, cy } = frame(ink, w);
  const out = new Float64Array(FIELD * FIELD);
  const overlap = (a: number, b: number, p: number) => Math.max(0, Math.min(b, p + 1) - Math.max(a, p));
  for (let j = 0; j < FIELD; j++) {
    const ya = cy + (j - 14) / s;
    const yb = cy + (j - 13) / s;
    for (let i = 0; i < FIELD; i++) {
      const xa = cx + (i - 14) / s;
      const xb = cx + (i - 13) / s;
      let sum = 0;
      for (let y = Math.max(0, Math.floor(ya)); y < Math.min(h, Math.ceil(yb)); y++) {
        for (let x = Math.max(0, Math.floor(xa)); x < Math.min(w, Math.ceil(xb)); x++) {
          sum += (ink[y * w + x] as number) * overlap(xa, xb, x) * overlap(ya, yb, y);
        }
      }
      out[j * FIELD + i] = sum * s * s;
    }
  }
  return out;
}

/** Reference 2: the mean of n×n point samples of the (piecewise-constant) source per output pixel. */
function supersampled(ink: ArrayLike<number>, w: number, h: number, n: number): Float64Array {
  const { s, cx, cy } = frame(ink, w);
  const out = new Float64Array(FIELD * FIELD);
  for (let j = 0; j < FIELD; j++) {
    for (let i = 0; i < FIELD; i++) {
      let sum = 0;
      for (let b = 0; b < n; b++) {
        const y = Math.floor(cy + (j + (b + 0.5) / n - 14) / s);
        if (y < 0 || y >= h) continue;
        for (let a = 0; a < n; a++) {
          const x = Math.floor(cx + (i + (a + 0.5) / n - 14) / s);
          if (x >= 0 && x < w) sum += ink[y * w + x] as number;
        }
      }
      out[j * FIELD + i] = sum / (n * n);
    }
  }
  return out;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  for (let k = 0; k < a.length; k++) d = Math.max(d, Math.abs((a[k] as number) - (b[k] as number)));
  return d;
}

/** The 28×28 image with [x0, x1) × [y0, y1) at 1, the rest 0. */
function fieldRect(x0: number, x1: number, y0: number, y1: number): Float32Array {
  return rect(x0, x1, y0, y1, 1, FIELD, FIELD);
}

const DIGIT_LIKE: [number, number][] = [
  [90, 60],
  [190, 70],
  [120, 230],
];

describe('preprocessDigit', () => {
  it('an empty canvas gives undefined', () => {
    expect(preprocessDigit(new Float32Array(W * H), W, H)).toBeUndefined();
    expect(() => preprocessDigit(new Float32Array(10), W, H)).toThrow(/not a 280×280 image/);
  });

  it('a centred 80 px square becomes the 20×20 square [4, 24)² exactly', () => {
    const out = preprocessDigit(rect(100, 180, 100, 180), W, H) as Float32Array;
    expect(out).toHaveLength(784);
    expect(maxAbsDiff(out, fieldRect(4, 24, 4, 24))).toBeLessThan(1e-6);
    const m = moments(out, FIELD);
    expect(m.cx).toBeCloseTo(13.5, 6);
    expect(m.cy).toBeCloseTo(13.5, 6);
  });

  it('a 20×100 bar in a corner is re-centred as a 4×20 bar, wherever it is drawn', () => {
    // s = 20 / 100: 4 × 20 pixels; its centre of mass (14, 14) in continuous coordinates.
    const expected = fieldRect(12, 16, 4, 24);
    const a = preprocessDigit(rect(10, 30, 20, 120), W, H) as Float32Array;
    const b = preprocessDigit(rect(200, 220, 170, 270), W, H) as Float32Array;
    expect(maxAbsDiff(a, expected)).toBeLessThan(1e-6);
    expect(maxAbsDiff(b, expected)).toBeLessThan(1e-6);
  });

  it('keeps the aspect ratio of a wide bar and scales a tiny square up', () => {
    // 200 × 20 → 20 × 2, centred on (14, 14).
    const wide = preprocessDigit(rect(40, 240, 130, 150), W, H) as Float32Array;
    expect(maxAbsDiff(wide, fieldRect(4, 24, 13, 15))).toBeLessThan(1e-6);
    // 5 × 5 → s = 4: the full 20×20 box.
    const tiny = preprocessDigit(rect(3, 8, 250, 255), W, H) as Float32Array;
    expect(maxAbsDiff(tiny, fieldRect(4, 24, 4, 24))).toBeLessThan(1e-6);
  });

  it('a 30 px square (s = 2/3: source pixels straddle output pixels) gives the closed form', () => {
    const ink = rect(101, 131, 57, 87, 0.75);
    const out = preprocessDigit(ink, W, H) as Float32Array;
    // Exactly the 20×20 box [4, 24)² of 0.75: the square's edges map onto pixel edges.
    expect(
      maxAbsDiff(
        out,
        fieldRect(4, 24, 4, 24).map((v) => v * 0.75),
      ),
    ).toBeLessThan(1e-6);
    expect(moments(out, FIELD).mass).toBeCloseTo(400 * 0.75, 3);
  });

  it('a thick antialiased stroke: equal to both references; mass × s², centre of mass at 13.5', () => {
    const ink = stroke(DIGIT_LIKE, 11);
    const out = preprocessDigit(ink, W, H) as Float32Array;
    const { s } = frame(ink, W);
    // Reference 1 does the same integral without separability: only f32 rounding differs
    // (sums of ~100 terms of order 1 → ~1e-5 relative).
    expect(maxAbsDiff(out, exactReference(ink, W, H))).toBeLessThan(1e-5);
    // Reference 2 point-samples: with n samples per axis, an output pixel crossed by J
    // source pixel edges along an axis is off by at most J/n per axis; here 1/s < 10 source
    // pixels per output pixel, so J ≤ 11 and the bound is 22/n.
    const n = 128;
    const ss = supersampled(ink, W, H, n);
    expect(maxAbsDiff(out, ss)).toBeLessThan((2 * (Math.ceil(1 / s) + 1)) / n);

    const mIn = moments(ink, W);
    const mOut = moments(out, FIELD);
    expect(mOut.mass / (mIn.mass * s * s)).toBeCloseTo(1, 5);
    expect(Math.abs(mOut.cx - 13.5)).toBeLessThan(0.5);
    expect(Math.abs(mOut.cy - 13.5)).toBeLessThan(0.5);
    let maxIn = 0;
    let minOut = 1;
    for (const v of out) {
      maxIn = Math.max(maxIn, v);
      minOut = Math.min(minOut, v);
    }
    expect(maxIn).toBeLessThanOrEqual(1);
    expect(minOut).toBeGreaterThanOrEqual(0);
    expect(maxIn).toBeGreaterThan(0.9); // the stroke is ~2 output pixels wide: saturated in its middle
  });

  it('random ink in [0, 1] gives values in [0, 1], the exact integral, and a centred mass', () => {
    let seed = 12345;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const w = 57;
    const h = 43;
    const ink = new Float32Array(w * h);
    for (let y = 5; y < 40; y++) for (let x = 9; x < 50; x++) ink[y * w + x] = rand() < 0.3 ? 0 : rand();
    const out = preprocessDigit(ink, w, h) as Float32Array;
    expect(maxAbsDiff(out, exactReference(ink, w, h))).toBeLessThan(1e-5);
    expect(Math.min(...out)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...out)).toBeLessThanOrEqual(1);
    const { s } = frame(ink, w);
    const mOut = moments(out, FIELD);
    expect(mOut.mass / (moments(ink, w).mass * s * s)).toBeCloseTo(1, 5);
    expect(Math.abs(mOut.cx - 13.5)).toBeLessThan(0.5);
    expect(Math.abs(mOut.cy - 13.5)).toBeLessThan(0.5);
  });
});

describe('inkFromRgba', () => {
  it('reads the red channel of white-on-black pixels as ink in [0, 1]', () => {
    const rgba = Uint8ClampedArray.from([0, 0, 0, 255, 255, 255, 255, 255, 51, 51, 51, 255]);
    expect(Array.from(inkFromRgba(rgba))).toEqual([0, 1, Math.fround(0.2)]);
  });
});
