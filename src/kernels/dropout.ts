/**
 * Inverted dropout: dispatch, validation, and the exact TypeScript mask. The WGSL and the
 * description of the generator (Philox-4x32-10 over counter (i/4, step, stream, 0), key
 * (seed, 0)) live in shaders/dropout.ts.
 *
 * Keras semantics: during training each element is dropped with probability `rate` and the
 * kept ones are scaled by 1/(1 − rate), so the expectation is unchanged; inference is the
 * identity (no kernel).
 */
import { DROPOUT_ELEMENTS_PER_THREAD, dropoutShader } from '../../shaders/dropout.js';
import { WORKGROUP_1D } from '../../shaders/common.js';
import type { Bindable, Engine } from '../gpu/engine.js';
import { checkCount, checkF32Each, checkSize } from './validate.js';

export interface DropoutSpec {
  /** Number of f32 elements. */
  n: number;
  /** Drop probability in [0, 1). */
  rate: number;
  /** A u32: the same seed, stream and step give the same mask on every adapter. */
  seed: number;
  /**
   * A u32 (default 0) naming this layer's draw: it fills Philox counter word 2, so layers
   * sharing a seed but given different streams get independent masks. Stream 0 gives the
   * masks of the counter (i/4, step, 0, 0).
   */
  stream?: number;
  /**
   * Which u32 word of the `step` buffer holds the step (default 0). E.g. 1 for an optimizer
   * hyper buffer (src/kernels/optim.ts), which keeps lr (f32) in word 0 and the step in word 1.
   */
  stepWord?: number;
}

/** Bits of the uniform draw compared against the rate. */
const UNIFORM_BITS = 24;

/**
 * The integer keep threshold: element kept when (philox word >> 8) ≥ threshold, so the drop
 * probability is threshold / 2^24, within 2^-25 of `rate`.
 */
export function dropoutThreshold(rate: number): number {
  return Math.round(rate * 2 ** UNIFORM_BITS);
}

/** The factor applied to kept elements: 1/(1 − rate) rounded once to f32. */
export function dropoutScale(rate: number): number {
  return Math.fround(1 / (1 - rate));
}

/**
 * y = x · mask / (1 − rate); the step is the u32 at word spec.stepWord (default 0) of `step`
 * (a storage buffer), so a compiled plan can advance it on the GPU. x and y must be
 * different buffers.
 */
export function encodeDropout(
  engine: Engine,
  spec: DropoutSpec,
  b: { x: Bindable; y: Bindable; step: Bindable },
): void {
  encode(engine, spec, 'dropout', ['x', b.x], ['y', b.y], b.step);
}

/** dx = dy · mask / (1 − rate), the mask recomputed from (seed, stream, step, index). */
export function encodeDropoutGrad(
  engine: Engine,
  spec: DropoutSpec,
  b: { dy: Bindable; dx: Bindable; step: Bindable },
): void {
  encode(engine, spec, 'dropout_grad', ['dy', b.dy], ['dx', b.dx], b.step);
}

/** The input and the output come with their argument names (x and y, or dy and dx). */
function encode(
  engine: Engine,
  spec: DropoutSpec,
  label: string,
  [inputName, input]: readonly [string, Bindable],
  [outputName, output]: readonly [string, Bindable],
  step: Bindable,
): void {
  checkSpec(spec, label);
  checkF32Each(label, { [inputName]: input, [outputName]: output }, spec.n, `[${spec.n}]`);
  const stepWord = spec.stepWord ?? 0;
  checkSize(label, 'step', step, (stepWord + 1) * 4, `stepWord ${stepWord} (u32)`);
  if (input === output) {
    throw new RangeError(
      `${label}: input and output must be different buffers (WebGPU forbids the aliasing)`,
    );
  }
  const words = new Uint32Array([
    spec.n,
    dropoutThreshold(spec.rate),
    spec.seed >>> 0,
    0,
    spec.stream ?? 0,
    stepWord,
    0,
    0,
  ]);
  new Float32Array(words.buffer)[3] = dropoutScale(spec.rate);
  // The same WGSL (one cached pipeline) serves forward and backward: the masks cannot differ.
  const pipeline = engine.pipeline(dropoutShader(), 'dropout');
  const params = engine.tempUniform(words, `${label} params`);
  const threads = Math.ceil(spec.n / DROPOUT_ELEMENTS_PER_THREAD);
  // The scale multiply per element (Philox is integer work); input read, output written, the
  // step word read.
  const work = { flops: spec.n, bytes: 8 * spec.n + 4 };
  engine.dispatch(
    pipeline,
    [input, output, step, params],
    engine.dispatchGrid(threads, WORKGROUP_1D),
    label,
    work,
  );
}

