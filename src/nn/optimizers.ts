/**
 * Keras optimizers for compile(): factories with Keras's names and options, name resolution,
 * and the Keras config for saving. Defaults and range checks are the update kernel's
 * (resolveOptimizerSpec in src/kernels/optim.ts, which also holds the update rules):
 *
 *   sgd      learningRate 0.01,  momentum 0, nesterov false
 *   rmsprop  learningRate 0.001, rho 0.9, momentum 0, epsilon 1e-7, centered false
 *   adam     learningRate 0.001, beta1 0.9, beta2 0.999, epsilon 1e-7, amsgrad false
 *   adamw    adam's, and weightDecay 0.004 (Keras 3's AdamW: Adam with decoupled decay)
 *   nadam    learningRate 0.001, beta1 0.9, beta2 0.999, epsilon 1e-7 (scheduleDecay: see
 *            src/kernels/optim.ts; Keras 3's schedule unless given)
 * and, for every one, off unless given: Keras 2's `decay` (lr / (1 + decay·iterations)),
 * Keras 3's `clipnorm`, `clipvalue`, `globalClipnorm` (at most one) and `weightDecay`.
 *
 * Options are read in either spelling (readOptions: `learning_rate` or `learningRate`,
 * `global_clipnorm` or `globalClipnorm`), with Keras's `beta_1` / `beta_2` and Keras 2's `lr`
 * (and its deprecation note, once) as aliases; an unknown option is an error. The learning
 * rate may also come first, as Keras's positional argument: `optimizers.sgd(0.01)`,
 * `optimizers.sgd(0.01, { momentum: 0.9 })`. Keras's class names are the same factories:
 * `optimizers.SGD({ lr: 0.1, decay: 1e-4 })`.
 */
import {
  checkLearningRate,
  resolveOptimizerSpec,
  type OptimizerSettings,
  type OptimizerSpec,
} from '../kernels/optim.js';
import { readOptions, type Spelled } from '../util/options.js';
import { suggest } from './names.js';

/** A Keras optimizer: what the update kernel runs, with Keras's class name and config. */
export interface Optimizer extends OptimizerSettings {
  /** Keras's class name: 'SGD', 'RMSprop', 'Adam', 'AdamW', 'Nadam'. */
  className: string;
  /** Keras's config keys (learning_rate, beta_1, ...): what model.json's training_config holds. */
  config: Record<string, number | boolean>;
}

/** Options every optimizer takes; null (Keras's None) or absent: off. */
export interface CommonOptimizerArgs {
  /** Keras 2's time decay of the rate: lr / (1 + decay·iterations), iterations before this update. */
  decay?: number | null;
  /** Keras 3: each weight tensor's gradient scaled to an L2 norm of at most this. */
  clipnorm?: number | null;
  /** Keras 3: each gradient element clipped to [−clipvalue, clipvalue]. */
  clipvalue?: number | null;
  /** Keras 3: all gradients scaled together to a global L2 norm of at most this. */
  globalClipnorm?: number | null;
  /** Keras 3's decoupled weight decay, before the update: w ← w − w·weightDecay·lr. */
  weightDecay?: number | null;
}

export interface SgdArgs extends CommonOptimizerArgs {
  learningRate?: number;
  momentum?: number;
  nesterov?: boolean;
}
export interface RmspropArgs extends CommonOptimizerArgs {
  learningRate?: number;
  rho?: number;
  momentum?: number;
  epsilon?: number;
  centered?: boolean;
}
export interface AdamArgs extends CommonOptimizerArgs {
  learningRate?: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  amsgrad?: boolean;
}
export interface NadamArgs extends CommonOptimizerArgs {
  learningRate?: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  /** d in u_t = β1(1 − 0.5·0.96^(d·t)): Keras 3 is 1 (the default), tf.keras 2 used 0.004. */
  scheduleDecay?: number;
}

/** Keras 2's `lr` (deprecated there, with a note printed once). */
interface KerasLr {
  lr?: number;
}
/** Keras's `beta_1` / `beta_2` (snakeCase keeps digits: these are aliases). */
interface KerasBetas {
  beta_1?: number;
  beta_2?: number;
}

