/**
 * Batch gather against its float64 reference (gatherReference): u8 and f32 datasets split
 * over 1 to 4 buffers, rows through a permutation with repeats, partial last batches,
 * labels in every source/out combination.
 *
 * Tolerances:
 * - u8 with scale 1, f32 with scale 1 or a power of two: the f32 result is what float64
 *   rounds to (the product is exact, at most one rounding follows): EXACT.
 * - u8 · (1/255): the GPU multiplies by fround(1/255), which differs from 1/255 by at most
 *   2^-24 relative, and rounds once; the reference rounds the exact x/255 once. The two
 *   roundings of values at most 2^-24 apart land at most 1 ULP apart: 1 ULP. Against
 *   fround(x · fround(1/255)) (exact in float64: 8 bits times 24) it must be EXACT, since
 *   WGSL requires f32 multiplication to be correctly rounded.
 * - u8 · (2/255) − 1: as above for the product (≤ 2 · 2^-24 · |x·s|, |x·s| ≤ 2), plus one
 *   rounding of the subtraction and one of the reference (2^-24 each, results in [−1, 1]):
 *   atol 3 · 2^-23.
 * - Labels are integers or copies: EXACT; error counts exact.
 */
import { tensor, type Engine, type Tensor } from '../../src/index.js';
import {
  encodeAdvanceCursor,
  encodeGatherBatch,
  encodeGatherLabels,
  gatherReference,
  INVALID_CLASS,
  type GatherSpec,
} from '../../src/kernels/gather.js';
import { EXACT, expectClose, expectError, expectEqual, rng, uniformF32 } from '../harness.js';
import type { KernelCase } from './types.js';

/** Read at call time: in Node the GPUBufferUsage global exists once Dawn is loaded. */
function usage(): GPUBufferUsageFlags {
  return GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
}

/** The dataset [rows, features] cut into tensors of rowsPerPart rows (u8 packed by tensor()). */
function makeParts(
  engine: Engine,
  data: Uint8Array | Float32Array,
  features: number,
  rowsPerPart: number,
): Tensor[] {
  const rows = data.length / features;
  const parts: Tensor[] = [];
  for (let start = 0; start < rows; start += rowsPerPart) {
    const end = Math.min(rows, start + rowsPerPart);
    const slice = data.subarray(start * features, end * features);
    const dtype = data instanceof Uint8Array ? 'u8' : 'f32';
    parts.push(tensor(slice, [end - start, features], dtype, { engine, label: `part ${parts.length}` }));
  }
  return parts;
}

function u32Buffer(engine: Engine, values: ArrayLike<number>, label: string): GPUBuffer {
  return engine.createBufferWithData(Uint32Array.from(values), usage(), label);
}

function emptyBuffer(engine: Engine, bytes: number, label: string): GPUBuffer {
  return engine.createBuffer({ size: bytes, usage: usage(), label });
}

async function readF32(engine: Engine, b: GPUBuffer, n: number): Promise<Float32Array> {
  return new Float32Array(await engine.read(b, n * 4, b.label));
}

async function readU32(engine: Engine, b: GPUBuffer, n: number): Promise<Uint32Array> {
  return new Uint32Array(await engine.read(b, n * 4, b.label));
}

/** A random permutation of 0..n-1 (Fisher–Yates on the seeded generator). */
function permutation(n: number, seed: number): Uint32Array {
  const r = rng(seed);
  const p = Uint32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    const t = p[i] ?? 0;
    p[i] = p[j] ?? 0;
    p[j] = t;
  }
  return p;
}

/** The spacing of f32 values at |v| (the gap to the next larger magnitude). */
function ulp32(v: number): number {
  const f = new Float32Array([Math.abs(v)]);
  const bits = new Uint32Array(f.buffer);
  const a = f[0] ?? 0;
  bits[0] = (bits[0] ?? 0) + 1;
  return (f[0] ?? 0) - a;
}

