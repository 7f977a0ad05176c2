/**
 * The search space of a tuner, Keras Tuner style: the user's `build(hp)` asks `hp` for each
 * hyperparameter (`hp.int('units', 32, 512, { step: 32 })`, `hp.choice('learning_rate',
 * [1e-2, 1e-3])`, ...) and gets the value of the current trial. The first build, made while
 * discovering the space, gets each one's default (min / first choice / false); later builds
 * get the values a searcher picked. Every call also records the definition, so a name asked
 * for with two different definitions is an error.
 */
import type { Rng } from '../util/random.js';

export type HpValue = number | string | boolean;
/** The values of one trial, by name. */
export type HpValues = Record<string, HpValue>;
export type Sampling = 'linear' | 'log';

/** One hyperparameter as `hp` recorded it. */
export type HpDefinition =
  | { kind: 'int' | 'float'; name: string; min: number; max: number; step?: number; sampling: Sampling }
  | { kind: 'choice'; name: string; values: readonly HpValue[] }
  | { kind: 'boolean'; name: string }
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
}

/** A mistake in how the search space is defined; a search stops on it. */
export class HyperParameterError extends Error {
  override name = 'HyperParameterError';
}

/** Largest number of values enumerated for one hyperparameter or one grid. */
export const MAX_GRID = 1_000_000;

function show(d: HpDefinition): string {
  switch (d.kind) {
    case 'int':
    case 'float':
      return `${d.kind}(${d.min}, ${d.max}${d.step !== undefined ? `, step ${d.step}` : ''}${d.sampling === 'log' ? ', log' : ''})`;
    case 'choice':
      return `choice(${d.values.map((v) => JSON.stringify(v)).join(', ')})`;
    case 'boolean':
      return 'boolean';
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

/** The value used while discovering the space: min, the first choice, false, or the fixed value. */
export function defaultValue(d: HpDefinition): HpValue {
  switch (d.kind) {
    case 'int':
    case 'float':
      return d.min;
    case 'choice':
      return d.values[0] as HpValue;
    case 'boolean':
      return false;
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

  /** The values asked for in this trial (a copy). */
  get values(): HpValues {
    return { ...this.read };
  }

  /** A value already asked for in this trial. */
  get(name: string): HpValue {
    const v = this.read[name];
    if (v === undefined) throw new HyperParameterError(`hyperparameter '${name}' has not been defined`);
    return v;
  }

  /** An integer in [min, max]: min, min + step, ... (step 1 by default). */
  int(name: string, min: number, max: number, step: number | NumberOptions = {}): number {
    const o = typeof step === 'number' ? { step } : step;
    const d = numberDef('int', name, min, max, o);
    return this.value(d) as number;
  }

  /** A float in [min, max]: continuous, or on a grid with `step`; `log: true` samples log(value). */
  float(name: string, min: number, max: number, step: number | NumberOptions = {}): number {
    const o = typeof step === 'number' ? { step } : step;
    return this.value(numberDef('float', name, min, max, o)) as number;
  }

  /** One of `values` (the first while discovering the space). */
  choice<T extends HpValue>(name: string, values: readonly T[]): T {
    const what = `hp.choice('${name}')`;
    const list: unknown = values;
    if (!Array.isArray(list) || list.length === 0)
      throw new HyperParameterError(`${what}: needs a non-empty list of values`);
    values.forEach((v, i) => {
      checkValue(v, what);
      if (values.indexOf(v) !== i)
        throw new HyperParameterError(`${what}: ${JSON.stringify(v)} is listed twice`);
    });
    return this.value({ kind: 'choice', name: checkName(name), values: [...values] }) as T;
  }

  /** true or false (false while discovering the space). */
  boolean(name: string): boolean {
    return this.value({ kind: 'boolean', name: checkName(name) }) as boolean;
  }

  /** A constant, recorded with the trial's values (Keras Tuner's hp.Fixed). */
  fixed<T extends HpValue>(name: string, value: T): T {
    checkValue(value, `hp.fixed('${name}')`);
    return this.value({ kind: 'fixed', name: checkName(name), value }) as T;
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

function numberDef(
  kind: 'int' | 'float',
  name: string,
  min: number,
  max: number,
  o: NumberOptions,
): HpDefinition & { kind: 'int' | 'float' } {
  if (o.log !== undefined && o.sampling !== undefined && o.log !== (o.sampling === 'log'))
    throw new HyperParameterError(`hp.${kind}('${name}'): log ${o.log} contradicts sampling '${o.sampling}'`);
  const given: unknown = o.log ? 'log' : (o.sampling ?? 'linear');
  if (given !== 'linear' && given !== 'log')
    throw new HyperParameterError(
      `hp.${kind}('${name}'): sampling must be 'linear' or 'log', got ${String(given)}`,
    );
  const sampling: Sampling = given;
  const d = {
    kind,
    name: checkName(name),
    min,
    max,
    sampling,
    ...(o.step !== undefined ? { step: o.step } : {}),
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
