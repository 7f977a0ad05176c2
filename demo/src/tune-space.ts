/**
 * The Tune tab's search space and settings, without the page: the course's model builder
 * (784 → units relu → 10 softmax, Adam, sparse categorical cross-entropy, accuracy; optionally
 * dropout and batch normalization) as questions to `hp`, the form's parsing, and the counts
 * the tab shows before a search starts.
 */
import {
  hyperbandSchedule,
  HyperParameters,
  scheduleTotals,
  type HpValue,
  type HpValues,
  type Sequential,
  type Trial,
} from '../../src/index.js';
import type { ChartSeries } from './chart.js';
import { buildModel } from './models.js';

export type SearcherKind = 'hyperband' | 'random' | 'grid' | 'bayesian';

export const SEARCHERS: readonly { id: SearcherKind; label: string }[] = [
  { id: 'hyperband', label: 'Hyperband' },
  { id: 'random', label: 'Random search' },
  { id: 'grid', label: 'Grid search' },
  { id: 'bayesian', label: 'Bayesian optimization' },
];

/** Bayesian optimization's exploration weight (Keras Tuner's default beta). */
export const BETA = 2.6;

/** What every search maximises. */
export const OBJECTIVE = 'val_accuracy';
/** The optional extra hyperparameters' values. */
const DROPOUTS = [0, 0.2, 0.5];
/** EarlyStopping in every trial, as the Keras Tuner tutorial passes it to search(). */
export const PATIENCE = 5;

/** What build(hp) asks `hp` for. */
export interface SpaceSettings {
  unitsMin: number;
  unitsMax: number;
  unitsStep: number;
  learningRates: number[];
  /** Also tune dropout (choice 0, 0.2, 0.5) and batch normalization (boolean). */
  extras: boolean;
}

export interface TuneSettings {
  searcher: SearcherKind;
  /** MNIST training rows; the last 10% validate. */
  rows: number;
  batchSize: number;
  /** Epochs per trial (grid, random); Hyperband's maxEpochs. */
  epochs: number;
  maxEpochs: number;
  factor: number;
  /** Random search's and Bayesian optimization's trials. */
  maxTrials: number;
  /** Bayesian optimization's random trials before the Gaussian process (undefined: Keras Tuner's 3 × hyperparameters). */
  initialPoints?: number;
  /** Seeds the draws, the initial weights and the shuffles. */
  seed: number;
  space: SpaceSettings;
}

/** One trial's model configuration, as build(hp) reads it. */
export interface TrialConfig {
  units: number;
  learningRate: number;
  dropout: number;
  batchNorm: boolean;
}

/** The course's model_builder's questions to `hp`. */
export function readSpace(hp: HyperParameters, s: SpaceSettings): TrialConfig {
  const units = hp.int('units', s.unitsMin, s.unitsMax, { step: s.unitsStep });
  const learningRate = hp.choice('learning_rate', s.learningRates);
  if (!s.extras) return { units, learningRate, dropout: 0, batchNorm: false };
  return {
    units,
    learningRate,
    dropout: hp.choice('dropout', DROPOUTS),
    batchNorm: hp.boolean('batch_norm'),
  };
}

/** "1e-2, 1e-3, 1e-4" → [0.01, 0.001, 0.0001]; the message names the field. */
export function parseRates(text: string): number[] {
  const parts = text
    .split(/[\s,;]+/)
    .map((p) => p.trim())
    .filter(Boolean);
  const rates = parts.map(Number);
  const bad = parts.find((_, i) => !(Number.isFinite(rates[i]) && (rates[i] ?? 0) > 0));
  if (parts.length === 0 || bad !== undefined) {
    throw new RangeError(
      `learning rates: "${text}" is not a list of positive numbers like "1e-2, 1e-3, 1e-4"${bad !== undefined ? ` ("${bad}")` : ''}`,
    );
  }
  const twice = rates.find((r, i) => rates.indexOf(r) !== i);
  if (twice !== undefined) throw new RangeError(`learning rates: ${twice} is listed twice`);
  return rates;
}

/** The search space's size and description ("units: 4 × learning_rate: 3"), without building a model. */
export function spaceOf(s: SpaceSettings): { size: number; text: string } {
  const hp = new HyperParameters();
  readSpace(hp, s);
  return { size: hp.space.size(), text: hp.space.describe() };
}

