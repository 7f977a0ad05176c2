/**
 * scikit-learn's model selection for estimators: cross_val_score, cross_validate,
 * GridSearchCV and RandomizedSearchCV (error_score=nan, refit=True, population std, ranks
 * by method='min'). Folds are cut once per search and shared by every candidate; a Keras
 * wrapper's folds are views of rows uploaded once (gpu-rows.ts). stop() ends a search after
 * the fit running now; verbose 2 and 3 print scikit-learn's line per fit.
 *
 * cv: a number k (KFold(k) without shuffle, or StratifiedKFold(k) for a classifier, as
 * scikit-learn), a splitter with split(X, y) (types.ts's Splitter, or src/data's KFold /
 * StratifiedKFold), or the folds as [train, test] index pairs. scoring: undefined (the
 * estimator's score), a name of metrics.ts's scorer ('accuracy', 'f1', 'roc_auc', 'r2',
 * 'neg_mean_squared_error', 'neg_mean_absolute_error'), a Scorer, or a function
 * (estimator, X, y) → score.
 */
import { crossValScore as crossValScoreBuild, type CrossValResult } from '../tune/crossval.js';
import { KFold, kFold, StratifiedKFold, stratifiedKFold, type Split } from '../data/prep.js';
import type { LayersModel } from '../model/model.js';
import type { DataInput } from '../model/fit-data.js';
import { readOptions, type Spelled } from '../util/options.js';
import { iota, type Rng } from '../util/random.js';
import { numpyRandomState } from '../data/datasets/numpy-random.js';
import { FoldRows, SearchRows } from './gpu-rows.js';
import { classIds, isOneHotRows } from './base.js';
import { KerasClassifier, KerasRegressor } from './wrappers.js';
import { isLibraryScorer, scorer, type Scorer } from './metrics.js';
import type { Estimator, Labels, Matrix, Splitter, Target } from './types.js';

export type Fold = [number[], number[]];
export type ScorerFn = (estimator: Estimator, x: Matrix, y: Target) => number | Promise<number>;
export type Cv = number | Splitter | KFold | StratifiedKFold | readonly Fold[];

export interface CvOptions {
  cv?: Cv;
  scoring?: string | Scorer | ScorerFn;
  /** 0 silent; ≥ 1 prints the number of fits (searches). */
  verbose?: number;
}

const CV_KEYS = { cv: true, scoring: true, verbose: true } as const;
const CROSS_VALIDATE_KEYS = { ...CV_KEYS, returnTrainScore: true } as const;
const SEARCH_KEYS = { ...CV_KEYS, refit: true } as const;
const RANDOMIZED_KEYS = { ...SEARCH_KEYS, nIter: true, randomState: true } as const;

/** scikit-learn's is_classifier: `estimatorType` (or `_estimator_type`) is 'classifier'. */
export function isClassifier(e: Estimator): boolean {
  const t = e as { estimatorType?: unknown; _estimator_type?: unknown };
  return t.estimatorType === 'classifier' || t._estimator_type === 'classifier';
}

function toFolds(splits: Split[]): Fold[] {
  return splits.map((s) => [Array.from(s.train), Array.from(s.test)]);
}

