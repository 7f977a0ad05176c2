/**
 * The Playground's datasets, features, grid and colours (playground-data.ts,
 * playground-draw.ts) against their definitions in closed form; the form's parsing and
 * checks. No GPU.
 */
import { describe, expect, it } from 'vitest';
import {
  DATASETS,
  EXTENT,
  featureRows,
  gridPoints,
  makeDataset,
  splitTrainTest,
  type PointSet,
} from './playground-data.js';
import { CLASS0, CLASS1, MIDDLE, scaleColor, unitScale } from './playground-draw.js';
import { checkPlaygroundSettings, parseHidden, PLAYGROUND_DEFAULTS } from './playground-model.js';

const points = (s: PointSet) =>
  Array.from(s.labels, (label, i) => ({ x: s.xy[2 * i] as number, y: s.xy[2 * i + 1] as number, label }));

describe('playground datasets', () => {
  it.each(DATASETS)('%s: seeded, half of each class, inside the square without noise', (kind) => {
    const a = makeDataset(kind, 501, 0, 7);
    const b = makeDataset(kind, 501, 0, 7);
    const c = makeDataset(kind, 501, 0, 8);
    expect(a.xy).toEqual(b.xy);
    expect(a.labels).toEqual(b.labels);
    expect(a.xy).not.toEqual(c.xy);
    const ones = a.labels.reduce((s, l) => s + l, 0);
    expect(ones).toBe(250);
    // Gaussians have unbounded tails: 4 standard deviations from (±2, ±2) is ±6.
    for (const p of points(a)) {
      expect(Math.abs(p.x)).toBeLessThanOrEqual(EXTENT);
      expect(Math.abs(p.y)).toBeLessThanOrEqual(EXTENT);
    }
  });

  it('circles: class 1 within radius 2.5, class 0 on the ring 3.5 to 5', () => {
    for (const p of points(makeDataset('circles', 400, 0, 1))) {
      const r = Math.hypot(p.x, p.y);
      if (p.label === 1) expect(r).toBeLessThanOrEqual(2.5 + 1e-5);
      else {
        expect(r).toBeGreaterThanOrEqual(3.5 - 1e-5);
        expect(r).toBeLessThanOrEqual(5 + 1e-5);
      }
    }
  });

  it('xor: the class is the sign of x₁·x₂, with points 0.3 off the axes', () => {
    const ps = points(makeDataset('xor', 400, 0, 1));
    for (const p of ps) {
      expect(p.label).toBe(p.x * p.y >= 0 ? 1 : 0);
      expect(Math.min(Math.abs(p.x), Math.abs(p.y))).toBeGreaterThanOrEqual(0.3 - 1e-6);
    }
    // All four quadrants are used.
    const quadrants = new Set(ps.map((p) => `${Math.sign(p.x)}${Math.sign(p.y)}`));
    expect(quadrants.size).toBe(4);
  });

  it('gaussians: each class centred on (±2, ±2) with standard deviation 1', () => {
    const ps = points(makeDataset('gaussians', 4000, 0, 3));
    for (const [label, c] of [
      [1, 2],
      [0, -2],
    ] as const) {
      const xs = ps.filter((p) => p.label === label).map((p) => p.x);
      const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
      const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1));
      // 2,000 draws: the mean within 4 standard errors (4 / √2000 ≈ 0.09), the sd within 5%.
      expect(Math.abs(mean - c)).toBeLessThan(0.09);
      expect(Math.abs(sd - 1)).toBeLessThan(0.05);
    }
  });

  it('spirals: each point at angle 3.5π·r/5 (+π for class 1) and radius ≤ 5', () => {
    for (const p of points(makeDataset('spirals', 400, 0, 1))) {
      const r = Math.hypot(p.x, p.y);
      expect(r).toBeLessThanOrEqual(5 + 1e-5);
      if (r < 0.05) continue; // the angle of a point at the centre is not defined
      const expected = 1.75 * 2 * Math.PI * (r / 5) + (p.label === 1 ? Math.PI : 0);
      const angle = Math.atan2(p.x, p.y); // x = r sin a, y = r cos a
      const diff = Math.atan2(Math.sin(angle - expected), Math.cos(angle - expected));
      expect(Math.abs(diff)).toBeLessThan(1e-4 / r + 1e-5);
    }
  });

  it('noise moves points by noise × 5 standard deviations and keeps their classes', () => {
    const clean = makeDataset('xor', 2000, 0, 5);
    const noisy = makeDataset('xor', 2000, 0.2, 5);
    expect(noisy.labels).toEqual(clean.labels);
    // Noise draws interleave with the points' own, so the two sets are not the same points
    // moved; compare the share on the wrong side of the axes: 0 without noise, some with.
    const wrong = points(noisy).filter((p) => p.label !== (p.x * p.y >= 0 ? 1 : 0)).length / 2000;
    expect(wrong).toBeGreaterThan(0.05);
    expect(wrong).toBeLessThan(0.35);
  });

  it('rejects a bad count, noise or kind by name', () => {
    expect(() => makeDataset('xor', 1, 0, 1)).toThrow(/points/);
    expect(() => makeDataset('xor', 10, 0.6, 1)).toThrow(/noise/);
    expect(() => makeDataset('moons' as 'xor', 10, 0, 1)).toThrow(/unknown dataset "moons"/);
  });
});

