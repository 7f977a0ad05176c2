/**
 * Keras weight initializers, seedable, computed on the host into a Float32Array.
 *
 * Formulas are Keras 3's (keras/src/initializers):
 *   Zeros, Ones, Constant(value = 0)
 *   RandomUniform(minval = −0.05, maxval = 0.05)      U[minval, maxval)
 *   RandomNormal(mean = 0, stddev = 0.05)              N(mean, stddev²)
 *   TruncatedNormal(mean = 0, stddev = 0.05)           N(mean, stddev²), draws beyond 2·stddev
 *                                                      from the mean discarded and redrawn
 *   VarianceScaling(scale = 1, mode = fan_in, distribution = truncated_normal):
 *     n = max(1, fan_in | fan_out | (fan_in + fan_out)/2) by mode, s = scale / n;
 *     uniform              U[−√(3s), √(3s))
 *     truncated_normal     TruncatedNormal(0, √s / 0.87962566103423978): 0.8796… is the
 *                          standard deviation of N(0, 1) truncated to [−2, 2], so the values
 *                          end up with variance s
 *     untruncated_normal   N(0, s)
 *   GlorotUniform/GlorotNormal   scale 1, fan_avg,  uniform / truncated_normal
 *   HeUniform/HeNormal           scale 2, fan_in,   uniform / truncated_normal
 *   LecunUniform/LecunNormal     scale 1, fan_in,   uniform / truncated_normal
 * Fans (Keras compute_fans): shape [] → 1, 1; [n] → n, n; [in, out] → in, out; higher ranks
 * (convolution kernels [..., in, out]) multiply both by the product of the leading dims.
 *
 * Seeds: an initializer seeded in its config (`glorotUniform({ seed: 42 })`) gives the same
 * values on every call for the same shape, as Keras 3 documents for integer seeds; an unseeded
 * one draws from the seed the caller passes to init() (a layer passes a fresh one per
 * weight). The generator is src/util/random.ts (xoshiro128**), normals by Box–Muller;
 * values are drawn in float64 and rounded once to f32.
 */
import { readOptions, type Spelled } from '../util/options.js';
import { createRng, type Rng } from '../util/random.js';
import { suggest } from './names.js';

/** A Keras initializer: `name` is its Keras class name, `config` its Keras config. */
export interface Initializer {
  name: string;
  config: Record<string, number | string | null>;
  /** Values for a tensor of `shape`, row-major; `seed` is used unless the config has a seed. */
  init(shape: readonly number[], seed: number): Float32Array;
}

/**
 * A name ('glorotUniform', 'he_uniform', 'GlorotUniform'), a serialized Keras object
 * ({ className: 'RandomUniform', config: { minval: -0.5, maxval: 0.5 } }), or an initializer.
 */
export type InitializerSpec = string | { className: string; config?: Record<string, unknown> } | Initializer;

type Config = Record<string, unknown>;
type Seed = number | null;

// ---------------------------------------------------------------- shapes

function checkShape(what: string, shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) {
      throw new RangeError(`${what}: shape [${shape.join(', ')}] must be non-negative integers`);
    }
    n *= d;
  }
  return n;
}

/** Keras compute_fans: [fanIn, fanOut] of a weight shape. */
export function computeFans(shape: readonly number[]): [number, number] {
  checkShape('computeFans', shape);
  if (shape.length === 0) return [1, 1];
  if (shape.length === 1) return [shape[0] as number, shape[0] as number];
  if (shape.length === 2) return [shape[0] as number, shape[1] as number];
  const receptive = shape.slice(0, -2).reduce((a, b) => a * b, 1);
  return [(shape[shape.length - 2] as number) * receptive, (shape[shape.length - 1] as number) * receptive];
}

function checkCallSeed(what: string, seed: number): void {
  if (!Number.isSafeInteger(seed)) throw new RangeError(`${what}: seed must be an integer, got ${seed}`);
}

function sample(
  what: string,
  shape: readonly number[],
  configSeed: Seed,
  callSeed: number,
  draw: (rng: Rng) => number,
): Float32Array {
  const n = checkShape(what, shape);
  checkCallSeed(what, callSeed);
  const rng = createRng(configSeed ?? callSeed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = draw(rng);
  return out;
}

// ---------------------------------------------------------------- config reading

function readNumber(what: string, config: Config, key: string, fallback: number): number {
  const v = config[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new RangeError(`${what}: ${key} must be a finite number, got ${String(v)}`);
  }
  return v;
}

function readSeed(what: string, config: Config): Seed {
  const v = config.seed;
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) {
    throw new RangeError(`${what}: seed must be an integer or null, got ${String(v)}`);
  }
  return v;
}

