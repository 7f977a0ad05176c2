/**
 * Column statistics on the GPU (the extremes of a target column, its first non-integer and
 * first non-finite value, as targetStats() and firstNonFinite() find them on the host), and
 * a byte copy from any byte offset (a u8 column that starts at an odd byte).
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
 * whose unsigned order is the value's order (see `keyOf` in the WGSL).
 *
 * Passes, each one dispatch per slice (f32: 1 + 3 · slices dispatches; u8/i32/u32: 1 + 2 ·
 * slices):
 *  - init: the 8 words set to "nothing seen".
 *  - extremes: a bounded grid of threads walks the elements (grid-stride, so a 50M-element
 *    column needs no more workgroups than a small one); each thread keeps its min/max key
 *    and its first non-integer / non-finite index, its workgroup combines them in workgroup
 *    atomics, and one thread per workgroup does the global atomicMin/atomicMax.
 *  - first index: atomicMin of the first index whose key equals the min key, and of the max
 *    key's (a thread stops once it has found both: its indices only grow).
 *  - values (f32 only): one thread reads the elements at minAt, maxAt, fractionAt and
 *    nonFiniteAt and stores their keys or bits. Keys order −0 as +0 (as JS compares them:
 *    the first of several zeros is the min), so the sign of a zero extreme is restored here.
 */
import { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';
import { WORKGROUP_1D } from '../../shaders/common.js';
import { BufferSlice, type Bindable, type Engine } from '../gpu/engine.js';
import { checkSize } from './validate.js';

/** Element types a column can hold. 'u8' is packed four to a u32 word, little-endian. */
export type ColumnSource = 'u8' | 'f32' | 'i32' | 'u32';

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

// ------------------------------------------------------------------ WGSL

/**
 * Bindings shared by the statistics passes: 0 src words (read), 1 the 8 stats words,
 * 2 params. An element is read at `pos`, its position in the bound slice (bytes for u8,
 * 4-byte elements otherwise); `first` is the position of the dispatch's first element,
 * `count` its elements and `base` the column index of that element.
 */
function statsPrelude(source: ColumnSource): string {
  const f32 = source === 'f32';
  return wgsl`
struct Params { first: u32, count: u32, base: u32, _pad: u32 }

@group(0) @binding(0) var<storage, read> src: array<u32>;
@group(0) @binding(1) var<storage, read_write> stats: array<atomic<u32>, 8>;
@group(0) @binding(2) var<uniform> params: Params;

const WG: u32 = ${WORKGROUP_1D}u;
const NONE: u32 = 0xffffffffu;

// The bits of the element at slice position pos.
fn element(pos: u32) -> u32 {
#if ${source === 'u8'}
  return (src[pos >> 2u] >> ((pos & 3u) * 8u)) & 0xffu;
#else
  return src[pos];
#endif
}

#if ${f32}
fn is_nan_bits(v: u32) -> bool {
  return (v & 0x7fffffffu) > 0x7f800000u;
}

// f32 bits -> a u32 whose unsigned order is the float order: positives get the sign bit
// set, negatives are inverted. NaN has no place; callers skip it.
fn order_key(v: u32) -> u32 {
  return select(v ^ 0x80000000u, ~v, (v & 0x80000000u) != 0u);
}

// The key the comparisons use: −0 as +0, since JS finds neither below the other.
fn key_of(v: u32) -> u32 {
  return order_key(select(v, 0u, v == 0x80000000u));
}

// True for ±0 and every finite f32 without fraction bits: the exponent e = biased − 127
// leaves 23 − e mantissa bits below the binary point, which must be zero.
fn is_integer(v: u32) -> bool {
  let biased = (v >> 23u) & 0xffu;
  if (biased == 0xffu) { return false; }
  if (biased >= 150u) { return true; }
  if (biased < 127u) { return (v & 0x7fffffffu) == 0u; }
  return (v & ((1u << (150u - biased)) - 1u)) == 0u;
}
#elif ${source === 'i32'}
fn key_of(v: u32) -> u32 {
  return v ^ 0x80000000u;
}
#else
fn key_of(v: u32) -> u32 {
  return v;
}
#endif
`;
}

/** Writes the "nothing seen" state: keys at their identities, every index NONE. */
function initShader(): string {
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read_write> stats: array<u32, 8>;

@compute @workgroup_size(1)
fn main() {
  stats[0] = 0xffffffffu; // min key
  stats[1] = 0u;          // max key
  stats[2] = 0xffffffffu; // minAt
  stats[3] = 0xffffffffu; // maxAt
  stats[4] = 0xffffffffu; // fractionAt
  stats[5] = 0u;          // fraction bits
  stats[6] = 0xffffffffu; // nonFiniteAt
  stats[7] = 0u;          // nonFinite bits
}`;
}

/**
 * Pass 1: min/max keys and the first bad indices. Workgroup memory starts at zero, which is
 * the identity of atomicMax, so the minima are kept complemented (max of ~x = ~min of x).
 */
function extremesShader(source: ColumnSource): string {
  const f32 = source === 'f32';
  return wgsl`${statsPrelude(source)}
var<workgroup> wg_not_lo: atomic<u32>;
var<workgroup> wg_hi: atomic<u32>;
#if ${f32}
var<workgroup> wg_not_fraction: atomic<u32>;
var<workgroup> wg_not_non_finite: atomic<u32>;
#endif

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  var lo = NONE;
  var hi = 0u;
#if ${f32}
  var fraction = NONE;
  var non_finite = NONE;
#endif
  let stride = nwg.x * WG;
  for (var e = gid.x; e < params.count; e += stride) {
    let v = element(params.first + e);
#if ${f32}
    // A thread's indices grow, so the first one it sets is its smallest.
    let i = params.base + e;
    if (fraction == NONE && !is_integer(v)) { fraction = i; }
    if ((v & 0x7f800000u) == 0x7f800000u) {
      if (non_finite == NONE) { non_finite = i; }
      if (is_nan_bits(v)) { continue; }
    }
#endif
    let key = key_of(v);
    lo = min(lo, key);
    hi = max(hi, key);
  }
  atomicMax(&wg_not_lo, ~lo);
  atomicMax(&wg_hi, hi);
#if ${f32}
  atomicMax(&wg_not_fraction, ~fraction);
  atomicMax(&wg_not_non_finite, ~non_finite);
#endif
  workgroupBarrier();
  if (lid == 0u) {
    atomicMin(&stats[0], ~atomicLoad(&wg_not_lo));
    atomicMax(&stats[1], atomicLoad(&wg_hi));
#if ${f32}
    atomicMin(&stats[4], ~atomicLoad(&wg_not_fraction));
    atomicMin(&stats[6], ~atomicLoad(&wg_not_non_finite));
#endif
  }
}`;
}

/** Pass 2: the first index holding the min key, and the max key's. */
function firstIndexShader(source: ColumnSource): string {
  const f32 = source === 'f32';
  return wgsl`${statsPrelude(source)}
var<workgroup> wg_not_lo_at: atomic<u32>;
var<workgroup> wg_not_hi_at: atomic<u32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let lo = atomicLoad(&stats[0]);
  let hi = atomicLoad(&stats[1]);
  var lo_at = NONE;
  var hi_at = NONE;
  let stride = nwg.x * WG;
  for (var e = gid.x; e < params.count; e += stride) {
    let v = element(params.first + e);
#if ${f32}
    if (is_nan_bits(v)) { continue; }
#endif
    let key = key_of(v);
    let i = params.base + e;
    if (lo_at == NONE && key == lo) { lo_at = i; }
    if (hi_at == NONE && key == hi) { hi_at = i; }
    if (lo_at != NONE && hi_at != NONE) { break; }
  }
  atomicMax(&wg_not_lo_at, ~lo_at);
  atomicMax(&wg_not_hi_at, ~hi_at);
  workgroupBarrier();
  if (lid == 0u) {
    atomicMin(&stats[2], ~atomicLoad(&wg_not_lo_at));
    atomicMin(&stats[3], ~atomicLoad(&wg_not_hi_at));
  }
}`;
}

/**
 * Pass 3 (f32): the elements at the four indices, where they lie in this slice: the exact
 * keys of the extremes (a zero keeps its sign) and the bits of the first bad values.
 */
function valuesShader(): string {
  return wgsl`${statsPrelude('f32')}