function checkSpec(spec: DropoutSpec, what: string): void {
  const { n, rate, seed, stream = 0, stepWord = 0 } = spec;
  if (!(rate >= 0 && rate < 1)) {
    throw new RangeError(`${what}: rate must be in [0, 1), got ${rate}`);
  }
  checkCount(what, 'n', n, 0, 2 ** 31);
  checkCount(what, 'seed', seed);
  checkCount(what, 'stream', stream);
  checkCount(what, 'stepWord', stepWord, 0, 2 ** 28 - 1);
}

// ------------------------------------------------------------ the exact reference

const PHILOX_M0 = 0xd2511f53;
const PHILOX_M1 = 0xcd9e8d57;
const PHILOX_W0 = 0x9e3779b9;
const PHILOX_W1 = 0xbb67ae85;

/** High 32 bits of the 64-bit product of two u32s, from 16-bit limbs (exact in doubles). */
function mulHi(a: number, b: number): number {
  const a0 = a & 0xffff;
  const a1 = a >>> 16;
  const b0 = b & 0xffff;
  const b1 = b >>> 16;
  const cross0 = a0 * b1;
  const cross1 = a1 * b0;
  const mid = Math.floor((a0 * b0) / 0x10000) + (cross0 % 0x10000) + (cross1 % 0x10000);
  return (
    (a1 * b1 + Math.floor(cross0 / 0x10000) + Math.floor(cross1 / 0x10000) + Math.floor(mid / 0x10000)) >>> 0
  );
}

/**
 * Philox-4x32-10 (Random123's philox4x32 with 10 rounds): four u32 outputs for a
 * four-word counter and a two-word key.
 */
export function philox4x32(
  counter: readonly number[],
  key: readonly number[],
): [number, number, number, number] {
  let [c0, c1, c2, c3] = counter.map((w) => w >>> 0) as [number, number, number, number];
  let [k0, k1] = key.map((w) => w >>> 0) as [number, number];
  for (let r = 0; r < 10; r++) {
    if (r > 0) {
      k0 = (k0 + PHILOX_W0) >>> 0;
      k1 = (k1 + PHILOX_W1) >>> 0;
    }
    const hi0 = mulHi(PHILOX_M0, c0);
    const lo0 = Math.imul(PHILOX_M0, c0) >>> 0;
    const hi1 = mulHi(PHILOX_M1, c2);
    const lo1 = Math.imul(PHILOX_M1, c2) >>> 0;
    [c0, c1, c2, c3] = [(hi1 ^ c1 ^ k0) >>> 0, lo1, (hi0 ^ c3 ^ k1) >>> 0, lo0];
  }
  return [c0, c1, c2, c3];
}

/**
 * The keep mask (1 kept, 0 dropped) the kernels use for (seed, step, stream), bit-identical
 * to the GPU. `step` is the step value itself (not a buffer word index).
 */
export function dropoutMaskReference(
  seed: number,
  step: number,
  n: number,
  rate: number,
  stream = 0,
): Uint8Array {
  checkSpec({ n, rate, seed, stream }, 'dropoutMaskReference');
  const threshold = dropoutThreshold(rate);
  const mask = new Uint8Array(n);
  for (let g = 0; g * 4 < n; g++) {
    const words = philox4x32([g, step, stream, 0], [seed, 0]);
    for (let j = 0; j < 4 && g * 4 + j < n; j++) {
      mask[g * 4 + j] = (words[j] ?? 0) >>> 8 >= threshold ? 1 : 0;
    }
  }
  return mask;
}

/** The kernel's exact output: x · scale rounded once to f32 where kept (the product of two f32s is exact in float64), else 0. */
export function dropoutReference(x: ArrayLike<number>, mask: Uint8Array, rate: number): Float32Array {
  const scale = dropoutScale(rate);
  return Float32Array.from({ length: x.length }, (_, i) => (mask[i] ? (x[i] ?? NaN) * scale : 0));
}
