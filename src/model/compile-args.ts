/**
 * compile()'s arguments read (either spelling, unknown keys refused) and resolved: the
 * optimizer, and per model output its loss (Keras and tfjs names), loss weight and metrics,
 * given as one for every output, a list, or a record by output name (an unknown name is an
 * error with a suggestion). Also the refusal of the Keras options this library does not
 * have yet or at all, shared by the model's methods.
 */
import { resolveLoss, resolveMetric, suggest } from '../nn/names.js';
import { resolveOptimizer, type Optimizer } from '../nn/optimizers.js';
import { camelCase, readOptions, type Spelled } from '../util/options.js';

/**
 * Keras options of the model's methods that are coming: refused with "not supported yet", not
 * as unknown. Keys in camelCase. Sample and class weights are taken by WEIGHTED_CALLS only.
 */
const NOT_YET: Readonly<Record<string, string>> = {
  classWeight: 'class weights outside fit and trainOnBatch',
  sampleWeight: 'sample weights outside fit and trainOnBatch',
  weightedMetrics: 'weighted metrics (they weight by sample weights)',
};

/** The methods that take sampleWeight / classWeight (their own options list them). */
const WEIGHTED_CALLS: ReadonlySet<string> = new Set(['fit', 'trainOnBatch', 'search']);

/** Keras options with no equivalent here, and why. Keys in camelCase. */
const NO_EQUIVALENT: Readonly<Record<string, string>> = {
  runEagerly: 'every step runs as compiled GPU work; there is no eager mode',
  jitCompile: 'every step is compiled for the GPU already',
  stepsPerExecution: "fit's stepsPerSubmit sets the steps per GPU submission",
  autoScaleLoss: 'training runs in float32 only',
  stepsPerEpoch: 'an epoch is one pass over x (make a smaller dataset for shorter epochs)',
  validationSteps: 'validation runs over all of the validation data',
  steps: 'the call runs over all of x',
  workers: 'data is on the GPU; there are no loader workers',
  useMultiprocessing: 'data is on the GPU; there are no loader workers',
  maxQueueSize: 'data is on the GPU; there is no loader queue',
};

/**
 * Refuses, before readOptions, the Keras options of `what` that are not supported yet (or
 * have no equivalent), with a message saying so rather than "unknown option".
 */
export function refuseKerasOnly(what: string, given: unknown): void {
  if (typeof given !== 'object' || given === null || Array.isArray(given)) return;
  for (const [key, value] of Object.entries(given)) {
    if (value === undefined) continue;
    const camel = camelCase(key);
    if ((camel === 'sampleWeight' || camel === 'classWeight') && WEIGHTED_CALLS.has(what)) continue;
    const soon = NOT_YET[camel];
    if (soon !== undefined) {
      throw new Error(
        `${what}: '${key}' is not supported yet (${soon}); train without it for now, or balance the data (e.g. resample the rare classes)`,
      );
    }
    const why = NO_EQUIVALENT[camel];
    if (why !== undefined) throw new Error(`${what}: Keras's '${key}' has no equivalent here: ${why}`);
  }
}

export interface CompileArgs {
  optimizer: string | Optimizer;
  /** One loss for every output, one per output, or by output name. */
  loss: string | readonly string[] | Readonly<Record<string, string>>;
  metrics?: readonly string[] | Readonly<Record<string, readonly string[]>>;
  lossWeights?: readonly number[] | Readonly<Record<string, number>>;
}

/** A model's compile settings, resolved. */
export interface Compiled {
  optimizer: Optimizer;
  heads: {
    loss: ReturnType<typeof resolveLoss>;
    weight: number;
    metrics: ReturnType<typeof resolveMetric>[];
  }[];
}

const COMPILE_KEYS: Readonly<Record<keyof CompileArgs, true>> = {
  optimizer: true,
  loss: true,
  metrics: true,
  lossWeights: true,
};

/** compile()'s options as given (either spelling) as CompileArgs; bad keys refused. */
export function readCompileArgs(given: Spelled<CompileArgs>): CompileArgs {
  refuseKerasOnly('compile', given);
  const args = readOptions<Partial<CompileArgs>>('compile', given, COMPILE_KEYS);
  if (args.optimizer === undefined) throw new TypeError("compile: no optimizer (e.g. { optimizer: 'adam' })");
  if (args.loss === undefined) throw new TypeError("compile: no loss (e.g. { loss: 'mse' })");
  return args as CompileArgs;
}

/**
 * compile(args) for a model with these outputs (names and widths); `optimizer`, when given,
 * is used instead of resolving args.optimizer again (a model built after compile).
 */
export function resolveCompileArgs(
  args: CompileArgs,
  outputs: readonly { name: string; features: number }[],
  optimizer: Optimizer = resolveOptimizer(args.optimizer),
): Compiled {
  const names = outputs.map((o) => o.name);
  const perOutput = <T>(
    v: T | readonly T[] | Readonly<Record<string, T>> | undefined,
    what: string,
    fallback?: T,
  ): T[] =>
    names.map((name, i) => {
      if (v === undefined) {
        if (fallback === undefined) throw new TypeError(`compile: no ${what} for output "${name}"`);
        return fallback;
      }
      if (Array.isArray(v)) {
        if (v.length !== names.length) {
          throw new TypeError(
            `compile: ${what} has ${v.length} entries for ${names.length} outputs (${names.join(', ')})`,
          );
        }
        return v[i] as T;
      }
      if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
        for (const key of Object.keys(v)) {
          if (!names.includes(key)) {
            const hint = suggest(key, names);
            throw new TypeError(
              `compile: ${what} names output "${key}", which this model does not have` +
                `${hint ? `; did you mean "${hint}"?` : ''} Outputs: ${names.join(', ')}`,
            );
          }
        }
        const r = (v as Readonly<Record<string, T>>)[name];
        if (r === undefined) {
          if (fallback === undefined)
            throw new TypeError(`compile: ${what} has no entry for output "${name}"`);
          return fallback;
        }
        return r;
      }
      return v;
    });
  const losses = perOutput(args.loss, 'loss');
  const weights = perOutput(args.lossWeights, 'lossWeights', 1);
  const metricLists: (readonly string[])[] = Array.isArray(args.metrics)
    ? names.map(() => args.metrics as readonly string[])
    : perOutput(
        args.metrics as Readonly<Record<string, readonly string[]>> | undefined,
        'metrics',
        [] as readonly string[],
      );
  const heads = losses.map((l, i) => {
    const loss = resolveLoss(l);
    const out = outputs[i] as { features: number };
    const w = weights[i] as number;
    if (!Number.isFinite(w) || w < 0)
      throw new RangeError(`compile: loss weight ${w} for "${names[i]}" must be ≥ 0`);
    return {
      loss,
      weight: w,
      metrics: (metricLists[i] ?? []).map((m) => resolveMetric(m, loss, out.features)),
    };
  });
  return { optimizer, heads };
}
