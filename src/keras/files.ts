/**
 * Keras's own model files as bytes, both ways:
 *
 *   .keras        Keras 3's zip (saving_lib.py): config.json, metadata.json, model.weights.h5
 *                 (see keras3.ts for their layout). Entries are stored, not compressed, as
 *                 Keras writes them.
 *   .h5           the legacy HDF5 file (legacy_h5_format.py), as Keras 3 and tf.keras 2 write
 *                 it: root attributes model_config (the Keras-2-style JSON), training_config,
 *                 keras_version, backend; model_weights/<layer>/<weight path> datasets with
 *                 the attributes layer_names and weight_names; optimizer_weights/…
 *   .weights.h5   Keras 3's save_weights: model.weights.h5 alone.
 *
 * This module knows formats, not models: it turns a model's parts (structure, weights,
 * optimizer state, compile settings) into bytes, and bytes into those parts; src/model makes
 * the model (load.ts) and checks the values.
 */
import type { Layer } from '../nn/layers/index.js';
import { isObject, ModelFormatError } from '../nn/layers/index.js';
import {
  ASCII,
  group,
  groupAt,
  isHdf5,
  nodeAt,
  putDataset,
  readH5,
  stringAttr,
  stringsAttr,
  writeH5,
  type H5Array,
  type H5Attr,
  type H5Group,
} from './h5.js';
import {
  kerasLayerOrder,
  keras3Config,
  keras3WeightsTree,
  layerPaths,
  type ModelShape,
  type WeightValue,
} from './keras3.js';
import { fromKeras3Vars, slotsOf, toKeras3Vars, type NamedState } from './optimizer-vars.js';

/** The Keras version our files say they were written by (the layout they follow). */
export const KERAS_VERSION = '3.15.0';

/** What saving a model in Keras's formats needs (LayersModel has it). */
export interface KerasSavable extends ModelShape {
  getWeights(): Promise<WeightValue[]>;
  /** Keras's compile settings (loss, metrics, loss_weights), or undefined when not compiled. */
  readonly kerasCompileConfig: KerasCompileSettings | undefined;
  readonly optimizerConfig: { className: string; config: Record<string, number | boolean> } | undefined;
  getOptimizerWeights(): Promise<NamedState[]>;
}

export interface KerasCompileSettings {
  loss: unknown;
  metrics: unknown;
  weightedMetrics: unknown;
  lossWeights: unknown;
}

/** The file kinds, by their bytes. */
export type KerasFileKind = 'keras' | 'h5';

/** 'keras' for a zip, 'h5' for HDF5, undefined for anything else. */
export function sniffKerasFile(bytes: Uint8Array): KerasFileKind | undefined {
  if (bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04) return 'keras';
  if (isHdf5(bytes)) return 'h5';
  return undefined;
}

// ================================================================ saving

/** Keras 3's optimizer name for a class (the default `name` of its config). */
function optimizerName(className: string): string {
  return className.toLowerCase();
}

/** The optimizer serialized as Keras 3 does (every base option, then the class's own). */
function optimizerJson(o: {
  className: string;
  config: Record<string, number | boolean>;
}): Record<string, unknown> {
  const c = o.config;
  const config: Record<string, unknown> = {
    name: optimizerName(o.className),
    learning_rate: c.learning_rate,
    weight_decay: c.weight_decay ?? null,
    clipnorm: c.clipnorm ?? null,
    global_clipnorm: c.global_clipnorm ?? null,
    clipvalue: c.clipvalue ?? null,
    use_ema: false,
    ema_momentum: 0.99,
    ema_overwrite_frequency: null,
    loss_scale_factor: null,
    gradient_accumulation_steps: null,
  };
  for (const [k, v] of Object.entries(c)) if (!(k in config)) config[k] = v;
  return { module: 'keras.optimizers', class_name: o.className, config, registered_name: null };
}

function compileConfig(model: KerasSavable): Record<string, unknown> | undefined {
  const s = model.kerasCompileConfig;
  const o = model.optimizerConfig;
  if (!s || !o) return undefined;
  return {
    optimizer: optimizerJson(o),
    loss: s.loss,
    loss_weights: s.lossWeights ?? null,
    metrics: s.metrics ?? null,
    weighted_metrics: s.weightedMetrics ?? null,
    run_eagerly: false,
    steps_per_execution: 1,
    jit_compile: false,
  };
}

