/**
 * Eager tensors: a GPU buffer with a static shape and dtype. Created from host data with
 * tensor(), read back with `await t.read()`, freed with `t.dispose()`.
 *
 * dtypes: f32, i32, u32 (4 bytes each) and u8 (packed four to a 32-bit word on the GPU,
 * since WGSL has no 8-bit storage type; datasets of images stay u8 to save memory).
 */
import type { Engine } from '../gpu/engine.js';
import { currentEngine } from '../gpu/init.js';
import { formatShape, sizeOf, type Shape } from '../kernels/shape.js';

export type DType = 'f32' | 'i32' | 'u32' | 'u8';
/** TF.js spellings accepted as aliases. */
export type DTypeLike = DType | 'float32' | 'int32' | 'uint32' | 'uint8';

export type TypedArray = Float32Array | Int32Array | Uint32Array | Uint8Array;
export type TypedArrayFor<D extends DType> = D extends 'f32'
  ? Float32Array
  : D extends 'i32'
    ? Int32Array
    : D extends 'u32'
      ? Uint32Array
      : Uint8Array;

export interface NestedArray extends ReadonlyArray<number | NestedArray> {}
export type TensorData =
  | Float32Array
  | Float64Array
  | Int32Array
  | Uint32Array
  | Uint8Array
  | Uint8ClampedArray
  | readonly number[]
  | NestedArray
  | number;

const DTYPES: Record<DTypeLike, DType> = {
  f32: 'f32',
  i32: 'i32',
  u32: 'u32',
  u8: 'u8',
  float32: 'f32',
  int32: 'i32',
  uint32: 'u32',
  uint8: 'u8',
};

const BYTES: Record<DType, number> = { f32: 4, i32: 4, u32: 4, u8: 1 };

const INTEGER_RANGE: Partial<Record<DType, [number, number]>> = {
  i32: [-(2 ** 31), 2 ** 31 - 1],
  u32: [0, 2 ** 32 - 1],
  u8: [0, 255],
};

export function resolveDType(d: string, what: string): DType {
  const resolved = (DTYPES as Record<string, DType | undefined>)[d];
  if (!resolved) {
    throw new TypeError(`${what}: unknown dtype '${d}'; expected one of f32, i32, u32, u8`);
  }
  return resolved;
}

export function bytesPerElement(dtype: DType): number {
  return BYTES[dtype];
}

let nextId = 0;

export class Tensor<D extends DType = DType> {
  readonly shape: readonly number[];
  readonly size: number;
  readonly label: string;
  #buffer: GPUBuffer | null;
  /** Datasets binding this tensor's buffer in place (fit, evaluate, predict in flight). */
  #borrows = 0;
  /** dispose() was called while borrowed: the buffer goes when the last borrow ends. */
  #released = false;

  /** Wraps a buffer this tensor will own. Use tensor() to make one from host data. */
  constructor(
    readonly engine: Engine,
    buffer: GPUBuffer,
    shape: Shape,
    readonly dtype: D,
    label?: string,
  ) {
    this.shape = Object.freeze([...shape]);
    this.size = sizeOf(shape);
    this.label = label ?? `tensor#${nextId++}`;
    this.#buffer = buffer;
  }

  get rank(): number {
    return this.shape.length;
  }

  /** Bytes of data (u8 counts one byte each; the GPU buffer is padded to 4). */
  get byteLength(): number {
    return this.size * BYTES[this.dtype];
  }

  get isDisposed(): boolean {
    return this.#buffer === null || this.#released;
  }

  /** The GPU buffer, for kernels. Throws if the tensor was disposed or its device lost. */
  get buffer(): GPUBuffer {
    return this.#live();
  }

  #live(): GPUBuffer {
    if (!this.#buffer || this.#released) {
      throw new Error(`${this.describe()} was disposed; it cannot be used or read`);
    }
    this.engine.assertUsable();
    return this.#buffer;
  }

  /** Copies the values to the host. */
  async read(): Promise<TypedArrayFor<D>> {
    const bytes = await this.engine.read(this.buffer, this.byteLength, this.label);
    return typedArray(this.dtype, bytes) as TypedArrayFor<D>;
  }

  /**
   * Frees the GPU buffer. Safe to call twice. While a fit, evaluate or predict binds this
   * tensor in place, the buffer is freed when that call ends; the tensor counts as disposed
   * at once.
   */
  dispose(): void {
    if (!this.#buffer) return;
    if (this.#borrows > 0) {
      this.#released = true;
      return;
    }
    if (!this.engine.isLost) this.engine.releaseBuffer(this.#buffer);
    this.#buffer = null;
  }

  /**
   * Keeps the buffer alive until the returned function is called (once), even if dispose()
   * comes first: for a dataset that binds it in place.
   */
  borrow(): () => void {
    this.#live(); // throws if disposed
    this.#borrows++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.#borrows--;
      if (this.#borrows === 0 && this.#released) {
        this.#released = false;
        this.dispose();
      }
    };
  }

  describe(): string {
    return `Tensor "${this.label}" ${formatShape(this.shape)} ${this.dtype}`;
  }

  toString(): string {
    return this.describe();
  }
}

function typedArray(dtype: DType, bytes: ArrayBuffer): TypedArray {
  switch (dtype) {
    case 'f32':
      return new Float32Array(bytes);
    case 'i32':
      return new Int32Array(bytes);
    case 'u32':
      return new Uint32Array(bytes);
    case 'u8':
      return new Uint8Array(bytes);
  }
}

export function storageUsage(): GPUBufferUsageFlags {
  return GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
}

