/**
 * Matmul kernels (NN, NT, TN, TT; bias / activation / pre-activation epilogues; accumulate)
 * against the float64 reference.
 *
 * Tolerance of the product, per element. The inputs are exact f32 values and the kernel forms
 * each output as a sum of k products, plus the bias or the initial C, in f32 and in whatever
 * order its tiles give. For any order, a computed sum of n products (or terms) errs by at most
 * γ_n·Σ|terms|, γ_n = n·u/(1 − n·u), u = 2^-24 (Higham, Accuracy and Stability of Numerical
 * Algorithms, §3.1; a fused multiply-add only removes roundings). So element (i, j) may differ
 * from the exact value by γ_{k+1}·((|A|·|B|)_ij + |bias_j| + |C0_ij|): multiplier γ_{k+1}
 * (the +1 for the bias or C0 term), applied to the float64 reference of |A|·|B|, so
 * cancellation in C cannot hide an error. Nothing else is allowed (no absolute slack; the
 * inputs keep partial sums far from f32's subnormals).
 *
 * Epilogue: the kernel applies the activation f to its own f32 z. We check (1) the stored
 * pre-activation against the reference z with the bound above; (2) C against f(exact z), allowing
 * L·bound + own, with L = max |f'| (relu 1, sigmoid 1/4, gelu 1.13) and own the WGSL function's
 * error; (3) C against activationReference's f of the kernel's own pre-activation, allowing
 * only own. own: relu 0 (exact); sigmoid 1e-6 (exp(−|x|) within (3 + 2|x|) ULP, so within
 * 3·2^-23 absolute, plus the division's 2.5 ULP, doubled); gelu 4e-7·|z| + 2.4e-7·|f(z)|
 * (0.5·|z| times erf's error: the approximation's 1.5e-7 plus f32 rounding of its
 * evaluation and of 1 + erf, about 6e-7, then the final products' rounding); tanh
 * (2·e₁ + 5·2^-23)·|f(z)| with e₁ the relative error of expm1(−2|z|) (a Taylor polynomial,
 * 3·2^-23, for 2|z| < 0.5; exp within (3 + 4|z|) ULP, magnified by e/|e − 1|, beyond), as
 * for the elementwise tanh (./activations.ts).
 *
 * Activation-gradient epilogue C = P ⊙ f'(S), P = op(A)·op(B) (the "matmul dact" cases). S is
 * made from an f32 pre-activation x in [−3, 3]: S = x (from 'x'), or S = f(x) in float64
 * rounded to f32 (from 'y'). C is checked against P_exact·f'(x), f' = activationReference's df,
 * allowing |f'|·bound + |P|·own + the final product's rounding u·|P̂·ĝ| (with P̂ = P ± bound,
 * ĝ = f' ± own), where bound is the product's γ_(k+1) bound above and own the WGSL
 * derivative's absolute error at x, including from 'y' the rounding of y to f32:
 *   relu'(y)    0: exact (y > 0 exactly where x > 0).
 *   sigmoid'(y) 3u: y(1 − y) errs by u·y|1 − 2y| from y's rounding and 2u·g from its own two
 *               roundings, ≤ 1.5u; doubled for a compiler that evaluates it as y − y·y.
 *   tanh'(y)    4u: 1 − y² errs by 2u·y² from y's rounding, u·y² + u·g from its own, ≤ 3u; +u.
 *   gelu'(x)    4e-7 + 2u + (5 + 1.5x²)·2^-23·|x·φ(x)|: half of 1 + erf's error (as above),
 *               the rounding of x/√2 and of the sum, and exp(−x²/2) within (3 + x²) ULP
 *               (Vulkan's allowance) plus three roundings in x·φ(x).
 *   elu'(x)     ((3 + 2|x|)·2^-23 + 2^-24)·|f'|: α·exp(x) for x ≤ 0, exp within (3 + 2|x|) ULP.
 */
import type { Engine } from '../../src/index.js';
import {
  DEFAULT_TILING,
  encodeMatmul,
  matmulReference,
  matmulTiling,
  THIN_MAX_M,
  type MatmulSpec,
  type MatmulThinTiling,
  type MatmulTiling,
} from '../../src/kernels/matmul.js';
import { activationReference, type ActivationSpec } from '../../src/kernels/activations.js';
import { closeEnough, expectEqual, expectError, KernelMismatchError, uniformF32 } from '../harness.js';
import type { KernelCase } from './types.js';

export const U = 2 ** -24;
const gamma = (n: number): number => (n * U) / (1 - n * U);

/** Written into every output buffer first, and into a tail past C, to catch missed and stray writes. */
export const SENTINEL = 12345.5;
export const TAIL = 8;

export type Variant = 'NN' | 'NT' | 'TN' | 'TT';
const VARIANTS: Variant[] = ['NN', 'NT', 'TN', 'TT'];

/**
 * [m, n, k]: ones and odd sizes (scalar loads, edge tiles everywhere), multiples of 4 (vec4
 * paths), several tiles along every axis, and the MLP's products at batch 8 and 32. Shapes of
 * at most THIN_MAX_M (8) rows run the thin kernel (its own cases: ./matmul-thin.ts); runGpu
 * pins the rest to the tiled kernel, which a CPU adapter's engine keeps for A transposed only.
 */
const SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [3, 5, 7],
  [4, 4, 4],
  [12, 16, 20],
  [65, 33, 17],
  [133, 70, 41],
  [8, 64, 784], // forward 8x784·784x64
  [32, 10, 64], // forward 32x64·64x10
  [8, 784, 64], // NT: dX = dY·Wᵀ for the 784→64 layer at batch 8
  [784, 64, 8], // TN: dW = Xᵀ·dY for the same layer
];
/** matmulTiling's remaining tiles (64×32 and 128×16), each for two of the variants. */
const EXTRA_SHAPES: Record<Variant, [number, number, number][]> = {
  NN: [
    [40, 20, 9],
    [130, 12, 36],
  ],
  NT: [[130, 12, 36]],
  TN: [
    [40, 20, 9],
    [512, 10, 33],
    [130, 16, 36],
  ],
  TT: [],
};
/** TT (no layer of an MLP needs it) runs the first shapes only: scalar and vec4, 32- and 64-row tiles. */
const TT_SHAPES = 6;

/**
 * Shaders compile slowly on SwiftShader (about 0.4 s each), so the epilogue, accumulate and
 * NaN cases share one shape per variant: vec4 C for NN and TN, scalar for NT. The epilogue
 * follows the product whatever the transposes, so each runs on NN (vec4 stores) and NT
 * (scalar stores), and the bias alone on TN too. runGpu pins the tiled kernel for all three
 * (m > 8); the accumulate case's two products in a row run the engine's own choice.
 */
const EPILOGUE_SHAPES: Record<'NN' | 'NT' | 'TN', [number, number, number]> = {
  NN: [9, 64, 784],
  NT: [65, 33, 17],
  TN: [784, 64, 8],
};

export interface Problem {
  spec: MatmulSpec;
  a: Float32Array;
  b: Float32Array;
  bias?: Float32Array;
  c0?: Float32Array;
  /** S for gradActivation: [m, n]. */
  s?: Float32Array;
}

export function specFor(
  v: Variant,
  [m, n, k]: [number, number, number],
  extra: Partial<MatmulSpec> = {},
): MatmulSpec {
  return { m, n, k, transA: v[0] === 'T', transB: v[1] === 'T', ...extra };
}

export function describe(spec: MatmulSpec): string {
  const v = `${spec.transA ? 'T' : 'N'}${spec.transB ? 'T' : 'N'}`;
  const epi = [
    spec.bias ? 'bias' : '',
    spec.activation ? spec.activation.name : '',
    spec.writePreActivation ? 'pre' : '',
    spec.accumulate ? 'accumulate' : '',
    spec.gradActivation ? `dact ${spec.gradActivation.activation.name}'(${spec.gradActivation.from})` : '',
  ].filter((s) => s);
  return `${v} m=${spec.m} n=${spec.n} k=${spec.k}${epi.length ? ` (${epi.join('+')})` : ''}`;
}

export function problem(spec: MatmulSpec, seed: number): Problem {
  const { m, n, k } = spec;
  return {
    spec,
    a: uniformF32(m * k, -1, 1, seed),
    b: uniformF32(k * n, -1, 1, seed + 1),
    bias: spec.bias ? uniformF32(n, -1, 1, seed + 2) : undefined,
    c0: spec.accumulate ? uniformF32(m * n, -2, 2, seed + 3) : undefined,
  };
}

export const STORAGE = () => GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

/**
 * Runs the kernel (`tiling`, else the thin kernel up to THIN_MAX_M rows and the tiled one
 * from there); returns C and the pre-activation, each with the TAIL elements past them.
 */
export async function runGpu(
  engine: Engine,
  p: Problem,
  tiling?: MatmulTiling | MatmulThinTiling,
): Promise<{ c: Float32Array; pre?: Float32Array }> {
  const { m, n } = p.spec;
  const made: GPUBuffer[] = [];
  const upload = (data: Float32Array, label: string) => {
    const buf = engine.createBufferWithData(data, STORAGE(), label);
    made.push(buf);
    return buf;
  };
  const withTail = (init?: Float32Array) => {
    const data = new Float32Array(m * n + TAIL).fill(SENTINEL);
    if (init) data.set(init);
    return data;
  };
  try {
    const a = upload(p.a, 'matmul test A');
    const b = upload(p.b, 'matmul test B');
    const c = upload(withTail(p.c0), 'matmul test C');
    const bias = p.bias ? upload(p.bias, 'matmul test bias') : undefined;
    const pre = p.spec.writePreActivation ? upload(withTail(), 'matmul test pre') : undefined;
    const gradSource = p.s ? upload(p.s, 'matmul test S') : undefined;
    // The tiled kernel from THIN_MAX_M + 1 rows, whatever the engine's profile would choose.
    const chosen = tiling ?? (m > THIN_MAX_M ? matmulTiling(p.spec, engine.profile) : undefined);
    encodeMatmul(engine, p.spec, { a, b, c, bias, preActivation: pre, gradSource }, 'matmul_test', chosen);
    const bytes = 4 * (m * n + TAIL);
    return {
      c: new Float32Array(await engine.read(c, bytes, 'matmul test C')),
      pre: pre ? new Float32Array(await engine.read(pre, bytes, 'matmul test pre')) : undefined,
    };
  } finally {
    for (const buf of made) engine.releaseBuffer(buf);
  }
}