/** The model's trainable weights' names in Keras's order (layer by layer). */
/**
 * The weights the optimizer keeps state for, in Keras's order (model.trainable_variables: the
 * layers in Keras's order, each layer's trainable weights): those of trainable layers, or,
 * given the state, exactly those it has slots for (layers frozen at compile have none).
 */
function trainableNames(layers: readonly Layer[], state?: readonly NamedState[]): string[] {
  const names = layers.flatMap((l) => l.weights.filter((w) => w.trainable).map((w) => ({ l, name: w.name })));
  if (!state || !state.some((s) => s.name.includes('/')))
    return names.filter((w) => w.l.trainable).map((w) => w.name);
  const slotted = new Set(state.map((s) => s.name.slice(0, s.name.lastIndexOf('/'))));
  return names.filter((w) => slotted.has(w.name)).map((w) => w.name);
}

async function optimizerVars(
  model: KerasSavable,
): Promise<{ name: string; values: { data: H5Array; shape: number[] }[]; trainable: string[] } | undefined> {
  const o = model.optimizerConfig;
  if (!o || !model.kerasCompileConfig) return undefined;
  const state = await model.getOptimizerWeights();
  if (state.length === 0) return undefined; // compiled, never built: Keras has no variables yet either
  const trainable = trainableNames(kerasLayerOrder(model), state);
  return {
    name: optimizerName(o.className),
    values: toKeras3Vars(o.className, state, trainable, Number(o.config.learning_rate)),
    trainable,
  };
}

/**
 * Settings Keras keeps as Python floats, some checked with isinstance(x, float) (SGD's
 * momentum, an optimizer's learning_rate): JSON has one number type, so a whole value such
 * as 0 is written 0.0, as Python's json writes a float.
 */
const FLOAT_KEYS = [
  'learning_rate',
  'momentum',
  'rho',
  'epsilon',
  'beta_1',
  'beta_2',
  'weight_decay',
  'clipnorm',
  'clipvalue',
  'global_clipnorm',
  'ema_momentum',
  'decay',
  'l1',
  'l2',
  'stddev',
  'mean',
  'minval',
  'maxval',
  'scale',
];
const WHOLE_FLOAT = new RegExp(`"(${FLOAT_KEYS.join('|')})":(-?\\d+)(?=[,}\\]])`, 'g');

/** JSON as Python's json.dumps would write Keras's config: floats keep a decimal point. */
export function pythonJson(value: unknown): string {
  return JSON.stringify(value).replace(WHOLE_FLOAT, '"$1":$2.0');
}

