/**
 * The op records of the PyTorch-style front-end: for each op its output shape, its forward
 * and its backward, in terms of the engine's kernels (the same ones the compiled Keras graph
 * runs). Shapes are checked by the caller (./tensor.ts); these builders trust them.
 */
import {
  encodeActivation,
  encodeActivationGrad,
  encodeSoftmax,
  encodeSoftmaxGrad,
} from '../kernels/activations.js';
import type { ActivationSpec } from '../kernels/activations.js';
import {
  encodeBatchNormBackward,
  encodeBatchNormTrain,
  encodeBatchNormInference,
  BN_SAVED_ROWS,
} from '../kernels/batchnorm.js';
import { encodeDropout, encodeDropoutGrad } from '../kernels/dropout.js';
import { encodeBinary, encodeUnary, type BinaryOp } from '../kernels/elementwise.js';
import { encodeMatmul } from '../kernels/matmul.js';
import { encodeCopyBlock, encodeFill, encodeScalarOp } from '../kernels/pointwise.js';
import { encodeSum } from '../kernels/reduce.js';
import { sizeOf } from '../kernels/shape.js';
import {
  encodeTorchLoss,
  torchLossIsClassIndexed,
  type TorchLossKind,
  type TorchReduction,
} from '../kernels/torch-losses.js';
import type { Bindable, Engine } from '../gpu/engine.js';
import { allocate, copyOrAdd, type GradContext, type OpDef, type Saved, type Var } from './autograd.js';

/** The engine's constant 1.0 (and other scalars), bound where an op needs a scalar operand. */
export type ScalarSource = (engine: Engine, value: number) => Bindable;

/** Gives input i the gradient dy unchanged (same shape). */
function passThrough(ctx: GradContext, i: number, dy: Bindable, n: number): void {
  ctx.give(i, true, (dst, acc) => copyOrAdd(ctx.engine, dy, dst, n, acc));
}

// ---------------------------------------------------------------- matmul and linear

export function matmulDef(m: number, k: number, n: number): OpDef {
  return {
    kind: 'mm',
    key: `${m}x${k}x${n}`,
    shape: [m, n],
    forward(engine, [a, b], out) {
      encodeMatmul(
        engine,
        { m, n, k },
        { a: (a as Var).storage.buf, b: (b as Var).storage.buf, c: out },
        'torch_mm',
      );
      return undefined;
    },
    backward(ctx, dy, [a, b]) {
      const A = (a as Var).storage.buf;
      const B = (b as Var).storage.buf;
      // dA = dY·Bᵀ [m, k]; dB = Aᵀ·dY [k, n].
      ctx.give(0, true, (dst, accumulate) =>
        encodeMatmul(
          ctx.engine,
          { m, n: k, k: n, transB: true, accumulate },
          { a: dy, b: B, c: dst },
          'torch_mm_dA',
        ),
      );
      ctx.give(1, true, (dst, accumulate) =>
        encodeMatmul(
          ctx.engine,
          { m: k, n, k: m, transA: true, accumulate },
          { a: A, b: dy, c: dst },
          'torch_mm_dB',
        ),
      );
    },
  };
}

/** Activations a linear op's epilogue can apply (a ReLU, Sigmoid or Tanh module right after it). */
export type Epilogue = 'relu' | 'sigmoid' | 'tanh';

/**
 * y = x·Wᵀ + b (nn.Linear: W is [out, in]), with an optional activation fused in: one
 * matmul kernel forward; backward dX = dZ·W, dW = dZᵀ·x, db = column sums of dZ.
 */
