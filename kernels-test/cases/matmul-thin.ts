/**
 * The thin matmul kernel (shaders/matmul-thin.ts: C of at most THIN_MAX_M = 8 rows, and on a
 * CPU adapter taller products in row blocks) against the float64 reference: shapes around
 * the vec4 and scalar paths, A stored transposed, the epilogues, accumulate, the
 * activation-gradient epilogue, its geometries (one k-slice, the CPU adapters' default;
 * several slices reduced in workgroup memory, a GPU's default; fewer threads than outputs),
 * row blocks (whole and a shorter last one, through every path), NaN propagation, slices of
 * larger buffers, the dispatch's label and declared work, the choice between the thin and the
 * tiled kernel, and validation.
 *
 * Tolerances are ./matmul.ts's (see its header): each element of the product within
 * γ_(k+1)·(|A|·|B| + |bias| + |C0|), whatever the summation order (the k-slices change it);
 * the activation epilogue within L·bound + the WGSL function's own error; the gradient
 * epilogue C = P ⊙ f'(S) within |f'|·bound + |P|·own + u·|P̂·ĝ|, with own the WGSL
 * derivative's error as derived there: relu'(y) 0, tanh'(y) 4u, gelu'(x)
 * 4e-7 + 2u + (5 + 1.5x²)·2^-23·|x·φ(x)|.
 */
import type { Engine } from '../../src/index.js';
import { BufferSlice } from '../../src/gpu/engine.js';
import {
  encodeMatmul,
  matmulKernelFor,
  matmulReference,
  matmulThinTiling,
  matmulTiling,
  matmulWork,
  THIN_MAX_M,
  thinBlockRows,
  type MatmulSpec,
  type MatmulThinTiling,
} from '../../src/kernels/matmul.js';
import { activationReference, type ActivationSpec } from '../../src/kernels/activations.js';
import { expectEqual, expectError, KernelMismatchError, uniformF32 } from '../harness.js';
import type { KernelCase } from './types.js';
import {
  type Problem,
  type Variant,
  SENTINEL,
  STORAGE,
  TAIL,
  U,
  check,
  describe,
  expectTail,
  expectWithin,
  problem,
  productBound,
  runGpu,
  specFor,
} from './matmul.js';

type Shape = [number, number, number];

/** Throws unless encodeMatmul would run the thin kernel for `spec`. */
function expectThin(spec: MatmulSpec): void {
  expectEqual(matmulKernelFor(spec), 'thin', `kernel for ${describe(spec)}`);
}

// ------------------------------------------------------------ shapes

const N_ALL = [1, 3, 10, 64, 130];
const K_ALL = [1, 5, 784];
const grid = (m: number): Shape[] => N_ALL.flatMap((n) => K_ALL.map((k): Shape => [m, n, k]));

/**
 * m = 1 and 4 over every n and k (n 1, 3, 10, 130: scalar C and, in NN, scalar B; 64: vec4;
 * k 1, 5: scalar A, a partial last k-quad; 784: vec4, many k-quads); the other m over one
 * shape of each kind. Shaders compile slowly on SwiftShader (one per m and path), hence not
 * the full grid for every m.
 */
const THIN_SHAPES: Shape[] = [
  ...grid(1),
  [2, 10, 784],
  [2, 64, 5],
  [3, 64, 784],
  [3, 130, 1],
  ...grid(4),
  [8, 10, 5],
  [8, 64, 784],
];

const shapeCases: KernelCase[] = (['NN', 'NT'] as const).map((v, vi) => ({
  name: `matmul thin ${v}: m 1–4 and 8 × n {${N_ALL.join(', ')}} × k {${K_ALL.join(', ')}} against float64 with the γ_(k+1)·|A|·|B| bound`,
  async run(engine: Engine) {
    for (const [si, shape] of THIN_SHAPES.entries()) {
      const spec = specFor(v, shape);
      expectThin(spec);
      await check(engine, problem(spec, 90000 + 1000 * vi + 10 * si));
    }
  },
}));

