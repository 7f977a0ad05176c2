/**
 * Column statistics and the byte copy against host references written here in plain JS.
 *
 * Every statistic is an index or a stored value, so every comparison is EXACT: indices
 * equal, values identical by Object.is (a zero keeps its sign, NaN matches NaN). The
 * reference follows the kernel's contract: min/max over the non-NaN values (±Inf count),
 * the first index of each extreme, the first value that is not a finite integer (f32 only)
 * and the first NaN/±Inf (f32 only). It is also checked against targetStats() and
 * firstNonFinite() where their contracts agree (see checkAgainstHost).
 */
import type { Engine } from '../../src/index.js';
import { BufferSlice } from '../../src/gpu/engine.js';
import {
  COLUMN_STATS_BYTES,
  decodeColumnStats,
  encodeColumnStats,
  encodeCopyBytes,
  type ColumnSource,
  type ColumnStats,
} from '../../src/kernels/colstats.js';
import { targetStats } from '../../src/graph/dataset.js';
import { firstNonFinite } from '../../src/model/finite.js';
import { expectEqual, expectError, KernelMismatchError, rng } from '../harness.js';
import type { KernelCase } from './types.js';

type Column = Float32Array | Uint8Array | Int32Array | Uint32Array;

function usage(): GPUBufferUsageFlags {
  return GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
}

function sourceOf(data: Column): ColumnSource {
  if (data instanceof Float32Array) return 'f32';
  if (data instanceof Uint8Array) return 'u8';
  if (data instanceof Int32Array) return 'i32';
  return 'u32';
}

/** The kernel's contract on data[start, end), indices relative to start. */
function statsReference(data: Column, start: number, end: number): ColumnStats {
  const s: ColumnStats = {
    min: Infinity,
    minAt: -1,
    max: -Infinity,
    maxAt: -1,
    fractionAt: -1,
    fraction: 0,
    nonFiniteAt: -1,
    nonFinite: 0,
  };
  const float = data instanceof Float32Array;
  for (let i = start; i < end; i++) {
    const v = data[i] ?? NaN;
    const at = i - start;
    if (!Number.isNaN(v)) {
      if (s.minAt < 0 || v < s.min) [s.min, s.minAt] = [v, at];
      if (s.maxAt < 0 || v > s.max) [s.max, s.maxAt] = [v, at];
    }
    if (float && s.fractionAt < 0 && !Number.isInteger(v)) [s.fraction, s.fractionAt] = [v, at];
    if (float && s.nonFiniteAt < 0 && !Number.isFinite(v)) [s.nonFinite, s.nonFiniteAt] = [v, at];
  }
  return s;
}

/**
 * The same range through targetStats() and firstNonFinite(). targetStats starts min at
 * +Infinity and max at −Infinity with strict comparisons, so it finds no min in a range of
 * only +Inf (and NaN) and no max in one of only −Inf, where the contract names the first
 * infinity: those ranges skip the extreme concerned here.
 */
function checkAgainstHost(data: Column, start: number, end: number, got: ColumnStats, what: string): void {
  const part = data.subarray(start, end);
  const host = targetStats(part, 1);
  const finite = Array.from(part).filter((v) => !Number.isNaN(v));
  const onlyPosInf = finite.length > 0 && finite.every((v) => v === Infinity);
  const onlyNegInf = finite.length > 0 && finite.every((v) => v === -Infinity);
  const fields: (keyof ColumnStats)[] = ['fractionAt', 'fraction'];
  if (!onlyPosInf) fields.push('min', 'minAt');
  if (!onlyNegInf) fields.push('max', 'maxAt');
  for (const k of fields) {
    const e = host[k as keyof typeof host];
    if (!Object.is(got[k], e)) {
      throw new KernelMismatchError(`${what}: ${k} ${String(got[k])}, targetStats says ${String(e)}`);
    }
  }
  const nf = part instanceof Float32Array ? firstNonFinite(part) : -1;
  expectEqual(got.nonFiniteAt, nf, `${what}: nonFiniteAt against firstNonFinite`);
}

