/**
 * The Train tab's curves from fit's progress events: each epoch's points at its end, the
 * running means broken at every epoch boundary (a gap, not a line down to the next epoch's
 * first batches), and the best epoch marked: on the loss chart where EarlyStopping(val_loss)
 * puts it (lowest val_loss, the first of equals), on the accuracy chart the highest
 * val_accuracy.
 */
import { describe, expect, it } from 'vitest';
import type { LayersModel } from '../../src/index.js';
import {
  bestPoint,
  EARLIER_RUNS,
  earlierSeries,
  rememberRun,
  RunMonitor,
  type EarlierRun,
} from './trainer-run.js';

function run(valLoss: number[], valAcc: number[]): RunMonitor {
  const events = new EventTarget();
  const monitor = new RunMonitor(
    64,
    32,
    valLoss.length,
    () => {},
    () => {},
  );
  monitor.watch({ events } as unknown as LayersModel);
  valLoss.forEach((vl, epoch) => {
    for (const step of [1, 2]) {
      const logs = { loss: 1 / (epoch + step), accuracy: 0.5 + 0.1 * epoch };
      events.dispatchEvent(new CustomEvent('batch', { detail: { epoch, step, steps: 2, logs } }));
    }
    const logs = { loss: 1 / (epoch + 2), accuracy: 0.6, val_loss: vl, val_accuracy: valAcc[epoch] };
    events.dispatchEvent(new CustomEvent('epoch', { detail: { epoch, logs } }));
  });
  return monitor;
}

describe('RunMonitor', () => {
  it('marks the best epoch: lowest val_loss, highest val_accuracy, the first of equals', () => {
    const m = run([0.9, 0.5, 0.7, 0.5], [0.6, 0.8, 0.9, 0.9]);
    const [lossBest, ...loss] = m.lossSeries();
    expect(lossBest).toMatchObject({
      label: 'best val_loss (epoch 2)',
      points: [{ x: 2, y: 0.5 }],
      marker: true,
    });
    const [accBest] = m.accuracySeries();
    expect(accBest).toMatchObject({
      label: 'best val_accuracy (epoch 3)',
      points: [{ x: 3, y: 0.9 }],
      marker: true,
    });
    expect(loss.map((s) => s.label)).toEqual(['train (epoch)', 'validation (epoch)', 'train (running mean)']);
    expect(bestPoint([{ x: 1, y: NaN }], 'min')).toBeUndefined();
  });

  it('breaks the running mean at each epoch end', () => {
    const m = run([0.9, 0.5], [0.6, 0.8]);
    const running = m.lossSeries().find((s) => s.label === 'train (running mean)')?.points as {
      x: number;
      y: number;
    }[];
    // Two batches an epoch at x = epoch + step/2, then a gap at the epoch's end.
    expect(running.map((p) => [p.x, Number.isNaN(p.y) ? 'gap' : p.y])).toEqual([
      [0.5, 1],
      [1, 0.5],
      [1, 'gap'],
      [1.5, 0.5],
      [2, 1 / 3],
      [2, 'gap'],
    ]);
  });
});

describe('earlier runs', () => {
  it("keeps a finished run's validation curves, newest first, at most EARLIER_RUNS", () => {
    const monitors = [[2, 1.5], [1.8, 1.2, 1.1], [1.9], [1.7, 1.0]].map((vl) =>
      run(
        vl,
        vl.map((v) => 1 - v / 4),
      ),
    );
    let runs: EarlierRun[] = [];
    monitors.forEach((m, i) => {
      runs = rememberRun(runs, { number: i + 1, label: `model ${i + 1}`, ...m.validationCurves() });
    });
    expect(runs.map((r) => r.number)).toEqual([4, 3, 2].slice(0, EARLIER_RUNS));
    // The curves are the epoch-end validation points the run's own chart showed.
    const latest = monitors[3]?.lossSeries().find((s) => s.label === 'validation (epoch)')?.points;
    expect(runs[0]?.valLoss).toEqual(latest);
    expect(runs[0]?.valAccuracy).toEqual([
      { x: 1, y: 1 - 1.7 / 4 },
      { x: 2, y: 1 - 1.0 / 4 },
    ]);
    // A run stopped before its first epoch ended has nothing to compare.
    expect(rememberRun(runs, { number: 5, label: 'empty', valLoss: [], valAccuracy: [] })).toEqual(runs);
  });

  it('draws them faded and labelled, each run in its own colour whatever its position', () => {
    const a: EarlierRun = {
      number: 1,
      label: '784-32-10',
      valLoss: [{ x: 1, y: 2 }],
      valAccuracy: [{ x: 1, y: 0.5 }],
    };
    const b: EarlierRun = { ...a, number: 2, label: '784-64-10' };
    const loss = earlierSeries([b, a], 'loss');
    expect(loss.map((s) => [s.label, s.faded, s.points])).toEqual([
      ['run 2: 784-64-10', true, [{ x: 1, y: 2 }]],
      ['run 1: 784-32-10', true, [{ x: 1, y: 2 }]],
    ]);
    expect(earlierSeries([a], 'accuracy')[0]?.points).toEqual([{ x: 1, y: 0.5 }]);
    expect(earlierSeries([a], 'loss')[0]?.color).toBe(loss[1]?.color);
    expect(new Set(loss.map((s) => s.color)).size).toBe(2);
  });
});