/** A stored [k, m] (the weight gradient Xᵀ·dY of a layer with at most 8 inputs). */
const TRANS_A_RUNS: [Variant, Shape][] = [
  ['TN', [1, 64, 784]],
  ['TN', [4, 10, 5]],
  ['TN', [8, 130, 784]],
  ['TT', [3, 64, 5]],
  ['TT', [4, 3, 784]],
];

const transACases: KernelCase[] = [
  {
    name: `matmul thin TN, TT (A stored [k, m]): ${TRANS_A_RUNS.map(([v, s]) => `${v} ${s.join('x')}`).join(', ')} against float64`,
    async run(engine: Engine) {
      for (const [ri, [v, shape]] of TRANS_A_RUNS.entries()) {
        const spec = specFor(v, shape);
        expectThin(spec);
        await check(engine, problem(spec, 92000 + 10 * ri));
      }
    },
  },
];

// ------------------------------------------------------------ epilogues

const EPILOGUES: { label: string; extra: Partial<MatmulSpec>; runs: [Variant, Shape][] }[] = [
  {
    label: 'bias+relu',
    extra: { bias: true, activation: { name: 'relu' } },
    runs: [
      ['NN', [1, 64, 784]],
      ['NT', [3, 10, 784]],
    ],
  },
  {
    label: 'bias+tanh',
    extra: { bias: true, activation: { name: 'tanh' } },
    runs: [
      ['NN', [2, 130, 5]],
      ['NT', [8, 64, 784]],
    ],
  },
  {
    label: 'bias+gelu+pre',
    extra: { bias: true, activation: { name: 'gelu' }, writePreActivation: true },
    runs: [
      ['NN', [4, 130, 5]],
      ['NT', [1, 64, 784]],
    ],
  },
  {
    label: 'relu+pre',
    extra: { activation: { name: 'relu' }, writePreActivation: true },
    runs: [
      ['NN', [8, 64, 784]],
      ['NT', [4, 10, 5]],
    ],
  },
  {
    label: 'accumulate',
    extra: { accumulate: true },
    runs: [
      ['NN', [2, 64, 784]],
      ['NT', [4, 10, 5]],
      ['TN', [4, 64, 784]],
    ],
  },
];

const epilogueCases: KernelCase[] = EPILOGUES.map(({ label, extra, runs }, ei) => ({
  name: `matmul thin epilogue ${label}: ${runs.map(([v, s]) => `${v} ${s.join('x')}`).join(', ')} against float64 and activationReference`,
  async run(engine: Engine) {
    for (const [ri, [v, shape]] of runs.entries()) {
      const spec = specFor(v, shape, extra);
      expectThin(spec);
      await check(engine, problem(spec, 93000 + 1000 * ei + 10 * ri));
    }
  },
}));

// ------------------------------------------------------------ activation-gradient epilogue

type OwnError = (x: number, g: number) => number;
const gaussPdf = (x: number): number => Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);
/** The WGSL derivative's absolute error at x with f'(x) = g (see the top of the file). */
const DACT_OWN: Record<'relu' | 'tanh' | 'gelu', OwnError> = {
  relu: () => 0,
  tanh: () => 4 * U,
  gelu: (x) => 4e-7 + 2 * U + (5 + 1.5 * x * x) * 2 ** -23 * Math.abs(x * gaussPdf(x)),
};

/** A gradActivation problem: A, B as problem() makes them, x in [−3, 3], and S from x. */
function dactProblem(
  v: Variant,
  shape: Shape,
  name: 'relu' | 'tanh' | 'gelu',
  from: 'x' | 'y',
  seed: number,
): { p: Problem; x: Float32Array; own: OwnError } {
  const activation: ActivationSpec = { name };
  const spec = specFor(v, shape, { gradActivation: { activation, from } });
  const x = uniformF32(spec.m * spec.n, -3, 3, seed + 4);
  const s = from === 'x' ? x : Float32Array.from(x, activationReference(activation).f);
  return { p: { ...problem(spec, seed), s }, x, own: DACT_OWN[name] };
}

