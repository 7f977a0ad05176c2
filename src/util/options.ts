/**
 * Options objects as the course writes them: Keras's snake_case keys (`batch_size`,
 * `kernel_initializer`, `restore_best_weights`) and tfjs-layers' camelCase keys
 * (`batchSize`, ...) alike, in any mix. readOptions() turns them into the camelCase object
 * the code reads, and refuses what it cannot honour instead of ignoring it:
 *   - an unknown key, naming it and the closest valid one in the caller's own spelling
 *     (`{ epoch: 3 }` → "did you mean 'epochs'?", `{ batchsize }` → 'batchSize');
 *   - the same option given twice (`{ batch_size: 32, batchSize: 64 }`);
 *   - options that are not an object.
 * Keras 2 spellings the course uses (`lr`) are aliases, optionally with a note printed once
 * per process, as Keras prints its deprecation warnings.
 *
 * Types: Spelled<T> accepts T's camelCase keys, precisely typed, plus their snake_case forms
 * (CamelToSnake), typed alike; mixing both in one object type-checks.
 */
import { suggest } from './suggest.js';

/**
 * 'kernelInitializer' → 'kernel_initializer'. Digits stay where they are ('l1'): Keras's
 * exceptions (beta_1) are aliases of the options that have them.
 */
export function snakeCase(camel: string): string {
  return camel.replace(/([A-Z])/g, (c) => `_${c.toLowerCase()}`);
}

/** 'kernel_initializer' → 'kernelInitializer'. */
export function camelCase(snake: string): string {
  return snake.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
}

/** The snake_case spelling of a camelCase key, as a type ('batchSize' → 'batch_size'). */
export type CamelToSnake<S extends string> = S extends `${infer H}${infer R}`
  ? `${H extends Lowercase<H> ? H : `_${Lowercase<H>}`}${CamelToSnake<R>}`
  : S;

/** T's keys in snake_case, all optional. */
export type SnakeCased<T> = { [K in keyof T as K extends string ? CamelToSnake<K> : never]?: T[K] };

/** Options in tfjs's camelCase (precisely typed) or Keras's snake_case, or a mix. */
export type Spelled<T> = T | (Partial<T> & SnakeCased<T>);

/** Another name for an option: its camelCase target, and a note printed once when used. */
export interface OptionAlias {
  to: string;
  note?: string;
}

export interface ReadOptionsSpec {
  /** Other spellings → the camelCase key (e.g. lr → learningRate, with Keras's note). */
  aliases?: Readonly<Record<string, string | OptionAlias>>;
  /** Where notes go (default console.warn); tests collect them. */
  warn?: (line: string) => void;
}

/** Notes already printed, once per process (Keras warns once per call site; once is enough). */
const noted = new Set<string>();

/** For tests: print every note again. */
export function resetOptionNotes(): void {
  noted.clear();
}

/** A value for messages. */
function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'string' ? `the string "${v}"` : `${typeof v} ${String(v)}`;
}

/**
 * `given` (options as the caller wrote them; undefined or null for none) as an object with
 * camelCase keys only, from `keys`, the valid camelCase keys (list every key of the options
 * type: `Record<keyof T, true>` keeps the list complete). Keys whose value is undefined are
 * left out, as if absent. Throws a TypeError naming `what` ('fit', 'layers.dense') for an
 * unknown key, a duplicated option, or options that are not a plain object.
 */
export function readOptions<T extends object>(
  what: string,
  given: unknown,
  keys: Readonly<Record<keyof T & string, true>> | readonly (keyof T & string)[],
  spec: ReadOptionsSpec = {},
): T {
  if (given === undefined || given === null) return {} as T;
  if (typeof given !== 'object' || Array.isArray(given) || !isPlain(given)) {
    throw new TypeError(`${what}: options must be an object of named options, got ${describe(given)}`);
  }
  const valid: readonly string[] = Array.isArray(keys) ? keys : Object.keys(keys);
  const aliases = spec.aliases ?? {};
  const out: Record<string, unknown> = {};
  const from: Record<string, string> = {};
  for (const [key, value] of Object.entries(given)) {
    if (value === undefined) continue;
    const target = resolveKey(key, valid, aliases, what, spec.warn);
    const earlier = from[target];
    if (earlier !== undefined) {
      throw new TypeError(`${what}: '${earlier}' and '${key}' are the same option (${target}); give it once`);
    }
    from[target] = key;
    out[target] = value;
  }
  return out as T;
}

function isPlain(v: object): boolean {
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function resolveKey(
  key: string,
  valid: readonly string[],
  aliases: Readonly<Record<string, string | OptionAlias>>,
  what: string,
  warn: ((line: string) => void) | undefined,
): string {
  if (valid.includes(key)) return key;
  const alias = aliases[key];
  if (alias !== undefined) {
    const a = typeof alias === 'string' ? { to: alias } : alias;
    if (a.note && !noted.has(`${what}:${key}`)) {
      noted.add(`${what}:${key}`);
      (warn ?? console.warn)(`${what}: ${a.note}`);
    }
    return a.to;
  }
  const camel = camelCase(key);
  if (key.includes('_') && valid.includes(camel)) return camel;
  throw new TypeError(unknownOption(key, valid, Object.keys(aliases), what));
}

/** "fit: unknown option 'epoch'; did you mean 'epochs'? Valid options: ..." */
export function unknownOption(
  key: string,
  valid: readonly string[],
  aliases: readonly string[],
  what: string,
): string {
  // Suggest in the caller's style: snake_case for a key with an underscore.
  const snake = key.includes('_');
  const shown = valid.map((k) => (snake ? snakeCase(k) : k));
  const guess = suggest(key, [...shown, ...aliases]) ?? suggest(key, [...valid, ...valid.map(snakeCase)]);
  return (
    `${what}: unknown option '${key}'${guess === undefined ? '' : `; did you mean '${guess}'?`} ` +
    `Valid options: ${shown.join(', ')}` +
    (snake ? '' : ' (Keras snake_case spellings work too)')
  );
}
