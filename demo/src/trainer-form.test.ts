/**
 * <mlp-trainer>'s form: the values it starts from (the demo's defaults, smaller on a software
 * adapter, Keras's default learning rate of the chosen optimizer, attributes and .config over
 * them) and the checks of what the user typed (each error names its field).
 */
import { describe, expect, it } from 'vitest';
import {
  baseForm,
  fieldErrors,
  NO_ATTRIBUTES,
  parseForm,
  parseSchedule,
  type FormAttributes,
  type FormValues,
} from './trainer-form.js';

describe('baseForm', () => {
  it('starts from the demo defaults: all of MNIST and 5 epochs on a GPU, 5,000 rows and 2 epochs on a software adapter', () => {
    const hardware = baseForm(NO_ATTRIBUTES, {}, false);
    expect(hardware).toEqual({
      hiddenLayers: '128, 64',
      activation: 'relu',
      initializer: 'he_uniform',
      batchNorm: false,
      dropout: '0',
      optimizer: 'adam',
      learningRate: '0.001',
      batchSize: '64',
      epochs: '5',
      trainRows: '60000',
      earlyStopping: false,
      lrSchedule: 'constant',
      lrDecay: '0.5',
      lrDrop: '0.5',
      lrEpochsDrop: '2',
    });
    expect(baseForm({ ...NO_ATTRIBUTES, earlyStopping: true }, {}, false).earlyStopping).toBe(true);
    const software = baseForm(NO_ATTRIBUTES, {}, true);
    expect([software.trainRows, software.epochs]).toEqual(['5000', '2']);
  });

  it("takes Keras's default learning rate of the optimizer (SGD 0.01, RMSprop 0.001) unless one is given", () => {
    expect(baseForm({ ...NO_ATTRIBUTES, optimizer: 'sgd' }, {}, false).learningRate).toBe('0.01');
    expect(baseForm({ ...NO_ATTRIBUTES, optimizer: 'rmsprop' }, {}, false).learningRate).toBe('0.001');
    expect(baseForm({ ...NO_ATTRIBUTES, optimizer: 'sgd', learningRate: 0.1 }, {}, false).learningRate).toBe(
      '0.1',
    );
    expect(baseForm(NO_ATTRIBUTES, { optimizer: 'sgd' }, false).learningRate).toBe('0.01');
  });

  it('puts .config over the attributes, field by field', () => {
    const attrs: FormAttributes = { ...NO_ATTRIBUTES, hiddenLayers: '300, 100', epochs: 3, batchNorm: true };
    const f = baseForm(attrs, { hidden: [32], batchNorm: false, dropout: 0.2 }, false);
    expect([f.hiddenLayers, f.batchNorm, f.dropout, f.epochs]).toEqual(['32', false, '0.2', '3']);
  });
});

describe('parseForm', () => {
  const form: FormValues = baseForm(NO_ATTRIBUTES, {}, true);

  it('gives the ModelConfig of the fields and the training rows', () => {
    const { config, trainRows } = parseForm({ ...form, hiddenLayers: ' 32,16 ', dropout: '0.25' }, 7, false);
    expect(config).toEqual({
      hidden: [32, 16],
      activation: 'relu',
      initializer: 'he_uniform',
      batchNorm: false,
      dropout: 0.25,
      optimizer: 'adam',
      learningRate: 0.001,
      batchSize: 64,
      epochs: 2,
      seed: 7,
    });
    expect(trainRows).toBe(5000);
  });

  it.each([
    [{ hiddenLayers: '12, x' }, /hidden layers: "12, x"/],
    [{ dropout: '1' }, /dropout rate must be in \[0, 1\), got 1/],
    [{ learningRate: '' }, /learning rate: "" is not a number/],
    [{ learningRate: 'abc' }, /learning rate: "abc" is not a number/],
    [{ learningRate: '-1' }, /learning rate must be a positive number, got -1/],
    [{ batchSize: '0' }, /batch size must be a positive integer, got 0/],
    [{ epochs: '1.5' }, /epochs must be a positive integer, got 1.5/],
    [{ optimizer: 'adagrad' }, /unknown optimizer "adagrad"/],
    [{ trainRows: '5' }, /training rows must be an integer from 10 to 60,000, got 5/],
    [{ trainRows: '60001' }, /training rows must be an integer from 10 to 60,000, got 60001/],
  ])('rejects %o, naming the field', (change, message) => {
    expect(() => parseForm({ ...form, ...change }, undefined, false)).toThrow(message);
  });

  it('ignores the training rows for an app’s own data', () => {
    expect(parseForm({ ...form, trainRows: 'n/a' }, undefined, true).trainRows).toBe(0);
  });
});

