/**
 * Reading a layer's Keras config (model.json, .keras, .h5) back into layer arguments, with
 * errors that name the layer and the setting: every layer's fromConfig reads through a
 * ConfigReader, and a setting this library cannot honour fails instead of being dropped.
 */
import type { InitializerSpec } from '../initializers.js';
import type { RegularizerSpec } from '../regularizers.js';

/** A saved model this library cannot read: bad JSON shape, unknown layer, weights not matching. */
export class ModelFormatError extends Error {
  override name = 'ModelFormatError';
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Reads a layer config, failing on settings this library cannot honour. */
export class ConfigReader {
  constructor(
    private readonly config: Record<string, unknown>,
    /** 'layer "dense_1" (Dense)', for messages. */
    readonly what: string,
    /** The rank of the layer's input, batch included (2 for [batch, features]). */
    readonly rank = 2,
  ) {}

  has(key: string): boolean {
    return this.config[key] !== undefined && this.config[key] !== null;
  }

  /** The raw value (for settings read as they are, such as a dropout seed). */
  raw(key: string): unknown {
    return this.config[key];
  }

  number(key: string, fallback?: number): number {
    const v = this.config[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v))
      throw new ModelFormatError(`${this.what}: ${key} must be a number, got ${JSON.stringify(v)}`);
    return v;
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.config[key] ?? fallback;
    if (typeof v !== 'boolean')
      throw new ModelFormatError(`${this.what}: ${key} must be true or false, got ${JSON.stringify(v)}`);
    return v;
  }

  /** An activation name; Keras 3 writes builtins as { class_name: 'function', config: 'relu' }. */
  activation(key: string): string {
    const v = this.config[key] ?? 'linear';
    if (typeof v === 'string') return v;
    if (isObject(v) && typeof v.config === 'string') return v.config;
    throw new ModelFormatError(`${this.what}: ${key} must be an activation name, got ${JSON.stringify(v)}`);
  }

  initializer(key: string): InitializerSpec | undefined {
    const v = this.config[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'string') return v;
    if (isObject(v)) {
      const className = v.class_name ?? v.className;
      if (typeof className === 'string')
        return { className, config: isObject(v.config) ? withoutDtype(v.config) : {} };
    }
    throw new ModelFormatError(
      `${this.what}: ${key} must be an initializer name or { class_name, config }, got ${JSON.stringify(v)}`,
    );
  }

  regularizer(key: string): RegularizerSpec | undefined {
    const v = this.config[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'string') return v;
    if (isObject(v)) {
      const className = v.class_name ?? v.className;
      if (typeof className === 'string') return { className, config: isObject(v.config) ? v.config : {} };
    }
    throw new ModelFormatError(
      `${this.what}: ${key} must be a regularizer or null, got ${JSON.stringify(v)}`,
    );
  }

  /** Settings that must be absent (null) because this library does not implement them. */
  unsupported(...keys: string[]): void {
    for (const k of keys) {
      if (this.has(k))
        throw new ModelFormatError(`${this.what}: ${k} ${JSON.stringify(this.config[k])} is not supported`);
    }
  }

  /** -1 or the last axis of an input of `rank` dims (batch included). */
  lastAxis(key: string, rank = this.rank): void {
    const raw = this.config[key] ?? -1;
    const v = Array.isArray(raw) && raw.length === 1 ? (raw[0] as unknown) : raw;
    if (v !== -1 && v !== rank - 1) {
      throw new ModelFormatError(
        `${this.what}: ${key} ${JSON.stringify(raw)} is not supported; only the last axis (-1)`,
      );
    }
  }
}

/**
 * Keras 3 initializer configs may carry a dtype (ours are always float32) and, from 3.15,
 * VarianceScaling's fan axes, null for the usual fans (set ones stay, and are refused).
 */
function withoutDtype(config: Record<string, unknown>): Record<string, unknown> {
  const rest = { ...config };
  delete rest.dtype;
  if (rest.input_axes === null) delete rest.input_axes;
  if (rest.output_axes === null) delete rest.output_axes;
  return rest;
}

/** The per-sample shape of batch_input_shape [null, ...] (Keras 3: batch_shape). */
export function batchShape(
  config: Record<string, unknown>,
  className: string,
  optional = false,
): number[] | undefined {
  const v = config.batch_input_shape ?? config.batch_shape;
  if (v === undefined || v === null) {
    if (optional) return undefined;
    throw new ModelFormatError(`${className} "${String(config.name)}" has no batch_input_shape`);
  }
  if (
    !Array.isArray(v) ||
    v.length < 2 ||
    !v.slice(1).every((d) => Number.isSafeInteger(d) && (d as number) > 0)
  ) {
    throw new ModelFormatError(
      `${className} "${String(config.name)}": batch_input_shape ${JSON.stringify(v)} must be [null, ...positive sizes]`,
    );
  }
  return v.slice(1) as number[];
}

/** Runs `f`, putting `what` in front of the message of an error that does not name it. */
export function wrapConfigError<T>(what: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof ModelFormatError || !(e instanceof Error) || e.message.includes(what)) throw e;
    throw new ModelFormatError(`${what}: ${e.message}`, { cause: e });
  }
}