/** The folds `cv` gives for (X, y). */
export function resolveCv(
  who: string,
  cv: Cv | undefined,
  estimator: Estimator,
  x: Matrix,
  y?: Target,
): Fold[] {
  const n = x.length;
  // scikit-learn's type_of_target: one-hot rows are 'multilabel-indicator', which it does not stratify.
  const oneHot = y !== undefined && isOneHotRows(y);
  const ids = (): number[] => {
    if (!y) throw new TypeError(`${who}: stratified folds need y`);
    if (oneHot)
      throw new TypeError(
        `${who}: StratifiedKFold supports binary and multiclass targets; y holds one-hot rows ` +
          '(multilabel-indicator): pass the class labels (e.g. encoded_Y) or KFold',
      );
    return Array.from(classIds(who, y).ids);
  };
  let folds: Fold[];
  if (cv === undefined || typeof cv === 'number') {
    const k = cv ?? 5;
    folds = toFolds(
      isClassifier(estimator) && y && !oneHot ? stratifiedKFold(ids(), { folds: k }) : kFold(n, { folds: k }),
    );
  } else if (cv instanceof KFold) folds = toFolds(cv.split(n));
  else if (cv instanceof StratifiedKFold) folds = toFolds(cv.split(ids()));
  else if (Array.isArray(cv)) folds = (cv as readonly Fold[]).map(([a, b]) => [Array.from(a), Array.from(b)]);
  else if (typeof (cv as Splitter).split === 'function')
    folds = [...(cv as Splitter).split(x, y)].map(([a, b]) => [Array.from(a), Array.from(b)]);
  else
    throw new TypeError(`${who}: cv must be a number of folds, a splitter or a list of [train, test] folds`);
  if (folds.length === 0) throw new RangeError(`${who}: cv gives no folds`);
  folds.forEach(([train, test], f) => {
    for (const i of [...train, ...test])
      if (!Number.isSafeInteger(i) || i < 0 || i >= n)
        throw new RangeError(`${who}: fold ${f} holds row ${i}, not a row index in [0, ${n})`);
  });
  return folds;
}

function meanOf(a: readonly number[]): number {
  return a.reduce((s, v) => s + v, 0) / a.length;
}

function stdOf(a: readonly number[]): number {
  const m = meanOf(a);
  return Math.sqrt(a.reduce((s, v) => s + (v - m) ** 2, 0) / a.length);
}

/** A scorer function: the estimator's own score (undefined), a scoring name (metrics.ts's scorer), a Scorer or a function. */
export function resolveScoring(who: string, scoring: string | Scorer | ScorerFn | undefined): ScorerFn {
  if (typeof scoring === 'function') return scoring;
  if (scoring === undefined)
    return (e, x, y) => {
      if (!e.score) throw new TypeError(`${who}: the estimator has no score(); give scoring`);
      return e.score(x, y);
    };
  const s = typeof scoring === 'string' ? scorer(scoring) : scoring;
  // One-hot rows reach the metric as they are, and fail there as scikit-learn's metrics do.
  return (e, x, y) => s.score(e, x, y as Labels);
}

function rows<T>(a: readonly T[], idx: readonly number[]): T[] {
  return idx.map((i) => a[i] as T);
}

async function disposeOf(e: Estimator): Promise<void> {
  const d = (e as { dispose?: () => unknown }).dispose;
  if (typeof d === 'function') await d.call(e);
}

/** Parameter values that are estimators are cloned per fit, as scikit-learn clones them. */
function cloneValues(params: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(params).map(([k, v]) => [
      k,
      typeof (v as { clone?: unknown } | null)?.clone === 'function' ? (v as Estimator).clone() : v,
    ]),
  );
}

interface FoldResult {
  test: number;
  train?: number;
  fitTime: number;
  scoreTime: number;
  /** stop() came before this fit ended: the model saw part of its epochs. */
  cut?: boolean;
}

/** Whether `scoring` reads X only through a wrapper's own methods (so it may be given GPU rows). */
function gpuScoring(scoring: CvOptions['scoring']): boolean {
  return scoring === undefined || typeof scoring === 'string' || isLibraryScorer(scoring);
}

/**
 * The data of one cross-validation or search: a Keras wrapper's folds train and score on rows
 * uploaded once (gpu-rows.ts); any other estimator, and a scoring function of the user's, get
 * host rows. Also what Stop reaches: the estimator fitting now.
 */
class CvRun {
  private readonly gpu: SearchRows | undefined;
  current: Estimator | undefined;
  stopAsked = false;

  constructor(
    readonly who: string,
    readonly estimator: Estimator,
    readonly x: Matrix,
    readonly y: Target | undefined,
    readonly score: ScorerFn,
    /** Whether `score` may be given a wrapper's GPU rows (the library's scorers and score()). */
    private readonly scoreOnGpu: boolean,
    readonly verbose: number,
  ) {
    // The library's own wrappers only: a subclass's fit / predict / score may read X as rows.
    const own = estimator.constructor === KerasClassifier || estimator.constructor === KerasRegressor;
    const rows = own ? new SearchRows(who, x, y) : undefined;
    this.gpu = rows?.finite ? rows : undefined;
  }

