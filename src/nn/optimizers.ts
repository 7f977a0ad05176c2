/**
 * Keras optimizers for compile(): factories with Keras 3's defaults, name resolution, and
 * the Keras config for saving. The update rules themselves are src/kernels/optim.ts.
 *
 *   sgd      learningRate 0.01,  momentum 0, nesterov false
 *   rmsprop  learningRate 0.001, rho 0.9, momentum 0, epsilon 1e-7, centered false
 *   adam     learningRate 0.001, beta1 0.9, beta2 0.999, epsilon 1e-7, amsgrad false
 *   nadam    learningRate 0.001, beta1 0.9, beta2 0.999, epsilon 1e-7 (scheduleDecay: see
 *            src/kernels/optim.ts; Keras 3's schedule unless given)
 *
 * Ranges: learningRate finite > 0; momentum in [0, 1] (Keras's check); rho, beta1, beta2 in
 * [0, 1); epsilon finite > 0.
 */
import type { OptimizerSpec } from '../kernels/optim.js';
import { suggest } from './names.js';

export interface OptimizerConfig {
  spec: OptimizerSpec;
  learningRate: number;
  /** Keras's class name: 'SGD', 'RMSprop', 'Adam', 'Nadam'. */
  className: string;
  /** Keras's config keys (learning_rate, beta_1, ...): what model.json's training_config holds. */
  config: Record<string, number | boolean>;
}

export interface SgdArgs {
  learningRate?: number;
  momentum?: number;
  nesterov?: boolean;
}
export interface RmspropArgs {
  learningRate?: number;
  rho?: number;
  momentum?: number;
  epsilon?: number;
  centered?: boolean;
}
export interface AdamArgs {
  learningRate?: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  amsgrad?: boolean;
}
export interface NadamArgs {
  learningRate?: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  /** d in u_t = β1(1 − 0.5·0.96^(d·t)): Keras 3 is 1 (the default), tf.keras 2 used 0.004. */
  scheduleDecay?: number;
}

// ---------------------------------------------------------------- checks

function checkKeys(what: string, args: unknown, valid: readonly string[]): void {
  if (typeof args !== 'object' || args === null) throw new TypeError(`${what}: arguments must be an object`);
  for (const key of Object.keys(args)) {
    if (!valid.includes(key)) {
      const guess = suggest(key, valid);
      throw new Error(
        `${what}: unknown option '${key}'${guess === undefined ? '' : `; did you mean '${guess}'?`} ` +
          `Valid: ${valid.join(', ')}`,
      );
    }
  }
}

function learningRate(what: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    throw new RangeError(`${what}: learningRate must be a finite number > 0, got ${String(v)}`);
  }
  return v;
}

function unit(what: string, name: string, v: unknown, closedAbove: boolean): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (closedAbove ? v > 1 : v >= 1)) {
    throw new RangeError(`${what}: ${name} must be in [0, 1${closedAbove ? ']' : ')'}, got ${String(v)}`);
  }
  return v;
}

function positive(what: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    throw new RangeError(`${what}: ${name} must be a finite number > 0, got ${String(v)}`);
  }
  return v;
}

function flag(what: string, name: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw new TypeError(`${what}: ${name} must be true or false, got ${String(v)}`);
  return v;
}

// ---------------------------------------------------------------- factories

function sgd(args: SgdArgs = {}): OptimizerConfig {
  const what = 'sgd';
  checkKeys(what, args, ['learningRate', 'momentum', 'nesterov']);
  const lr = learningRate(what, args.learningRate ?? 0.01);
  const momentum = unit(what, 'momentum', args.momentum ?? 0, true);
  const nesterov = flag(what, 'nesterov', args.nesterov ?? false);
  return {
    spec: { kind: 'sgd', momentum, nesterov },
    learningRate: lr,
    className: 'SGD',
    config: { learning_rate: lr, momentum, nesterov },
  };
}

