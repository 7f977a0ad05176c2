/**
 * Name resolution: every Keras / tfjs spelling reaches the graph's op, loss or metric; the
 * accuracy metric follows tf.keras 2 / tfjs-layers' rule; unknown names suggest the closest
 * valid one (edit distances here are counted by hand).
 */
import { describe, expect, it } from 'vitest';
import { ACTIVATIONS } from '../../shaders/activations.js';
import { LOSS_NAMES } from '../kernels/losses.js';
import { resolveActivation, resolveLoss, resolveMetric, suggest } from './names.js';

describe('suggest', () => {
  it('returns the closest name within max(2, ⌈len/3⌉) edits, case-insensitively', () => {
    // kitten → mitten: 1 substitution; kitten → sitting: 3 (k→s, e→i, +g).
    expect(suggest('kitten', ['sitting', 'mitten'])).toBe('mitten');
    expect(suggest('kitten', ['sitting'])).toBeUndefined(); // 3 > max(2, 2)
    // A transposition counts 1: rleu → relu.
    expect(suggest('rleu', ['elu', 'relu', 'selu'])).toBe('relu');
    expect(suggest('RELU', ['tanh', 'relu'])).toBe('relu');
    // Ties go to the spelling closer with case counted, then to the earlier entry.
    expect(suggest('heUnifrom', ['HeUniform', 'heUniform'])).toBe('heUniform');
    expect(suggest('ab', ['abc', 'abd'])).toBe('abc');
    // 11 and 12 characters allow ⌈11/3⌉ = ⌈12/3⌉ = 4 edits: 4 and 5 deletions.
    expect(suggest('sigmoidxxxx', ['sigmoid'])).toBe('sigmoid');
    expect(suggest('sigmoidxxxxx', ['sigmoid'])).toBeUndefined();
    expect(suggest('x', [])).toBeUndefined();
  });
});

describe('resolveActivation', () => {
  it('accepts Keras snake_case, tfjs camelCase and any case, giving the snake_case op', () => {
    const cases: [string, string][] = [
      ['linear', 'linear'],
      ['relu', 'relu'],
      ['ReLU', 'relu'],
      ['elu', 'elu'],
      ['selu', 'selu'],
      ['sigmoid', 'sigmoid'],
      ['hard_sigmoid', 'hard_sigmoid'],
      ['hardSigmoid', 'hard_sigmoid'],
      ['tanh', 'tanh'],
      ['softplus', 'softplus'],
      ['softsign', 'softsign'],
      ['exponential', 'exponential'],
      ['softmax', 'softmax'],
      ['leaky_relu', 'leaky_relu'],
      ['leakyRelu', 'leaky_relu'],
      ['gelu', 'gelu'],
      ['gelu_tanh', 'gelu_tanh'],
      ['geluTanh', 'gelu_tanh'],
    ];
    for (const [given, op] of cases) expect(resolveActivation(given), given).toEqual({ name: op });
  });

  it('reaches every activation the kernels implement, and softmax', () => {
    const reached = new Set([...ACTIVATIONS, 'softmax'].map((n) => resolveActivation(n).name));
    expect([...reached].sort()).toEqual([...ACTIVATIONS, 'softmax'].sort());
  });

  it('suggests the closest name in the style the user wrote', () => {
    expect(() => resolveActivation('rleu')).toThrow(
      /^unknown activation 'rleu'; did you mean 'relu'\? Valid: linear, relu, elu, selu, sigmoid, hard_sigmoid, tanh, /,
    );
    expect(() => resolveActivation('hardSigmod')).toThrow(/did you mean 'hardSigmoid'\?/);
    expect(() => resolveActivation('hard_sigmod')).toThrow(/did you mean 'hard_sigmoid'\?/);
    expect(() => resolveActivation('softmaxx')).toThrow(/did you mean 'softmax'\?/);
    expect(() => resolveActivation('qwertyuiop')).toThrow(
      /^unknown activation 'qwertyuiop'\. Valid: linear, /,
    );
  });

  it('names Keras activations that are not implemented, and rejects non-strings', () => {
    expect(() => resolveActivation('swish')).toThrow(
      /^activation 'swish' is not supported yet; supported: linear, /,
    );
    expect(() => resolveActivation('relu6')).toThrow(/not supported yet/);
    expect(() => resolveActivation(undefined as unknown as string)).toThrow(TypeError);
  });
});