/** Runs a gradActivation problem; checks C against P_exact ⊙ f'(x); returns C. */
async function checkDact(
  engine: Engine,
  { p, x, own }: { p: Problem; x: Float32Array; own: OwnError },
  tiling?: MatmulThinTiling,
): Promise<Float32Array> {
  const g = p.spec.gradActivation;
  if (!g) throw new Error(`${describe(p.spec)}: not a gradActivation problem`);
  const what = `${describe(p.spec)}${tiling ? ` tiling ${JSON.stringify(tiling)}` : ''}`;
  const got = (await runGpu(engine, p, tiling)).c;
  const mn = p.spec.m * p.spec.n;
  expectTail(got, mn, `${what} C`);
  const c = got.subarray(0, mn);
  const z = matmulReference(p.spec, p.a, p.b, undefined, undefined, p.s).preActivation;
  const bound = productBound(p);
  const df = activationReference(g.activation).df;
  const expected = new Float64Array(mn);
  const allowed = new Float64Array(mn);
  for (let i = 0; i < mn; i++) {
    const P = z[i] ?? NaN;
    const d = df(x[i] ?? NaN);
    const b = bound[i] ?? NaN;
    const e = own(x[i] ?? NaN, d);
    expected[i] = P * d;
    allowed[i] = b * (Math.abs(d) + e) + Math.abs(P) * e + U * (Math.abs(P) + b) * (Math.abs(d) + e);
  }
  expectWithin(c, expected, allowed, `${what} C = A·B ⊙ f'(x) against float64`);
  return c;
}

const DACT_RUNS: [Variant, Shape, 'relu' | 'tanh' | 'gelu', 'x' | 'y'][] = [
  ['NN', [4, 130, 784], 'relu', 'y'],
  ['NT', [1, 3, 1], 'relu', 'y'],
  ['NT', [2, 64, 5], 'tanh', 'y'],
  ['NN', [8, 10, 784], 'gelu', 'x'],
];

const dactCases: KernelCase[] = [
  {
    name: `matmul thin dact: ${DACT_RUNS.map(([v, s, f, from]) => `${f}'(${from}) ${v} ${s.join('x')}`).join(', ')} against float64 A·B ⊙ df(x)`,
    async run(engine: Engine) {
      for (const [ri, [v, shape, name, from]] of DACT_RUNS.entries()) {
        const d = dactProblem(v, shape, name, from, 94000 + 10 * ri);
        expectThin(d.p.spec);
        await checkDact(engine, d);
      }
    },
  },
];

// ------------------------------------------------------------ geometries

/**
 * Other geometries than the adapter's default: a GPU's (k split into slices reduced in
 * workgroup memory: 8 quads × 8 slices for a wide C, 4 × 16 for n = 10, 1 × 64 for n ≤ 4),
 * 2 quads × 3 slices (fewer threads than the 8·2 outputs of a workgroup; k's last quad on
 * slice k_full mod 3 ≠ 0), and one thread per workgroup. Every epilogue kind goes through the
 * reduction.
 */
const GEOMETRY_RUNS: {
  tiling: MatmulThinTiling | 'gpu';
  v: Variant;
  shape: Shape;
  extra: Partial<MatmulSpec>;
}[] = [
  { tiling: 'gpu', v: 'NN', shape: [4, 130, 784], extra: { bias: true, activation: { name: 'relu' } } },
  { tiling: 'gpu', v: 'NT', shape: [8, 10, 5], extra: { accumulate: true } },
  { tiling: 'gpu', v: 'NT', shape: [2, 64, 784], extra: { writePreActivation: true } },
  { tiling: 'gpu', v: 'TN', shape: [3, 3, 784], extra: {} },
  {
    tiling: { quads: 2, slices: 3 },
    v: 'NN',
    shape: [8, 64, 784],
    extra: { bias: true, activation: { name: 'gelu' }, writePreActivation: true },
  },
  { tiling: { quads: 2, slices: 3 }, v: 'NT', shape: [3, 10, 5], extra: { bias: true } },
  { tiling: { quads: 1, slices: 1 }, v: 'NN', shape: [2, 10, 5], extra: { accumulate: true } },
];

