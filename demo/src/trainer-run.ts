/**
 * What <mlp-trainer> shows of a fit() as it runs: the curves (the running epoch means from
 * fit's 'batch' events at x = epoch + step/steps, and each epoch's train and validation
 * values at its end), the progress line (epoch, samples/s), and the earlier runs' validation
 * curves kept to compare with.
 */
import type { Callback, LayersModel, Logs } from '../../src/index.js';
import type { ChartPoint, ChartSeries } from './chart.js';

export interface Progress {
  /** 1-based. */
  epoch: number;
  epochs: number;
  /** Samples/s of the epoch so far, from the batch events. */
  running: number | undefined;
  /** Samples/s of the last finished epoch: its rows over its training time (validation excluded). */
  epochRate: number | undefined;
}

interface BatchDetail {
  epoch: number;
  step: number;
  steps: number;
  logs: Logs;
}

/** The curves' colours: a page sets --mlp-color-train, --mlp-color-validation, --mlp-color-running. */
const COLORS = {
  running: 'var(--mlp-color-running, #9ecae1)',
  train: 'var(--mlp-color-train, #1f77b4)',
  validation: 'var(--mlp-color-validation, #d62728)',
};

export class RunMonitor {
  progress: Progress;
  private readonly points = {
    lossRun: [] as ChartPoint[],
    accRun: [] as ChartPoint[],
    loss: [] as ChartPoint[],
    valLoss: [] as ChartPoint[],
    acc: [] as ChartPoint[],
    valAcc: [] as ChartPoint[],
  };
  private epochStart = performance.now();
  /** The last batch event: when, samples trained so far in its epoch, its x. */
  private last = { t: this.epochStart, samples: 0, x: 0 };

  constructor(
    private readonly rows: number,
    private readonly batchSize: number,
    epochs: number,
    /** Called after every change (new points, new progress). */
    private readonly onChange: () => void,
    private readonly onEpoch: (epoch: number, logs: Logs) => void,
  ) {
    this.progress = { epoch: 1, epochs, running: undefined, epochRate: undefined };
  }

  /** The fit() callback that times each epoch from its start. */
  readonly callback: Callback = {
    onEpochBegin: (epoch: number) => {
      this.epochStart = performance.now();
      this.last = { t: this.epochStart, samples: 0, x: epoch };
      this.progress = { ...this.progress, epoch: epoch + 1, running: undefined };
      this.onChange();
    },
  };

  /** Follows `model`'s progress events (fit with verbose ≥ 1). */
  watch(model: LayersModel): void {
    model.events.addEventListener('batch', (e) => this.batch((e as CustomEvent<BatchDetail>).detail));
    model.events.addEventListener('epoch', (e) => {
      const { epoch, logs } = (e as CustomEvent<{ epoch: number; logs: Logs }>).detail;
      this.epoch(epoch, logs);
    });
  }

  private batch(d: BatchDetail): void {
    const t = performance.now();
    const x = d.epoch + d.step / d.steps;
    const samples = Math.min(d.step * this.batchSize, this.rows);
    this.last = { t, samples, x };
    push(this.points.lossRun, x, d.logs.loss);
    push(this.points.accRun, x, d.logs.accuracy);
    this.progress = {
      ...this.progress,
      epoch: d.epoch + 1,
      running: samples / ((t - this.epochStart) / 1000),
    };
    this.onChange();
  }

  private epoch(epoch: number, logs: Logs): void {
    // At the epoch's end, or where Stop ended it.
    const x = this.last.x > epoch ? this.last.x : epoch + 1;
    push(this.points.loss, x, logs.loss);
    push(this.points.acc, x, logs.accuracy);
    push(this.points.valLoss, x, logs.val_loss);
    push(this.points.valAcc, x, logs.val_accuracy);
    // The running means restart with every epoch: a gap, not a line down the epoch's cliff.
    this.points.lossRun.push({ x, y: NaN });
    this.points.accRun.push({ x, y: NaN });
    const seconds = (this.last.t - this.epochStart) / 1000;
    this.progress = { ...this.progress, epochRate: seconds > 0 ? this.last.samples / seconds : undefined };
    this.onChange();
    this.onEpoch(epoch, logs);
  }