/** A hyperparameter value for the tables: 0.001 as 1e-3 (below 0.1), integers and strings as they are. */
export function formatHp(v: HpValue | undefined): string {
  if (v === undefined) return '—';
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if (typeof v !== 'number' || Number.isInteger(v)) return String(v);
  // Learning rates as the course writes them: 1e-2, 3e-4.
  return Math.abs(v) < 0.1 ? Number(v.toPrecision(4)).toExponential() : String(Number(v.toPrecision(4)));
}

/** Trials the search runs at most (a tuner tells only once its search began). */
export function plannedTrials(cfg: TuneSettings): number {
  const size = spaceOf(cfg.space).size;
  if (cfg.searcher === 'grid') return size;
  if (cfg.searcher === 'random' || cfg.searcher === 'bayesian') return Math.min(cfg.maxTrials, size);
  return scheduleTotals(hyperbandSchedule(cfg.maxEpochs, cfg.factor)).trials;
}

/** Bayesian optimization's random trials first: as given, else Keras Tuner's 3 × the hyperparameters. */
export function initialPointsOf(cfg: TuneSettings): number {
  return cfg.initialPoints ?? 3 * (cfg.space.extras ? 4 : 2);
}

/** "784-48-10 relu +BN dropout 0.2, Adam 1e-2". */
export function describeConfig(hp: HpValues): string {
  const bn = hp.batch_norm === true ? ' +BN' : '';
  const dropout = typeof hp.dropout === 'number' && hp.dropout > 0 ? ` dropout ${hp.dropout}` : '';
  return `784-${String(hp.units)}-10 relu${bn}${dropout}, Adam ${formatHp(hp.learning_rate)}`;
}

/**
 * Each trial's curve of the objective per epoch (x from its initialEpoch + 1, so a Hyperband
 * continuation picks up where its parent stopped), in `colorOf(trial)`; with a `best` trial,
 * the others are faded so that it stands out. Trials with no epoch (failed) are left out.
 */
export function trialCurves(
  trials: readonly Trial[],
  colorOf: (t: Trial) => string,
  best?: Trial,
  objective = OBJECTIVE,
): ChartSeries[] {
  return trials
    .filter((t) => (t.history[objective]?.length ?? 0) > 0)
    .map((t) => ({
      label: `trial ${t.id}: ${describeConfig(t.hyperparameters)}`,
      points: (t.history[objective] ?? []).map((y, i) => ({ x: t.initialEpoch + i + 1, y })),
      color: colorOf(t),
      faded: best !== undefined && t !== best,
    }));
}

/** The settings form's text fields. */
export interface TuneForm {
  rows: string;
  batch: string;
  epochs: string;
  maxEpochs: string;
  factor: string;
  trials: string;
  /** Bayesian optimization's random trials first; blank for Keras Tuner's default. */
  initialPoints: string;
  seed: string;
  unitsMin: string;
  unitsMax: string;
  unitsStep: string;
  rates: string;
}

/** The course's space on a GPU; a small one on a software adapter. */
export function tuneDefaults(fallback: boolean): TuneForm {
  const common = { epochs: '2', factor: '3', seed: '1', rates: '1e-2, 1e-3, 1e-4' };
  return fallback
    ? {
        ...common,
        rows: '2000',
        batch: '32',
        maxEpochs: '3',
        trials: '5',
        initialPoints: '2',
        unitsMin: '16',
        unitsMax: '64',
        unitsStep: '16',
      }
    : {
        ...common,
        rows: '60000',
        batch: '128',
        maxEpochs: '10',
        trials: '10',
        initialPoints: '',
        unitsMin: '32',
        unitsMax: '512',
        unitsStep: '32',
      };
}

/**
 * The model of one trial: the demo's MLP (models.ts) with the trial's units and learning rate
 * (and dropout, batch normalization), glorot_uniform kernels as Keras's Dense has by default,
 * seeded, so trials of the same width start from the same weights.
 */
export function buildTrialModel(hp: HyperParameters, cfg: TuneSettings): Sequential {
  return buildMlp(readSpace(hp, cfg.space), cfg);
}

/** The tab's 784-units-10 MLP for one configuration (a trial's, or a cross-validated candidate's). */
export function buildMlp(
  c: TrialConfig,
  fit: { batchSize: number; epochs: number; seed: number },
): Sequential {
  return buildModel(
    {
      hidden: [c.units],
      activation: 'relu',
      initializer: 'glorot_uniform',
      batchNorm: c.batchNorm,
      dropout: c.dropout,
      optimizer: 'adam',
      learningRate: c.learningRate,
      batchSize: fit.batchSize,
      epochs: fit.epochs,
      seed: fit.seed,
    },
    { name: 'tuned_mlp' },
  );
}