  /** Datasets uploaded so far (one per target encoding; 0 for host estimators). */
  get uploads(): number {
    return this.gpu?.uploads ?? 0;
  }

  /** y's rows `idx` (labels, targets or one-hot rows). */
  private yOf(idx: readonly number[]): Target {
    return rows<unknown>(this.y as readonly unknown[], idx) as Target;
  }

  /** X's rows `idx` for a fit (forScore false) or a score. */
  xOf(idx: readonly number[], forScore: boolean): Matrix {
    if (this.gpu && (!forScore || this.scoreOnGpu)) return new FoldRows(this.gpu, idx).asMatrix();
    return rows(this.x, idx);
  }

  /** Fits a clone (with params) on the fold's training rows and scores it; a failed fit scores NaN with a warning. */
  async fitAndScore(
    params: Record<string, unknown>,
    [train, test]: Fold,
    withTrain: boolean,
    progress: { split: number; splits: number },
  ): Promise<FoldResult> {
    const { who } = this;
    const e = this.estimator.clone().setParams(cloneValues(params));
    this.current = e;
    const yt = this.y ? this.yOf(train) : undefined;
    const t0 = performance.now();
    try {
      await e.fit(this.xOf(train, false), yt);
    } catch (err) {
      console.warn(`${who}: a fit failed, its score is NaN (error_score=nan): ${String(err)}`);
      await disposeOf(e);
      this.current = undefined;
      const fitTime = (performance.now() - t0) / 1000;
      this.report(params, progress, NaN, withTrain ? NaN : undefined, fitTime);
      return {
        test: NaN,
        ...(withTrain ? { train: NaN } : {}),
        fitTime,
        scoreTime: 0,
        ...(this.stopAsked ? { cut: true } : {}),
      };
    }
    const t1 = performance.now();
    const cut = this.stopAsked;
    // scikit-learn's error_score=nan covers scoring too (e.g. a fold that saw one class only).
    const scored = async (idx: readonly number[]): Promise<number> => {
      try {
        return await this.score(e, this.xOf(idx, true), this.y ? this.yOf(idx) : []);
      } catch (err) {
        console.warn(`${who}: scoring failed, the score is NaN (error_score=nan): ${String(err)}`);
        return NaN;
      }
    };
    try {
      const testScore = await scored(test);
      const t2 = performance.now();
      const trainScore = withTrain ? await scored(train) : undefined;
      const result = {
        test: testScore,
        ...(trainScore !== undefined ? { train: trainScore } : {}),
        fitTime: (t1 - t0) / 1000,
        scoreTime: (t2 - t1) / 1000,
        ...(cut ? { cut } : {}),
      };
      this.report(params, progress, testScore, trainScore, result.fitTime + result.scoreTime);
      return result;
    } finally {
      this.current = undefined;
      await disposeOf(e);
    }
  }

  /**
   * scikit-learn 1.2's line per fit (_fit_and_score): verbose 2 "[CV] END params; total
   * time=   0.5s", dotted to 80 columns; verbose 3 adds the split ("[CV 2/5]") and the score.
   */
  private report(
    params: Record<string, unknown>,
    { split, splits }: { split: number; splits: number },
    test: number,
    train: number | undefined,
    seconds: number,
  ): void {
    if (this.verbose <= 1) return;
    const start = `[CV${this.verbose > 2 ? ` ${split + 1}/${splits}` : ''}] END `;
    const shown = Object.keys(params)
      .sort()
      .map((k) => `${k}=${String(params[k])}`)
      .join(', ');
    let result = shown + (shown ? ';' : '');
    if (this.verbose > 2) {
      const f = (v: number): string => v.toFixed(3);
      result += train === undefined ? `, score=${f(test)}` : `, score=(train=${f(train)}, test=${f(test)})`;
    }
    // joblib's short_format_time.
    const time =
      seconds > 60 ? `${(seconds / 60).toFixed(1).padStart(4)}min` : ` ${seconds.toFixed(1).padStart(5)}s`;
    result += ` total time=${time}`;
    console.log(start + '.'.repeat(Math.max(0, 80 - start.length - result.length)) + result);
  }

