/**
 * Activation kernels (forward, gradient from x and from y, accumulate, in place) and
 * row-wise softmax (forward, backward) against the float64 references.
 *
 * Tolerances are per element, from WGSL's precision rules. U = 2^-23 bounds one ULP
 * relative to the value. E(x) = (3 + 2|x|)·U is WGSL's exp bound. FTZ = 2^-126 is added
 * everywhere (WGSL lets an implementation flush subnormals to zero).
 * - linear, relu: exact. leaky_relu, hard_sigmoid: one or two roundings (α and 0.2 as f32),
 *   2–3 U.
 * - elu/selu x ≤ 0: α·expm1(x). The shader uses a Taylor polynomial for |x| < 0.5 (6 U) and
 *   exp(x) − 1 beyond, where exp's E(x) grows by κ = eˣ/|eˣ − 1| (at most 2.5): E(x)·κ + 4 U.
 *   Gradient α·eˣ: E(x) + 2 U.
 * - sigmoid, softplus, exponential: exp's E(x) plus the few roundings of the stable forms
 *   (e/(1 + e), 1/(1 + e), e/(1 + e)², the atanh series of log1p): E(x) + 6–8 U.
 * - tanh = −m/(2 + m), m = expm1(−2|x|): twice expm1's error (polynomial 3 U, or
 *   E(2x)·κ) + 5 U. Its derivative 4e/(1 + e)², e = exp(−2|x|): E(2x) + 6 U.
 * - softsign: 4 U; its derivative 6 U.
 * - gelu: the shader's erf (Abramowitz–Stegun 7.1.26) errs by 1.5e-7 absolute, so
 *   f: |x|·(0.75e-7 + 2 U) absolute + 4 U; f': 0.75e-7 + 4 U absolute + 4 U.
 * - gelu_tanh = x·σ(2u): 2u carries ~5 rounding steps (7|2u|·U with exp's 2|2u|) on top of
 *   σ's: (9 + 7|2u|)·U; its derivative has a zero near x = −0.75 where the two terms cancel,
 *   so the bound is taken on the sum of the terms' magnitudes.
 * - Gradient from the output y: y is an f32, so up to |g'(y)|·ulp(y)/2 is lost before any
 *   arithmetic (g the from-y formula; max |g'| is 1 for elu, selu, sigmoid, softplus, 2 for
 *   tanh, softsign): 2·max|g'|·ulp(y) absolute (gyCond), times |dy|, plus 2–3 U (12 U for
 *   softplus's −expm1(−y)).
 * - A gradient is dy·f': the f' bound times |dy|, plus one rounding; accumulate adds one
 *   more rounding of |dx₀| + |dy·f'|.
 * - Softmax: y_j = e_j/s: E(x_j − m) for e_j, the sum's error (Σ_k y_k·E(x_k − m) plus one U
 *   per addition on its longest path: ceil(cols/T) + log2 T, T threads per row), 3 U for
 *   the division. Softmax backward: dot = Σ dy·y errs by (path + 2)·U·Σ|dy·y| absolute,
 *   times y_j, plus 2 U.
 * The float64 references' analytic derivatives are checked against central differences
 * (eps 1e-6; atol 1e-5, rtol 1e-3, PyTorch gradcheck's).
 */
import { emptyTensor, tensor, type Engine } from '../../src/index.js';
import {
  ACTIVATIONS,
  activationFromY,
  activationReference,
  encodeActivation,
  encodeActivationGrad,
  encodeSoftmax,
  encodeSoftmaxGrad,
  softmaxGradReference,
  softmaxReference,
  softmaxThreadsPerRow,
  type Activation,
  type SoftmaxOptions,
  type ActivationSpec,
} from '../../src/kernels/activations.js';
import { activationGradShader } from '../../shaders/activations.js';
import {
  closeEnough,
  expectClose,
  expectEqual,
  expectError,
  KernelMismatchError,
  rng,
  uniformF32,
  type Tolerance,
} from '../harness.js';
import type { KernelCase } from './types.js';

const U = 2 ** -23;
const FTZ = 2 ** -126;
/** WGSL's exp(x) bound, relative. */
const E = (x: number) => (3 + 2 * Math.abs(x)) * U;
/** ulp of an f32 value (subnormal spacing below 2^-126). */
function ulp(v: number): number {
  const a = Math.abs(v);
  if (!Number.isFinite(a)) return 0;
  return a < 2 ** -126 ? 2 ** -149 : 2 ** (Math.floor(Math.log2(a)) - 23);
}
/** How much exp(x) − 1 magnifies exp's relative error. */
const kappa = (x: number) => Math.exp(x) / Math.abs(Math.expm1(x));
/** Relative error of the shader's expm1_stable(x). */
const expm1Err = (x: number) => (Math.abs(x) < 0.5 ? 3 * U : E(x) * kappa(x) + U);
const sigmoid = (x: number) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));
const GELU_TANH_2K = 2 * Math.sqrt(2 / Math.PI);

const rel = (r: number): Tolerance => ({ atol: 0, rtol: r });
const EXACT_TOL: Tolerance = { atol: 0, rtol: 0 };

interface ActivationTolerance {
  /** Bound on f(x). */
  f(x: number): Tolerance;
  /** Bound on f'(x) from x. */
  gx(x: number): Tolerance;
  /** Bound on f'(x) from the f32 output y (the ulp(y) term is added by the caller). */
  gy: Tolerance;
  /** max |g'(y)| of the from-y formula: ulp(y) multiplier. */
  gyCond: number;
}

