/**
 * Column statistics on the GPU (the extremes of a target column, its first non-integer and
 * first non-finite value, as targetStats() and firstNonFinite() find them on the host), and
 * a byte copy from any byte offset (a u8 column that starts at an odd byte): validation,
 * slicing, dispatch and decoding. The WGSL and its passes are described in
 * shaders/colstats.ts.
 *
 * Both read buffers that may be larger than one storage binding: they bind slices of at
 * most maxStorageBufferBindingSize bytes (or a smaller test limit) at offsets that are
 * multiples of minStorageBufferOffsetAlignment, one dispatch per slice.
 *
 * The statistics of one column are 8 u32 words (ColumnStats decodes them):
 *   0 min key   1 max key   2 minAt   3 maxAt   4 fractionAt   5 fraction bits
 *   6 nonFiniteAt   7 nonFinite bits
 * Indices are relative to the column's first element; NONE (0xffffffff) means none, which
 * is why a column holds fewer than 2^32 − 1 elements. A key is the element's value as a u32
 * whose unsigned order is the value's order (see `key_of` in the WGSL).
 *
 * Passes (init, extremes, first index, values), each one dispatch per slice but init: f32
 * takes 1 + 3 · slices dispatches, u8/i32/u32 1 + 2 · slices (no values pass). The grid is
 * bounded (MAX_GROUPS workgroups) and walks the elements grid-stride, so a 50M-element
 * column needs no more workgroups than a small one.
 */
import {
  copyBytesShader,
  extremesShader,
  firstIndexShader,
  initShader,
  valuesShader,
  type ColumnSource,
} from '../../shaders/colstats.js';
import { WORKGROUP_1D } from '../../shaders/common.js';
import { BufferSlice, type Bindable, type Engine } from '../gpu/engine.js';
import { checkSize } from './validate.js';

export type { ColumnSource };

export interface ColumnStatsSpec {
  source: ColumnSource;
  /** First element of the column in `src` (an element index: bytes for u8). */
  start: number;
  /** One past the last element. */
  end: number;
  /**
   * Largest slice of `src` bound at once, in bytes; default (and at most) the adapter's
   * maxStorageBufferBindingSize. Tests set it small to exercise the slicing.
   */
  maxBindingBytes?: number;
}

/**
 * What a column holds, indices relative to spec.start. min/max skip NaN (±Inf count);
 * minAt/maxAt are the first index of the extreme (−1, with min Infinity and max −Infinity,
 * when every element is NaN or there are none). fractionAt: the first element that is not
 * a finite integer (always −1 for u8, i32 and u32); nonFiniteAt: the first NaN or ±Inf
 * (f32 only). fraction / nonFinite are their values, 0 when there is none.
 */
export interface ColumnStats {
  min: number;
  minAt: number;
  max: number;
  maxAt: number;
  fractionAt: number;
  fraction: number;
  nonFiniteAt: number;
  nonFinite: number;
}

/** u32 words of one column's statistics. */
export const COLUMN_STATS_WORDS = 8;
/** Bytes of one column's statistics (`out` must hold at least this many). */
export const COLUMN_STATS_BYTES = COLUMN_STATS_WORDS * 4;

const NONE = 0xffffffff;

/**
 * Most workgroups of one pass. 1024 × 256 threads fill a large GPU; more would only add
 * atomics. Each thread walks its elements grid-stride.
 */
const MAX_GROUPS = 1024;

/**
 * Slices are capped at 2^31 bytes so that every position inside one (a byte index for u8)
 * plus the grid stride stays below 2^32 in the shaders' u32 arithmetic.
 */
const MAX_SLICE_BYTES = 2 ** 31;

const SOURCES: readonly ColumnSource[] = ['u8', 'f32', 'i32', 'u32'];

// ------------------------------------------------------------------ column statistics

