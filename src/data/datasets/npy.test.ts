/**
 * The .npy/.npz reader against files numpy itself wrote (test/fixtures/make_datasets.py):
 * every dtype, both byte orders, Fortran order, a scalar, an empty array, format versions
 * 1.0–3.0, stored and deflated zips. Values follow the script's closed form
 * value(k) = (7k + 3) mod 50 over the C-order flattening.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { NpyError, parseNpy, parseNpz, readNpyHeader, type NdArray } from './npy.js';

const fixture = (name: string): Uint8Array =>
  new Uint8Array(readFileSync(new URL(`../../../test/fixtures/datasets/${name}`, import.meta.url)));

const value = (k: number): number => (k * 7 + 3) % 50;
const closedForm = (n: number): number[] => Array.from({ length: n }, (_, k) => value(k));
const numbers = (a: NdArray): number[] => Array.from(a.data as ArrayLike<number | bigint>, Number);

/** name in the fixture → dtype and typed array the reader must give. */
const KINDS: [string, string, new (n: number) => ArrayBufferView][] = [
  ['le_f8', 'float64', Float64Array],
  ['le_f4', 'float32', Float32Array],
  ['le_i8', 'int64', BigInt64Array],
  ['le_i4', 'int32', Int32Array],
  ['le_i2', 'int16', Int16Array],
  ['i1', 'int8', Int8Array],
  ['le_u8', 'uint64', BigUint64Array],
  ['le_u4', 'uint32', Uint32Array],
  ['le_u2', 'uint16', Uint16Array],
  ['u1', 'uint8', Uint8Array],
  ['be_f8', 'float64', Float64Array],
  ['be_i4', 'int32', Int32Array],
  ['be_u2', 'uint16', Uint16Array],
];

describe.each(['npy-kinds.npz', 'npy-compressed.npz'])('parseNpz(%s)', (file) => {
  it('reads every dtype and byte order with its values and shape', async () => {
    const arrays = await parseNpz(fixture(file), file);
    for (const [name, dtype, Ctor] of KINDS) {
      const a = arrays[name];
      expect(a?.dtype, name).toBe(dtype);
      expect(a?.data, name).toBeInstanceOf(Ctor);
      expect(a?.shape, name).toEqual([3, 4]);
      expect(numbers(a as NdArray), name).toEqual(closedForm(12));
    }
  });

  it('reads bool, negative int64, fractions, Fortran order, a scalar, an empty and a rank-3 array', async () => {
    const a = await parseNpz(fixture(file), file);
    expect(a.bool?.dtype).toBe('bool');
    expect(numbers(a.bool as NdArray)).toEqual(closedForm(6).map((v) => v % 2));
    expect(a.negative_i8?.data).toEqual(new BigInt64Array([-(2n ** 40n), -1n, 0n, 2n ** 40n]));
    // float32 values as numpy rounds them: Math.fround is the same rounding.
    expect(numbers(a.fraction_f4 as NdArray)).toEqual([Math.fround(0.1), -2.5, 3.25]);
    // Stored column-major, given row-major: the C-order flattening is the closed form again.
    expect(a.fortran_f8?.shape).toEqual([2, 3, 4]);
    expect(numbers(a.fortran_f8 as NdArray)).toEqual(closedForm(24));
    expect(a.scalar_f8?.shape).toEqual([]);
    expect(numbers(a.scalar_f8 as NdArray)).toEqual([3]);
    expect(a.empty_f4?.shape).toEqual([0, 3]);
    expect(a.empty_f4?.data.length).toBe(0);
    expect(a.rank3_u1?.shape).toEqual([2, 3, 4]);
    expect(numbers(a.rank3_u1 as NdArray)).toEqual(closedForm(24));
  });
});