describe('playground split, features and grid', () => {
  it('splitTrainTest cuts a seeded permutation: every point once, the share rounded', () => {
    const all = makeDataset('circles', 101, 0.1, 2);
    const { train, test } = splitTrainTest(all, 0.3, 2);
    expect(train.labels.length).toBe(30);
    expect(test.labels.length).toBe(71);
    const key = (s: PointSet) => points(s).map((p) => `${p.x},${p.y},${p.label}`);
    expect([...key(train), ...key(test)].sort()).toEqual(key(all).sort());
    expect(splitTrainTest(all, 0.3, 2).train.xy).toEqual(train.xy);
    expect(() => splitTrainTest(all, 1, 2)).toThrow(/training fraction/);
  });

  it('featureRows computes each feature of (x₁, x₂) in the order given', () => {
    const xy = Float32Array.of(2, -3, 0.5, 1);
    const rows = featureRows(xy, ['x1', 'x2', 'x1sq', 'x2sq', 'x1x2', 'sinx1', 'sinx2']);
    expect(Array.from(rows)).toEqual(
      [2, -3, 4, 9, -6, Math.sin(2), Math.sin(-3), 0.5, 1, 0.25, 1, 0.5, Math.sin(0.5), Math.sin(1)].map(
        Math.fround,
      ),
    );
    expect(Array.from(featureRows(xy, ['x2']))).toEqual([-3, 1]);
    expect(() => featureRows(xy, [])).toThrow(/at least one/);
  });

  it('gridPoints gives cell centres row by row from the top', () => {
    const g = gridPoints(4); // cells of 3 over [−6, 6]
    expect(Array.from(g.subarray(0, 4))).toEqual([-4.5, 4.5, -1.5, 4.5]);
    expect(Array.from(g.subarray(30, 32))).toEqual([4.5, -4.5]); // the last cell: bottom right
    expect(g.length).toBe(32);
  });
});

describe('playground colours and form', () => {
  it('scaleColor runs orange → near-white → blue, clamped, NaN in the middle', () => {
    expect(scaleColor(0)).toEqual(CLASS0);
    expect(scaleColor(0.5)).toEqual(MIDDLE);
    expect(scaleColor(1)).toEqual(CLASS1);
    expect(scaleColor(-3)).toEqual(CLASS0);
    expect(scaleColor(7)).toEqual(CLASS1);
    expect(scaleColor(NaN)).toEqual(MIDDLE);
    // A quarter: halfway between orange and the middle, channel by channel.
    expect(scaleColor(0.25)).toEqual(
      [0, 1, 2].map((c) => Math.round(((CLASS0[c] ?? 0) + (MIDDLE[c] ?? 0)) / 2)),
    );
  });

  it('unitScale maps tanh and sigmoid by their ranges, relu by the largest output', () => {
    expect(unitScale(-1, 'tanh', 9)).toBe(0);
    expect(unitScale(0.5, 'tanh', 9)).toBe(0.75);
    expect(unitScale(0.25, 'sigmoid', 9)).toBe(0.25);
    expect(unitScale(3, 'relu', 6)).toBe(0.75);
    expect(unitScale(0, 'linear', 0)).toBe(0.5);
  });

  it('parseHidden reads units per layer and names a bad one', () => {
    expect(parseHidden('4, 2')).toEqual([4, 2]);
    expect(parseHidden('  ')).toEqual([]);
    expect(() => parseHidden('4,,2')).toThrow(/layer 2/);
    expect(() => parseHidden('4, 9')).toThrow(/"9" \(layer 2\).*1 to 8/);
    expect(() => parseHidden('two')).toThrow(/"two"/);
  });

  it('checkPlaygroundSettings names the setting out of range', () => {
    const ok = { ...PLAYGROUND_DEFAULTS };
    expect(() => checkPlaygroundSettings(ok)).not.toThrow();
    expect(() => checkPlaygroundSettings({ ...ok, features: [] })).toThrow(/feature/);
    expect(() => checkPlaygroundSettings({ ...ok, hidden: [1, 1, 1, 1, 1, 1, 1] })).toThrow(
      /at most 6 hidden layers/,
    );
    expect(() => checkPlaygroundSettings({ ...ok, learningRate: 0 })).toThrow(/learning rate/);
    expect(() => checkPlaygroundSettings({ ...ok, batchSize: 0 })).toThrow(/batch size/);
    expect(() => checkPlaygroundSettings({ ...ok, trainFraction: 0.95 })).toThrow(/training share/);
  });
});