const TOLERANCES: Record<Activation, ActivationTolerance> = {
  linear: { f: () => EXACT_TOL, gx: () => EXACT_TOL, gy: EXACT_TOL, gyCond: 0 },
  relu: { f: () => EXACT_TOL, gx: () => EXACT_TOL, gy: EXACT_TOL, gyCond: 0 },
  leaky_relu: { f: () => rel(2 * U), gx: () => rel(U), gy: rel(U), gyCond: 0 },
  hard_sigmoid: { f: () => rel(3 * U), gx: () => rel(U), gy: rel(U), gyCond: 0 },
  elu: {
    f: (x) => rel(x > 0 ? 0 : expm1Err(x) + 4 * U),
    gx: (x) => rel(x > 0 ? 0 : E(x) + 2 * U),
    gy: rel(2 * U),
    gyCond: 2,
  },
  selu: {
    f: (x) => rel(x > 0 ? 2 * U : expm1Err(x) + 4 * U),
    gx: (x) => rel(x > 0 ? U : E(x) + 2 * U),
    gy: rel(2 * U),
    gyCond: 2,
  },
  sigmoid: { f: (x) => rel(E(x) + 6 * U), gx: (x) => rel(E(x) + 8 * U), gy: rel(3 * U), gyCond: 2 },
  tanh: {
    f: (x) => rel(2 * expm1Err(-2 * Math.abs(x)) + 5 * U),
    gx: (x) => rel(E(2 * x) + 6 * U),
    gy: rel(3 * U),
    gyCond: 4,
  },
  softplus: {
    f: (x) => rel(E(x) + 8 * U),
    gx: (x) => rel(E(x) + 6 * U),
    // −expm1(−y): for y < 0.5 the polynomial, beyond exp with κ; y ≤ 100 in these tests.
    gy: rel(12 * U),
    gyCond: 2,
  },
  softsign: { f: () => rel(4 * U), gx: () => rel(6 * U), gy: rel(3 * U), gyCond: 4 },
  exponential: { f: (x) => rel(E(x) + U), gx: (x) => rel(E(x) + U), gy: rel(U), gyCond: 0 },
  gelu: {
    f: (x) => ({ atol: Math.abs(x) * (0.75e-7 + 2 * U), rtol: 4 * U }),
    gx: () => ({ atol: 0.75e-7 + 4 * U, rtol: 4 * U }),
    gy: EXACT_TOL,
    gyCond: 0,
  },
  gelu_tanh: {
    f: (x) => {
      const u2 = GELU_TANH_2K * (x + 0.044715 * x ** 3);
      return rel((9 + 7 * Math.abs(u2)) * U);
    },
    gx: (x) => {
      const u2 = GELU_TANH_2K * (x + 0.044715 * x ** 3);
      const s = sigmoid(u2);
      const terms = s + Math.abs(x * s * (1 - s) * GELU_TANH_2K * (1 + 0.134145 * x * x));
      return { atol: terms * (13 + 7 * Math.abs(u2)) * U, rtol: 0 };
    },
    gy: EXACT_TOL,
    gyCond: 0,
  },
};

/** Default parameters plus the α variants tf.keras allows (negative α: no gradient from y). */
const SPECS: ActivationSpec[] = ACTIVATIONS.flatMap((name): ActivationSpec[] => {
  if (name === 'elu') return [{ name }, { name, alpha: 0.5 }, { name, alpha: -0.5 }];
  if (name === 'leaky_relu') return [{ name }, { name, alpha: 0.01 }, { name, alpha: -0.1 }];
  return [{ name }];
});

const describeSpec = (s: ActivationSpec) => (s.alpha === undefined ? s.name : `${s.name}(α=${s.alpha})`);

/**
 * Every branch: zeros, the kinks (0, ±2.5) and points just beside them, expm1's polynomial
 * boundary (±0.5), and large |x| where exp overflows f32 (x > 88.7) or underflows.
 */
const BRANCH_X: number[] = [0, -0].concat(
  [
    1e-6, 1e-4, 1e-3, 0.01, 0.1, 0.3, 0.49, 0.5, 0.51, 1, 2, 2.4999, 2.5, 2.5001, 3, 5, 8, 10, 15, 20, 30, 50,
    80,
  ]
    .concat([88.5, 89, 100])
    .flatMap((v) => [v, -v]),
);
const SIZES = [1, 255, 257, 3000];

/** n inputs: the branch points first (when they fit), then uniform values in [-6, 6). */
function inputs(n: number, seed: number): Float32Array {
  const x = uniformF32(n, -6, 6, seed);
  if (n >= BRANCH_X.length) x.set(BRANCH_X);
  return x;
}

/** Per-element absolute allowance: |actual − expected| ≤ allowed[i] (NaN/±Inf must match exactly). */
function expectWithin(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  allowed: ArrayLike<number>,
  what: string,
  input?: ArrayLike<number>,
): void {
  expectEqual(actual.length, expected.length, `${what}: length`);
  let count = 0;
  let first = '';
  let worst = '';
  let worstRatio = -1;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i] as number;
    const e = expected[i] as number;
    const tol = allowed[i] as number;
    if (closeEnough(a, e, { atol: tol, rtol: 0 })) continue;
    count++;
    const ratio = Number.isFinite(a - e) ? Math.abs(a - e) / Math.max(tol, Number.MIN_VALUE) : Infinity;
    const at = input ? ` (input ${input[i]})` : '';
    const line = `index ${i}${at}: got ${a}, expected ${e}, |diff| ${Math.abs(a - e).toExponential(3)} > ${tol.toExponential(3)}`;
    if (!first) first = line;
    if (ratio > worstRatio) {
      worstRatio = ratio;
      worst = line;
    }
  }
  if (count > 0) {
    throw new KernelMismatchError(
      `${what}: ${count} of ${expected.length} differ; first ${first}; worst ${worst}`,
    );
  }
}