  /** Ends the fit running now (a Keras wrapper stops at its next check). */
  stop(): void {
    this.stopAsked = true;
    const e = this.current as { stopFit?: () => void } | undefined;
    e?.stopFit?.();
  }

  dispose(): void {
    this.gpu?.dispose();
  }
}

export interface CrossValidateOptions extends CvOptions {
  /** Also score each fold's training rows (scikit-learn's return_train_score). */
  returnTrainScore?: boolean;
}

export interface CrossValidateResult {
  test_score: Float64Array;
  /** Seconds. */
  fit_time: Float64Array;
  score_time: Float64Array;
  train_score?: Float64Array;
}

/** scikit-learn's cross_validate: per fold, a clone fitted on the training rows and scored on the test rows. */
export async function crossValidate(
  estimator: Estimator,
  x: Matrix,
  y?: Target,
  given: Spelled<CrossValidateOptions> = {},
): Promise<CrossValidateResult> {
  const who = 'crossValidate';
  const options = readOptions<CrossValidateOptions>(who, given, CROSS_VALIDATE_KEYS);
  const folds = resolveCv(who, options.cv, estimator, x, y);
  const score = resolveScoring(who, options.scoring);
  const withTrain = options.returnTrainScore ?? false;
  const run = new CvRun(
    who,
    estimator,
    x,
    y,
    score,
    typeof options.scoring !== 'function',
    options.verbose ?? 0,
  );
  const out: FoldResult[] = [];
  try {
    for (const [f, fold] of folds.entries())
      out.push(await run.fitAndScore({}, fold, withTrain, { split: f, splits: folds.length }));
  } finally {
    run.dispose();
  }
  return {
    test_score: Float64Array.from(out, (r) => r.test),
    fit_time: Float64Array.from(out, (r) => r.fitTime),
    score_time: Float64Array.from(out, (r) => r.scoreTime),
    ...(withTrain ? { train_score: Float64Array.from(out, (r) => Number(r.train)) } : {}),
  };
}

/**
 * scikit-learn's cross_val_score for an estimator: the test score of each fold. Given a build
 * function instead (src/tune's crossValScore), it runs that one and returns its result.
 */
export function crossValScore(
  build: () => LayersModel,
  x: DataInput,
  y: DataInput,
  options?: Parameters<typeof crossValScoreBuild>[3],
): Promise<CrossValResult>;
export function crossValScore(
  estimator: Estimator,
  x: Matrix,
  y?: Target,
  options?: Spelled<CvOptions>,
): Promise<Float64Array>;
export async function crossValScore(
  a: Estimator | (() => LayersModel),
  x: Matrix | DataInput,
  y?: Target | DataInput,
  options: object = {},
): Promise<Float64Array | CrossValResult> {
  if (typeof a === 'function') return crossValScoreBuild(a, x, y as DataInput, options);
  const o = readOptions<CvOptions>('crossValScore', options, CV_KEYS);
  return (await crossValidate(a, x as Matrix, y as Target | undefined, o)).test_score;
}

// ---------------------------------------------------------------------------------------
// Searches

/** A distribution RandomizedSearchCV samples from. */
export interface Distribution {
  readonly kind: string;
  rvs(rng: Rng): number;
}

function checkRange(who: string, lo: number, hi: number): void {
  if (!Number.isFinite(lo) || !Number.isFinite(hi) || !(lo < hi))
    throw new RangeError(`${who}(${lo}, ${hi}): need finite lo < hi`);
}

/** Uniform on [lo, hi). Note: scipy's uniform(loc, scale) is [loc, loc + scale]; this takes the bounds. */
export function uniform(lo: number, hi: number): Distribution {
  checkRange('uniform', lo, hi);
  return { kind: 'uniform', rvs: (rng) => lo + (hi - lo) * rng.next() };
}