/** The units hp.int(min, max, step) can give: min, min + step, … up to max. */
export function unitsValues(s: SpaceSettings): number[] {
  const out: number[] = [];
  for (let u = s.unitsMin; u <= s.unitsMax; u += s.unitsStep) out.push(u);
  return out;
}

/** "16, 64" → [16, 64]: the cross-validated grid's units; the message names the field. */
export function parseUnits(text: string): number[] {
  const parts = text
    .split(/[\s,;]+/)
    .map((p) => p.trim())
    .filter(Boolean);
  const units = parts.map(Number);
  const bad = parts.find((_, i) => {
    const u = units[i] ?? NaN;
    return !(Number.isSafeInteger(u) && u >= 1 && u <= 4096);
  });
  if (parts.length === 0 || bad !== undefined) {
    throw new RangeError(
      `units: "${text}" is not a list of whole numbers from 1 to 4096 like "16, 64"${bad !== undefined ? ` ("${bad}")` : ''}`,
    );
  }
  const twice = units.find((u, i) => units.indexOf(u) !== i);
  if (twice !== undefined) throw new RangeError(`units: ${twice} is listed twice`);
  return units;
}

// ------------------------------------------------------------ k-fold cross-validation (scikit-learn)

/** The cross-validated grid search's form fields. */
export interface CvForm {
  units: string;
  rates: string;
  folds: string;
  rows: string;
  epochs: string;
  batch: string;
  seed: string;
}

/** The cross-validated grid search's settings. */
export interface CvSettings {
  /** paramGrid: { units, learning_rate }. */
  units: number[];
  learningRates: number[];
  /** k of the (stratified) k-fold split. */
  folds: number;
  /** The first MNIST training rows, all of them in the folds. */
  rows: number;
  epochs: number;
  batchSize: number;
  /** Each fit's random_state: initial weights and shuffles. */
  seed: number;
  /** Refit the best candidate on all rows (scikit-learn's refit=True). */
  refit: boolean;
}

/** 3 folds of 1,000 rows, 2 × 2 candidates on a software adapter: 12 quick fits. */
export function cvDefaults(fallback: boolean): CvForm {
  return fallback
    ? { units: '16, 64', rates: '1e-2, 1e-3', folds: '3', rows: '1000', epochs: '1', batch: '32', seed: '1' }
    : {
        units: '32, 128, 512',
        rates: '1e-2, 1e-3, 1e-4',
        folds: '3',
        rows: '5000',
        epochs: '3',
        batch: '128',
        seed: '1',
      };
}

/** scikit-learn's line before a search: "Fitting 3 folds for each of 4 candidates, totalling 12 fits". */
export function fittingLine(folds: number, candidates: number): string {
  return `Fitting ${folds} folds for each of ${candidates} candidates, totalling ${folds * candidates} fits`;
}

/** One candidate of a search's cv_results_, as the table shows it. */
export interface CvRow {
  params: Record<string, unknown>;
  /** split0_test_score, split1_test_score, … */
  splits: number[];
  mean: number;
  std: number;
  rank: number;
  /** Seconds. */
  meanFitTime: number;
}

/** cv_results_'s columns as rows, one per candidate (the order of the grid). */
export function cvRows(results: Readonly<Record<string, unknown>>, folds: number): CvRow[] {
  const column = (name: string): ArrayLike<number> => {
    const c = results[name];
    if (!c || typeof (c as ArrayLike<number>).length !== 'number')
      throw new TypeError(`cv_results_ has no column ${name}`);
    return c as ArrayLike<number>;
  };
  const params = results.params as readonly Record<string, unknown>[];
  const mean = column('mean_test_score');
  const std = column('std_test_score');
  const rank = column('rank_test_score');
  const fit = column('mean_fit_time');
  const splits = Array.from({ length: folds }, (_, f) => column(`split${f}_test_score`));
  return params.map((p, i) => ({
    params: p,
    splits: splits.map((s) => s[i] ?? NaN),
    mean: mean[i] ?? NaN,
    std: std[i] ?? NaN,
    rank: rank[i] ?? NaN,
    meanFitTime: fit[i] ?? NaN,
  }));
}