/** atol + rtol·|e| + FTZ; a bound that is not finite (E(±Inf), 0·Inf) leaves only FTZ: NaN and ±Inf must match exactly. */
function allowance(t: Tolerance, e: number): number {
  const a = t.atol + t.rtol * Math.abs(e);
  return (Number.isFinite(a) ? a : 0) + FTZ;
}

/** Forward, gradient from x and (where defined) from y, for one spec at every size. */
async function checkActivation(engine: Engine, spec: ActivationSpec, seed: number): Promise<void> {
  const ref = activationReference(spec);
  const tol = TOLERANCES[spec.name];
  const name = describeSpec(spec);
  for (const [k, n] of SIZES.entries()) {
    const x = inputs(n, seed + k);
    const dy = uniformF32(n, -1, 1, seed + 100 + k);
    const y32 = Float32Array.from(x, (v) => ref.f(v));
    const xt = tensor(x, [n], 'f32', { engine });
    const yt = tensor(y32, [n], 'f32', { engine });
    const dyt = tensor(dy, [n], 'f32', { engine });
    const out = emptyTensor(engine, [n], 'f32', `activations ${name} out`);

    encodeActivation(engine, spec, xt.buffer, out.buffer, n);
    const fExpected = Float64Array.from(x, (v) => Math.fround(ref.f(v)));
    const fAllowed = fExpected.map((e, i) => allowance(tol.f(x[i] as number), e));
    expectWithin(await out.read(), fExpected, fAllowed, `${name} forward [${n}]`, x);

    // The kernel's f' is an f32 (exp(89) is +Inf before dy scales it): round it, then the product.
    const gExpected = Float64Array.from(x, (v, i) => Math.fround((dy[i] as number) * Math.fround(ref.df(v))));
    const gAllowed = Float64Array.from(x, (v, i) => {
      const d = Math.abs(dy[i] as number);
      return d * allowance(tol.gx(v), ref.df(v)) + U * Math.abs(gExpected[i] as number);
    });
    encodeActivationGrad(engine, spec, 'x', xt.buffer, dyt.buffer, out.buffer, n);
    expectWithin(await out.read(), gExpected, gAllowed, `${name} gradient from x [${n}]`, x);

    if (activationFromY(spec)) {
      const yAllowed = Float64Array.from(x, (v, i) => {
        const d = Math.abs(dy[i] as number);
        const g = ref.df(v);
        return (
          d * (allowance(tol.gy, g) + tol.gyCond * ulp(y32[i] as number)) +
          U * Math.abs(gExpected[i] as number)
        );
      });
      encodeActivationGrad(engine, spec, 'y', yt.buffer, dyt.buffer, out.buffer, n);
      expectWithin(await out.read(), gExpected, yAllowed, `${name} gradient from y [${n}]`, x);
    }
    for (const t of [xt, yt, dyt, out]) t.dispose();
  }
}

const perActivationCases: KernelCase[] = SPECS.map((spec, i) => ({
  name: `activations ${describeSpec(spec)}: forward and gradients (from x${activationFromY(spec) ? ' and y' : ''}) against float64, sizes 1..3000`,
  run: (engine: Engine) => checkActivation(engine, spec, 1000 + 10 * i),
}));

/** Points for the finite-difference check, kept 1e-3 away from each function's kinks. */
const KINKS: Partial<Record<Activation, number[]>> = {
  relu: [0],
  leaky_relu: [0],
  elu: [0],
  selu: [0],
  hard_sigmoid: [-2.5, 2.5],
};

const referenceCases: KernelCase[] = [
  {
    name: 'activations: float64 analytic derivatives match central differences (eps 1e-6)',
    run() {
      const h = 1e-6;
      const grid = Array.from({ length: 201 }, (_, i) => -20 + 0.2 * i + 0.0123).concat([-80, -30, 30, 80]);
      for (const spec of SPECS) {
        const ref = activationReference(spec);
        const kinks = KINKS[spec.name] ?? [];
        const xs = grid.filter((x) => kinks.every((k) => Math.abs(x - k) > 1e-3));
        const numeric = xs.map((x) => (ref.f(x + h) - ref.f(x - h)) / (2 * h));
        expectClose(
          xs.map((x) => ref.df(x)),
          numeric,
          { atol: 1e-5, rtol: 1e-3 },
          `${describeSpec(spec)} df vs central differences`,
        );
      }
      return Promise.resolve();
    },
  },
];

const SPECIAL = new Float32Array([NaN, Infinity, -Infinity, 1, -1, 3, -3, 0]);
/** Where x², x³ (and for 3e38 even 2x) overflow f32, and the infinities. */
const HUGE_X = new Float32Array([1e20, -1e20, 3e38, -3e38, Infinity, -Infinity]);

