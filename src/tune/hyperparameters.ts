/**
 * The search space of a tuner, Keras Tuner style: the user's `build(hp)` asks `hp` for each
 * hyperparameter (`hp.int('units', 32, 512, { step: 32 })`, `hp.choice('learning_rate',
 * [1e-2, 1e-3])`, ...) and gets the value of the current trial. The first build, made while
 * discovering the space, gets each one's default (min / first choice / false); later builds
 * get the values a searcher picked. Every call also records the definition, so a name asked
 * for with two different definitions is an error.
 */
import { readOptions, type Spelled } from '../util/options.js';
import type { Rng } from '../util/random.js';

export type HpValue = number | string | boolean;
/** The values of one trial, by name. */
export type HpValues = Record<string, HpValue>;
export type Sampling = 'linear' | 'log';

/** One hyperparameter as `hp` recorded it. */
export type HpDefinition =
  | {
      kind: 'int' | 'float';
      name: string;
      min: number;
      max: number;
      step?: number;
      sampling: Sampling;
      default?: number;
    }
  | { kind: 'choice'; name: string; values: readonly HpValue[]; default?: HpValue }
  | { kind: 'boolean'; name: string; default?: boolean }
  | { kind: 'fixed'; name: string; value: HpValue };

export interface NumberOptions {
  /**
   * Linear sampling: the spacing of the values (min, min + step, ... ≤ max). Log sampling:
   * the factor between them (min, min·step, ... ≤ max; > 1), as in Keras Tuner.
   */
  step?: number;
  /** 'log': uniform in log(value) (min > 0). Default 'linear'. */
  sampling?: Sampling;
  /** Shorthand for sampling: 'log'. */
  log?: boolean;
  /** The value while discovering the space and when a trial gives none (default: min). */
  default?: number;
}

/** hp.int / hp.float with every argument named, as Keras Tuner's keywords. */
export interface RangeOptions extends NumberOptions {
  minValue: number;
  maxValue: number;
}

/** hp.choice's options beside the values. */
export interface ChoiceOptions<T extends HpValue = HpValue> {
  /**
   * Whether the values are ordered (Keras Tuner: only its Bayesian oracle reads it; grid,
   * random and Hyperband search do not, here as there).
   */
  ordered?: boolean;
  /** The value while discovering the space (default: the first value). */
  default?: T;
}

/** hp.choice with every argument named. */
export interface ChoiceArgs<T extends HpValue = HpValue> extends ChoiceOptions<T> {
  values: readonly T[];
}

/** hp.boolean's options. */
export interface BooleanOptions {
  /** The value while discovering the space (default false). */
  default?: boolean;
}

/** hp.fixed with its value named. */
export interface FixedArgs<T extends HpValue = HpValue> {
  value: T;
}

/** A mistake in how the search space is defined; a search stops on it. */
export class HyperParameterError extends Error {
  override name = 'HyperParameterError';
}

/** Largest number of values enumerated for one hyperparameter or one grid. */
export const MAX_GRID = 1_000_000;

function show(d: HpDefinition): string {
  const dflt = d.kind !== 'fixed' && d.default !== undefined ? `, default ${JSON.stringify(d.default)}` : '';
  switch (d.kind) {
    case 'int':
    case 'float':
      return `${d.kind}(${d.min}, ${d.max}${d.step !== undefined ? `, step ${d.step}` : ''}${d.sampling === 'log' ? ', log' : ''}${dflt})`;
    case 'choice':
      return `choice(${d.values.map((v) => JSON.stringify(v)).join(', ')}${dflt})`;
    case 'boolean':
      return `boolean${dflt ? `(${dflt.slice(2)})` : ''}`;
    case 'fixed':
      return `fixed(${JSON.stringify(d.value)})`;
  }
}

function same(a: HpDefinition, b: HpDefinition): boolean {
  return show(a) === show(b);
}