function readChoice<T extends string>(
  what: string,
  config: Config,
  key: string,
  fallback: T,
  choices: Readonly<Record<string, T>>,
): T {
  const v = config[key] ?? fallback;
  const found = typeof v === 'string' ? choices[v.toLowerCase().replace(/_/g, '')] : undefined;
  if (found === undefined) {
    const valid = [...new Set(Object.values(choices))].join(', ');
    throw new RangeError(`${what}: ${key} must be one of ${valid}, got ${String(v)}`);
  }
  return found;
}

type Mode = 'fan_in' | 'fan_out' | 'fan_avg';
type Distribution = 'uniform' | 'truncated_normal' | 'untruncated_normal';

const MODES: Readonly<Record<string, Mode>> = { fanin: 'fan_in', fanout: 'fan_out', fanavg: 'fan_avg' };
/** 'normal' is Keras 2's name for the truncated normal; Keras 3 maps it the same way. */
const DISTRIBUTIONS: Readonly<Record<string, Distribution>> = {
  uniform: 'uniform',
  truncatednormal: 'truncated_normal',
  normal: 'truncated_normal',
  untruncatednormal: 'untruncated_normal',
};

/** The standard deviation of N(0, 1) truncated to [−2, 2] (Keras's constant). */
const TRUNCATED_STDDEV = 0.87962566103423978;

// ---------------------------------------------------------------- the initializers

function zeros(): Initializer {
  return constantOf('Zeros', {}, 0);
}

function ones(): Initializer {
  return constantOf('Ones', {}, 1);
}

function constantOf(name: string, config: Record<string, number>, value: number): Initializer {
  return {
    name,
    config,
    init: (shape) => new Float32Array(checkShape(name, shape)).fill(value),
  };
}

function constant(config: Config): Initializer {
  const value = readNumber('Constant', config, 'value', 0);
  return constantOf('Constant', { value }, value);
}

function randomUniform(config: Config): Initializer {
  const what = 'RandomUniform';
  const minval = readNumber(what, config, 'minval', -0.05);
  const maxval = readNumber(what, config, 'maxval', 0.05);
  if (!(minval <= maxval)) throw new RangeError(`${what}: minval ${minval} must be ≤ maxval ${maxval}`);
  const seed = readSeed(what, config);
  return {
    name: what,
    config: { minval, maxval, seed },
    init: (shape, callSeed) =>
      sample(what, shape, seed, callSeed, (rng) => minval + (maxval - minval) * rng.next()),
  };
}

function randomNormal(config: Config, truncated: boolean): Initializer {
  const what = truncated ? 'TruncatedNormal' : 'RandomNormal';
  const mean = readNumber(what, config, 'mean', 0);
  const stddev = readNumber(what, config, 'stddev', 0.05);
  if (stddev < 0) throw new RangeError(`${what}: stddev must be ≥ 0, got ${stddev}`);
  const seed = readSeed(what, config);
  return {
    name: what,
    config: { mean, stddev, seed },
    init: (shape, callSeed) =>
      sample(
        what,
        shape,
        seed,
        callSeed,
        (rng) => mean + stddev * (truncated ? rng.truncatedNormal() : rng.normal()),
      ),
  };
}

function varianceScaling(
  name: string,
  config: Config,
  fixed?: { scale: number; mode: Mode; distribution: Distribution },
): Initializer {
  const scale = fixed?.scale ?? readNumber(name, config, 'scale', 1);
  if (!(scale > 0)) throw new RangeError(`${name}: scale must be > 0, got ${scale}`);
  const mode = fixed?.mode ?? readChoice(name, config, 'mode', 'fan_in', MODES);
  const distribution =
    fixed?.distribution ?? readChoice(name, config, 'distribution', 'truncated_normal', DISTRIBUTIONS);
  const seed = readSeed(name, config);
  return {
    name,
    config: { scale, mode, distribution, seed },
    init: (shape, callSeed) => {
      const [fanIn, fanOut] = computeFans(shape);
      const n = mode === 'fan_in' ? fanIn : mode === 'fan_out' ? fanOut : (fanIn + fanOut) / 2;
      const s = scale / Math.max(1, n);
      if (distribution === 'uniform') {
        const limit = Math.sqrt(3 * s);
        return sample(name, shape, seed, callSeed, (rng) => limit * (2 * rng.next() - 1));
      }
      if (distribution === 'truncated_normal') {
        const stddev = Math.sqrt(s) / TRUNCATED_STDDEV;
        return sample(name, shape, seed, callSeed, (rng) => stddev * rng.truncatedNormal());
      }
      const stddev = Math.sqrt(s);
      return sample(name, shape, seed, callSeed, (rng) => stddev * rng.normal());
    },
  };
}

