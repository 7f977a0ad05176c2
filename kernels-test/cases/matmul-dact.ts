/**
 * The matmul's activation-gradient epilogue, C = op(A)·op(B) ⊙ f′(S), which the compiled
 * training step uses for dX = dZ·Wᵀ times the previous layer's activation derivative.
 * Shapes, problems, bounds and the GPU runner are shared with ./matmul.ts (see its tolerance
 * notes); the derivative's own error per activation is stated below (OwnError).
 */
import type { Engine } from '../../src/index.js';
import {
  DEFAULT_TILING,
  encodeMatmul,
  matmulReference,
  type MatmulTiling,
} from '../../src/kernels/matmul.js';
import {
  ACTIVATIONS,
  activationFromY,
  activationReference,
  type ActivationSpec,
} from '../../src/kernels/activations.js';
import { BufferSlice } from '../../src/gpu/engine.js';
import { expectClose, expectEqual, expectError, KernelMismatchError, uniformF32 } from '../harness.js';
import type { KernelCase } from './types.js';
import {
  type Problem,
  SENTINEL,
  STORAGE,
  TAIL,
  U,
  describe,
  expectTail,
  expectWithin,
  problem,
  productBound,
  runGpu,
  specFor,
} from './matmul.js';

// ------------------------------------------------------------ activation-gradient epilogue

type Shape = [number, number, number];
/**
 * odd: every tile an edge tile, scalar loads and stores everywhere; wide: dX = dY·Wᵀ of a
 * 512→10 layer at batch 32 on NT (vec4 C and S, scalar A and B loads; NN loads B as vec4);
 * tall: 130 rows over three 64-row tiles, vec4 everywhere.
 */
const DACT: Record<'odd' | 'wide' | 'tall', Shape> = {
  odd: [7, 10, 33],
  wide: [32, 512, 10],
  tall: [130, 64, 20],
};

/** The WGSL derivative's absolute error at x with f'(x) = g (see the top of the file). */
type OwnError = (x: number, g: number) => number;
const gaussPdf = (x: number): number => Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);

const DACT_CASES: {
  activation: ActivationSpec;
  from: 'x' | 'y';
  runs: ['NN' | 'NT', Shape][];
  own: OwnError;
}[] = [
  {
    activation: { name: 'relu' },
    from: 'y',
    runs: [
      ['NN', DACT.odd],
      ['NN', DACT.wide],
      ['NN', DACT.tall],
      ['NT', DACT.odd],
      ['NT', DACT.wide],
      ['NT', DACT.tall],
    ],
    own: () => 0,
  },
  {
    activation: { name: 'tanh' },
    from: 'y',
    runs: [
      ['NN', DACT.odd],
      ['NT', DACT.wide],
    ],
    own: () => 4 * U,
  },
  {
    activation: { name: 'sigmoid' },
    from: 'y',
    runs: [
      ['NN', DACT.tall],
      ['NT', DACT.odd],
    ],
    own: () => 3 * U,
  },
  {
    activation: { name: 'gelu' },
    from: 'x',
    runs: [
      ['NN', DACT.odd],
      ['NT', DACT.tall],
    ],
    own: (x) => 4e-7 + 2 * U + (5 + 1.5 * x * x) * 2 ** -23 * Math.abs(x * gaussPdf(x)),
  },
  {
    activation: { name: 'elu' },
    from: 'x',
    runs: [
      ['NN', DACT.wide],
      ['NT', DACT.odd],
    ],
    own: (x, g) => ((3 + 2 * Math.abs(x)) * 2 ** -23 + 2 ** -24) * Math.abs(g),
  },
];

/** A gradActivation problem: A, B as problem() makes them, x in [−3, 3], and S from x. */
function dactProblem(
  v: 'NN' | 'NT',
  shape: Shape,
  activation: ActivationSpec,
  from: 'x' | 'y',
  seed: number,
): { p: Problem; x: Float32Array } {
  const spec = specFor(v, shape, { gradActivation: { activation, from } });
  const x = uniformF32(spec.m * spec.n, -3, 3, seed + 4);
  const s = from === 'x' ? x : Float32Array.from(x, activationReference(activation).f);
  return { p: { ...problem(spec, seed), s }, x };
}