function rmsprop(args: RmspropArgs = {}): OptimizerConfig {
  const what = 'rmsprop';
  checkKeys(what, args, ['learningRate', 'rho', 'momentum', 'epsilon', 'centered']);
  const lr = learningRate(what, args.learningRate ?? 0.001);
  const rho = unit(what, 'rho', args.rho ?? 0.9, false);
  const momentum = unit(what, 'momentum', args.momentum ?? 0, true);
  const epsilon = positive(what, 'epsilon', args.epsilon ?? 1e-7);
  const centered = flag(what, 'centered', args.centered ?? false);
  return {
    spec: { kind: 'rmsprop', rho, momentum, epsilon, centered },
    learningRate: lr,
    className: 'RMSprop',
    config: { learning_rate: lr, rho, momentum, epsilon, centered },
  };
}

function adam(args: AdamArgs = {}): OptimizerConfig {
  const what = 'adam';
  checkKeys(what, args, ['learningRate', 'beta1', 'beta2', 'epsilon', 'amsgrad']);
  const lr = learningRate(what, args.learningRate ?? 0.001);
  const beta1 = unit(what, 'beta1', args.beta1 ?? 0.9, false);
  const beta2 = unit(what, 'beta2', args.beta2 ?? 0.999, false);
  const epsilon = positive(what, 'epsilon', args.epsilon ?? 1e-7);
  const amsgrad = flag(what, 'amsgrad', args.amsgrad ?? false);
  return {
    spec: { kind: 'adam', beta1, beta2, epsilon, amsgrad },
    learningRate: lr,
    className: 'Adam',
    config: { learning_rate: lr, beta_1: beta1, beta_2: beta2, epsilon, amsgrad },
  };
}

function nadam(args: NadamArgs = {}): OptimizerConfig {
  const what = 'nadam';
  checkKeys(what, args, ['learningRate', 'beta1', 'beta2', 'epsilon', 'scheduleDecay']);
  const lr = learningRate(what, args.learningRate ?? 0.001);
  const beta1 = unit(what, 'beta1', args.beta1 ?? 0.9, false);
  const beta2 = unit(what, 'beta2', args.beta2 ?? 0.999, false);
  const epsilon = positive(what, 'epsilon', args.epsilon ?? 1e-7);
  // Keras 3 has no such option: it is kept out of the spec and config unless given.
  const decay =
    args.scheduleDecay === undefined
      ? {}
      : { scheduleDecay: positive(what, 'scheduleDecay', args.scheduleDecay) };
  return {
    spec: { kind: 'nadam', beta1, beta2, epsilon, ...decay },
    learningRate: lr,
    className: 'Nadam',
    config: {
      learning_rate: lr,
      beta_1: beta1,
      beta_2: beta2,
      epsilon,
      ...(decay.scheduleDecay === undefined ? {} : { schedule_decay: decay.scheduleDecay }),
    },
  };
}

/** `optimizers.adam({ learningRate: 1e-3 })`, `optimizers.sgd({ momentum: 0.9, nesterov: true })`. */
export const optimizers = { sgd, rmsprop, adam, nadam };

// ---------------------------------------------------------------- resolution

type Kind = OptimizerSpec['kind'];

const FACTORIES: Readonly<Record<Kind, (args: Record<string, unknown>) => OptimizerConfig>> = {
  sgd: (a) => sgd(a),
  rmsprop: (a) => rmsprop(a),
  adam: (a) => adam(a),
  nadam: (a) => nadam(a),
};

const VALID = ['sgd', 'rmsprop', 'adam', 'nadam'];
const SUGGESTIONS = [...VALID, 'SGD', 'RMSprop', 'Adam', 'Nadam'];
/** Keras / tfjs optimizers this library does not implement. */
const UNSUPPORTED = [
  'adagrad',
  'adadelta',
  'adamax',
  'adamw',
  'ftrl',
  'lion',
  'adafactor',
  'lamb',
  'momentum',
];