export function linearDef(rows: number, inF: number, outF: number, bias: boolean, act?: Epilogue): OpDef {
  const activation: ActivationSpec | undefined = act ? { name: act } : undefined;
  return {
    kind: act ? `linear_${act}` : 'linear',
    key: `${rows}x${inF}x${outF}${bias ? 'b' : ''}`,
    shape: [rows, outF],
    forward(engine, ins, out) {
      const [x, w, b] = ins as [Var, Var, Var | undefined];
      encodeMatmul(
        engine,
        { m: rows, n: outF, k: inF, transB: true, bias, ...(activation ? { activation } : {}) },
        { a: x.storage.buf, b: w.storage.buf, c: out, ...(b ? { bias: b.storage.buf } : {}) },
        'torch_linear',
      );
      return undefined;
    },
    fuseForward: act
      ? undefined
      : (name) => (engine, ins, out, activated) => {
          const [x, w, b] = ins as [Var, Var, Var | undefined];
          encodeMatmul(
            engine,
            {
              m: rows,
              n: outF,
              k: inF,
              transB: true,
              bias,
              activation: { name: name as Epilogue },
              writePreActivation: true,
            },
            {
              a: x.storage.buf,
              b: w.storage.buf,
              c: activated,
              preActivation: out,
              ...(b ? { bias: b.storage.buf } : {}),
            },
            'torch_linear',
          );
        },
    backward(ctx, dy, ins, out) {
      const [x, w] = ins as [Var, Var];
      const e = ctx.engine;
      let dz = dy;
      if (activation) {
        dz = ctx.temp(rows * outF, 'linear dZ');
        encodeActivationGrad(e, activation, 'y', out, dy, dz, rows * outF);
      }
      const dZ = dz;
      const below = ctx.throughActivation(0);
      if (below) {
        // dX of the activation's input: (dZ·W) ⊙ f'(y) in the product's epilogue.
        const gradActivation = { activation: { name: below.name as Epilogue }, from: 'y' as const };
        ctx.giveThrough(0, (dst) =>
          encodeMatmul(
            e,
            { m: rows, n: inF, k: outF, gradActivation },
            { a: dZ, b: w.storage.buf, c: dst, gradSource: below.y },
            'torch_linear_dX',
          ),
        );
      } else {
        ctx.give(0, true, (dst, accumulate) =>
          encodeMatmul(
            e,
            { m: rows, n: inF, k: outF, accumulate },
            { a: dZ, b: w.storage.buf, c: dst },
            'torch_linear_dX',
          ),
        );
      }
      ctx.give(1, true, (dst, accumulate) =>
        encodeMatmul(
          e,
          { m: outF, n: inF, k: rows, transA: true, accumulate },
          { a: dZ, b: x.storage.buf, c: dst },
          'torch_linear_dW',
        ),
      );
      if (bias) {
        ctx.give(2, false, (dst) =>
          encodeSum(e, dZ, dst, { outer: 1, n: rows, inner: outF }, 1, 'torch_linear_db'),
        );
      }
    },
  };
}

// ---------------------------------------------------------------- elementwise

/** Shape a broadcast gradient of `from` must be summed to, axis by axis. */
function reduceTo(
  ctx: GradContext,
  src: Bindable,
  from: readonly number[],
  to: readonly number[],
  scale: number,
  dst: Bindable,
): void {
  const padded = [...new Array<number>(from.length - to.length).fill(1), ...to];
  const axes = from.map((d, i) => (d !== padded[i] ? i : -1)).filter((i) => i >= 0);
  let shape = [...from];
  let cur = src;
  if (axes.length === 0) {
    // Same shape: only a scale (−1 for a subtrahend).
    encodeBinary(
      ctx.engine,
      'mul',
      { buffer: src, shape: from },
      { buffer: scalarOf(ctx.engine, scale), shape: [] },
      dst,
      from,
    );
    return;
  }
  axes.forEach((axis, j) => {
    const view = {
      outer: sizeOf(shape.slice(0, axis)),
      n: shape[axis] ?? 1,
      inner: sizeOf(shape.slice(axis + 1)),
    };
    shape = shape.map((d, i) => (i === axis ? 1 : d));
    const last = j === axes.length - 1;
    const target = last ? dst : ctx.temp(sizeOf(shape), 'broadcast grad');
    encodeSum(ctx.engine, cur, target, view, j === 0 ? scale : 1, 'torch_reduce_grad');
    cur = target;
  });
}