function checkNumberDef(d: HpDefinition & { kind: 'int' | 'float' }): void {
  const what = `hp.${d.kind}('${d.name}')`;
  const isNum = d.kind === 'int' ? Number.isSafeInteger : Number.isFinite;
  const kind = d.kind === 'int' ? 'an integer' : 'a finite number';
  if (!isNum(d.min)) throw new HyperParameterError(`${what}: min ${d.min} must be ${kind}`);
  if (!isNum(d.max)) throw new HyperParameterError(`${what}: max ${d.max} must be ${kind}`);
  if (d.min > d.max) throw new HyperParameterError(`${what}: min ${d.min} > max ${d.max}`);
  if (d.sampling === 'log' && d.min <= 0)
    throw new HyperParameterError(`${what}: log sampling needs min > 0, got ${d.min}`);
  if (d.step !== undefined) {
    if (!Number.isFinite(d.step) || d.step <= 0)
      throw new HyperParameterError(`${what}: step ${d.step} must be > 0`);
    if (d.sampling === 'linear' && d.kind === 'int' && !Number.isSafeInteger(d.step))
      throw new HyperParameterError(`${what}: step ${d.step} must be an integer`);
    if (d.sampling === 'log' && d.step <= 1)
      throw new HyperParameterError(
        `${what}: with log sampling, step is a factor and must be > 1, got ${d.step}`,
      );
  }
  if (d.default !== undefined && (!isNum(d.default) || d.default < d.min || d.default > d.max))
    throw new HyperParameterError(`${what}: default ${d.default} must be ${kind} in [${d.min}, ${d.max}]`);
}

function checkValue(v: unknown, what: string): asserts v is HpValue {
  const ok = typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
  if (!ok) throw new HyperParameterError(`${what}: ${String(v)} is not a finite number, string or boolean`);
}

/** Rounds away float noise (0.1 + 0.2) in generated values, keeping 12 significant digits. */
function tidy(v: number): number {
  return Number(v.toPrecision(12));
}

/** The step of a number's value list; undefined for a continuous one (a float without step). */
function stepOf(d: HpDefinition & { kind: 'int' | 'float' }): number | undefined {
  // An int without step lists every integer, log sampling included.
  return d.step ?? (d.kind === 'int' ? 1 : undefined);
}

/** How many values (min, min + step, ... ≤ max) a linear list has, without listing them. */
function linearCount(d: HpDefinition & { kind: 'int' | 'float' }, step: number): number {
  // The 1e-9 keeps max when (max − min) / step is a whole number up to rounding.
  return Math.floor((d.max - d.min) / step + 1e-9) + 1;
}

/** Whether the values are min + i·step (log sampling with a step multiplies instead). */
function isLinearList(d: HpDefinition & { kind: 'int' | 'float' }): boolean {
  return d.sampling === 'linear' || d.step === undefined;
}

/**
 * The finite list of values of a hyperparameter, in order; undefined for a continuous one
 * (a float without step). An int without step lists every integer, log sampling included.
 */
export function valuesOf(d: HpDefinition): readonly HpValue[] | undefined {
  switch (d.kind) {
    case 'choice':
      return d.values;
    case 'boolean':
      return [false, true];
    case 'fixed':
      return [d.value];
    case 'int':
    case 'float': {
      const step = stepOf(d);
      if (step === undefined) return undefined;
      if (isLinearList(d)) {
        return range(linearCount(d, step), d.name, (i) =>
          d.kind === 'int' ? d.min + i * step : tidy(d.min + i * step),
        );
      }
      const n = Math.floor(Math.log(d.max / d.min) / Math.log(step) + 1e-9) + 1;
      const values = range(n, d.name, (i) => {
        const v = d.min * step ** i;
        return d.kind === 'int' ? Math.round(v) : tidy(v);
      });
      // An int factor below 2 rounds neighbours to the same integer (1, 1.5 → 2, 2.25 → 2).
      return d.kind === 'int' ? [...new Set(values)] : values;
    }
  }
}

/** How many values valuesOf lists (Infinity for a continuous one), without listing a linear range. */
export function countOf(d: HpDefinition): number {
  if ((d.kind === 'int' || d.kind === 'float') && isLinearList(d)) {
    const step = stepOf(d);
    return step === undefined ? Infinity : linearCount(d, step);
  }
  return (valuesOf(d) as readonly HpValue[]).length;
}

function range(n: number, name: string, at: (i: number) => number): number[] {
  if (n > MAX_GRID)
    throw new HyperParameterError(`'${name}' has ${n} values; at most ${MAX_GRID} can be listed`);
  return Array.from({ length: n }, (_, i) => at(i));
}