/** γ_{k+1}·(|A|·|B| + |bias| + |C0|) per element (see the top of the file). */
export function productBound(p: Problem): Float64Array {
  const abs = (x: ArrayLike<number>) => Float64Array.from(x, Math.abs);
  const spec = {
    ...p.spec,
    activation: undefined,
    writePreActivation: false,
    accumulate: false,
    gradActivation: undefined,
  };
  const mag = matmulReference(spec, abs(p.a), abs(p.b), p.bias ? abs(p.bias) : undefined).preActivation;
  const g = gamma(p.spec.k + 1);
  return mag.map((v, i) => g * (v + Math.abs(p.c0?.[i] ?? 0)));
}

/** |actual − expected| ≤ allowed[i] elementwise; NaN only matches NaN. */
export function expectWithin(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  allowed: ArrayLike<number>,
  what: string,
): void {
  let bad = 0;
  let worst = -1;
  let worstAt = -1;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i] as number;
    const e = expected[i] as number;
    const tol = allowed[i] as number;
    if (closeEnough(a, e, { atol: Number.isNaN(tol) ? 0 : tol, rtol: 0 })) continue;
    bad++;
    const ratio = Number.isFinite(a - e) ? Math.abs(a - e) / Math.max(tol, Number.MIN_VALUE) : Infinity;
    if (ratio > worst) {
      worst = ratio;
      worstAt = i;
    }
  }
  if (bad === 0) return;
  throw new KernelMismatchError(
    `${what}: ${bad} of ${expected.length} values outside the bound; worst at index ${worstAt}: ` +
      `got ${actual[worstAt]}, expected ${expected[worstAt]}, allowed ${allowed[worstAt]} ` +
      `(${worst.toExponential(2)} times the bound)`,
  );
}

export function expectTail(values: Float32Array, start: number, what: string): void {
  for (let i = start; i < values.length; i++) {
    if (values[i] !== SENTINEL) {
      throw new KernelMismatchError(`${what}: element ${i} past the output was overwritten (${values[i]})`);
    }
  }
}

/** The WGSL activation's own error at input z with output f (see the top of the file). */
const ACTIVATION_ERROR: Record<string, { lipschitz: number; own: (z: number, f: number) => number }> = {
  relu: { lipschitz: 1, own: () => 0 },
  sigmoid: { lipschitz: 0.25, own: () => 1e-6 },
  gelu: { lipschitz: 1.13, own: (z, f) => 4e-7 * Math.abs(z) + 2.4e-7 * Math.abs(f) },
  tanh: {
    lipschitz: 1,
    own: (z, f) => {
      const x = -2 * Math.abs(z);
      const expm1 =
        Math.abs(x) < 0.5
          ? 3 * 2 ** -23
          : (3 + 2 * Math.abs(x)) * 2 ** -23 * (Math.exp(x) / Math.abs(Math.expm1(x))) + 2 ** -23;
      return (2 * expm1 + 5 * 2 ** -23) * Math.abs(f);
    },
  },
};

/** Runs `p` and checks C (and the pre-activation) against the reference. */
export async function check(
  engine: Engine,
  p: Problem,
  tiling?: MatmulTiling | MatmulThinTiling,
): Promise<void> {
  const what = `${describe(p.spec)}${tiling ? ` tiling ${JSON.stringify(tiling)}` : ''}`;
  const { m, n } = p.spec;
  const got = await runGpu(engine, p, tiling);
  const ref = matmulReference(p.spec, p.a, p.b, p.bias, p.c0);
  const bound = productBound(p);
  expectTail(got.c, m * n, `${what} C`);
  const c = got.c.subarray(0, m * n);
  const act = p.spec.activation;
  if (!act || act.name === 'linear') {
    expectWithin(c, ref.c, bound, `${what} C`);
  } else {
    const err = ACTIVATION_ERROR[act.name];
    if (!err) throw new Error(`no error model for activation ${act.name}`);
    const allowed = ref.preActivation.map(
      (z, i) => err.lipschitz * (bound[i] ?? 0) + err.own(z, ref.c[i] ?? 0),
    );
    expectWithin(c, ref.c, allowed, `${what} C = f(z) against f(exact z)`);
  }
  if (got.pre) {
    expectTail(got.pre, m * n, `${what} pre-activation`);
    const pre = got.pre.subarray(0, m * n);
    expectWithin(pre, ref.preActivation, bound, `${what} pre-activation`);
    if (act && act.name !== 'linear') {
      // The epilogue alone: f of the kernel's own z.
      const f = activationReference(act).f;
      const err = ACTIVATION_ERROR[act.name];
      const expected = Float64Array.from(pre, (z) => f(z));
      const allowed = Float64Array.from(pre, (z, i) => err?.own(z, expected[i] ?? 0) ?? 0);
      expectWithin(c, expected, allowed, `${what} C against activationReference(pre-activation)`);
    }
  }
}

// ------------------------------------------------------------ cases