let scalars: ScalarSource = () => {
  throw new Error('torch scalars are not set up');
};

/** Sets where ops find scalar constants (./tensor.ts owns them). */
export function setScalarSource(source: ScalarSource): void {
  scalars = source;
}

function scalarOf(engine: Engine, value: number): Bindable {
  return scalars(engine, value);
}

/** Gives input i (of shape `to`) the gradient src (of shape `from`, broadcast) times scale. */
function giveReduced(
  ctx: GradContext,
  i: number,
  src: Bindable,
  from: readonly number[],
  to: readonly number[],
  scale = 1,
): void {
  const same = from.length === to.length && from.every((d, k) => d === to[k]);
  if (same && scale === 1) {
    passThrough(ctx, i, src, sizeOf(from));
    return;
  }
  ctx.give(i, false, (dst) => reduceTo(ctx, src, from, to, scale, dst));
}

export function binaryDef(
  op: BinaryOp & ('add' | 'sub' | 'mul' | 'div'),
  aShape: readonly number[],
  bShape: readonly number[],
  shape: readonly number[],
): OpDef {
  return {
    kind: op,
    key: `${aShape.join('x')}|${bShape.join('x')}`,
    shape,
    forward(engine, [a, b], out) {
      encodeBinary(
        engine,
        op,
        { buffer: (a as Var).storage.buf, shape: aShape },
        { buffer: (b as Var).storage.buf, shape: bShape },
        out,
        shape,
      );
      return undefined;
    },
    backward(ctx, dy, [a, b], out) {
      const e = ctx.engine;
      const n = sizeOf(shape);
      const A = { buffer: (a as Var).storage.buf, shape: aShape };
      const B = { buffer: (b as Var).storage.buf, shape: bShape };
      const D = { buffer: dy, shape };
      const product = (
        x: { buffer: Bindable; shape: readonly number[] },
        y: { buffer: Bindable; shape: readonly number[] },
        f: BinaryOp,
      ) => {
        const t = ctx.temp(n, `${op} grad`);
        encodeBinary(e, f, x, y, t, shape);
        return t;
      };
      switch (op) {
        case 'add':
        case 'sub':
          if (ctx.needs(0)) giveReduced(ctx, 0, dy, shape, aShape);
          if (ctx.needs(1)) giveReduced(ctx, 1, dy, shape, bShape, op === 'sub' ? -1 : 1);
          return;
        case 'mul':
          if (ctx.needs(0)) giveReduced(ctx, 0, product(D, B, 'mul'), shape, aShape);
          if (ctx.needs(1)) giveReduced(ctx, 1, product(D, A, 'mul'), shape, bShape);
          return;
        case 'div':
          if (ctx.needs(0)) giveReduced(ctx, 0, product(D, B, 'div'), shape, aShape);
          if (ctx.needs(1)) {
            // d(a/b)/db = −(a/b)/b: −dy·out/b.
            const t = product(D, { buffer: out, shape }, 'mul');
            giveReduced(ctx, 1, product({ buffer: t, shape }, B, 'div'), shape, bShape, -1);
          }
          return;
      }
    },
  };
}

/** neg, exp, log: the unary kernels. */
export function unaryDef(op: 'neg' | 'exp' | 'log', shape: readonly number[]): OpDef {
  const n = sizeOf(shape);
  return {
    kind: op,
    key: shape.join('x'),
    shape,
    forward(engine, [x], out) {
      encodeUnary(engine, op, (x as Var).storage.buf, out, n);
      return undefined;
    },
    backward(ctx, dy, [x], out) {
      const e = ctx.engine;
      const D = { buffer: dy, shape };
      if (op === 'neg') {
        ctx.give(0, false, (dst) => encodeUnary(e, 'neg', dy, dst, n));
      } else if (op === 'exp') {
        ctx.give(0, false, (dst) => encodeBinary(e, 'mul', D, { buffer: out, shape }, dst, shape));
      } else {
        ctx.give(0, false, (dst) =>
          encodeBinary(e, 'div', D, { buffer: (x as Var).storage.buf, shape }, dst, shape),
        );
      }
    },
  };
}

