/**
 * HDF5 files as plain trees, read from and written to bytes with h5wasm (the HDF5 C library
 * compiled to WebAssembly), which is imported only when a file is first read or written: an
 * app that never touches .h5 or .keras files never loads it (~4 MB).
 *
 * A tree keeps what Keras's files are made of: groups (children in HDF5's order, by name),
 * datasets (dtype, shape, values) and attributes (strings, string lists, numbers), with enough
 * of each attribute's type (variable-length or fixed string) to write it back as it was read.
 * h5wasm works on an in-memory file system, so bytes go in and out whole; nothing touches disk.
 */

/** The typed arrays a dataset holds (float32 weights, int64 iteration counters, …). */
export type H5Array = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | Int8Array;

/** A dataset's element type in h5wasm's spelling: '<f4', '<f8', '<i4', '<i8', '|u1', '|i1'. */
export type H5NumericDtype = '<f4' | '<f8' | '<i4' | '<i8' | '|u1' | '|i1';

export interface H5Dataset {
  kind: 'dataset';
  dtype: H5NumericDtype;
  /** [] for a scalar. */
  shape: number[];
  data: H5Array;
  attrs: Record<string, H5Attr>;
}

export interface H5Group {
  kind: 'group';
  attrs: Record<string, H5Attr>;
  children: Map<string, H5Node>;
}

export type H5Node = H5Group | H5Dataset;

/** How a string attribute is stored: variable-length or not, ASCII or UTF-8. */
export interface H5StringType {
  vlen: boolean;
  ascii: boolean;
}

/**
 * An attribute: a string, a list of strings (Keras's layer_names, weight_names) or numbers.
 * h5py 3 writes a Python str as a variable-length UTF-8 string and bytes as variable-length
 * ASCII; h5py 2 wrote bytes fixed-length. The type is kept so a file is written back as read.
 */
export type H5Attr =
  | ({ kind: 'string'; value: string } & H5StringType)
  | ({ kind: 'strings'; value: string[] } & H5StringType)
  | { kind: 'numbers'; value: number[]; dtype: H5NumericDtype; scalar: boolean };

/** A Python str as h5py 3 writes it. */
export const UTF8: H5StringType = { vlen: true, ascii: false };
/** Python bytes as h5py 3 writes them. */
export const ASCII: H5StringType = { vlen: true, ascii: true };

/** A fault in an HDF5 file: not HDF5, or not what the caller expected; names the part. */
export class H5FormatError extends Error {
  override name = 'H5FormatError';
}

// ---------------------------------------------------------------- building trees

export function group(attrs: Record<string, H5Attr> = {}): H5Group {
  return { kind: 'group', attrs, children: new Map() };
}

export function stringAttr(value: string, type: H5StringType = UTF8): H5Attr {
  return { kind: 'string', value, ...type };
}

export function stringsAttr(value: readonly string[], type: H5StringType = ASCII): H5Attr {
  return { kind: 'strings', value: [...value], ...type };
}

/** The group at `path` ('a/b/c') under `root`, made (with its parents) where missing. */
export function groupAt(root: H5Group, path: string): H5Group {
  let g = root;
  for (const part of path.split('/').filter((p) => p !== '')) {
    let next = g.children.get(part);
    if (next === undefined) {
      next = group();
      g.children.set(part, next);
    }
    if (next.kind !== 'group') throw new H5FormatError(`"${path}": "${part}" is a dataset, not a group`);
    g = next;
  }
  return g;
}

/** Adds a dataset at `path` (parents made where missing). */
export function putDataset(root: H5Group, path: string, data: H5Array, shape: readonly number[]): void {
  const cut = path.lastIndexOf('/');
  const parent = cut < 0 ? root : groupAt(root, path.slice(0, cut));
  const name = path.slice(cut + 1);
  if (parent.children.has(name)) throw new H5FormatError(`"${path}" is written twice`);
  parent.children.set(name, { kind: 'dataset', dtype: dtypeOf(data), shape: [...shape], data, attrs: {} });
}

/** The node at `path`, or undefined. */
export function nodeAt(root: H5Group, path: string): H5Node | undefined {
  let n: H5Node | undefined = root;
  for (const part of path.split('/').filter((p) => p !== '')) {
    if (n?.kind !== 'group') return undefined;
    n = n.children.get(part);
  }
  return n;
}

function dtypeOf(data: H5Array): H5NumericDtype {
  if (data instanceof Float32Array) return '<f4';
  if (data instanceof Float64Array) return '<f8';
  if (data instanceof Int32Array) return '<i4';
  if (data instanceof BigInt64Array) return '<i8';
  if (data instanceof Int8Array) return '|i1';
  return '|u1';
}