function stamp(date: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${p(date.getMonth() + 1)}-${p(date.getDate())}@${p(date.getHours())}:${p(date.getMinutes())}:${p(date.getSeconds())}`;
}

let zipLib: Promise<typeof import('fflate')> | undefined;
async function fflate(): Promise<typeof import('fflate')> {
  zipLib ??= import('fflate').catch((e: unknown) => {
    zipLib = undefined;
    throw new Error(
      `.keras files need the 'fflate' package, which could not be loaded (${String(e)}); install it with npm install fflate`,
    );
  });
  return zipLib;
}

/** A model as a Keras 3 `.keras` file. */
export async function kerasZipBytes(model: KerasSavable, date = new Date()): Promise<Uint8Array> {
  const config = keras3Config(model, compileConfig(model));
  const tree = keras3WeightsTree(
    model.name,
    kerasLayerOrder(model),
    await model.getWeights(),
    await optimizerVars(model),
  );
  const weights = await writeH5(tree);
  const { zipSync, strToU8 } = await fflate();
  const json = (v: unknown): Uint8Array => strToU8(pythonJson(v));
  const epoch = new Date(1980, 0, 1);
  return zipSync(
    {
      'metadata.json': [json({ keras_version: KERAS_VERSION, date_saved: stamp(date) }), { mtime: epoch }],
      'config.json': [json(config), { mtime: epoch }],
      'model.weights.h5': [weights, { mtime: date }],
    },
    { level: 0 },
  );
}

/** A model's weights as a Keras 3 `.weights.h5` file (save_weights). */
export async function kerasWeightsBytes(model: KerasSavable): Promise<Uint8Array> {
  return writeH5(
    keras3WeightsTree(
      model.name,
      kerasLayerOrder(model),
      await model.getWeights(),
      await optimizerVars(model),
    ),
  );
}

/** A model as a legacy HDF5 `.h5` file, laid out as Keras 3's legacy_h5_format writes it. */
export async function kerasH5Bytes(
  model: KerasSavable,
  legacyModelConfig: Record<string, unknown>,
): Promise<Uint8Array> {
  const root = group();
  root.attrs.keras_version = stringAttr(KERAS_VERSION);
  root.attrs.backend = stringAttr('tensorflow');
  root.attrs.model_config = stringAttr(pythonJson(legacyModelConfig), ASCII);
  const compile = compileConfig(model);
  const o = model.optimizerConfig;
  if (compile && o) {
    const training = { ...compile };
    delete training.optimizer;
    training.optimizer_config = {
      class_name: o.className,
      config: optimizerJson(o).config as Record<string, unknown>,
    };
    root.attrs.training_config = stringAttr(pythonJson(training), ASCII);
  }
  const mw = groupAt(root, 'model_weights');
  const layers = kerasLayerOrder(model);
  mw.attrs.layer_names = stringsAttr(layers.map((l) => l.name));
  mw.attrs.backend = stringAttr('tensorflow', ASCII);
  mw.attrs.keras_version = stringAttr(KERAS_VERSION, ASCII);
  const values = await model.getWeights();
  const byName = new Map(values.map((v) => [v.name, v]));
  // Keras 3's variable paths start with the model's name: 'sequential/dense/kernel'.
  const path = (w: string): string => `${model.name}/${w}`;
  for (const l of [...layers].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const g = groupAt(mw, l.name);
    g.attrs.weight_names = namesAttr(l.weights.map((w) => path(w.name)));
    for (const w of l.weights) {
      const v = byName.get(w.name);
      if (!v) throw new Error(`internal: no value for weight "${w.name}"`);
      putDataset(g, path(w.name), v.data, v.shape);
    }
  }
  groupAt(mw, 'top_level_model_weights').attrs.weight_names = namesAttr([]);
  const opt = await optimizerVars(model);
  if (opt && o) {
    const names = optimizerVarPaths(o.className, opt.name, opt.trainable.map(path), opt.values.length);
    const g = groupAt(root, 'optimizer_weights');
    g.attrs.weight_names = namesAttr(names);
    opt.values.forEach((v, i) => putDataset(g, names[i] as string, v.data, v.shape));
  }
  return writeH5(root);
}

/** Keras's save_attributes_to_hdf5_group: an empty list is stored as an empty float64 array. */
function namesAttr(names: readonly string[]): H5Attr {
  return names.length === 0
    ? { kind: 'numbers', value: [], dtype: '<f8', scalar: false }
    : stringsAttr(names);
}

/** Keras 3's optimizer variable paths: '<opt>/iteration', '<opt>/learning_rate', '<opt>/<weight_path>_<slot>'. */
function optimizerVarPaths(
  className: string,
  opt: string,
  trainable: readonly string[],
  count: number,
): string[] {
  const keras: Record<string, string> = {
    velocity: 'momentum',
    m: 'momentum',
    v: 'velocity',
    v_hat: 'velocity_hat',
    momentum: 'momentum',
    average_grad: 'average_gradient',
  };
  const out = [`${opt}/iteration`, `${opt}/learning_rate`];
  const cls = className.toLowerCase();
  const blocks =
    cls === 'sgd'
      ? [['velocity']]
      : cls === 'rmsprop'
        ? [['velocity'], ['momentum'], ['average_grad']]
        : [['m', 'v'], ['v_hat']];
  for (const block of blocks) {
    for (const w of trainable) {
      for (const slot of block) {
        const name = cls === 'rmsprop' && slot === 'velocity' ? 'velocity' : (keras[slot] as string);
        out.push(`${opt}/${w.replace(/\//g, '_')}_${name}`);
      }
    }
  }
  if (cls === 'nadam') out.push(`${opt}/u_product`);
  return out.slice(0, count);
}

// ================================================================ loading