const geometryCases: KernelCase[] = [
  {
    name: 'matmul thin geometries: a GPU default (k-slices reduced in workgroup memory), 2 quads × 3 slices, one thread, with every epilogue',
    async run(engine: Engine) {
      expectEqual(
        JSON.stringify(matmulThinTiling(specFor('NN', [4, 130, 784]), false)),
        JSON.stringify({ quads: 8, slices: 8 }),
        'GPU geometry for n = 130',
      );
      expectEqual(
        JSON.stringify(matmulThinTiling(specFor('NT', [8, 10, 5]), false)),
        JSON.stringify({ quads: 4, slices: 16 }),
        'GPU geometry for n = 10',
      );
      expectEqual(
        JSON.stringify(matmulThinTiling(specFor('TN', [3, 3, 784]), false)),
        JSON.stringify({ quads: 1, slices: 64 }),
        'GPU geometry for n = 3',
      );
      for (const [ri, { tiling, v, shape, extra }] of GEOMETRY_RUNS.entries()) {
        const spec = specFor(v, shape, extra);
        await check(
          engine,
          problem(spec, 95000 + 10 * ri),
          tiling === 'gpu' ? matmulThinTiling(spec, false) : tiling,
        );
      }
      // The gradient epilogue through the reduction, and with one thread per workgroup.
      for (const [ri, [v, shape, name, from]] of DACT_RUNS.slice(0, 3).entries()) {
        const d = dactProblem(v, shape, name, from, 95500 + 10 * ri);
        await checkDact(engine, d, ri === 2 ? { quads: 1, slices: 1 } : matmulThinTiling(d.p.spec, false));
      }
    },
  },
];

// ------------------------------------------------------------ row blocks

/** The CPU adapters' geometry, whatever this engine's profile. */
const CPU_THIN: MatmulThinTiling = matmulThinTiling({ m: 1, n: 1, k: 1 }, true);

/**
 * C taller than 8 rows in row blocks of thinBlockRows(m): 9 (5 + 4), 16 (8 + 8), 20 (7 + 7
 * + 6), 32 (4 × 8), 130 (16 × 8 + 2). Each variant, vec4 and scalar operands, a partial last
 * k-quad, every epilogue kind, the CPU geometry and a GPU's (the blocks' partial sums
 * through workgroup memory).
 */
const ROW_BLOCK_RUNS: {
  v: Variant;
  shape: Shape;
  extra: Partial<MatmulSpec>;
  gpu?: boolean;
}[] = [
  { v: 'NN', shape: [9, 64, 784], extra: {} },
  { v: 'NN', shape: [32, 10, 5], extra: {} },
  { v: 'NT', shape: [20, 64, 784], extra: {} },
  { v: 'NT', shape: [130, 130, 5], extra: {} },
  { v: 'TN', shape: [16, 64, 784], extra: {} },
  { v: 'TT', shape: [20, 3, 5], extra: {} },
  {
    v: 'NN',
    shape: [32, 130, 784],
    extra: { bias: true, activation: { name: 'gelu' }, writePreActivation: true },
  },
  { v: 'NT', shape: [20, 64, 5], extra: { accumulate: true } },
  { v: 'NN', shape: [9, 10, 784], extra: { bias: true, activation: { name: 'relu' } }, gpu: true },
  { v: 'NT', shape: [130, 64, 784], extra: { accumulate: true }, gpu: true },
];

const DACT_BLOCK_RUNS: [Variant, Shape, 'relu' | 'tanh' | 'gelu', 'x' | 'y', boolean][] = [
  ['NT', [130, 64, 784], 'relu', 'y', true],
  ['NN', [20, 130, 5], 'tanh', 'y', false],
];