/** A random value: uniform over the listed values, else uniform (or log-uniform) in [min, max]. */
export function sampleValue(d: HpDefinition, rng: Rng): HpValue {
  if (d.kind === 'int' || d.kind === 'float') {
    // A float without step is continuous; an int with log sampling and no step is drawn
    // log-uniformly, then rounded.
    if (d.step === undefined && (d.kind === 'float' || d.sampling === 'log')) {
      const u = rng.next();
      const v = d.sampling === 'log' ? d.min * (d.max / d.min) ** u : d.min + u * (d.max - d.min);
      if (d.kind === 'float') return Math.min(d.max, v);
      return Math.min(d.max, Math.max(d.min, Math.round(v)));
    }
    // A linear range: the i-th value, without listing the range (it may hold millions).
    const step = stepOf(d);
    if (step !== undefined && isLinearList(d)) {
      const i = rng.int(linearCount(d, step));
      return d.kind === 'int' ? d.min + i * step : tidy(d.min + i * step);
    }
  }
  const values = valuesOf(d) as readonly HpValue[];
  return values[rng.int(values.length)] as HpValue;
}

/**
 * The value used while discovering the space: the given default, else min, the first choice,
 * false, or the fixed value (Keras Tuner's defaults).
 */
export function defaultValue(d: HpDefinition): HpValue {
  switch (d.kind) {
    case 'int':
    case 'float':
      return d.default ?? d.min;
    case 'choice':
      return d.default ?? (d.values[0] as HpValue);
    case 'boolean':
      return d.default ?? false;
    case 'fixed':
      return d.value;
  }
}

/** The hyperparameters seen so far, in the order build() first asked for them. */
export class SearchSpace {
  private readonly defs = new Map<string, HpDefinition>();

  get definitions(): readonly HpDefinition[] {
    return [...this.defs.values()];
  }

  get(name: string): HpDefinition | undefined {
    return this.defs.get(name);
  }

  /** Records `d`; true if the name is new. A name seen with another definition is an error. */
  register(d: HpDefinition): boolean {
    const old = this.defs.get(d.name);
    if (old) {
      if (!same(old, d)) {
        throw new HyperParameterError(
          `hyperparameter '${d.name}' is defined twice: ${show(old)}, then ${show(d)}`,
        );
      }
      return false;
    }
    this.defs.set(d.name, d);
    return true;
  }

  /** "units: 4 × learning_rate: 3" (value counts; ∞ for a continuous one). */
  describe(): string {
    return this.definitions
      .map((d) => {
        const n = countOf(d);
        return `${d.name}: ${Number.isFinite(n) ? n : '∞'}`;
      })
      .join(' × ');
  }

  /** The number of distinct configurations, Infinity when one hyperparameter is continuous. */
  size(): number {
    let n = 1;
    for (const d of this.defs.values()) n *= countOf(d);
    return n;
  }

  /**
   * Whether a build given `candidate` would read exactly the values in `read` (the values an
   * earlier build read, in any order; a name missing from `candidate` takes its default). A
   * build's path depends only on the values it reads, so such a candidate builds the same
   * model: it differs at most in hyperparameters that build does not use.
   */
  sameAs(read: HpValues, candidate: HpValues): boolean {
    return Object.entries(read).every(([name, v]) => {
      const d = this.defs.get(name);
      if (!d || d.kind === 'fixed') return true; // a fixed value is read whatever the trial gives
      return (candidate[name] ?? defaultValue(d)) === v;
    });
  }
}

/**
 * What build(hp) receives: ask for each hyperparameter by name with its range; get the value
 * of the current trial. `values` holds every value asked for so far in this trial (values
 * the trial was given for names this build did not ask for are left out).
 */
export class HyperParameters {
  /** The trial's values, by name, and the defaults given so far. */
  private readonly current: HpValues;
  /** The values build() asked for, in the order it asked. */
  private readonly read: HpValues = {};

  constructor(
    readonly space: SearchSpace = new SearchSpace(),
    values: HpValues = {},
    /** Called with names that build() asked for and the space did not hold yet. */
    private readonly onNew?: (d: HpDefinition) => void,
  ) {
    this.current = { ...values };
  }

