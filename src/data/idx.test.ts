/**
 * IDX parsing on hand-built files: every value's big-endian bytes are written out by hand
 * (IEEE 754 encodings for the floats), so the decoder is checked against known numbers.
 */
import { describe, expect, it } from 'vitest';
import { IdxError, idxByteLength, parseIdx, readIdxHeader } from './idx.js';

/** Magic [0, 0, code, ndim], big-endian u32 dims, then the given data bytes. */
function idx(code: number, dims: number[], data: number[]): Uint8Array {
  const head = [0, 0, code, dims.length];
  for (const d of dims) head.push((d >>> 24) & 255, (d >>> 16) & 255, (d >>> 8) & 255, d & 255);
  return Uint8Array.from([...head, ...data]);
}

describe('parseIdx', () => {
  it('reads u8 [2, 3] as a view, and i8 with signs', () => {
    const u8 = idx(0x08, [2, 3], [0, 1, 2, 253, 254, 255]);
    const a = parseIdx(u8);
    expect(a.shape).toEqual([2, 3]);
    expect(a.type).toBe('u8');
    expect(a.data).toBeInstanceOf(Uint8Array);
    expect(Array.from(a.data)).toEqual([0, 1, 2, 253, 254, 255]);
    expect(a.data.buffer).toBe(u8.buffer); // no copy
    expect(a.data.byteOffset).toBe(4 + 2 * 4);

    const b = parseIdx(idx(0x09, [4], [0x00, 0x7f, 0x80, 0xff]));
    expect(b.data).toBeInstanceOf(Int8Array);
    expect(Array.from(b.data)).toEqual([0, 127, -128, -1]);
  });

  it('reads big-endian i16 and i32', () => {
    const a = parseIdx(idx(0x0b, [3], [0x01, 0x02, 0xff, 0xfe, 0x80, 0x00]));
    expect(a.data).toBeInstanceOf(Int16Array);
    expect(Array.from(a.data)).toEqual([258, -2, -32768]);

    const b = parseIdx(idx(0x0c, [1, 3], [0x01, 0x02, 0x03, 0x04, 0xff, 0xff, 0xff, 0xff, 0x80, 0, 0, 0]));
    expect(b.shape).toEqual([1, 3]);
    expect(b.data).toBeInstanceOf(Int32Array);
    expect(Array.from(b.data)).toEqual([16909060, -1, -2147483648]);
  });

  it('reads big-endian f32 and f64', () => {
    // f32: 1.0 = 3f800000, −2.5 = c0200000, 0.1 = 3dcccccd (rounded), +Inf = 7f800000.
    const a = parseIdx(
      idx(0x0d, [2, 2], [0x3f, 0x80, 0, 0, 0xc0, 0x20, 0, 0, 0x3d, 0xcc, 0xcc, 0xcd, 0x7f, 0x80, 0, 0]),
    );
    expect(a.data).toBeInstanceOf(Float32Array);
    expect(Array.from(a.data)).toEqual([1, -2.5, Math.fround(0.1), Infinity]);

    // f64: 1.0 = 3ff0000000000000, 0.1 = 3fb999999999999a, −0.0 = 8000000000000000.
    const b = parseIdx(
      idx(
        0x0e,
        [3],
        [
          ...[0x3f, 0xf0, 0, 0, 0, 0, 0, 0],
          ...[0x3f, 0xb9, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9a],
          ...[0x80, 0, 0, 0, 0, 0, 0, 0],
        ],
      ),
    );
    expect(b.data).toBeInstanceOf(Float64Array);
    expect(b.data[0]).toBe(1);
    expect(b.data[1]).toBe(0.1);
    expect(Object.is(b.data[2], -0)).toBe(true);
  });

  it('decodes at any byte offset of a larger buffer (an unaligned f64 start)', () => {
    // ndim 1 puts the data at byte 8 of the file; the file itself starts at byte 3.
    const file = idx(0x0e, [1], [0x40, 0x09, 0x21, 0xfb, 0x54, 0x44, 0x2d, 0x18]); // π
    const backing = new Uint8Array(file.length + 5);
    backing.set(file, 3);
    const view = backing.subarray(3, 3 + file.length);
    expect(parseIdx(view).data[0]).toBe(Math.PI);
  });

  it('handles 0-dimensional (one value) and empty files', () => {
    expect(Array.from(parseIdx(idx(0x0c, [], [0, 0, 0, 42])).data)).toEqual([42]);
    const empty = parseIdx(idx(0x08, [0, 28, 28], []));
    expect(empty.shape).toEqual([0, 28, 28]);
    expect(empty.data.length).toBe(0);
  });

  it('with rows, reads only the first rows of dimension 0 and accepts a file prefix', () => {
    const full = idx(0x0b, [3, 2], [0, 1, 0, 2, 0, 3, 0, 4, 0xff, 0xff, 0xff, 0xfe]);
    const header = readIdxHeader(full);
    expect(header).toEqual({ type: 'i16', shape: [3, 2], headerBytes: 12, bytesPerValue: 2 });
    expect(idxByteLength(header)).toBe(24);
    expect(idxByteLength(header, 2)).toBe(20);
    const prefix = full.subarray(0, 20);
    const two = parseIdx(prefix, { rows: 2 });
    expect(two.shape).toEqual([2, 2]);
    expect(Array.from(two.data)).toEqual([1, 2, 3, 4]);
    expect(Array.from(parseIdx(full, { rows: 3 }).data)).toEqual([1, 2, 3, 4, -1, -2]);
    expect(() => parseIdx(full, { rows: 4 })).toThrow(/rows 4 must be an integer in \[0, 3\]/);
    expect(() => parseIdx(prefix.subarray(0, 19), { rows: 2 })).toThrow(
      /truncated: 2 rows of 3×2 i16 need 20 bytes, got 19/,
    );
  });

  it('names the problem: bad magic, gzip, unknown type, truncated header or data, trailing bytes', () => {
    const bad = (bytes: Uint8Array, re: RegExp): void => {
      expect(() => parseIdx(bytes, { name: 'f.idx' })).toThrow(IdxError);
      expect(() => parseIdx(bytes, { name: 'f.idx' })).toThrow(re);
    };
    bad(Uint8Array.from([0, 0, 8]), /f\.idx: 3 bytes, too short for the 4-byte magic/);
    bad(Uint8Array.from([0x50, 0x4b, 3, 4, 0, 0, 0, 0]), /bad magic 0x50 0x4b 0x03 0x04/);
    bad(Uint8Array.from([0x1f, 0x8b, 8, 0, 0, 0]), /gzip-compressed/);
    bad(idx(0x0a, [1], [0]), /unknown type code 0x0a/);
    bad(
      Uint8Array.from([0, 0, 8, 3, 0, 0, 0, 2, 0, 0]),
      /truncated header: 3 dimensions need 16 bytes, got 10/,
    );
    bad(idx(0x0d, [2, 3], new Array<number>(23).fill(0)), /truncated: 2×3 f32 need 36 bytes, got 35/);
    bad(idx(0x08, [2], [1, 2, 3]), /1 unexpected bytes after the data: 2 u8 need 10 bytes, got 11/);
  });
});
