/**
 * Keras weight regularizers: L1(l1), L2(l2) and L1L2(l1, l2) add
 *     penalty(w) = l1·Σ|w| + l2·Σw²
 * to the loss (Keras's formula; `l2(0.001)` adds 0.001·w² per coefficient). The graph applies
 * the factors per parameter (Param.l1/l2 in src/graph/ir.ts); penalty() is the float64 value,
 * for the reported loss and for tests.
 *
 * Defaults: a name ('l1', 'l2', 'l1_l2') or a factory called without a factor uses 0.01 per
 * factor, as tf.keras 2's functions and tfjs-layers do (Keras 3's L1L2 class defaults both to 0).
 * A plain object { l1, l2 } gives the factors, a missing one being 0.
 *
 * Serialization: `className` and `config` are Keras 3's (L1 → { l1 }, L2 → { l2 }, L1L2 →
 * { l1, l2 }). tfjs-layers 4.22 registers only L1L2 (its l1() and l2() build L1L2 objects),
 * so a model.json meant for tfjs should write { class_name: 'L1L2', config: { l1, l2 } }
 * with both factors.
 */
import { suggest } from './names.js';

export interface Regularizer {
  l1: number;
  l2: number;
  className: 'L1' | 'L2' | 'L1L2';
  config: Record<string, number>;
}

/**
 * Factors ({ l2: 1e-4 }), a name ('l1' | 'l2' | 'l1_l2', factor 0.01), a serialized Keras
 * object ({ className: 'L1L2', config: { l1, l2 } }) or a regularizer.
 */
export type RegularizerSpec =
  | { l1?: number; l2?: number }
  | string
  | { className: string; config?: Record<string, unknown> }
  | Regularizer;

/** Keras's default factor. */
const DEFAULT_FACTOR = 0.01;

function factor(what: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    throw new RangeError(`${what}: ${name} must be a finite number ≥ 0, got ${String(v)}`);
  }
  return v;
}

function make(className: Regularizer['className'], l1: number, l2: number): Regularizer {
  const what = `regularizer ${className}`;
  factor(what, 'l1', l1);
  factor(what, 'l2', l2);
  const config: Record<string, number> =
    className === 'L1' ? { l1 } : className === 'L2' ? { l2 } : { l1, l2 };
  return { l1, l2, className, config };
}

/** Accepted names (normalized: lower case, no underscores) and the class each builds. */
const NAMES: Readonly<Record<string, Regularizer['className']>> = { l1: 'L1', l2: 'L2', l1l2: 'L1L2' };
const VALID = ['l1', 'l2', 'l1_l2', 'l1l2', 'L1', 'L2', 'L1L2'];

function classOf(name: string): Regularizer['className'] {
  const found = NAMES[name.toLowerCase().replace(/_/g, '')];
  if (found) return found;
  const guess = suggest(name, VALID);
  throw new Error(
    `unknown regularizer '${name}'${guess === undefined ? '.' : `; did you mean '${guess}'?`} ` +
      `Valid: l1, l2, l1_l2 (or { l1, l2 } factors)`,
  );
}

function isRegularizer(spec: object): spec is Regularizer {
  const r = spec as Partial<Regularizer>;
  return typeof r.className === 'string' && typeof r.l1 === 'number' && typeof r.l2 === 'number';
}

/** A regularizer from its spec; undefined/null (no regularizer) gives undefined. */
export function resolveRegularizer(spec: RegularizerSpec | undefined | null): Regularizer | undefined {
  if (spec === undefined || spec === null) return undefined;
  if (typeof spec === 'string') {
    const className = classOf(spec);
    return make(
      className,
      className === 'L2' ? 0 : DEFAULT_FACTOR, // l1
      className === 'L1' ? 0 : DEFAULT_FACTOR, // l2
    );
  }
  if (typeof spec !== 'object') {
    throw new TypeError(`regularizer must be a name, { l1, l2 } or a regularizer, got ${String(spec)}`);
  }
  if (isRegularizer(spec)) {
    const given = classOf(spec.className);
    // An 'L1' carrying an l2 factor (or the reverse) is an L1L2, so that its config shows both.
    const both = (given === 'L1' && spec.l2 !== 0) || (given === 'L2' && spec.l1 !== 0);
    return make(both ? 'L1L2' : given, spec.l1, spec.l2);
  }
  if ('className' in spec) {
    const given: unknown = spec.className;
    if (typeof given !== 'string')
      throw new TypeError(`regularizer className must be a string, got ${String(given)}`);
    const className = classOf(given);
    const config = spec.config ?? {};
    for (const key of Object.keys(config)) {
      if (key !== 'l1' && key !== 'l2') {
        throw new Error(`regularizer ${className}: unknown config key '${key}'; valid: l1, l2`);
      }
    }
    // tfjs's fromConfig: a factor missing from the config gets the default.
    const l1 = className === 'L2' ? 0 : (config.l1 ?? DEFAULT_FACTOR);
    const l2 = className === 'L1' ? 0 : (config.l2 ?? DEFAULT_FACTOR);
    return make(
      className,
      factor(`regularizer ${className}`, 'l1', l1),
      factor(`regularizer ${className}`, 'l2', l2),
    );
  }
  const { l1, l2 } = spec as { l1?: unknown; l2?: unknown };
  for (const key of Object.keys(spec)) {
    if (key !== 'l1' && key !== 'l2') throw new Error(`regularizer: unknown key '${key}'; valid: l1, l2`);
  }
  if (l1 === undefined && l2 === undefined)
    throw new Error('regularizer: { l1, l2 } needs at least one factor');
  const className = l2 === undefined ? 'L1' : l1 === undefined ? 'L2' : 'L1L2';
  return make(className, factor('regularizer', 'l1', l1 ?? 0), factor('regularizer', 'l2', l2 ?? 0));
}

/** l1·Σ|w| + l2·Σw², summed in float64 (a NaN weight gives NaN). */
export function penalty(reg: Pick<Regularizer, 'l1' | 'l2'>, values: ArrayLike<number>): number {
  let abs = 0;
  let sq = 0;
  for (let i = 0; i < values.length; i++) {
    const w = values[i] as number;
    abs += Math.abs(w);
    sq += w * w;
  }
  return (reg.l1 !== 0 ? reg.l1 * abs : 0) + (reg.l2 !== 0 ? reg.l2 * sq : 0);
}

function factorArg(
  what: string,
  key: 'l1' | 'l2',
  arg: number | { l1?: number; l2?: number } | undefined,
): number {
  const v = typeof arg === 'object' ? arg[key] : arg;
  return factor(what, key, v ?? DEFAULT_FACTOR);
}

/**
 * Factories: `regularizers.l2(0.001)` (Keras) or `regularizers.l2({ l2: 0.001 })` (tfjs);
 * `regularizers.l1l2({ l1, l2 })`, a missing factor being 0.01 as in tfjs and tf.keras 2.
 */
export const regularizers = {
  l1: (arg?: number | { l1?: number }): Regularizer => make('L1', factorArg('l1()', 'l1', arg), 0),
  l2: (arg?: number | { l2?: number }): Regularizer => make('L2', 0, factorArg('l2()', 'l2', arg)),
  l1l2: (args: { l1?: number; l2?: number } = {}): Regularizer =>
    make(
      'L1L2',
      factor('l1l2()', 'l1', args.l1 ?? DEFAULT_FACTOR),
      factor('l1l2()', 'l2', args.l2 ?? DEFAULT_FACTOR),
    ),
};
