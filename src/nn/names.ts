/**
 * Name resolution for the Keras-style API: activations, losses and accuracy metrics given as
 * Keras snake_case strings ('hard_sigmoid', 'sparse_categorical_crossentropy'), tfjs-layers
 * camelCase ones ('hardSigmoid', 'sparseCategoricalCrossentropy') or Keras class names
 * ('MeanSquaredError'). Matching ignores case and underscores, so all of these meet the same
 * entry. An unknown name fails with the closest valid spelling (edit distance) and the list of
 * valid names; a name Keras knows but this library does not implement yet says so.
 */
import type { ActivationAttrs, MetricKind, StatMetricKind, TargetKind } from '../graph/ir.js';
import type { LossName } from '../kernels/losses.js';
import { suggest } from '../util/suggest.js';

export { suggest };

/** 'Hard_Sigmoid', 'hardSigmoid' and 'hard_sigmoid' all become 'hardsigmoid'. */
function normalize(name: string): string {
  return name.toLowerCase().replace(/[_\-\s]/g, '');
}

/** `unknown <what> 'x'; did you mean 'y'? Valid: a, b, c` (without the question when none is close). */
function unknownName(
  what: string,
  name: string,
  aliases: readonly string[],
  canonical: readonly string[],
): Error {
  const guess = suggest(name, aliases);
  const hint = guess === undefined ? '.' : `; did you mean '${guess}'?`;
  return new Error(
    `unknown ${what} '${name}'${hint} Valid: ${canonical.join(', ')} (tfjs camelCase spellings are accepted too)`,
  );
}

function checkString(what: string, name: unknown): asserts name is string {
  if (typeof name !== 'string') throw new TypeError(`${what} must be a string name, got ${String(name)}`);
}

/** A table from every accepted spelling (normalized) to its entry. */
function table<T>(entries: readonly (readonly [readonly string[], T])[]): {
  lookup: Map<string, T>;
  aliases: string[];
} {
  const lookup = new Map<string, T>();
  const aliases: string[] = [];
  for (const [names, value] of entries) {
    for (const n of names) {
      const key = normalize(n);
      if (lookup.has(key) && lookup.get(key) !== value) throw new Error(`internal: name '${n}' is ambiguous`);
      lookup.set(key, value);
      aliases.push(n);
    }
  }
  return { lookup, aliases };
}

// ---------------------------------------------------------------- activations

const ACTIVATION_ENTRIES: readonly (readonly [readonly string[], ActivationAttrs['name']])[] = [
  [['linear'], 'linear'],
  [['relu'], 'relu'],
  [['elu'], 'elu'],
  [['selu'], 'selu'],
  [['sigmoid'], 'sigmoid'],
  [['hard_sigmoid', 'hardSigmoid'], 'hard_sigmoid'],
  [['tanh'], 'tanh'],
  [['softplus'], 'softplus'],
  [['softsign'], 'softsign'],
  [['exponential'], 'exponential'],
  [['softmax'], 'softmax'],
  [['leaky_relu', 'leakyRelu'], 'leaky_relu'],
  [['gelu'], 'gelu'],
  [['gelu_tanh', 'geluTanh'], 'gelu_tanh'],
];
const ACTIVATIONS = table(ACTIVATION_ENTRIES);
const ACTIVATION_CANONICAL = ACTIVATION_ENTRIES.map(([, n]) => n);

/** Keras activations this library does not implement. */
const UNSUPPORTED_ACTIVATIONS = new Set(
  [
    'relu6',
    'silu',
    'swish',
    'hard_silu',
    'hard_swish',
    'mish',
    'log_softmax',
    'celu',
    'glu',
    'sparsemax',
  ].map(normalize),
);

/**
 * An activation name as the graph IR's op: `{ name }` with the Keras snake_case name. elu's α
 * and leaky_relu's slope keep their defaults (1 and 0.2, as Keras); 'gelu' is the exact (erf)
 * form, 'gelu_tanh' the tanh approximation (Keras `gelu(x, approximate=True)`).
 */
export function resolveActivation(name: string): ActivationAttrs {
  checkString('activation', name);
  const found = ACTIVATIONS.lookup.get(normalize(name));
  if (found !== undefined) return { name: found };
  if (UNSUPPORTED_ACTIVATIONS.has(normalize(name))) {
    throw new Error(
      `activation '${name}' is not supported yet; supported: ${ACTIVATION_CANONICAL.join(', ')}`,
    );
  }
  throw unknownName('activation', name, ACTIVATIONS.aliases, ACTIVATION_CANONICAL);
}

// ---------------------------------------------------------------- losses

