/**
 * <mlp-trainer>'s own-data path: rows become a row-major f32 matrix and class ids, checked
 * row by row; without validation rows the last 10% validate (Keras's validation_split takes
 * the tail); GPU datasets are kept while their key is the same and freed when it changes.
 */
import { describe, expect, it } from 'vitest';
import type { GpuData } from '../../src/index.js';
import { customSplits, Kept, toHostSplit } from './trainer-data.js';

describe('toHostSplit', () => {
  it('packs rows into a row-major Float32Array and class ids into an Int32Array', () => {
    const s = toHostSplit(
      {
        x: [
          [1, 2],
          [3, 4],
          [5, 6],
        ],
        y: [2, 0, 1],
      },
      2,
      3,
      'data',
    );
    expect(s.rows).toBe(3);
    expect([...s.x]).toEqual([1, 2, 3, 4, 5, 6]);
    expect(s.y).toBeInstanceOf(Int32Array);
    expect([...s.y]).toEqual([2, 0, 1]);
  });

  it('keeps a Float32Array and Uint8Array labels as they are (no copy)', () => {
    const x = new Float32Array([1, 2, 3, 4]);
    const y = new Uint8Array([1, 0]);
    const s = toHostSplit({ x, y }, 2, 2, 'data');
    expect(s.x).toBe(x);
    expect(s.y).toBe(y);
  });

  it.each([
    [{ x: [[1, 2], [3]], y: [0, 1] }, /data.x row 1 has 1 values; features is 2/],
    [{ x: new Float32Array(5), y: [0, 1] }, /data.x has 5 values: not whole rows of 2 features/],
    [
      {
        x: [
          [1, 2],
          [3, NaN],
        ],
        y: [0, 1],
      },
      /data.x row 1 holds NaN/,
    ],
    [
      {
        x: [
          [1, 2],
          [3, 4],
        ],
        y: [0],
      },
      /data.y has 1 labels for 2 rows/,
    ],
    [
      {
        x: [
          [1, 2],
          [3, 4],
        ],
        y: [0, 3],
      },
      /data.y\[1\] is 3; class ids must be integers 0..2/,
    ],
    [
      {
        x: [
          [1, 2],
          [3, 4],
        ],
        y: [0.5, 1],
      },
      /data.y\[0\] is 0.5/,
    ],
    [{ x: [], y: [] }, /data has no rows/],
  ])('rejects %o, naming the row', (split, message) => {
    expect(() => toHostSplit(split, 2, 3, 'data')).toThrow(message);
  });
});

describe('customSplits', () => {
  const x = Array.from({ length: 20 }, (_, i) => [i, -i]);
  const y = Array.from({ length: 20 }, (_, i) => i % 2);

  it('validates on the last 10% of the rows', () => {
    const { train, validation } = customSplits({ x, y, features: 2, classes: 2 });
    expect([train.rows, validation.rows]).toEqual([18, 2]);
    expect([...validation.x]).toEqual([18, -18, 19, -19]);
    expect([...validation.y]).toEqual([0, 1]);
    expect([...train.x.subarray(-2)]).toEqual([17, -17]);
  });

  it('uses the validation rows given', () => {
    const { train, validation } = customSplits({
      x,
      y,
      features: 2,
      classes: 2,
      validation: { x: [[0.5, 0.5]], y: [1] },
    });
    expect([train.rows, validation.rows]).toEqual([20, 1]);
    expect([...validation.x]).toEqual([0.5, 0.5]);
  });

  it('checks features, classes and the validation rows', () => {
    expect(() => customSplits({ x, y, features: 0, classes: 2 })).toThrow(
      /data.features must be a positive integer/,
    );
    expect(() => customSplits({ x, y, features: 2, classes: 1 })).toThrow(
      /data.classes must be an integer ≥ 2/,
    );
    expect(() =>
      customSplits({ x, y, features: 2, classes: 2, validation: { x: [[1, 2]], y: [2] } }),
    ).toThrow(/data.validation.y\[0\] is 2/);
    expect(() => customSplits({ x: [[1, 2]], y: [0], features: 2, classes: 2 })).toThrow(/too few/);
  });
});

describe('Kept', () => {
  const fake = (name: string, disposed: string[]) =>
    ({ dispose: () => disposed.push(name) }) as unknown as GpuData;

  it('makes a dataset once per key and frees it when the key changes', async () => {
    const disposed: string[] = [];
    let made = 0;
    const kept = new Kept<GpuData>((v) => [v]);
    const engine = {};
    const make = (name: string) => () => Promise.resolve((made++, fake(name, disposed)));
    const a = await kept.get([engine, 'url', 2000], make('a'));
    expect(await kept.get([engine, 'url', 2000], make('a2'))).toBe(a);
    expect([made, disposed]).toEqual([1, []]);
    await kept.get([engine, 'url', 1000], make('b'));
    expect([made, disposed]).toEqual([2, ['a']]);
    await kept.get([{}, 'url', 1000], make('c')); // another engine
    expect([made, disposed]).toEqual([3, ['a', 'b']]);
    kept.dispose();
    expect(disposed).toEqual(['a', 'b', 'c']);
  });
});