describe('resolveLoss', () => {
  it('maps every Keras / tfjs spelling to the graph loss, target kind and Keras name', () => {
    const mse = { loss: 'mse', target: 'dense', name: 'mean_squared_error' };
    const mae = { loss: 'mae', target: 'dense', name: 'mean_absolute_error' };
    const huber = { loss: 'huber', target: 'dense', name: 'huber' };
    const msle = { loss: 'msle', target: 'dense', name: 'mean_squared_logarithmic_error' };
    const bce = { loss: 'binary_crossentropy', target: 'dense', name: 'binary_crossentropy' };
    const cce = { loss: 'categorical_crossentropy', target: 'dense', name: 'categorical_crossentropy' };
    const scce = {
      loss: 'categorical_crossentropy',
      target: 'sparse',
      name: 'sparse_categorical_crossentropy',
    };
    const hinge = { loss: 'hinge', target: 'dense', name: 'hinge' };
    const sqh = { loss: 'squared_hinge', target: 'dense', name: 'squared_hinge' };
    const kld = { loss: 'kl_divergence', target: 'dense', name: 'kl_divergence' };
    const cases: [string, object][] = [
      ['meanSquaredError', mse],
      ['mean_squared_error', mse],
      ['mse', mse],
      ['MSE', mse],
      ['MeanSquaredError', mse],
      ['meanAbsoluteError', mae],
      ['mean_absolute_error', mae],
      ['mae', mae],
      ['huber', huber],
      ['huber_loss', huber],
      ['Huber', huber],
      ['meanSquaredLogarithmicError', msle],
      ['msle', msle],
      ['binaryCrossentropy', bce],
      ['binary_crossentropy', bce],
      ['categoricalCrossentropy', cce],
      ['categorical_crossentropy', cce],
      ['sparseCategoricalCrossentropy', scce],
      ['sparse_categorical_crossentropy', scce],
      ['hinge', hinge],
      ['squaredHinge', sqh],
      ['squared_hinge', sqh],
      ['kullbackLeiblerDivergence', kld],
      ['kullback_leibler_divergence', kld],
      ['kl_divergence', kld],
      ['KLDivergence', kld],
      ['kld', kld],
    ];
    for (const [given, want] of cases) expect(resolveLoss(given), given).toEqual(want);
  });

  it('reaches every kernel loss but the logits form (a fromLogits switch of the caller)', () => {
    const names = [
      'mse',
      'mae',
      'huber',
      'msle',
      'hinge',
      'squared_hinge',
      'kl_divergence',
      'categorical_crossentropy',
      'binary_crossentropy',
    ];
    const reached = new Set(names.map((n) => resolveLoss(n).loss));
    expect([...reached].sort()).toEqual(LOSS_NAMES.filter((n) => n !== 'binary_crossentropy_logits').sort());
  });

  it('suggests, and names the Keras losses that are not implemented', () => {
    expect(() => resolveLoss('categorical_crossentropyy')).toThrow(
      /^unknown loss 'categorical_crossentropyy'; did you mean 'categorical_crossentropy'\? Valid: mean_squared_error, /,
    );
    expect(() => resolveLoss('sparseCategoricalCrossEntropy')).not.toThrow(); // case is ignored
    expect(() => resolveLoss('binaryCrossentropi')).toThrow(/did you mean 'binaryCrossentropy'\?/);
    expect(() => resolveLoss('poisson')).toThrow(
      /^loss 'poisson' is not supported yet; supported: mean_squared_error, /,
    );
    expect(() => resolveLoss('log_cosh')).toThrow(/not supported yet/);
  });
});