/** Log-uniform on [lo, hi), 0 < lo (scipy's loguniform(a, b)). */
export function logUniform(lo: number, hi: number): Distribution {
  checkRange('logUniform', lo, hi);
  if (lo <= 0) throw new RangeError(`logUniform(${lo}, ${hi}): lo must be > 0`);
  // scipy's loguniform ppf, a·(b/a)^u, on the uniform it draws.
  return { kind: 'logUniform', rvs: (rng) => lo * Math.pow(hi / lo, rng.next()) };
}

/** Integers lo, ..., hi − 1, equally likely (scipy's randint(low, high)). */
export function randint(lo: number, hi: number): Distribution {
  checkRange('randint', lo, hi);
  if (!Number.isSafeInteger(lo) || !Number.isSafeInteger(hi))
    throw new RangeError(`randint(${lo}, ${hi}): need integers`);
  return { kind: 'randint', rvs: (rng) => lo + rng.int(hi - lo) };
}

/**
 * scikit-learn's sample_without_replacement(method='auto'): `k` distinct indices below `n`, drawn
 * as it draws them (a permutation's head when 1% < k/n < 99%, else tracking selection below
 * 20%, reservoir sampling above), so a random_state picks its candidates.
 */
export function sampleWithoutReplacement(n: number, k: number, rng: Rng): number[] {
  if (!Number.isSafeInteger(n) || !Number.isSafeInteger(k) || n < 0 || k < 0 || k > n)
    throw new RangeError(`sampleWithoutReplacement: need integers 0 ≤ k ≤ n, got n ${n}, k ${k}`);
  const ratio = n === 0 ? 1 : k / n;
  if (ratio > 0.01 && ratio < 0.99) return Array.from(rng.shuffle(iota(n)).subarray(0, k));
  if (ratio < 0.2) {
    const picked = new Set<number>();
    const out: number[] = [];
    while (out.length < k) {
      let j = rng.int(n);
      while (picked.has(j)) j = rng.int(n);
      picked.add(j);
      out.push(j);
    }
    return out;
  }
  const out = Array.from({ length: k }, (_, i) => i);
  for (let i = k; i < n; i++) {
    const j = rng.int(i + 1);
    if (j < k) out[j] = i;
  }
  return out;
}

function isDistribution(v: unknown): v is Distribution {
  return typeof v === 'object' && v !== null && typeof (v as Distribution).rvs === 'function';
}

/** A parameter name in either spelling, per `__` segment: batchSize and batch_size agree. */
function canonical(name: string): string {
  return name
    .split('__')
    .map((seg) => seg.replace(/_/g, '').toLowerCase())
    .join('__');
}

/**
 * Checks every name against the estimator's parameters, in either spelling (setParams takes
 * both), with a pipeline's step__param and a Keras wrapper's model__ / fit__ routing.
 */
function checkNames(who: string, estimator: Estimator, names: Iterable<string>): void {
  const params = estimator.getParams(true);
  const known = Object.keys(params);
  const set = new Set(known.map(canonical));
  for (const name of names) {
    if (set.has(canonical(name))) continue;
    // A Keras wrapper (alone, or a pipeline step "step__model") routes model__x / fit__x.
    const routed = /^(.*?)(model|fit)__\w/.exec(name);
    if (routed && typeof params[`${routed[1] ?? ''}model`] === 'function') continue;
    throw new TypeError(
      `${who}: "${name}" is not a parameter of the estimator; its parameters: ${known.join(', ')}`,
    );
  }
}

export interface SearchOptions extends CvOptions {
  /** Refit the best candidate on all of X, y as bestEstimator (default true). */
  refit?: boolean;
}

export interface CvResults {
  params: Record<string, unknown>[];
  mean_test_score: Float64Array;
  std_test_score: Float64Array;
  rank_test_score: Int32Array;
  mean_fit_time: Float64Array;
  std_fit_time: Float64Array;
  mean_score_time: Float64Array;
  std_score_time: Float64Array;
  /** split0_test_score, ...; param_<name> columns. */
  [column: string]: unknown;
}

