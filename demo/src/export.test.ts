/**
 * What the demo exports: a History as CSV in Keras's CSVLogger layout (read back to the same
 * numbers), a chart as SVG whose polylines put each point where the axes say (linear and log
 * y, checked against the mapping computed here), a chart's data table (series joined on x),
 * and file names from chart titles.
 */
import { describe, expect, it } from 'vitest';
import { History } from '../../src/model/callbacks.js';
import { chartSvg, chartTable, fileStem, historyCsv, SVG_MARGIN, tableNumber } from './export.js';
import { fmt, pct, sci } from './styles.js';

describe('historyCsv', () => {
  it("writes CSVLogger's columns (epoch from 0, keys sorted), numbers that read back exactly", () => {
    const h = new History();
    const logs = [
      { loss: 0.1 + 0.2, accuracy: 1 / 3, val_loss: 2 / 3, val_accuracy: 0.5 },
      { loss: 1e-7, accuracy: 0.9, val_loss: Math.PI, val_accuracy: NaN },
    ];
    logs.forEach((l, e) => h.onEpochEnd(e, l));
    const csv = historyCsv(h.epoch, h.history);
    const [head, ...rows] = csv.trimEnd().split('\n');
    expect(head).toBe('epoch,accuracy,loss,val_accuracy,val_loss'); // no alias columns (acc)
    expect(rows).toHaveLength(2);
    rows.forEach((row, e) => {
      const [epoch, accuracy, loss, valAccuracy, valLoss] = row.split(',').map(Number);
      const l = logs[e];
      expect([epoch, accuracy, loss, valAccuracy, valLoss]).toEqual([
        e,
        l?.accuracy,
        l?.loss,
        l?.val_accuracy,
        l?.val_loss,
      ]);
    });
    expect(csv.endsWith('\n')).toBe(true);
  });

  it('writes NA for a value an epoch did not log, as CSVLogger does', () => {
    expect(historyCsv([0, 1], { loss: [1, 0.5], val_loss: [2] })).toBe(
      'epoch,loss,val_loss\n0,1,2\n1,0.5,NA\n',
    );
  });
});