interface Kind {
  className: string;
  /** Config keys accepted (others are an error: a typo would silently fall back to a default). */
  keys: readonly string[];
  make(config: Config): Initializer;
}

/** The VarianceScaling keys a serialized GlorotUniform etc. may carry (tfjs writes them); ignored. */
const VS_KEYS = ['seed', 'scale', 'mode', 'distribution'] as const;

function named(className: string, scale: number, mode: Mode, distribution: Distribution): Kind {
  return {
    className,
    keys: VS_KEYS,
    make: (c) => varianceScaling(className, c, { scale, mode, distribution }),
  };
}

const KINDS: readonly Kind[] = [
  { className: 'Zeros', keys: [], make: () => zeros() },
  { className: 'Ones', keys: [], make: () => ones() },
  { className: 'Constant', keys: ['value'], make: constant },
  { className: 'RandomUniform', keys: ['minval', 'maxval', 'seed'], make: randomUniform },
  { className: 'RandomNormal', keys: ['mean', 'stddev', 'seed'], make: (c) => randomNormal(c, false) },
  { className: 'TruncatedNormal', keys: ['mean', 'stddev', 'seed'], make: (c) => randomNormal(c, true) },
  { className: 'VarianceScaling', keys: VS_KEYS, make: (c) => varianceScaling('VarianceScaling', c) },
  named('GlorotUniform', 1, 'fan_avg', 'uniform'),
  named('GlorotNormal', 1, 'fan_avg', 'truncated_normal'),
  named('HeUniform', 2, 'fan_in', 'uniform'),
  named('HeNormal', 2, 'fan_in', 'truncated_normal'),
  named('LecunUniform', 1, 'fan_in', 'uniform'),
  named('LecunNormal', 1, 'fan_in', 'truncated_normal'),
];

/** Accepted spellings, normalized (lower case, no underscores): class name and snake/camel names. */
const KIND_BY_NAME = new Map<string, Kind>();
for (const kind of KINDS) KIND_BY_NAME.set(kind.className.toLowerCase(), kind);
for (const [alias, className] of [
  ['zero', 'Zeros'],
  ['one', 'Ones'],
  ['uniform', 'RandomUniform'],
  ['normal', 'RandomNormal'],
] as const) {
  KIND_BY_NAME.set(alias, KINDS.find((k) => k.className === className) as Kind);
}

/** Keras initializers this library does not implement. */
const UNSUPPORTED = new Set(['identity', 'orthogonal', 'stft']);

/** Valid names as the error lists them (Keras snake_case; camelCase and class names work too). */
const VALID_NAMES = [
  'zeros',
  'ones',
  'constant',
  'random_uniform',
  'random_normal',
  'truncated_normal',
  'variance_scaling',
  'glorot_uniform',
  'glorot_normal',
  'he_uniform',
  'he_normal',
  'lecun_uniform',
  'lecun_normal',
];
const SUGGESTIONS = [...VALID_NAMES, ...KINDS.map((k) => k.className), ...VALID_NAMES.map(toCamel)];

function toCamel(snake: string): string {
  return snake.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
}

function findKind(name: string): Kind {
  const key = name.toLowerCase().replace(/_/g, '');
  const kind = KIND_BY_NAME.get(key);
  if (kind) return kind;
  if (UNSUPPORTED.has(key)) {
    throw new Error(`initializer '${name}' is not supported yet; supported: ${VALID_NAMES.join(', ')}`);
  }
  const guess = suggest(name, SUGGESTIONS);
  throw new Error(
    `unknown initializer '${name}'${guess === undefined ? '.' : `; did you mean '${guess}'?`} ` +
      `Valid: ${VALID_NAMES.join(', ')} (camelCase and Keras class names are accepted too)`,
  );
}