// ---------------------------------------------------------------- h5wasm

type H5wasm = typeof import('h5wasm');
type H5Module = Awaited<H5wasm['default']['ready']>;

let loading: Promise<{ h5: H5wasm['default']; FS: NonNullable<H5Module['FS']> }> | undefined;

/** h5wasm, imported and started on first use. */
async function h5wasm(): Promise<{ h5: H5wasm['default']; FS: NonNullable<H5Module['FS']> }> {
  loading ??= (async () => {
    let mod: H5wasm;
    try {
      mod = await import('h5wasm');
    } catch (e) {
      loading = undefined;
      throw new Error(
        `HDF5 files need the 'h5wasm' package, which could not be loaded (${String(e)}); install it with npm install h5wasm`,
        { cause: e },
      );
    }
    const module = await mod.default.ready;
    return { h5: mod.default, FS: module.FS };
  })();
  return loading;
}

let fileCount = 0;

/** The 8-byte signature every HDF5 file starts with (at offset 0 for the files Keras writes). */
export const HDF5_SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a] as const;

export function isHdf5(bytes: Uint8Array): boolean {
  return HDF5_SIGNATURE.every((b, i) => bytes[i] === b);
}

/** Reads a whole HDF5 file (`what` names it in errors). */
export async function readH5(bytes: Uint8Array, what: string): Promise<H5Group> {
  if (!isHdf5(bytes))
    throw new H5FormatError(`${what} is not an HDF5 file (its first bytes are not HDF5's signature)`);
  const { h5, FS } = await h5wasm();
  const path = `/webgpu-mlp-read-${++fileCount}.h5`;
  FS.writeFile(path, bytes);
  let file: InstanceType<H5wasm['default']['File']> | undefined;
  try {
    file = new h5.File(path, 'r');
    return readGroup(file, what);
  } catch (e) {
    if (e instanceof H5FormatError) throw e;
    throw new H5FormatError(
      `${what}: the HDF5 file cannot be read (${e instanceof Error ? e.message : String(e)})`,
    );
  } finally {
    try {
      file?.close();
    } finally {
      FS.unlink(path);
    }
  }
}

type H5wasmGroup = InstanceType<H5wasm['default']['Group']>;
type H5wasmDataset = InstanceType<H5wasm['default']['Dataset']>;
type H5wasmHasAttrs = H5wasmGroup | H5wasmDataset;

function readGroup(g: H5wasmGroup, what: string): H5Group {
  const out = group(readAttrs(g, what));
  for (const name of g.keys()) {
    const child = g.get(name);
    const where = `${what}: "${g.path === '/' ? '' : g.path}/${name}"`;
    const type = (child as { type?: string } | null)?.type;
    if (type === 'Group') {
      out.children.set(name, readGroup(child as H5wasmGroup, what));
    } else if (type === 'Dataset') {
      out.children.set(name, readDataset(child as H5wasmDataset, where, what));
    } else {
      throw new H5FormatError(`${where} is a link or named type, which Keras's files do not hold`);
    }
  }
  return out;
}

const INTEGER = 0;
const FLOAT = 1;
const STRING = 3;

function numericDtype(m: {
  type: number;
  size: number;
  signed: boolean;
  littleEndian: boolean;
}): H5NumericDtype | undefined {
  if (m.type === FLOAT && m.size === 4) return '<f4';
  if (m.type === FLOAT && m.size === 8) return '<f8';
  if (m.type === INTEGER && m.size === 4 && m.signed) return '<i4';
  if (m.type === INTEGER && m.size === 8 && m.signed) return '<i8';
  if (m.type === INTEGER && m.size === 1) return m.signed ? '|i1' : '|u1';
  return undefined;
}

function readDataset(d: H5wasmDataset, where: string, what: string): H5Dataset {
  const m = d.metadata;
  const dtype = numericDtype(m);
  if (!dtype) {
    throw new H5FormatError(
      `${where} has element type (class ${m.type}, ${m.size} bytes), which is not a weight type (float32/64, int8/32/64, uint8)`,
    );
  }
  const shape = d.shape ?? [];
  const value = d.value;
  const count = shape.reduce((a, b) => a * b, 1);
  let data: H5Array;
  if (ArrayBuffer.isView(value)) data = (value as H5Array).slice();
  else if (typeof value === 'number' || typeof value === 'bigint') data = arrayOf(dtype, [value]);
  else throw new H5FormatError(`${where}: its values cannot be read`);
  if (data.length !== count)
    throw new H5FormatError(`${where}: ${data.length} values for shape [${shape.join(', ')}]`);
  return { kind: 'dataset', dtype, shape: [...shape], data, attrs: readAttrs(d, what) };
}