/** relu, sigmoid, tanh: the activation kernels, the gradient from the output. */
export function activationDef(name: Epilogue, shape: readonly number[]): OpDef {
  const n = sizeOf(shape);
  const spec: ActivationSpec = { name };
  return {
    kind: name,
    key: shape.join('x'),
    shape,
    activation: name,
    forward(engine, [x], out) {
      encodeActivation(engine, spec, (x as Var).storage.buf, out, n);
      return undefined;
    },
    backward(ctx, dy, _ins, out) {
      ctx.give(0, true, (dst, accumulate) =>
        encodeActivationGrad(ctx.engine, spec, 'y', out, dy, dst, n, { accumulate }),
      );
    },
  };
}

/** Softmax over the last axis; with `log`, log_softmax (x − max − log Σ, one kernel). */
export function softmaxDef(shape: readonly number[], log: boolean): OpDef {
  const cols = shape[shape.length - 1] ?? 1;
  const rows = cols === 0 ? 0 : sizeOf(shape) / cols;
  const n = rows * cols;
  return {
    kind: log ? 'logSoftmax' : 'softmax',
    key: shape.join('x'),
    shape,
    forward(engine, [x], out) {
      encodeSoftmax(engine, (x as Var).storage.buf, out, rows, cols, { log });
      return undefined;
    },
    backward(ctx, dy, _ins, out) {
      const e = ctx.engine;
      if (!log) {
        ctx.give(0, false, (dst) => encodeSoftmaxGrad(e, out, dy, dst, rows, cols));
        return;
      }
      // dx = dy − softmax(x) · Σ_j dy_j per row, softmax(x) = exp(log_softmax(x)).
      const p = ctx.temp(n, 'log_softmax grad probabilities');
      encodeUnary(e, 'exp', out, p, n);
      const rowSums = ctx.temp(rows, 'log_softmax grad row sums');
      encodeSum(e, dy, rowSums, { outer: rows, n: cols, inner: 1 }, 1, 'torch_log_softmax_rows');
      const t = ctx.temp(n, 'log_softmax grad');
      const matrix = [rows, cols];
      encodeBinary(e, 'mul', { buffer: p, shape: matrix }, { buffer: rowSums, shape: [rows, 1] }, t, matrix);
      ctx.give(0, false, (dst) =>
        encodeBinary(e, 'sub', { buffer: dy, shape: matrix }, { buffer: t, shape: matrix }, dst, matrix),
      );
    },
  };
}

/** pow(x, p) and clamp(x, lo, hi): the scalar-parameter kernels. */
export function scalarDef(op: 'pow' | 'clamp', shape: readonly number[], p: number, q = 0): OpDef {
  const n = sizeOf(shape);
  return {
    kind: op,
    key: `${shape.join('x')}|${p}|${q}`,
    shape,
    forward(engine, [x], out) {
      encodeScalarOp(engine, op, { x: (x as Var).storage.buf, y: out }, n, p, q);
      return undefined;
    },
    backward(ctx, dy, [x]) {
      const grad = op === 'pow' ? 'pow_grad' : 'clamp_grad';
      ctx.give(0, false, (dst) =>
        encodeScalarOp(ctx.engine, grad, { x: (x as Var).storage.buf, dy, y: dst }, n, p, q),
      );
    },
  };
}

// ---------------------------------------------------------------- reductions

