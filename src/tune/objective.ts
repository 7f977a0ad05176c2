/**
 * What a tuner optimises: a name from fit()'s logs ('val_accuracy', 'val_loss', 'loss', any
 * metric, 'val_<output>_accuracy' for a model with several outputs) and whether lower or
 * higher is better. A trial's score is the best epoch value of that log, as Keras Tuner
 * scores a trial (MetricHistory.get_best_value: nanmin / nanmax over the epochs).
 */
import { logValue, type Logs } from '../model/callbacks.js';
import { readOptions } from '../util/options.js';

export type Direction = 'min' | 'max';

export interface Objective {
  name: string;
  direction: Direction;
}

export type ObjectiveSpec = string | Objective;

export class ObjectiveError extends Error {
  override name = 'ObjectiveError';
}

/**
 * Keras Tuner's infer_metric_direction, for this library's log names: losses, errors and
 * cross-entropies are minimised; accuracies, AUC, precision, recall and F1 are maximised.
 * Undefined when the name says neither (Keras Tuner then asks for an Objective too).
 */
export function inferDirection(name: string): Direction | undefined {
  const base = name.replace(/^val_/, '').replace(/^weighted_/, '');
  // A per-output log of a multi-output model is "<output>_<metric>": judge it by its end.
  if (/(^|_)(loss|crossentropy|ce)$/.test(base)) return 'min';
  if (/(^|_)(acc|accuracy|auc|precision|recall|f1|f1_score)$/.test(base)) return 'max';
  if (
    /(^|_)(mae|mse|rmse|msle|mape|huber|hinge|squared_hinge|kl_divergence|mean_(absolute|squared|squared_logarithmic)_error|root_mean_squared_error)$/.test(
      base,
    )
  )
    return 'min';
  return undefined;
}

/** The objective with its direction (inferred from a name, or as given). */
export function resolveObjective(spec: ObjectiveSpec): Objective {
  const given: unknown = spec;
  if (typeof given !== 'string' && (typeof given !== 'object' || given === null))
    throw new ObjectiveError(
      `objective: give a log name such as "val_accuracy" or { name, direction }, got ${String(given)}`,
    );
  if (typeof spec === 'string') {
    if (spec === '') throw new ObjectiveError('objective: give a log name such as "val_accuracy"');
    const direction = inferDirection(spec);
    if (!direction) {
      throw new ObjectiveError(
        `objective "${spec}": cannot tell whether lower or higher is better; pass { name: "${spec}", direction: "min" | "max" }`,
      );
    }
    return { name: spec, direction };
  }
  let read: Objective;
  try {
    read = readOptions<Objective>('objective', spec, { name: true, direction: true });
  } catch (e) {
    throw new ObjectiveError(e instanceof Error ? e.message : String(e));
  }
  spec = read;
  if (typeof spec.name !== 'string' || spec.name === '')
    throw new ObjectiveError('objective: name must be a non-empty string');
  const direction: unknown = spec.direction;
  if (direction !== 'min' && direction !== 'max')
    throw new ObjectiveError(
      `objective "${spec.name}": direction must be "min" or "max", got ${String(direction)}`,
    );
  return { name: spec.name, direction };
}

/** True when score a is strictly better than b (undefined scores are worst). */
export function better(o: Objective, a: number | undefined, b: number | undefined): boolean {
  if (a === undefined || Number.isNaN(a)) return false;
  if (b === undefined || Number.isNaN(b)) return true;
  return o.direction === 'min' ? a < b : a > b;
}

/** The objective's value in one epoch's logs, under its name or its acc/accuracy twin. */
export function objectiveLog(o: Objective, logs: Logs): number | undefined {
  return logValue(logs, o.name);
}

/**
 * The objective's value in one epoch's logs (under its name or its acc/accuracy twin), or an
 * error naming the logs there are.
 */
export function objectiveValue(o: Objective, logs: Logs, hasValidation: boolean): number {
  const v = objectiveLog(o, logs);
  if (v !== undefined) return v;
  const hint =
    o.name.startsWith('val_') && !hasValidation ? '; pass validationData or validationSplit to search()' : '';
  throw new ObjectiveError(
    `objective "${o.name}" is not in the logs (${Object.keys(logs).join(', ')})${hint}`,
  );
}

/** The best epoch of a history of objective values: { score, epoch } (NaNs skipped), or undefined. */
export function bestEpoch(
  o: Objective,
  values: readonly number[],
  epochs: readonly number[],
): { score: number; epoch: number } | undefined {
  let best: { score: number; epoch: number } | undefined;
  values.forEach((v, i) => {
    if (better(o, v, best?.score)) best = { score: v, epoch: epochs[i] ?? i };
  });
  return best;
}