const variantCases: KernelCase[] = VARIANTS.map((v, vi) => {
  const shapes = v === 'TT' ? SHAPES.slice(0, TT_SHAPES) : [...SHAPES, ...EXTRA_SHAPES[v]];
  const largest = Math.max(...shapes.flat());
  return {
    name: `matmul ${v}: ${shapes.length} shapes from 1x1x1 to ${largest} against float64 with the γ_(k+1)·|A|·|B| bound`,
    async run(engine: Engine) {
      for (const [si, shape] of shapes.entries()) {
        await check(engine, problem(specFor(v, shape), 1000 * vi + 10 * si));
      }
    },
  };
});

/** Tilings other than matmulTiling's: a k-step of 16 with padded rows, and one-thread workgroups. */
const OTHER_TILINGS: { tiling: MatmulTiling; shapes: [number, number, number][]; everyShape: boolean }[] = [
  {
    tiling: { wgX: 4, wgY: 8, bm: 1, bn: 2, tk: 16, pad: true },
    shapes: [
      [65, 33, 17],
      [36, 40, 44],
    ],
    everyShape: false,
  },
  {
    tiling: { wgX: 1, wgY: 1, bm: 1, bn: 1, tk: 4, pad: false },
    shapes: [
      [3, 5, 7],
      [12, 16, 20],
    ],
    everyShape: true,
  },
];

const tilingCases: KernelCase[] = [
  {
    name: 'matmul tilings: other thread counts, blocks per thread, k-steps and padding agree with float64',
    async run(engine: Engine) {
      for (const [ti, { tiling, shapes, everyShape }] of OTHER_TILINGS.entries()) {
        for (const [vi, v] of VARIANTS.entries()) {
          for (const [si, shape] of shapes.entries()) {
            // Each shader compile costs: the padded tiling runs one shape on NT and one on TN.
            if (!everyShape && !((v === 'NT' && si === 0) || (v === 'TN' && si === 1))) continue;
            const spec = specFor(v, shape, si === 0 ? { bias: true, activation: { name: 'relu' } } : {});
            await check(engine, problem(spec, 5000 + 100 * ti + 10 * vi + si), tiling);
          }
        }
      }
    },
  },
];

const EPILOGUES: { label: string; extra: Partial<MatmulSpec>; variants: ('NN' | 'NT' | 'TN')[] }[] = [
  { label: 'bias', extra: { bias: true }, variants: ['NN', 'NT', 'TN'] },
  { label: 'bias+relu', extra: { bias: true, activation: { name: 'relu' } }, variants: ['NN', 'NT'] },
  { label: 'bias+sigmoid', extra: { bias: true, activation: { name: 'sigmoid' } }, variants: ['NN', 'NT'] },
  {
    label: 'bias+gelu+pre',
    extra: { bias: true, activation: { name: 'gelu' }, writePreActivation: true },
    variants: ['NN', 'NT'],
  },
  {
    label: 'relu+pre',
    extra: { activation: { name: 'relu' }, writePreActivation: true },
    variants: ['NN', 'NT'],
  },
];

const epilogueCases: KernelCase[] = EPILOGUES.map(({ label, extra, variants }, ei) => ({
  name: `matmul epilogue ${label}: ${variants.join(', ')} against float64 and activationReference`,
  async run(engine: Engine) {
    for (const [vi, v] of variants.entries()) {
      await check(engine, problem(specFor(v, EPILOGUE_SHAPES[v], extra), 20000 + 1000 * ei + 10 * vi));
    }
  },
}));

const accumulateCases: KernelCase[] = [
  {
    name: 'matmul accumulate: C += A·B for NN, NT, TN, and twice in a row',
    async run(engine: Engine) {
      for (const [vi, v] of (['NN', 'NT', 'TN'] as const).entries()) {
        await check(engine, problem(specFor(v, EPILOGUE_SHAPES[v], { accumulate: true }), 30000 + 10 * vi));
      }
      // C0 + A1·B1 + A2·B2 in one buffer: the gradient of two micro-batches.
      const spec = specFor('TN', EPILOGUE_SHAPES.TN, { accumulate: true });
      const p1 = problem(spec, 31000);
      const p2 = problem(spec, 31100);
      const c0 = p1.c0 ?? new Float32Array(0);
      const a = engine.createBufferWithData(p1.a, STORAGE(), 'matmul test A1');
      const b = engine.createBufferWithData(p1.b, STORAGE(), 'matmul test B1');
      const a2 = engine.createBufferWithData(p2.a, STORAGE(), 'matmul test A2');
      const b2 = engine.createBufferWithData(p2.b, STORAGE(), 'matmul test B2');
      const c = engine.createBufferWithData(c0, STORAGE(), 'matmul test C');
      encodeMatmul(engine, spec, { a, b, c });
      encodeMatmul(engine, spec, { a: a2, b: b2, c });
      const got = new Float32Array(await engine.read(c, 4 * c0.length, 'matmul test C'));
      for (const buf of [a, b, a2, b2, c]) engine.releaseBuffer(buf);
      const first = matmulReference(spec, p1.a, p1.b, undefined, c0).c;
      const ref = matmulReference(spec, p2.a, p2.b, undefined, first).c;
      // Two sums of k + 1 terms in a row: at most γ_(2k+2) of all the magnitudes.
      const plain = { ...spec, accumulate: false };
      const abs = (x: Float32Array) => Float64Array.from(x, Math.abs);
      const m1 = matmulReference(plain, abs(p1.a), abs(p1.b)).c;
      const m2 = matmulReference(plain, abs(p2.a), abs(p2.b)).c;
      const bound = m1.map((v, i) => gamma(2 * spec.k + 2) * (v + (m2[i] ?? 0) + Math.abs(c0[i] ?? 0)));
      expectWithin(got, ref, bound, 'TN accumulate twice');
    },
  },
];