/** sum or mean over one axis (or all, axis null), the result of shape `shape`. */
export function reduceDef(
  mean: boolean,
  inShape: readonly number[],
  axis: number | null,
  shape: readonly number[],
): OpDef {
  const view =
    axis === null
      ? { outer: 1, n: sizeOf(inShape), inner: 1 }
      : {
          outer: sizeOf(inShape.slice(0, axis)),
          n: inShape[axis] ?? 1,
          inner: sizeOf(inShape.slice(axis + 1)),
        };
  const scale = mean ? 1 / Math.max(view.n, 1) : 1;
  // The gradient broadcasts dy back over the reduced axis: dy seen with that axis kept as 1.
  const kept = axis === null ? inShape.map(() => 1) : inShape.map((d, i) => (i === axis ? 1 : d));
  return {
    kind: mean ? 'mean' : 'sum',
    key: `${inShape.join('x')}|${axis ?? 'all'}|${shape.length}`,
    shape,
    forward(engine, [x], out) {
      encodeSum(engine, (x as Var).storage.buf, out, view, scale, mean ? 'torch_mean' : 'torch_sum');
      return undefined;
    },
    backward(ctx, dy) {
      ctx.give(0, false, (dst) =>
        encodeBinary(
          ctx.engine,
          'mul',
          { buffer: dy, shape: kept },
          { buffer: scalarOf(ctx.engine, scale), shape: [] },
          dst,
          inShape,
        ),
      );
    },
  };
}

// ---------------------------------------------------------------- shape ops

/** A tensor viewed with another shape of the same size (reshape, view, flatten): no kernel. */
export function reshapeDef(inShape: readonly number[], shape: readonly number[]): OpDef {
  const n = sizeOf(shape);
  return {
    kind: 'view',
    key: `${inShape.join('x')}|${shape.join('x')}`,
    shape,
    alias: true,
    forward() {
      return undefined;
    },
    backward(ctx, dy) {
      passThrough(ctx, 0, dy, n);
    },
  };
}

/** A copy of x with storage of its own (clone): its 32-bit values moved as they are. */
export function cloneDef(shape: readonly number[]): OpDef {
  const n = sizeOf(shape);
  return {
    kind: 'clone',
    key: shape.join('x'),
    shape,
    forward(engine, [x], out) {
      copyOrAdd(engine, (x as Var).storage.buf, out, n, false);
      return undefined;
    },
    backward(ctx, dy) {
      passThrough(ctx, 0, dy, n);
    },
  };
}

/** The [outer, d, inner] view of a shape around one axis. */
function around(shape: readonly number[], axis: number): { outer: number; d: number; inner: number } {
  return { outer: sizeOf(shape.slice(0, axis)), d: shape[axis] ?? 1, inner: sizeOf(shape.slice(axis + 1)) };
}

/**
 * x[start:end] along `axis` (a copy kernel). With `dynamic`, the start is not part of the
 * op: a compiled step reads it from a GPU word written before each replay (the deck's
 * X[i:i+batch_size]).
 */
export function sliceDef(
  inShape: readonly number[],
  axis: number,
  start: number,
  end: number,
  dynamic: boolean,
): OpDef {
  const { outer, d, inner } = around(inShape, axis);
  const len = end - start;
  const shape = inShape.map((s, i) => (i === axis ? len : s));
  const cols = len * inner;
  const spec = (fromDyn: boolean) => ({
    rows: outer,
    cols,
    src: { offset: fromDyn ? 0 : start * inner, stride: d * inner },
    dst: { offset: 0, stride: cols },
    ...(fromDyn ? { dynScale: inner, dynMax: d - len } : {}),
  });
  return {
    kind: 'slice',
    key: `${inShape.join('x')}|${axis}|${len}${dynamic ? '' : `@${start}`}`,
    shape,
    ...(dynamic ? { dynamic: { value: start, max: d - len } } : {}),
    forward(engine, [x], out, dyn) {
      encodeCopyBlock(engine, spec(dyn !== undefined), {
        src: (x as Var).storage.buf,
        dst: out,
        ...(dyn ? { dyn } : {}),
      });
      return undefined;
    },
    backward(ctx, dy) {
      const e = ctx.engine;
      const total = sizeOf(inShape);
      ctx.give(0, true, (dst, accumulate) => {
        if (!accumulate) encodeFill(e, dst, total, 0);
        encodeCopyBlock(
          e,
          {
            rows: outer,
            cols,
            src: { offset: 0, stride: cols },
            dst: { offset: start * inner, stride: d * inner },
            accumulate: true,
          },
          { src: dy, dst },
        );
      });
    },
  };
}