function kindOf(name: string): Kind {
  const key = name.toLowerCase().replace(/_/g, '');
  if ((VALID as readonly string[]).includes(key)) return key as Kind;
  if (UNSUPPORTED.includes(key)) {
    throw new Error(`optimizer '${name}' is not supported yet; supported: ${VALID.join(', ')}`);
  }
  const guess = suggest(name, SUGGESTIONS);
  throw new Error(
    `unknown optimizer '${name}'${guess === undefined ? '.' : `; did you mean '${guess}'?`} Valid: ${VALID.join(', ')}`,
  );
}

/** Serialized option names (Keras snake_case, tfjs camelCase) → factory option. */
const CONFIG_KEYS: Readonly<Record<string, string>> = {
  learning_rate: 'learningRate',
  learningRate: 'learningRate',
  lr: 'learningRate',
  beta_1: 'beta1',
  beta1: 'beta1',
  beta_2: 'beta2',
  beta2: 'beta2',
  epsilon: 'epsilon',
  amsgrad: 'amsgrad',
  rho: 'rho',
  momentum: 'momentum',
  nesterov: 'nesterov',
  use_nesterov: 'nesterov',
  centered: 'centered',
  schedule_decay: 'scheduleDecay',
  scheduleDecay: 'scheduleDecay',
};

/**
 * Keras config entries that carry no update rule of their own: accepted when they hold their
 * inactive value (null, false, 0); anything else is a feature this library does not have.
 */
const INERT_KEYS = new Set([
  'name',
  'weight_decay',
  'clipnorm',
  'global_clipnorm',
  'clipvalue',
  'use_ema',
  'ema_momentum',
  'ema_overwrite_frequency',
  'loss_scale_factor',
  'gradient_accumulation_steps',
  'jit_compile',
  'is_legacy_optimizer',
  'decay',
]);
const ALWAYS_INERT = new Set([
  'name',
  'ema_momentum',
  'ema_overwrite_frequency',
  'jit_compile',
  'is_legacy_optimizer',
]);

function fromSerialized(className: string, config: Record<string, unknown>): OptimizerConfig {
  const kind = kindOf(className);
  const args: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    // tfjs's RMSProp stores ρ as `decay`; in Keras `decay` is the legacy learning-rate decay.
    if (key === 'decay' && className === 'RMSProp') {
      args.rho = value;
      continue;
    }
    const option = CONFIG_KEYS[key];
    if (option !== undefined) {
      args[option] = value;
    } else if (INERT_KEYS.has(key)) {
      if (!ALWAYS_INERT.has(key) && value !== null && value !== false && value !== 0) {
        throw new Error(`optimizer ${className}: '${key}' = ${String(value)} is not supported yet`);
      }
    } else {
      throw new Error(`optimizer ${className}: unknown config key '${key}'`);
    }
  }
  return FACTORIES[kind](args);
}

/**
 * An optimizer from a name ('adam', 'RMSprop': Keras's defaults), an OptimizerConfig (checked
 * again and returned as a fresh object), or a serialized { className, config } (Keras or tfjs
 * training_config).
 */
export function resolveOptimizer(
  spec: string | OptimizerConfig | { className: string; config?: Record<string, unknown> },
): OptimizerConfig {
  if (typeof spec === 'string') return FACTORIES[kindOf(spec)]({});
  const value: unknown = spec; // JS callers may pass anything
  if (typeof value !== 'object' || value === null) {
    throw new TypeError(`optimizer must be a name or an optimizer, got ${String(value)}`);
  }
  if ('spec' in spec) {
    const { kind, ...rest } = spec.spec;
    return FACTORIES[kindOf(kind)]({ ...rest, learningRate: spec.learningRate });
  }
  if (typeof spec.className !== 'string') {
    throw new TypeError(`optimizer object needs a className string, got ${String(spec.className)}`);
  }
  return fromSerialized(spec.className, spec.config ?? {});
}