/** A file's compile settings, as compile() takes them. */
export interface KerasCompileParts {
  optimizer: { className: string; config: Record<string, unknown> };
  loss: unknown;
  metrics: unknown;
  weightedMetrics: unknown;
  lossWeights: unknown;
}

/** What a Keras file holds, before a model is made from it. */
export interface KerasFileParts {
  kind: 'keras' | 'h5' | 'weights';
  /** The model's config, for keras-json.ts's structureFromJson (Keras 3 or Keras 2 style). */
  modelConfig: unknown;
  /**
   * compile() settings to restore, when the file has them; read only when asked for, so a
   * model whose settings cannot be honoured still loads uncompiled ({ compile: false }).
   */
  compile(): KerasCompileParts | undefined;
  kerasVersion: string | undefined;
  /** Per layer (of the model made from modelConfig), its weights in the layer's order. */
  weights(layers: readonly Layer[]): Map<Layer, { shape: number[]; data: Float32Array }[]>;
  /** The optimizer state for the compiled optimizer (our names), when the file has it. */
  optimizer?(
    className: string,
    trainable: readonly { name: string; shape: readonly number[] }[],
    slots: readonly string[],
  ): { state: NamedState[] | undefined; learningRate?: number };
  /** The layers in the order the file lists them (Keras's order, which the optimizer's variables follow). */
  order(layers: readonly Layer[]): Layer[];
}

function parseJson(text: string, file: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new ModelFormatError(`${file}: ${what} is not valid JSON (${(e as Error).message})`);
  }
}

/** Reads a .keras or .h5 file (by its bytes); `file` names it in errors. */
export async function readKerasFile(bytes: Uint8Array, file: string): Promise<KerasFileParts> {
  const kind = sniffKerasFile(bytes);
  if (kind === 'keras') return readKerasZip(bytes, file);
  if (kind === 'h5') return readH5Model(bytes, file);
  throw new ModelFormatError(`${file} is neither a .keras file (zip) nor an .h5 file (HDF5)`);
}

async function readKerasZip(bytes: Uint8Array, file: string): Promise<KerasFileParts> {
  const { unzipSync, strFromU8 } = await fflate();
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(bytes);
  } catch (e) {
    throw new ModelFormatError(`${file}: the zip archive is corrupt (${(e as Error).message})`);
  }
  const need = (name: string): Uint8Array => {
    const v = entries[name];
    if (!v)
      throw new ModelFormatError(
        `${file}: the archive has no ${name}; a .keras file holds config.json, metadata.json and model.weights.h5 (it has ${Object.keys(entries).join(', ') || 'nothing'})`,
      );
    return v;
  };
  const config = parseJson(strFromU8(need('config.json')), file, 'config.json');
  const metadata = entries['metadata.json']
    ? parseJson(strFromU8(entries['metadata.json']), file, 'metadata.json')
    : {};
  if (!entries['model.weights.h5'] && entries['model.weights.npz']) {
    throw new ModelFormatError(
      `${file}: its weights are in model.weights.npz (weights_format="npz"), which is not supported; save with the default h5 weights`,
    );
  }
  const tree = await readH5(need('model.weights.h5'), `${file} (model.weights.h5)`);
  if (!isObject(config)) throw new ModelFormatError(`${file}: config.json is not an object`);
  const compileConfig = config.compile_config;
  return {
    kind: 'keras',
    modelConfig: config,
    compile: () => (isObject(compileConfig) ? compileFromKeras3(compileConfig, file) : undefined),
    kerasVersion:
      isObject(metadata) && typeof metadata.keras_version === 'string' ? metadata.keras_version : undefined,
    weights: (layers) => keras3Weights(tree, inConfigOrder(config, layers), `${file} (model.weights.h5)`),
    optimizer: keras3Optimizer(tree, `${file} (model.weights.h5)`),
    order: (layers) => inConfigOrder(config, layers),
  };
}

/** Reads a Keras 3 `.weights.h5` file's weights (and optimizer state) for a model's layers. */
export async function readKerasWeights(
  bytes: Uint8Array,
  file: string,
): Promise<Pick<KerasFileParts, 'weights' | 'optimizer'> & { tree: H5Group }> {
  const tree = await readH5(bytes, file);
  if (nodeAt(tree, 'model_weights') && !nodeAt(tree, 'layers')) {
    // An .h5 model file's weights (its optimizer state goes with loadModel).
    return { tree, weights: (layers) => legacyWeights(tree, layers, file) };
  }
  return {
    tree,
    weights: (layers) => keras3Weights(tree, layers, file),
    optimizer: keras3Optimizer(tree, file),
  };
}

