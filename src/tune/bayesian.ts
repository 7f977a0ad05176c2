/**
 * Keras Tuner's BayesianOptimization: the first numInitialPoints trials are random draws,
 * then each trial is the minimum of an upper-confidence-bound acquisition on a Gaussian
 * process fitted to the completed trials, as keras_tuner/tuners/bayesian.py does:
 *
 * - every hyperparameter but the fixed ones is one coordinate of the unit cube (Keras
 *   Tuner's value_to_prob / prob_to_value, see encodeValue / decodeValue);
 * - the scores are negated when the objective is maximized, so the process always models
 *   a quantity to minimize, and standardized (sklearn's normalize_y: mean 0, std 1, a zero
 *   std taken as 1);
 * - the kernel is Matérn ν = 5/2 with one length scale, fitted by maximum marginal
 *   likelihood over [1e-5, 1e5] as sklearn's GaussianProcessRegressor fits Matern(nu=2.5),
 *   plus `alpha` on the diagonal;
 * - the next point minimizes μ(x) − beta·σ(x).
 *
 * Where we differ: (1) Keras Tuner minimizes the acquisition with scipy's L-BFGS-B from 50
 * random starts and sklearn fits the length scale with L-BFGS-B from 21 starts; here the
 * length scale is the best of a log grid refined by golden-section search, and the
 * acquisition is minimized over 2000 seeded random points of the cube whose best 10 are
 * refined by a compass (coordinate pattern) search: deterministic for a seed, no gradients.
 * (2) A proposal that decodes to a configuration already run is replaced by the next-best
 * candidate that does not, then by a random untried one (Keras Tuner's populate_space
 * returns the acquisition's optimum without that check).
 * (3) Trials run one at a time, so no running trial is "hallucinated" into the process.
 */
import type { FitArgs } from '../model/model.js';
import type { Spelled } from '../util/options.js';
import type { Rng } from '../util/random.js';
import {
  countOf,
  defaultValue,
  valuesOf,
  type HpDefinition,
  type HpValue,
  type HpValues,
  type SearchSpace,
} from './hyperparameters.js';
import type { Direction } from './objective.js';
import type { WithHypermodel } from './searchers.js';
import { Tuner, type Hypermodel, type TrialPlan, type TunerOptions } from './tuner.js';

// ------------------------------------------------------------ Gaussian process (float64)

/** Matérn ν = 5/2 of a distance r with length scale ℓ: (1 + √5 r/ℓ + 5r²/3ℓ²)·exp(−√5 r/ℓ). */
export function matern52(r: number, lengthScale: number): number {
  const s = (Math.sqrt(5) * r) / lengthScale;
  return (1 + s + (s * s) / 3) * Math.exp(-s);
}

function distance(a: readonly number[], b: readonly number[]): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const d = (a[i] as number) - (b[i] as number);
    s += d * d;
  }
  return Math.sqrt(s);
}

/** Lower Cholesky factor of a symmetric positive definite [n, n] row-major matrix; undefined if not positive definite. */
function cholesky(a: Float64Array, n: number): Float64Array | undefined {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * n + j] as number;
      for (let k = 0; k < j; k++) s -= (l[i * n + k] as number) * (l[j * n + k] as number);
      if (i === j) {
        if (!(s > 0)) return undefined;
        l[i * n + i] = Math.sqrt(s);
      } else {
        l[i * n + j] = s / (l[j * n + j] as number);
      }
    }
  }
  return l;
}

/** Solves L·x = b (forward substitution); L: [n, n] lower, row-major. */
function solveLower(l: Float64Array, n: number, b: readonly number[] | Float64Array): Float64Array {
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i] as number;
    for (let k = 0; k < i; k++) s -= (l[i * n + k] as number) * (x[k] as number);
    x[i] = s / (l[i * n + i] as number);
  }
  return x;
}

/** Solves Lᵀ·x = b (back substitution). */
function solveUpper(l: Float64Array, n: number, b: Float64Array): Float64Array {
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = b[i] as number;
    for (let k = i + 1; k < n; k++) s -= (l[k * n + i] as number) * (x[k] as number);
    x[i] = s / (l[i * n + i] as number);
  }
  return x;
}