/**
 * Encodes the passes that write the statistics of elements [spec.start, spec.end) of `src`
 * into `out` (8 u32 words; see the module comment for the layout and decodeColumnStats to
 * read them). `out` is initialised here, so several columns can be summarised into slots of
 * one buffer (BufferSlices at 256-byte-aligned offsets) and read back together.
 */
export function encodeColumnStats(
  engine: Engine,
  spec: ColumnStatsSpec,
  src: GPUBuffer,
  out: Bindable,
): void {
  const what = 'columnStats';
  const { source, start, end } = spec;
  if (!SOURCES.includes(source)) {
    throw new TypeError(`${what}: source '${source}' is not u8, f32, i32 or u32`);
  }
  const bytesPer = source === 'u8' ? 1 : 4;
  const elements = Math.floor(src.size / bytesPer);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || start > end) {
    throw new RangeError(`${what}: range [${start}, ${end}) must be integers with 0 ≤ start ≤ end`);
  }
  if (end > elements) {
    throw new RangeError(
      `${what}: range [${start}, ${end}) is outside buffer "${src.label}" of ${src.size} bytes ` +
        `(${elements} ${source} elements)`,
    );
  }
  const count = end - start;
  if (count >= NONE) {
    throw new RangeError(`${what}: ${count} elements; at most 2^32 − 2 fit the u32 indices`);
  }
  checkSize(what, 'out', out, COLUMN_STATS_BYTES, `${COLUMN_STATS_WORDS} u32 stats words`);
  const slices = bindingSlices(engine, what, src, start * bytesPer, end * bytesPer, spec.maxBindingBytes);

  const label = `column_stats_${source}`;
  engine.dispatch(engine.pipeline(initShader(), 'column_stats_init'), [out], [1], `${label} init`, {
    flops: 0,
    bytes: COLUMN_STATS_BYTES,
  });
  if (count === 0) return;

  const extremes = engine.pipeline(extremesShader(source), `${label} extremes`);
  const firstIndex = engine.pipeline(firstIndexShader(source), `${label} first index`);
  const values = source === 'f32' ? engine.pipeline(valuesShader(), `${label} values`) : undefined;
  const views = slices.map((s) => {
    const first = Math.max(start, s.offset / bytesPer);
    const last = Math.min(end, (s.offset + s.size) / bytesPer);
    const params = new Uint32Array([first - s.offset / bytesPer, last - first, first - start, 0]);
    return { slice: s, n: last - first, params };
  });
  const groups = (n: number): [number] => [
    Math.max(
      1,
      Math.min(Math.ceil(n / (4 * WORKGROUP_1D)), MAX_GROUPS, engine.limits.maxComputeWorkgroupsPerDimension),
    ),
  ];
  // Each pass reads the column once (at its stored width) and does a few atomics per
  // workgroup on the 32 stats bytes, which are not counted. Extremes: 2 comparisons per f32
  // element (integer keys count no flops). First index: an estimate, the whole column,
  // since a thread stops where it finds both extremes.
  for (const v of views) {
    engine.dispatch(
      extremes,
      [v.slice, out, engine.tempUniform(v.params, `${label} params`)],
      groups(v.n),
      `${label} extremes`,
      { flops: source === 'f32' ? 2 * v.n : 0, bytes: v.n * bytesPer },
    );
  }
  for (const v of views) {
    engine.dispatch(
      firstIndex,
      [v.slice, out, engine.tempUniform(v.params, `${label} params`)],
      groups(v.n),
      `${label} first index`,
      { flops: 0, bytes: v.n * bytesPer },
    );
  }
  if (!values) return;
  for (const v of views) {
    // At most 4 elements read; the 4 indices read and 4 words written.
    engine.dispatch(
      values,
      [v.slice, out, engine.tempUniform(v.params, `${label} params`)],
      [1],
      `${label} values`,
      { flops: 0, bytes: 4 * 4 + 4 * 4 + 4 * 4 },
    );
  }
}