/** The layers in the order the file's config lists them (Keras's order, which names the groups). */
function inConfigOrder(config: Record<string, unknown>, layers: readonly Layer[]): Layer[] {
  const inner = isObject(config.config) ? config.config : {};
  if (!Array.isArray(inner.layers) || config.class_name === 'Sequential') return [...layers];
  const names = (inner.layers as unknown[]).map((l) =>
    isObject(l) ? (l.name ?? (isObject(l.config) ? l.config.name : undefined)) : undefined,
  );
  const at = (l: Layer): number => {
    const i = names.indexOf(l.name);
    return i < 0 ? names.length : i;
  };
  return [...layers].sort((a, b) => at(a) - at(b));
}

function datasetsOf(g: H5Group, where: string): { shape: number[]; data: H5Array }[] {
  const out: { shape: number[]; data: H5Array }[] = [];
  for (let i = 0; ; i++) {
    const d = g.children.get(String(i));
    if (d === undefined) break;
    if (d.kind !== 'dataset') throw new ModelFormatError(`${where}/${i} is a group, not a dataset`);
    out.push({ shape: d.shape, data: d.data });
  }
  if (out.length !== g.children.size) {
    const odd = [...g.children.keys()].filter((k) => !/^\d+$/.test(k) || Number(k) >= out.length);
    throw new ModelFormatError(
      `${where} has entries ${odd.map((k) => `"${k}"`).join(', ')} besides 0..${out.length - 1}`,
    );
  }
  return out;
}

function toF32(
  d: { shape: number[]; data: H5Array },
  where: string,
): { shape: number[]; data: Float32Array } {
  if (d.data instanceof Float32Array) return { shape: d.shape, data: d.data };
  if (d.data instanceof Float64Array) return { shape: d.shape, data: Float32Array.from(d.data) };
  throw new ModelFormatError(`${where} is not floating point; layer weights are float32`);
}

function keras3Weights(
  tree: H5Group,
  layers: readonly Layer[],
  file: string,
): Map<Layer, { shape: number[]; data: Float32Array }[]> {
  const out = new Map<Layer, { shape: number[]; data: Float32Array }[]>();
  const paths = layerPaths(layers);
  layers.forEach((l, i) => {
    const path = paths[i] as string;
    const vars =
      nodeAt(tree, `${path}/vars`) ??
      nodeAt(tree, `${path.replace(/^layers\//, '_layer_checkpoint_dependencies/')}/vars`);
    if (l.weights.length === 0) return;
    if (vars?.kind !== 'group') {
      throw new ModelFormatError(
        `${file}: layer "${l.name}" (${l.className}) has ${l.weights.length} weights, but the file has no group ${path}/vars`,
      );
    }
    const values = datasetsOf(vars, `${file}: ${path}/vars`);
    if (values.length !== l.weights.length) {
      throw new ModelFormatError(
        `${file}: layer "${l.name}" expects ${l.weights.length} variables (${l.weights.map((w) => w.name).join(', ')}); ${path}/vars has ${values.length}`,
      );
    }
    out.set(
      l,
      values.map((v, k) => toF32(v, `${file}: ${path}/vars/${k}`)),
    );
  });
  return out;
}

function keras3Optimizer(tree: H5Group, file: string): KerasFileParts['optimizer'] {
  const vars = nodeAt(tree, 'optimizer/vars');
  if (vars?.kind !== 'group') return undefined;
  const values = datasetsOf(vars, `${file}: optimizer/vars`);
  return (className, trainable, slots) => {
    try {
      return fromKeras3Vars(className, values, trainable, slots);
    } catch (e) {
      throw new ModelFormatError(`${file}: optimizer/vars: ${(e as Error).message}`);
    }
  };
}

// ---------------------------------------------------------------- legacy .h5

function stringOf(a: H5Attr | undefined): string | undefined {
  return a?.kind === 'string' ? a.value : undefined;
}

function stringsOf(a: H5Attr | undefined): string[] {
  if (a === undefined) return [];
  if (a.kind === 'strings') return a.value;
  if (a.kind === 'string') return [a.value];
  return []; // an empty list is written as an empty float array
}