function expectStats(got: ColumnStats, want: ColumnStats, what: string): void {
  for (const k of Object.keys(want) as (keyof ColumnStats)[]) {
    if (!Object.is(got[k], want[k])) {
      throw new KernelMismatchError(
        `${what}: ${k} is ${fmt(got[k])}, expected ${fmt(want[k])}\n  got  ${JSON.stringify(got, replacer)}` +
          `\n  want ${JSON.stringify(want, replacer)}`,
      );
    }
  }
}

const fmt = (v: number): string => (Object.is(v, -0) ? '-0' : String(v));
const replacer = (_: string, v: unknown): unknown => (typeof v === 'number' ? fmt(v) : v);

function upload(engine: Engine, data: Column, label: string): GPUBuffer {
  return engine.createBufferWithData(data, usage(), label);
}

/** Runs the stats of one range into a fresh buffer and decodes them. */
async function gpuStats(
  engine: Engine,
  src: GPUBuffer,
  source: ColumnSource,
  start: number,
  end: number,
  maxBindingBytes?: number,
): Promise<ColumnStats> {
  const out = engine.createBuffer({ size: COLUMN_STATS_BYTES, usage: usage(), label: 'stats' });
  // Garbage first: the kernel must initialise its words itself.
  engine.writeBuffer(out, 0, new Uint32Array(8).fill(0x5a5a5a5a));
  const spec =
    maxBindingBytes === undefined ? { source, start, end } : { source, start, end, maxBindingBytes };
  encodeColumnStats(engine, spec, src, out);
  const words = new Uint32Array(await engine.read(out, COLUMN_STATS_BYTES, 'stats'));
  engine.releaseBuffer(out);
  return decodeColumnStats(words, source);
}

/** Checks each range against both references. */
async function checkRanges(
  engine: Engine,
  data: Column,
  ranges: readonly (readonly [number, number])[],
  what: string,
  maxBindingBytes?: number,
): Promise<void> {
  const source = sourceOf(data);
  const src = upload(engine, data, what);
  for (const [start, end] of ranges) {
    const label = `${what} [${start}, ${end})`;
    const got = await gpuStats(engine, src, source, start, end, maxBindingBytes);
    expectStats(got, statsReference(data, start, end), label);
    checkAgainstHost(data, start, end, got, label);
  }
  engine.releaseBuffer(src);
}

/** Integers in [-50, 50] with specials planted: most values integral, so fractionAt means something. */
function plantedF32(n: number, seed: number, plant: Record<number, number>): Float32Array {
  const r = rng(seed);
  const data = Float32Array.from({ length: n }, () => Math.round(r() * 100 - 50));
  for (const [i, v] of Object.entries(plant)) data[Number(i)] = v;
  return data;
}

/** The dispatches encodeColumnStats makes: init, then per slice 2 passes (3 for f32). */
function statsDispatches(source: ColumnSource, slices: number): number {
  return 1 + slices * (source === 'f32' ? 3 : 2);
}