/** C (m·n values) against P_exact ⊙ f'(x) within the bound at the top of the file. */
function expectDact(
  c: ArrayLike<number>,
  p: Problem,
  x: Float32Array,
  activation: ActivationSpec,
  own: OwnError,
  what: string,
): void {
  const z = matmulReference(p.spec, p.a, p.b, undefined, undefined, p.s).preActivation;
  const bound = productBound(p);
  const df = activationReference(activation).df;
  const expected = new Float64Array(z.length);
  const allowed = new Float64Array(z.length);
  for (let i = 0; i < z.length; i++) {
    const P = z[i] ?? NaN;
    const g = df(x[i] ?? NaN);
    const b = bound[i] ?? NaN;
    const e = own(x[i] ?? NaN, g);
    expected[i] = P * g;
    allowed[i] = b * (Math.abs(g) + e) + Math.abs(P) * e + U * (Math.abs(P) + b) * (Math.abs(g) + e);
  }
  expectWithin(c, expected, allowed, `${what} C = A·B ⊙ f'(x) against float64`);
}

async function checkDact(
  engine: Engine,
  p: Problem,
  x: Float32Array,
  own: OwnError,
  tiling?: MatmulTiling,
): Promise<Float32Array> {
  const what = `${describe(p.spec)}${tiling ? ` tiling ${JSON.stringify(tiling)}` : ''}`;
  const g = p.spec.gradActivation;
  if (!g) throw new Error(`${what}: not a gradActivation problem`);
  const got = (await runGpu(engine, p, tiling)).c;
  const mn = p.spec.m * p.spec.n;
  expectTail(got, mn, `${what} C`);
  const c = got.subarray(0, mn);
  expectDact(c, p, x, g.activation, own, what);
  return c;
}

const dactCases: KernelCase[] = DACT_CASES.map(({ activation, from, runs, own }, ai) => ({
  name:
    `matmul dact ${activation.name}'(${from}): C = A·B ⊙ f'(S) on ` +
    `${runs.map(([v, [m, n, k]]) => `${v} ${m}x${n}x${k}`).join(', ')} against float64 A·B ⊙ df(x)`,
  async run(engine: Engine) {
    for (const [ri, [v, shape]] of runs.entries()) {
      const { p, x } = dactProblem(v, shape, activation, from, 60000 + 1000 * ai + 10 * ri);
      await checkDact(engine, p, x, own);
    }
  },
}));

/** The activation-gradient epilogue on the tiled kernel with register prefetch (tiling.prefetch). */
const dactPrefetchCase: KernelCase = {
  name: "matmul dact with register prefetch: tanh'(x) on the tiled kernel's edge tiles against float64",
  async run(engine: Engine) {
    const tiling: MatmulTiling = { ...DEFAULT_TILING, tk: 16, prefetch: true };
    for (const [ri, [v, shape, activation, from]] of (
      [['NT', DACT.odd, { name: 'tanh' }, 'x']] as const
    ).entries()) {
      const own = DACT_CASES.find((c) => c.activation.name === activation.name)?.own;
      if (!own) throw new Error(`no error model for ${activation.name}`);
      const { p, x } = dactProblem(v, shape, activation, from, 65000 + 10 * ri);
      await checkDact(engine, p, x, own, tiling);
    }
  },
};

