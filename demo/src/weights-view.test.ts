/**
 * The Predict tab's view of the weights (weights-view.ts) against its definitions: the
 * red–white–blue scale, each first-layer unit's 784 weights laid out as MNIST's 28×28 rows
 * and scaled by its own largest |w|, and histograms that count every finite value once.
 */
import { describe, expect, it } from 'vitest';
import {
  firstLayerImages,
  histogram,
  EpochHistograms,
  FINE_BINS,
  histogramsByEpoch,
  kernels,
  weightColor,
} from './weights-view.js';

describe('weights view', () => {
  it('weightColor: red at −1, white at 0, blue at +1, clamped, NaN white', () => {
    expect(weightColor(-1)).toEqual([214, 39, 40]);
    expect(weightColor(0)).toEqual([255, 255, 255]);
    expect(weightColor(1)).toEqual([31, 119, 180]);
    expect(weightColor(5)).toEqual(weightColor(1));
    expect(weightColor(NaN)).toEqual([255, 255, 255]);
    expect(weightColor(0.5)).toEqual([143, 187, 218]); // halfway to blue: (255 + c) / 2, rounded
  });

  it("firstLayerImages puts input i of unit u at pixel i, scaled by the unit's largest |w|", () => {
    const units = 3;
    const data = new Float32Array(784 * units);
    // Unit 1: pixel (row 2, col 5) = input 61 is its largest weight (−0.8); pixel 700 is +0.4.
    data[61 * units + 1] = -0.8;
    data[700 * units + 1] = 0.4;
    data[10 * units + 2] = 2; // unit 2 only
    const images = firstLayerImages({ name: 'dense/kernel', shape: [784, units], data }, 2);
    expect(images?.map((u) => [u.unit, u.maxAbs])).toEqual([
      [0, 0],
      [1, Math.fround(0.8)],
    ]);
    const px = (u: number, i: number) => Array.from(images?.[u]?.rgba.subarray(4 * i, 4 * i + 4) ?? []);
    expect(px(1, 61)).toEqual([...weightColor(-1), 255]);
    expect(px(1, 700)).toEqual([...weightColor(0.5), 255]);
    expect(px(1, 10)).toEqual([255, 255, 255, 255]); // unit 2's weight is not unit 1's
    expect(px(0, 61)).toEqual([255, 255, 255, 255]); // an all-zero unit is white
    expect(
      firstLayerImages({ name: 'dense_1/kernel', shape: [32, 10], data: new Float32Array(320) }),
    ).toBeUndefined();
  });

  it('histogram: equal bins over the range, the maximum in the last bin, non-finite values left out', () => {
    const h = histogram([0, 0.1, 0.25, 0.5, 0.99, 1, NaN, Infinity], 4);
    expect([h.min, h.max]).toEqual([0, 1]);
    expect(h.counts).toEqual([2, 1, 1, 2]); // [0, .25) [.25, .5) [.5, .75) [.75, 1]
    expect(histogram([3, 3, 3], 5).counts).toEqual([3, 0, 0, 0, 0]);
    expect(histogram([NaN], 2)).toEqual({ min: NaN, max: NaN, counts: [0, 0] });
  });

  it('kernels keeps the 2-D ".../kernel" weights in order', () => {
    const w = (name: string, shape: number[]) => ({
      name,
      shape,
      data: new Float32Array(shape.reduce((a, b) => a * b, 1)),
    });
    expect(
      kernels([
        w('dense/kernel', [4, 2]),
        w('dense/bias', [2]),
        w('batch_normalization/gamma', [2]),
        w('dense_1/kernel', [2, 1]),
      ]).map((k) => k.name),
    ).toEqual(['dense/kernel', 'dense_1/kernel']);
  });

  it('histogramsByEpoch bins every snapshot of an array on the same edges', () => {
    const k = (data: number[]) => [
      { name: 'dense/kernel', data: Float32Array.from(data) },
      { name: 'dense/bias', data: Float32Array.of(9, 9) },
    ];
    // Epoch 0 spans [0, 1], epoch 1 [0, 3]: shared edges over [0, 3] in 3 bins of 1.
    const [h] = histogramsByEpoch([k([0, 0.5, 0.9, 1]), k([0, 1.5, 2.5, 3])], 3);
    expect(h?.name).toBe('dense/kernel');
    expect(h?.centres).toEqual([0.5, 1.5, 2.5]);
    expect(h?.counts).toEqual([
      [3, 1, 0],
      [1, 1, 2],
    ]);
    expect(histogramsByEpoch([])).toEqual([]);
  });

  it('EpochHistograms keeps counts only, and re-bins them where histogramsByEpoch puts the values', () => {
    // Away from the shared edges (0, 1, 2, 3 over [0, 3]): the same counts as the exact binning.
    const k = (data: number[]) => [{ name: 'dense/kernel', data: Float32Array.from(data) }];
    const few = new EpochHistograms();
    few.add(k([0, 0.5, 0.9, 1.2]));
    few.add(k([0, 1.5, 2.5, 3]));
    expect(few.histograms(3)).toEqual(histogramsByEpoch([k([0, 0.5, 0.9, 1.2]), k([0, 1.5, 2.5, 3])], 3));
    expect(few.histograms(3)[0]?.counts).toEqual([
      [3, 1, 0],
      [1, 1, 2],
    ]);
    // Random snapshots that drift and widen, as weights do: every value counted once, and a
    // bin differs from the exact one only by values within a fine bin of a shared edge.
    let seed = 7;
    const rnd = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
    const snapshots = Array.from({ length: 5 }, (_, e) => [
      { name: 'a', data: Float32Array.from({ length: 5000 }, () => (1 + e) * rnd() * rnd() + 0.1 * e) },
      { name: 'b', data: Float32Array.from({ length: 300 }, () => 0.05 * rnd()) },
    ]);
    const kept = new EpochHistograms();
    for (const s of snapshots) kept.add(s);
    const got = kept.histograms(30);
    const exact = histogramsByEpoch(snapshots, 30);
    expect(got.map((h) => h.name)).toEqual(['a', 'b']);
    expect(got.map((h) => h.centres)).toEqual(exact.map((h) => h.centres));
    got.forEach((h, a) => {
      const centres = h.centres;
      const width = (centres[1] ?? NaN) - (centres[0] ?? NaN);
      const edges = Array.from({ length: 29 }, (_, i) => (centres[0] ?? NaN) - width / 2 + (i + 1) * width);
      h.counts.forEach((counts, e) => {
        const data = snapshots[e]?.[a]?.data ?? new Float32Array();
        const want = exact[a]?.counts[e] ?? [];
        expect(counts.reduce((x, y) => x + y, 0)).toBe(data.length);
        let lo = Infinity;
        let hi = -Infinity;
        for (const v of data) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
        const fine = (hi - lo) / FINE_BINS;
        const nearEdge = [...data].filter((v) => edges.some((x) => Math.abs(v - x) <= fine)).length;
        expect(nearEdge).toBeLessThan(data.length / 20);
        const moved = counts.reduce((x, c, i) => x + Math.abs(c - (want[i] ?? 0)), 0);
        expect(moved).toBeLessThanOrEqual(2 * nearEdge);
      });
    });
    expect(new EpochHistograms().histograms()).toEqual([]);
  });
});