/** An attribute list Keras may have split into name0, name1, … (save_attributes_to_hdf5_group). */
function listAttr(g: H5Group, name: string): string[] {
  if (g.attrs[name] !== undefined) return stringsOf(g.attrs[name]);
  const out: string[] = [];
  for (let i = 0; g.attrs[`${name}${i}`] !== undefined; i++) out.push(...stringsOf(g.attrs[`${name}${i}`]));
  return out;
}

async function readH5Model(bytes: Uint8Array, file: string): Promise<KerasFileParts> {
  const tree = await readH5(bytes, file);
  const configText = stringOf(tree.attrs.model_config);
  if (configText === undefined) {
    if (nodeAt(tree, 'layers') || nodeAt(tree, 'model_weights')) {
      throw new ModelFormatError(
        `${file} holds weights only (no model_config); load it into a model with model.loadWeights(...)`,
      );
    }
    throw new ModelFormatError(
      `${file} is an HDF5 file but not a Keras model: it has no model_config attribute`,
    );
  }
  const modelConfig = parseJson(configText, file, 'model_config');
  const version = stringOf(tree.attrs.keras_version);
  const trainingText = stringOf(tree.attrs.training_config);
  const keras3 = version !== undefined && /^3\./.test(version);
  return {
    kind: 'h5',
    modelConfig,
    compile: () =>
      trainingText !== undefined
        ? compileFromTraining(parseJson(trainingText, file, 'training_config'), file)
        : undefined,
    kerasVersion: version,
    weights: (layers) => legacyWeights(tree, layers, file),
    optimizer: legacyOptimizer(tree, keras3, file),
    order: (layers) => (isObject(modelConfig) ? inConfigOrder(modelConfig, layers) : [...layers]),
  };
}

function legacyWeights(
  tree: H5Group,
  layers: readonly Layer[],
  file: string,
): Map<Layer, { shape: number[]; data: Float32Array }[]> {
  const mw = nodeAt(tree, 'model_weights') ?? tree;
  if (mw.kind !== 'group') throw new ModelFormatError(`${file}: model_weights is not a group`);
  const out = new Map<Layer, { shape: number[]; data: Float32Array }[]>();
  const saved = new Set(listAttr(mw, 'layer_names'));
  for (const l of layers) {
    if (l.weights.length === 0) continue;
    const g = mw.children.get(l.name);
    if (!saved.has(l.name) || g?.kind !== 'group') {
      throw new ModelFormatError(
        `${file}: layer "${l.name}" has ${l.weights.length} weights, but model_weights has no group "${l.name}"`,
      );
    }
    const names = listAttr(g, 'weight_names');
    if (names.length !== l.weights.length) {
      throw new ModelFormatError(
        `${file}: layer "${l.name}" expects ${l.weights.length} weights (${l.weights.map((w) => w.name).join(', ')}); model_weights/${l.name} has ${names.length} (${names.join(', ')})`,
      );
    }
    out.set(
      l,
      names.map((n) => {
        const d = nodeAt(g, n);
        if (d?.kind !== 'dataset')
          throw new ModelFormatError(`${file}: model_weights/${l.name}/${n} is missing`);
        return toF32(d, `${file}: model_weights/${l.name}/${n}`);
      }),
    );
  }
  return out;
}

/** tf.keras 2's slot names → ours (OptimizerV2 and the 2.11+ optimizers). */
const TF2_SLOTS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  adam: { m: 'm', v: 'v', vhat: 'v_hat', velocity_hat: 'v_hat', momentum: 'm', velocity: 'v' },
  adamw: { m: 'm', v: 'v', vhat: 'v_hat' },
  nadam: { m: 'm', v: 'v', momentum: 'm', velocity: 'v' },
  sgd: { momentum: 'velocity', m: 'velocity' },
  rmsprop: {
    rms: 'velocity',
    velocity: 'velocity',
    momentum: 'momentum',
    mg: 'average_grad',
    average_gradient: 'average_grad',
  },
};