function arrayOf(dtype: H5NumericDtype, values: readonly (number | bigint)[]): H5Array {
  switch (dtype) {
    case '<f4':
      return Float32Array.from(values, Number);
    case '<f8':
      return Float64Array.from(values, Number);
    case '<i4':
      return Int32Array.from(values, Number);
    case '<i8':
      return BigInt64Array.from(values, (v) => BigInt(v));
    case '|i1':
      return Int8Array.from(values, Number);
    case '|u1':
      return Uint8Array.from(values, Number);
  }
}

function readAttrs(o: H5wasmHasAttrs, what: string): Record<string, H5Attr> {
  const out: Record<string, H5Attr> = {};
  for (const [name, a] of Object.entries(o.attrs)) {
    const m = a.metadata;
    const v = a.value;
    if (m.type === STRING) {
      const strings = (Array.isArray(v) ? v : [v]).map((s) =>
        typeof s === 'string' ? s : s instanceof Uint8Array ? new TextDecoder().decode(s) : String(s),
      );
      const type = { vlen: m.vlen, ascii: m.cset !== 1 };
      if (a.shape === null || a.shape.length === 0) out[name] = stringAttr(strings[0] ?? '', type);
      else out[name] = stringsAttr(strings, type);
      continue;
    }
    const dtype = numericDtype(m);
    if (!dtype)
      throw new H5FormatError(
        `${what}: attribute "${name}" of "${o.path}" has a type Keras's files do not use`,
      );
    const list = ArrayBuffer.isView(v)
      ? Array.from(v as ArrayLike<number | bigint>, Number)
      : Array.isArray(v)
        ? v.map(Number)
        : [Number(v)];
    out[name] = { kind: 'numbers', value: list, dtype, scalar: a.shape === null || a.shape.length === 0 };
  }
  return out;
}

/** Writes a tree as HDF5 bytes. */
export async function writeH5(root: H5Group): Promise<Uint8Array> {
  const { h5, FS } = await h5wasm();
  const path = `/webgpu-mlp-write-${++fileCount}.h5`;
  const file = new h5.File(path, 'w');
  try {
    writeGroup(file, root);
  } catch (e) {
    file.close();
    FS.unlink(path);
    throw e;
  }
  file.close();
  try {
    return FS.readFile(path);
  } finally {
    FS.unlink(path);
  }
}

function writeGroup(target: H5wasmGroup, g: H5Group): void {
  writeAttrs(target, g.attrs);
  for (const [name, child] of g.children) {
    if (child.kind === 'group') {
      writeGroup(target.create_group(name), child);
    } else {
      const d = target.create_dataset({
        name,
        data: child.data,
        shape: child.shape,
        dtype: H5WASM_DTYPE[child.dtype],
      });
      writeAttrs(d, child.attrs);
    }
  }
}

function writeAttrs(target: H5wasmHasAttrs, attrs: Record<string, H5Attr>): void {
  for (const [name, a] of Object.entries(attrs)) {
    if (a.kind === 'string') {
      target.create_attribute(name, a.value, null, stringDtype(a, [a.value]));
    } else if (a.kind === 'strings') {
      target.create_attribute(name, a.value, [a.value.length], stringDtype(a, a.value));
    } else {
      const data = arrayOf(a.dtype, a.value);
      target.create_attribute(name, data, a.scalar ? [] : [a.value.length], H5WASM_DTYPE[a.dtype]);
    }
  }
}

/** h5wasm spells types as Python's struct does: the letter sets the size ('<i8' would be int32). */
const H5WASM_DTYPE: Readonly<Record<H5NumericDtype, string>> = {
  '<f4': '<f',
  '<f8': '<d',
  '<i4': '<i',
  '<i8': '<q',
  '|u1': '<B',
  '|i1': '<b',
};

/** h5wasm's dtype for strings: 'A' ASCII, 'S' UTF-8; a length makes them fixed (as long as the longest). */
function stringDtype(t: H5StringType, values: readonly string[]): string {
  const letter = t.ascii ? 'A' : 'S';
  return t.vlen ? letter : `${letter}${Math.max(1, ...values.map(utf8Length))}`;
}

function utf8Length(s: string): number {
  return new TextEncoder().encode(s).byteLength;
}
