/**
 * Reading a layer's options as the course writes them: Keras's snake_case keys
 * (`kernel_initializer`, `input_shape`) and tfjs-layers' camelCase keys alike, through
 * readOptions (src/util/options.ts). What this library cannot honour is refused instead of
 * dropped:
 *   - an unknown key names itself and the closest valid one ('actvation' → 'activation');
 *   - a key Keras has but this library does not implement (kernel_constraint, noise_shape, a
 *     dtype other than float32, a fixed batch size) is "not supported", unless it holds the
 *     value that means Keras's default (null, axis -1, ...).
 * The first layer's input shape may be given Keras's three ways (Keras 2 base Layer kwargs):
 * input_shape [n, ...], batch_input_shape [null, n, ...], or input_dim n (= input_shape [n]).
 */
import { readOptions } from '../../util/options.js';

/** The options every layer takes (Keras's base Layer keyword arguments). */
export interface LayerArgs {
  name?: string;
  /** Per-sample input shape of the first layer of a sequential model (no batch dimension). */
  inputShape?: readonly number[];
  /** Keras's [null, ...inputShape]: the batch dimension must be null (any batch size). */
  batchInputShape?: readonly (number | null)[];
  /** Keras 2's input_dim: inputShape [inputDim]. */
  inputDim?: number;
  trainable?: boolean;
  /** Only float32. */
  dtype?: 'float32';
}

/** The base options, camelCase. */
export const LAYER_KEYS: Readonly<Record<keyof LayerArgs, true>> = {
  name: true,
  inputShape: true,
  batchInputShape: true,
  inputDim: true,
  trainable: true,
  dtype: true,
};

/** A Keras option this library does not implement: the values that mean "off", and why. */
export interface NotSupported {
  /** Values accepted as Keras's default (null and undefined always are). */
  ok?: readonly unknown[];
  /** Appended to the message (what to do instead). */
  hint?: string;
}

/** Keras base-layer options with no equivalent here. */
const BASE_NOT_SUPPORTED: Readonly<Record<string, NotSupported>> = {
  batchSize: { hint: 'models here take any batch size; give the batch size to fit()' },
  weights: { hint: 'set them with layer.setWeights() once the layer is built' },
  activityRegularizer: { hint: 'only Dense has an activity regularizer here' },
  autocast: { ok: [true, false] },
  dynamic: { ok: [false] },
  inputLength: {},
};

/** The options a layer reads: the base keys plus its own, and its own unsupported ones. */
export interface LayerKeys<T> {
  keys: Readonly<Record<Exclude<keyof T, keyof LayerArgs> & string, true>>;
  notSupported?: Readonly<Record<string, NotSupported>>;
}

/**
 * `given` (the caller's options, either spelling) as camelCase T, after refusing unknown and
 * unsupported options; `what` names the layer factory ('layers.dense') in messages.
 */
export function readLayerArgs<T extends LayerArgs>(what: string, given: unknown, spec: LayerKeys<T>): T {
  const supported = [...Object.keys(LAYER_KEYS), ...Object.keys(spec.keys)];
  const notSupported = Object.entries({ ...BASE_NOT_SUPPORTED, ...spec.notSupported }).filter(
    ([k]) => !supported.includes(k),
  );
  const o = readOptions<Record<string, unknown>>(what, given, [
    ...supported,
    ...notSupported.map(([k]) => k),
  ]);
  for (const [key, rule] of notSupported) {
    const v = o[key];
    if (v === undefined || v === null || (rule.ok ?? []).some((x) => same(x, v))) continue;
    throw new TypeError(
      `${what}: option '${key}' (${JSON.stringify(v)}) is not supported by this library` +
        (rule.hint ? `; ${rule.hint}` : ''),
    );
  }
  checkBase(what, o);
  // Only the supported options go on (dtype was checked: float32).
  const out: Record<string, unknown> = {};
  for (const k of supported) if (o[k] !== undefined && k !== 'dtype') out[k] = o[k];
  return out as T;
}

function same(a: unknown, b: unknown): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}