/**
 * A Gaussian process regressor in float64 (sklearn's GaussianProcessRegressor with a
 * Matern(nu=2.5) kernel of unit amplitude and normalize_y): y is standardized, K + alpha·I
 * factored once by Cholesky, then for a query x with k* = k(x, X):
 * mean = ȳ + s·k*ᵀ(K + αI)⁻¹y', variance = s²·max(0, 1 − k*ᵀ(K + αI)⁻¹k*).
 */
export class GaussianProcess {
  readonly n: number;
  private readonly l: Float64Array;
  /** (K + αI)⁻¹ y' with y' the standardized targets. */
  private readonly weights: Float64Array;
  private readonly yMean: number;
  private readonly yStd: number;
  /** The log marginal likelihood of the standardized targets. */
  readonly logLikelihood: number;

  /** x: n points of the unit cube; y: their values; undefined when K + αI is not positive definite. */
  static fit(
    x: readonly (readonly number[])[],
    y: readonly number[],
    alpha: number,
    lengthScale: number,
  ): GaussianProcess | undefined {
    const n = x.length;
    const mean = y.reduce((s, v) => s + v, 0) / n;
    const std = Math.sqrt(y.reduce((s, v) => s + (v - mean) ** 2, 0) / n) || 1;
    const k = new Float64Array(n * n);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++)
        k[i * n + j] =
          matern52(distance(x[i] as number[], x[j] as number[]), lengthScale) + (i === j ? alpha : 0);
    const l = cholesky(k, n);
    if (!l) return undefined;
    const yn = y.map((v) => (v - mean) / std);
    const weights = solveUpper(l, n, solveLower(l, n, yn));
    let logDet = 0;
    for (let i = 0; i < n; i++) logDet += Math.log(l[i * n + i] as number);
    let fit = 0;
    for (let i = 0; i < n; i++) fit += (yn[i] as number) * (weights[i] as number);
    const ll = -0.5 * fit - logDet - 0.5 * n * Math.log(2 * Math.PI);
    return new GaussianProcess(x, l, weights, mean, std, lengthScale, ll);
  }

  private constructor(
    private readonly x: readonly (readonly number[])[],
    l: Float64Array,
    weights: Float64Array,
    yMean: number,
    yStd: number,
    readonly lengthScale: number,
    logLikelihood: number,
  ) {
    this.n = x.length;
    this.l = l;
    this.weights = weights;
    this.yMean = yMean;
    this.yStd = yStd;
    this.logLikelihood = logLikelihood;
  }

  /** The posterior mean and variance at a point. */
  predict(q: readonly number[]): { mean: number; variance: number } {
    const ks = this.x.map((xi) => matern52(distance(xi, q), this.lengthScale));
    let mean = 0;
    for (let i = 0; i < this.n; i++) mean += (ks[i] as number) * (this.weights[i] as number);
    const v = solveLower(this.l, this.n, ks);
    let explained = 0;
    for (let i = 0; i < this.n; i++) explained += (v[i] as number) ** 2;
    return {
      mean: this.yMean + this.yStd * mean,
      variance: this.yStd ** 2 * Math.max(0, 1 - explained),
    };
  }
}

/**
 * The process whose length scale maximizes the marginal likelihood in [1e-5, 1e5] (sklearn's
 * bounds): a grid of 81 points in log ℓ, then golden-section search around the best.
 */
export function fitGaussianProcess(
  x: readonly (readonly number[])[],
  y: readonly number[],
  alpha: number,
): GaussianProcess | undefined {
  const lo = Math.log(1e-5);
  const hi = Math.log(1e5);
  const steps = 80;
  const h = (hi - lo) / steps;
  const at = (t: number): GaussianProcess | undefined => GaussianProcess.fit(x, y, alpha, Math.exp(t));
  let best: GaussianProcess | undefined;
  let bestT = 0;
  for (let i = 0; i <= steps; i++) {
    const gp = at(lo + i * h);
    if (gp && (!best || gp.logLikelihood > best.logLikelihood)) {
      best = gp;
      bestT = lo + i * h;
    }
  }
  if (!best) return undefined;
  const score = (t: number): number => at(t)?.logLikelihood ?? -Infinity;
  let a = Math.max(lo, bestT - h);
  let b = Math.min(hi, bestT + h);
  const g = (Math.sqrt(5) - 1) / 2;
  let c = b - g * (b - a);
  let d = a + g * (b - a);
  let fc = score(c);
  let fd = score(d);
  for (let i = 0; i < 30; i++) {
    if (fc > fd) {
      b = d;
      d = c;
      fd = fc;
      c = b - g * (b - a);
      fc = score(c);
    } else {
      a = c;
      c = d;
      fc = fd;
      d = a + g * (b - a);
      fd = score(d);
    }
  }
  const refined = at((a + b) / 2);
  return refined && refined.logLikelihood > best.logLikelihood ? refined : best;
}