const specialCases: KernelCase[] = [
  {
    name: 'activations NaN and ±Inf: NaN in gives NaN out forward and backward (x, y or dy NaN)',
    async run(engine: Engine) {
      const n = SPECIAL.length;
      const xt = tensor(SPECIAL, [n], 'f32', { engine });
      const ones = tensor(new Float32Array(n).fill(1), [n], 'f32', { engine });
      const nanDy = tensor(new Float32Array(n).fill(NaN), [n], 'f32', { engine });
      const out = emptyTensor(engine, [n], 'f32', 'activations special out');
      for (const spec of SPECS) {
        const ref = activationReference(spec);
        const name = describeSpec(spec);
        // Forward over NaN, ±Inf and finite points: like float64 (NaN where it gives NaN).
        encodeActivation(engine, spec, xt.buffer, out.buffer, n);
        const fExp = Float64Array.from(SPECIAL, (v) => Math.fround(ref.f(v)));
        const fTol = Float64Array.from(SPECIAL, (v, i) =>
          allowance(TOLERANCES[spec.name].f(v), fExp[i] as number),
        );
        expectWithin(await out.read(), fExp, fTol, `${name} of NaN/±Inf/±1/±3/0`, SPECIAL);
        // Gradient from x at NaN: NaN (dy = 1).
        encodeActivationGrad(engine, spec, 'x', xt.buffer, ones.buffer, out.buffer, n);
        expectEqual(Number.isNaN((await out.read())[0]), true, `${name} gradient from x at NaN`);
        // dy NaN: NaN everywhere, also where f' = 0 (relu at −1, hard_sigmoid at ±3).
        encodeActivationGrad(engine, spec, 'x', xt.buffer, nanDy.buffer, out.buffer, n);
        expectClose(
          await out.read(),
          new Float64Array(n).fill(NaN),
          EXACT_TOL,
          `${name} gradient from x, dy NaN`,
        );
        if (activationFromY(spec)) {
          encodeActivationGrad(engine, spec, 'y', xt.buffer, ones.buffer, out.buffer, n);
          expectEqual(Number.isNaN((await out.read())[0]), true, `${name} gradient from y at y = NaN`);
          encodeActivationGrad(engine, spec, 'y', xt.buffer, nanDy.buffer, out.buffer, n);
          expectClose(
            await out.read(),
            new Float64Array(n).fill(NaN),
            EXACT_TOL,
            `${name} gradient from y, dy NaN`,
          );
        }
      }
      for (const t of [xt, ones, nanDy, out]) t.dispose();
    },
  },
  {
    name: 'activations at huge finite x (±1e20, ±3e38) and ±Inf: forward and gradients from x and y like float64',
    async run(engine: Engine) {
      // f' is 0, 1, α, the SELU scale, ±Inf or NaN at these points (softsign's is below
      // 2^-126), so one rounding and FTZ bound every element; the generic tolerances, which
      // grow with |x| through exp's bound, would accept anything here. Intermediate
      // overflow (x², x³) must not turn a 0·∞ into NaN where float64 has a value.
      const tight: Tolerance = { atol: FTZ, rtol: 2 * U };
      const n = HUGE_X.length;
      const xt = tensor(HUGE_X, [n], 'f32', { engine });
      const ones = tensor(new Float32Array(n).fill(1), [n], 'f32', { engine });
      const out = emptyTensor(engine, [n], 'f32', 'activations huge out');
      for (const spec of SPECS) {
        const ref = activationReference(spec);
        const name = describeSpec(spec);
        const y32 = Float32Array.from(HUGE_X, (v) => ref.f(v));
        const at = `at ${Array.from(HUGE_X).join(', ')}`;
        encodeActivation(engine, spec, xt.buffer, out.buffer, n);
        expectClose(await out.read(), y32, tight, `${name} forward ${at}`);
        const dfExpected = Float64Array.from(HUGE_X, (v) => Math.fround(ref.df(v)));
        encodeActivationGrad(engine, spec, 'x', xt.buffer, ones.buffer, out.buffer, n);
        expectClose(await out.read(), dfExpected, tight, `${name} gradient from x ${at}`);
        if (activationFromY(spec)) {
          // Only where y is a number (softsign(±Inf) is NaN: its gradient from y is NaN too).
          const keep = Array.from(y32.keys()).filter((i) => !Number.isNaN(y32[i]));
          const yt = tensor(y32, [n], 'f32', { engine });
          encodeActivationGrad(engine, spec, 'y', yt.buffer, ones.buffer, out.buffer, n);
          const got = await out.read();
          expectClose(
            keep.map((i) => got[i] ?? NaN),
            keep.map((i) => dfExpected[i] ?? NaN),
            tight,
            `${name} gradient from y ${at}`,
          );
          yt.dispose();
        }
      }
      for (const t of [xt, ones, out]) t.dispose();
    },
  },
  {
    name: 'activations accumulate (dx += dy·f′) and in place (y over x, dx over dy)',
    async run(engine: Engine) {
      const n = 517;
      for (const [i, spec] of [
        { name: 'relu' },
        { name: 'sigmoid' },
        { name: 'tanh' },
        { name: 'gelu' },
      ].entries()) {
        const s = spec as ActivationSpec;
        const ref = activationReference(s);
        const tol = TOLERANCES[s.name];
        const x = inputs(n, 3000 + i);
        const dy = uniformF32(n, -1, 1, 3100 + i);
        const dx0 = uniformF32(n, -3, 3, 3200 + i);
        const y32 = Float32Array.from(x, (v) => ref.f(v));
        const xt = tensor(x, [n], 'f32', { engine });
        const yt = tensor(y32, [n], 'f32', { engine });
        const dyt = tensor(dy, [n], 'f32', { engine });
        for (const from of activationFromY(s) ? (['x', 'y'] as const) : (['x'] as const)) {
          const dxt = tensor(dx0, [n], 'f32', { engine });
          const input = from === 'x' ? xt : yt;
          encodeActivationGrad(engine, s, from, input.buffer, dyt.buffer, dxt.buffer, n, {
            accumulate: true,
          });
          // Twice: the second call must add onto the first's result.
          encodeActivationGrad(engine, s, from, input.buffer, dyt.buffer, dxt.buffer, n, {
            accumulate: true,
          });
          const expected = Float64Array.from(
            x,
            (v, j) => (dx0[j] as number) + 2 * (dy[j] as number) * ref.df(v),
          );
          const allowed = Float64Array.from(x, (v, j) => {
            const g = ref.df(v);
            const d = Math.abs(dy[j] as number);
            const gTol =
              from === 'x'
                ? allowance(tol.gx(v), g)
                : allowance(tol.gy, g) + tol.gyCond * ulp(y32[j] as number);
            return (
              2 * d * (gTol + U * Math.abs(g)) + 2 * U * (Math.abs(dx0[j] as number) + 2 * d * Math.abs(g))
            );
          });
          expectWithin(await dxt.read(), expected, allowed, `${s.name} accumulate from ${from}`, x);
          dxt.dispose();
        }
        // In place: y = f(x) over x's own buffer; dx = dy·f′(x) over dy's buffer.
        const inPlace = tensor(x, [n], 'f32', { engine });
        encodeActivation(engine, s, inPlace.buffer, inPlace.buffer, n);
        const fExp = Float64Array.from(x, (v) => Math.fround(ref.f(v)));
        const fTol = fExp.map((e, j) => allowance(tol.f(x[j] as number), e));
        expectWithin(await inPlace.read(), fExp, fTol, `${s.name} forward in place`, x);
        const grad = tensor(dy, [n], 'f32', { engine });
        encodeActivationGrad(engine, s, 'x', xt.buffer, grad.buffer, grad.buffer, n);
        const gExp = Float64Array.from(x, (v, j) => Math.fround((dy[j] as number) * Math.fround(ref.df(v))));
        const gTol = Float64Array.from(
          x,
          (v, j) =>
            Math.abs(dy[j] as number) * allowance(tol.gx(v), ref.df(v)) + U * Math.abs(gExp[j] as number),
        );
        expectWithin(await grad.read(), gExp, gTol, `${s.name} gradient in place over dy`, x);
        for (const t of [xt, yt, dyt, inPlace, grad]) t.dispose();
      }
    },
  },
  {
    name: 'activations errors: no gradient from y for gelu/gelu_tanh/negative α, bad sizes and aliasing',
    async run(engine: Engine) {
      const a = emptyTensor(engine, [8], 'f32', 'activations err a');
      const b = emptyTensor(engine, [8], 'f32', 'activations err b');
      const c = emptyTensor(engine, [8], 'f32', 'activations err c');
      const noY: ActivationSpec[] = [
        { name: 'gelu' },
        { name: 'gelu_tanh' },
        { name: 'leaky_relu', alpha: -0.1 },
        { name: 'elu', alpha: -0.5 },
      ];
      for (const spec of noY) {
        expectEqual(activationFromY(spec), false, `activationFromY(${describeSpec(spec)})`);
        await expectError(
          () => encodeActivationGrad(engine, spec, 'y', a.buffer, b.buffer, c.buffer, 8),
          RangeError,
          [new RegExp(spec.name), /cannot be computed from its output y/, /from: 'x'/],
          `${describeSpec(spec)} from y`,
        );
        await expectError(
          () => activationGradShader(spec, { from: 'y', accumulate: false, inPlace: false }),
          RangeError,
          [/no gradient from its output/],
          `${describeSpec(spec)} from-y shader`,
        );
      }
      for (const spec of [
        { name: 'leaky_relu', alpha: 0 },
        { name: 'elu', alpha: 0 },
      ] as ActivationSpec[]) {
        expectEqual(activationFromY(spec), true, `activationFromY(${describeSpec(spec)})`);
      }
      // α finite as a double but not as an f32 (1e39 would print as an invalid WGSL literal).
      for (const spec of [
        { name: 'elu', alpha: 1e39 },
        { name: 'leaky_relu', alpha: -4e38 },
        { name: 'elu', alpha: NaN },
      ] as ActivationSpec[]) {
        await expectError(
          () => encodeActivation(engine, spec, a.buffer, b.buffer, 8),
          RangeError,
          [
            new RegExp(`${spec.name}: alpha`),
            /finite f32/,
            new RegExp(String(spec.alpha).replace('+', '\\+')),
          ],
          `${describeSpec(spec)} out of f32 range`,
        );
      }
      await expectError(
        () => encodeActivation(engine, { name: 'relu' }, a.buffer, b.buffer, 9),
        RangeError,
        [/buffer x \("activations err a"\) has 32 bytes; \[9\] f32 needs 36/],
        'forward past the buffer',
      );
      await expectError(
        () => encodeActivation(engine, { name: 'relu' }, a.buffer, b.buffer, -1),
        RangeError,
        [/n must be a non-negative integer/],
        'negative n',
      );
      await expectError(
        () =>
          encodeActivationGrad(engine, { name: 'tanh' }, 'x', a.buffer, b.buffer, b.buffer, 8, {
            accumulate: true,
          }),
        RangeError,
        [/accumulate needs dx separate from dy/],
        'accumulate in place',
      );
      await expectError(
        () => encodeActivationGrad(engine, { name: 'tanh' }, 'y', a.buffer, b.buffer, a.buffer, 8),
        RangeError,
        [/the y buffer cannot also be dx/],
        'input aliased with dx',
      );
      await expectError(
        () => encodeSoftmax(engine, a.buffer, b.buffer, 3, 3),
        RangeError,
        [/softmax: buffer x \("activations err a"\) has 32 bytes; \[3, 3\] f32 needs 36/],
        'softmax past the buffer',
      );
      await expectError(
        () => encodeSoftmax(engine, a.buffer, b.buffer, 2, 0),
        RangeError,
        [/no columns/],
        'softmax with 0 columns',
      );
      await expectError(
        () => encodeSoftmax(engine, a.buffer, b.buffer, 2, 4, { threadsPerRow: 3 }),
        RangeError,
        [/threadsPerRow must be a power of two/],
        'softmax threadsPerRow 3',
      );
      await expectError(
        () => encodeSoftmax(engine, a.buffer, b.buffer, 2, 4, { threadsPerRow: 4, rowsPerWorkgroup: 65 }),
        RangeError,
        [/rowsPerWorkgroup must be an integer from 1 to 64/],
        'softmax rowsPerWorkgroup over the workgroup',
      );
      await expectError(
        () => encodeSoftmaxGrad(engine, a.buffer, b.buffer, b.buffer, 2, 4),
        RangeError,
        [/dx must be separate/],
        'softmax grad dx over dy',
      );
      for (const t of [a, b, c]) t.dispose();
    },
  },
];