/** Decodes the 8 words encodeColumnStats wrote (the first 8 of `words`). */
export function decodeColumnStats(words: Uint32Array, source: ColumnSource): ColumnStats {
  if (words.length < COLUMN_STATS_WORDS) {
    throw new RangeError(`decodeColumnStats: ${words.length} words; the stats are ${COLUMN_STATS_WORDS}`);
  }
  const word = (i: number): number => words[i] ?? NONE;
  const index = (i: number): number => (word(i) === NONE ? -1 : word(i));
  const minAt = index(2);
  const maxAt = index(3);
  const fractionAt = index(4);
  const nonFiniteAt = index(6);
  return {
    min: minAt < 0 ? Infinity : fromKey(word(0), source),
    minAt,
    max: maxAt < 0 ? -Infinity : fromKey(word(1), source),
    maxAt,
    fractionAt,
    fraction: fractionAt < 0 ? 0 : f32FromBits(word(5)),
    nonFiniteAt,
    nonFinite: nonFiniteAt < 0 ? 0 : f32FromBits(word(7)),
  };
}

/** The value behind an order key (see `order_key` in the WGSL). */
function fromKey(key: number, source: ColumnSource): number {
  switch (source) {
    case 'f32':
      return f32FromBits(key & 0x80000000 ? key ^ 0x80000000 : ~key >>> 0);
    case 'i32':
      return (key ^ 0x80000000) | 0;
    default:
      return key;
  }
}

function f32FromBits(bits: number): number {
  const f = new Float32Array(1);
  new Uint32Array(f.buffer)[0] = bits;
  return f[0] ?? NaN;
}

/**
 * The slices of `src` that cover bytes [from, to): each starts at a multiple of the offset
 * alignment and holds at most the binding limit (or maxBindingBytes, rounded down to the
 * alignment); the last one ends at the word holding byte to − 1.
 */
function bindingSlices(
  engine: Engine,
  what: string,
  src: GPUBuffer,
  from: number,
  to: number,
  maxBindingBytes?: number,
): BufferSlice[] {
  const size = sliceBytes(engine, what, maxBindingBytes, 1);
  const align = engine.limits.minStorageBufferOffsetAlignment;
  const end = Math.min(Math.ceil(to / 4) * 4, src.size);
  const slices: BufferSlice[] = [];
  for (let offset = Math.floor(from / align) * align; offset < end; offset += size) {
    slices.push(new BufferSlice(src, offset, Math.min(size, end - offset), `${src.label} [${offset}..)`));
  }
  return slices;
}

/**
 * The largest slice to bind: maxBindingBytes (at most the adapter's binding limit and
 * 2^31) rounded down to the offset alignment, refusing less than `minAligns` alignments.
 */
function sliceBytes(
  engine: Engine,
  what: string,
  maxBindingBytes: number | undefined,
  minAligns: number,
): number {
  const limit = engine.limits.maxStorageBufferBindingSize;
  const align = engine.limits.minStorageBufferOffsetAlignment;
  const asked = maxBindingBytes ?? limit;
  if (!Number.isSafeInteger(asked) || asked <= 0) {
    throw new RangeError(`${what}: maxBindingBytes must be a positive integer, got ${asked}`);
  }
  const size = Math.floor(Math.min(asked, limit, MAX_SLICE_BYTES) / align) * align;
  if (size < minAligns * align) {
    throw new RangeError(
      `${what}: maxBindingBytes ${asked} is below ${minAligns} × minStorageBufferOffsetAlignment ` +
        `(${minAligns * align} bytes)`,
    );
  }
  return size;
}

// ------------------------------------------------------------------ byte copy

/**
 * Copies bytes [srcByteOffset, srcByteOffset + byteCount) of src to dst from byte 0 (dst
 * needs ceil4(byteCount) bytes; the bytes of the last word past byteCount are unspecified).
 * From a 4-byte-aligned offset this is a buffer copy (not recordable); from any other
 * offset a compute shader shifts the bytes into place, binding src and dst in slices of at
 * most maxBindingBytes (default the binding limit; at least 2 offset alignments).
 */