  /** New series arrays (what <mlp-chart> redraws on). */
  lossSeries(): ChartSeries[] {
    return series(this.points.lossRun, this.points.loss, this.points.valLoss, 'min');
  }

  accuracySeries(): ChartSeries[] {
    return series(this.points.accRun, this.points.acc, this.points.valAcc, 'max');
  }

  /** This run's validation curves so far, to keep as an earlier run (rememberRun). */
  validationCurves(): { valLoss: ChartPoint[]; valAccuracy: ChartPoint[] } {
    return { valLoss: [...this.points.valLoss], valAccuracy: [...this.points.valAcc] };
  }
}

/** A finished run kept to compare with: its label and validation curves. */
export interface EarlierRun {
  /** 1 for the page's first run, and so on. */
  number: number;
  label: string;
  valLoss: ChartPoint[];
  valAccuracy: ChartPoint[];
}

/** How many earlier runs the charts keep. */
export const EARLIER_RUNS = 3;
/** Their colours, apart from the current run's blues and red. */
const EARLIER_COLORS = ['#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];

/** `runs` (newest first) with `run` in front, the oldest dropped past `keep`; a run with no epoch is not kept. */
export function rememberRun(runs: readonly EarlierRun[], run: EarlierRun, keep = EARLIER_RUNS): EarlierRun[] {
  if (run.valLoss.length === 0 && run.valAccuracy.length === 0) return [...runs];
  return [run, ...runs].slice(0, keep);
}

/**
 * The earlier runs' validation curves, faded under the current run's: one series each,
 * "run N: <label>", in a colour of its own (by run number, so it keeps it as runs come and go).
 */
export function earlierSeries(runs: readonly EarlierRun[], which: 'loss' | 'accuracy'): ChartSeries[] {
  return runs.map((r) => ({
    label: `run ${r.number}: ${r.label}`,
    points: which === 'loss' ? r.valLoss : r.valAccuracy,
    color: EARLIER_COLORS[(r.number - 1) % EARLIER_COLORS.length],
    faded: true,
  }));
}

/** The validation point EarlyStopping would call best (the first of equals), if any. */
export function bestPoint(validation: readonly ChartPoint[], mode: 'min' | 'max'): ChartPoint | undefined {
  let best: ChartPoint | undefined;
  for (const p of validation) {
    if (!Number.isFinite(p.y)) continue;
    if (!best || (mode === 'min' ? p.y < best.y : p.y > best.y)) best = p;
  }
  return best;
}

function series(
  running: ChartPoint[],
  train: ChartPoint[],
  validation: ChartPoint[],
  mode: 'min' | 'max',
): ChartSeries[] {
  const best = bestPoint(validation, mode);
  // Chart.js draws the first series on top: the best epoch's marker, then the epoch points,
  // over the running line.
  return [
    ...(best
      ? [
          {
            // x = epoch + 1 at an epoch's end; a run stopped within its epoch ends between.
            label: `best ${mode === 'min' ? 'val_loss' : 'val_accuracy'} (epoch ${Math.ceil(best.x)})`,
            points: [best],
            color: COLORS.validation,
            marker: true,
          },
        ]
      : []),
    { label: 'train (epoch)', points: train, color: COLORS.train },
    { label: 'validation (epoch)', points: validation, color: COLORS.validation },
    { label: 'train (running mean)', points: running, color: COLORS.running, thin: true },
  ];
}

function push(points: ChartPoint[], x: number, y: number | undefined): void {
  if (y !== undefined && Number.isFinite(y)) points.push({ x, y });
}
