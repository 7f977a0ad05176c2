/**
 * Keras Tuner's spellings without a GPU (deck 001's model_builder and Hyperband call): hp's
 * positional and keyword arguments, capitalised names, defaults as Keras Tuner documents
 * them, tuner options in snake_case, unknown options refused by name with a suggestion.
 */
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HyperParameterError, HyperParameters } from './hyperparameters.js';
import { objectiveValue, resolveObjective } from './objective.js';
import { gridSearch, hyperband, randomSearch } from './searchers.js';
import { LayersModel } from '../model/model.js';

const build = (): LayersModel => {
  throw new Error('not built in these tests');
};

describe("hp: Keras Tuner's arguments", () => {
  it('hp.Int positional, keyword and mixed forms define the same hyperparameter', () => {
    const hp = new HyperParameters();
    // Keras Tuner: Int(name, min_value, max_value, step=None, sampling='linear', default=None).
    expect(hp.Int('units', { min_value: 32, max_value: 512, step: 32 })).toBe(32);
    expect(hp.Int('units', 32, 512, 32)).toBe(32);
    expect(hp.int('units', 32, 512, { step: 32 })).toBe(32);
    expect(hp.int('units', { minValue: 32, maxValue: 512, step: 32 })).toBe(32);
    expect(hp.Int('units', 32, 512, 32, 'linear')).toBe(32);
    expect(hp.space.definitions).toHaveLength(1);
    // (512 − 32) / 32 + 1 = 16 values.
    expect(hp.space.describe()).toBe('units: 16');
    expect(hp.get('units')).toBe(32);
  });

  it('hp.Choice / Boolean / Fixed / Float as Keras Tuner names them, with their defaults', () => {
    const hp = new HyperParameters();
    expect(hp.Choice('learning_rate', { values: [1e-2, 1e-3, 1e-4] })).toBe(1e-2);
    expect(hp.Choice('learning_rate', [1e-2, 1e-3, 1e-4])).toBe(1e-2);
    expect(hp.Boolean('bn')).toBe(false);
    expect(hp.Fixed('batch', 64)).toBe(64);
    expect(hp.Fixed('batch', { value: 64 })).toBe(64);
    // Float with log sampling: KT's sampling='log'; default is min_value.
    expect(hp.Float('lr', 1e-4, 1e-2, { sampling: 'log' })).toBe(1e-4);
    expect(hp.values).toEqual({ learning_rate: 1e-2, bn: false, batch: 64, lr: 1e-4 });
  });

  it('default= is the value while discovering the space, validated against the range', () => {
    const hp = new HyperParameters();
    expect(hp.Int('units', 32, 512, 32, { default: 64 })).toBe(64);
    expect(hp.Int('layers', 1, 4, null, 'linear', 3)).toBe(3);
    expect(hp.Choice('act', ['relu', 'tanh'], { default: 'tanh' })).toBe('tanh');
    expect(hp.Choice('opt', ['adam', 'sgd'], null, 'sgd')).toBe('sgd');
    expect(hp.Boolean('bn', true)).toBe(true);
    expect(hp.Boolean('bias', { default: true })).toBe(true);
    expect(() => hp.Int('u2', 32, 512, 32, { default: 600 })).toThrow(
      /default 600 must be an integer in \[32, 512\]/,
    );
    expect(() => hp.Choice('c2', [1, 2], { default: 3 })).toThrow(/default 3 is not one of the values/);
    // A different default is a different definition.
    expect(() => hp.Int('units', 32, 512, 32)).toThrow(/defined twice/);
  });

  it('refuses unknown options with a suggestion, values given twice, and parent_name', () => {
    const hp = new HyperParameters();
    expect(() => hp.Int('u', { min_value: 1, max_valu: 4 } as never)).toThrow(
      /hp\.int\('u'\): unknown option 'max_valu'; did you mean 'max_value'\?/,
    );
    expect(() => hp.Int('u', { minValue: 1, maxVal: 4 } as never)).toThrow(/did you mean 'maxValue'\?/);
    expect(() => hp.Int('u', 1, 4, 1, { step: 2 })).toThrow(
      /'step' is given both positionally and as an option/,
    );
    expect(() => hp.Int('u', { min_value: 1 } as never)).toThrow(/needs min_value and max_value/);
    expect(() => hp.Int('u', 1, 8, { step: 1, parent_name: 'x', parent_values: [1] } as never)).toThrow(
      /parent_name \/ parent_values .* not supported/,
    );
    expect(() => (hp.Int as (...a: unknown[]) => number)('u', 1, 8, 1, 'linear', 2, 9)).toThrow(
      /too many arguments/,
    );
    expect(() => hp.Float('f', 0.1, 1, { sampling: 'reverse_log' as never })).toThrow(
      /reverse_log is not supported/,
    );
    expect(() => hp.Choice('c', { values: [1], orderd: true } as never)).toThrow(/did you mean 'ordered'\?/);
    expect(() => hp.Int('u', '1' as never, 4)).toThrow(HyperParameterError);
    expect(hp.space.definitions).toHaveLength(0);
  });

  it('HyperParameters.of holds the values for get(), values and JSON', () => {
    const best = HyperParameters.of({ units: 96, learning_rate: 1e-3 });
    expect(best.get('units')).toBe(96);
    expect(best.values).toEqual({ units: 96, learning_rate: 1e-3 });
    expect(JSON.parse(JSON.stringify(best))).toEqual({ units: 96, learning_rate: 1e-3 });
    // A build given it reads the trial's values, not the defaults.
    expect(best.Int('units', 32, 512, 32)).toBe(96);
  });
});

