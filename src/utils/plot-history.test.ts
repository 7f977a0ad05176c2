/**
 * plotHistory: the SVG Vega draws headlessly has one panel per quantity (titled with it, its
 * y axis titled with it, its x axis "epoch"), and in each a line per series (training, and
 * validation where `val_` keys exist) through one point per epoch. The line's vertices are
 * checked against the history's values: on a linear axis, the ratios of the vertical steps
 * equal the ratios of the value steps.
 */
import * as nodeFs from 'node:fs/promises';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { History } from '../model/callbacks.js';
import { registerFileSystem } from '../model/host-fs.js';
import { registerPlotPackages } from './peer.js';
import { plotHistory } from './plot-history.js';

let dir: string;
beforeAll(async () => {
  registerFileSystem(nodeFs);
  dir = await mkdtemp(join(tmpdir(), 'plot-history-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
afterEach(() => {
  registerPlotPackages({ vega: undefined, 'vega-lite': undefined });
});

/** A fit() History of three epochs, logged as fit logs them. */
function threeEpochs(): History {
  const h = new History();
  const logs = [
    { loss: 1.0, accuracy: 0.5, val_loss: 1.1, val_accuracy: 0.4 },
    { loss: 0.5, accuracy: 0.7, val_loss: 0.6, val_accuracy: 0.6 },
    { loss: 0.3, accuracy: 0.8, val_loss: 0.4, val_accuracy: 0.75 },
  ];
  logs.forEach((l, i) => h.onEpochEnd(i, l));
  return h;
}

/** Each panel's title, in order (Vega's role-title texts). */
function panelTitles(svg: string): string[] {
  return [...svg.matchAll(/aria-label="Title text '([^']*)'"/g)].map((m) => m[1] as string);
}

/** The axis titles, as Vega labels them for screen readers. */
function axisTitles(svg: string, axis: 'X' | 'Y'): string[] {
  return [...svg.matchAll(new RegExp(`aria-label="${axis}-axis titled '([^']*)'`, 'g'))].map(
    (m) => m[1] as string,
  );
}

/** Every line mark: its stroke colour and vertices (the M/L commands of its path). */
function lines(svg: string): { stroke: string; points: [number, number][] }[] {
  return [...svg.matchAll(/aria-roledescription="line mark" d="([^"]*)" stroke="([^"]*)"/g)].map((m) => ({
    stroke: m[2] as string,
    points: [...(m[1] as string).matchAll(/[ML]([-\d.e]+),([-\d.e]+)/g)].map(
      (p) => [Number(p[1]), Number(p[2])] as [number, number],
    ),
  }));
}

const TRAIN = '#1f77b4';
const VALIDATION = '#ff7f0e';

/** The ratio of successive vertical steps of a line: (y1 − y0) / (y2 − y1). */
function stepRatio(points: readonly [number, number][]): number {
  const [a, b, c] = points as [[number, number], [number, number], [number, number]];
  return (b[1] - a[1]) / (c[1] - b[1]);
}

describe('plotHistory', () => {
  it('draws loss and each metric in a panel, training against validation, a point per epoch', async () => {
    const { svg, element } = await plotHistory(threeEpochs());
    expect(panelTitles(svg)).toEqual(['loss', 'accuracy']);
    expect(axisTitles(svg, 'Y')).toEqual(['loss', 'accuracy']);
    expect(axisTitles(svg, 'X')).toEqual(['epoch', 'epoch']);
    // Epochs count from 1 on the axis (History.epoch counts from 0, as Keras's).
    expect(svg).toContain("X-axis titled 'epoch' for a linear scale with values from 1 to 3");
    const ls = lines(svg);
    expect(ls.map((l) => l.stroke)).toEqual([TRAIN, VALIDATION, TRAIN, VALIDATION]);
    for (const l of ls) expect(l.points).toHaveLength(3);
    // loss 1 → 0.5 → 0.3: steps −0.5, −0.2 (ratio 2.5); val_loss 1.1 → 0.6 → 0.4 (ratio 2.5);
    // accuracy 0.5 → 0.7 → 0.8 (ratio 2); val_accuracy 0.4 → 0.6 → 0.75 (ratio 4/3).
    const [loss, valLoss, acc, valAcc] = ls as [
      (typeof ls)[0],
      (typeof ls)[0],
      (typeof ls)[0],
      (typeof ls)[0],
    ];
    expect(stepRatio(loss.points)).toBeCloseTo(2.5, 6);
    expect(stepRatio(valLoss.points)).toBeCloseTo(2.5, 6);
    expect(stepRatio(acc.points)).toBeCloseTo(2, 6);
    expect(stepRatio(valAcc.points)).toBeCloseTo(4 / 3, 6);
    // Loss falls (SVG y grows downwards), accuracy rises; validation loss sits above training.
    expect(loss.points[2]?.[1]).toBeGreaterThan(loss.points[0]?.[1] ?? NaN);
    expect(acc.points[2]?.[1]).toBeLessThan(acc.points[0]?.[1] ?? NaN);
    expect(valLoss.points[0]?.[1]).toBeLessThan(loss.points[0]?.[1] ?? NaN);
    // Equal epochs share x: the three vertices sit at the same x in both series of a panel.
    expect(valLoss.points.map((p) => p[0])).toEqual(loss.points.map((p) => p[0]));
    // A legend names the two series.
    expect(svg).toMatch(/>train<\/text>/);
    expect(svg).toMatch(/>validation<\/text>/);
    expect(element).toBeUndefined();
  });

  it('takes a plain record, selects panels with metrics, and counts epochs from History.epoch', async () => {
    const record = { loss: [0.9, 0.6, 0.5, 0.45], mae: [3, 2, 1.5, 1.4] };
    const all = await plotHistory(record, { title: 'California housing' });
    // Vega draws the chart's title after its panels.
    expect(panelTitles(all.svg)).toEqual(['loss', 'mae', 'California housing']);
    const ls = lines(all.svg);
    expect(ls.map((l) => l.stroke)).toEqual([TRAIN, TRAIN]);
    for (const l of ls) expect(l.points).toHaveLength(4);
    // 'val_mae' names the mae panel too.
    const one = await plotHistory(record, { metrics: ['val_mae'] });
    expect(panelTitles(one.svg)).toEqual(['mae']);
    expect(lines(one.svg)).toHaveLength(1);
    // fit({ initialEpoch: 5 }) logs epochs 5, 6, 7: the axis shows 6 to 8.
    const h = new History();
    [0.4, 0.3, 0.25].forEach((loss, i) => h.onEpochEnd(5 + i, { loss }));
    const resumed = await plotHistory(h);
    expect(resumed.svg).toContain("X-axis titled 'epoch' for a linear scale with values from 6 to 8");
  });

  it('leaves a non-finite epoch out of its line', async () => {
    const { svg } = await plotHistory({ loss: [1, Number.NaN, 0.5, 0.25] });
    expect(lines(svg)[0]?.points).toHaveLength(3);
  });

  it('writes the SVG to toFile, and refuses PNG and other extensions before loading Vega', async () => {
    const path = join(dir, 'history.svg');
    const r = await plotHistory(threeEpochs(), { to_file: path });
    expect(r.file).toBe(path);
    expect(await readFile(path, 'utf8')).toBe(r.svg);
    let loads = 0;
    registerPlotPackages({
      vega: () => {
        loads++;
        return import('vega');
      },
    });
    await expect(plotHistory(threeEpochs(), { toFile: join(dir, 'h.png') })).rejects.toThrow(
      /PNG needs a rasterizer.*h\.svg" instead/,
    );
    await expect(plotHistory(threeEpochs(), { toFile: join(dir, 'h.dot') })).rejects.toThrow(
      /unsupported extension "\.dot"; use \.svg/,
    );
    expect(loads).toBe(0);
    await expect(stat(join(dir, 'h.png'))).rejects.toThrow(/ENOENT/);
  });

  it('refuses unknown options, unknown metrics and an empty history', async () => {
    await expect(plotHistory(threeEpochs(), { metric: ['loss'] } as never)).rejects.toThrow(
      /plotHistory: unknown option 'metric'; did you mean 'metrics'\?/,
    );
    await expect(plotHistory(threeEpochs(), { metrics: ['auc'] })).rejects.toThrow(
      /the history has no "auc"; it has loss, accuracy/,
    );
    await expect(plotHistory({})).rejects.toThrow(/the history is empty/);
    await expect(plotHistory({ loss: 0.5 } as never)).rejects.toThrow(/history\["loss"\] must be an array/);
  });

  it('uses the loaders a bundled browser app registers, and refuses unknown packages', async () => {
    const loads: string[] = [];
    registerPlotPackages({
      vega: () => {
        loads.push('vega');
        return import('vega');
      },
      'vega-lite': () => {
        loads.push('vega-lite');
        return import('vega-lite');
      },
    });
    const { svg } = await plotHistory({ loss: [1, 0.5] });
    expect(loads).toEqual(['vega-lite', 'vega']);
    expect(lines(svg)[0]?.points).toHaveLength(2);
    expect(() => registerPlotPackages({ graphviz: () => Promise.resolve({}) } as never)).toThrow(
      /unknown package 'graphviz'; the plotting packages are @viz-js\/viz, vega, vega-lite/,
    );
    expect(() => registerPlotPackages({ vega: 'vega' } as never)).toThrow(/'vega' must be a loader/);
  });

  it('says which package to install when vega-lite or vega is missing', async () => {
    registerPlotPackages({ 'vega-lite': () => Promise.reject(new Error("Cannot find package 'vega-lite'")) });
    await expect(plotHistory(threeEpochs())).rejects.toThrow(
      /plotHistory: you must install the optional package vega-lite .*: npm install vega-lite\./,
    );
    registerPlotPackages({ 'vega-lite': undefined });
    registerPlotPackages({ vega: () => Promise.reject(new Error("Cannot find package 'vega'")) });
    await expect(plotHistory(threeEpochs())).rejects.toThrow(/npm install vega\. Loading it failed/);
  });
});