const dactNanCases: KernelCase[] = [
  {
    name: "matmul dact NaN: a NaN in S gives NaN in that element, in A its row and in B its column, even where relu' is 0",
    async run(engine: Engine) {
      const row = 5;
      const col = 7;
      const depth = 3;
      for (const [v, shape] of [
        ['NN', DACT.tall],
        ['NT', DACT.odd],
      ] as const) {
        const [m, n, k] = shape;
        for (const where of ['S', 'A', 'B'] as const) {
          const { p, x } = dactProblem(v, shape, { name: 'relu' }, 'y', 70000);
          const s = p.s ?? new Float32Array(0);
          if (where === 'S') {
            s[row * n + col] = NaN;
            x[row * n + col] = NaN;
          }
          if (where === 'A') p.a[row * k + depth] = NaN;
          if (where === 'B') p.b[v === 'NT' ? col * k + depth : depth * n + col] = NaN;
          const what = `${describe(p.spec)} NaN in ${where}`;
          // The poisoned row or column must cross units that are off (relu' = 0), or a NaN
          // lost there would go unseen.
          const line = where === 'A' ? s.subarray(row * n, (row + 1) * n) : s.filter((_, i) => i % n === col);
          if (where !== 'S' && !line.some((y) => y === 0))
            throw new Error(`${what}: no inactive unit on the line`);
          const c = await checkDact(engine, p, x, () => 0);
          for (let i = 0; i < m; i++) {
            for (let j = 0; j < n; j++) {
              const nan = where === 'S' ? i === row && j === col : where === 'A' ? i === row : j === col;
              expectEqual(Number.isNaN(c[i * n + j]), nan, `${what}: C[${i}, ${j}] is NaN`);
            }
          }
        }
      }
      // The activate_grad_x path and the other activations' from-y paths: a NaN in S only.
      for (const { activation, from, runs, own } of DACT_CASES.slice(1)) {
        const [v, shape] = runs[0] ?? ['NN', DACT.odd];
        const { p, x } = dactProblem(v, shape, activation, from, 71000);
        const n = shape[1];
        if (p.s) p.s[row * n + col] = NaN;
        x[row * n + col] = NaN;
        const c = await checkDact(engine, p, x, own);
        const nans = c.reduce((count, value) => count + (Number.isNaN(value) ? 1 : 0), 0);
        expectEqual(nans, 1, `${describe(p.spec)} NaN in S: NaN elements of C`);
        expectEqual(
          Number.isNaN(c[row * n + col]),
          true,
          `${describe(p.spec)} NaN in S: C[${row}, ${col}] is NaN`,
        );
      }
    },
  },
];

const dactSliceCases: KernelCase[] = [
  {
    name: 'matmul dact binds S and C as slices at byte 256 of larger buffers, records, replays, and labels the dispatch _dact_',
    async run(engine: Engine) {
      const shape = DACT.odd;
      const [m, n] = shape;
      const mn = m * n;
      const { p, x } = dactProblem('NT', shape, { name: 'tanh' }, 'y', 72000);
      const s = p.s ?? new Float32Array(0);
      // 64 floats (256 bytes) before each slice: NaN before S (read by mistake, it would show),
      // the sentinel before and after C (a stray write would overwrite it).
      const sData = new Float32Array(64 + mn).fill(NaN);
      sData.set(s, 64);
      const cData = new Float32Array(64 + mn + TAIL).fill(SENTINEL);
      const a = engine.createBufferWithData(p.a, STORAGE(), 'matmul test A');
      const b = engine.createBufferWithData(p.b, STORAGE(), 'matmul test B');
      const sBuf = engine.createBufferWithData(sData, STORAGE(), 'matmul test S arena');
      const cBuf = engine.createBufferWithData(cData, STORAGE(), 'matmul test C arena');
      const gradSource = new BufferSlice(sBuf, 256, 4 * mn, 'S slice');
      const c = new BufferSlice(cBuf, 256, 4 * mn, 'C slice');
      const rec = engine.record('dact step', () =>
        encodeMatmul(engine, p.spec, { a, b, c, gradSource }, 'layer1_backward'),
      );
      expectEqual(rec.dispatches.length, 1, 'recorded dispatches');
      const label = rec.dispatches[0]?.label ?? '';
      if (!label.startsWith('layer1_backward_NT_dact_tanh')) {
        throw new KernelMismatchError(
          `dispatch label "${label}" does not start with layer1_backward_NT_dact_tanh`,
        );
      }
      engine.replay(rec, 2);
      const got = new Float32Array(await engine.read(cBuf, cData.byteLength, 'matmul test C arena'));
      rec.release();
      for (const buf of [a, b, sBuf, cBuf]) engine.releaseBuffer(buf);
      // An ignored offset would write C over the head.
      expectTail(got.subarray(0, 64), 0, 'C arena before the slice');
      expectTail(got, 64 + mn, 'C arena past the slice');
      expectDact(
        got.subarray(64, 64 + mn),
        p,
        x,
        { name: 'tanh' },
        () => 4 * U,
        `${describe(p.spec)} in slices`,
      );
    },
  },
];