function expectWithinUlps(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  ulps: number,
  what: string,
) {
  expectEqual(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i] ?? NaN;
    const e = expected[i] ?? NaN;
    const atol = ulps * ulp32(e);
    if (!(Math.abs(a - e) <= atol))
      expectClose([a], [e], { atol, rtol: 0 }, `${what} (element ${i}, ${ulps} ULP)`);
  }
}

const imageCases: KernelCase[] = [
  {
    name: 'gather u8 rows of 784 through a permutation, scaled by 1/255 (1 ULP; exact vs f32 math)',
    async run(engine: Engine) {
      const rows = 100;
      const features = 784;
      const r = rng(31);
      const data = Uint8Array.from({ length: rows * features }, (_, i) =>
        i < 2 ? 255 * i : Math.floor(r() * 256),
      );
      const [part, ...rest] = makeParts(engine, data, features, rows);
      if (!part || rest.length) throw new Error('test setup: expected one part');
      const perm = permutation(rows, 32);
      const permBuf = u32Buffer(engine, perm, 'perm');
      const start = 10;
      const cursor = u32Buffer(engine, [start], 'cursor');
      const batch = 32;
      const out = emptyBuffer(engine, batch * features * 4, 'batch');
      const spec: GatherSpec = { batch, features, source: 'u8', scale: 1 / 255, rowsPerPart: rows };
      encodeGatherBatch(engine, spec, { parts: [part.buffer], perm: permBuf, permLength: rows, cursor, out });
      const got = await readF32(engine, out, batch * features);
      const ref = gatherReference(spec, { x: data }, perm, start);
      expectWithinUlps(got, ref.x, 1, 'u8 / 255 against fround(x / 255)');
      const s32 = Math.fround(1 / 255);
      const f32Math = new Float64Array(batch * features);
      for (let i = 0; i < batch; i++) {
        const row = perm[start + i] ?? 0;
        for (let f = 0; f < features; f++)
          f32Math[i * features + f] = Math.fround((data[row * features + f] ?? 0) * s32);
      }
      expectClose(got, f32Math, EXACT, 'u8 · fround(1/255) against fround of the exact product');
      part.dispose();
      for (const b of [permBuf, cursor, out]) engine.releaseBuffer(b);
    },
  },
  {
    name: 'gather u8 rows of 3, 5 and 1 features over 1 to 4 parts: repeats, partial last batch, rows out of range',
    async run(engine: Engine) {
      const rows = 17;
      // Repeats, two entries past the dataset (99, 17: zero rows), 11 entries in all.
      const perm = [16, 3, 3, 0, 9, 99, 5, 4, 14, 17, 15];
      const batch = 4;
      for (const features of [3, 5, 1]) {
        const r = rng(40 + features);
        const data = Uint8Array.from({ length: rows * features }, () => Math.floor(r() * 256));
        for (const rowsPerPart of [5, 6, 9, 17]) {
          const parts = makeParts(engine, data, features, rowsPerPart);
          const permBuf = u32Buffer(engine, perm, 'perm');
          const out = emptyBuffer(engine, batch * features * 4, 'batch');
          // Starts 0, 4, 8 (3 real rows + 1 zero row), 11 (all zeros), 12 (past the end).
          for (const start of [0, 4, 8, 11, 12]) {
            const cursor = u32Buffer(engine, [start], 'cursor');
            for (const [scale, offset] of [
              [1, 0],
              [2 / 255, -1],
            ] as const) {
              const spec: GatherSpec = { batch, features, source: 'u8', scale, offset, rowsPerPart, rows };
              const b = {
                parts: parts.map((p) => p.buffer),
                perm: permBuf,
                permLength: perm.length,
                cursor,
                out,
              };
              encodeGatherBatch(engine, spec, b);
              const got = await readF32(engine, out, batch * features);
              const ref = gatherReference(spec, { x: data }, perm, start);
              const tol = scale === 1 ? EXACT : { atol: 3 * 2 ** -23, rtol: 0 };
              expectClose(
                got,
                ref.x,
                tol,
                `features ${features}, ${parts.length} part(s), start ${start}, scale ${scale}`,
              );
            }
            engine.releaseBuffer(cursor);
          }
          for (const p of parts) p.dispose();
          for (const b of [permBuf, out]) engine.releaseBuffer(b);
        }
      }
    },
  },
  {
    name: 'gather f32 rows over 3 parts: exact copies and power-of-two affine, NaN and Inf pass through',
    async run(engine: Engine) {
      const rows = 13;
      const features = 5;
      const data = uniformF32(rows * features, -4, 4, 77);
      data[7] = NaN;
      data[12] = Infinity;
      data[33] = -Infinity;
      const parts = makeParts(engine, data, features, 5);
      expectEqual(parts.length, 3, 'parts');
      const perm = [1, 12, 6, 6, 10, 2, 7, 0, 11];
      const permBuf = u32Buffer(engine, perm, 'perm');
      const cursor = u32Buffer(engine, [2], 'cursor');
      const batch = 8; // rows 2..8 of perm are real, the last is past the end
      const out = emptyBuffer(engine, batch * features * 4, 'batch');
      for (const [scale, offset] of [
        [1, 0],
        [0.5, 0.25],
        [-4, 0],
      ] as const) {
        const spec: GatherSpec = { batch, features, source: 'f32', scale, offset, rowsPerPart: 5, rows };
        const b = { parts: parts.map((p) => p.buffer), perm: permBuf, permLength: perm.length, cursor, out };
        encodeGatherBatch(engine, spec, b);
        const ref = gatherReference(spec, { x: data }, perm, 2);
        expectClose(await readF32(engine, out, batch * features), ref.x, EXACT, `f32 · ${scale} + ${offset}`);
      }
      for (const p of parts) p.dispose();
      for (const b of [permBuf, cursor, out]) engine.releaseBuffer(b);
    },
  },
  {
    name: 'gather cursor advanced on the GPU walks an epoch batch by batch',
    async run(engine: Engine) {
      const rows = 30;
      const features = 6;
      const r = rng(90);
      const data = Uint8Array.from({ length: rows * features }, () => Math.floor(r() * 256));
      const labels = Uint8Array.from({ length: rows }, () => Math.floor(r() * 10));
      const parts = makeParts(engine, data, features, 8);
      const labelTensor = tensor(labels, [rows], 'u8', { engine });
      const perm = permutation(rows, 91);
      const permBuf = u32Buffer(engine, perm, 'perm');
      const cursor = u32Buffer(engine, [0], 'cursor');
      const batch = 8;
      const spec: GatherSpec = {
        batch,
        features,
        source: 'u8',
        scale: 1,
        rowsPerPart: 8,
        labels: { source: 'u8', width: 1, out: 'u32' },
      };
      // Four steps encoded back to back; only the GPU moves the cursor between them.
      const outs: GPUBuffer[] = [];
      const labelOuts: GPUBuffer[] = [];
      for (let step = 0; step < 4; step++) {
        const out = emptyBuffer(engine, batch * features * 4, `batch ${step}`);
        const labelsOut = emptyBuffer(engine, batch * 4, `labels ${step}`);
        encodeGatherBatch(engine, spec, {
          parts: parts.map((p) => p.buffer),
          perm: permBuf,
          permLength: rows,
          cursor,
          out,
          labelSource: labelTensor.buffer,
          labelsOut,
        });
        encodeAdvanceCursor(engine, cursor, batch);
        outs.push(out);
        labelOuts.push(labelsOut);
      }
      for (let step = 0; step < 4; step++) {
        const ref = gatherReference(spec, { x: data, labels }, perm, step * batch);
        const out = outs[step];
        const labelsOut = labelOuts[step];
        if (!out || !labelsOut || !ref.labels) throw new Error('test setup');
        expectClose(await readF32(engine, out, batch * features), ref.x, EXACT, `step ${step} rows`);
        expectClose(await readU32(engine, labelsOut, batch), ref.labels, EXACT, `step ${step} labels`);
      }
      expectClose(await readU32(engine, cursor, 1), [4 * batch], EXACT, 'cursor after 4 steps');
      for (const p of [...parts, labelTensor]) p.dispose();
      for (const b of [permBuf, cursor, ...outs, ...labelOuts]) engine.releaseBuffer(b);
    },
  },
];

