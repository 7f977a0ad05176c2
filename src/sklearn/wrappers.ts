/**
 * scikit-learn estimators around Keras models (keras.wrappers.scikit_learn / scikeras):
 * `new KerasClassifier(buildFn, params)` or `new KerasClassifier({ model: buildFn, ...params })`.
 *
 * Parameters. JS cannot list a function's named parameters, so the rule is scikeras's: every
 * key given at construction (or by setParams) is a parameter; getParams() lists them with the
 * build function (`model`) and the fit parameters' defaults. fit(X, y) calls
 * `buildFn(buildParams, meta)` for a new compiled model each time (compiling is the build
 * function's job, as in Keras's wrapper), where buildParams holds every parameter that is not
 * a fit parameter, with `model__x` routed to `x` (it wins over a plain `x`), and meta holds
 * `nFeaturesIn`, `nClasses` and `classes` (scikeras's meta). Fit parameters: `epochs` (1),
 * `batch_size` (32), `verbose` (0), `validation_split` (0), `callbacks`, `shuffle` (true),
 * `random_state` (fit's seed), and `fit__x` passed to model.fit as x. camelCase spellings
 * (batchSize, validationSplit, randomState) are stored in snake_case.
 *
 * Classifier targets: labels of any type are encoded as ids into `classes_` (sorted as
 * numpy's unique: numbers ascending, strings by code point), then given to Keras as the
 * compiled loss needs: sparse_categorical_crossentropy → ids; a 1-unit output → 0/1;
 * otherwise (categorical_crossentropy, ...) → one-hot rows [n, units].
 */
import type { GpuData } from '../graph/dataset.js';
import type { Callback } from '../model/callbacks.js';
import { LayersModel, type Prediction } from '../model/model.js';
import { classIds, columnOf, flatten, isOneHotRows, uniqueSorted } from './base.js';
import { encodeIds, FoldRows, type TargetKind } from './gpu-rows.js';
import { r2Score } from './metrics.js';
import type { Labels, Matrix, Target } from './types.js';

/** scikeras's meta: what the build function may need to size the model. */
export interface KerasMeta {
  nFeaturesIn: number;
  /** Classifier only: number of classes in y. */
  nClasses?: number;
  classes?: readonly (number | string)[];
}

/** Builds and compiles a new model from the estimator's parameters. */
export type KerasBuildFn = (
  params: Record<string, unknown>,
  meta: KerasMeta,
) => LayersModel | Promise<LayersModel>;

/** The options object form: `{ model | build_fn | buildFn, ...params }`. */
export type KerasWrapperOptions = {
  model?: KerasBuildFn;
  build_fn?: KerasBuildFn;
  buildFn?: KerasBuildFn;
} & Record<string, unknown>;

/** Fit parameters with their defaults (snake_case, as getParams lists them). */
const FIT_DEFAULTS: Readonly<Record<string, unknown>> = {
  epochs: 1,
  batch_size: 32,
  verbose: 0,
  validation_split: 0,
  callbacks: undefined,
  shuffle: true,
  random_state: undefined,
};

const CAMEL_FIT: Readonly<Record<string, string>> = {
  batchSize: 'batch_size',
  validationSplit: 'validation_split',
  randomState: 'random_state',
};

const BUILD_KEYS = ['model', 'build_fn', 'buildFn'] as const;

/** Whether `name` is a parameter a Keras wrapper accepts: any plain key, or a model__/fit__ routed one. */
function checkParamName(who: string, name: string): void {
  if (name === '' || name.startsWith('__') || name.endsWith('__'))
    throw new TypeError(`${who}: "${name}" is not a parameter name`);
  const routed = /^(\w+?)__(.+)$/.exec(name);
  if (routed && routed[1] !== 'model' && routed[1] !== 'fit') {
    throw new TypeError(
      `${who}: parameter "${name}": only model__ (build function) and fit__ (model.fit) prefixes route parameters`,
    );
  }
}

function snakeFit(name: string): string {
  return CAMEL_FIT[name] ?? name;
}

/** Rows × columns as one row-major Float32Array (base.ts's checks: ragged or non-numeric rows refused). */
export function matrixInput(who: string, x: Matrix): { data: Float32Array; shape: [number, number] } {
  const { flat, rows, cols } = flatten(x, who);
  return { data: Float32Array.from(flat), shape: [rows, cols] };
}