function isInitializer(spec: object): spec is Initializer {
  return typeof (spec as { init?: unknown }).init === 'function';
}

/**
 * An initializer from a name, a serialized { className, config } (Keras or tfjs-layers JSON:
 * tfjs writes a glorotUniform as { className: 'VarianceScaling', config: { scale: 1, mode:
 * 'fan_avg', distribution: 'uniform', seed: null } }), or an initializer, returned as is.
 */
export function resolveInitializer(spec: InitializerSpec): Initializer {
  if (typeof spec === 'string') return findKind(spec).make({});
  const value: unknown = spec; // JS callers may pass anything
  if (typeof value !== 'object' || value === null) {
    throw new TypeError(
      `initializer must be a name, { className, config } or an initializer, got ${String(spec)}`,
    );
  }
  if (isInitializer(spec)) return spec;
  // Keras JSON's class_name or tfjs's className.
  const { className, config = {} } = readOptions<{ className: unknown; config?: Record<string, unknown> }>(
    'initializer',
    spec,
    { className: true, config: true },
  );
  if (typeof className !== 'string') {
    throw new TypeError(`initializer object needs a className string, got ${String(className)}`);
  }
  const kind = findKind(className);
  for (const key of Object.keys(config)) {
    if (key !== 'dtype' && !kind.keys.includes(key)) {
      throw new Error(
        `initializer ${kind.className}: unknown config key '${key}'; ` +
          (kind.keys.length > 0 ? `valid: ${kind.keys.join(', ')}` : 'it takes none'),
      );
    }
  }
  return kind.make(config);
}

// ---------------------------------------------------------------- factories

export interface SeedArgs {
  /** An integer: the same seed gives the same values on every call. */
  seed?: number | null;
}
export interface ConstantArgs {
  value?: number;
}
export interface UniformArgs extends SeedArgs {
  minval?: number;
  maxval?: number;
}
export interface NormalArgs extends SeedArgs {
  mean?: number;
  stddev?: number;
}
export interface VarianceScalingArgs extends SeedArgs {
  scale?: number;
  /** 'fan_in' | 'fan_out' | 'fan_avg' (tfjs: 'fanIn', ...). */
  mode?: string;
  /** 'uniform' | 'truncated_normal' | 'untruncated_normal' (Keras 2: 'normal'). */
  distribution?: string;
}

const SEED_KEYS: Readonly<Record<keyof SeedArgs, true>> = { seed: true };
const CONSTANT_KEYS: Readonly<Record<keyof ConstantArgs, true>> = { value: true };
const UNIFORM_KEYS: Readonly<Record<keyof UniformArgs, true>> = { minval: true, maxval: true, seed: true };
const NORMAL_KEYS: Readonly<Record<keyof NormalArgs, true>> = { mean: true, stddev: true, seed: true };
const VS_ARG_KEYS: Readonly<Record<keyof VarianceScalingArgs, true>> = {
  scale: true,
  mode: true,
  distribution: true,
  seed: true,
};

function kind(className: string): Kind {
  return KINDS.find((k) => k.className === className) as Kind;
}

/**
 * Options as the caller gave them: an object (either spelling, unknown keys refused) or
 * Keras's positional values (`RandomUniform(-0.5, 0.5)`), matched in order to `positional`.
 */
function args<T extends object>(
  what: string,
  given: readonly unknown[],
  keys: Readonly<Record<keyof T & string, true>>,
  positional: readonly (keyof T & string)[],
): Config {
  const [first] = given;
  if (first === undefined || (typeof first === 'object' && first !== null && !Array.isArray(first))) {
    if (given.length > 1) throw new TypeError(`${what}: give the options in one object`);
    return { ...readOptions<Config>(what, first, Object.keys(keys)) };
  }
  if (given.length > positional.length) {
    throw new TypeError(
      `${what}: takes at most ${positional.length} positional arguments (${positional.join(', ')}), got ${given.length}`,
    );
  }
  const out: Config = {};
  given.forEach((v, i) => {
    if (v !== undefined) out[positional[i] as string] = v;
  });
  return out;
}

type Positional<A, P extends unknown[]> = ((args?: Spelled<A>) => Initializer) &
  ((...values: P) => Initializer);

const zerosF = (): Initializer => zeros();
const onesF = (): Initializer => ones();
const constantF: Positional<ConstantArgs, [value?: number]> = (...a: unknown[]) =>
  constant(args<ConstantArgs>('initializers.constant', a, CONSTANT_KEYS, ['value']));