// The element at column index at, if this dispatch holds it.
fn holds(at: u32) -> bool {
  return at != NONE && at >= params.base && at - params.base < params.count;
}

fn at_value(at: u32) -> u32 {
  return element(params.first + (at - params.base));
}

@compute @workgroup_size(1)
fn main() {
  let min_at = atomicLoad(&stats[2]);
  if (holds(min_at)) { atomicStore(&stats[0], order_key(at_value(min_at))); }
  let max_at = atomicLoad(&stats[3]);
  if (holds(max_at)) { atomicStore(&stats[1], order_key(at_value(max_at))); }
  let fraction_at = atomicLoad(&stats[4]);
  if (holds(fraction_at)) { atomicStore(&stats[5], at_value(fraction_at)); }
  let non_finite_at = atomicLoad(&stats[6]);
  if (holds(non_finite_at)) { atomicStore(&stats[7], at_value(non_finite_at)); }
}`;
}

/**
 * Copy from a byte offset that is not a multiple of 4: dst word j is the 4 source bytes
 * from byte shift/8 of src word first + j, i.e. the high bytes of that word and the low
 * bytes of the next (the next word is left out past the bound slice: its bytes are beyond
 * the copied range). Bindings: 0 src words (read), 1 dst words, 2 params.
 */
function copyBytesShader(): string {
  return /* wgsl */ `
struct Params { first: u32, words: u32, shift: u32, _pad: u32 }

@group(0) @binding(0) var<storage, read> src: array<u32>;
@group(0) @binding(1) var<storage, read_write> dst: array<u32>;
@group(0) @binding(2) var<uniform> params: Params;

const WG: u32 = ${WORKGROUP_1D}u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let stride = nwg.x * WG;
  let src_words = arrayLength(&src);
  for (var j = gid.x; j < params.words; j += stride) {
    let q = params.first + j;
    var next = 0u;
    if (q + 1u < src_words) { next = src[q + 1u]; }
    // shift is 8, 16 or 24: both shifts stay below 32.
    dst[j] = (src[q] >> params.shift) | (next << (32u - params.shift));
  }
}`;
}

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