/** The options as a call may spell them: camelCase, snake_case, Keras's aliases. */
export type SgdOptions = Spelled<SgdArgs> & KerasLr;
export type RmspropOptions = Spelled<RmspropArgs> & KerasLr;
export type AdamOptions = Spelled<AdamArgs> & KerasLr & KerasBetas;
export type NadamOptions = Spelled<NadamArgs> & KerasLr & KerasBetas;

// ---------------------------------------------------------------- factories

/** Keras 2.x's words (optimizer_v2.py), printed once per optimizer name. */
const LR_NOTE = 'The `lr` argument is deprecated, use `learning_rate` instead.';
const ALIASES = {
  lr: { to: 'learningRate', note: LR_NOTE },
  beta_1: 'beta1',
  beta_2: 'beta2',
} as const;

const COMMON_KEYS = {
  learningRate: true,
  decay: true,
  clipnorm: true,
  clipvalue: true,
  globalClipnorm: true,
  weightDecay: true,
} as const;
const SGD_KEYS: Record<keyof SgdArgs, true> = { ...COMMON_KEYS, momentum: true, nesterov: true };
const RMSPROP_KEYS: Record<keyof RmspropArgs, true> = {
  ...COMMON_KEYS,
  rho: true,
  momentum: true,
  epsilon: true,
  centered: true,
};
const ADAM_KEYS: Record<keyof AdamArgs, true> = {
  ...COMMON_KEYS,
  beta1: true,
  beta2: true,
  epsilon: true,
  amsgrad: true,
};
const NADAM_KEYS: Record<keyof NadamArgs, true> = {
  ...COMMON_KEYS,
  beta1: true,
  beta2: true,
  epsilon: true,
  scheduleDecay: true,
};

/**
 * The options of `optimizers.<what>(first, second)`: `first` the learning rate (Keras's
 * positional argument) or the options, `second` the options after a positional rate.
 */
function readArgs<T extends { learningRate?: number }>(
  what: string,
  first: unknown,
  second: unknown,
  keys: Readonly<Record<keyof T & string, true>>,
): T {
  if (typeof first === 'number') {
    const args = readOptions<T>(what, second, keys, { aliases: ALIASES });
    if (args.learningRate !== undefined) {
      throw new TypeError(
        `${what}: the learning rate is given twice, as the first argument (${first}) and as an option`,
      );
    }
    return { ...args, learningRate: first };
  }
  if (second !== undefined) {
    throw new TypeError(
      `${what}: options after options; pass the learning rate first (${what}(0.01, { ... })) or inside the options`,
    );
  }
  return readOptions<T>(what, first, keys, { aliases: ALIASES });
}

/** The common options' Keras config entries, those set (Keras 3's names; `decay` Keras 2's). */
function commonConfig(spec: OptimizerSpec): Record<string, number> {
  const out: Record<string, number> = {};
  if (spec.weightDecay !== undefined) out.weight_decay = spec.weightDecay;
  if (spec.clipnorm !== undefined) out.clipnorm = spec.clipnorm;
  if (spec.globalClipnorm !== undefined) out.global_clipnorm = spec.globalClipnorm;
  if (spec.clipvalue !== undefined) out.clipvalue = spec.clipvalue;
  if (spec.decay !== undefined) out.decay = spec.decay;
  return out;
}

/** The common options of a resolved spec, those set. */
function commonSpec(spec: OptimizerSpec): CommonSpec {
  const out: CommonSpec = {};
  for (const key of ['decay', 'clipnorm', 'globalClipnorm', 'clipvalue', 'weightDecay'] as const) {
    const x = spec[key];
    if (x !== undefined) out[key] = x;
  }
  return out;
}
type CommonSpec = Pick<OptimizerSpec, 'decay' | 'clipnorm' | 'globalClipnorm' | 'clipvalue' | 'weightDecay'>;

/** The spec resolved (defaults, ranges, the common options), the learning rate checked. */
function resolved<K extends OptimizerSpec['kind']>(
  kind: K,
  what: string,
  args: { learningRate?: number },
  defaultRate: number,
): { spec: Extract<ReturnType<typeof resolveOptimizerSpec>, { kind: K }>; lr: number } {
  const { learningRate, ...rest } = args;
  let spec;
  try {
    spec = resolveOptimizerSpec({ kind, ...rest });
  } catch (e) {
    // The kernel layer names the rule ('adam'); the caller called `what` ('adamw').
    if (e instanceof Error && what !== kind && e.message.startsWith(`${kind}: `)) {
      e.message = `${what}: ${e.message.slice(kind.length + 2)}`;
    }
    throw e;
  }
  return {
    spec: spec as Extract<ReturnType<typeof resolveOptimizerSpec>, { kind: K }>,
    lr: checkLearningRate(what, learningRate ?? defaultRate),
  };
}