const randomUniformF: Positional<UniformArgs, [minval?: number, maxval?: number, seed?: number | null]> = (
  ...a: unknown[]
) =>
  randomUniform(
    args<UniformArgs>('initializers.randomUniform', a, UNIFORM_KEYS, ['minval', 'maxval', 'seed']),
  );
const randomNormalF: Positional<NormalArgs, [mean?: number, stddev?: number, seed?: number | null]> = (
  ...a: unknown[]
) =>
  randomNormal(
    args<NormalArgs>('initializers.randomNormal', a, NORMAL_KEYS, ['mean', 'stddev', 'seed']),
    false,
  );
const truncatedNormalF: Positional<NormalArgs, [mean?: number, stddev?: number, seed?: number | null]> = (
  ...a: unknown[]
) =>
  randomNormal(
    args<NormalArgs>('initializers.truncatedNormal', a, NORMAL_KEYS, ['mean', 'stddev', 'seed']),
    true,
  );
const varianceScalingF: Positional<
  VarianceScalingArgs,
  [scale?: number, mode?: string, distribution?: string, seed?: number | null]
> = (...a: unknown[]) =>
  varianceScaling(
    'VarianceScaling',
    args<VarianceScalingArgs>('initializers.varianceScaling', a, VS_ARG_KEYS, [
      'scale',
      'mode',
      'distribution',
      'seed',
    ]),
  );
/** A fixed variance-scaling initializer: `heUniform()`, `heUniform({ seed: 1 })`, `HeUniform(1)`. */
function seeded(className: string, factory: string): Positional<SeedArgs, [seed?: number | null]> {
  return (...a: unknown[]) =>
    kind(className).make(args<SeedArgs>(`initializers.${factory}`, a, SEED_KEYS, ['seed']));
}
const glorotUniformF = seeded('GlorotUniform', 'glorotUniform');
const glorotNormalF = seeded('GlorotNormal', 'glorotNormal');
const heUniformF = seeded('HeUniform', 'heUniform');
const heNormalF = seeded('HeNormal', 'heNormal');
const lecunUniformF = seeded('LecunUniform', 'lecunUniform');
const lecunNormalF = seeded('LecunNormal', 'lecunNormal');

/**
 * Factories in tfjs-layers style (`initializers.heUniform({ seed: 1 })`,
 * `initializers.randomUniform({ minval: -0.5, maxval: 0.5 })`), under Keras's class names too
 * (`initializers.RandomUniform(-0.5, 0.5)`, `initializers.HeUniform()`) and Keras's
 * snake_case function names (`initializers.he_uniform()`). Options in either spelling,
 * unknown keys refused; Keras's positional arguments in Keras's order.
 */
export const initializers = {
  zeros: zerosF,
  ones: onesF,
  constant: constantF,
  randomUniform: randomUniformF,
  randomNormal: randomNormalF,
  truncatedNormal: truncatedNormalF,
  varianceScaling: varianceScalingF,
  glorotUniform: glorotUniformF,
  glorotNormal: glorotNormalF,
  heUniform: heUniformF,
  heNormal: heNormalF,
  lecunUniform: lecunUniformF,
  lecunNormal: lecunNormalF,
  /** tfjs spelling of lecunUniform. */
  leCunUniform: lecunUniformF,
  /** tfjs spelling of lecunNormal. */
  leCunNormal: lecunNormalF,
  // Keras's class names.
  Zeros: zerosF,
  Ones: onesF,
  Constant: constantF,
  RandomUniform: randomUniformF,
  RandomNormal: randomNormalF,
  TruncatedNormal: truncatedNormalF,
  VarianceScaling: varianceScalingF,
  GlorotUniform: glorotUniformF,
  GlorotNormal: glorotNormalF,
  HeUniform: heUniformF,
  HeNormal: heNormalF,
  LecunUniform: lecunUniformF,
  LecunNormal: lecunNormalF,
  // Keras's snake_case function names.
  random_uniform: randomUniformF,
  random_normal: randomNormalF,
  truncated_normal: truncatedNormalF,
  variance_scaling: varianceScalingF,
  glorot_uniform: glorotUniformF,
  glorot_normal: glorotNormalF,
  he_uniform: heUniformF,
  he_normal: heNormalF,
  lecun_uniform: lecunUniformF,
  lecun_normal: lecunNormalF,
};