const nanCases: KernelCase[] = [
  {
    name: 'matmul NaN: a NaN in A, B, bias or C0 gives NaN in exactly the rows/columns it touches',
    async run(engine: Engine) {
      for (const v of ['NN', 'NT', 'TN'] as const) {
        const shape = EPILOGUE_SHAPES[v];
        const [m, n, k] = shape;
        const row = 5;
        const col = 7;
        const depth = 3;
        // A NaN at op(A)[row, depth] poisons row `row` of C; one at op(B)[depth, col] or
        // bias[col], column `col` (through relu too); one in C0, that element only.
        for (const where of ['A', 'B', 'bias', 'C0'] as const) {
          const extra: Partial<MatmulSpec> =
            where === 'C0' ? { accumulate: true } : { bias: true, activation: { name: 'relu' } };
          const p = problem(specFor(v, shape, extra), 40000);
          const spec = p.spec;
          if (where === 'A') p.a[spec.transA ? depth * m + row : row * k + depth] = NaN;
          if (where === 'B') p.b[spec.transB ? col * k + depth : depth * n + col] = NaN;
          if (where === 'bias' && p.bias) p.bias[col] = NaN;
          if (where === 'C0' && p.c0) p.c0[row * n + col] = NaN;
          const what = `${describe(spec)} NaN in ${where}`;
          await check(engine, p);
          // Independently of the reference: which elements are NaN.
          const c = (await runGpu(engine, p)).c;
          for (let i = 0; i < m; i++) {
            for (let j = 0; j < n; j++) {
              const expected =
                where === 'A' ? i === row : where === 'C0' ? i === row && j === col : j === col;
              expectEqual(Number.isNaN(c[i * n + j]), expected, `${what}: C[${i}, ${j}] is NaN`);
            }
          }
        }
      }
    },
  },
];

const gridCases: KernelCase[] = [
  {
    name: 'matmul folds a grid of more than maxComputeWorkgroupsPerDimension tiles into two dimensions',
    async run(engine: Engine) {
      // One-thread workgroups of a 4×4 tile keep the data small: m = 4·(max + 2) rows.
      const tiling: MatmulTiling = { wgX: 1, wgY: 1, bm: 1, bn: 1, tk: 4, pad: false };
      const max = engine.limits.maxComputeWorkgroupsPerDimension;
      const m = 4 * (max + 2) - 1;
      const grid = engine.dispatchGrid(Math.ceil(m / 4), 1);
      if (grid[1] < 2) throw new Error(`expected a folded grid for ${m} rows, got ${grid.join('x')}`);
      await check(engine, problem(specFor('TN', [m, 3, 2], { bias: true }), 50000), tiling);
    },
  },
];

const validationCases: KernelCase[] = [
  {
    name: 'matmul validation: bad sizes, missing buffers, accumulate with an epilogue, small buffers',
    async run(engine: Engine) {
      const buf = (floats: number, label: string) =>
        engine.createBuffer({ size: 4 * floats, usage: STORAGE(), label });
      const a = buf(16, 'A16');
      const b = buf(16, 'B16');
      const c = buf(16, 'C16');
      const small = buf(10, 'small');
      const before = engine.stats().dispatches;
      const ok = { m: 4, n: 4, k: 4 };
      for (const [dim, value] of [
        ['m', 0],
        ['n', 1.5],
        ['k', -3],
        ['m', NaN],
      ] as const) {
        await expectError(
          () => encodeMatmul(engine, { ...ok, [dim]: value }, { a, b, c }),
          RangeError,
          [new RegExp(`${dim} must be a positive integer`), new RegExp(`got ${value}`)],
          `${dim} = ${value}`,
        );
      }
      await expectError(
        () => encodeMatmul(engine, { ...ok, bias: true }, { a, b, c }),
        TypeError,
        [/bias/, /no bias buffer/],
        'bias without a buffer',
      );
      await expectError(
        () => encodeMatmul(engine, { ...ok, writePreActivation: true }, { a, b, c }),
        TypeError,
        [/writePreActivation/, /no preActivation buffer/],
        'pre-activation without a buffer',
      );
      for (const extra of [
        { bias: true },
        { activation: { name: 'relu' } as ActivationSpec },
        { writePreActivation: true },
      ]) {
        await expectError(
          () =>
            encodeMatmul(
              engine,
              { ...ok, accumulate: true, ...extra },
              { a, b, c, bias: b, preActivation: small },
            ),
          TypeError,
          [/accumulate/, /cannot be combined/],
          `accumulate with ${JSON.stringify(extra)}`,
        );
      }
      await expectError(
        () => encodeMatmul(engine, { m: 4, n: 4, k: 3, transA: true }, { a: small, b, c }),
        RangeError,
        [/\(3x4\)ᵀ·3x4/, /buffer A \("small"\) has 40 bytes; \[3, 4\] f32 needs 48/],
        'A too small',
      );
      await expectError(
        () => encodeMatmul(engine, { m: 2, n: 5, k: 3, transB: true }, { a, b: small, c }),
        RangeError,
        [/buffer B \("small"\) has 40 bytes; \[5, 3\] f32 needs 60/],
        'B too small',
      );
      await expectError(
        () => encodeMatmul(engine, { m: 3, n: 4, k: 1 }, { a, b, c: small }),
        RangeError,
        [/buffer C \("small"\) has 40 bytes; \[3, 4\] f32 needs 48/],
        'C too small',
      );
      const c48 = buf(48, 'C48');
      await expectError(
        () => encodeMatmul(engine, { ...ok, n: 12, k: 1, bias: true }, { a, b, c: c48, bias: small }),
        RangeError,
        [/buffer bias \("small"\) has 40 bytes; \[12\] f32 needs 48/],
        'bias too small',
      );
      await expectError(
        () => encodeMatmul(engine, ok, { a, b, c: a }),
        TypeError,
        [/A and an output are the same buffer "A16"/],
        'C aliasing A',
      );
      await expectError(
        () => matmulReference({ ...ok, accumulate: true }, new Float32Array(16), new Float32Array(16)),
        RangeError,
        [/accumulate needs the initial C/],
        'reference: accumulate without C0',
      );
      expectEqual(engine.stats().dispatches, before, 'dispatches after refused calls');
      for (const x of [a, b, c, small, c48]) engine.releaseBuffer(x);
    },
  },
];