describe('chartSvg', () => {
  const width = 640;
  const height = 400;
  const pw = width - SVG_MARGIN.left - SVG_MARGIN.right;
  const ph = height - SVG_MARGIN.top - SVG_MARGIN.bottom;
  const polyline = (svg: string, label: string): [number, number][] => {
    const m = new RegExp(`<polyline data-series="${label}"[^>]* points="([^"]*)"`).exec(svg);
    if (!m) throw new Error(`no polyline for ${label}`);
    return (m[1] ?? '')
      .split(' ')
      .filter(Boolean)
      .map((p) => p.split(',').map(Number) as [number, number]);
  };

  it('maps points onto the plot area with linear axes over the data range; dashed and thin series', () => {
    const svg = chartSvg({
      heading: 'Loss <train & val>',
      xLabel: 'epoch',
      yLabel: 'loss',
      logY: false,
      series: [
        {
          label: 'train',
          points: [
            { x: 1, y: 2 },
            { x: 3, y: 1 },
            { x: 5, y: 0.5 },
          ],
          color: '#1f77b4',
        },
        {
          label: 'val',
          points: [
            { x: 1, y: 2.5 },
            { x: 5, y: 1.5 },
          ],
          color: '#d62728',
          dashed: true,
          thin: true,
        },
      ],
    });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg).toContain('Loss &lt;train &amp; val&gt;');
    // x over [1, 5], y over [0.5, 2.5].
    const at = (x: number, y: number): [number, number] => [
      Number((SVG_MARGIN.left + ((x - 1) / 4) * pw).toFixed(2)),
      Number((SVG_MARGIN.top + ph - ((y - 0.5) / 2) * ph).toFixed(2)),
    ];
    expect(polyline(svg, 'train')).toEqual([at(1, 2), at(3, 1), at(5, 0.5)]);
    expect(polyline(svg, 'val')).toEqual([at(1, 2.5), at(5, 1.5)]);
    expect(svg).toMatch(/data-series="val"[^>]*stroke-dasharray="6 4"/);
    // Markers for the thick series only: 3 circles.
    expect(svg.match(/<circle /g)).toHaveLength(3);
  });

  it('on a log axis places decades evenly, labels them 1eN, and leaves out values ≤ 0', () => {
    const svg = chartSvg({
      heading: 'norms',
      xLabel: 'layer',
      yLabel: '‖g‖',
      logY: true,
      series: [
        {
          label: 'g',
          points: [
            { x: 0, y: 1e-3 },
            { x: 1, y: 10 },
            { x: 2, y: 0 },
            { x: 3, y: 0.1 },
          ],
        },
      ],
    });
    // The 0 (not drawable on a log axis) breaks the line in two: [1e-3, 10] and [0.1].
    const pts = [...svg.matchAll(/<polyline data-series="g"[^>]* points="([^"]*)"/g)].flatMap((m) =>
      (m[1] ?? '').split(' ').map((p) => p.split(',').map(Number)),
    );
    expect(pts).toHaveLength(3);
    const y = (v: number) => Number((SVG_MARGIN.top + ph - ((Math.log10(v) + 3) / 4) * ph).toFixed(2));
    expect(pts.map((p) => p[1])).toEqual([y(1e-3), y(10), y(0.1)]);
    for (const label of ['1e-3', '1e-2', '1e-1', '1e0', '1e1']) expect(svg).toContain(`>${label}</text>`);
  });

  it('on a log x axis (a learning-rate range test) places decades evenly and labels them 1eN', () => {
    const svg = chartSvg({
      heading: 'lr',
      xLabel: 'learning rate',
      yLabel: 'loss',
      logY: false,
      logX: true,
      series: [
        {
          label: 'loss',
          points: [
            { x: 1e-4, y: 2 },
            { x: 1e-2, y: 1 },
            { x: 1, y: 3 },
          ],
        },
      ],
    });
    const pts = [...svg.matchAll(/<polyline data-series="loss"[^>]* points="([^"]*)"/g)].flatMap((m) =>
      (m[1] ?? '').split(' ').map((p) => p.split(',').map(Number)),
    );
    const pw = 640 - SVG_MARGIN.left - SVG_MARGIN.right;
    const x = (v: number) => Number((SVG_MARGIN.left + ((Math.log10(v) + 4) / 4) * pw).toFixed(2));
    expect(pts.map((p) => p[0])).toEqual([x(1e-4), x(1e-2), x(1)]);
    for (const label of ['1e-4', '1e-3', '1e-2', '1e-1', '1e0']) expect(svg).toContain(`>${label}</text>`);
  });

  it("draws a bar chart's values (one per category) over the category index", () => {
    const svg = chartSvg({
      heading: '',
      xLabel: '',
      yLabel: '',
      logY: false,
      series: [{ label: 'r', points: [0, 1] }],
    });
    expect(polyline(svg, 'r')).toEqual([
      [SVG_MARGIN.left, SVG_MARGIN.top + ph],
      [SVG_MARGIN.left + pw, SVG_MARGIN.top],
    ]);
  });
});

