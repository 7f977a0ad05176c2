/**
 * The Train tab's curves from fit's progress events: each epoch's points at its end, the
 * running means broken at every epoch boundary (a gap, not a line down to the next epoch's
 * first batches), and the best epoch marked: on the loss chart where EarlyStopping(val_loss)
 * puts it (lowest val_loss, the first of equals), on the accuracy chart the highest
 * val_accuracy.
 */
import { describe, expect, it } from 'vitest';
import type { LayersModel } from '../../src/index.js';
import { bestPoint, RunMonitor } from './trainer-run.js';

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