/** Ranks by descending mean, ties sharing the lowest rank; NaN means rank after all others. */
export function rankMin(means: ArrayLike<number>): Int32Array {
  const v = Array.from(means);
  const ranks = new Int32Array(v.length);
  const finite = v.filter((m) => !Number.isNaN(m));
  v.forEach((m, i) => {
    ranks[i] = Number.isNaN(m) ? finite.length + 1 : 1 + finite.filter((o) => o > m).length;
  });
  return ranks;
}

/** What GridSearchCV and RandomizedSearchCV share: run candidates over shared folds, rank, refit. */
abstract class BaseSearchCV {
  bestParams: Record<string, unknown> | undefined;
  bestScore: number | undefined;
  bestIndex: number | undefined;
  bestEstimator: Estimator | undefined;
  cvResults: CvResults | undefined;
  nSplits: number | undefined;

  readonly options: SearchOptions;

  constructor(
    readonly estimator: Estimator,
    given: Spelled<SearchOptions> | Spelled<RandomizedSearchOptions>,
    keys: Readonly<Record<string, true>> = SEARCH_KEYS,
  ) {
    this.options = readOptions<SearchOptions>(this.constructor.name, given, keys);
  }

  protected abstract candidates(): Record<string, unknown>[];

  /** Whether the last fit() ended by stop(): cvResults then holds the candidates finished before it, and no refit ran. */
  stopped = false;
  private run: CvRun | undefined;

  async fit(x: Matrix, y?: Target): Promise<this> {
    const who = this.constructor.name;
    const cands = this.candidates();
    const folds = resolveCv(who, this.options.cv, this.estimator, x, y);
    const score = resolveScoring(who, this.options.scoring);
    const verbose = this.options.verbose ?? 0;
    if (verbose > 0)
      console.log(
        `Fitting ${folds.length} folds for each of ${cands.length} candidates, totalling ${folds.length * cands.length} fits`,
      );
    // A new search replaces the last one's results, refitted model included (scikit-learn
    // with refit=False has no best_estimator_): nothing of an earlier X may answer predict().
    if (this.bestEstimator) await disposeOf(this.bestEstimator);
    this.bestEstimator = undefined;
    this.cvResults = undefined;
    this.bestParams = undefined;
    this.bestScore = undefined;
    this.bestIndex = undefined;
    const run = new CvRun(who, this.estimator, x, y, score, gpuScoring(this.options.scoring), verbose);
    this.run = run;
    this.stopped = false;
    try {
      const results: FoldResult[][] = [];
      const done: Record<string, unknown>[] = [];
      for (const params of cands) {
        const per: FoldResult[] = [];
        for (const [f, fold] of folds.entries()) {
          if (run.stopAsked) break;
          per.push(await run.fitAndScore(params, fold, false, { split: f, splits: folds.length }));
        }
        // A candidate with a fold not reached or cut short has no score: it is left out. One
        // whose last fit ended before stop() (stopped while scoring) is whole.
        if (per.length === folds.length && !per.some((r) => r.cut)) {
          results.push(per);
          done.push(params);
        }
        if (run.stopAsked) break;
      }
      this.stopped = run.stopAsked;
      this.tabulate(who, done, folds.length, results);
      // tabulate() set it: read it back past the narrowing of the reset above.
      const best = this.bestParams as Record<string, unknown> | undefined;
      if (this.stopped || !(this.options.refit ?? true) || !best) return this;
      // A refit that fails leaves no estimator behind (the error says why).
      const e = this.estimator.clone().setParams(cloneValues(best));
      run.current = e;
      try {
        await e.fit(
          run.xOf(
            Array.from({ length: x.length }, (_, i) => i),
            false,
          ),
          y,
        );
      } catch (err) {
        await disposeOf(e);
        throw err;
      } finally {
        run.current = undefined;
      }
      if (run.stopAsked) {
        // Stopped during the refit: a model trained part-way is not the best estimator.
        this.stopped = true;
        await disposeOf(e);
        return this;
      }
      this.bestEstimator = e;
      return this;
    } finally {
      this.run = undefined;
      run.dispose();
    }
  }