describe("tuners: Keras Tuner's constructor options", () => {
  it('Hyperband(model_builder, objective=, max_epochs=, factor=) in snake_case, defaults as Keras Tuner', () => {
    const lines: string[] = [];
    const t = hyperband(build, {
      objective: 'val_accuracy',
      max_epochs: 10,
      factor: 3,
      directory: join(tmpdir(), `keras-args-${process.pid}`, 'my_dir'),
      project_name: 'intro_to_kt',
      print: (l) => lines.push(l),
    });
    expect([t.maxEpochs, t.factor]).toEqual([10, 3]);
    // project_name is read (a misspelt option would throw); the project is written by search() only.
    expect(lines).toEqual([]);
    expect(existsSync(join(tmpdir(), `keras-args-${process.pid}`))).toBe(false);
    // Keras Tuner's defaults: Hyperband max_epochs=100, RandomSearch max_trials=10.
    expect(hyperband(build, { objective: 'loss' }).maxEpochs).toBe(100);
    expect(randomSearch(build, { objective: 'loss' }).totalTrials).toBe(1); // empty space: one configuration
    // All keywords, hypermodel among them; a HyperModel object.
    expect(hyperband({ hypermodel: build, objective: 'loss', maxEpochs: 9 }).maxEpochs).toBe(9);
    expect(hyperband({ build }, { objective: 'loss', hyperband_iterations: 2 }).totalTrials).toBeGreaterThan(
      0,
    );
  });

  it('refuses unknown and unsupported options by name', () => {
    expect(() => hyperband(build, { objective: 'loss', max_epoch: 10 } as never)).toThrow(
      /hyperband: unknown option 'max_epoch'; did you mean 'max_epochs'\?/,
    );
    expect(() => randomSearch(build, { objective: 'loss', maxTrial: 3 } as never)).toThrow(
      /did you mean 'maxTrials'\?/,
    );
    expect(() => gridSearch(build, { objective: 'loss', executions_per_trial: 2 } as never)).toThrow(
      /Keras Tuner's option 'executionsPerTrial' is not supported here/,
    );
    expect(() => gridSearch(build, { objective: 'loss', max_trials: 2, maxTrials: 3 } as never)).toThrow(
      /'max_trials' and 'maxTrials' are the same option/,
    );
    expect(() => hyperband(42 as never, { objective: 'loss' })).toThrow(
      /build\(hp\) function or a HyperModel/,
    );
    expect(() => resolveObjective({ name: 'val_loss', directon: 'min' } as never)).toThrow(
      /objective: unknown option 'directon'; did you mean 'direction'\?/,
    );
  });

  it("an objective of 'val_acc' reads 'val_accuracy' (Keras 2's name) and the reverse", () => {
    const o = resolveObjective('val_acc');
    expect(o.direction).toBe('max');
    expect(objectiveValue(o, { val_accuracy: 0.75, loss: 1 }, true)).toBe(0.75);
    expect(objectiveValue(resolveObjective('accuracy'), { acc: 0.5 }, false)).toBe(0.5);
    expect(() => objectiveValue(resolveObjective('val_acc'), { loss: 1 }, false)).toThrow(/not in the logs/);
  });

  it('getBestHyperparameters reads num_trials either way and refuses a bad count', () => {
    const t = gridSearch(build, { objective: 'loss' });
    expect(t.getBestHyperparameters({ num_trials: 1 })).toEqual([]);
    expect(t.getBestHyperparameters(3)).toEqual([]);
    expect(() => t.getBestHyperparameters({ numTrial: 1 } as never)).toThrow(/did you mean 'numTrials'\?/);
    expect(() => t.getBestHyperparameters(-1)).toThrow(/numTrials must be an integer ≥ 0/);
  });
});
