/**
 * NumPy's `.npy` and `.npz` files, read as numpy's `np.load(path, allow_pickle=False)` reads
 * them (the files Keras's datasets ship: mnist.npz, california_housing.npz, ...).
 *
 * `.npy` (numpy/lib/format.py, versions 1.0, 2.0 and 3.0):
 *
 *   "\x93NUMPY" · major u8 · minor u8 · header length (u16 LE in 1.0, u32 LE in 2.0 and 3.0)
 *   · header: a Python dict literal {'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }
 *     in latin-1 (UTF-8 in 3.0), padded with spaces and a newline
 *   · the values, shape-product × itemsize bytes, in C order (row-major) or, with
 *     fortran_order, column-major.
 *
 * `.npz` is a zip of `<name>.npy` entries, stored (np.savez) or deflated (np.savez_compressed).
 * The zip reader, fflate, is loaded on first use.
 *
 * Browser-safe: pure TypeScript on bytes.
 */

/** The dtypes read, by numpy's name; the typed array each gives. */
export interface NpyArrays {
  bool: Uint8Array;
  int8: Int8Array;
  uint8: Uint8Array;
  int16: Int16Array;
  uint16: Uint16Array;
  int32: Int32Array;
  uint32: Uint32Array;
  int64: BigInt64Array;
  uint64: BigUint64Array;
  float32: Float32Array;
  float64: Float64Array;
}

export type NpyDType = keyof NpyArrays;

/**
 * An n-dimensional array: `data` holds the values in C order (row-major), `shape` their
 * dimensions (`[]` for a scalar). `{ data, shape }` is what `model.fit` takes as x or y, so an
 * array of a dtype fit reads (uint8, the float and 8- to 32-bit integer dtypes) goes to it as is.
 */
export interface NdArray<D extends NpyDType = NpyDType> {
  dtype: D;
  data: NpyArrays[D];
  shape: number[];
}

export class NpyError extends Error {
  override name = 'NpyError';
}

/** numpy's descr kind+size → our dtype, bytes per value, the typed array's constructor. */
const KINDS: Readonly<Record<string, { dtype: NpyDType; size: number }>> = {
  b1: { dtype: 'bool', size: 1 },
  i1: { dtype: 'int8', size: 1 },
  u1: { dtype: 'uint8', size: 1 },
  i2: { dtype: 'int16', size: 2 },
  u2: { dtype: 'uint16', size: 2 },
  i4: { dtype: 'int32', size: 4 },
  u4: { dtype: 'uint32', size: 4 },
  i8: { dtype: 'int64', size: 8 },
  u8: { dtype: 'uint64', size: 8 },
  f4: { dtype: 'float32', size: 4 },
  f8: { dtype: 'float64', size: 8 },
};

type TypedCtor = new (buffer: ArrayBufferLike, byteOffset: number, length: number) => NpyArrays[NpyDType];

const CTORS: Readonly<Record<NpyDType, TypedCtor>> = {
  bool: Uint8Array,
  int8: Int8Array,
  uint8: Uint8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
  int64: BigInt64Array,
  uint64: BigUint64Array,
  float32: Float32Array,
  float64: Float64Array,
};

/** Why numpy kinds we do not read are refused, in words. */
const UNREAD: Readonly<Record<string, string>> = {
  O: 'Python objects, which numpy itself loads only with allow_pickle=True (Keras never does)',
  f: 'a float size other than 4 or 8 bytes (float16 has no typed array in every runtime)',
  c: 'complex numbers',
  S: 'byte strings',
  U: 'unicode strings',
  V: 'a structured or void dtype',
  M: 'datetimes',
  m: 'timedeltas',
};

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"

/** True when the host stores numbers little-endian (every WebGPU host; checked, not assumed). */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * The header dict of a .npy file: a Python literal of strings, True/False, integers, tuples
 * and lists. A small tokenizer, never an eval.
 */
type PyValue = string | number | boolean | null | PyValue[] | { [key: string]: PyValue };

