/**
 * readOptions(): both spellings, unknown keys and duplicates refused by name, aliases with a
 * note printed once; snakeCase/camelCase against Keras's own names for tfjs's options.
 */
import { describe, expect, it } from 'vitest';
import { camelCase, readOptions, resetOptionNotes, snakeCase, type Spelled } from './options.js';

interface FitLike {
  batchSize?: number;
  epochs?: number;
  validationSplit?: number;
  learningRate?: number;
  beta1?: number;
}
const KEYS: Record<keyof FitLike, true> = {
  batchSize: true,
  epochs: true,
  validationSplit: true,
  learningRate: true,
  beta1: true,
};

describe('readOptions', () => {
  it("maps Keras's snake_case and tfjs's camelCase to one camelCase object, in any mix", () => {
    const given: Spelled<FitLike> = { batch_size: 128, validationSplit: 0.2, beta1: 0.8 };
    // @ts-expect-error: a key in neither spelling does not type-check either
    const typo: Spelled<FitLike> = { batch_sise: 1 };
    expect(typo).toEqual({ batch_sise: 1 });
    expect(readOptions<FitLike>('fit', given, KEYS)).toEqual({
      batchSize: 128,
      validationSplit: 0.2,
      beta1: 0.8,
    });
    expect(readOptions<FitLike>('fit', undefined, KEYS)).toEqual({});
    expect(readOptions<FitLike>('fit', { epochs: undefined }, KEYS)).toEqual({});
  });

  it('refuses an unknown key, suggesting the closest in the same spelling', () => {
    expect(() => readOptions('fit', { epoch: 3 }, KEYS)).toThrow(
      /^fit: unknown option 'epoch'; did you mean 'epochs'\? Valid options: batchSize, epochs, validationSplit, learningRate, beta1/,
    );
    expect(() => readOptions('fit', { batch_sise: 3 }, KEYS)).toThrow(
      /unknown option 'batch_sise'; did you mean 'batch_size'\? Valid options: batch_size, epochs, validation_split/,
    );
    expect(() => readOptions('fit', { class_weight: {} }, KEYS)).toThrow(/unknown option 'class_weight'/);
    expect(() => readOptions('fit', { zzz: 1 }, KEYS)).toThrow(/unknown option 'zzz' Valid options/);
  });

  it('refuses one option given twice, and options that are not an object', () => {
    expect(() => readOptions('fit', { batch_size: 32, batchSize: 64 }, KEYS)).toThrow(
      "fit: 'batch_size' and 'batchSize' are the same option (batchSize); give it once",
    );
    expect(() => readOptions('fit', 32, KEYS)).toThrow(
      'fit: options must be an object of named options, got number 32',
    );
    expect(() => readOptions('fit', [1], KEYS)).toThrow(/got an array/);
    expect(() => readOptions('fit', new Map(), KEYS)).toThrow(/options must be an object/);
  });

  it('aliases: lr for learningRate, with its note printed once per process', () => {
    resetOptionNotes();
    const notes: string[] = [];
    const spec = {
      aliases: { lr: { to: 'learningRate', note: '`lr` is deprecated, use `learning_rate` instead.' } },
      warn: (l: string) => notes.push(l),
    };
    expect(readOptions<FitLike>('SGD', { lr: 0.1 }, KEYS, spec)).toEqual({ learningRate: 0.1 });
    expect(readOptions<FitLike>('SGD', { lr: 0.2 }, KEYS, spec)).toEqual({ learningRate: 0.2 });
    expect(notes).toEqual(['SGD: `lr` is deprecated, use `learning_rate` instead.']);
    expect(() => readOptions('SGD', { lr: 0.1, learning_rate: 0.1 }, KEYS, spec)).toThrow(/same option/);
  });

  it("snakeCase/camelCase give Keras's names for tfjs's options", () => {
    const pairs: [string, string][] = [
      ['kernelInitializer', 'kernel_initializer'],
      ['restoreBestWeights', 'restore_best_weights'],
      ['validationSplit', 'validation_split'],
      ['units', 'units'],
    ];
    for (const [c, s] of pairs) {
      expect(snakeCase(c)).toBe(s);
      expect(camelCase(s)).toBe(c);
    }
  });
});