const rowBlockCases: KernelCase[] = [
  {
    name: `matmul thin row blocks: ${ROW_BLOCK_RUNS.map(({ v, shape }) => `${v} ${shape.join('x')}`).join(', ')}, with epilogues, the gradient epilogue and a GPU geometry, against float64`,
    async run(engine: Engine) {
      const blocks = [1, 5, 8, 9, 16, 20, 32, 130].map(thinBlockRows);
      expectEqual(blocks.join(' '), '1 5 8 5 8 7 8 8', 'rows of a block for m = 1, 5, 8, 9, 16, 20, 32, 130');
      for (const [ri, { v, shape, extra, gpu }] of ROW_BLOCK_RUNS.entries()) {
        const spec = specFor(v, shape, extra);
        await check(engine, problem(spec, 95800 + 10 * ri), gpu ? matmulThinTiling(spec, false) : CPU_THIN);
      }
      for (const [ri, [v, shape, name, from, gpu]] of DACT_BLOCK_RUNS.entries()) {
        const d = dactProblem(v, shape, name, from, 95900 + 10 * ri);
        await checkDact(engine, d, gpu ? matmulThinTiling(d.p.spec, false) : CPU_THIN);
      }
    },
  },
];

// ------------------------------------------------------------ NaN

const nanCases: KernelCase[] = [
  {
    name: 'matmul thin NaN: a NaN in A, B, bias, C0 or S gives NaN in exactly the rows/columns it touches, even where relu′ is 0',
    async run(engine: Engine) {
      const col = 7;
      const depth = 3; // in the partial last k-quad when k = 5
      const runs: [Variant, Shape, MatmulThinTiling | undefined][] = [
        ['NN', [4, 64, 784], undefined],
        ['NT', [3, 10, 5], undefined],
        ['NN', [4, 64, 784], matmulThinTiling(specFor('NN', [4, 64, 784]), false)],
        // Row blocks of 7, 7 and 6 rows: the NaN row is in the second block.
        ['NN', [20, 64, 784], CPU_THIN],
      ];
      for (const [v, shape, tiling] of runs) {
        const [m, n, k] = shape;
        const row = m > THIN_MAX_M ? 9 : 1;
        for (const where of ['A', 'B', 'bias', 'C0'] as const) {
          const extra: Partial<MatmulSpec> =
            where === 'C0' ? { accumulate: true } : { bias: true, activation: { name: 'relu' } };
          const p = problem(specFor(v, shape, extra), 96000);
          if (where === 'A') p.a[row * k + depth] = NaN;
          if (where === 'B') p.b[v === 'NT' ? col * k + depth : depth * n + col] = NaN;
          if (where === 'bias' && p.bias) p.bias[col] = NaN;
          if (where === 'C0' && p.c0) p.c0[row * n + col] = NaN;
          const what = `${describe(p.spec)} NaN in ${where}${tiling ? ` tiling ${JSON.stringify(tiling)}` : ''}`;
          await check(engine, p, tiling);
          const c = (await runGpu(engine, p, tiling)).c;
          for (let i = 0; i < m; i++) {
            for (let j = 0; j < n; j++) {
              const expected =
                where === 'A' ? i === row : where === 'C0' ? i === row && j === col : j === col;
              expectEqual(Number.isNaN(c[i * n + j]), expected, `${what}: C[${i}, ${j}] is NaN`);
            }
          }
        }
      }
      // relu'(y) epilogue: NaN in S, in A (its row crosses inactive units), in B.
      for (const [v, shape] of [
        ['NN', [4, 130, 784]],
        ['NT', [2, 64, 5]],
      ] as [Variant, Shape][]) {
        const [m, n, k] = shape;
        const row = 1;
        for (const where of ['S', 'A', 'B'] as const) {
          const d = dactProblem(v, shape, 'relu', 'y', 96500);
          const s = d.p.s ?? new Float32Array(0);
          if (where === 'S') {
            s[row * n + col] = NaN;
            d.x[row * n + col] = NaN;
          }
          if (where === 'A') d.p.a[row * k + depth] = NaN;
          if (where === 'B') d.p.b[v === 'NT' ? col * k + depth : depth * n + col] = NaN;
          const what = `${describe(d.p.spec)} NaN in ${where}`;
          const line = where === 'A' ? s.subarray(row * n, (row + 1) * n) : s.filter((_, i) => i % n === col);
          if (where !== 'S' && !line.some((y) => y === 0))
            throw new Error(`${what}: no inactive unit on the line`);
          const c = await checkDact(engine, d);
          for (let i = 0; i < m; i++) {
            for (let j = 0; j < n; j++) {
              const nan = where === 'S' ? i === row && j === col : where === 'A' ? i === row : j === col;
              expectEqual(Number.isNaN(c[i * n + j]), nan, `${what}: C[${i}, ${j}] is NaN`);
            }
          }
        }
      }
    },
  },
];