interface LossEntry {
  loss: LossName;
  target: TargetKind;
  /** Keras's snake_case name. */
  name: string;
}

const LOSS_ENTRIES: readonly (readonly [readonly string[], LossEntry])[] = [
  [
    ['mean_squared_error', 'meanSquaredError', 'mse'],
    { loss: 'mse', target: 'dense', name: 'mean_squared_error' },
  ],
  [
    ['mean_absolute_error', 'meanAbsoluteError', 'mae'],
    { loss: 'mae', target: 'dense', name: 'mean_absolute_error' },
  ],
  [['huber', 'huber_loss', 'huberLoss'], { loss: 'huber', target: 'dense', name: 'huber' }],
  [
    ['mean_squared_logarithmic_error', 'meanSquaredLogarithmicError', 'msle'],
    { loss: 'msle', target: 'dense', name: 'mean_squared_logarithmic_error' },
  ],
  [
    ['binary_crossentropy', 'binaryCrossentropy'],
    { loss: 'binary_crossentropy', target: 'dense', name: 'binary_crossentropy' },
  ],
  [
    ['categorical_crossentropy', 'categoricalCrossentropy'],
    { loss: 'categorical_crossentropy', target: 'dense', name: 'categorical_crossentropy' },
  ],
  [
    ['sparse_categorical_crossentropy', 'sparseCategoricalCrossentropy'],
    { loss: 'categorical_crossentropy', target: 'sparse', name: 'sparse_categorical_crossentropy' },
  ],
  [['hinge'], { loss: 'hinge', target: 'dense', name: 'hinge' }],
  [['squared_hinge', 'squaredHinge'], { loss: 'squared_hinge', target: 'dense', name: 'squared_hinge' }],
  [
    // 'klDivergence' also matches Keras's class name KLDivergence.
    ['kl_divergence', 'kullback_leibler_divergence', 'kullbackLeiblerDivergence', 'klDivergence', 'kld'],
    { loss: 'kl_divergence', target: 'dense', name: 'kl_divergence' },
  ],
];
const LOSSES = table(LOSS_ENTRIES);
const LOSS_CANONICAL = LOSS_ENTRIES.map(([names]) => names[0] as string);

const UNSUPPORTED_LOSSES = new Set(
  [
    'mean_absolute_percentage_error',
    'mape',
    'log_cosh',
    'logcosh',
    'poisson',
    'cosine_similarity',
    'cosine_proximity',
    'categorical_hinge',
    'binary_focal_crossentropy',
    'categorical_focal_crossentropy',
    'ctc',
    'dice',
    'tversky',
  ].map(normalize),
);

/**
 * A loss name as the graph's loss and target kind. sparse_categorical_crossentropy is the
 * categorical cross-entropy on class-id targets. `name` is Keras's snake_case name, for logs
 * and serialization. binary_crossentropy is the probability form: `fromLogits` is the caller's
 * switch to 'binary_crossentropy_logits'.
 */
export function resolveLoss(name: string): { loss: LossName; target: TargetKind; name: string } {
  checkString('loss', name);
  const found = LOSSES.lookup.get(normalize(name));
  if (found !== undefined) return { ...found };
  if (UNSUPPORTED_LOSSES.has(normalize(name))) {
    throw new Error(`loss '${name}' is not supported yet; supported: ${LOSS_CANONICAL.join(', ')}`);
  }
  throw unknownName('loss', name, LOSSES.aliases, LOSS_CANONICAL);
}

// ---------------------------------------------------------------- metrics

/** A metric other than accuracy: its graph kind and its history key. */
interface StatEntry {
  stat: StatMetricKind;
  name: string;
}

type MetricEntry = 'accuracy' | 'acc' | MetricKind | StatEntry;

const METRIC_NAME: Record<MetricKind, string> = {
  binary: 'binary_accuracy',
  dense: 'categorical_accuracy',
  sparse: 'sparse_categorical_accuracy',
};

/**
 * Keras's short names keep their spelling as the history key ('mae', as Keras logs it), the
 * long and class spellings give the snake_case name (MeanAbsoluteError → mean_absolute_error);
 * f1 is Keras 3's F1Score, logged as f1_score.
 */
const STAT_ENTRIES: readonly (readonly [readonly string[], StatMetricKind, string])[] = [
  [['mae'], 'mae', 'mae'],
  [['mean_absolute_error', 'meanAbsoluteError'], 'mae', 'mean_absolute_error'],
  [['mse'], 'mse', 'mse'],
  [['mean_squared_error', 'meanSquaredError'], 'mse', 'mean_squared_error'],
  [['rmse'], 'rmse', 'rmse'],
  [['root_mean_squared_error', 'rootMeanSquaredError'], 'rmse', 'root_mean_squared_error'],
  [['precision'], 'precision', 'precision'],
  [['recall'], 'recall', 'recall'],
  [['f1', 'f1_score', 'f1Score'], 'f1', 'f1_score'],
  [['auc'], 'auc', 'auc'],
];

