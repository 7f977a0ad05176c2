/**
 * Activation functions as WGSL, shared by the elementwise activation kernels and the
 * matmul epilogue. activationWgsl(spec) defines:
 *
 *   fn activate(x: f32) -> f32         y = f(x)
 *   fn activate_grad_x(x: f32) -> f32  f'(x), from the input
 *   fn activate_grad_y(y: f32) -> f32  f'(x), from the output: only where activationFromY(spec),
 *                                      so backward can use the stored output and skip the input
 *
 * A NaN input gives a NaN output and gradient on every adapter (WGSL leaves builtins' NaN
 * handling to the implementation). Formulas are the Keras ones; sigmoid, tanh and softplus
 * are written in forms that cannot overflow.
 */
import { isNan } from './common.js';

export const ACTIVATIONS = [
  'linear',
  'relu',
  'elu',
  'selu',
  'sigmoid',
  'hard_sigmoid',
  'tanh',
  'softplus',
  'softsign',
  'exponential',
  'leaky_relu',
  'gelu',
  'gelu_tanh',
] as const;
export type Activation = (typeof ACTIVATIONS)[number];

export interface ActivationSpec {
  name: Activation;
  /** elu's α (default 1) or leaky_relu's negative slope (default 0.2, as tf.keras / TF.js). */
  alpha?: number;
}

export const SELU_ALPHA = 1.6732632423543772;
export const SELU_SCALE = 1.0507009873554805;

export function defaultAlpha(name: Activation): number {
  return name === 'leaky_relu' ? 0.2 : 1;
}

/** True when f'(x) can be computed from y = f(x) alone (all but gelu; leaky_relu needs α ≥ 0). */
export function activationFromY(spec: ActivationSpec): boolean {
  if (spec.name === 'gelu' || spec.name === 'gelu_tanh') return false;
  if (spec.name === 'leaky_relu') return (spec.alpha ?? defaultAlpha('leaky_relu')) >= 0;
  return true;
}

/** A WGSL f32 literal for a JS number. */
export function f32Literal(v: number): string {
  if (!Number.isFinite(v)) throw new RangeError(`activation parameter must be finite, got ${v}`);
  const s = String(Math.fround(v));
  return s.includes('.') || s.includes('e') ? s : `${s}.0`;
}

interface Body {
  f: string;
  gradX: string;
  gradY?: string;
  helpers?: string;
}

const SIGMOID = /* wgsl */ `
fn sigmoid_stable(x: f32) -> f32 {
  let e = exp(-abs(x));  // in (0, 1]: never overflows
  return select(e / (1.0 + e), 1.0 / (1.0 + e), x >= 0.0);
}`;

const TANH = /* wgsl */ `
fn tanh_stable(x: f32) -> f32 {
  let e = exp(-2.0 * abs(x));
  return sign(x) * (1.0 - e) / (1.0 + e);
}`;

// Abramowitz & Stegun 7.1.26: |error| < 1.5e-7 over the whole line.
const ERF = /* wgsl */ `
fn erf_approx(x: f32) -> f32 {
  let z = abs(x);
  let t = 1.0 / (1.0 + 0.3275911 * z);
  let poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  return sign(x) * (1.0 - poly * exp(-z * z));
}`;