function sgd(learningRate?: number | SgdOptions, options?: SgdOptions): Optimizer {
  const args = readArgs<SgdArgs>('sgd', learningRate, options, SGD_KEYS);
  const { spec, lr } = resolved('sgd', 'sgd', args, 0.01);
  const { momentum, nesterov } = spec;
  return {
    spec,
    learningRate: lr,
    className: 'SGD',
    config: { learning_rate: lr, momentum, nesterov, ...commonConfig(spec) },
  };
}

function rmsprop(learningRate?: number | RmspropOptions, options?: RmspropOptions): Optimizer {
  const args = readArgs<RmspropArgs>('rmsprop', learningRate, options, RMSPROP_KEYS);
  const { spec, lr } = resolved('rmsprop', 'rmsprop', args, 0.001);
  const { rho, momentum, epsilon, centered } = spec;
  return {
    spec,
    learningRate: lr,
    className: 'RMSprop',
    config: { learning_rate: lr, rho, momentum, epsilon, centered, ...commonConfig(spec) },
  };
}

function adamLike(what: 'adam' | 'adamw', args: AdamArgs): Optimizer {
  const { spec, lr } = resolved('adam', what, args, 0.001);
  const { beta1, beta2, epsilon, amsgrad } = spec;
  const config = { learning_rate: lr, beta_1: beta1, beta_2: beta2, epsilon, amsgrad, ...commonConfig(spec) };
  if (what === 'adamw')
    return { spec, learningRate: lr, className: 'AdamW', config: { weight_decay: 0, ...config } };
  return { spec, learningRate: lr, className: 'Adam', config };
}

function adam(learningRate?: number | AdamOptions, options?: AdamOptions): Optimizer {
  return adamLike('adam', readArgs<AdamArgs>('adam', learningRate, options, ADAM_KEYS));
}

/** Keras 3's AdamW: Adam with weightDecay (default 0.004; null is refused, as Keras does). */
function adamw(learningRate?: number | AdamOptions, options?: AdamOptions): Optimizer {
  const args = readArgs<AdamArgs>('adamw', learningRate, options, ADAM_KEYS);
  if (args.weightDecay === null) {
    throw new TypeError('adamw: weightDecay must be a number (AdamW is Adam with weight decay), got null');
  }
  return adamLike('adamw', { ...args, weightDecay: args.weightDecay ?? 0.004 });
}

function nadam(learningRate?: number | NadamOptions, options?: NadamOptions): Optimizer {
  const args = readArgs<NadamArgs>('nadam', learningRate, options, NADAM_KEYS);
  const { spec, lr } = resolved('nadam', 'nadam', args, 0.001);
  const { beta1, beta2, epsilon, scheduleDecay } = spec;
  // Keras 3 has no such option: it is kept out of the spec and config unless given.
  const given = args.scheduleDecay !== undefined;
  const config: Record<string, number> = { learning_rate: lr, beta_1: beta1, beta_2: beta2, epsilon };
  if (given) config.schedule_decay = scheduleDecay;
  return {
    spec: { kind: 'nadam', beta1, beta2, epsilon, ...(given ? { scheduleDecay } : {}), ...commonSpec(spec) },
    learningRate: lr,
    className: 'Nadam',
    config: { ...config, ...commonConfig(spec) },
  };
}

/**
 * `optimizers.adam({ learningRate: 1e-3 })`, `optimizers.sgd(0.01, { momentum: 0.9 })`,
 * `optimizers.SGD({ lr: 0.1, decay: 1e-4 })`: tfjs's lowercase names and Keras's class names
 * are the same factories (called without `new`).
 */
export const optimizers = {
  sgd,
  rmsprop,
  adam,
  adamw,
  nadam,
  SGD: sgd,
  RMSprop: rmsprop,
  Adam: adam,
  AdamW: adamw,
  Nadam: nadam,
};

// ---------------------------------------------------------------- resolution

type Name = 'sgd' | 'rmsprop' | 'adam' | 'adamw' | 'nadam';

