/**
 * Float64 backpropagation for the Vanishing gradients tab's models (deep-models.ts), the
 * independent reference its tests compare the GPU's gradients with: the L2 norm of each
 * Dense kernel's gradient of the mean sparse categorical cross-entropy over one batch, in
 * training mode (BatchNormalization normalises by the batch's own mean and biased variance).
 * Weights are read by name as getWeights() gives them; nothing here touches the GPU.
 */
import { l2Norm, type DeepKind } from '../src/deep-models.js';

export interface NamedWeight {
  name: string;
  shape: number[];
  data: ArrayLike<number>;
}

/** A row-major [rows, cols] matrix. */
interface Mat {
  rows: number;
  cols: number;
  v: Float64Array;
}

const BN_EPSILON = 1e-3; // Keras's default, which deep-models.ts keeps

function weightsByName(weights: readonly NamedWeight[]): (name: string) => NamedWeight {
  const map = new Map(weights.map((w) => [w.name, w]));
  return (name) => {
    const w = map.get(name);
    if (!w) throw new Error(`reference: no weight named ${name} (have ${[...map.keys()].join(', ')})`);
    return w;
  };
}

/** x·W + b for W [in, out]. */
function dense(x: Mat, kernel: NamedWeight, bias: NamedWeight): Mat {
  const [fin, fout] = kernel.shape as [number, number];
  if (fin !== x.cols) throw new Error(`reference: ${kernel.name} takes ${fin} inputs, got ${x.cols}`);
  const out: Mat = { rows: x.rows, cols: fout, v: new Float64Array(x.rows * fout) };
  for (let r = 0; r < x.rows; r++) {
    for (let j = 0; j < fout; j++) out.v[r * fout + j] = bias.data[j] as number;
    for (let i = 0; i < fin; i++) {
      const a = x.v[r * fin + i] as number;
      if (a === 0) continue;
      for (let j = 0; j < fout; j++)
        out.v[r * fout + j] = (out.v[r * fout + j] as number) + a * (kernel.data[i * fout + j] as number);
    }
  }
  return out;
}

/** ‖xᵀ·δ‖₂, the norm of the kernel gradient of a Dense layer with input x and output gradient δ. */
function kernelGradNorm(x: Mat, delta: Mat): number {
  const g = new Float64Array(x.cols * delta.cols);
  for (let r = 0; r < x.rows; r++) {
    for (let i = 0; i < x.cols; i++) {
      const a = x.v[r * x.cols + i] as number;
      if (a === 0) continue;
      for (let j = 0; j < delta.cols; j++)
        g[i * delta.cols + j] =
          (g[i * delta.cols + j] as number) + a * (delta.v[r * delta.cols + j] as number);
    }
  }
  return l2Norm(g);
}

/** δ·Wᵀ: the gradient of a Dense layer's input. */
function denseInputGrad(delta: Mat, kernel: NamedWeight): Mat {
  const [fin, fout] = kernel.shape as [number, number];
  const out: Mat = { rows: delta.rows, cols: fin, v: new Float64Array(delta.rows * fin) };
  for (let r = 0; r < delta.rows; r++) {
    for (let i = 0; i < fin; i++) {
      let s = 0;
      for (let j = 0; j < fout; j++)
        s += (kernel.data[i * fout + j] as number) * (delta.v[r * fout + j] as number);
      out.v[r * fin + i] = s;
    }
  }
  return out;
}

type Act = 'sigmoid' | 'tanh' | 'relu';

function activate(z: Mat, act: Act): Mat {
  const f =
    act === 'relu'
      ? (v: number) => Math.max(0, v)
      : act === 'tanh'
        ? Math.tanh
        : (v: number) => 1 / (1 + Math.exp(-v));
  return { ...z, v: z.v.map(f) };
}

/** δ ⊙ f′, with f′ from the activation's output a (relu: a > 0). */
function activationGrad(delta: Mat, a: Mat, act: Act): Mat {
  const df = (y: number) => (act === 'relu' ? (y > 0 ? 1 : 0) : act === 'tanh' ? 1 - y * y : y * (1 - y));
  return { ...delta, v: delta.v.map((d, i) => d * df(a.v[i] as number)) };
}

/** Training-mode BatchNormalization: γ·x̂ + β with x̂ = (x − μ)/√(σ² + ε) per column. */
function batchNorm(
  x: Mat,
  gamma: NamedWeight,
  beta: NamedWeight,
): { y: Mat; xhat: Mat; invStd: Float64Array } {
  const { rows, cols } = x;
  const xhat: Mat = { rows, cols, v: new Float64Array(rows * cols) };
  const y: Mat = { rows, cols, v: new Float64Array(rows * cols) };
  const invStd = new Float64Array(cols);
  for (let j = 0; j < cols; j++) {
    let mean = 0;
    for (let r = 0; r < rows; r++) mean += x.v[r * cols + j] as number;
    mean /= rows;
    let variance = 0;
    for (let r = 0; r < rows; r++) variance += ((x.v[r * cols + j] as number) - mean) ** 2;
    variance /= rows;
    const s = 1 / Math.sqrt(variance + BN_EPSILON);
    invStd[j] = s;
    for (let r = 0; r < rows; r++) {
      const h = ((x.v[r * cols + j] as number) - mean) * s;
      xhat.v[r * cols + j] = h;
      y.v[r * cols + j] = (gamma.data[j] as number) * h + (beta.data[j] as number);
    }
  }
  return { y, xhat, invStd };
}