function body(spec: ActivationSpec): Body {
  const a = f32Literal(spec.alpha ?? defaultAlpha(spec.name));
  const S = f32Literal(SELU_SCALE);
  const SA = f32Literal(SELU_SCALE * SELU_ALPHA);
  switch (spec.name) {
    case 'linear':
      return { f: 'x', gradX: '1.0', gradY: '1.0' };
    case 'relu':
      return {
        f: 'select(x, 0.0, x < 0.0)',
        gradX: 'select(0.0, 1.0, x > 0.0)',
        gradY: 'select(0.0, 1.0, y > 0.0)',
      };
    case 'elu':
      return {
        f: `select(${a} * (exp(x) - 1.0), x, x > 0.0)`,
        gradX: `select(${a} * exp(x), 1.0, x > 0.0)`,
        gradY: `select(y + ${a}, 1.0, y > 0.0)`,
      };
    case 'selu':
      return {
        f: `select(${SA} * (exp(x) - 1.0), ${S} * x, x > 0.0)`,
        gradX: `select(${SA} * exp(x), ${S}, x > 0.0)`,
        gradY: `select(y + ${SA}, ${S}, y > 0.0)`,
      };
    case 'sigmoid':
      return {
        f: 'sigmoid_stable(x)',
        gradX: 'sigmoid_stable(x) * (1.0 - sigmoid_stable(x))',
        gradY: 'y * (1.0 - y)',
        helpers: SIGMOID,
      };
    case 'hard_sigmoid':
      return {
        f: 'clamp(0.2 * x + 0.5, 0.0, 1.0)',
        gradX: 'select(0.0, 0.2, x > -2.5 && x < 2.5)',
        gradY: 'select(0.0, 0.2, y > 0.0 && y < 1.0)',
      };
    case 'tanh':
      return {
        f: 'tanh_stable(x)',
        gradX: '1.0 - tanh_stable(x) * tanh_stable(x)',
        gradY: '1.0 - y * y',
        helpers: TANH,
      };
    case 'softplus':
      return {
        f: 'max(x, 0.0) + log(1.0 + exp(-abs(x)))',
        gradX: 'sigmoid_stable(x)',
        gradY: '1.0 - exp(-y)',
        helpers: SIGMOID,
      };
    case 'softsign':
      return {
        f: 'x / (1.0 + abs(x))',
        gradX: '1.0 / ((1.0 + abs(x)) * (1.0 + abs(x)))',
        gradY: '(1.0 - abs(y)) * (1.0 - abs(y))',
      };
    case 'exponential':
      return { f: 'exp(x)', gradX: 'exp(x)', gradY: 'y' };
    case 'leaky_relu':
      return {
        f: `select(${a} * x, x, x > 0.0)`,
        gradX: `select(${a}, 1.0, x > 0.0)`,
        gradY: activationFromY(spec) ? `select(${a}, 1.0, y > 0.0)` : undefined,
      };
    case 'gelu':
      // 0.5·x·(1 + erf(x/√2)); f'(x) = Φ(x) + x·φ(x)
      return {
        f: '0.5 * x * (1.0 + erf_approx(x * 0.70710678))',
        gradX: '0.5 * (1.0 + erf_approx(x * 0.70710678)) + x * 0.39894228 * exp(-0.5 * x * x)',
        helpers: ERF,
      };
    case 'gelu_tanh': {
      // 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
      const u = '0.7978845608 * (x + 0.044715 * x * x * x)';
      return {
        f: `0.5 * x * (1.0 + tanh_stable(${u}))`,
        gradX:
          `0.5 * (1.0 + tanh_stable(${u})) + 0.5 * x * (1.0 - tanh_stable(${u}) * tanh_stable(${u}))` +
          ' * 0.7978845608 * (1.0 + 0.134145 * x * x)',
        helpers: TANH,
      };
    }
  }
}

/** WGSL for `activate`, `activate_grad_x` and (where activationFromY) `activate_grad_y`. Needs nothing else. */
export function activationWgsl(spec: ActivationSpec): string {
  if (!(ACTIVATIONS as readonly string[]).includes(spec.name)) {
    throw new RangeError(`unknown activation '${spec.name}'; expected one of ${ACTIVATIONS.join(', ')}`);
  }
  const b = body(spec);
  const gradY = b.gradY
    ? `
fn activate_grad_y(y: f32) -> f32 {
  return select(${b.gradY}, y, is_nan(y));
}`
    : '';
  return `${isNan}
${b.helpers ?? ''}
fn activate(x: f32) -> f32 {
  return select(${b.f}, x, is_nan(x));
}
fn activate_grad_x(x: f32) -> f32 {
  return select(${b.gradX}, x, is_nan(x));
}${gradY}`;
}