/** numpy's unique order for the labels (base.ts's uniqueSorted; a mix or NaN is an error). */
export function sortedClasses(who: string, y: Labels): (number | string)[] {
  return uniqueSorted<number | string>(y, who);
}

function firstOutput(p: Prediction | Prediction[]): Prediction {
  return Array.isArray(p) ? (p[0] as Prediction) : p;
}

/** X as a fit takes it: host rows, or a search's rows already on the GPU (gpu-rows.ts). */
interface Design {
  rows: number;
  cols: number;
  host(): { data: Float32Array; shape: [number, number] };
  fold?: FoldRows;
}

function designOf(who: string, x: Matrix): Design {
  if (x instanceof FoldRows) {
    return {
      rows: x.indices.length,
      cols: x.source.cols,
      host: () => matrixInput(who, x.matrix()),
      fold: x,
    };
  }
  const input = matrixInput(who, x);
  return { rows: input.shape[0], cols: input.shape[1], host: () => input };
}

/** The targets of a fit: how the loss takes them, and the fold's rows on the host. */
interface TargetSpec {
  kind: TargetKind;
  /** One-hot width (1 otherwise). */
  units: number;
  host(): { data: Float32Array | Uint32Array; shape: number[] };
  /** Whether the search's GPU rows encode the same targets (a classifier's fold may lack a class). */
  gpuOk: boolean;
}

/** model.fit arguments routed by fit__ that a GPU dataset cannot carry, so the fold goes up as host rows. */
const HOST_ONLY_FIT = ['validationdata', 'sampleweight', 'classweight'];

/** What the wrappers share: parameters, building, fitting, cloning. */
export abstract class BaseKerasWrapper {
  readonly buildFn: KerasBuildFn;
  protected params: Record<string, unknown> = {};
  /** The fitted model (undefined before fit). */
  model_: LayersModel | undefined;
  nFeaturesIn_: number | undefined;
  /** fit's history of the last fit (Keras's History). */
  history_: unknown;
  abstract readonly estimatorType: 'classifier' | 'regressor';

  constructor(buildFnOrOptions: KerasBuildFn | KerasWrapperOptions, params: Record<string, unknown> = {}) {
    const who = new.target.name;
    let fn: unknown;
    let rest: Record<string, unknown>;
    if (typeof buildFnOrOptions === 'function') {
      fn = buildFnOrOptions;
      rest = { ...params };
    } else {
      const given = BUILD_KEYS.filter((k) => buildFnOrOptions[k] !== undefined);
      if (given.length !== 1)
        throw new TypeError(
          `${who}: give the build function once, as model, build_fn or buildFn${given.length ? ` (got ${given.join(', ')})` : ''}`,
        );
      fn = buildFnOrOptions[given[0] as string];
      rest = Object.fromEntries(
        Object.entries({ ...buildFnOrOptions, ...params }).filter(
          ([k]) => !(BUILD_KEYS as readonly string[]).includes(k),
        ),
      );
    }
    if (typeof fn !== 'function')
      throw new TypeError(`${who}: the build function must be a function returning a compiled model`);
    this.buildFn = fn as KerasBuildFn;
    this.setParams(rest);
  }

  /** The parameters: `model` (the build function), the fit parameters' values, then every other one. */
  getParams(_deep = true): Record<string, unknown> {
    return { model: this.buildFn, ...FIT_DEFAULTS, ...this.params };
  }

  /** Sets parameters (see the module comment for the names accepted); `model` replaces the build function. */
  setParams(params: Record<string, unknown>): this {
    for (const [k, v] of Object.entries(params)) {
      if ((BUILD_KEYS as readonly string[]).includes(k)) {
        if (typeof v !== 'function')
          throw new TypeError(`${this.constructor.name}: ${k} must be a build function`);
        (this as { buildFn: KerasBuildFn }).buildFn = v as KerasBuildFn;
        continue;
      }
      checkParamName(this.constructor.name, k);
      this.params[snakeFit(k)] = v;
    }
    return this;
  }

  /** A new unfitted estimator with the same build function and (shallow-copied) parameters. */
  clone(): this {
    const Ctor = this.constructor as new (fn: KerasBuildFn, p: Record<string, unknown>) => this;
    return new Ctor(this.buildFn, { ...this.params });
  }

