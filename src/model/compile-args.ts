/**
 * compile()'s arguments resolved: the optimizer, and per model output its loss (Keras and
 * tfjs names), loss weight and metrics, given as one for every output, a list, or a record
 * by output name (an unknown name is an error with a suggestion).
 */
import { resolveLoss, resolveMetric, suggest } from '../nn/names.js';
import { resolveOptimizer, type Optimizer } from '../nn/optimizers.js';

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

/** compile(args) for a model with these outputs (names and widths). */
export function resolveCompileArgs(
  args: CompileArgs,
  outputs: readonly { name: string; features: number }[],
): Compiled {
  const optimizer = resolveOptimizer(args.optimizer);
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