const labelCases: KernelCase[] = [
  {
    name: 'gather labels: u8/u32/i32/f32 sources to u32, f32 and one-hot, invalid labels counted',
    async run(engine: Engine) {
      const rows = 17;
      const features = 2;
      const x = uniformF32(rows * features, 0, 1, 5);
      const xPart = tensor(x, [rows, features], 'f32', { engine });
      // Gathered rows include 3, 7 and 9 (bad labels below), 3 twice; 6 real rows + 2 past the end.
      const perm = [3, 0, 7, 3, 9, 16];
      const permBuf = u32Buffer(engine, perm, 'perm');
      const cursor = u32Buffer(engine, [0], 'cursor');
      const batch = 8;
      const out = emptyBuffer(engine, batch * features * 4, 'batch');
      const r = rng(6);
      const classes = 10;
      const ints = Array.from({ length: rows }, () => Math.floor(r() * classes));
      const i32 = Int32Array.from(ints);
      i32[3] = -1;
      i32[7] = 10;
      i32[9] = 12;
      i32[16] = -5; // not 0xffffffff as a bit pattern: every negative is INVALID_CLASS
      const u32 = Uint32Array.from(ints);
      u32[3] = 0xffffffff;
      u32[7] = 10;
      const f32 = Float32Array.from(ints);
      f32[3] = 2.5;
      f32[7] = -1;
      f32[9] = NaN;
      const u8 = Uint8Array.from(ints);
      u8[9] = 200;
      const wide = uniformF32(rows * 3, -1, 1, 8); // f32 regression targets, width 3
      const wideU8 = Uint8Array.from({ length: rows * 2 }, () => Math.floor(r() * 256)); // width 2, odd packing

      const runs: {
        name: string;
        labels: NonNullable<GatherSpec['labels']>;
        src: Tensor;
        data: ArrayLike<number>;
        /** Leave labelErrors out (the shader variant without that binding). */
        uncounted?: boolean;
      }[] = [
        {
          name: 'i32 -> u32',
          labels: { source: 'i32', width: 1, out: 'u32', classes },
          src: tensor(i32, [rows], 'i32', { engine }),
          data: i32,
        },
        {
          name: 'i32 -> onehot',
          labels: { source: 'i32', width: 1, out: 'onehot', classes },
          src: tensor(i32, [rows], 'i32', { engine }),
          data: i32,
        },
        {
          name: 'u32 -> onehot',
          labels: { source: 'u32', width: 1, out: 'onehot', classes },
          src: tensor(u32, [rows], 'u32', { engine }),
          data: u32,
        },
        {
          name: 'u32 -> u32 (no classes)',
          labels: { source: 'u32', width: 1, out: 'u32' },
          src: tensor(u32, [rows], 'u32', { engine }),
          data: u32,
        },
        {
          name: 'f32 -> u32',
          labels: { source: 'f32', width: 1, out: 'u32', classes },
          src: tensor(f32, [rows], 'f32', { engine }),
          data: f32,
        },
        {
          name: 'f32 -> onehot',
          labels: { source: 'f32', width: 1, out: 'onehot', classes },
          src: tensor(f32, [rows], 'f32', { engine }),
          data: f32,
        },
        {
          name: 'u8 -> onehot',
          labels: { source: 'u8', width: 1, out: 'onehot', classes },
          src: tensor(u8, [rows], 'u8', { engine }),
          data: u8,
        },
        {
          name: 'u8 -> f32',
          labels: { source: 'u8', width: 1, out: 'f32' },
          src: tensor(u8, [rows], 'u8', { engine }),
          data: u8,
        },
        {
          name: 'i32 -> f32',
          labels: { source: 'i32', width: 1, out: 'f32' },
          src: tensor(i32, [rows], 'i32', { engine }),
          data: i32,
        },
        {
          name: 'f32 width 3 -> f32',
          labels: { source: 'f32', width: 3, out: 'f32' },
          src: tensor(wide, [rows, 3], 'f32', { engine }),
          data: wide,
        },
        {
          name: 'u32 -> f32',
          labels: { source: 'u32', width: 1, out: 'f32' },
          src: tensor(u32, [rows], 'u32', { engine }),
          data: u32,
        },
        {
          name: 'i32 -> onehot, uncounted',
          labels: { source: 'i32', width: 1, out: 'onehot', classes },
          src: tensor(i32, [rows], 'i32', { engine }),
          data: i32,
          uncounted: true,
        },
        {
          name: 'f32 -> u32, uncounted',
          labels: { source: 'f32', width: 1, out: 'u32', classes },
          src: tensor(f32, [rows], 'f32', { engine }),
          data: f32,
          uncounted: true,
        },
        {
          name: 'u8 width 2 -> u32',
          labels: { source: 'u8', width: 2, out: 'u32' },
          src: tensor(wideU8, [rows, 2], 'u8', { engine }),
          data: wideU8,
        },
      ];
      for (const [runIndex, run] of runs.entries()) {
        const spec: GatherSpec = {
          batch,
          features,
          source: 'f32',
          scale: 1,
          rowsPerPart: rows,
          labels: run.labels,
        };
        const perRow = run.labels.out === 'onehot' ? classes : run.labels.width;
        const labelsOut = emptyBuffer(engine, batch * perRow * 4, 'labels out');
        const withErrors = run.labels.out !== 'f32' && !run.uncounted;
        const labelErrors = withErrors ? u32Buffer(engine, [5], 'label errors') : undefined;
        const before = engine.stats().dispatches;
        encodeGatherBatch(engine, spec, {
          parts: [xPart.buffer],
          perm: permBuf,
          permLength: perm.length,
          cursor,
          out,
          labelSource: run.src.buffer,
          labelsOut,
          labelErrors,
        });
        // One part: the rows and their labels in one dispatch.
        expectEqual(engine.stats().dispatches - before, 1, `dispatches ${run.name}`);
        const ref = gatherReference(spec, { x, labels: run.data }, perm, 0);
        if (!ref.labels) throw new Error('test setup: no reference labels');
        expectClose(await readF32(engine, out, batch * features), ref.x, EXACT, `rows beside ${run.name}`);
        const got =
          run.labels.out === 'u32'
            ? await readU32(engine, labelsOut, batch * perRow)
            : await readF32(engine, labelsOut, batch * perRow);
        expectClose(got, ref.labels, EXACT, `labels ${run.name}`);
        if (labelErrors) {
          expectClose(
            await readU32(engine, labelErrors, 1),
            [5 + ref.labelErrors],
            EXACT,
            `label errors ${run.name}`,
          );
          engine.releaseBuffer(labelErrors);
        }
        if (runIndex % 3 === 0) {
          // The labels alone (a model's second target): the label shader by itself.
          const alone = emptyBuffer(engine, batch * perRow * 4, 'labels alone');
          encodeGatherLabels(
            engine,
            { batch, rows, labels: run.labels },
            { perm: permBuf, permLength: perm.length, cursor, labelSource: run.src.buffer, labelsOut: alone },
          );
          const gotAlone =
            run.labels.out === 'u32'
              ? await readU32(engine, alone, batch * perRow)
              : await readF32(engine, alone, batch * perRow);
          expectClose(gotAlone, ref.labels, EXACT, `labels alone ${run.name}`);
          engine.releaseBuffer(alone);
        }
        engine.releaseBuffer(labelsOut);
        run.src.dispose();
      }
      // The reference's rules, checked by hand for i32 -> u32: rows 3 (-1), 7 (10 ≥ classes),
      // 3 again, 9 (12) and 16 (-5) are bad; negatives become INVALID_CLASS, 10 and 12 stay.
      const check = gatherReference(
        { batch, features, source: 'f32', scale: 1, rowsPerPart: rows, labels: runs[0]?.labels },
        { x, labels: i32 },
        perm,
        0,
      );
      expectClose(
        check.labels ?? [],
        [INVALID_CLASS, ints[0] ?? 0, 10, INVALID_CLASS, 12, INVALID_CLASS, 0, 0],
        EXACT,
        'reference i32 -> u32',
      );
      expectEqual(check.labelErrors, 5, 'reference error count');
      xPart.dispose();
      for (const b of [permBuf, cursor, out]) engine.releaseBuffer(b);
    },
  },
];