/** Concatenation along `axis` of tensors of the given shapes. */
export function catDef(
  shapes: readonly (readonly number[])[],
  axis: number,
  shape: readonly number[],
): OpDef {
  const { outer, d, inner } = around(shape, axis);
  const stride = d * inner;
  const parts: { offset: number; cols: number }[] = [];
  let at = 0;
  for (const s of shapes) {
    const cols = (s[axis] ?? 1) * inner;
    parts.push({ offset: at, cols });
    at += cols;
  }
  return {
    kind: 'cat',
    key: `${shapes.map((s) => s.join('x')).join('|')}|${axis}`,
    shape,
    forward(engine, ins, out) {
      parts.forEach(({ offset, cols }, i) =>
        encodeCopyBlock(
          engine,
          { rows: outer, cols, src: { offset: 0, stride: cols }, dst: { offset, stride } },
          { src: (ins[i] as Var).storage.buf, dst: out },
        ),
      );
      return undefined;
    },
    backward(ctx, dy) {
      parts.forEach(({ offset, cols }, i) =>
        ctx.give(i, true, (dst, accumulate) =>
          encodeCopyBlock(
            ctx.engine,
            { rows: outer, cols, src: { offset, stride }, dst: { offset: 0, stride: cols }, accumulate },
            { src: dy, dst },
          ),
        ),
      );
    },
  };
}

// ---------------------------------------------------------------- losses

/** A torch.nn loss: its value, and the input's gradient kept from the same pass. */
export function lossDef(
  kind: TorchLossKind,
  rows: number,
  cols: number,
  reduction: TorchReduction,
  ignoreIndex: number | undefined,
  weighted: boolean,
): OpDef {
  const classes = torchLossIsClassIndexed(kind);
  const shape = reduction === 'none' ? (classes ? [rows] : [rows, cols]) : [];
  const spec = { kind, rows, cols, reduction, ...(ignoreIndex !== undefined ? { ignoreIndex } : {}) };
  const n = rows * cols;
  return {
    kind,
    key: `${rows}x${cols}|${reduction}|${ignoreIndex ?? ''}|${weighted ? 'w' : ''}`,
    shape,
    forward(engine, ins, out) {
      const [input, target, weight] = ins as [Var, Var, Var | undefined];
      const grad = allocate(engine, n, `${kind} input gradient`);
      const scratch = reduction === 'none' ? undefined : allocate(engine, rows + 1, `${kind} scratch`);
      encodeTorchLoss(engine, spec, {
        input: input.storage.buf,
        target: target.storage.buf,
        output: out,
        gradInput: grad.buf,
        ...(weight ? { weight: weight.storage.buf } : {}),
        ...(scratch ? { scratch: scratch.buf as GPUBuffer } : {}),
      });
      return { buffers: scratch ? [grad, scratch] : [grad] };
    },
    backward(ctx, dy, ins, _out, saved) {
      const e = ctx.engine;
      const [input, target, weight] = ins as [Var, Var, Var | undefined];
      let grad = (saved as Saved).buffers[0]?.buf as Bindable;
      if (reduction === 'none') {
        // The input gradient of Σ dy·loss: the kernel again, with grad_output.
        const value = ctx.temp(sizeOf(shape), `${kind} value`);
        grad = ctx.temp(n, `${kind} input gradient`);
        encodeTorchLoss(e, spec, {
          input: input.storage.buf,
          target: target.storage.buf,
          output: value,
          gradInput: grad,
          gradOutput: dy,
          ...(weight ? { weight: weight.storage.buf } : {}),
        });
      } else if (dy !== scalarOf(e, 1)) {
        // Not backward() from the loss itself: the kept gradient times the upstream one.
        const scaled = ctx.temp(n, `${kind} input gradient`);
        encodeBinary(e, 'mul', { buffer: grad, shape: [rows, cols] }, { buffer: dy, shape: [] }, scaled, [
          rows,
          cols,
        ]);
        grad = scaled;
      }
      if (ctx.needs(1)) {
        // MSE and L1 are functions of input − target: the target's gradient is the negation.
        const g = grad;
        ctx.give(1, false, (dst) => encodeUnary(e, 'neg', g, dst, n));
      }
      // The input's gradient is the buffer itself when nothing else reads it.
      ctx.giveBuffer(0, grad);
    },
  };
}