describe('fieldErrors', () => {
  const form: FormValues = baseForm(NO_ATTRIBUTES, {}, true);

  it('is empty for a form that parses', () => {
    expect(fieldErrors(form, false)).toEqual({});
    expect(() => parseForm(form, undefined, false)).not.toThrow();
  });

  it("reports every invalid field at once, each with parseForm's message for it alone", () => {
    const bad = { ...form, hiddenLayers: '128, abc', dropout: '1.5', batchSize: '0', trainRows: '5' };
    const errors = fieldErrors(bad, false);
    expect(Object.keys(errors).sort()).toEqual(['batchSize', 'dropout', 'hiddenLayers', 'trainRows']);
    expect(errors.hiddenLayers).toMatch(/hidden layers: "128, abc"/);
    expect(errors.dropout).toMatch(/dropout rate must be in \[0, 1\), got 1.5/);
    expect(errors.batchSize).toMatch(/batch size must be a positive integer, got 0/);
    expect(errors.trainRows).toMatch(/training rows must be an integer from 10 to 60,000, got 5/);
    // parseForm stops at the first of them.
    expect(() => parseForm(bad, undefined, false)).toThrow(errors.hiddenLayers);
    for (const [field, text] of Object.entries({
      hiddenLayers: '128, abc',
      dropout: '1.5',
      batchSize: '0',
    })) {
      expect(() => parseForm({ ...form, [field]: text }, undefined, false)).toThrow(
        errors[field as keyof typeof errors],
      );
    }
  });

  it("skips the training rows for an app's own data", () => {
    expect(fieldErrors({ ...form, trainRows: 'n/a', epochs: '-1' }, true)).toEqual({
      epochs: 'epochs must be a positive integer, got -1',
    });
  });
});

describe('learning-rate schedule fields', () => {
  const form = (over: Partial<FormValues>): FormValues => ({
    ...baseForm(NO_ATTRIBUTES, {}, false),
    ...over,
  });

  it('parses the three schedules, with the attributes as starting values', () => {
    expect(parseSchedule(form({}))).toEqual({ kind: 'constant' });
    expect(parseSchedule(form({ lrSchedule: 'time', lrDecay: '0.25' }))).toEqual({
      kind: 'time',
      decay: 0.25,
    });
    expect(parseSchedule(form({ lrSchedule: 'step', lrDrop: '0.1', lrEpochsDrop: '10' }))).toEqual({
      kind: 'step',
      drop: 0.1,
      epochsDrop: 10,
    });
    const attrs = { ...NO_ATTRIBUTES, lrSchedule: 'step', lrDrop: 0.2, lrEpochsDrop: 3 };
    expect(parseSchedule(baseForm(attrs, {}, false))).toEqual({ kind: 'step', drop: 0.2, epochsDrop: 3 });
  });

  it("names each bad value beside its own field, and only the chosen schedule's fields", () => {
    expect(fieldErrors(form({ lrSchedule: 'cosine' }), false)).toEqual({
      lrSchedule: 'learning-rate schedule must be one of constant, time, step, got "cosine"',
    });
    expect(fieldErrors(form({ lrSchedule: 'time', lrDecay: '-1' }), false)).toEqual({
      lrDecay: 'decay must be ≥ 0, got -1',
    });
    expect(fieldErrors(form({ lrSchedule: 'step', lrDrop: '2', lrEpochsDrop: '1.5' }), false)).toEqual({
      lrDrop: 'drop must be in (0, 1], got 2',
      lrEpochsDrop: 'epochs per drop must be a whole number ≥ 1, got 1.5',
    });
    // A bad decay does not matter while the schedule is constant.
    expect(fieldErrors(form({ lrDecay: 'abc' }), false)).toEqual({});
  });
});