  /** Frees the fitted model's GPU memory. */
  async dispose(): Promise<void> {
    const m = this.model_;
    this.model_ = undefined;
    if (m) await m.dispose();
  }

  protected fitParam(name: string): unknown {
    return name in this.params ? this.params[name] : FIT_DEFAULTS[name];
  }

  /** buildFn's params: every non-fit parameter, model__x routed to x. */
  protected buildParams(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(this.params))
      if (!(k in FIT_DEFAULTS) && !k.includes('__')) out[k] = v;
    for (const [k, v] of Object.entries(this.params)) if (k.startsWith('model__')) out[k.slice(7)] = v;
    return out;
  }

  protected async buildModel(meta: KerasMeta): Promise<LayersModel> {
    const who = this.constructor.name;
    const m: unknown = await this.buildFn(this.buildParams(), meta);
    if (!(m instanceof LayersModel))
      throw new TypeError(`${who}: the build function must return a model, got ${String(m)}`);
    if (!m.isCompiled) throw new TypeError(`${who}: the build function must compile the model it returns`);
    if (!m.isBuilt) m.build([null, meta.nFeaturesIn]);
    if (m.outputs.length !== 1)
      throw new TypeError(`${who}: the model must have one output, has ${m.outputs.length}`);
    return m;
  }

  /** The compiled loss's Keras name (one output). */
  protected lossName(m: LayersModel): string {
    const loss = m.kerasCompileConfig?.loss;
    if (typeof loss !== 'string')
      throw new TypeError(
        `${this.constructor.name}: the model must be compiled with one loss for its one output`,
      );
    return loss;
  }

  protected outputUnits(m: LayersModel): number {
    return (m.outputs[0]?.shape ?? []).reduce((a, b) => a * b, 1);
  }

  /** The model being fitted, whether a fit() is under way, and whether stopFit() asked it to end. */
  private fitting: LayersModel | undefined;
  private inFit = false;
  private stopAsked = false;

  /**
   * Ends the fit() under way (a search's Stop): its model stops at its next check, as
   * EarlyStopping would, or before its first epoch if it is still being built, and fit()
   * returns with the estimator fitted on what it saw. Without a fit under way, nothing.
   */
  stopFit(): void {
    if (!this.inFit) return;
    this.stopAsked = true;
    if (this.fitting) this.fitting.stopTraining = true;
  }

  /** Runs a fit() body: what stopFit() may reach, and a Stop that ends with it. */
  protected async runFit<T>(body: () => Promise<T>): Promise<T> {
    this.inFit = true;
    try {
      return await body();
    } finally {
      this.inFit = false;
      this.stopAsked = false;
    }
  }

  protected async fitModel(m: LayersModel, x: Design, y: TargetSpec): Promise<void> {
    const routed: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(this.params)) if (k.startsWith('fit__')) routed[k.slice(5)] = v;
    const seed = this.fitParam('random_state');
    const given = this.fitParam('callbacks');
    const stopper: Callback = {
      onTrainBegin: () => {
        if (this.stopAsked) m.stopTraining = true;
      },
    };
    const listOf = (v: unknown): unknown[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
    // fit__callbacks joins the callbacks parameter; the stopper stays last.
    const list = [...listOf(given), ...listOf(routed.callbacks)];
    delete routed.callbacks;
    const split = this.fitParam('validation_split');
    const args: Record<string, unknown> = {
      epochs: this.fitParam('epochs'),
      batchSize: this.fitParam('batch_size'),
      verbose: this.fitParam('verbose'),
      validationSplit: split,
      shuffle: this.fitParam('shuffle'),
      ...(seed !== undefined ? { seed } : {}),
      callbacks: [...list, stopper],
      ...routed,
    };
    this.fitting = m;
    try {
      const onGpu = this.foldViews(x, y, split, routed);
      if (!onGpu) {
        this.history_ = await m.fit(x.host(), y.host(), args);
        return;
      }
      const { train, val } = onGpu;
      try {
        // The same rows, order and validation rows as the host path (fit's last-rows split).
        this.history_ = await m.fit(train, undefined, {
          ...args,
          validationSplit: 0,
          ...(val ? { validationData: [val] } : {}),
        });
      } finally {
        train.dispose();
        val?.dispose();
      }
    } finally {
      this.fitting = undefined;
    }
  }

  /**
   * A search's fold as views of its GPU rows (training rows, and the last validation_split of
   * them as fit would take), or undefined when the fold must go up as host rows: not a
   * search's fold, a class missing from the fold, routed weights or validation data, or a
   * split fit would refuse (the host path words that error).
   */
  private foldViews(
    x: Design,
    y: TargetSpec,
    split: unknown,
    routed: Record<string, unknown>,
  ): { train: GpuData; val: GpuData | undefined } | undefined {
    const fold = x.fold;
    if (!fold || !y.gpuOk) return undefined;
    if (Object.keys(routed).some((k) => HOST_ONLY_FIT.includes(k.replaceAll('_', '').toLowerCase())))
      return undefined;
    const fraction = split === undefined ? 0 : Number(split);
    if (!(fraction >= 0 && fraction < 1)) return undefined;
    const n = x.rows;
    const cut = fraction > 0 ? Math.floor(n * (1 - fraction)) : n;
    if (cut === 0 || (fraction > 0 && cut === n)) return undefined;
    const train = fold.view(y.kind, y.units, 0, cut);
    try {
      return { train, val: cut < n ? fold.view(y.kind, y.units, cut, n) : undefined };
    } catch (e) {
      train.dispose();
      throw e;
    }
  }

  protected async replaceModel(m: LayersModel, nFeatures: number): Promise<void> {
    await this.dispose();
    this.model_ = m;
    this.nFeaturesIn_ = nFeatures;
  }

  /** The model's output for X as [rows, units] (row-major). */
  protected async outputOf(
    who: string,
    x: Matrix,
  ): Promise<{ data: Float32Array; rows: number; units: number }> {
    const m = this.model_;
    if (!m) throw new Error(`${who}: this ${this.constructor.name} is not fitted yet; call fit(X, y) first`);
    const design = designOf(who, x);
    if (design.cols !== this.nFeaturesIn_)
      throw new TypeError(`${who}: X has ${design.cols} features, fit saw ${this.nFeaturesIn_}`);
    const rows = design.rows;
    let p: Prediction;
    if (design.fold) {
      const view = design.fold.view();
      try {
        p = firstOutput(await m.predict(view));
      } finally {
        view.dispose();
      }
    } else p = firstOutput(await m.predict(design.host()));
    return { data: p.data, rows, units: p.data.length / Math.max(rows, 1) };
  }
}