/** Activations to check the reference on: every one but linear, and α's of both signs. */
const REFERENCE_ACTIVATIONS: ActivationSpec[] = [
  ...ACTIVATIONS.filter((name) => name !== 'linear').map((name) => ({ name })),
  { name: 'elu', alpha: 0.5 },
  { name: 'elu', alpha: -0.5 },
  { name: 'leaky_relu', alpha: 0.1 },
  { name: 'leaky_relu', alpha: -0.3 },
];

const dactReferenceCases: KernelCase[] = [
  {
    name: "matmul dact reference: A·B ⊙ f'(S) from 'x' and from 'y' against central differences of f, for every activation",
    // eslint-disable-next-line @typescript-eslint/require-await
    async run() {
      const kinks = [0, -2.5, 2.5];
      for (const [ai, activation] of REFERENCE_ACTIVATIONS.entries()) {
        const { f } = activationReference(activation);
        for (const from of activationFromY(activation) ? (['x', 'y'] as const) : (['x'] as const)) {
          for (const v of ['NN', 'NT'] as const) {
            const spec = specFor(v, [3, 5, 4], { gradActivation: { activation, from } });
            const p = problem(spec, 80000 + 100 * ai);
            // x in [−3, 3], kept 1e-3 away from every kink so the differences see one branch.
            const x = Array.from(uniformF32(15, -3, 3, 80050 + 100 * ai), (t) =>
              kinks.some((kink) => Math.abs(t - kink) < 1e-3) ? t + 0.01 : t,
            );
            const s = from === 'x' ? x : x.map(f);
            const { c, preActivation } = matmulReference(spec, p.a, p.b, undefined, undefined, s);
            const h = 1e-6;
            const fd = preActivation.map((z, i) => {
              const t = x[i] ?? NaN;
              return z * ((f(t + h) - f(t - h)) / (2 * h));
            });
            const what = `${describe(spec)} (alpha ${activation.alpha ?? 'default'})`;
            expectClose(c, fd, { atol: 1e-5, rtol: 1e-3 }, `${what} against central differences`);
          }
        }
      }
      // NaN in S: NaN out.
      const spec = specFor('NN', [1, 2, 1], { gradActivation: { activation: { name: 'relu' }, from: 'y' } });
      const c = matmulReference(spec, [1], [1, 1], undefined, undefined, [NaN, 0]).c;
      expectEqual(Number.isNaN(c[0]), true, 'reference: NaN in S');
      expectEqual(c[1], 0, 'reference: relu inactive');
    },
  },
];