describe('chartSvg gaps, markers and narrow log axes', () => {
  const svg = chartSvg({
    heading: 'loss',
    xLabel: 'epoch',
    yLabel: 'loss',
    logY: true,
    series: [
      { label: 'best', points: [{ x: 2, y: 0.3 }], marker: true },
      {
        label: 'run',
        points: [
          { x: 0.5, y: 0.5 },
          { x: 1, y: 0.4 },
          { x: 1, y: NaN },
          { x: 1.5, y: 0.35 },
          { x: 2, y: 0.3 },
        ],
        thin: true,
      },
    ],
  });

  it('breaks a polyline at a NaN point (an epoch boundary), not joining across it', () => {
    const runs = [...svg.matchAll(/<polyline data-series="run"[^>]* points="([^"]*)"/g)].map(
      (m) => (m[1] ?? '').split(' ').length,
    );
    expect(runs).toEqual([2, 2]);
  });

  it('draws a marker series as a diamond, with no line', () => {
    expect(svg).not.toMatch(/<polyline data-series="best"/);
    // The marker at (2, 0.3): the highest x and the lowest y, the plot's bottom right.
    const x = 640 - SVG_MARGIN.right;
    const y = 400 - SVG_MARGIN.bottom;
    expect(svg).toContain(`<path d="M${x.toFixed(2)} ${(y - 7).toFixed(2)}L`);
  });

  it('labels a log axis without a power of ten in range by its values, not a rounded 1eN', () => {
    expect(svg).toContain('>0.3</text>');
    expect(svg).toContain('>0.5</text>');
    expect(svg).not.toMatch(/>1e-?\d+<\/text>/);
  });
});

describe('fileStem', () => {
  it('makes a file name from a chart title', () => {
    expect(fileStem('Validation loss (epoch 0: before training)')).toBe(
      'validation-loss-epoch-0-before-training',
    );
    expect(fileStem('‖∂L/∂W‖')).toBe('l-w');
    expect(fileStem('‖∂‖')).toBe('chart');
  });
});

describe('chartTable', () => {
  it('joins line series on their x values, ascending, leaving gaps and missing points empty', () => {
    const t = chartTable(
      [
        {
          label: 'loss',
          points: [
            { x: 2, y: 0.5 },
            { x: 1, y: 0.9 },
            { x: 1.5, y: NaN },
          ],
        },
        {
          label: 'val_loss',
          points: [
            { x: 1, y: 1.1 },
            { x: 3, y: 0.7 },
          ],
          dashed: true,
        },
      ],
      'epoch',
    );
    expect(t.columns).toEqual(['epoch', 'loss', 'val_loss']);
    expect(t.rows).toEqual([
      { x: 1, values: [0.9, 1.1] },
      { x: 2, values: [0.5, undefined] },
      { x: 3, values: [undefined, 0.7] },
    ]);
  });

  it('gives bar series one row per category', () => {
    const t = chartTable([{ label: 'recall', points: [0.9, NaN, 0.7] }], '', ['0', '1', '2']);
    expect(t.columns).toEqual(['x', 'recall']);
    expect(t.rows).toEqual([
      { x: '0', values: [0.9] },
      { x: '1', values: [undefined] },
      { x: '2', values: [0.7] },
    ]);
  });

  it('writes 4 significant digits, scientific below 1e-3, whole numbers grouped from 1e4', () => {
    expect([0.123456, 2.5, 0, 0.00012346, 123456.7, -0.5, undefined].map(tableNumber)).toEqual([
      '0.1235',
      '2.5',
      '0',
      '1.235e-4',
      '123,457',
      '-0.5',
      '',
    ]);
  });
});

describe('number formatting', () => {
  it('fmt keeps its significant digits (columns line up), whole numbers whole, thousands grouped', () => {
    expect(
      [2.3, 2.4612, 0.3, 0.34991, 512, 0, 0.000123456, 999.96, 12345.6, -1.5].map((v) => fmt(v)),
    ).toEqual(['2.300', '2.461', '0.3000', '0.3499', '512', '0', '0.0001235', '1,000', '12,346', '-1.500']);
    expect([fmt(undefined), fmt(NaN), fmt(7.26, 3), fmt(123.4, 2)]).toEqual(['—', '—', '7.26', '123']);
  });

  it('pct gives a fixed number of decimals, sci switches to exponents outside 1e-3..1e4', () => {
    expect([pct(0.9731), pct(1), pct(0.5, 1), pct(undefined)]).toEqual(['97.31%', '100.00%', '50.0%', '—']);
    expect([sci(3363634), sci(0.0004), sci(2.5), sci(0)]).toEqual(['3.36e+6', '4.00e-4', '2.50', '0']);
  });
});