/**
 * The bias gradient in the weight gradient's pass (spec.columnSums, TN only): every tile kind
 * of matmulTiling, vec4 and scalar C, edge tiles, a C of at most 8 rows (the tiled kernel all
 * the same), a padded k-step-16 tiling, and accumulation into both outputs.
 */
const COLUMN_SUM_SHAPES: [number, number, number][] = [
  [784, 64, 8], // dW and db of a 784→64 layer at batch 8: vec4 C, k inside one step
  [300, 68, 37], // a CPU profile's 128×64 weight-gradient tile: edge tiles, vec4 C
  [257, 70, 17], // the same, scalar C, one row into the third tile
  [65, 33, 17], // scalar C, edge tiles along every axis
  [40, 20, 9], // a 32-column tile
  [512, 10, 33], // the 128×16 tile of a 10-wide layer
  [3, 5, 7], // at most 8 rows of C
];

/**
 * Runs `p` (a TN spec) with columnSums into a buffer holding `sums0` (or the sentinel) and a
 * tail; checks C as check() does, the sums against Σ_p B[p, j] (+ sums0) within
 * γ_(k+1)·(Σ_p |B[p, j]| + |sums0_j|), the tails, and that it was one dispatch.
 */
async function checkColumnSums(
  engine: Engine,
  p: Problem,
  sums0: Float32Array | undefined,
  tiling?: MatmulTiling,
): Promise<void> {
  const { m, n, k } = p.spec;
  const spec: MatmulSpec = { ...p.spec, columnSums: true };
  const what = `${describe(spec)} + column sums${tiling ? ` tiling ${JSON.stringify(tiling)}` : ''}`;
  const withTail = (len: number, init?: Float32Array) => {
    const data = new Float32Array(len + TAIL).fill(SENTINEL);
    if (init) data.set(init);
    return data;
  };
  const made = [
    engine.createBufferWithData(p.a, STORAGE(), 'sums test A'),
    engine.createBufferWithData(p.b, STORAGE(), 'sums test B'),
    engine.createBufferWithData(withTail(m * n, p.c0), STORAGE(), 'sums test C'),
    engine.createBufferWithData(withTail(n, sums0), STORAGE(), 'sums test sums'),
  ] as const;
  const [a, b, c, sums] = made;
  try {
    const before = engine.stats().dispatches;
    encodeMatmul(engine, spec, { a, b, c, columnSums: sums }, 'sums_test', tiling);
    const dispatches = (tiling?.splitK ?? 1) > 1 ? 2 : 1; // a split adds its reduction
    expectEqual(engine.stats().dispatches - before, dispatches, `${what}: dispatches`);
    const gotC = new Float32Array(await engine.read(c, 4 * (m * n + TAIL), 'sums test C'));
    const gotS = new Float32Array(await engine.read(sums, 4 * (n + TAIL), 'sums test sums'));
    expectTail(gotC, m * n, `${what} C`);
    expectTail(gotS, n, `${what} sums`);
    const ref = matmulReference(p.spec, p.a, p.b, undefined, p.c0);
    expectWithin(gotC.subarray(0, m * n), ref.c, productBound(p), `${what} C`);
    const expected = new Float64Array(n);
    const allowed = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      let sum = sums0?.[j] ?? 0;
      let mag = Math.abs(sums0?.[j] ?? 0);
      for (let q = 0; q < k; q++) {
        const v = p.b[q * n + j] ?? NaN;
        sum += v;
        mag += Math.abs(v);
      }
      expected[j] = sum;
      allowed[j] = gamma(k + 1) * mag;
    }
    expectWithin(gotS.subarray(0, n), expected, allowed, `${what} sums`);
  } finally {
    for (const buf of made) engine.releaseBuffer(buf);
  }
}