  /**
   * Ends a running fit() (a page's Stop button): the fit running now stops at its next check,
   * and fit() resolves with the candidates finished before it (`stopped` true, no refit).
   */
  stop(): void {
    this.run?.stop();
  }

  /** cvResults and the best candidate from each finished candidate's per-fold results. */
  private tabulate(
    who: string,
    cands: Record<string, unknown>[],
    splits: number,
    results: FoldResult[][],
  ): void {
    const col = (f: (r: FoldResult) => number, g: (a: number[]) => number): Float64Array =>
      Float64Array.from(results, (per) => g(per.map(f)));
    const means = col((r) => r.test, meanOf);
    const table: CvResults = {
      params: cands.map((p) => ({ ...p })),
      mean_test_score: means,
      std_test_score: col((r) => r.test, stdOf),
      rank_test_score: rankMin(means),
      mean_fit_time: col((r) => r.fitTime, meanOf),
      std_fit_time: col((r) => r.fitTime, stdOf),
      mean_score_time: col((r) => r.scoreTime, meanOf),
      std_score_time: col((r) => r.scoreTime, stdOf),
    };
    for (let f = 0; f < splits; f++)
      table[`split${f}_test_score`] = Float64Array.from(results, (per) => per[f]?.test ?? NaN);
    for (const name of new Set(cands.flatMap((p) => Object.keys(p))))
      table[`param_${name}`] = cands.map((p) => p[name]);
    const bad = Array.from(means).flatMap((m, i) => (Number.isFinite(m) ? [] : [i]));
    if (bad.length)
      console.warn(
        `${who}: one or more of the test scores are non-finite (candidates ${bad.join(', ')}); they rank last`,
      );
    this.cvResults = table;
    this.nSplits = splits;
    const best = Array.from(table.rank_test_score).indexOf(1);
    this.bestIndex = best >= 0 ? best : undefined;
    this.bestParams = best >= 0 ? { ...(cands[best] as Record<string, unknown>) } : undefined;
    this.bestScore = best >= 0 ? means[best] : undefined;
  }

  private fitted(who: string): Estimator {
    if (!this.bestEstimator) throw new Error(`${who}: not fitted with refit; call fit(X, y) first`);
    return this.bestEstimator;
  }

  /** The refitted best estimator's predict. */
  async predict(x: Matrix): Promise<(number | string)[]> {
    const e = this.fitted(`${this.constructor.name}.predict`);
    if (!e.predict) throw new TypeError(`${this.constructor.name}.predict: the estimator has no predict`);
    return e.predict(x);
  }

  /** The search's scoring of the refitted best estimator on (X, y). */
  async score(x: Matrix, y: Target): Promise<number> {
    return resolveScoring(this.constructor.name, this.options.scoring)(
      this.fitted(`${this.constructor.name}.score`),
      x,
      y,
    );
  }

  async dispose(): Promise<void> {
    if (this.bestEstimator) await disposeOf(this.bestEstimator);
    this.bestEstimator = undefined;
  }
}

export type ParamGrid = Readonly<Record<string, readonly unknown[]>>;

/** scikit-learn's ParameterGrid: each grid's keys sorted, the last key varying fastest. */
export function parameterGrid(
  who: string,
  grid: ParamGrid | readonly ParamGrid[],
): Record<string, unknown>[] {
  const grids = Array.isArray(grid) ? (grid as readonly ParamGrid[]) : [grid as ParamGrid];
  if (grids.length === 0) throw new RangeError(`${who}: the parameter grid is empty`);
  const out: Record<string, unknown>[] = [];
  for (const g of grids) {
    const keys = Object.keys(g).sort();
    if (keys.length === 0) throw new RangeError(`${who}: the parameter grid is empty`);
    for (const k of keys) {
      const vals = g[k];
      if (!Array.isArray(vals) || vals.length === 0)
        throw new RangeError(`${who}: parameter "${k}" needs a non-empty list of values`);
    }
    let acc: Record<string, unknown>[] = [{}];
    for (const k of keys)
      acc = acc.flatMap((p) => (g[k] as readonly unknown[]).map((v) => ({ ...p, [k]: v })));
    out.push(...acc);
  }
  return out;
}

