/**
 * Keras optimizers for compile(): factories with Keras's names and options, name resolution,
 * and the Keras config for saving. Defaults and range checks are the update kernel's
 * (resolveOptimizerSpec in src/kernels/optim.ts, which also holds the update rules):
 *
 *   sgd      learningRate 0.01,  momentum 0, nesterov false
 *   rmsprop  learningRate 0.001, rho 0.9, momentum 0, epsilon 1e-7, centered false
 *   adam     learningRate 0.001, beta1 0.9, beta2 0.999, epsilon 1e-7, amsgrad false
 *   nadam    learningRate 0.001, beta1 0.9, beta2 0.999, epsilon 1e-7 (scheduleDecay: see
 *            src/kernels/optim.ts; Keras 3's schedule unless given)
 */
import {
  checkLearningRate,
  resolveOptimizerSpec,
  type OptimizerSettings,
  type OptimizerSpec,
} from '../kernels/optim.js';
import { suggest } from './names.js';

/** A Keras optimizer: what the update kernel runs, with Keras's class name and config. */
export interface Optimizer extends OptimizerSettings {
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

// ---------------------------------------------------------------- factories

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

/** The options' keys checked, the spec resolved (defaults, ranges), the learning rate checked. */
function resolved<K extends OptimizerSpec['kind']>(
  kind: K,
  args: object,
  valid: readonly string[],
  defaultRate: number,
): { spec: Extract<ReturnType<typeof resolveOptimizerSpec>, { kind: K }>; lr: number } {
  checkKeys(kind, args, ['learningRate', ...valid]);
  const { learningRate, ...rest } = args as { learningRate?: unknown };
  const spec = resolveOptimizerSpec({ kind, ...rest });
  return {
    spec: spec as Extract<ReturnType<typeof resolveOptimizerSpec>, { kind: K }>,
    lr: checkLearningRate(kind, learningRate ?? defaultRate),
  };
}

function sgd(args: SgdArgs = {}): Optimizer {
  const { spec, lr } = resolved('sgd', args, ['momentum', 'nesterov'], 0.01);
  const { momentum, nesterov } = spec;
  return { spec, learningRate: lr, className: 'SGD', config: { learning_rate: lr, momentum, nesterov } };
}

function rmsprop(args: RmspropArgs = {}): Optimizer {
  const { spec, lr } = resolved('rmsprop', args, ['rho', 'momentum', 'epsilon', 'centered'], 0.001);
  const { rho, momentum, epsilon, centered } = spec;
  return {
    spec,
    learningRate: lr,
    className: 'RMSprop',
    config: { learning_rate: lr, rho, momentum, epsilon, centered },
  };
}

function adam(args: AdamArgs = {}): Optimizer {
  const { spec, lr } = resolved('adam', args, ['beta1', 'beta2', 'epsilon', 'amsgrad'], 0.001);
  const { beta1, beta2, epsilon, amsgrad } = spec;
  return {
    spec,
    learningRate: lr,
    className: 'Adam',
    config: { learning_rate: lr, beta_1: beta1, beta_2: beta2, epsilon, amsgrad },
  };
}

function nadam(args: NadamArgs = {}): Optimizer {
  const { spec, lr } = resolved('nadam', args, ['beta1', 'beta2', 'epsilon', 'scheduleDecay'], 0.001);
  const { beta1, beta2, epsilon, scheduleDecay } = spec;
  // Keras 3 has no such option: it is kept out of the spec and config unless given.
  const given = args.scheduleDecay !== undefined;
  const config: Record<string, number> = { learning_rate: lr, beta_1: beta1, beta_2: beta2, epsilon };
  if (given) config.schedule_decay = scheduleDecay;
  return {
    spec: { kind: 'nadam', beta1, beta2, epsilon, ...(given ? { scheduleDecay } : {}) },
    learningRate: lr,
    className: 'Nadam',
    config,
  };
}

/** `optimizers.adam({ learningRate: 1e-3 })`, `optimizers.sgd({ momentum: 0.9, nesterov: true })`. */
export const optimizers = { sgd, rmsprop, adam, nadam };

// ---------------------------------------------------------------- resolution

type Kind = OptimizerSpec['kind'];

const FACTORIES: Readonly<Record<Kind, (args: Record<string, unknown>) => Optimizer>> = {
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

function fromSerialized(className: string, config: Record<string, unknown>): Optimizer {
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
 * An optimizer from a name ('adam', 'RMSprop': Keras's defaults), an Optimizer (checked
 * again and returned as a fresh object), or a serialized { className, config } (Keras or tfjs
 * training_config).
 */
export function resolveOptimizer(
  spec: string | Optimizer | { className: string; config?: Record<string, unknown> },
): Optimizer {
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
