/**
 * Activations: float64 references of each function and its derivative (the WGSL is in
 * shaders/activations.ts). Independent of the WGSL forms: gelu uses a series/continued
 * fraction erf good to ~1e-14, not the shader's 1.5e-7 approximation.
 */
import {
  defaultAlpha,
  SELU_ALPHA,
  SELU_SCALE,
  type Activation,
  type ActivationSpec,
} from '../../shaders/activations.js';

export { ACTIVATIONS, activationFromY, activationWgsl } from '../../shaders/activations.js';
export type { Activation, ActivationSpec };

const sigmoid = (x: number): number => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));

/** erf in float64: Maclaurin series for |x| < 3, Lentz continued fraction for erfc beyond. */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const z = Math.abs(x);
  if (z < 3) {
    let term = z;
    let sum = z;
    for (let n = 1; n < 200; n++) {
      term *= (-z * z) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc(z) = exp(-z²)/√π · 1/(z + 1/2/(z + 1/(z + 3/2/(z + ...))))
  let f = z;
  let c = z;
  let d = 0;
  for (let n = 1; n < 300; n++) {
    const an = n / 2;
    d = z + an * d;
    d = d === 0 ? 1e-300 : 1 / d;
    c = z + an / c;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  const erfc = Math.exp(-z * z) / Math.sqrt(Math.PI) / f;
  return Math.sign(x) * (1 - erfc);
}

const PHI = (x: number) => 0.5 * (1 + erf(x / Math.SQRT2));
const pdf = (x: number) => Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);
const K = Math.sqrt(2 / Math.PI);

/** f(x) and f'(x) in float64. */
export function activationReference(spec: ActivationSpec): {
  f: (x: number) => number;
  df: (x: number) => number;
} {
  const a = spec.alpha ?? defaultAlpha(spec.name);
  const table: Record<Activation, { f: (x: number) => number; df: (x: number) => number }> = {
    linear: { f: (x) => x, df: () => 1 },
    relu: { f: (x) => (x < 0 ? 0 : x), df: (x) => (x > 0 ? 1 : 0) },
    elu: { f: (x) => (x > 0 ? x : a * Math.expm1(x)), df: (x) => (x > 0 ? 1 : a * Math.exp(x)) },
    selu: {
      f: (x) => SELU_SCALE * (x > 0 ? x : SELU_ALPHA * Math.expm1(x)),
      df: (x) => (x > 0 ? SELU_SCALE : SELU_SCALE * SELU_ALPHA * Math.exp(x)),
    },
    sigmoid: { f: sigmoid, df: (x) => sigmoid(x) * (1 - sigmoid(x)) },
    hard_sigmoid: {
      f: (x) => Math.min(1, Math.max(0, 0.2 * x + 0.5)),
      df: (x) => (x > -2.5 && x < 2.5 ? 0.2 : 0),
    },
    tanh: { f: Math.tanh, df: (x) => 1 - Math.tanh(x) ** 2 },
    softplus: { f: (x) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x))), df: sigmoid },
    softsign: { f: (x) => x / (1 + Math.abs(x)), df: (x) => 1 / (1 + Math.abs(x)) ** 2 },
    exponential: { f: Math.exp, df: Math.exp },
    leaky_relu: { f: (x) => (x > 0 ? x : a * x), df: (x) => (x > 0 ? 1 : a) },
    gelu: { f: (x) => x * PHI(x), df: (x) => PHI(x) + x * pdf(x) },
    gelu_tanh: {
      f: (x) => 0.5 * x * (1 + Math.tanh(K * (x + 0.044715 * x ** 3))),
      df: (x) => {
        const t = Math.tanh(K * (x + 0.044715 * x ** 3));
        return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * K * (1 + 3 * 0.044715 * x * x);
      },
    },
  };
  const r = table[spec.name];
  // NaN in, NaN out, like the kernels.
  return { f: (x) => (Number.isNaN(x) ? NaN : r.f(x)), df: (x) => (Number.isNaN(x) ? NaN : r.df(x)) };
}