export function encodeCopyBytes(
  engine: Engine,
  src: GPUBuffer,
  srcByteOffset: number,
  dst: GPUBuffer,
  byteCount: number,
  maxBindingBytes?: number,
): void {
  const what = 'copyBytes';
  if (!Number.isSafeInteger(srcByteOffset) || srcByteOffset < 0) {
    throw new RangeError(`${what}: srcByteOffset must be a non-negative integer, got ${srcByteOffset}`);
  }
  if (!Number.isSafeInteger(byteCount) || byteCount < 0) {
    throw new RangeError(`${what}: byteCount must be a non-negative integer, got ${byteCount}`);
  }
  const srcEnd = srcByteOffset + byteCount;
  if (srcEnd > src.size) {
    throw new RangeError(
      `${what}: bytes [${srcByteOffset}, ${srcEnd}) are outside buffer src ("${src.label}") of ${src.size} bytes`,
    );
  }
  const dstWords = Math.ceil(byteCount / 4);
  checkSize(what, 'dst', dst, dstWords * 4, `${byteCount} bytes (rounded up to whole words)`);
  if (src === dst) throw new TypeError(`${what}: src and dst are the same buffer ("${src.label}")`);
  // Storage bindings and buffer copies both move whole words, so the word holding the last
  // byte must lie within src; engine buffers are padded to 4 bytes, so it always does.
  if (Math.ceil(srcEnd / 4) * 4 > src.size) {
    throw new RangeError(
      `${what}: byte ${srcEnd - 1} of src ("${src.label}", ${src.size} bytes, not a multiple of 4) ` +
        'is in a partial last word that cannot be read',
    );
  }
  if (byteCount === 0) return;
  if (srcByteOffset % 4 === 0) {
    engine.copy(src, dst, dstWords * 4, srcByteOffset, 0);
    return;
  }

  const align = engine.limits.minStorageBufferOffsetAlignment;
  const size = sliceBytes(engine, what, maxBindingBytes, 2);
  // Dst words [j0, j0 + chunk) come from src words from (srcByteOffset + 4·j0) / 4, bound
  // from base + 4·j0 (j0 a multiple of align/4 keeps that aligned). The src slice holds
  // 4·chunk + ceil4(srcByteOffset − base) ≤ 4·chunk + align bytes: chunk fits both slices.
  const base = Math.floor(srcByteOffset / align) * align;
  const lead = srcByteOffset - base;
  const wordsPerAlign = align / 4;
  const chunk = Math.floor((size - Math.ceil(lead / 4) * 4) / 4 / wordsPerAlign) * wordsPerAlign;
  const pipeline = engine.pipeline(copyBytesShader(), 'copy_bytes');
  for (let j0 = 0; j0 < dstWords; j0 += chunk) {
    const words = Math.min(chunk, dstWords - j0);
    const srcFrom = base + 4 * j0;
    const srcTo = Math.min(Math.ceil((srcByteOffset + 4 * (j0 + words)) / 4) * 4, src.size);
    const srcSlice = new BufferSlice(src, srcFrom, srcTo - srcFrom, `${src.label} [${srcFrom}..)`);
    const dstSlice = new BufferSlice(dst, 4 * j0, 4 * words, `${dst.label} [${4 * j0}..)`);
    const params = new Uint32Array([lead >> 2, words, 8 * (lead & 3), 0]);
    const groups = Math.max(1, Math.min(Math.ceil(words / WORKGROUP_1D), MAX_GROUPS));
    // Pure data movement: the words read once and written once.
    engine.dispatch(
      pipeline,
      [srcSlice, dstSlice, engine.tempUniform(params, 'copy_bytes params')],
      [groups],
      'copy_bytes',
      { flops: 0, bytes: 8 * words },
    );
  }
}