// ------------------------------------------------------------ encoding to the unit cube

type NumberDef = HpDefinition & { kind: 'int' | 'float' };

/** Index of the value nearest to v in a list (exact match first). */
function nearestIndex(list: readonly HpValue[], v: HpValue): number {
  const exact = list.indexOf(v);
  if (exact >= 0 || typeof v !== 'number') return Math.max(0, exact);
  let best = 0;
  for (let i = 1; i < list.length; i++)
    if (Math.abs((list[i] as number) - v) < Math.abs((list[best] as number) - v)) best = i;
  return best;
}

/** Keras Tuner's index_to_prob / prob_to_index: value i of n at the middle of its bucket. */
const indexToProb = (i: number, n: number): number => (i + 0.5) / n;
const probToIndex = (p: number, n: number): number => Math.min(n - 1, Math.max(0, Math.floor(p * n)));

/** Whether a number's values are listed by index (a step, or an int on a linear scale). */
function byIndex(d: NumberDef): boolean {
  return d.step !== undefined || (d.kind === 'int' && d.sampling === 'linear');
}

function linearValue(d: NumberDef, i: number): number {
  const step = d.step ?? 1;
  return d.kind === 'int' ? d.min + i * step : Number((d.min + i * step).toPrecision(12));
}

/**
 * A hyperparameter value as a coordinate in [0, 1], as Keras Tuner's value_to_prob: a
 * choice, a boolean and a number with a step (or a linear int) by index at the middle of its
 * bucket ((i + 0.5)/n; false 0.25, true 0.75); a float without step by its position in
 * [min, max], in log space with log sampling; a log int without step as Keras Tuner's
 * (log((v + 0.5)/min) / log((max + 1)/min)). Fixed hyperparameters have no coordinate.
 */
export function encodeValue(d: HpDefinition, v: HpValue): number {
  switch (d.kind) {
    case 'fixed':
      throw new Error(`internal: fixed '${d.name}' has no coordinate`);
    case 'boolean':
      return v === true ? 0.75 : 0.25;
    case 'choice':
      return indexToProb(nearestIndex(d.values, v), d.values.length);
    case 'int':
    case 'float': {
      const x = v as number;
      if (byIndex(d)) {
        const n = countOf(d);
        if (d.sampling === 'log' && d.step !== undefined) {
          return indexToProb(nearestIndex(valuesOf(d) as readonly HpValue[], x), n);
        }
        const i = Math.min(n - 1, Math.max(0, Math.round((x - d.min) / (d.step ?? 1))));
        return indexToProb(i, n);
      }
      if (d.kind === 'int') return Math.log((x + 0.5) / d.min) / Math.log((d.max + 1) / d.min);
      if (d.max === d.min) return 0.5;
      return d.sampling === 'log'
        ? Math.log(x / d.min) / Math.log(d.max / d.min)
        : (x - d.min) / (d.max - d.min);
    }
  }
}

/** The value at a coordinate p in [0, 1]: encodeValue's inverse on its buckets (Keras Tuner's prob_to_value). */
export function decodeValue(d: HpDefinition, p: number): HpValue {
  switch (d.kind) {
    case 'fixed':
      return d.value;
    case 'boolean':
      return p >= 0.5;
    case 'choice':
      return d.values[probToIndex(p, d.values.length)] as HpValue;
    case 'int':
    case 'float': {
      if (byIndex(d)) {
        const n = countOf(d);
        const i = probToIndex(p, n);
        return d.sampling === 'log' && d.step !== undefined
          ? ((valuesOf(d) as readonly HpValue[])[i] as number)
          : linearValue(d, i);
      }
      if (d.kind === 'int') {
        const v = Math.floor(d.min * ((d.max + 1) / d.min) ** p);
        return Math.min(d.max, Math.max(d.min, v));
      }
      const v = d.sampling === 'log' ? d.min * (d.max / d.min) ** p : d.min + p * (d.max - d.min);
      return Math.min(d.max, Math.max(d.min, v));
    }
  }
}