  /**
   * Keras Tuner's capitalised names, so deck code reads the same: hp.Int, hp.Float,
   * hp.Choice, hp.Boolean, hp.Fixed are hp.int, ... under another name.
   */
  readonly Int: HyperParameters['int'] = (name: string, ...args: unknown[]) =>
    this.value(numberDef('int', name, args)) as number;
  readonly Float: HyperParameters['float'] = (name: string, ...args: unknown[]) =>
    this.value(numberDef('float', name, args)) as number;
  readonly Choice: HyperParameters['choice'] = (name: string, ...args: unknown[]) =>
    this.choiceOf(name, args) as never;
  readonly Boolean: HyperParameters['boolean'] = (name: string, ...args: unknown[]) =>
    this.booleanOf(name, args);
  readonly Fixed: HyperParameters['fixed'] = (name: string, ...args: unknown[]) =>
    this.fixedOf(name, args) as never;

  /** The values asked for in this trial (a copy). */
  get values(): HpValues {
    return { ...this.read };
  }

  /**
   * A value of this trial: one build() asked for, or, on the hyperparameters a tuner returns
   * (getBestHyperparameters), one of the trial's values (Keras Tuner's hp.get).
   */
  get(name: string): HpValue {
    const v = this.read[name];
    if (v === undefined) throw new HyperParameterError(`hyperparameter '${name}' has not been defined`);
    return v;
  }

  /**
   * Hyperparameters holding `values` as if build() had asked for them (values, get): what
   * tuner.getBestHyperparameters() returns, and what build(hp) receives to rebuild that model.
   */
  static of(values: HpValues, space: SearchSpace = new SearchSpace()): HyperParameters {
    const hp = new HyperParameters(space, values);
    Object.assign(hp.read, values);
    return hp;
  }

  /** JSON.stringify(hp) gives the values. */
  toJSON(): HpValues {
    return this.values;
  }

  /**
   * An integer in [min, max]: min, min + step, ... (step 1 by default). Keras Tuner's
   * arguments, positional or named: `hp.int('units', 32, 512, 32)`,
   * `hp.int('units', 32, 512, { step: 32 })`, `hp.Int('units', { min_value: 32, max_value:
   * 512, step: 32 })`, and after step `sampling` and `default`.
   */
  int(name: string, options: Spelled<RangeOptions>): number;
  int(name: string, minValue: number, maxValue: number, options?: Spelled<NumberOptions>): number;
  int(
    name: string,
    minValue: number,
    maxValue: number,
    step: number | null | undefined,
    options?: Spelled<NumberOptions>,
  ): number;
  int(
    name: string,
    minValue: number,
    maxValue: number,
    step: number | null | undefined,
    sampling: Sampling | null | undefined,
    defaultValue?: number | null,
  ): number;
  int(name: string, ...args: unknown[]): number {
    return this.value(numberDef('int', name, args)) as number;
  }

  /**
   * A float in [min, max]: continuous, or on a grid with `step`; `sampling: 'log'` (or
   * `log: true`) samples log(value). Arguments as hp.int's.
   */
  float(name: string, options: Spelled<RangeOptions>): number;
  float(name: string, minValue: number, maxValue: number, options?: Spelled<NumberOptions>): number;
  float(
    name: string,
    minValue: number,
    maxValue: number,
    step: number | null | undefined,
    options?: Spelled<NumberOptions>,
  ): number;
  float(
    name: string,
    minValue: number,
    maxValue: number,
    step: number | null | undefined,
    sampling: Sampling | null | undefined,
    defaultValue?: number | null,
  ): number;
  float(name: string, ...args: unknown[]): number {
    return this.value(numberDef('float', name, args)) as number;
  }

  /**
   * One of `values` (the first, or `default`, while discovering the space):
   * `hp.choice('learning_rate', [1e-2, 1e-3])`, `hp.Choice('learning_rate', { values: [...] })`,
   * with Keras Tuner's `ordered` and `default` after the values.
   */
  choice<T extends HpValue>(name: string, options: Spelled<ChoiceArgs<T>>): T;
  choice<T extends HpValue>(name: string, values: readonly T[], options?: Spelled<ChoiceOptions<T>>): T;
  choice<T extends HpValue>(
    name: string,
    values: readonly T[],
    ordered: boolean | null | undefined,
    defaultValue?: T | null,
  ): T;
  choice(name: string, ...args: unknown[]): HpValue {
    return this.choiceOf(name, args);
  }