const columnSumCases: KernelCase[] = [
  {
    name: 'matmul column sums: dW = Xᵀ·dY and db = Σ rows of dY in one TN dispatch, against float64',
    async run(engine: Engine) {
      for (const [si, shape] of COLUMN_SUM_SHAPES.entries()) {
        await checkColumnSums(engine, problem(specFor('TN', shape), 60000 + 10 * si), undefined);
      }
      const padded: MatmulTiling = { wgX: 4, wgY: 8, bm: 1, bn: 2, tk: 16, pad: true };
      await checkColumnSums(engine, problem(specFor('TN', [36, 40, 44]), 60100), undefined, padded);
      // Accumulating: C += Xᵀ·dY and sums += Σ rows, the second micro-batch of a gradient
      // (vec4 C, scalar C, and a CPU profile's weight-gradient tile with a scalar C).
      const accumulated: [number, number, number][] = [
        [784, 64, 8],
        [65, 33, 17],
        [257, 70, 17],
      ];
      for (const [si, shape] of accumulated.entries()) {
        const p = problem(specFor('TN', shape, { accumulate: true }), 60200 + 10 * si);
        await checkColumnSums(engine, p, uniformF32(shape[1], -2, 2, 60300 + si));
      }
    },
  },
  {
    name: 'matmul column sums: refused with a transpose other than TN, an epilogue or the thin kernel',
    async run(engine: Engine) {
      const buf = (floats: number, label: string) =>
        engine.createBuffer({ size: 4 * floats, usage: STORAGE(), label });
      const [a, b, c, s] = [buf(16, 'A16'), buf(16, 'B16'), buf(16, 'C16'), buf(4, 'S4')];
      const before = engine.stats().dispatches;
      const tn = { m: 4, n: 4, k: 4, transA: true, columnSums: true };
      for (const [extra, name] of [
        [{ transA: false }, /an untransposed A/],
        [{ transB: true }, /transB/],
        [{ bias: true }, /bias/],
        [{ activation: { name: 'relu' } as ActivationSpec }, /activation 'relu'/],
      ] as const) {
        await expectError(
          () => encodeMatmul(engine, { ...tn, ...extra }, { a, b, c, columnSums: s, bias: s }),
          TypeError,
          [/columnSums/, /cannot be combined with/, name],
          `columnSums with ${JSON.stringify(extra)}`,
        );
      }
      await expectError(
        () => encodeMatmul(engine, tn, { a, b, c }),
        TypeError,
        [/spec.columnSums is set but no columnSums buffer/],
        'columnSums without a buffer',
      );
      await expectError(
        () => encodeMatmul(engine, tn, { a, b, c, columnSums: c }),
        TypeError,
        [/same buffer "C16"/],
        'sums aliasing C',
      );
      await expectError(
        () => encodeMatmul(engine, tn, { a, b, c, columnSums: s }, 'sums', { quads: 16, slices: 1 }),
        TypeError,
        [/columnSums runs the tiled kernel/],
        'thin tiling',
      );
      expectEqual(engine.stats().dispatches, before, 'dispatches after refused calls');
      for (const x of [a, b, c, s]) engine.releaseBuffer(x);
    },
  },
];

/**
 * Split k (tiling.splitK): the chunks' partial products added in order by a second kernel
 * that applies the epilogue. Any order of the k products stays within the γ_(k+1) bound, so
 * the same checks hold. Chunks of whole k-steps, the last one short; more chunks asked for
 * than k-steps; every epilogue; the column sums in the row after each chunk's product.
 */
const SPLIT_TILING: MatmulTiling = { ...DEFAULT_TILING, bm: 1, bn: 1, tk: 16 };
const splitCases: KernelCase[] = [
  {
    name: 'matmul split k: 2 to 16 chunks, every variant and epilogue, against float64',
    async run(engine: Engine) {
      const runs: {
        v: Variant;
        shape: [number, number, number];
        splitK: number;
        extra: Partial<MatmulSpec>;
      }[] = [
        { v: 'NN', shape: [40, 64, 300], splitK: 4, extra: { bias: true, activation: { name: 'relu' } } },
        {
          v: 'NN',
          shape: [9, 33, 100],
          splitK: 3,
          extra: { bias: true, activation: { name: 'gelu' }, writePreActivation: true },
        },
        { v: 'NT', shape: [33, 30, 257], splitK: 16, extra: {} },
        { v: 'NT', shape: [40, 64, 300], splitK: 2, extra: { accumulate: true } },
        { v: 'TN', shape: [64, 10, 130], splitK: 5, extra: { bias: true, activation: { name: 'sigmoid' } } },
        { v: 'TT', shape: [12, 16, 64], splitK: 2, extra: {} },
      ];
      for (const [ri, r] of runs.entries()) {
        const before = engine.stats().dispatches;
        await check(engine, problem(specFor(r.v, r.shape, r.extra), 70000 + 10 * ri), {
          ...SPLIT_TILING,
          splitK: r.splitK,
        });
        expectEqual(
          engine.stats().dispatches - before,
          2,
          `${r.v} split ${r.splitK}: chunks, then their sum`,
        );
      }
      await checkColumnSums(engine, problem(specFor('TN', [8, 300, 130]), 70100), undefined, {
        ...SPLIT_TILING,
        splitK: 2,
      });
      const acc = problem(specFor('TN', [65, 33, 70], { accumulate: true }), 70200);
      await checkColumnSums(engine, acc, uniformF32(33, -2, 2, 70300), { ...SPLIT_TILING, splitK: 3 });
    },
  },
  {
    name: 'matmul split k: chunks of whole k-steps (one chunk: no split); bad splitK refused',
    async run(engine: Engine) {
      // k = 16 is one k-step: 4 chunks asked for make one, the plain product in one dispatch;
      // k = 40 is three: 8 asked for make three, two dispatches.
      for (const [k, dispatches] of [
        [16, 1],
        [40, 2],
      ] as const) {
        const before = engine.stats().dispatches;
        await check(engine, problem(specFor('NN', [20, 24, k], { bias: true }), 70400 + k), {
          ...SPLIT_TILING,
          splitK: k === 16 ? 4 : 8,
        });
        expectEqual(engine.stats().dispatches - before, dispatches, `k ${k}: dispatches`);
      }
      const [a, b, c] = ['A', 'B', 'C'].map((x) =>
        engine.createBuffer({ size: 64, usage: STORAGE(), label: x }),
      );
      if (!a || !b || !c) throw new Error('test setup: buffers');
      await expectError(
        () => encodeMatmul(engine, { m: 4, n: 4, k: 4 }, { a, b, c }, 'x', { ...SPLIT_TILING, splitK: 0 }),
        RangeError,
        [/splitK must be a positive integer/],
        'splitK 0',
      );
      for (const buf of [a, b, c]) engine.releaseBuffer(buf);
    },
  },
];