// ------------------------------------------------------------ the oracle

/** A completed trial as the oracle sees it. */
export interface Observation {
  values: HpValues;
  /** The objective's value (higher is better when the direction is 'max'). */
  score: number;
}

export interface OracleSettings {
  /** Random trials before the process is used (default 3 × the number of hyperparameters, fixed ones included, as Keras Tuner). */
  numInitialPoints?: number;
  alpha: number;
  beta: number;
}

/** Random points of the cube scored by the acquisition; the best few are refined. */
const CANDIDATES = 2000;
const REFINED = 10;

/** Proposes configurations: random ones first, then the acquisition's minimum (see the file's doc). */
export class BayesianOracle {
  constructor(
    private readonly space: SearchSpace,
    private readonly direction: Direction,
    private readonly settings: OracleSettings,
    private readonly rng: Rng,
  ) {}

  /** How many random trials come first for the space as known now. */
  initialPoints(): number {
    return this.settings.numInitialPoints ?? 3 * this.space.definitions.length;
  }

  /**
   * The next configuration: `drawNew`'s random one while fewer than initialPoints() trials
   * completed, else the acquisition's best that `tried` does not know (then a random one).
   * Undefined when no untried configuration is left.
   */
  propose(
    observations: readonly Observation[],
    tried: (values: HpValues) => boolean,
    drawNew: () => HpValues | undefined,
  ): HpValues | undefined {
    const dims = this.space.definitions.filter((d) => d.kind !== 'fixed');
    const done = observations.filter((o) => Number.isFinite(o.score));
    if (dims.length === 0 || done.length === 0 || done.length < this.initialPoints()) return drawNew();
    const x = done.map((o) => dims.map((d) => encodeValue(d, o.values[d.name] ?? defaultValue(d))));
    const y = done.map((o) => (this.direction === 'max' ? -o.score : o.score));
    const gp = fitGaussianProcess(x, y, this.settings.alpha);
    if (!gp) return drawNew();
    const acquisition = (q: readonly number[]): number => {
      const { mean, variance } = gp.predict(q);
      return mean - this.settings.beta * Math.sqrt(variance);
    };
    const points: { x: number[]; a: number }[] = [];
    for (let i = 0; i < CANDIDATES; i++) {
      const q = dims.map(() => this.rng.next());
      points.push({ x: q, a: acquisition(q) });
    }
    points.sort((p, q) => p.a - q.a);
    const refined = points.slice(0, REFINED).map((p) => compassSearch(p.x, p.a, acquisition));
    const ranked = [...refined, ...points].sort((p, q) => p.a - q.a);
    for (const p of ranked) {
      const values: HpValues = {};
      for (const d of this.space.definitions) {
        const i = dims.findIndex((e) => e.name === d.name);
        values[d.name] = decodeValue(d, i >= 0 ? (p.x[i] as number) : 0);
      }
      if (!tried(values)) return values;
    }
    return drawNew();
  }
}

/**
 * Compass search in the unit cube: try ±step along each coordinate, move on improvement,
 * halve the step when none improves, stop below 1e-4.
 */
function compassSearch(
  start: number[],
  value: number,
  f: (q: readonly number[]) => number,
): { x: number[]; a: number } {
  const x = [...start];
  let a = value;
  for (let step = 0.05; step >= 1e-4;) {
    let moved = false;
    for (let i = 0; i < x.length; i++) {
      for (const s of [step, -step]) {
        const q = [...x];
        q[i] = Math.min(1, Math.max(0, (q[i] as number) + s));
        const v = f(q);
        if (v < a) {
          a = v;
          x[i] = q[i] as number;
          moved = true;
        }
      }
    }
    if (!moved) step /= 2;
  }
  return { x, a };
}

// ------------------------------------------------------------ the tuner