// ------------------------------------------------------------------------------ softmax

function rowMax(x: ArrayLike<number>, r: number, cols: number): number {
  let m = -Infinity;
  for (let j = 0; j < cols; j++) m = Math.max(m, x[r * cols + j] as number);
  return m;
}

/** Per-element allowance for softmax (see the header). */
function softmaxAllowed(
  x: ArrayLike<number>,
  y: Float64Array,
  rows: number,
  cols: number,
  t: number,
): Float64Array {
  const path = Math.ceil(cols / t) + Math.log2(t);
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const m = rowMax(x, r, cols);
    let sumErr = path * U;
    for (let j = 0; j < cols; j++) {
      const yj = y[r * cols + j] as number;
      if (yj > 0) sumErr += yj * E((x[r * cols + j] as number) - m);
    }
    for (let j = 0; j < cols; j++) {
      const yj = y[r * cols + j] as number;
      const d = (x[r * cols + j] as number) - m;
      out[r * cols + j] = yj > 0 ? yj * (E(d) + sumErr + 3 * U) + FTZ : FTZ;
    }
  }
  return out;
}

function softmaxGradAllowed(
  y: ArrayLike<number>,
  dy: ArrayLike<number>,
  dx: Float64Array,
  rows: number,
  cols: number,
  t: number,
): Float64Array {
  const path = Math.ceil(cols / t) + Math.log2(t);
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    let absDot = 0;
    for (let j = 0; j < cols; j++)
      absDot += Math.abs((y[r * cols + j] as number) * (dy[r * cols + j] as number));
    for (let j = 0; j < cols; j++) {
      const i = r * cols + j;
      out[i] =
        Math.abs(y[i] as number) * (path + 2) * U * (absDot + Math.abs(dy[i] as number)) +
        2 * U * Math.abs(dx[i] as number) +
        FTZ;
    }
  }
  return out;
}