// ------------------------------------------------------------ slices, labels, work

const sliceCases: KernelCase[] = [
  {
    name: 'matmul thin binds A, B, bias, C and the pre-activation as slices at byte 256, records, replays, and labels and sizes its dispatch',
    async run(engine: Engine) {
      const spec = specFor('NN', [2, 64, 784], {
        bias: true,
        activation: { name: 'gelu' },
        writePreActivation: true,
      });
      const { m, n, k } = spec;
      const p = problem(spec, 97000);
      const bias = p.bias ?? new Float32Array(0);
      // 64 floats (256 bytes) before each slice: NaN before the inputs (read by mistake, it
      // would show), the sentinel before and after the outputs (a stray write would change it).
      const input = (data: Float32Array, label: string) => {
        const arena = new Float32Array(64 + data.length + TAIL).fill(NaN);
        arena.set(data, 64);
        const buf = engine.createBufferWithData(arena, STORAGE(), `${label} arena`);
        return { buf, slice: new BufferSlice(buf, 256, 4 * data.length, label) };
      };
      const output = (label: string) => {
        const arena = new Float32Array(64 + m * n + TAIL).fill(SENTINEL);
        const buf = engine.createBufferWithData(arena, STORAGE(), `${label} arena`);
        return { buf, slice: new BufferSlice(buf, 256, 4 * m * n, label), bytes: arena.byteLength };
      };
      const a = input(p.a, 'A slice');
      const b = input(p.b, 'B slice');
      const bs = input(bias, 'bias slice');
      const c = output('C slice');
      const pre = output('pre slice');
      const rec = engine.record('thin step', () =>
        encodeMatmul(
          engine,
          spec,
          { a: a.slice, b: b.slice, c: c.slice, bias: bs.slice, preActivation: pre.slice },
          'dense_1',
        ),
      );
      try {
        expectEqual(rec.dispatches.length, 1, 'recorded dispatches');
        const d = rec.dispatches[0];
        if (!d) throw new Error('no recorded dispatch');
        expectEqual(d.label, `dense_1_NN ${m}x${n}x${k}`, 'dispatch label');
        if (!d.pipeline.label.endsWith('_thin')) {
          throw new KernelMismatchError(`pipeline "${d.pipeline.label}" is not the thin kernel's`);
        }
        const t = matmulThinTiling(spec, engine.profile.thin === 'cpu');
        expectEqual(d.workgroups.join('x'), `${Math.ceil(n / 4 / t.quads)}x1x1`, 'workgroups');
        expectEqual(JSON.stringify(d.work), JSON.stringify(matmulWork(spec)), 'declared work');
        engine.replay(rec, 2);
        const gotC = new Float32Array(await engine.read(c.buf, c.bytes, 'C arena'));
        const gotPre = new Float32Array(await engine.read(pre.buf, pre.bytes, 'pre arena'));
        for (const [got, name] of [
          [gotC, 'C'],
          [gotPre, 'pre-activation'],
        ] as const) {
          expectTail(got.subarray(0, 64), 0, `${name} arena before the slice`);
          expectTail(got, 64 + m * n, `${name} arena past the slice`);
        }
        const ref = matmulReference(spec, p.a, p.b, bias);
        const bound = productBound(p);
        expectWithin(gotPre.subarray(64, 64 + m * n), ref.preActivation, bound, 'pre-activation in slices');
        const f = activationReference({ name: 'gelu' }).f;
        const allowed = gotPre
          .subarray(64, 64 + m * n)
          .map((z, i) => 1.13 * (bound[i] ?? 0) + 4e-7 * Math.abs(z) + 2.4e-7 * Math.abs(f(z)));
        expectWithin(gotC.subarray(64, 64 + m * n), ref.c, allowed, 'C = gelu(z) in slices');
      } finally {
        rec.release();
        for (const buf of [a.buf, b.buf, bs.buf, c.buf, pre.buf]) engine.releaseBuffer(buf);
      }
    },
  },
];