const validationCases: KernelCase[] = [
  {
    name: 'gather refuses parts too small, too many parts, bad label specs, naming sizes',
    async run(engine: Engine) {
      const features = 5;
      const good = emptyBuffer(engine, 5 * features, 'part 0'); // 5 rows of 5 u8
      const short = emptyBuffer(engine, 12, 'part 1'); // 12 bytes: 2 rows, not 5
      const perm = u32Buffer(engine, [0, 1, 2], 'perm');
      const cursor = u32Buffer(engine, [0], 'cursor');
      const out = emptyBuffer(engine, 2 * features * 4, 'out');
      const base: GatherSpec = { batch: 2, features, source: 'u8', scale: 1, rowsPerPart: 5 };
      const b = { parts: [good, short, good], perm, permLength: 3, cursor, out };
      await expectError(
        () => encodeGatherBatch(engine, base, b),
        RangeError,
        [/part 1 \("part 1"\) has 12 bytes/, /5 row\(s\) of 5 u8 features need 25/],
        'short middle part',
      );
      await expectError(
        () => encodeGatherBatch(engine, { ...base, rows: 20 }, { ...b, parts: [good, good, good] }),
        RangeError,
        [/20 rows at 5 rows per part need 4 part\(s\); 3 were given/],
        'rows vs parts',
      );
      await expectError(
        () => encodeGatherBatch(engine, base, { ...b, parts: [good, good, good, good, good] }),
        RangeError,
        [/5 dataset parts; 1 to 4/],
        'five parts',
      );
      await expectError(
        () => encodeGatherBatch(engine, { ...base, batch: 3 }, { ...b, parts: [good] }),
        RangeError,
        [/buffer out \("out"\) has 40 bytes/, /\[3, 5\] f32 needs 60/],
        'out too small',
      );
      await expectError(
        () => encodeGatherBatch(engine, { ...base, source: 'f32', rows: 5 }, { ...b, parts: [good] }),
        RangeError,
        [/part 0 \("part 0"\) has 28 bytes/, /of 5 f32 features need 100/],
        'f32 part too small',
      );
      const labelsOut = emptyBuffer(engine, 2 * 4, 'labels out');
      const labelSource = u32Buffer(engine, [0, 1, 2, 0, 1], 'label source');
      const withLabels = { ...b, parts: [good], labelSource, labelsOut };
      await expectError(
        () =>
          encodeGatherBatch(
            engine,
            { ...base, labels: { source: 'u32', width: 1, out: 'onehot' } },
            withLabels,
          ),
        RangeError,
        [/one-hot needs classes/],
        'one-hot without classes',
      );
      await expectError(
        () =>
          encodeGatherBatch(
            engine,
            { ...base, labels: { source: 'u32', width: 2, out: 'onehot', classes: 3 } },
            withLabels,
          ),
        RangeError,
        [/one-hot needs width 1, got 2/],
        'one-hot of width 2',
      );
      await expectError(
        () =>
          encodeGatherBatch(
            engine,
            { ...base, labels: { source: 'u32', width: 1, out: 'onehot', classes: 3 } },
            withLabels,
          ),
        RangeError,
        [/labelsOut \("labels out"\) has 8 bytes/, /\[2, 3\] f32 needs 24/],
        'one-hot output too small',
      );
      await expectError(
        () =>
          encodeGatherBatch(
            engine,
            { ...base, labels: { source: 'u32', width: 1, out: 'u32' } },
            { ...b, parts: [good] },
          ),
        TypeError,
        [/needs labelSource and labelsOut/],
        'labels without buffers',
      );
      for (const u of [good, short, perm, cursor, out, labelsOut, labelSource]) engine.releaseBuffer(u);
    },
  },
];

export const cases: KernelCase[] = [...imageCases, ...labelCases, ...validationCases];
