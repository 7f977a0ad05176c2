/**
 * The IDX file format (the MNIST files): a 4-byte magic [0, 0, type, ndim], ndim big-endian
 * u32 dimension sizes, then the values row-major, big-endian.
 *
 *   type 0x08 u8 · 0x09 i8 · 0x0B i16 · 0x0C i32 · 0x0D f32 · 0x0E f64
 *
 * Browser-safe: pure TypeScript on bytes.
 */
import { readOptions } from '../util/options.js';

export type IdxType = 'u8' | 'i8' | 'i16' | 'i32' | 'f32' | 'f64';
export type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

export interface IdxHeader {
  type: IdxType;
  shape: number[];
  /** Bytes before the first value: 4 + 4·ndim. */
  headerBytes: number;
  bytesPerValue: number;
}

export interface IdxTensor {
  shape: number[];
  type: IdxType;
  /** u8/i8 data is a view into the input bytes (no copy); wider types are decoded copies. */
  data: IdxData;
}

export interface ParseIdxOptions {
  /**
   * Read only the first `rows` entries of dimension 0 (shape[0] becomes `rows`). The input
   * then only needs the header and those rows: a file prefix (a partial read, an HTTP
   * range) is accepted, and so are bytes after them.
   */
  rows?: number;
  /** Names the file in error messages (default 'IDX'). */
  name?: string;
}

export class IdxError extends Error {
  override name = 'IdxError';
}

const TYPES: ReadonlyMap<number, { type: IdxType; bytes: number }> = new Map([
  [0x08, { type: 'u8', bytes: 1 }],
  [0x09, { type: 'i8', bytes: 1 }],
  [0x0b, { type: 'i16', bytes: 2 }],
  [0x0c, { type: 'i32', bytes: 4 }],
  [0x0d, { type: 'f32', bytes: 4 }],
  [0x0e, { type: 'f64', bytes: 8 }],
]);

const hex = (b: number): string => `0x${b.toString(16).padStart(2, '0')}`;

/** Decodes the magic and the dimension sizes; needs only the first 4 + 4·ndim bytes. */
export function readIdxHeader(bytes: Uint8Array, what = 'IDX'): IdxHeader {
  if (bytes.length < 4) throw new IdxError(`${what}: ${bytes.length} bytes, too short for the 4-byte magic`);
  const [b0, b1, code, ndim] = bytes as unknown as [number, number, number, number];
  if (b0 === 0x1f && b1 === 0x8b) {
    throw new IdxError(`${what}: the bytes are gzip-compressed (magic 1f 8b); decompress them first`);
  }
  if (b0 !== 0 || b1 !== 0) {
    throw new IdxError(
      `${what}: bad magic ${[b0, b1, code, ndim].map(hex).join(' ')}: an IDX file starts with two zero bytes`,
    );
  }
  const t = TYPES.get(code);
  if (!t) {
    throw new IdxError(
      `${what}: unknown type code ${hex(code)} (expected 0x08 u8, 0x09 i8, 0x0b i16, 0x0c i32, 0x0d f32 or 0x0e f64)`,
    );
  }
  const headerBytes = 4 + 4 * ndim;
  if (bytes.length < headerBytes) {
    throw new IdxError(
      `${what}: truncated header: ${ndim} dimensions need ${headerBytes} bytes, got ${bytes.length}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape: number[] = [];
  for (let d = 0; d < ndim; d++) shape.push(view.getUint32(4 + 4 * d, false));
  return { type: t.type, shape, headerBytes, bytesPerValue: t.bytes };
}

/** Bytes of the header plus the first `rows` rows (all of them when omitted). */
export function idxByteLength(header: IdxHeader, rows?: number): number {
  const [first = 1, ...rest] = header.shape;
  const perRow = rest.reduce((a, b) => a * b, 1);
  return header.headerBytes + (rows ?? first) * perRow * header.bytesPerValue;
}

/** Parses an IDX file. Multi-byte values are converted from big-endian to native numbers. */
export function parseIdx(bytes: Uint8Array, given: ParseIdxOptions = {}): IdxTensor {
  const options = readOptions<ParseIdxOptions>('parseIdx', given, { rows: true, name: true });
  const what = options.name ?? 'IDX';
  const header = readIdxHeader(bytes, what);
  const shape = header.shape.slice();
  const { rows } = options;
  if (rows !== undefined) {
    if (shape.length === 0) throw new IdxError(`${what}: a 0-dimensional file has no rows to select`);
    const available = shape[0] ?? 0;
    if (!Number.isSafeInteger(rows) || rows < 0 || rows > available) {
      throw new IdxError(`${what}: rows ${rows} must be an integer in [0, ${available}] (the file's rows)`);
    }
    shape[0] = rows;
  }
  const count = shape.reduce((a, b) => a * b, 1);
  const expected = header.headerBytes + count * header.bytesPerValue;
  if (bytes.length < expected) {
    const dims = header.shape.join('×') || 'scalar';
    const need = rows === undefined ? `${dims} ${header.type}` : `${rows} rows of ${dims} ${header.type}`;
    throw new IdxError(`${what}: truncated: ${need} need ${expected} bytes, got ${bytes.length}`);
  }
  if (rows === undefined && bytes.length > expected) {
    throw new IdxError(
      `${what}: ${bytes.length - expected} unexpected bytes after the data: ` +
        `${header.shape.join('×')} ${header.type} need ${expected} bytes, got ${bytes.length}`,
    );
  }
  const start = bytes.byteOffset + header.headerBytes;
  if (header.type === 'u8') return { shape, type: 'u8', data: new Uint8Array(bytes.buffer, start, count) };
  if (header.type === 'i8') return { shape, type: 'i8', data: new Int8Array(bytes.buffer, start, count) };
  const view = new DataView(bytes.buffer, start, count * header.bytesPerValue);
  return { shape, type: header.type, data: decodeBigEndian(view, header.type, count) };
}

function decodeBigEndian(view: DataView, type: 'i16' | 'i32' | 'f32' | 'f64', count: number): IdxData {
  switch (type) {
    case 'i16': {
      const out = new Int16Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt16(2 * i, false);
      return out;
    }
    case 'i32': {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt32(4 * i, false);
      return out;
    }
    case 'f32': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, false);
      return out;
    }
    case 'f64': {
      const out = new Float64Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(8 * i, false);
      return out;
    }
  }
}