// ------------------------------------------------------------ which kernel

const selectionCases: KernelCase[] = [
  {
    name: "matmul thin is the kernel for m ≤ 8 in every variant; from m = 9 the tiled one, except on a CPU adapter's profile for A not transposed; what encodeMatmul dispatches agrees with float64",
    async run(engine: Engine) {
      expectEqual(THIN_MAX_M, 8, 'THIN_MAX_M');
      for (const v of ['NN', 'NT', 'TN', 'TT'] as const) {
        for (const m of [1, 2, 7, 8, 9, 12, 33, 1024]) {
          const spec = specFor(v, [m, 64, 784]);
          const small = m <= THIN_MAX_M;
          expectEqual(
            matmulKernelFor(spec),
            small ? 'thin' : 'tiled',
            `kernel for ${v} m = ${m}, no profile`,
          );
          const gpu = { thin: 'gpu', thinTransA: false } as const;
          expectEqual(matmulKernelFor(spec, gpu), small ? 'thin' : 'tiled', `${v} m = ${m}, GPU`);
          const lavapipe = { thin: 'cpu', thinTransA: false } as const;
          const cpu = small || v[0] === 'N' ? 'thin' : 'tiled';
          expectEqual(matmulKernelFor(spec, lavapipe), cpu, `kernel for ${v} m = ${m}, CPU adapter`);
          const swiftshader = { thin: 'cpu', thinTransA: true } as const;
          expectEqual(matmulKernelFor(spec, swiftshader), 'thin', `kernel for ${v} m = ${m}, Aᵀ too`);
          for (const p of [lavapipe, swiftshader]) {
            expectEqual(matmulKernelFor({ ...spec, columnSums: true }, p), 'tiled', 'columnSums');
          }
        }
      }
      // What encodeMatmul dispatches on this engine at the cut-off, one past it, and in blocks.
      const usage = STORAGE();
      const cpu = engine.profile.thin === 'cpu';
      for (const [vi, v] of (['NN', 'NT', 'TN'] as const).entries()) {
        for (const m of [THIN_MAX_M, THIN_MAX_M + 1, 33]) {
          const spec = specFor(v, [m, 64, 784]);
          const p = problem(spec, 98000 + 100 * vi + m);
          const a = engine.createBufferWithData(p.a, usage, 'matmul test A');
          const b = engine.createBufferWithData(p.b, usage, 'matmul test B');
          const c = engine.createBuffer({ size: 4 * m * 64, usage, label: 'matmul test C' });
          const rec = engine.record('matmul choice', () => encodeMatmul(engine, spec, { a, b, c }, 'layer'));
          const d = rec.dispatches[0];
          rec.release();
          for (const buf of [a, b, c]) engine.releaseBuffer(buf);
          const thin = matmulKernelFor(spec, engine.profile) === 'thin';
          const transA = v === 'TN' && !engine.profile.thinTransA;
          expectEqual(thin, m <= THIN_MAX_M || (cpu && !transA), `${v} m = ${m}: thin on this engine`);
          expectEqual(d?.label, `layer_${v} ${m}x64x784`, 'dispatch label');
          expectEqual(d?.pipeline.label.endsWith('_thin'), thin, `${v} m = ${m}: thin pipeline`);
          const tiles = matmulTiling(spec, engine.profile);
          const workgroups = thin
            ? Math.ceil(16 / matmulThinTiling(spec, cpu).quads) * Math.ceil(m / thinBlockRows(m))
            : Math.ceil(m / (4 * tiles.bm * tiles.wgY)) * Math.ceil(64 / (4 * tiles.bn * tiles.wgX));
          expectEqual(d?.workgroups.join('x'), `${workgroups}x1x1`, `${v} m = ${m}: workgroups`);
          await check(engine, p, thin ? matmulThinTiling(spec, cpu) : undefined);
        }
      }
    },
  },
];

// ------------------------------------------------------------ grid folding

