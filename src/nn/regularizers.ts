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
import { readOptions } from '../util/options.js';
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
  if ('className' in spec || 'class_name' in spec) {
    // Keras JSON's class_name or tfjs's className.
    const o = readOptions<{ className: unknown; config?: Record<string, unknown> }>('regularizer', spec, {
      className: true,
      config: true,
    });
    const given: unknown = o.className;
    if (typeof given !== 'string')
      throw new TypeError(`regularizer className must be a string, got ${String(given)}`);
    const className = classOf(given);
    const config = o.config ?? {};
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
  const { l1, l2 } = readOptions<{ l1?: unknown; l2?: unknown }>('regularizer', spec, { l1: true, l2: true });
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

/** Regularizer factors, as an options object. */
export interface L1Args {
  l1?: number;
}
export interface L2Args {
  l2?: number;
}
export interface L1L2Args {
  l1?: number;
  l2?: number;
}

/**
 * Factors from Keras's positional values (`l1_l2(0.01, 0.001)`) or an options object
 * (`{ l1, l2 }`, unknown keys refused), a missing one being `fallback`.
 */
function factors(
  what: string,
  given: readonly unknown[],
  keys: readonly ('l1' | 'l2')[],
  fallback: number,
): { l1: number; l2: number } {
  const [first] = given;
  let o: Record<string, unknown> = {};
  if (typeof first === 'object' && first !== null) {
    if (given.length > 1) throw new TypeError(`${what}: give the factors in one object`);
    o = readOptions<Record<string, unknown>>(what, first, keys);
  } else {
    if (given.length > keys.length) {
      throw new TypeError(
        `${what}: takes at most ${keys.length} factors (${keys.join(', ')}), got ${given.length}`,
      );
    }
    given.forEach((v, i) => {
      if (v !== undefined) o[keys[i] as string] = v;
    });
  }
  return {
    l1: keys.includes('l1') ? factor(what, 'l1', o.l1 ?? fallback) : 0,
    l2: keys.includes('l2') ? factor(what, 'l2', o.l2 ?? fallback) : 0,
  };
}

type L1Factory = (arg?: number | L1Args) => Regularizer;
type L2Factory = (arg?: number | L2Args) => Regularizer;
type L1L2Factory = ((args?: L1L2Args) => Regularizer) & ((l1?: number, l2?: number) => Regularizer);

const l1: L1Factory = (...a: unknown[]) => {
  const f = factors('regularizers.l1', a, ['l1'], DEFAULT_FACTOR);
  return make('L1', f.l1, 0);
};
const l2: L2Factory = (...a: unknown[]) => {
  const f = factors('regularizers.l2', a, ['l2'], DEFAULT_FACTOR);
  return make('L2', 0, f.l2);
};
/** tf.keras 2's l1_l2 function and tfjs's l1l2: a missing factor is 0.01. */
const l1l2: L1L2Factory = (...a: unknown[]) => {
  const f = factors('regularizers.l1l2', a, ['l1', 'l2'], DEFAULT_FACTOR);
  return make('L1L2', f.l1, f.l2);
};
/** Keras 3's L1L2 class: a missing factor is 0. */
const L1L2: L1L2Factory = (...a: unknown[]) => {
  const f = factors('regularizers.L1L2', a, ['l1', 'l2'], 0);
  return make('L1L2', f.l1, f.l2);
};

/**
 * Factories: `regularizers.l2(0.001)` (Keras) or `regularizers.l2({ l2: 0.001 })` (tfjs);
 * `regularizers.l1l2({ l1, l2 })` / `l1_l2(l1, l2)`, a missing factor being 0.01 as in tfjs
 * and tf.keras 2; Keras's class names `L1(0.01)`, `L2(0.01)` (default 0.01) and `L1L2`
 * (Keras 3's class: a missing factor is 0).
 */
export const regularizers = {
  l1,
  l2,
  l1l2,
  l1_l2: l1l2,
  L1: l1,
  L2: l2,
  L1L2,
};