const dactValidationCases: KernelCase[] = [
  {
    name: 'matmul dact validation: combinations, missing or extra S, S aliasing C, no gradient from y, linear, small S',
    async run(engine: Engine) {
      const buf = (floats: number, label: string) =>
        engine.createBuffer({ size: 4 * floats, usage: STORAGE(), label });
      const a = buf(16, 'A16');
      const b = buf(16, 'B16');
      const c = buf(128, 'C128');
      const s = buf(16, 'S16');
      const small = buf(10, 'small');
      const before = engine.stats().dispatches;
      const ok = { m: 4, n: 4, k: 4 };
      const relu = { gradActivation: { activation: { name: 'relu' } as ActivationSpec, from: 'y' as const } };
      for (const [extra, name] of [
        [{ bias: true }, 'bias'],
        [{ accumulate: true }, 'accumulate'],
        [{ activation: { name: 'tanh' } as ActivationSpec }, "activation 'tanh'"],
        [{ writePreActivation: true }, 'writePreActivation'],
      ] as const) {
        await expectError(
          () =>
            encodeMatmul(
              engine,
              { ...ok, ...relu, ...extra },
              { a, b, c, gradSource: s, bias: b, preActivation: small },
            ),
          TypeError,
          [/gradActivation/, new RegExp(`cannot be combined with ${name}`), /⊙ relu'\(y\)/],
          `gradActivation with ${name}`,
        );
      }
      await expectError(
        () => encodeMatmul(engine, { ...ok, ...relu }, { a, b, c }),
        TypeError,
        [/gradActivation is set but no gradSource buffer/],
        'gradActivation without S',
      );
      await expectError(
        () => encodeMatmul(engine, ok, { a, b, c, gradSource: s }),
        TypeError,
        [/gradSource buffer was given but spec.gradActivation is not set/],
        'S without gradActivation',
      );
      for (const activation of [
        { name: 'gelu' },
        { name: 'gelu_tanh' },
        { name: 'elu', alpha: -1 },
      ] as ActivationSpec[]) {
        await expectError(
          () =>
            encodeMatmul(
              engine,
              { ...ok, gradActivation: { activation, from: 'y' } },
              { a, b, c, gradSource: s },
            ),
          TypeError,
          [new RegExp(`'${activation.name}'`), /cannot be computed from its output y/, /from: 'x'/],
          `${activation.name} from y`,
        );
      }
      await expectError(
        () =>
          encodeMatmul(
            engine,
            { ...ok, gradActivation: { activation: { name: 'linear' }, from: 'x' } },
            { a, b, c, gradSource: s },
          ),
        TypeError,
        [/linear/, /nothing to fuse/],
        'linear',
      );
      await expectError(
        () =>
          encodeMatmul(
            engine,
            { ...ok, gradActivation: { activation: { name: 'relu' }, from: 'z' as 'x' } },
            { a, b, c, gradSource: s },
          ),
        TypeError,
        [/from must be 'x' or 'y', got z/],
        "from 'z'",
      );
      await expectError(
        () => encodeMatmul(engine, { ...ok, ...relu }, { a, b, c, gradSource: c }),
        TypeError,
        [/gradSource "C128" and C "C128" are \(in\) the same buffer/],
        'S = C',
      );
      await expectError(
        () =>
          encodeMatmul(
            engine,
            { ...ok, ...relu },
            { a, b, c: new BufferSlice(c, 0, 64, 'C lo'), gradSource: new BufferSlice(c, 256, 64, 'C hi') },
          ),
        TypeError,
        [/gradSource "C hi" and C "C lo" are \(in\) the same buffer/],
        'S and C slices of one buffer',
      );
      await expectError(
        () => encodeMatmul(engine, { m: 3, n: 4, k: 4, ...relu }, { a, b, c, gradSource: small }),
        RangeError,
        [/buffer gradSource \("small"\) has 40 bytes; \[3, 4\] f32 needs 48/],
        'S too small',
      );
      await expectError(
        () => matmulReference({ ...ok, ...relu }, new Float32Array(16), new Float32Array(16)),
        RangeError,
        [/gradActivation needs the gradient source S \(16 values\)/],
        'reference: gradActivation without S',
      );
      expectEqual(engine.stats().dispatches, before, 'dispatches after refused calls');
      for (const x of [a, b, c, s, small]) engine.releaseBuffer(x);
    },
  },
];

export const cases: KernelCase[] = [
  ...dactCases,
  dactPrefetchCase,
  ...dactNanCases,
  ...dactSliceCases,
  ...dactReferenceCases,
  ...dactValidationCases,
];