describe('resolveMetric', () => {
  const loss = (name: string) => resolveLoss(name);

  it("resolves 'accuracy' from the loss and output width (tf.keras 2 / tfjs-layers rule)", () => {
    const cases: [string, number, string][] = [
      ['sparse_categorical_crossentropy', 10, 'sparse'],
      ['categorical_crossentropy', 10, 'dense'],
      ['binary_crossentropy', 1, 'binary'],
      ['binary_crossentropy', 5, 'binary'], // multilabel: thresholded per unit
      ['mse', 1, 'binary'],
      ['mse', 3, 'dense'],
      ['hinge', 1, 'binary'],
      ['kl_divergence', 4, 'dense'],
    ];
    for (const [l, units, kind] of cases) {
      expect(resolveMetric('accuracy', loss(l), units), `${l} × ${units}`).toEqual({
        kind,
        name: 'accuracy',
      });
    }
    expect(resolveMetric('accuracy', { loss: 'binary_crossentropy_logits', target: 'dense' }, 3)).toEqual({
      kind: 'binary',
      name: 'accuracy',
    });
    // 'acc' keeps its spelling as the history key, as Keras and tfjs name the metric.
    expect(resolveMetric('acc', loss('categorical_crossentropy'), 10)).toEqual({
      kind: 'dense',
      name: 'acc',
    });
    expect(resolveMetric('Accuracy', loss('sparse_categorical_crossentropy'), 10)).toEqual({
      kind: 'sparse',
      name: 'accuracy',
    });
  });

  it('explicit accuracies give their canonical names', () => {
    expect(resolveMetric('binaryAccuracy', loss('binary_crossentropy'), 1)).toEqual({
      kind: 'binary',
      name: 'binary_accuracy',
    });
    expect(resolveMetric('binary_accuracy', loss('mse'), 4)).toEqual({
      kind: 'binary',
      name: 'binary_accuracy',
    });
    expect(resolveMetric('categoricalAccuracy', loss('categorical_crossentropy'), 10)).toEqual({
      kind: 'dense',
      name: 'categorical_accuracy',
    });
    expect(resolveMetric('sparse_categorical_accuracy', loss('sparseCategoricalCrossentropy'), 10)).toEqual({
      kind: 'sparse',
      name: 'sparse_categorical_accuracy',
    });
  });

  it('rejects an accuracy that cannot read the targets of the loss, naming the one to use', () => {
    expect(() => resolveMetric('categorical_accuracy', loss('sparse_categorical_crossentropy'), 10)).toThrow(
      /takes class ids; use 'sparse_categorical_accuracy'/,
    );
    expect(() => resolveMetric('binaryAccuracy', loss('sparse_categorical_crossentropy'), 10)).toThrow(
      /use 'sparse_categorical_accuracy'/,
    );
    expect(() => resolveMetric('sparseCategoricalAccuracy', loss('categorical_crossentropy'), 10)).toThrow(
      /needs class-id targets.*use 'categorical_accuracy'/,
    );
    expect(() => resolveMetric('accuracy', loss('mse'), 0)).toThrow(RangeError);
  });

  it('says which Keras metrics are not supported yet, with the exact text', () => {
    for (const m of ['fbeta_score', 'mape', 'msle', 'top_k_categorical_accuracy']) {
      expect(() => resolveMetric(m, loss('binary_crossentropy'), 1)).toThrow(
        new Error(
          `metric '${m}' is not supported yet; supported: accuracy, binary_accuracy, categorical_accuracy, ` +
            `sparse_categorical_accuracy, mae, mse, rmse, precision, recall, f1_score, auc`,
        ),
      );
    }
  });

  it('maps the regression and binary metrics to their kinds and Keras history keys', () => {
    const cases: [string, string, string][] = [
      ['mae', 'mae', 'mae'],
      ['MAE', 'mae', 'mae'],
      ['mean_absolute_error', 'mae', 'mean_absolute_error'],
      ['meanAbsoluteError', 'mae', 'mean_absolute_error'],
      ['mse', 'mse', 'mse'],
      ['MeanSquaredError', 'mse', 'mean_squared_error'],
      ['rmse', 'rmse', 'rmse'],
      ['root_mean_squared_error', 'rmse', 'root_mean_squared_error'],
      ['RootMeanSquaredError', 'rmse', 'root_mean_squared_error'],
      ['precision', 'precision', 'precision'],
      ['Recall', 'recall', 'recall'],
      ['f1', 'f1', 'f1_score'],
      ['f1_score', 'f1', 'f1_score'],
      ['F1Score', 'f1', 'f1_score'],
      ['AUC', 'auc', 'auc'],
    ];
    for (const [name, kind, key] of cases) {
      expect(resolveMetric(name, loss('binary_crossentropy'), 3), name).toEqual({ kind, name: key });
      expect(resolveMetric(name, loss('mse'), 1), name).toEqual({ kind, name: key });
    }
    expect(() => resolveMetric('precision', loss('sparse_categorical_crossentropy'), 10)).toThrow(
      /takes class ids; use one-hot targets/,
    );
    expect(() => resolveMetric('mae', loss('sparse_categorical_crossentropy'), 10)).toThrow(
      /^metric 'mae' compares rows of 10 values/,
    );
  });

  it('suggests the closest metric for an unknown name', () => {
    expect(() => resolveMetric('acuracy', loss('mse'), 1)).toThrow(
      /^unknown metric 'acuracy'; did you mean 'accuracy'\? Valid: accuracy, binary_accuracy, /,
    );
    expect(() => resolveMetric('binaryAcuracy', loss('mse'), 1)).toThrow(/did you mean 'binaryAccuracy'\?/);
  });
});