const statsCases: KernelCase[] = [
  {
    name: 'column stats f32: NaN, ±Inf, fractions and duplicated extremes, sub-ranges at unaligned starts',
    async run(engine: Engine) {
      const n = 5000;
      const data = plantedF32(n, 1, {
        // Extremes repeated: the first index must win in every range holding both.
        40: 1000,
        41: 1000,
        900: 1000,
        90: -1000,
        1700: -1000,
        4100: -1000,
        // Fractions, a NaN and infinities after them.
        300: 2.5,
        301: -0.25,
        2200: NaN,
        2300: Infinity,
        2301: -Infinity,
        2500: 1e-45, // the smallest subnormal: not an integer
        3000: 16777217, // rounds to 2^24 in f32: an integer
        3001: 8388607.5, // 2^23 − 0.5: the last f32 with a fraction bit
      });
      await checkRanges(
        engine,
        data,
        [
          [0, n],
          [1, n - 3],
          [41, 1700],
          [42, 301],
          [302, 2300],
          [2201, 2302],
          [2301, 4100],
          [2302, n],
          [3000, 3001],
          [3001, 3002],
          [777, 778],
        ],
        'f32 planted',
      );
      // Uniform random floats: fractions everywhere, extremes unique.
      const r = rng(2);
      const wide = Float32Array.from({ length: 3333 }, () => (r() - 0.5) * 2 ** (r() * 40));
      await checkRanges(
        engine,
        wide,
        [
          [0, 3333],
          [5, 3330],
          [1234, 1235],
        ],
        'f32 random',
      );
    },
  },
  {
    name: 'column stats f32: a zero extreme keeps the sign of its first occurrence, -0 ties +0',
    async run(engine: Engine) {
      // Ranges whose min or max is a zero, first +0 or first −0 (JS: neither is below the
      // other, so the first wins); fractionAt is −1 for zeros of both signs.
      const data = Float32Array.from([0, -0, 3, -0, 0, -5, 0, -0, -0, 0, 7, -0]);
      const ranges: [number, number][] = [
        [0, 3], // min +0 @0, max 3
        [1, 3], // min −0 @0
        [3, 5], // min −0, max −0 @0
        [4, 5], // +0 both
        [5, 10], // max +0 @1
        [7, 10], // max −0 @0
        [11, 12],
      ];
      await checkRanges(engine, data, ranges, 'f32 zeros');
      const src = upload(engine, data, 'zeros');
      const got = await gpuStats(engine, src, 'f32', 3, 5);
      expectEqual(Object.is(got.min, -0) && Object.is(got.max, -0), true, 'range [3, 5): min and max are −0');
      engine.releaseBuffer(src);
    },
  },
  {
    name: 'column stats f32: all-NaN, only-infinity, single and empty ranges give the "none" results',
    async run(engine: Engine) {
      const data = Float32Array.from([NaN, -NaN, NaN, Infinity, Infinity, NaN, -Infinity, 4, -Infinity]);
      // Quiet and signalling-like NaN payloads, negative NaN.
      new Uint32Array(data.buffer)[1] = 0xffffffff;
      new Uint32Array(data.buffer)[2] = 0x7f800001;
      await checkRanges(
        engine,
        data,
        [
          [0, 3], // only NaN: min/max none, fractionAt = nonFiniteAt = 0
          [3, 5], // only +Inf: min = max = +Inf @0
          [5, 7], // NaN then −Inf
          [6, 9],
          [0, 0],
          [4, 4],
          [9, 9], // empty at the very end of the buffer
        ],
        'f32 specials',
      );
      const src = upload(engine, data, 'nan');
      const none = await gpuStats(engine, src, 'f32', 0, 3);
      expectEqual(none.minAt === -1 && none.min === Infinity, true, 'all NaN: no min');
      expectEqual(none.maxAt === -1 && none.max === -Infinity, true, 'all NaN: no max');
      expectEqual(Number.isNaN(none.fraction) && Number.isNaN(none.nonFinite), true, 'all NaN: NaN values');
      const empty = await gpuStats(engine, src, 'f32', 9, 9);
      expectStats(
        empty,
        {
          min: Infinity,
          minAt: -1,
          max: -Infinity,
          maxAt: -1,
          fractionAt: -1,
          fraction: 0,
          nonFiniteAt: -1,
          nonFinite: 0,
        },
        'empty range',
      );
      engine.releaseBuffer(src);
    },
  },
  {
    name: 'column stats u8: ranges starting and ending at odd bytes, repeated extremes',
    async run(engine: Engine) {
      const r = rng(3);
      const data = Uint8Array.from({ length: 1001 }, () => 10 + Math.floor(r() * 200));
      data[5] = 255;
      data[6] = 255;
      data[7] = 0;
      data[502] = 0;
      data[999] = 255;
      data[1000] = 1;
      await checkRanges(
        engine,
        data,
        [
          [0, 1001],
          [1, 1001],
          [6, 7],
          [7, 502],
          [8, 999],
          [3, 5],
          [1000, 1001],
          [503, 998],
        ],
        'u8',
      );
    },
  },
  {
    name: 'column stats of long columns of few distinct values: each thread meets its extremes many times',
    async run(engine: Engine) {
      // Tens of thousands of elements over at most a few thousand threads: a thread sees
      // the min and the max many times and must keep its first.
      const r = rng(10);
      const bits = Uint8Array.from({ length: 70001 }, () => 3 + Math.floor(r() * 2));
      await checkRanges(
        engine,
        bits,
        [
          [0, 70001],
          [1, 70000],
          [33333, 33335],
        ],
        'u8 two values',
      );
      const signs = Float32Array.from({ length: 50000 }, () => [-1, -0, 0, 1][Math.floor(r() * 4)] ?? 0);
      signs[49000] = 0.5;
      signs[49999] = 0.5;
      await checkRanges(
        engine,
        signs,
        [
          [0, 50000],
          [7, 49999],
        ],
        'f32 four values',
      );
      const constant = new Int32Array(40000).fill(-7);
      await checkRanges(
        engine,
        constant,
        [
          [0, 40000],
          [3, 39999],
        ],
        'i32 constant',
      );
    },
  },
  {
    name: 'column stats i32 (negatives, ±2^31 bounds) and u32 (values ≥ 2^31, 0 and 2^32 − 1)',
    async run(engine: Engine) {
      const r = rng(4);
      const i32 = Int32Array.from({ length: 777 }, () => Math.floor((r() - 0.5) * 2e6));
      i32[10] = -(2 ** 31);
      i32[20] = 2 ** 31 - 1;
      i32[30] = -(2 ** 31);
      i32[400] = -1;
      await checkRanges(
        engine,
        i32,
        [
          [0, 777],
          [11, 777],
          [31, 776],
          [400, 401],
          [21, 30],
        ],
        'i32',
      );
      const u32 = Uint32Array.from({ length: 513 }, () => Math.floor(r() * 2 ** 32));
      u32[3] = 0;
      u32[4] = 2 ** 32 - 1;
      u32[100] = 2 ** 32 - 1;
      u32[101] = 0;
      u32[200] = 2 ** 31;
      await checkRanges(
        engine,
        u32,
        [
          [0, 513],
          [5, 513],
          [102, 500],
          [200, 201],
          [4, 5],
        ],
        'u32',
      );
      // A column of only 2^32 − 1 (the key's "nothing seen" value) and of only 0.
      const ends = Uint32Array.from([2 ** 32 - 1, 2 ** 32 - 1, 0, 0]);
      await checkRanges(
        engine,
        ends,
        [
          [0, 2],
          [2, 4],
        ],
        'u32 constant',
      );
    },
  },
  {
    name: 'column stats over many binding slices (maxBindingBytes 1024 and 1000): counts derived, results exact',
    async run(engine: Engine) {
      const align = engine.limits.minStorageBufferOffsetAlignment;
      const n = 6000;
      const data = plantedF32(n, 5, {
        4000: 500,
        5999: 500,
        1: -500,
        2600: -500,
        3500: 0.5,
        4500: NaN,
      });
      await checkRanges(
        engine,
        data,
        [
          [0, n],
          [333, n - 1],
          [2, 5998],
          [3501, 4501],
        ],
        'f32 sliced',
        1024,
      );
      // The dispatches for [333, n): bytes [1332, 24000) from the aligned byte 1332 − 1332 %
      // align, in slices of 1024 bytes (rounded down to the alignment).
      const slice = Math.floor(1024 / align) * align;
      const from = Math.floor(1332 / align) * align;
      const slices = Math.ceil((4 * n - from) / slice);
      const src = upload(engine, data, 'sliced');
      const out = engine.createBuffer({ size: COLUMN_STATS_BYTES, usage: usage(), label: 'stats' });
      const before = engine.stats().dispatches;
      encodeColumnStats(engine, { source: 'f32', start: 333, end: n, maxBindingBytes: 1024 }, src, out);
      expectEqual(
        engine.stats().dispatches - before,
        statsDispatches('f32', slices),
        'dispatches over slices',
      );
      const got = decodeColumnStats(
        new Uint32Array(await engine.read(out, COLUMN_STATS_BYTES, 'stats')),
        'f32',
      );
      expectStats(got, statsReference(data, 333, n), 'f32 sliced, read after the count');
      for (const b of [src, out]) engine.releaseBuffer(b);

      const r = rng(6);
      const bytes = Uint8Array.from({ length: 9999 }, () => 1 + Math.floor(r() * 250));
      bytes[8191] = 0;
      bytes[8192] = 0;
      bytes[1023] = 255;
      bytes[1024] = 255;
      await checkRanges(
        engine,
        bytes,
        [
          [0, 9999],
          [1, 9998],
          [1024, 8192],
          [1023, 1025],
          [3001, 3001],
        ],
        'u8 sliced',
        1000,
      );
    },
  },
  {
    name: 'column stats of four columns into slots of one buffer, read back with one readback',
    async run(engine: Engine) {
      const slot = Math.max(256, engine.limits.minStorageBufferOffsetAlignment);
      const r = rng(7);
      const columns: { data: Column; start: number; end: number }[] = [
        { data: plantedF32(300, 8, { 17: 2.75, 99: -Infinity }), start: 3, end: 299 },
        { data: Uint8Array.from({ length: 401 }, () => Math.floor(r() * 256)), start: 7, end: 400 },
        { data: Int32Array.from({ length: 64 }, (_, i) => (i % 5) - 9), start: 1, end: 64 },
        { data: Uint32Array.from({ length: 90 }, () => Math.floor(r() * 2 ** 32)), start: 0, end: 90 },
      ];
      const srcs = columns.map((c, i) => upload(engine, c.data, `column ${i}`));
      const all = engine.createBuffer({ size: slot * columns.length, usage: usage(), label: 'stats slots' });
      // A sentinel everywhere: bytes past each slot's 32 must keep it.
      const SENTINEL = 0xdeadbeef;
      engine.writeBuffer(all, 0, new Uint32Array((slot * columns.length) / 4).fill(SENTINEL));
      columns.forEach((c, i) => {
        const out = new BufferSlice(all, i * slot, COLUMN_STATS_BYTES, `slot ${i}`);
        const src = srcs[i];
        if (!src) throw new Error('test setup: missing buffer');
        encodeColumnStats(engine, { source: sourceOf(c.data), start: c.start, end: c.end }, src, out);
      });
      const readsBefore = engine.stats().readbacks;
      const words = new Uint32Array(await engine.read(all, slot * columns.length, 'stats slots'));
      expectEqual(engine.stats().readbacks - readsBefore, 1, 'readbacks for four columns');
      columns.forEach((c, i) => {
        const base = (i * slot) / 4;
        const got = decodeColumnStats(words.subarray(base, base + 8), sourceOf(c.data));
        expectStats(got, statsReference(c.data, c.start, c.end), `slot ${i} (${sourceOf(c.data)})`);
        for (let w = base + 8; w < base + slot / 4; w++) {
          expectEqual(words[w], SENTINEL, `slot ${i}: word ${w - base} past the stats`);
        }
      });
      for (const b of [...srcs, all]) engine.releaseBuffer(b);
    },
  },
  {
    name: 'column stats refuse bad ranges, sources, outputs and binding sizes, dispatching nothing',
    async run(engine: Engine) {
      const src = upload(engine, new Float32Array(10), 'ten');
      const out = engine.createBuffer({ size: COLUMN_STATS_BYTES, usage: usage(), label: 'stats' });
      const small = engine.createBuffer({ size: 16, usage: usage(), label: 'small' });
      const align = engine.limits.minStorageBufferOffsetAlignment;
      const before = engine.stats().dispatches;
      await expectError(
        () => encodeColumnStats(engine, { source: 'f32', start: 0, end: 11 }, src, out),
        RangeError,
        [/\[0, 11\)/, /"ten" of 40 bytes/, /10 f32 elements/],
        'end past the buffer',
      );
      await expectError(
        () => encodeColumnStats(engine, { source: 'u8', start: 0, end: 41 }, src, out),
        RangeError,
        [/\[0, 41\)/, /40 u8 elements/],
        'u8 end past the buffer',
      );
      await expectError(
        () => encodeColumnStats(engine, { source: 'i32', start: 5, end: 4 }, src, out),
        RangeError,
        [/\[5, 4\)/, /start ≤ end/],
        'start > end',
      );
      await expectError(
        () => encodeColumnStats(engine, { source: 'i32', start: -1, end: 4 }, src, out),
        RangeError,
        [/\[-1, 4\)/],
        'negative start',
      );
      await expectError(
        () => encodeColumnStats(engine, { source: 'u32', start: 0.5, end: 4 }, src, out),
        RangeError,
        [/\[0.5, 4\)/],
        'fractional start',
      );
      await expectError(
        () => encodeColumnStats(engine, { source: 'f16' as ColumnSource, start: 0, end: 4 }, src, out),
        TypeError,
        [/'f16'/],
        'unknown source',
      );
      await expectError(
        () => encodeColumnStats(engine, { source: 'f32', start: 0, end: 4 }, src, small),
        RangeError,
        [/out \("small"\) has 16 bytes/, /needs 32/],
        'out too small',
      );
      await expectError(
        () =>
          encodeColumnStats(
            engine,
            { source: 'f32', start: 0, end: 4, maxBindingBytes: align - 4 },
            src,
            out,
          ),
        RangeError,
        [new RegExp(`maxBindingBytes ${align - 4} `), /minStorageBufferOffsetAlignment/],
        'binding limit below the alignment',
      );
      // 2^32 − 1 elements: a stand-in buffer object, since no adapter here allocates 4 GiB.
      // The count is refused before the buffer is used.
      const huge = { size: 2 ** 32 + 8, label: 'huge' } as GPUBuffer;
      await expectError(
        () => encodeColumnStats(engine, { source: 'u8', start: 1, end: 2 ** 32 }, huge, out),
        RangeError,
        [/4294967295 elements/, /2\^32 − 2/],
        '2^32 − 1 elements',
      );
      expectEqual(engine.stats().dispatches, before, 'dispatches after refused calls');
      for (const b of [src, out, small]) engine.releaseBuffer(b);
    },
  },
];