async function checkSoftmax(
  engine: Engine,
  x: Float32Array,
  rows: number,
  cols: number,
  what: string,
  options: SoftmaxOptions = {},
) {
  const t = options.threadsPerRow ?? softmaxThreadsPerRow(cols);
  const xt = tensor(x, [rows, cols], 'f32', { engine });
  const yt = emptyTensor(engine, [rows, cols], 'f32', 'activations softmax y');
  encodeSoftmax(engine, xt.buffer, yt.buffer, rows, cols, options);
  const expected = softmaxReference(x, rows, cols);
  const y = await yt.read();
  expectWithin(y, expected, softmaxAllowed(x, expected, rows, cols, t), `${what} (T = ${t})`, x);
  xt.dispose();
  yt.dispose();
  return y;
}

async function checkSoftmaxGrad(
  engine: Engine,
  y: Float32Array,
  dy: Float32Array,
  rows: number,
  cols: number,
  what: string,
  options: SoftmaxOptions = {},
) {
  const t = options.threadsPerRow ?? softmaxThreadsPerRow(cols);
  const yt = tensor(y, [rows, cols], 'f32', { engine });
  const dyt = tensor(dy, [rows, cols], 'f32', { engine });
  const dxt = emptyTensor(engine, [rows, cols], 'f32', 'activations softmax dx');
  encodeSoftmaxGrad(engine, yt.buffer, dyt.buffer, dxt.buffer, rows, cols, options);
  const expected = softmaxGradReference(y, dy, rows, cols);
  const allowed = softmaxGradAllowed(y, dy, expected, rows, cols, t);
  expectWithin(await dxt.read(), expected, allowed, `${what} (T = ${t})`);
  for (const b of [yt, dyt, dxt]) b.dispose();
}

/** Shapes around the thread-per-row choices: 1 column, tiny rows, not a multiple of T, > 256. */
const SOFTMAX_SHAPES: [number, number][] = [
  [1, 1],
  [5, 1],
  [3, 2],
  [33, 10],
  [4, 100],
  [3, 255],
  [3, 256],
  [2, 257],
  [3, 1000],
];