/** An uninitialised (zero-filled) tensor on `engine`, for kernel outputs. */
export function emptyTensor<D extends DType>(
  engine: Engine,
  shape: Shape,
  dtype: D,
  label: string,
): Tensor<D> {
  const buffer = engine.createBuffer({
    size: sizeOf(shape) * BYTES[dtype],
    usage: storageUsage(),
    label,
  });
  return new Tensor(engine, buffer, shape, dtype, label);
}

export interface TensorOptions {
  /** Defaults to the engine made by the last initEngine(). */
  engine?: Engine;
  label?: string;
}

/**
 * A GPU tensor holding a copy of `data`.
 *
 *   tensor([[1, 2], [3, 4]])                     // shape [2, 2], f32
 *   tensor(new Uint8Array(pixels), [n, 28, 28])  // u8
 *   tensor([1, 2, 3], [3], 'i32')
 *
 * The shape is inferred from nested arrays; for flat data it defaults to [length]. dtype
 * defaults from the typed array (Float64Array and plain numbers give f32). Values are
 * checked for the dtype: integers in range for i32/u32/u8.
 *
 * A tensor may be as large as the device's maxBufferSize, even over its
 * maxStorageBufferBindingSize (e.g. all of MNIST as f32, 188 MB, where one binding holds
 * 128 MiB): fit, evaluate and predict bind such a tensor in slices, in place; an eager op
 * given one throws a GPULimitError.
 */
export function tensor(
  data: TensorData,
  shape?: Shape,
  dtype?: DTypeLike,
  options: TensorOptions = {},
): Tensor {
  const what = 'tensor()';
  const { values, inferredShape } = flatten(data, what);
  const finalShape = shape ? checkShape(shape, what) : inferredShape;
  const expected = sizeOf(finalShape);
  if (values.length !== expected) {
    throw new RangeError(
      `${what}: shape ${formatShape(finalShape)} holds ${expected} values but ${values.length} were given`,
    );
  }
  const d = dtype ? resolveDType(dtype, what) : defaultDType(data);
  const host = convert(values, d, what);
  const engine = options.engine ?? currentEngine();
  const label = options.label ?? `tensor#${nextId++}`;
  // Up to maxBufferSize: a tensor larger than one binding serves as fit/evaluate/predict
  // data (bound in slices); eager ops refuse it by name.
  const buffer = engine.createBufferWithData(host, storageUsage(), label, { sliced: true });
  return new Tensor(engine, buffer, finalShape, d, label);
}

function checkShape(shape: Shape, what: string): number[] {
  // Callers from plain JavaScript may pass anything.
  const given: unknown = shape;
  if (!Array.isArray(given)) {
    throw new TypeError(`${what}: shape must be an array of dimensions, got ${String(given)}`);
  }
  const dims = shape.slice();
  dims.forEach((d, axis) => {
    if (!Number.isSafeInteger(d) || d < 0) {
      throw new RangeError(
        `${what}: shape ${formatShape(dims)} has an invalid dimension ${String(d)} at axis ${axis} ` +
          '(dimensions must be non-negative integers)',
      );
    }
  });
  return dims;
}

function defaultDType(data: TensorData): DType {
  if (data instanceof Int32Array) return 'i32';
  if (data instanceof Uint32Array) return 'u32';
  if (data instanceof Uint8Array || data instanceof Uint8ClampedArray) return 'u8';
  return 'f32';
}

type FlatValues = ArrayLike<number>;

function flatten(data: TensorData, what: string): { values: FlatValues; inferredShape: number[] } {
  if (typeof data === 'number') return { values: [data], inferredShape: [] };
  if (ArrayBuffer.isView(data)) return { values: data, inferredShape: [data.length] };
  if (!Array.isArray(data)) {
    throw new TypeError(`${what}: data must be a number, an array or a typed array`);
  }
  const shape: number[] = [];
  let level: unknown = data;
  while (Array.isArray(level)) {
    shape.push(level.length);
    level = level[0];
  }
  const values: number[] = [];
  const walk = (node: unknown, depth: number, path: number[]): void => {
    if (depth === shape.length) {
      if (typeof node !== 'number') {
        throw new TypeError(
          `${what}: element at [${path.join(', ')}] is ${describeValue(node)}, not a number`,
        );
      }
      values.push(node);
      return;
    }
    if (!Array.isArray(node) || node.length !== shape[depth]) {
      const got = Array.isArray(node) ? `length ${node.length}` : describeValue(node);
      throw new RangeError(
        `${what}: ragged nested array: at [${path.join(', ')}] expected an array of length ` +
          `${shape[depth]}, got ${got}`,
      );
    }
    node.forEach((child: unknown, i) => walk(child, depth + 1, [...path, i]));
  };
  walk(data, 0, []);
  return { values, inferredShape: shape };
}

function describeValue(v: unknown): string {
  return Array.isArray(v) ? 'an array' : typeof v === 'string' ? `the string "${v}"` : String(v);
}

function convert(values: FlatValues, dtype: DType, what: string): TypedArray {
  const range = INTEGER_RANGE[dtype];
  if (range) {
    for (let i = 0; i < values.length; i++) {
      const v = values[i] as number;
      if (!Number.isInteger(v) || v < range[0] || v > range[1]) {
        throw new RangeError(
          `${what}: value ${v} at index ${i} is not valid for dtype ${dtype} ` +
            `(integers ${range[0]}..${range[1]})`,
        );
      }
    }
  }
  switch (dtype) {
    case 'f32':
      return Float32Array.from(values);
    case 'i32':
      return Int32Array.from(values);
    case 'u32':
      return Uint32Array.from(values);
    case 'u8':
      return Uint8Array.from(values);
  }
}