// ------------------------------------------------------------------ copy bytes

/** Copies and compares the first byteCount bytes; the dst words past them keep a sentinel. */
async function checkCopy(
  engine: Engine,
  data: Uint8Array,
  offset: number,
  byteCount: number,
  maxBindingBytes?: number,
): Promise<number> {
  const what = `copy ${byteCount} bytes from ${offset}${maxBindingBytes ? ` (slices ≤ ${maxBindingBytes})` : ''}`;
  const src = engine.createBufferWithData(data, usage(), 'copy src');
  const dstBytes = Math.ceil(byteCount / 4) * 4 + 64;
  const dst = engine.createBufferWithData(new Uint8Array(dstBytes).fill(0xab), usage(), 'copy dst');
  const before = engine.stats().dispatches;
  encodeCopyBytes(engine, src, offset, dst, byteCount, maxBindingBytes);
  const dispatches = engine.stats().dispatches - before;
  const got = new Uint8Array(await engine.read(dst, dstBytes, 'copy dst'));
  for (let i = 0; i < byteCount; i++) {
    if (got[i] !== data[offset + i]) {
      throw new KernelMismatchError(`${what}: byte ${i} is ${got[i]}, expected ${data[offset + i]}`);
    }
  }
  for (let i = Math.ceil(byteCount / 4) * 4; i < dstBytes; i++) {
    expectEqual(got[i], 0xab, `${what}: dst byte ${i} past the copied words`);
  }
  for (const b of [src, dst]) engine.releaseBuffer(b);
  return dispatches;
}