const FACTORIES: Readonly<Record<Name, (args: Record<string, unknown>) => Optimizer>> = {
  sgd: (a) => sgd(a),
  rmsprop: (a) => rmsprop(a),
  adam: (a) => adam(a),
  adamw: (a) => adamw(a),
  nadam: (a) => nadam(a),
};

const VALID: readonly Name[] = ['sgd', 'rmsprop', 'adam', 'adamw', 'nadam'];
const SUGGESTIONS = [...VALID, 'SGD', 'RMSprop', 'Adam', 'AdamW', 'Nadam'];
/** Keras / tfjs optimizers this library does not implement. */
const UNSUPPORTED = ['adagrad', 'adadelta', 'adamax', 'ftrl', 'lion', 'adafactor', 'lamb', 'momentum'];

function nameOf(name: string): Name {
  const key = name.toLowerCase().replace(/_/g, '');
  if ((VALID as readonly string[]).includes(key)) return key as Name;
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
  decay: 'decay',
  clipnorm: 'clipnorm',
  clipvalue: 'clipvalue',
  global_clipnorm: 'globalClipnorm',
  weight_decay: 'weightDecay',
};

/**
 * Keras config entries that carry no update rule of their own: accepted when they hold their
 * inactive value (null, false, 0); anything else is a feature this library does not have.
 */
const INERT_KEYS = new Set([
  'name',
  'use_ema',
  'ema_momentum',
  'ema_overwrite_frequency',
  'loss_scale_factor',
  'gradient_accumulation_steps',
  'jit_compile',
  'is_legacy_optimizer',
]);
const ALWAYS_INERT = new Set([
  'name',
  'ema_momentum',
  'ema_overwrite_frequency',
  'jit_compile',
  'is_legacy_optimizer',
]);
/** Options a config may hold as null (Keras's None: off). */
const NULLABLE = new Set(['decay', 'clipnorm', 'clipvalue', 'globalClipnorm', 'weightDecay']);

function fromSerialized(className: string, config: Record<string, unknown>): Optimizer {
  const name = nameOf(className);
  const args: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    // tfjs's RMSProp stores ρ as `decay`; in Keras `decay` is the legacy learning-rate decay.
    if (key === 'decay' && className === 'RMSProp') {
      args.rho = value;
      continue;
    }
    const option = CONFIG_KEYS[key];
    if (option !== undefined) {
      // Keras 3 writes every clip as null when unset; AdamW's null weight_decay is refused.
      if (value === null && NULLABLE.has(option) && !(name === 'adamw' && option === 'weightDecay')) continue;
      args[option] = value;
    } else if (INERT_KEYS.has(key)) {
      if (!ALWAYS_INERT.has(key) && value !== null && value !== false && value !== 0) {
        throw new Error(`optimizer ${className}: '${key}' = ${String(value)} is not supported yet`);
      }
    } else {
      throw new Error(`optimizer ${className}: unknown config key '${key}'`);
    }
  }
  return FACTORIES[name](args);
}

/**
 * An optimizer from a name ('adam', 'RMSprop', 'AdamW': Keras's defaults), an Optimizer
 * (checked again and returned as a fresh object), or a serialized { className, config }
 * (Keras or tfjs training_config).
 */
export function resolveOptimizer(
  spec: string | Optimizer | { className: string; config?: Record<string, unknown> },
): Optimizer {
  if (typeof spec === 'string') return FACTORIES[nameOf(spec)]({});
  const value: unknown = spec; // JS callers may pass anything
  if (typeof value !== 'object' || value === null) {
    throw new TypeError(`optimizer must be a name or an optimizer, got ${String(value)}`);
  }
  if ('spec' in spec) {
    const { kind, ...rest } = spec.spec;
    // AdamW's spec is Adam's with its weight decay (absent when 0: AdamW's default is not 0).
    const adamW = spec.className === 'AdamW' && kind === 'adam';
    const args = {
      ...rest,
      learningRate: spec.learningRate,
      ...(adamW ? { weightDecay: rest.weightDecay ?? 0 } : {}),
    };
    return FACTORIES[adamW ? 'adamw' : nameOf(kind)](args);
  }
  if (typeof spec.className !== 'string') {
    throw new TypeError(`optimizer object needs a className string, got ${String(spec.className)}`);
  }
  return fromSerialized(spec.className, spec.config ?? {});
}