/**
 * Register prefetch (tiling.prefetch): the next k-step's windows loaded into registers while
 * this step's products run. Every variant and epilogue, edge tiles, one k-step (nothing to
 * prefetch) and many with a short last one, a tiling whose slots do not divide its threads
 * (some threads hold one slot fewer), and prefetch with split k and with the column sums.
 */
const PREFETCH_TILINGS: MatmulTiling[] = [
  { ...DEFAULT_TILING, tk: 16, prefetch: true },
  // 8 threads, TM 24, TN 16, k-step 12: 72 A slots, 48 B slots (NN) or 12 blocks (NT).
  { wgX: 4, wgY: 2, bm: 3, bn: 1, tk: 12, pad: true, prefetch: true },
];
const prefetchCases: KernelCase[] = [
  {
    name: 'matmul register prefetch: every variant and epilogue, edge tiles, split k and column sums, against float64',
    async run(engine: Engine) {
      // Each prefetch shader takes lavapipe 3–5 s to compile: the runs share them out.
      const [wide, odd] = PREFETCH_TILINGS;
      if (!wide || !odd) throw new Error('two prefetch tilings expected');
      const runs: {
        v: Variant;
        shape: [number, number, number];
        extra: Partial<MatmulSpec>;
        t: MatmulTiling;
      }[] = [
        { v: 'NN', shape: [70, 66, 100], extra: { bias: true, activation: { name: 'relu' } }, t: wide },
        {
          v: 'NT',
          shape: [65, 33, 41],
          extra: { bias: true, activation: { name: 'gelu' }, writePreActivation: true },
          t: wide,
        },
        { v: 'TN', shape: [40, 36, 130], extra: { bias: true, activation: { name: 'sigmoid' } }, t: wide },
        { v: 'TT', shape: [12, 20, 50], extra: {}, t: wide },
        { v: 'NN', shape: [33, 17, 12], extra: {}, t: odd }, // one k-step: nothing to prefetch
        { v: 'NT', shape: [9, 64, 29], extra: { accumulate: true }, t: odd }, // 12 blocks, 8 threads
        { v: 'NN', shape: [40, 64, 300], extra: { bias: true }, t: { ...wide, splitK: 3 } },
      ];
      for (const [ri, r] of runs.entries()) {
        await check(engine, problem(specFor(r.v, r.shape, r.extra), 80000 + 10 * ri), r.t);
      }
      const acc = problem(specFor('TN', [65, 33, 70], { accumulate: true }), 80700);
      await checkColumnSums(engine, acc, uniformF32(33, -2, 2, 80800), { ...wide, splitK: 2 });
      const buf = (label: string) => engine.createBuffer({ size: 4 * 256, usage: STORAGE(), label });
      const [a, b, c] = [buf('A'), buf('B'), buf('C')];
      await expectError(
        () =>
          encodeMatmul(engine, specFor('NN', [16, 16, 16]), { a, b, c }, 'prefetch_test', {
            ...wide,
            prefetch: 'yes' as unknown as boolean,
          }),
        RangeError,
        [/prefetch must be true or false, got yes/],
        'a prefetch that is not a boolean',
      );
      await expectError(
        () =>
          encodeMatmul(engine, specFor('NN', [16, 16, 16]), { a, b, c }, 'prefetch_test', {
            ...wide,
            prefetchh: true,
          } as MatmulTiling),
        RangeError,
        [/unknown key 'prefetchh'; did you mean 'prefetch'\?/],
        'a misspelt tiling key',
      );
      for (const x of [a, b, c]) engine.releaseBuffer(x);
    },
  },
];

export const cases: KernelCase[] = [
  ...variantCases,
  ...tilingCases,
  ...epilogueCases,
  ...accumulateCases,
  ...columnSumCases,
  ...splitCases,
  ...prefetchCases,
  ...nanCases,
  ...gridCases,
  ...validationCases,
];