// ---------------------------------------------------------------- dropout and batch norm

/**
 * Inverted dropout (nn.Dropout in training mode): mask from Philox (seed, stream, step),
 * the step read from word 0 of the front-end's RNG buffer.
 */
export function dropoutDef(
  shape: readonly number[],
  rate: number,
  seed: number,
  stream: number,
  step: Bindable,
  /** manualSeed() calls so far: a reseeded loop records its dropout again (the same masks as before). */
  epoch = 0,
): OpDef {
  const n = sizeOf(shape);
  const spec = { n, rate, seed, stream };
  return {
    kind: 'dropout',
    // The stream is left out: a replayed dropout keeps the stream it was recorded with and
    // draws a new mask each iteration from the step word, which each step() advances.
    key: `${shape.join('x')}|${rate}|${seed}|${epoch}`,
    shape,
    forward(engine, [x], out) {
      encodeDropout(engine, spec, { x: (x as Var).storage.buf, y: out, step });
      return undefined;
    },
    backward(ctx, dy) {
      ctx.give(0, false, (dst) => encodeDropoutGrad(ctx.engine, spec, { dy, dx: dst, step }));
    },
  };
}

/**
 * nn.BatchNorm1d on [rows, features]. Training: batch statistics (biased variance), running
 * statistics updated in place with PyTorch's momentum (running = (1 − m)·running + m·batch,
 * the variance unbiased there as PyTorch's);
 * evaluation: the running statistics. Inputs: x, weight (γ), bias (β), runningMean, runningVar.
 */
export function batchNormDef(
  rows: number,
  features: number,
  eps: number,
  momentum: number,
  training: boolean,
): OpDef {
  const spec = { rows, features, epsilon: eps, momentum: 1 - momentum, unbiasedMovingVariance: true };
  return {
    kind: 'batchNorm',
    key: `${rows}x${features}|${eps}|${momentum}|${training ? 'train' : 'eval'}`,
    shape: [rows, features],
    forward(engine, ins, out) {
      const [x, g, b, rm, rv] = (ins as Var[]).map((v) => v.storage.buf) as [
        Bindable,
        Bindable,
        Bindable,
        Bindable,
        Bindable,
      ];
      if (!training) {
        encodeBatchNormInference(engine, spec, {
          x,
          gamma: g,
          beta: b,
          runningMean: rm,
          runningVar: rv,
          y: out,
        });
        return undefined;
      }
      const saved = allocate(engine, BN_SAVED_ROWS * features, 'batch_norm saved');
      encodeBatchNormTrain(engine, spec, {
        x,
        gamma: g,
        beta: b,
        y: out,
        saved: saved.buf,
        runningMean: rm,
        runningVar: rv,
      });
      return { buffers: [saved] };
    },
    backward(ctx, dy, ins, _out, saved) {
      if (!training)
        throw new Error('BatchNorm1d in eval mode: its backward is not implemented; call train() first');
      const [x, g] = ins as [Var, Var];
      const dx = ctx.temp(rows * features, 'batch_norm dx');
      const dgamma = ctx.temp(features, 'batch_norm dgamma');
      const dbeta = ctx.temp(features, 'batch_norm dbeta');
      encodeBatchNormBackward(ctx.engine, spec, {
        x: x.storage.buf,
        dy,
        gamma: g.storage.buf,
        saved: (saved as Saved).buffers[0]?.buf as Bindable,
        dx,
        dgamma,
        dbeta,
      });
      passThrough(ctx, 0, dx, rows * features);
      passThrough(ctx, 1, dgamma, features);
      passThrough(ctx, 2, dbeta, features);
    },
  };
}
