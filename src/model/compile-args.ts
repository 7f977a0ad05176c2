/**
 * compile()'s arguments read (either spelling, unknown keys refused) and resolved: the
 * optimizer, and per model output its loss (Keras and tfjs names), loss weight, metrics and
 * weighted metrics, given as one for every output, a list, or a record by output name (an
 * unknown name is an error with a suggestion). Also the refusal of the Keras options this
 * library does not have yet or at all, shared by the model's methods.
 */
import { resolveLoss, resolveMetric, suggest } from '../nn/names.js';
import { resolveOptimizer, type Optimizer } from '../nn/optimizers.js';
import { camelCase, readOptions, type Spelled } from '../util/options.js';

/**
 * Keras options of the model's methods that are coming: refused with "not supported yet", not
 * as unknown. Keys in camelCase. Sample and class weights are taken by the methods of
 * WEIGHTED_CALLS only.
 */
const NOT_YET: Readonly<Record<string, string>> = {
  classWeight: 'class weights outside fit and trainOnBatch',
  sampleWeight: 'sample weights outside fit, trainOnBatch, evaluate and testOnBatch',
};

/** The methods that take sampleWeight / classWeight (their own options list them). */
const WEIGHTED_CALLS: Readonly<Record<'sampleWeight' | 'classWeight', ReadonlySet<string>>> = {
  sampleWeight: new Set(['fit', 'trainOnBatch', 'search', 'evaluate', 'testOnBatch']),
  classWeight: new Set(['fit', 'trainOnBatch', 'search']),
};

/** Methods Keras gives sample_weight but no class_weight (Keras 3's evaluate, test_on_batch). */
const NO_CLASS_WEIGHT: ReadonlySet<string> = new Set(['evaluate', 'testOnBatch']);

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
    if ((camel === 'sampleWeight' || camel === 'classWeight') && WEIGHTED_CALLS[camel].has(what)) continue;
    if (camel === 'classWeight' && NO_CLASS_WEIGHT.has(what)) {
      throw new Error(
        `${what}: '${key}' is not an option of Keras's ${what === 'evaluate' ? 'evaluate' : 'test_on_batch'}; ` +
          "pass sampleWeight with each row's class weight instead",
      );
    }
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
  /**
   * Keras's weighted_metrics, in the forms of `metrics`: computed with the rows' sample
   * weights (sampleWeight, or classWeight made per-row), Σ w·v / Σ w; `metrics` stay
   * unweighted. Without weights they equal their unweighted values.
   */
  weightedMetrics?: readonly string[] | Readonly<Record<string, readonly string[]>>;
  lossWeights?: readonly number[] | Readonly<Record<string, number>>;
}

/** A model's compile settings, resolved. */
export interface Compiled {
  optimizer: Optimizer;
  heads: {
    loss: ReturnType<typeof resolveLoss>;
    weight: number;
    metrics: ReturnType<typeof resolveMetric>[];
    /** weightedMetrics, resolved as metrics. */
    weightedMetrics: ReturnType<typeof resolveMetric>[];
  }[];
}

const COMPILE_KEYS: Readonly<Record<keyof CompileArgs, true>> = {
  optimizer: true,
  loss: true,
  metrics: true,
  weightedMetrics: true,
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
  const lists = (v: CompileArgs['metrics'], what: string): (readonly string[])[] => {
    const raw: unknown = v; // checked at run time for untyped callers
    if (raw !== undefined && (typeof raw !== 'object' || raw === null))
      throw new TypeError(`compile: ${what} must be a list of metric names or a record by output name`);
    return Array.isArray(v)
      ? names.map(() => v as readonly string[])
      : perOutput(
          v as Readonly<Record<string, readonly string[]>> | undefined,
          what,
          [] as readonly string[],
        );
  };
  const metricLists = lists(args.metrics, 'metrics');
  const weightedLists = lists(args.weightedMetrics, 'weightedMetrics');
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
      weightedMetrics: (weightedLists[i] ?? []).map((m) => resolveMetric(m, loss, out.features)),
    };
  });
  return { optimizer, heads };
}

/**
 * The log key of each weighted metric (per head, in compile order), as Keras 3's
 * CompileMetrics.result() names them: the metric's name (with the output's name as prefix
 * for several outputs) unless an unweighted metric (or an earlier weighted one) has that key
 * already, then `weighted_<name>` (prefixed likewise), with `_1`, `_2`, ... for repeats.
 */
export function weightedMetricKeys(heads: Compiled['heads'], outputNames: readonly string[]): string[][] {
  const several = heads.length > 1;
  const key = (i: number, name: string): string => (several ? `${outputNames[i] ?? i}_${name}` : name);
  const used = new Map<string, number>();
  heads.forEach((h, i) => {
    for (const m of h.metrics) used.set(key(i, m.name), 1);
  });
  return heads.map((h, i) =>
    h.weightedMetrics.map((m) => {
      const plain = key(i, m.name);
      if (!used.has(plain)) {
        used.set(plain, 1);
        return plain;
      }
      const weighted = key(i, `weighted_${m.name}`);
      const n = used.get(weighted);
      used.set(weighted, (n ?? 0) + 1);
      return n === undefined ? weighted : `${weighted}_${n}`;
    }),
  );
}

/**
 * The order of Keras 3's evaluate list (Trainer._flatten_metrics_in_order) for these logs:
 * 'loss', then the compiled metrics' plain names that are log keys (metrics, then weighted
 * metrics, in compile order: for one output these are its keys), then `<output>_loss` per
 * output in output order (several outputs), then every other key sorted.
 */
export function kerasLogOrder(
  logs: Readonly<Record<string, number>>,
  heads: Compiled['heads'],
  outputNames: readonly string[],
): string[] {
  const named = [
    'loss',
    ...heads.flatMap((h) => h.metrics.map((m) => m.name)),
    ...heads.flatMap((h) => h.weightedMetrics.map((m) => m.name)),
    ...(heads.length > 1 ? outputNames.map((o) => `${o}_loss`) : []),
  ];
  // Keras lists a name twice when both lists have it (the same value twice, and the
  // weighted_ key among the rest); here each key comes once.
  const order = [...new Set(named)].filter((k) => k in logs);
  const rest = Object.keys(logs)
    .filter((k) => !order.includes(k))
    .sort();
  return [...order, ...rest];
}