  private choiceOf(name: string, args: unknown[]): HpValue {
    const what = `hp.choice('${name}')`;
    const o = hpArgs<ChoiceArgs>(what, ['values', 'ordered', 'default'], args);
    const list: unknown = o.values;
    if (!Array.isArray(list) || list.length === 0)
      throw new HyperParameterError(`${what}: needs a non-empty list of values`);
    const values = list as HpValue[];
    values.forEach((v, i) => {
      checkValue(v, what);
      if (values.indexOf(v) !== i)
        throw new HyperParameterError(`${what}: ${JSON.stringify(v)} is listed twice`);
    });
    const ordered: unknown = o.ordered;
    if (ordered !== undefined && typeof ordered !== 'boolean')
      throw new HyperParameterError(`${what}: ordered must be true or false, got ${String(ordered)}`);
    if (o.default !== undefined && !values.includes(o.default))
      throw new HyperParameterError(
        `${what}: default ${JSON.stringify(o.default)} is not one of the values ${JSON.stringify(values)}`,
      );
    return this.value({
      kind: 'choice',
      name: checkName(name),
      values: [...values],
      ...(o.default !== undefined ? { default: o.default } : {}),
    });
  }

  /** true or false (false, or `default`, while discovering the space). */
  boolean(name: string, options?: Spelled<BooleanOptions>): boolean;
  boolean(name: string, defaultValue: boolean | null | undefined): boolean;
  boolean(name: string, ...args: unknown[]): boolean {
    return this.booleanOf(name, args);
  }

  private booleanOf(name: string, args: unknown[]): boolean {
    const what = `hp.boolean('${name}')`;
    const o = hpArgs<BooleanOptions>(what, ['default'], args);
    const dflt: unknown = o.default;
    if (dflt !== undefined && typeof dflt !== 'boolean')
      throw new HyperParameterError(`${what}: default must be true or false, got ${String(dflt)}`);
    return this.value({
      kind: 'boolean',
      name: checkName(name),
      ...(dflt !== undefined ? { default: dflt } : {}),
    }) as boolean;
  }

  /** A constant, recorded with the trial's values (Keras Tuner's hp.Fixed): `hp.fixed('batch', 64)`. */
  fixed<T extends HpValue>(name: string, value: T | Spelled<FixedArgs<T>>): T;
  fixed(name: string, ...args: unknown[]): HpValue {
    return this.fixedOf(name, args);
  }

  private fixedOf(name: string, args: unknown[]): HpValue {
    const what = `hp.fixed('${name}')`;
    const o = hpArgs<FixedArgs>(what, ['value'], args);
    if (!('value' in o)) throw new HyperParameterError(`${what}: needs a value`);
    checkValue(o.value, what);
    return this.value({ kind: 'fixed', name: checkName(name), value: o.value });
  }

  private value(d: HpDefinition): HpValue {
    if (this.space.register(d)) this.onNew?.(d);
    let v = this.current[d.name];
    if (v === undefined || d.kind === 'fixed') {
      v = defaultValue(d);
      this.current[d.name] = v;
    }
    this.read[d.name] = v;
    return v;
  }
}

function checkName(name: unknown): string {
  if (typeof name !== 'string' || name === '')
    throw new HyperParameterError(`a hyperparameter name must be a non-empty string, got ${String(name)}`);
  return name;
}

/** Keras Tuner's conditional scopes: not supported (a build reads the parent's value instead). */
const CONDITIONAL_KEYS = ['parentName', 'parentValues'] as const;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * The arguments of an hp method after the name, as Keras Tuner takes them: positional in
 * Keras Tuner's order (`positional`, null or undefined for one not given), then at most one
 * object of named options, in either spelling. A name given both ways is an error, as in
 * Python; so are Keras Tuner's parent_name / parent_values.
 */