const METRIC_ENTRIES: readonly (readonly [readonly string[], MetricEntry])[] = [
  [['accuracy'], 'accuracy'],
  [['acc'], 'acc'],
  [['binary_accuracy', 'binaryAccuracy'], 'binary'],
  [['categorical_accuracy', 'categoricalAccuracy'], 'dense'],
  [['sparse_categorical_accuracy', 'sparseCategoricalAccuracy'], 'sparse'],
  ...STAT_ENTRIES.map(([names, stat, name]) => [names, { stat, name }] as const),
];
const METRICS = table(METRIC_ENTRIES);
const METRIC_CANONICAL = [
  'accuracy',
  'binary_accuracy',
  'categorical_accuracy',
  'sparse_categorical_accuracy',
  'mae',
  'mse',
  'rmse',
  'precision',
  'recall',
  'f1_score',
  'auc',
];

/** Keras metrics this library does not compute yet. */
const UNSUPPORTED_METRICS = new Set(
  [
    'fbeta_score',
    'msle',
    'mean_squared_logarithmic_error',
    'mape',
    'mean_absolute_percentage_error',
    'top_k_categorical_accuracy',
    'sparse_top_k_categorical_accuracy',
  ].map(normalize),
);

/**
 * A metric for an output with `outputUnits` units trained with `loss`.
 *
 * mae, mse, rmse, precision, recall, f1 (f1_score) and auc map to their graph kinds (see
 * StatMetricKind); they compare rows of values, so class-id targets are an error.
 *
 * 'accuracy' / 'acc' are resolved from the loss as tf.keras 2 and tfjs-layers do: class-id
 * targets (sparse categorical cross-entropy) → sparse_categorical_accuracy; binary
 * cross-entropy or a single output unit → binary_accuracy (threshold 0.5); otherwise
 * categorical_accuracy. The returned name is the one the user wrote ('accuracy' or 'acc', the
 * key Keras puts in the history), otherwise the canonical snake_case name.
 *
 * A metric that cannot read the targets the loss uses (binary or categorical accuracy on
 * class ids, sparse accuracy on dense rows) is an error naming the metric to use instead.
 */
export function resolveMetric(
  name: string,
  loss: { loss: LossName; target: TargetKind },
  outputUnits: number,
): { kind: MetricKind | StatMetricKind; name: string } {
  checkString('metric', name);
  if (!Number.isSafeInteger(outputUnits) || outputUnits <= 0) {
    throw new RangeError(`metric '${name}': outputUnits must be a positive integer, got ${outputUnits}`);
  }
  const found = METRICS.lookup.get(normalize(name));
  if (found === undefined) {
    if (UNSUPPORTED_METRICS.has(normalize(name))) {
      throw new Error(`metric '${name}' is not supported yet; supported: ${METRIC_CANONICAL.join(', ')}`);
    }
    throw unknownName('metric', name, METRICS.aliases, METRIC_CANONICAL);
  }
  if (typeof found === 'object') {
    if (loss.target === 'sparse') {
      throw new Error(
        `metric '${name}' compares rows of ${outputUnits} values, but the loss sparse_categorical_crossentropy ` +
          `takes class ids; use one-hot targets with categorical_crossentropy`,
      );
    }
    return { kind: found.stat, name: found.name };
  }
  if (found === 'accuracy' || found === 'acc') {
    let kind: MetricKind;
    if (loss.target === 'sparse') kind = 'sparse';
    else if (
      loss.loss === 'binary_crossentropy' ||
      loss.loss === 'binary_crossentropy_logits' ||
      outputUnits === 1
    )
      kind = 'binary';
    else kind = 'dense';
    return { kind, name: found };
  }
  if (loss.target === 'sparse' && found !== 'sparse') {
    throw new Error(
      `metric '${name}' compares rows of ${outputUnits} values, but the loss sparse_categorical_crossentropy ` +
        `takes class ids; use 'sparse_categorical_accuracy' (or 'accuracy')`,
    );
  }
  if (loss.target === 'dense' && found === 'sparse') {
    throw new Error(
      `metric '${name}' needs class-id targets, but the loss ${loss.loss} takes rows of ${outputUnits} values; ` +
        `use '${outputUnits === 1 ? 'binary_accuracy' : 'categorical_accuracy'}' (or 'accuracy')`,
    );
  }
  return { kind: found, name: METRIC_NAME[found] };
}