const gridCases: KernelCase[] = [
  {
    name: 'matmul thin folds more than maxComputeWorkgroupsPerDimension workgroups (column quads, row blocks) into two dimensions',
    async run(engine: Engine) {
      // One column quad per workgroup: n = 4·(max + 2) − 1 columns.
      const tiling: MatmulThinTiling = { quads: 1, slices: 1 };
      const max = engine.limits.maxComputeWorkgroupsPerDimension;
      const n = 4 * (max + 2) - 1;
      const groups = engine.dispatchGrid(Math.ceil(n / 4), 1);
      if (groups[1] < 2) throw new Error(`expected a folded grid for ${n} columns, got ${groups.join('x')}`);
      await check(engine, problem(specFor('NN', [1, n, 1], { bias: true }), 99000), tiling);
      // One row block of 8 rows per workgroup past the limit, the last of 5 rows.
      const m = 8 * (max + 1) + 5;
      await check(engine, problem(specFor('NT', [m, 3, 2]), 99100), tiling);
    },
  },
];

// ------------------------------------------------------------ validation

const validationCases: KernelCase[] = [
  {
    name: 'matmul thin validation: bad counts, too many threads or too much workgroup memory (a row block of 8 rows)',
    async run(engine: Engine) {
      const buf = (floats: number, label: string) =>
        engine.createBuffer({ size: 4 * floats, usage: STORAGE(), label });
      const a = buf(16 * 64, 'A');
      const b = buf(64 * 64, 'B');
      const c = buf(16 * 64, 'C');
      const before = engine.stats().dispatches;
      const at = (m: number): MatmulSpec => ({ m, n: 64, k: 64 });
      for (const [t, bad] of [
        [{ quads: 0, slices: 1 }, /quads must be a positive integer \(a u32\), got 0/],
        [{ quads: 4, slices: 1.5 }, /slices must be a positive integer \(a u32\), got 1\.5/],
      ] as const) {
        await expectError(
          () => encodeMatmul(engine, at(2), { a, b, c }, 'matmul', t),
          RangeError,
          [/matmul thin tiling/, bad],
          `tiling ${JSON.stringify(t)}`,
        );
      }
      const threads = engine.limits.maxComputeInvocationsPerWorkgroup + 1;
      await expectError(
        () => encodeMatmul(engine, at(1), { a, b, c }, 'matmul', { quads: threads, slices: 1 }),
        RangeError,
        [new RegExp(`needs ${threads} invocations per workgroup`)],
        'too many threads',
      );
      // One vec4 partial sum per thread and row: 128 bytes a thread in a block of 8 rows.
      // Adapters whose storage limit is 128 bytes times their thread limit or more refuse the
      // threads first.
      const storage = engine.limits.maxComputeWorkgroupStorageSize;
      const slices = Math.floor(storage / 128) + 1;
      const overThreads = slices > engine.limits.maxComputeInvocationsPerWorkgroup;
      await expectError(
        () => encodeMatmul(engine, at(16), { a, b, c }, 'matmul', { quads: 1, slices }),
        RangeError,
        [
          overThreads
            ? new RegExp(`needs ${slices} invocations per workgroup`)
            : new RegExp(`needs ${128 * slices} bytes of workgroup storage`),
        ],
        `${slices} slices at m = 16 (blocks of 8 rows)`,
      );
      // The spec's own errors come first, as for the tiled kernel.
      await expectError(
        () => encodeMatmul(engine, { ...at(2), accumulate: true, bias: true }, { a, b, c, bias: b }),
        TypeError,
        [/accumulate/, /cannot be combined with bias/],
        'accumulate with bias',
      );
      expectEqual(engine.stats().dispatches, before, 'dispatches after refused calls');
      for (const x of [a, b, c]) engine.releaseBuffer(x);
    },
  },
];

export const cases: KernelCase[] = [
  ...shapeCases,
  ...transACases,
  ...epilogueCases,
  ...dactCases,
  ...geometryCases,
  ...rowBlockCases,
  ...nanCases,
  ...sliceCases,
  ...selectionCases,
  ...gridCases,
  ...validationCases,
];