const inf = Infinity;
/** [rows of 6]: the stability rows of the issue and the NaN rules. */
const STABILITY_ROWS: number[][] = [
  [1e4, -1e4, 9999, 0, -9999, 1e4], // ±1e4 logits: finite, e⁰ and e⁻¹ terms only
  [-1e4, -1e4, -1e4, -1e4, -1e4, -1e4], // constant and very negative: uniform
  [7, 7, 7, 7, 7, 7], // constant: uniform
  [-inf, -inf, 3.5, -inf, -inf, -inf], // −Inf except one finite entry: one-hot
  [-inf, 2, -inf, 2, -inf, -inf], // two finite among −Inf: one half each
  [1, 2, NaN, 3, 4, 5], // a NaN: all NaN
  [1, inf, 2, 3, 4, 5], // +Inf: all NaN (Inf − Inf)
  [-inf, -inf, -inf, -inf, -inf, -inf], // only −Inf: all NaN (0/0)
  [0.5, -0.25, 88, -88, 100, -100],
];

const softmaxCases: KernelCase[] = [
  {
    // x − m − log Σ exp(x − m): the subtraction rounds once (rtol 2^-23 of |x − m|), log Σ
    // carries the sum's rounding (≤ cols·2^-24 relative, so as much absolute in its log) and
    // WGSL's log (2^-21 absolute near 1, 3 ULP elsewhere).
    name: 'activations log_softmax: shapes and the stability rows against float64 (finite where softmax underflows)',
    async run(engine: Engine) {
      const runLog = async (x: Float32Array, rows: number, cols: number) => {
        const xt = tensor(x, [rows, cols], 'f32', { engine });
        const yt = emptyTensor(engine, [rows, cols], 'f32', 'activations log_softmax y');
        encodeSoftmax(engine, xt.buffer, yt.buffer, rows, cols, { log: true });
        const y = await yt.read();
        xt.dispose();
        yt.dispose();
        return y;
      };
      for (const [k, [rows, cols]] of SOFTMAX_SHAPES.entries()) {
        const x = uniformF32(rows * cols, -30, 30, 4700 + k);
        const want = softmaxReference(x, rows, cols, true);
        const tol = { atol: 1e-6 + 1.2e-7 * cols, rtol: 2.4e-7 };
        expectClose(await runLog(x, rows, cols), want, tol, `log_softmax [${rows}, ${cols}]`);
      }
      const rows = STABILITY_ROWS.length;
      const x = Float32Array.from(STABILITY_ROWS.flat());
      const want = softmaxReference(x, rows, 6, true);
      const y = await runLog(x, rows, 6);
      expectClose(y, want, { atol: 2e-6, rtol: 2.4e-7 }, 'log_softmax stability rows');
      // [0, 200]: softmax underflows to 0 for the first column; its log is −200, not −Inf.
      expectClose(
        await runLog(Float32Array.of(0, 200), 1, 2),
        [-200, 0],
        { atol: 0, rtol: 2.4e-7 },
        'log_softmax [0, 200]',
      );
    },
  },
  {
    name: 'activations softmax forward: shapes 1x1..3x1000 and thread-per-row variants against float64',
    async run(engine: Engine) {
      for (const [i, [rows, cols]] of SOFTMAX_SHAPES.entries()) {
        const x = uniformF32(rows * cols, -10, 10, 4000 + i);
        const y = await checkSoftmax(engine, x, rows, cols, `softmax [${rows}, ${cols}]`);
        // Rows sum to 1 (an independent property of the result).
        for (let r = 0; r < rows; r++) {
          let s = 0;
          for (let j = 0; j < cols; j++) s += y[r * cols + j] as number;
          expectClose(
            [s],
            [1],
            { atol: 0, rtol: (Math.ceil(cols / 256) + 16) * 4 * U },
            `softmax [${rows}, ${cols}] row ${r} sum`,
          );
        }
      }
      // Every thread count on one shape: lanes without a column, several columns per lane.
      const x = uniformF32(6 * 37, -5, 5, 4100);
      for (const t of [1, 2, 4, 8, 16, 32, 64, 128, 256]) {
        await checkSoftmax(engine, x, 6, 37, `softmax [6, 37]`, { threadsPerRow: t });
      }
      // Workgroups smaller than 256 with the last one part-filled (6 rows, 4 per workgroup).
      await checkSoftmax(engine, x, 6, 37, `softmax [6, 37] R = 4`, {
        threadsPerRow: 8,
        rowsPerWorkgroup: 4,
      });
    },
  },
  {
    name: 'activations softmax stability: ±1e4, −Inf rows, constant rows, NaN rows; 1000 columns',
    async run(engine: Engine) {
      const rows = STABILITY_ROWS.length;
      const x = Float32Array.from(STABILITY_ROWS.flat());
      const y = await checkSoftmax(engine, x, rows, 6, 'softmax stability rows');
      const e1 = Math.exp(-1);
      const s = 2 + e1;
      const expectRows: number[][] = [
        [1 / s, 0, e1 / s, 0, 0, 1 / s],
        Array<number>(6).fill(1 / 6),
        Array<number>(6).fill(1 / 6),
        [0, 0, 1, 0, 0, 0],
        [0, 0.5, 0, 0.5, 0, 0],
      ];
      // Closed forms, independent of the reference.
      expectClose(
        y.slice(0, 30),
        expectRows.flat(),
        { atol: FTZ, rtol: 16 * U },
        'softmax stability closed forms',
      );
      for (const r of [5, 6, 7]) {
        expectClose(
          y.slice(r * 6, r * 6 + 6),
          Array<number>(6).fill(NaN),
          EXACT_TOL,
          `softmax row ${r} all NaN`,
        );
      }
      // Long rows: constant → 1/1000; all −Inf but one → one-hot; ±1e4 alternating.
      const cols = 1000;
      const long = new Float32Array(3 * cols).fill(-42);
      long.fill(-inf, cols, 2 * cols);
      long[cols + 777] = -5;
      for (let j = 0; j < cols; j++) long[2 * cols + j] = j % 2 ? 1e4 : -1e4;
      const yl = await checkSoftmax(engine, long, 3, cols, 'softmax long stability rows');
      const expected = new Float64Array(3 * cols).fill(1 / cols, 0, cols);
      expected[cols + 777] = 1;
      for (let j = 0; j < cols; j++) expected[2 * cols + j] = j % 2 ? 2 / cols : 0;
      expectClose(yl, expected, { atol: FTZ, rtol: 32 * U }, 'softmax long rows closed forms');
    },
  },
  {
    name: 'activations softmax over 65600 rows, one per workgroup (launch folded into 2-D)',
    async run(engine: Engine) {
      // One single-thread workgroup per row: 65600 workgroups, over the 65535 of one dimension
      // (as T = 256 meets it past 65535 rows, but cheap enough for software adapters).
      const rows = 65_600;
      const cols = 3;
      const layout = { threadsPerRow: 1, rowsPerWorkgroup: 1 };
      expectEqual(engine.dispatchGrid(rows, 1)[1] > 1, true, 'the launch is folded into 2-D');
      const x = uniformF32(rows * cols, -4, 4, 4200);
      x[65_557 * cols + 1] = NaN;
      const y = await checkSoftmax(engine, x, rows, cols, `softmax [${rows}, ${cols}]`, layout);
      expectClose(y.slice(65_557 * cols, 65_558 * cols), [NaN, NaN, NaN], EXACT_TOL, 'softmax NaN row');
      const dy = uniformF32(rows * cols, -1, 1, 4201);
      const ys = Float32Array.from(softmaxReference(x, rows, cols));
      await checkSoftmaxGrad(engine, ys, dy, rows, cols, `softmax grad [${rows}, ${cols}]`, layout);
    },
  },
  {
    name: 'activations softmax backward: against float64 from the output, NaN rows, reference vs finite differences',
    async run(engine: Engine) {
      for (const [i, [rows, cols]] of SOFTMAX_SHAPES.entries()) {
        const x = uniformF32(rows * cols, -6, 6, 4300 + i);
        const y = Float32Array.from(softmaxReference(x, rows, cols));
        const dy = uniformF32(rows * cols, -2, 2, 4400 + i);
        await checkSoftmaxGrad(engine, y, dy, rows, cols, `softmax grad [${rows}, ${cols}]`);
        if (i === 3) {
          for (const t of [1, 4, 64, 256])
            await checkSoftmaxGrad(engine, y, dy, rows, cols, `softmax grad [${rows}, ${cols}]`, {
              threadsPerRow: t,
            });
        }
      }
      // cols = 1: softmax is constant 1, so dx = 0.
      const dy1 = uniformF32(4, -2, 2, 4500);
      await checkSoftmaxGrad(engine, new Float32Array(4).fill(1), dy1, 4, 1, 'softmax grad [4, 1]');
      // NaN in dy or in y: that row only is all NaN.
      const rows = 3;
      const cols = 20;
      const y = Float32Array.from(softmaxReference(uniformF32(rows * cols, -3, 3, 4600), rows, cols));
      const dy = uniformF32(rows * cols, -1, 1, 4601);
      dy[5] = NaN;
      y[2 * cols + 7] = NaN;
      const yt = tensor(y, [rows, cols], 'f32', { engine });
      const dyt = tensor(dy, [rows, cols], 'f32', { engine });
      const dxt = emptyTensor(engine, [rows, cols], 'f32', 'activations softmax dx');
      encodeSoftmaxGrad(engine, yt.buffer, dyt.buffer, dxt.buffer, rows, cols);
      const dx = await dxt.read();
      const expected = softmaxGradReference(y, dy, rows, cols);
      expectEqual(
        expected.slice(0, cols).every(Number.isNaN) && expected.slice(2 * cols).every(Number.isNaN),
        true,
        'reference NaN rows',
      );
      expectWithin(
        dx,
        expected,
        softmaxGradAllowed(y, dy, expected, rows, cols, softmaxThreadsPerRow(cols)),
        'softmax grad NaN rows',
      );
      for (const t of [yt, dyt, dxt]) t.dispose();

      // The reference is the vector-Jacobian product of softmax: for L(x) = Σ_j dy_j·softmax(x)_j,
      // ∂L/∂x_i by central differences must equal softmaxGradReference(softmax(x), dy)_i.
      const r = rng(4700);
      for (const c of [1, 2, 5, 10]) {
        const xs = Array.from({ length: c }, () => -4 + 8 * r());
        const g = Array.from({ length: c }, () => -2 + 4 * r());
        const L = (v: number[]) => softmaxReference(v, 1, c).reduce((p, s, j) => p + s * (g[j] as number), 0);
        const h = 1e-6;
        const numeric = xs.map((_, i) => {
          const plus = xs.slice();
          const minus = xs.slice();
          plus[i] = (plus[i] as number) + h;
          minus[i] = (minus[i] as number) - h;
          return (L(plus) - L(minus)) / (2 * h);
        });
        const analytic = softmaxGradReference(softmaxReference(xs, 1, c), g, 1, c);
        expectClose(
          analytic,
          numeric,
          { atol: 1e-5, rtol: 1e-3 },
          `softmaxGradReference vs central differences, ${c} columns`,
        );
      }
    },
  },
];

export const cases: KernelCase[] = [
  ...perActivationCases,
  ...referenceCases,
  ...specialCases,
  ...softmaxCases,
];