function checkBase(what: string, o: Record<string, unknown>): void {
  if (o.name !== undefined && (typeof o.name !== 'string' || o.name === '')) {
    throw new TypeError(`${what}: name must be a non-empty string, got ${JSON.stringify(o.name)}`);
  }
  if (o.trainable !== undefined && typeof o.trainable !== 'boolean') {
    throw new TypeError(`${what}: trainable must be true or false, got ${JSON.stringify(o.trainable)}`);
  }
  checkDtype(what, o.dtype);
}

/** float32 (or null/undefined) only. */
export function checkDtype(what: string, dtype: unknown): void {
  if (dtype !== undefined && dtype !== null && dtype !== 'float32') {
    throw new TypeError(`${what}: dtype ${JSON.stringify(dtype)} is not supported; only float32`);
  }
}

/** A shape of positive integers (per sample), for messages as `key`. */
function positiveShape(what: string, key: string, v: unknown): number[] {
  if (!Array.isArray(v) || v.length === 0 || !v.every((d) => Number.isSafeInteger(d) && (d as number) > 0)) {
    throw new RangeError(`${what}: ${key} ${JSON.stringify(v)} must be a list of positive integers`);
  }
  return [...(v as number[])];
}

/**
 * The per-sample input shape the options give, if any: inputShape, batchInputShape
 * ([null, ...]) or inputDim (= [inputDim]). Several given must agree (Keras picks one
 * silently; a disagreement here is a RangeError naming both).
 */
export function resolveInputShape(
  what: string,
  o: { inputShape?: unknown; batchInputShape?: unknown; inputDim?: unknown },
  names: { inputShape?: string; batchInputShape?: string } = {},
): number[] | undefined {
  const found: [string, number[]][] = [];
  if (o.inputShape !== undefined && o.inputShape !== null)
    found.push([
      names.inputShape ?? 'inputShape',
      positiveShape(what, names.inputShape ?? 'inputShape', o.inputShape),
    ]);
  if (o.batchInputShape !== undefined && o.batchInputShape !== null) {
    const key = names.batchInputShape ?? 'batchInputShape';
    const b = o.batchInputShape;
    if (!Array.isArray(b) || b.length < 2) {
      throw new RangeError(`${what}: ${key} ${JSON.stringify(b)} must be [null, ...per-sample shape]`);
    }
    if (b[0] !== null && b[0] !== undefined) {
      throw new RangeError(
        `${what}: ${key} ${JSON.stringify(b)}: a fixed batch size (${JSON.stringify(b[0])}) is not supported; write null first`,
      );
    }
    found.push([key, positiveShape(what, key, b.slice(1))]);
  }
  if (o.inputDim !== undefined && o.inputDim !== null) {
    if (!Number.isSafeInteger(o.inputDim) || (o.inputDim as number) <= 0) {
      throw new RangeError(`${what}: inputDim must be a positive integer, got ${JSON.stringify(o.inputDim)}`);
    }
    found.push(['inputDim', [o.inputDim as number]]);
  }
  const first = found[0];
  if (!first) return undefined;
  for (const [key, shape] of found.slice(1)) {
    if (!same(shape, first[1])) {
      throw new RangeError(
        `${what}: ${first[0]} and ${key} disagree (per-sample shapes [${first[1].join(', ')}] and ` +
          `[${shape.join(', ')}]); give one of them`,
      );
    }
  }
  return first[1];
}

/**
 * Keras's positional first argument beside the options: `layers.dense(64, { ... })`. The
 * value must not also be among the options (in either spelling).
 */
export function withPositional(
  what: string,
  key: string,
  value: unknown,
  options: unknown,
): Record<string, unknown> {
  if (options === undefined || options === null) return { [key]: value };
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(
      `${what}: the options after ${key} must be an object, got ${JSON.stringify(options)}`,
    );
  }
  const snake = key.replace(/([A-Z])/g, (c) => `_${c.toLowerCase()}`);
  if (key in options || snake in options) {
    throw new TypeError(`${what}: ${key} given twice (positionally and as an option); give it once`);
  }
  return { [key]: value, ...(options as Record<string, unknown>) };
}