function hpArgs<T extends object>(
  what: string,
  positional: readonly (keyof T & string)[],
  args: unknown[],
): T {
  const out: Record<string, unknown> = {};
  let last = args.length;
  while (last > 0 && args[last - 1] === undefined) last--;
  for (let i = 0; i < last; i++) {
    const a = args[i];
    if (isPlainObject(a)) {
      if (i !== last - 1) throw new TypeError(`${what}: the options object must be the last argument`);
      let named: Record<string, unknown>;
      try {
        named = readOptions<Record<string, unknown>>(what, a, [
          ...positional,
          ...CONDITIONAL_KEYS,
          ...extraKeys(positional),
        ]);
      } catch (e) {
        throw new HyperParameterError(e instanceof Error ? e.message : String(e));
      }
      for (const k of CONDITIONAL_KEYS) {
        if (named[k] !== undefined)
          throw new HyperParameterError(
            `${what}: Keras Tuner's parent_name / parent_values (conditional hyperparameters) are not supported; ` +
              "ask for the hyperparameter inside an `if` on the parent's value instead (build(hp) records only what it reads)",
          );
      }
      for (const [k, v] of Object.entries(named)) {
        if (k in out)
          throw new HyperParameterError(`${what}: '${k}' is given both positionally and as an option`);
        out[k] = v;
      }
      continue;
    }
    const key = positional[i];
    if (key === undefined)
      throw new HyperParameterError(
        `${what}: too many arguments (${last}); Keras Tuner's order is ${positional.join(', ')}, then an options object`,
      );
    if (a !== null && a !== undefined) out[key] = a;
  }
  return out as T;
}

/** Named options beside the positional ones: our `log` shorthand for numbers. */
function extraKeys(positional: readonly string[]): string[] {
  return positional.includes('sampling') ? ['log'] : [];
}

function numberDef(
  kind: 'int' | 'float',
  name: string,
  args: unknown[],
): HpDefinition & { kind: 'int' | 'float' } {
  const what = `hp.${kind}('${name}')`;
  const o = hpArgs<Partial<RangeOptions>>(
    what,
    ['minValue', 'maxValue', 'step', 'sampling', 'default'],
    args,
  );
  if (o.minValue === undefined || o.maxValue === undefined)
    throw new HyperParameterError(
      `${what}: needs min_value and max_value (hp.${kind}(name, min, max, step))`,
    );
  for (const k of ['minValue', 'maxValue', 'step', 'default'] as const) {
    const v: unknown = o[k];
    if (v !== undefined && typeof v !== 'number')
      throw new HyperParameterError(`${what}: ${k} must be a number, got ${typeof v} ${String(v)}`);
  }
  const log: unknown = o.log;
  if (log !== undefined && typeof log !== 'boolean')
    throw new HyperParameterError(`${what}: log must be true or false, got ${String(log)}`);
  const sampling0: unknown = o.sampling;
  if (log !== undefined && sampling0 !== undefined && log !== (sampling0 === 'log'))
    throw new HyperParameterError(`${what}: log ${log} contradicts sampling '${o.sampling}'`);
  const given: unknown = log ? 'log' : (o.sampling ?? 'linear');
  const note = given === 'reverse_log' ? " (Keras Tuner's reverse_log is not supported)" : '';
  if (given !== 'linear' && given !== 'log')
    throw new HyperParameterError(`${what}: sampling must be 'linear' or 'log', got ${String(given)}${note}`);
  const sampling: Sampling = given;
  const d = {
    kind,
    name: checkName(name),
    min: o.minValue,
    max: o.maxValue,
    sampling,
    ...(o.step !== undefined ? { step: o.step } : {}),
    ...(o.default !== undefined ? { default: o.default } : {}),
  };
  checkNumberDef(d);
  return d;
}

/** Every configuration of the space (the first name varies slowest), or an error naming a continuous one. */
export function gridOf(space: SearchSpace): HpValues[] {
  const defs = space.definitions;
  const lists = defs.map((d) => {
    const values = valuesOf(d);
    if (!values) {
      throw new HyperParameterError(
        `grid search needs a finite set of values: '${d.name}' is a ${d.kind} without step; give it { step } or use hp.choice`,
      );
    }
    return values;
  });
  const total = lists.reduce((n, l) => n * l.length, 1);
  if (total > MAX_GRID)
    throw new HyperParameterError(`the grid has ${total} configurations; at most ${MAX_GRID}`);
  const out: HpValues[] = [];
  for (let i = 0; i < total; i++) {
    const values: HpValues = {};
    let rest = i;
    for (let k = defs.length - 1; k >= 0; k--) {
      const list = lists[k] as readonly HpValue[];
      values[(defs[k] as HpDefinition).name] = list[rest % list.length] as HpValue;
      rest = Math.floor(rest / list.length);
    }
    // Keep the definition order in the record (the loop above filled it from the last name).
    out.push(Object.fromEntries(defs.map((d) => [d.name, values[d.name] as HpValue])));
  }
  return out;
}