/** scikit-learn's classifier over a Keras model (see the module comment). */
export class KerasClassifier extends BaseKerasWrapper {
  readonly estimatorType = 'classifier' as const;
  /** The class labels, sorted; predict gives these. */
  classes_: (number | string)[] | undefined;

  /**
   * y: one label per row, or one-hot rows (to_categorical's dummy_y), as Keras 2's wrapper
   * took them: classes_ are then 0 … k−1 and predict gives those ids.
   */
  async fit(x: Matrix, y?: Target): Promise<this> {
    return this.runFit(() => this.fitOnce(x, y));
  }

  private async fitOnce(x: Matrix, y?: Target): Promise<this> {
    const who = 'KerasClassifier.fit';
    if (!Array.isArray(y)) throw new TypeError(`${who}: y (one label per row) is required`);
    const input = designOf(who, x);
    if (y.length !== input.rows) throw new RangeError(`${who}: X has ${input.rows} rows, y has ${y.length}`);
    const { classes, ids } = classIds(who, y);
    const m = await this.buildModel({ nFeaturesIn: input.cols, nClasses: classes.length, classes });
    try {
      const loss = this.lossName(m);
      const units = this.outputUnits(m);
      let kind: Exclude<TargetKind, 'values'>;
      if (loss === 'sparse_categorical_crossentropy') {
        if (units < classes.length)
          throw new RangeError(`${who}: y has ${classes.length} classes, the model outputs ${units} units`);
        kind = 'ids';
      } else if (units === 1) {
        if (classes.length > 2)
          throw new RangeError(`${who}: a 1-unit output takes 2 classes, y has ${classes.length}`);
        kind = 'binary';
      } else {
        if (units !== classes.length)
          throw new RangeError(
            `${who}: loss ${loss} takes one-hot targets; y has ${classes.length} classes, the model outputs ${units} units`,
          );
        kind = 'onehot';
      }
      const all = input.fold?.source.classes(who);
      await this.fitModel(m, input, {
        kind,
        units: kind === 'onehot' ? units : 1,
        host: () => {
          const t = encodeIds(kind, ids, units);
          return { data: t.data, shape: kind === 'ids' ? [ids.length] : [ids.length, t.width] };
        },
        gpuOk: all !== undefined && all.length === classes.length && all.every((c, i) => c === classes[i]),
      });
    } catch (e) {
      await m.dispose();
      throw e;
    }
    await this.replaceModel(m, input.cols);
    this.classes_ = classes;
    return this;
  }