function parsePyLiteral(text: string, where: string): PyValue {
  let i = 0;
  const fail = (what: string): never => {
    throw new NpyError(
      `${where}: the .npy header is not a dict numpy writes (${what} at ${i}): ${text.trim()}`,
    );
  };
  const space = (): void => {
    while (i < text.length && /\s/.test(text[i] ?? '')) i++;
  };
  const value = (): PyValue => {
    space();
    const c = text[i];
    if (c === "'" || c === '"') {
      const end = text.indexOf(c, i + 1);
      if (end < 0) fail('an unterminated string');
      const s = text.slice(i + 1, end);
      i = end + 1;
      return s;
    }
    if (c === '{' || c === '(' || c === '[') {
      const close = c === '{' ? '}' : c === '(' ? ')' : ']';
      i++;
      const items: PyValue[] = [];
      const dict: Record<string, PyValue> = {};
      for (;;) {
        space();
        if (text[i] === close) {
          i++;
          break;
        }
        const v = value();
        if (c === '{') {
          space();
          if (text[i] !== ':' || typeof v !== 'string') fail('a dict key that is not a string');
          i++;
          dict[v as string] = value();
        } else items.push(v);
        space();
        if (text[i] === ',') i++;
        else if (text[i] !== close) fail(`'${text[i] ?? 'the end'}' where ',' or '${close}' belongs`);
      }
      return c === '{' ? dict : items;
    }
    const m = /^(True|False|None|-?\d+L?)/.exec(text.slice(i));
    if (!m) return fail(`'${c ?? 'the end'}'`);
    i += m[0].length;
    const word = m[0];
    if (word === 'True' || word === 'False') return word === 'True';
    if (word === 'None') return null;
    return Number.parseInt(word, 10);
  };
  const v = value();
  space();
  if (i !== text.length) fail('text after the dict');
  return v;
}

export interface NpyHeader {
  dtype: NpyDType;
  /** Bytes per value. */
  itemsize: number;
  /** True for big-endian values ('>' in descr). */
  bigEndian: boolean;
  fortranOrder: boolean;
  shape: number[];
  /** Bytes before the first value. */
  dataOffset: number;
}

/** The header of a .npy file; `where` names the file (and entry) in errors. */
export function readNpyHeader(bytes: Uint8Array, where = '.npy'): NpyHeader {
  if (bytes.length < 10 || MAGIC.some((b, k) => bytes[k] !== b)) {
    throw new NpyError(`${where}: not a .npy file (it does not start with "\\x93NUMPY")`);
  }
  const major = bytes[6] ?? 0;
  const minor = bytes[7] ?? 0;
  if (major < 1 || major > 3) {
    throw new NpyError(`${where}: .npy format version ${major}.${minor}; versions 1.0, 2.0 and 3.0 are read`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lengthBytes = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lengthBytes) throw new NpyError(`${where}: truncated in the .npy header`);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = 8 + lengthBytes;
  const dataOffset = start + headerLength;
  if (bytes.length < dataOffset) {
    throw new NpyError(
      `${where}: truncated: the .npy header is ${headerLength} bytes, the file ends before it does`,
    );
  }
  const text = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(start, dataOffset));
  const dict = parsePyLiteral(text, where);
  if (typeof dict !== 'object' || dict === null || Array.isArray(dict)) {
    throw new NpyError(`${where}: the .npy header is not a dict: ${text.trim()}`);
  }
  const { descr, fortran_order: fortranOrder, shape } = dict;
  if (typeof descr !== 'string') {
    throw new NpyError(
      `${where}: a structured dtype (descr ${JSON.stringify(descr)}); only plain numbers are read`,
    );
  }
  if (typeof fortranOrder !== 'boolean')
    throw new NpyError(`${where}: the header's fortran_order is not True/False`);
  if (
    !Array.isArray(shape) ||
    !shape.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)
  ) {
    throw new NpyError(`${where}: the header's shape ${JSON.stringify(shape)} is not a tuple of sizes`);
  }
  const m = /^([<>|=])([a-zA-Z])(\d*)$/.exec(descr);
  const kind = m ? KINDS[`${m[2]}${m[3]}`] : undefined;
  if (!m || !kind) {
    const why = m ? UNREAD[m[2] ?? ''] : undefined;
    throw new NpyError(
      `${where}: dtype '${descr}'${why ? ` holds ${why}` : ''}; not read (numbers only: ${Object.keys(KINDS).join(', ')})`,
    );
  }
  // '=' is the writer's native order; numpy writes '<' or '>' (and '|' for one byte).
  const bigEndian = m[1] === '>' || (m[1] === '=' && !LITTLE_ENDIAN);
  return {
    dtype: kind.dtype,
    itemsize: kind.size,
    bigEndian,
    fortranOrder,
    shape: shape as number[],
    dataOffset,
  };
}