describe('parseNpz', () => {
  it('reads .npy format versions 1.0, 2.0 and 3.0', async () => {
    const a = await parseNpz(fixture('npy-versions.npz'), 'npy-versions.npz');
    expect(Object.keys(a).sort()).toEqual(['v1', 'v2', 'v3']);
    for (const v of ['v1', 'v2', 'v3']) expect(numbers(a[v] as NdArray), v).toEqual(closedForm(12));
  });

  it('decodes only the arrays asked for, and names a missing one with those there', async () => {
    const a = await parseNpz(fixture('mnist-tiny.npz'), 'mnist-tiny.npz', ['y_train']);
    expect(Object.keys(a)).toEqual(['y_train']);
    expect(numbers(a.y_train as NdArray)).toEqual([0, 3, 6]);
    await expect(parseNpz(fixture('mnist-tiny.npz'), 'mnist-tiny.npz', ['x', 'y_test'])).rejects.toThrow(
      "mnist-tiny.npz: no array 'x' (it holds 'x_train', 'y_train', 'x_test', 'y_test')",
    );
  });

  it('refuses a file that is no zip, and a truncated zip, naming the file', async () => {
    await expect(parseNpz(new TextEncoder().encode('hello'), 'a.npz')).rejects.toThrow(
      'a.npz: not a .npz file (a zip starts with "PK")',
    );
    const whole = fixture('npy-compressed.npz');
    await expect(parseNpz(whole.subarray(0, whole.length >> 1), 'half.npz')).rejects.toThrow(
      /^half\.npz: not a readable zip \(.+\); the file is damaged or truncated$/,
    );
  });
});

/** A .npy file with `header` (a dict literal) and `data`, format 1.0, padded as numpy pads. */
function npy(header: string, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const text = header + ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const out = new Uint8Array(10 + text.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, text.length & 0xff, text.length >> 8]);
  out.set(new TextEncoder().encode(text), 10);
  out.set(data, 10 + text.length);
  return out;
}

describe('parseNpy', () => {
  it('reads a header with its padding to 64 bytes', () => {
    const bytes = npy(
      "{'descr': '<i2', 'fortran_order': False, 'shape': (2,), }",
      new Uint8Array([1, 0, 0xff, 0xff]),
    );
    expect(readNpyHeader(bytes).dataOffset % 64).toBe(0);
    expect(parseNpy(bytes).data).toEqual(new Int16Array([1, -1]));
  });

  it('copies values that are not aligned for their typed array', () => {
    const bytes = npy(
      "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }",
      new Uint8Array(new Float64Array([2.5]).buffer),
    );
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    expect(parseNpy(shifted.subarray(1)).data).toEqual(new Float64Array([2.5]));
  });

  it('refuses truncated values, saying how many bytes are missing', () => {
    const bytes = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", new Uint8Array(20));
    expect(() => parseNpy(bytes, 'x.npy')).toThrow(
      'x.npy: truncated: shape [2, 3] of float32 needs 24 bytes of values, the file has 20',
    );
  });

  it('refuses object, string, float16 and structured dtypes, and a file that is not .npy', () => {
    const head = (descr: string): Uint8Array =>
      npy(`{'descr': ${descr}, 'fortran_order': False, 'shape': (1,), }`);
    expect(() => parseNpy(head("'|O'"), 'o.npy')).toThrow(
      /^o\.npy: dtype '\|O' holds Python objects, .*allow_pickle/,
    );
    expect(() => parseNpy(head("'<U3'"), 'u.npy')).toThrow("u.npy: dtype '<U3' holds unicode strings");
    expect(() => parseNpy(head("'<f2'"), 'h.npy')).toThrow("h.npy: dtype '<f2' holds a float size");
    expect(() => parseNpy(head("[('a', '<f4')]"), 's.npy')).toThrow('s.npy: a structured dtype');
    expect(() => parseNpy(new Uint8Array(20), 'z.npy')).toThrow(NpyError);
    expect(() => parseNpy(new Uint8Array(20), 'z.npy')).toThrow('z.npy: not a .npy file');
  });
});