  /** Class probabilities [rows][classes]; a 1-unit sigmoid output p gives [1 − p, p]. */
  async predictProba(x: Matrix): Promise<number[][]> {
    const { data, rows, units } = await this.outputOf('KerasClassifier.predictProba', x);
    const out: number[][] = [];
    for (let r = 0; r < rows; r++) {
      if (units === 1) {
        const p = data[r] as number;
        out.push([1 - p, p]);
      } else out.push(Array.from(data.subarray(r * units, (r + 1) * units)));
    }
    return out;
  }

  /** The most probable class of each row (argmax; first on ties; p > 0.5 for one unit). */
  async predict(x: Matrix): Promise<(number | string)[]> {
    const proba = await this.predictProba(x);
    const classes = this.classes_ as (number | string)[];
    return proba.map((p) => {
      let best = 0;
      for (let k = 1; k < p.length; k++) if ((p[k] as number) > (p[best] as number)) best = k;
      const c = classes[best];
      if (c === undefined)
        throw new RangeError(
          `KerasClassifier.predict: unit ${best} has no class (fit saw ${classes.length})`,
        );
      return c;
    });
  }

  /** Accuracy of predict(X) against y (labels, or one-hot rows read as their class ids). */
  async score(x: Matrix, y: Target): Promise<number> {
    const who = 'KerasClassifier.score';
    const p = await this.predict(x);
    if (p.length !== y.length) throw new RangeError(`${who}: X has ${p.length} rows, y has ${y.length}`);
    const truth: readonly unknown[] = isOneHotRows(y) ? Array.from(classIds(who, y).ids) : columnOf(y);
    let hits = 0;
    p.forEach((v, i) => (hits += v === truth[i] ? 1 : 0));
    return hits / p.length;
  }
}

/** scikit-learn's regressor over a Keras model with one output unit (see the module comment). */
export class KerasRegressor extends BaseKerasWrapper {
  readonly estimatorType = 'regressor' as const;

  async fit(x: Matrix, y?: Target): Promise<this> {
    return this.runFit(() => this.fitOnce(x, y));
  }

  private async fitOnce(x: Matrix, y?: Target): Promise<this> {
    const who = 'KerasRegressor.fit';
    if (!Array.isArray(y)) throw new TypeError(`${who}: y (one number per row) is required`);
    y = columnOf<unknown>(y) as Target; // numpy's (n, 1) column, as Keras 2's wrapper took it
    const input = designOf(who, x);
    if (y.length !== input.rows) throw new RangeError(`${who}: X has ${input.rows} rows, y has ${y.length}`);
    const bad = (y as readonly unknown[]).findIndex((v) => typeof v !== 'number');
    if (bad >= 0)
      throw new TypeError(
        `${who}: regression targets must be numbers; y[${bad}] is ${JSON.stringify(y[bad])} (use KerasClassifier for labels)`,
      );
    const m = await this.buildModel({ nFeaturesIn: input.cols });
    try {
      const units = this.outputUnits(m);
      if (units !== 1) throw new RangeError(`${who}: the model must output 1 unit, outputs ${units}`);
      await this.fitModel(m, input, {
        kind: 'values',
        units: 1,
        host: () => ({ data: Float32Array.from(y as readonly number[]), shape: [y.length, 1] }),
        gpuOk: input.fold !== undefined,
      });
    } catch (e) {
      await m.dispose();
      throw e;
    }
    await this.replaceModel(m, input.cols);
    return this;
  }

  async predict(x: Matrix): Promise<number[]> {
    const { data } = await this.outputOf('KerasRegressor.predict', x);
    return Array.from(data);
  }

  /** R² of predict(X) against y, in float64: 1 − Σ(y − ŷ)² / Σ(y − ȳ)². */
  async score(x: Matrix, y: Target): Promise<number> {
    const p = await this.predict(x);
    return r2Score(columnOf<unknown>(y) as readonly number[], p);
  }
}