/**
 * A .npy file's array, in C order. Values are a view into `bytes` when they are aligned,
 * little-endian and C-ordered (the usual case), otherwise a copy. `where` names the file in
 * errors (a truncated file says how many bytes are missing).
 */
export function parseNpy(bytes: Uint8Array, where = '.npy'): NdArray {
  const h = readNpyHeader(bytes, where);
  const count = h.shape.reduce((a, b) => a * b, 1);
  const need = count * h.itemsize;
  const have = bytes.length - h.dataOffset;
  if (have < need) {
    throw new NpyError(
      `${where}: truncated: shape [${h.shape.join(', ')}] of ${h.dtype} needs ${need} bytes of values, the file has ${have}`,
    );
  }
  let raw = bytes.subarray(h.dataOffset, h.dataOffset + need);
  const hostBigEndian = !LITTLE_ENDIAN;
  if (h.bigEndian !== hostBigEndian && h.itemsize > 1) raw = swapBytes(raw, h.itemsize);
  else if (raw.byteOffset % h.itemsize !== 0) raw = raw.slice();
  const Ctor = CTORS[h.dtype];
  let data = new Ctor(raw.buffer, raw.byteOffset, count);
  if (h.fortranOrder && h.shape.length > 1) data = fortranToC(data, h.shape);
  return { dtype: h.dtype, data, shape: h.shape };
}

/** A copy with each `size`-byte value's bytes reversed (big-endian → host order). */
function swapBytes(raw: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(raw.length);
  for (let v = 0; v < raw.length; v += size) {
    for (let b = 0; b < size; b++) out[v + b] = raw[v + size - 1 - b] ?? 0;
  }
  return out;
}

/**
 * Column-major values as row-major: C index (i0, ..., ik) holds the value at Fortran
 * offset i0 + s0·(i1 + s1·(...)).
 */
function fortranToC<T extends NpyArrays[NpyDType]>(src: T, shape: readonly number[]): T {
  const out = new (src.constructor as new (n: number) => T)(src.length);
  const rank = shape.length;
  const fStride: number[] = [];
  for (let d = 0, s = 1; d < rank; d++) {
    fStride.push(s);
    s *= shape[d] ?? 1;
  }
  const index = new Array<number>(rank).fill(0);
  for (let c = 0; c < src.length; c++) {
    let f = 0;
    for (let d = 0; d < rank; d++) f += (index[d] ?? 0) * (fStride[d] ?? 0);
    out[c] = src[f] as never;
    for (let d = rank - 1; d >= 0; d--) {
      const next = (index[d] ?? 0) + 1;
      if (next < (shape[d] ?? 1)) {
        index[d] = next;
        break;
      }
      index[d] = 0;
    }
  }
  return out;
}

/**
 * The arrays of a .npz file by name (the entry name without '.npy'), as `np.load` gives them.
 * `names` restricts the decoding to those arrays (a missing one is an error naming the ones
 * there). `where` names the file in errors.
 */
export async function parseNpz(
  bytes: Uint8Array,
  where = '.npz',
  names?: readonly string[],
): Promise<Record<string, NdArray>> {
  if (bytes.length < 4 || bytes[0] !== 0x50 || bytes[1] !== 0x4b) {
    throw new NpyError(`${where}: not a .npz file (a zip starts with "PK")`);
  }
  const { unzipSync } = await import('fflate');
  let entries: Record<string, Uint8Array>;
  const held: string[] = [];
  try {
    entries = unzipSync(bytes, {
      filter: (f) => {
        if (!f.name.endsWith('.npy')) return false;
        held.push(f.name.slice(0, -4));
        return !names || names.includes(f.name.slice(0, -4));
      },
    });
  } catch (e) {
    throw new NpyError(
      `${where}: not a readable zip (${(e as Error).message}); the file is damaged or truncated`,
      {
        cause: e,
      },
    );
  }
  const out: Record<string, NdArray> = {};
  for (const [entry, data] of Object.entries(entries)) {
    const name = entry.slice(0, -4);
    out[name] = parseNpy(data, `${where}: ${entry}`);
  }
  const missing = (names ?? []).filter((n) => !(n in out));
  if (missing.length > 0) {
    const list = (ns: readonly string[]): string => ns.map((n) => `'${n}'`).join(', ');
    throw new NpyError(`${where}: no array ${list(missing)} (it holds ${list(held) || 'no .npy entries'})`);
  }
  return out;
}