/** The input gradient of training-mode BN: γ/σ·(δ − mean(δ) − x̂·mean(δ·x̂)) per column. */
function batchNormGrad(delta: Mat, bn: { xhat: Mat; invStd: Float64Array }, gamma: NamedWeight): Mat {
  const { rows, cols } = delta;
  const out: Mat = { rows, cols, v: new Float64Array(rows * cols) };
  for (let j = 0; j < cols; j++) {
    let md = 0;
    let mdx = 0;
    for (let r = 0; r < rows; r++) {
      const d = delta.v[r * cols + j] as number;
      md += d;
      mdx += d * (bn.xhat.v[r * cols + j] as number);
    }
    md /= rows;
    mdx /= rows;
    const k = (gamma.data[j] as number) * (bn.invStd[j] as number);
    for (let r = 0; r < rows; r++) {
      const i = r * cols + j;
      out.v[i] = k * ((delta.v[i] as number) - md - (bn.xhat.v[i] as number) * mdx);
    }
  }
  return out;
}

/** δ of the logits for softmax + mean sparse categorical cross-entropy: (softmax − one-hot)/n. */
function softmaxXentGrad(logits: Mat, labels: ArrayLike<number>): Mat {
  const { rows, cols } = logits;
  const out: Mat = { rows, cols, v: new Float64Array(rows * cols) };
  for (let r = 0; r < rows; r++) {
    const z = logits.v.subarray(r * cols, (r + 1) * cols);
    const m = Math.max(...z);
    const e = Array.from(z, (v) => Math.exp(v - m));
    const s = e.reduce((p, q) => p + q, 0);
    for (let j = 0; j < cols; j++)
      out.v[r * cols + j] = ((e[j] as number) / s - (labels[r] === j ? 1 : 0)) / rows;
  }
  return out;
}

const suffix = (i: number) => (i === 0 ? '' : `_${i}`);

/**
 * The L2 norm of each Dense kernel's gradient for the deep model of `kind` with `depth`
 * hidden layers (names as buildDeepModel gives them), over the batch `x` ([n, 784] pixels
 * in 0..1) with class ids `labels`. Index l is Dense layer l + 1 from the input; the last is
 * the output layer.
 */
export function referenceKernelNorms(
  kind: DeepKind,
  depth: number,
  weights: readonly NamedWeight[],
  x: Float64Array,
  labels: ArrayLike<number>,
): number[] {
  const w = weightsByName(weights);
  const k = (i: number) => w(`dense${suffix(i)}/kernel`);
  const b = (i: number) => w(`dense${suffix(i)}/bias`);
  const input: Mat = { rows: labels.length, cols: x.length / labels.length, v: x };
  const norms = new Array<number>(depth + 1);
  if (kind !== 'residual-bn') {
    const act: Act = kind === 'relu-he' ? 'relu' : kind === 'tanh-uniform' ? 'tanh' : 'sigmoid';
    const inputs: Mat[] = [];
    const outputs: Mat[] = [];
    let h = input;
    for (let i = 0; i < depth; i++) {
      inputs.push(h);
      h = activate(dense(h, k(i), b(i)), act);
      outputs.push(h);
    }
    let delta = softmaxXentGrad(dense(h, k(depth), b(depth)), labels);
    norms[depth] = kernelGradNorm(h, delta);
    for (let i = depth - 1; i >= 0; i--) {
      delta = activationGrad(denseInputGrad(delta, k(i + 1)), outputs[i] as Mat, act);
      norms[i] = kernelGradNorm(inputs[i] as Mat, delta);
    }
    return norms;
  }
  // h = relu(x·W0 + b0); h ← h + Dense_i(relu(BN_i(h))) for i = 1..depth−1; relu(BN(h)) → output.
  const bnW = (i: number) => ({
    gamma: w(`batch_normalization${suffix(i)}/gamma`),
    beta: w(`batch_normalization${suffix(i)}/beta`),
  });
  const h0 = activate(dense(input, k(0), b(0)), 'relu');
  const blocks: { bn: ReturnType<typeof batchNorm>; u: Mat }[] = [];
  let h = h0;
  const normRelu = (t: Mat, i: number) => {
    const { gamma, beta } = bnW(i);
    const bn = batchNorm(t, gamma, beta);
    const u = activate(bn.y, 'relu');
    blocks.push({ bn, u });
    return u;
  };
  for (let i = 1; i < depth; i++) {
    const f = dense(normRelu(h, i - 1), k(i), b(i));
    h = { ...h, v: h.v.map((v, j) => v + (f.v[j] as number)) };
  }
  const top = normRelu(h, depth - 1);
  const dLogits = softmaxXentGrad(dense(top, k(depth), b(depth)), labels);
  norms[depth] = kernelGradNorm(top, dLogits);
  // Back through relu(BN(h)) into h, then each block: h's gradient passes the identity and,
  // added to it, the block's f through Dense, relu and BN.
  const through = (delta: Mat, i: number) => {
    const { bn, u } = blocks[i] as (typeof blocks)[number];
    return batchNormGrad(activationGrad(delta, u, 'relu'), bn, bnW(i).gamma);
  };
  let dh = through(denseInputGrad(dLogits, k(depth)), depth - 1);
  for (let i = depth - 1; i >= 1; i--) {
    const { u } = blocks[i - 1] as (typeof blocks)[number];
    norms[i] = kernelGradNorm(u, dh);
    const viaBlock = through(denseInputGrad(dh, k(i)), i - 1);
    dh = { ...dh, v: dh.v.map((v, j) => v + (viaBlock.v[j] as number)) };
  }
  norms[0] = kernelGradNorm(input, activationGrad(dh, h0, 'relu'));
  return norms;
}