export interface BayesianOptimizationOptions extends TunerOptions {
  /** Trials to run (fewer if the space has fewer configurations); default 10, as Keras Tuner. */
  maxTrials?: number;
  /** Random trials first (default 3 × the number of hyperparameters, as Keras Tuner). */
  numInitialPoints?: number;
  /** Added to the kernel's diagonal: the expected noise of the scores (default 1e-4). */
  alpha?: number;
  /** Exploration weight of the acquisition μ − beta·σ (default 2.6). */
  beta?: number;
}

function positiveInt(n: unknown, key: string): number {
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1)
    throw new RangeError(`bayesianOptimization: ${key} must be an integer ≥ 1, got ${String(n)}`);
  return n;
}

function finiteAtLeast(v: unknown, key: string, min: number, strict: boolean): number {
  const ok = typeof v === 'number' && Number.isFinite(v) && (strict ? v > min : v >= min);
  if (!ok)
    throw new RangeError(
      `bayesianOptimization: ${key} must be a finite number ${strict ? '>' : '≥'} ${min}, got ${String(v)}`,
    );
  return v;
}

/** Keras Tuner's BayesianOptimization (see the file's doc): maxTrials 10, alpha 1e-4, beta 2.6 by default. */
export class BayesianOptimization extends Tuner {
  readonly maxTrials: number;
  readonly oracle: BayesianOracle;
  private exhausted = false;

  constructor(hypermodel: Hypermodel, options: Spelled<BayesianOptimizationOptions>);
  constructor(options: WithHypermodel<BayesianOptimizationOptions>);
  constructor(hypermodel: unknown, options?: unknown) {
    super(hypermodel, options, 'bayesianOptimization', ['maxTrials', 'numInitialPoints', 'alpha', 'beta']);
    const o = this.config as BayesianOptimizationOptions;
    this.maxTrials = positiveInt(o.maxTrials ?? 10, 'maxTrials');
    const numInitialPoints =
      o.numInitialPoints === undefined ? undefined : positiveInt(o.numInitialPoints, 'numInitialPoints');
    this.oracle = new BayesianOracle(
      this.space,
      this.objective.direction,
      {
        ...(numInitialPoints !== undefined ? { numInitialPoints } : {}),
        alpha: finiteAtLeast(o.alpha ?? 1e-4, 'alpha', 0, true),
        beta: finiteAtLeast(o.beta ?? 2.6, 'beta', 0, false),
      },
      this.rng,
    );
  }

  get totalTrials(): number {
    return Math.min(this.maxTrials, this.space.size());
  }

  protected begin(_args: FitArgs): void {
    if (!this.verbose) return;
    const space = this.space.definitions.length ? this.space.describe() : 'no hyperparameters';
    this.print(
      `Bayesian optimization: ${this.totalTrials} trials over ${space}, the first ` +
        `${Math.min(this.totalTrials, this.oracle.initialPoints())} random`,
    );
  }

  protected nextTrial(): TrialPlan | undefined {
    if (this.exhausted || this.trials.length >= this.maxTrials) return undefined;
    const observations = this.trials
      .filter((t) => t.status === 'completed' && t.score !== undefined)
      .map((t) => ({ values: t.hyperparameters, score: t.score as number }));
    const values = this.oracle.propose(
      observations,
      (v) => this.wasRun(v),
      () => this.drawNew(),
    );
    if (!values) {
      this.exhausted = true;
      if (this.verbose)
        this.print(`Bayesian optimization: every configuration was tried (${this.trials.length})`);
      return undefined;
    }
    return { values };
  }

  protected override searcherState(): Record<string, unknown> {
    return { exhausted: this.exhausted };
  }

  protected override restoreSearcher(state: Record<string, unknown>): void {
    this.exhausted = state.exhausted === true;
  }
}

/** Keras Tuner's BayesianOptimization: options.maxTrials trials, a Gaussian process after numInitialPoints random ones. */
export function bayesianOptimization(
  hypermodel: Hypermodel,
  options: Spelled<BayesianOptimizationOptions>,
): BayesianOptimization;
export function bayesianOptimization(
  options: WithHypermodel<BayesianOptimizationOptions>,
): BayesianOptimization;
export function bayesianOptimization(hypermodel: unknown, options?: unknown): BayesianOptimization {
  return new BayesianOptimization(hypermodel as Hypermodel, options as BayesianOptimizationOptions);
}