function legacyOptimizer(tree: H5Group, keras3: boolean, file: string): KerasFileParts['optimizer'] {
  const g = nodeAt(tree, 'optimizer_weights');
  if (g?.kind !== 'group') return undefined;
  const names = listAttr(g, 'weight_names');
  const values = names.map((n) => {
    const d = nodeAt(g, n);
    if (d?.kind !== 'dataset') throw new ModelFormatError(`${file}: optimizer_weights/${n} is missing`);
    return { name: n, shape: d.shape, data: d.data };
  });
  if (keras3) {
    return (className, trainable, slots) => {
      try {
        return fromKeras3Vars(className, values, trainable, slots);
      } catch (e) {
        throw new ModelFormatError(`${file}: optimizer_weights: ${(e as Error).message}`);
      }
    };
  }
  // tf.keras 2: by name ('Adam/iter:0', 'Adam/dense/kernel/m:0', or 2.11+'s 'Adam/m/dense/kernel:0').
  return (className, trainable, slots) => {
    const table = TF2_SLOTS[className.toLowerCase()] ?? {};
    const state: NamedState[] = [];
    const found = new Map<string, NamedState>();
    const own = new Set([className.toLowerCase()]);
    let uProduct: NamedState | undefined;
    for (const v of values) {
      let parts = v.name.replace(/:\d+$/, '').split('/');
      // OptimizerV2 prefixes the optimizer's name ('Adam/dense/kernel/m'); 2.11+ does not ('m/dense/kernel').
      if (parts.length > 1 && own.has((parts[0] ?? '').toLowerCase())) parts = parts.slice(1);
      const last = parts[parts.length - 1] ?? '';
      if (parts.length === 1) {
        if (last === 'iter' || last === 'iterations' || last === 'iteration')
          state.push({ name: 'iterations', shape: [], data: Float32Array.of(Number(v.data[0] ?? 0)) });
        // Nadam's running product of momentum schedules (OptimizerV2's momentum_cache).
        if (last === 'momentum_cache' || last === 'u_product')
          uProduct = { name: 'u_product', shape: [], data: Float32Array.of(Number(v.data[0] ?? 1)) };
        continue; // learning_rate, decay and other hyperparameters
      }
      let slot = table[parts[0] ?? ''];
      let weight = parts.slice(1).join('/');
      if (slot === undefined) {
        slot = table[last];
        weight = parts.slice(0, -1).join('/');
      }
      if (slot === undefined)
        throw new ModelFormatError(
          `${file}: optimizer weight "${v.name}" is not a ${className} slot this library knows`,
        );
      found.set(`${weight}/${slot}`, {
        name: `${weight}/${slot}`,
        shape: v.shape,
        data: Float32Array.from(v.data as ArrayLike<number>),
      });
    }
    // Compiled but never trained: tf.keras saved its iteration count alone.
    if (found.size === 0 && slots.length > 0) return { state: undefined };
    if (className.toLowerCase() === 'nadam') {
      if (!uProduct) throw new ModelFormatError(`${file}: optimizer_weights has no Nadam momentum_cache`);
      state.push(uProduct);
    }
    for (const slot of slots) {
      for (const w of trainable) {
        const s = found.get(`${w.name}/${slot}`);
        if (!s) throw new ModelFormatError(`${file}: optimizer_weights has no ${slot} slot for "${w.name}"`);
        state.push(s);
      }
    }
    return { state };
  };
}

// ---------------------------------------------------------------- compile settings

function optimizerFrom(v: unknown, file: string): { className: string; config: Record<string, unknown> } {
  if (typeof v === 'string') return { className: v, config: {} };
  if (isObject(v) && typeof v.class_name === 'string') {
    // tf.keras 2.11+ registers its optimizers as 'Custom>Adam'.
    const className = v.class_name.replace(/^Custom>/, '');
    const given = isObject(v.config) ? v.config : {};
    if (isObject(given.learning_rate)) {
      throw new ModelFormatError(
        `${file}: the optimizer's learning rate is a schedule (${String(given.learning_rate.class_name)}), which a saved model cannot carry here; load with { compile: false }, compile with a number and use a LearningRateScheduler callback`,
      );
    }
    if (given.use_ema === true)
      throw new ModelFormatError(`${file}: the optimizer uses use_ema=True, which is not supported`);
    if (given.gradient_accumulation_steps !== null && given.gradient_accumulation_steps !== undefined) {
      throw new ModelFormatError(
        `${file}: the optimizer uses gradient_accumulation_steps, which is not supported`,
      );
    }
    if (given.loss_scale_factor !== null && given.loss_scale_factor !== undefined) {
      throw new ModelFormatError(
        `${file}: the optimizer uses loss_scale_factor (mixed precision), which is not supported`,
      );
    }
    // Settings that only say "off" (checked above) or concern Keras's own runtime.
    const dropped = new Set([
      'name',
      'use_ema',
      'ema_momentum',
      'ema_overwrite_frequency',
      'loss_scale_factor',
      'gradient_accumulation_steps',
      'is_legacy_optimizer',
      'jit_compile',
    ]);
    const config = Object.fromEntries(Object.entries(given).filter(([k]) => !dropped.has(k)));
    return { className, config };
  }
  throw new ModelFormatError(
    `${file}: the compile settings' optimizer ${JSON.stringify(v)} is not an optimizer config`,
  );
}