const copyCases: KernelCase[] = [
  {
    name: 'copy bytes from aligned offsets (buffer copy, no dispatch) and odd offsets (shader), sliced too',
    async run(engine: Engine) {
      const r = rng(9);
      const data = Uint8Array.from({ length: 10001 }, () => Math.floor(r() * 256));
      // Aligned: a buffer copy, no dispatch, counts not a multiple of 4 included.
      for (const [offset, count] of [
        [0, 10001],
        [8, 13],
        [256, 1],
        [9996, 5],
      ] as const) {
        expectEqual(
          await checkCopy(engine, data, offset, count),
          0,
          `aligned ${offset}+${count}: dispatches`,
        );
      }
      // Unaligned: one dispatch within the binding limit.
      for (const [offset, count] of [
        [1, 10000],
        [2, 7],
        [3, 4],
        [257, 1],
        [1023, 3333],
        [9998, 3],
      ] as const) {
        expectEqual(
          await checkCopy(engine, data, offset, count),
          1,
          `unaligned ${offset}+${count}: dispatches`,
        );
      }
      // Small slices: the dst words per dispatch are the largest multiple of align/4 with
      // 4·words + ceil4(offset % align) ≤ the slice bytes.
      const align = engine.limits.minStorageBufferOffsetAlignment;
      for (const [offset, count, max] of [
        [3, 9998, 1024],
        [1, 5000, 2 * align],
        [255, 4097, 1000],
        [2049, 3, 1024],
      ] as const) {
        const slice = Math.floor(max / align) * align;
        const lead = Math.ceil((offset % align) / 4) * 4;
        const chunk = Math.floor((slice - lead) / 4 / (align / 4)) * (align / 4);
        const expected = Math.ceil(Math.ceil(count / 4) / chunk);
        expectEqual(
          await checkCopy(engine, data, offset, count, max),
          expected,
          `unaligned ${offset}+${count} in slices of ${max}: dispatches`,
        );
      }
      expectEqual(await checkCopy(engine, data, 5, 0), 0, 'zero bytes: dispatches');
    },
  },
  {
    name: 'copy bytes refuses ranges outside src, a short dst and too small a binding limit, dispatching nothing',
    async run(engine: Engine) {
      const src = engine.createBuffer({ size: 100, usage: usage(), label: 'src100' });
      const dst = engine.createBuffer({ size: 20, usage: usage(), label: 'dst20' });
      const align = engine.limits.minStorageBufferOffsetAlignment;
      const before = engine.stats().dispatches;
      await expectError(
        () => encodeCopyBytes(engine, src, 90, dst, 11),
        RangeError,
        [/\[90, 101\)/, /src \("src100"\) of 100 bytes/],
        'past the end of src',
      );
      await expectError(
        () => encodeCopyBytes(engine, src, 1, dst, 21),
        RangeError,
        [/dst \("dst20"\) has 20 bytes/, /needs 24/],
        'dst too small',
      );
      await expectError(
        () => encodeCopyBytes(engine, src, -1, dst, 4),
        RangeError,
        [/srcByteOffset/, /-1/],
        'negative offset',
      );
      await expectError(
        () => encodeCopyBytes(engine, src, 1, dst, 4, 2 * align - 4),
        RangeError,
        [new RegExp(`maxBindingBytes ${2 * align - 4} `), /2 × minStorageBufferOffsetAlignment/],
        'binding limit under two alignments',
      );
      await expectError(
        () => encodeCopyBytes(engine, src, 1, src, 4),
        TypeError,
        [/same buffer/],
        'src is dst',
      );
      expectEqual(engine.stats().dispatches, before, 'dispatches after refused calls');
      for (const b of [src, dst]) engine.releaseBuffer(b);
    },
  },
];

export const cases: KernelCase[] = [...statsCases, ...copyCases];