/** scikit-learn's GridSearchCV: every candidate of the grid, scored by cross-validation. */
export class GridSearchCV extends BaseSearchCV {
  private readonly grid: Record<string, unknown>[];
  constructor(
    estimator: Estimator,
    paramGrid: ParamGrid | readonly ParamGrid[],
    options: Spelled<SearchOptions> = {},
  ) {
    super(estimator, options);
    this.grid = parameterGrid('GridSearchCV', paramGrid);
    checkNames('GridSearchCV', estimator, new Set(this.grid.flatMap((p) => Object.keys(p))));
  }
  protected candidates(): Record<string, unknown>[] {
    return this.grid;
  }
}

export type ParamDistributions = Readonly<Record<string, readonly unknown[] | Distribution>>;

export interface RandomizedSearchOptions extends SearchOptions {
  /** Candidates to sample (default 10). */
  nIter?: number;
  /** Seeds the sampling (scikit-learn's random_state). */
  randomState?: number;
}

/**
 * scikit-learn's RandomizedSearchCV: nIter candidates, each parameter (keys sorted) drawn from
 * its list (uniformly) or distribution. When every value is a list the candidates are drawn
 * from the grid without repeats (at most the grid's size), as scikit-learn's ParameterSampler,
 * and the draws are numpy's RandomState(random_state)'s: the same candidates for the same seed.
 */
export class RandomizedSearchCV extends BaseSearchCV {
  private readonly dists: ParamDistributions;
  constructor(
    estimator: Estimator,
    paramDistributions: ParamDistributions,
    given: Spelled<RandomizedSearchOptions> = {},
  ) {
    super(estimator, given, RANDOMIZED_KEYS);
    const options = this.options as RandomizedSearchOptions;
    const who = 'RandomizedSearchCV';
    const keys = Object.keys(paramDistributions);
    if (keys.length === 0) throw new RangeError(`${who}: the parameter distributions are empty`);
    for (const k of keys) {
      const d = paramDistributions[k];
      if (!isDistribution(d) && (!Array.isArray(d) || d.length === 0))
        throw new TypeError(
          `${who}: parameter "${k}" needs a non-empty list or a distribution (uniform, logUniform, randint)`,
        );
    }
    const n = options.nIter ?? 10;
    if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`${who}: nIter ${n} must be an integer ≥ 1`);
    checkNames(who, estimator, keys);
    this.dists = paramDistributions;
  }

  protected candidates(): Record<string, unknown>[] {
    const o = this.options as RandomizedSearchOptions;
    // scikit-learn's ParameterSampler draws from numpy's RandomState(random_state): the same
    // candidates for the same seed.
    const rng = numpyRandomState(o.randomState);
    const nIter = o.nIter ?? 10;
    const keys = Object.keys(this.dists).sort();
    if (keys.every((k) => Array.isArray(this.dists[k]))) {
      const grid = parameterGrid('RandomizedSearchCV', this.dists as ParamGrid);
      if (nIter > grid.length)
        console.warn(
          `RandomizedSearchCV: the grid has ${grid.length} candidates, fewer than nIter ${nIter}; using ${grid.length}`,
        );
      return sampleWithoutReplacement(grid.length, Math.min(nIter, grid.length), rng).map(
        (i) => grid[i] as Record<string, unknown>,
      );
    }
    return Array.from({ length: nIter }, () => {
      const p: Record<string, unknown> = {};
      for (const k of keys) {
        const d = this.dists[k] as readonly unknown[] | Distribution;
        p[k] = isDistribution(d) ? d.rvs(rng) : d[rng.int(d.length)];
      }
      return p;
    });
  }
}