/**
 * A loss or metric's config keys that may only hold their default (anything else would be a
 * different loss or metric than the name alone gives); name, dtype and fn are descriptive.
 */
const DEFAULTS: Readonly<Record<string, readonly unknown[]>> = {
  reduction: ['sum_over_batch_size', 'auto', null],
  from_logits: [false],
  label_smoothing: [0],
  axis: [-1],
  ignore_class: [null],
  threshold: [0.5],
};
const DESCRIPTIVE = new Set(['name', 'dtype', 'fn']);

/** A loss or metric as saved (a name, or Keras's serialized object) as a name. */
function nameOf(v: unknown, what: string, file: string): string {
  if (typeof v === 'string') return v;
  if (isObject(v)) {
    const config = isObject(v.config) ? v.config : {};
    for (const [k, value] of Object.entries(config)) {
      if (DESCRIPTIVE.has(k)) continue;
      const allowed = DEFAULTS[k];
      if (!allowed?.includes(value)) {
        throw new ModelFormatError(
          `${file}: ${what} ${String(v.class_name)} has ${k}=${JSON.stringify(value)}, which is not supported (load with { compile: false } and compile it yourself)`,
        );
      }
    }
    // tf.keras 2 wraps metric functions: { class_name: 'MeanMetricWrapper', config: { name: 'accuracy', fn } }.
    if (v.class_name === 'MeanMetricWrapper') {
      if (typeof config.name === 'string') return config.name;
      if (typeof config.fn === 'string') return config.fn;
    }
    if (typeof v.config === 'string') return v.config; // Keras 3's builtin functions
    if (typeof v.class_name === 'string' && v.class_name !== 'function') return v.class_name;
  }
  throw new ModelFormatError(
    `${file}: ${what} ${JSON.stringify(v)} is not a loss or metric this library reads`,
  );
}

function mapNames(v: unknown, what: string, file: string): unknown {
  if (v === null || v === undefined) return undefined;
  if (Array.isArray(v))
    return v.map((x: unknown) => (Array.isArray(x) ? mapNames(x, what, file) : nameOf(x, what, file)));
  if (isObject(v) && !('class_name' in v))
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, mapNames(x, what, file)]));
  return nameOf(v, what, file);
}

function compileFromKeras3(c: Record<string, unknown>, file: string): KerasCompileParts | undefined {
  if (c.optimizer === undefined || c.optimizer === null || c.loss === undefined || c.loss === null)
    return undefined;
  return {
    optimizer: optimizerFrom(c.optimizer, file),
    loss: mapNames(c.loss, 'the loss', file),
    metrics: mapNames(c.metrics, 'a metric', file),
    weightedMetrics: mapNames(c.weighted_metrics, 'a weighted metric', file),
    lossWeights: c.loss_weights ?? undefined,
  };
}

function compileFromTraining(t: unknown, file: string): KerasCompileParts | undefined {
  if (!isObject(t) || t.loss === undefined || t.loss === null) return undefined;
  return {
    optimizer: optimizerFrom(t.optimizer_config, file),
    loss: mapNames(t.loss, 'the loss', file),
    metrics: mapNames(t.metrics, 'a metric', file),
    weightedMetrics: mapNames(t.weighted_metrics, 'a weighted metric', file),
    lossWeights: t.loss_weights ?? undefined,
  };
}

export { slotsOf };
