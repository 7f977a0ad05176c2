/**
 * Models ⇄ the TF.js layers format: the artifacts tfjs-layers 4.22 writes and reads
 * (`model.save(tf.io.withSaveHandler(...))` / `tf.io.fromMemory(...)`).
 *
 *   modelTopology  Keras JSON: { class_name: 'Sequential' | 'Model', config, keras_version,
 *                  backend }. A Sequential's config is { name, layers: [{ class_name, config }] }
 *                  with batch_input_shape on the first layer; a functional model's (tfjs calls
 *                  it 'Model', Keras 2.13+ 'Functional') is { name, layers: [{ name,
 *                  class_name, config, inbound_nodes }], input_layers, output_layers }, where
 *                  inbound_nodes holds one entry per call of the layer:
 *                  [[layerName, nodeIndex, tensorIndex, kwargs], ...].
 *   weightSpecs    [{ name: '<layer>/kernel', shape, dtype: 'float32' }], in getWeights() order.
 *   weightData     the values of weightSpecs, float32 little-endian, back to back.
 *
 * Loading matches weights by name, so tfjs's order (trainable weights first, then the
 * BatchNormalization moving statistics) and ours (layer by layer) both load. A
 * BatchNormalization without scale/center has no gamma/beta weight in Keras, tfjs or here
 * (the layer keeps 1/0 constants for its kernel, which are not weights).
 *
 * Configs are written as tfjs writes them, so tfjs can read them: Glorot/He/LeCun
 * initializers as VarianceScaling (tfjs registers LeCunUniform, Keras LecunUniform) and the
 * truncated normal as distribution 'normal' (the spelling tfjs and Keras 2 use for it); every
 * regularizer as L1L2, the only one tfjs registers.
 */
import {
  Activation,
  Add,
  BatchNormalization,
  Concatenate,
  Dense,
  Dropout,
  Flatten,
  InputLayer,
  input,
  type Layer,
  type LayerWeight,
  type SymbolicTensor,
} from '../nn/layers.js';
import type { InitializerSpec } from '../nn/initializers.js';
import type { RegularizerSpec } from '../nn/regularizers.js';
import { LayersModel, Sequential } from './model.js';

/** What this library writes as generatedBy and keras_version. */
export const GENERATED_BY = 'webgpu-mlp 0.1.0';

export interface WeightSpec {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  /** 'optimizer' for optimizer state (includeOptimizer); absent for layer weights. */
  group?: string;
}

/** The artifacts of a saved model, as tfjs-layers' IO handlers exchange them. */
export interface ModelArtifacts {
  modelTopology: KerasModelJson;
  weightSpecs: WeightSpec[];
  weightData: ArrayBuffer;
  format: 'layers-model';
  generatedBy: string;
  convertedBy: null;
}

/** Artifacts as loading accepts them: ours, or tfjs's (several weight buffers, other dtypes). */
export interface ModelArtifactsLike {
  modelTopology?: unknown;
  weightSpecs?: readonly WeightSpecLike[];
  weightData?: ArrayBuffer | readonly ArrayBuffer[];
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
}

export interface WeightSpecLike {
  name: string;
  shape: readonly number[];
  dtype: string;
  /** tfjs marks optimizer state 'optimizer'; such weights are skipped. */
  group?: string;
  quantization?: unknown;
}

export interface KerasLayerJson {
  class_name: string;
  config: Record<string, unknown>;
  /** Functional models only. */
  name?: string;
  inbound_nodes?: [string, number, number, Record<string, unknown>][][];
}

export interface KerasModelJson {
  class_name: 'Sequential' | 'Model';
  config: {
    name: string;
    layers: KerasLayerJson[];
    input_layers?: [string, number, number][];
    output_layers?: [string, number, number][];
  };
  keras_version: string;
  backend: string;
}

/** A model.json this library cannot read: bad JSON shape, unknown layer, weights not matching. */
export class ModelFormatError extends Error {
  override name = 'ModelFormatError';
}

/** The layer classes a model.json may use here. */
export const SUPPORTED_LAYERS = [
  'Dense',
  'Flatten',
  'Activation',
  'Dropout',
  'BatchNormalization',
  'Concatenate',
  'Add',
  'InputLayer',
] as const;

// ================================================================ saving

/**
 * The model as TF.js layers-format artifacts (what `model.save(handler)` gives the handler).
 * With `includeOptimizer`, the optimizer's state follows the layer weights as weight specs
 * of group 'optimizer' ('iterations' int32, then '<weight>/<slot>' f32) and the topology gets
 * a training_config naming the optimizer; loadModel() keeps that state for the next compile
 * with the same optimizer.
 */
export async function modelToArtifacts(
  model: LayersModel,
  options: { includeOptimizer?: boolean } = {},
): Promise<ModelArtifacts> {
  const optimizer = options.includeOptimizer === true ? await optimizerArtifacts(model) : undefined;
  const layers = model.layers;
  const seen = new Set<string>();
  for (const l of layers) {
    if (seen.has(l.name))
      throw new Error(`save: two layers are named "${l.name}"; layer names must be unique`);
    seen.add(l.name);
  }
  const modelTopology =
    model instanceof Sequential ? sequentialJson(model, layers) : functionalJson(model, layers);

  // Host copies of every weight, in getWeights() order (read back from the GPU if trained).
  const values = await model.getWeights();
  const owned = layers.flatMap((l) => l.weights.map((w) => ({ layer: l, weight: w })));
  if (values.length !== owned.length) {
    throw new Error(`internal: getWeights() gave ${values.length} weights, the layers hold ${owned.length}`);
  }
  values.forEach((v, i) => {
    const { weight } = owned[i] as (typeof owned)[number];
    if (v.name !== weight.name)
      throw new Error(`internal: getWeights() order: "${v.name}" where "${weight.name}" was expected`);
  });
  // BatchNormalization without scale/center has no gamma/beta weight (constants inside the
  // layer), as in Keras and tfjs, so every weight is saved.
  const kept = values;
  const weightSpecs = kept.map((w): WeightSpec => ({ name: w.name, shape: [...w.shape], dtype: 'float32' }));
  const total = kept.reduce((s, w) => s + w.data.length, 0);
  const all = new Float32Array(total);
  let offset = 0;
  for (const w of kept) {
    all.set(w.data, offset);
    offset += w.data.length;
  }
  let weightData = littleEndian(all);
  if (optimizer) {
    weightSpecs.push(...optimizer.specs);
    weightData = concatBuffers([weightData, optimizer.data]);
    (modelTopology as unknown as Record<string, unknown>).training_config = optimizer.trainingConfig;
  }
  return {
    modelTopology,
    weightSpecs,
    weightData,
    format: 'layers-model',
    generatedBy: GENERATED_BY,
    convertedBy: null,
  };
}

/** The optimizer state as weight specs of group 'optimizer' ('iterations' as int32). */
async function optimizerArtifacts(
  model: LayersModel,
): Promise<{ specs: WeightSpec[]; data: ArrayBuffer; trainingConfig: Record<string, unknown> }> {
  const config = model.optimizerConfig;
  if (!config)
    throw new Error('save: includeOptimizer needs a compiled model (its optimizer state is saved)');
  const weights = await model.getOptimizerWeights();
  const specs: WeightSpec[] = [];
  const parts: ArrayBuffer[] = [];
  for (const w of weights) {
    if (w.name === 'iterations') {
      specs.push({ name: w.name, shape: [], dtype: 'int32', group: 'optimizer' });
      const b = new ArrayBuffer(4);
      new DataView(b).setInt32(0, w.data[0] ?? 0, true);
      parts.push(b);
    } else {
      specs.push({ name: w.name, shape: [...w.shape], dtype: 'float32', group: 'optimizer' });
      parts.push(littleEndian(w.data));
    }
  }
  return {
    specs,
    data: concatBuffers(parts),
    trainingConfig: { optimizer_config: { class_name: config.className, config: config.config } },
  };
}

/** True on every platform this runs on; checked so a big-endian host gets correct files. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function littleEndian(values: Float32Array): ArrayBuffer {
  const out = new ArrayBuffer(values.byteLength);
  if (LITTLE_ENDIAN) {
    new Float32Array(out).set(values);
  } else {
    const view = new DataView(out);
    values.forEach((v, i) => view.setFloat32(4 * i, v, true));
  }
  return out;
}

function sequentialJson(model: Sequential, layers: readonly Layer[]): KerasModelJson {
  const stack = layers.filter((l) => !(l instanceof InputLayer));
  if (stack.length === 0) throw new Error(`save: sequential model "${model.name}" has no layers`);
  const shape = (model.inputs[0] as SymbolicTensor).shape;
  const configs = stack.map((l, i) => {
    const config = layerConfig(l);
    delete config.batch_input_shape;
    return {
      class_name: l.className,
      config: i === 0 ? { ...config, batch_input_shape: [null, ...shape] } : config,
    };
  });
  return {
    class_name: 'Sequential',
    config: { name: model.name, layers: configs },
    keras_version: GENERATED_BY,
    backend: 'webgpu',
  };
}

function functionalJson(model: LayersModel, layers: readonly Layer[]): KerasModelJson {
  // The calls (nodes) that belong to this model, numbered per layer as Keras numbers them
  // when saving: calls made outside the model do not count.
  const inModel = new Set<SymbolicTensor>();
  const visit = (t: SymbolicTensor): void => {
    if (inModel.has(t)) return;
    inModel.add(t);
    const node = t.layer.nodes[t.node];
    if (!node) throw new Error(`internal: "${t.layer.name}" has no call ${t.node}`);
    node.inputs.forEach(visit);
  };
  model.outputs.forEach(visit);
  const nodeIndex = new Map<SymbolicTensor, number>();
  for (const l of layers) {
    let k = 0;
    for (const n of l.nodes) if (inModel.has(n.output)) nodeIndex.set(n.output, k++);
  }
  const ref = (t: SymbolicTensor): [string, number, number] => [t.layer.name, nodeIndex.get(t) ?? 0, 0];
  const entries = layers.map((l): KerasLayerJson => {
    const config = layerConfig(l);
    if (!(l instanceof InputLayer)) delete config.batch_input_shape;
    const calls = l instanceof InputLayer ? [] : l.nodes.filter((n) => inModel.has(n.output));
    return {
      name: l.name,
      class_name: l.className,
      config,
      inbound_nodes: calls.map((n) => n.inputs.map((t) => [...ref(t), {}])),
    };
  });
  return {
    class_name: 'Model',
    config: {
      name: model.name,
      layers: entries,
      input_layers: model.inputs.map(ref),
      output_layers: model.outputs.map(ref),
    },
    keras_version: GENERATED_BY,
    backend: 'webgpu',
  };
}

const VARIANCE_SCALING = new Set([
  'VarianceScaling',
  'GlorotUniform',
  'GlorotNormal',
  'HeUniform',
  'HeNormal',
  'LecunUniform',
  'LecunNormal',
]);

/** A layer's Keras config with initializers and regularizers in the form tfjs reads. */
function layerConfig(layer: Layer): Record<string, unknown> {
  const config: Record<string, unknown> = { ...layer.getConfig(), name: layer.name };
  for (const [key, value] of Object.entries(config)) {
    if (!isObject(value)) continue;
    if (key.endsWith('_initializer')) config[key] = initializerJson(value);
    else if (key.endsWith('_regularizer')) config[key] = regularizerJson(value);
  }
  return config;
}

function initializerJson(json: Record<string, unknown>): Record<string, unknown> {
  const className = json.class_name;
  const config = isObject(json.config) ? json.config : {};
  if (typeof className !== 'string' || !VARIANCE_SCALING.has(className))
    return { class_name: className, config };
  return {
    class_name: 'VarianceScaling',
    config: {
      scale: config.scale,
      mode: config.mode,
      distribution: config.distribution === 'truncated_normal' ? 'normal' : config.distribution,
      seed: config.seed ?? null,
    },
  };
}

function regularizerJson(json: Record<string, unknown>): Record<string, unknown> {
  const config = isObject(json.config) ? json.config : {};
  return { class_name: 'L1L2', config: { l1: config.l1 ?? 0, l2: config.l2 ?? 0 } };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// ================================================================ loading

/**
 * Rebuilds a model from TF.js layers-format artifacts (ours, tfjs-layers', or a Keras model
 * converted by tensorflowjs_converter) and sets its weights. The model is not compiled.
 */
export function modelFromArtifacts(artifacts: ModelArtifactsLike): LayersModel {
  if (!isObject(artifacts)) throw new ModelFormatError('model artifacts must be an object');
  if (artifacts.format !== undefined && artifacts.format !== 'layers-model') {
    throw new ModelFormatError(
      `model format '${String(artifacts.format)}' is not supported: only TF.js layers models ('layers-model') load here`,
    );
  }
  let topology = artifacts.modelTopology;
  if (topology instanceof ArrayBuffer) {
    throw new ModelFormatError(
      'the model topology is binary (a TF.js graph model); only layers models load here',
    );
  }
  if (isObject(topology) && isObject(topology.model_config)) topology = topology.model_config; // tensorflowjs_converter
  if (!isObject(topology)) throw new ModelFormatError('the artifacts have no modelTopology object');
  const className = topology.class_name;
  const model =
    className === 'Sequential'
      ? sequentialFrom(topology.config)
      : className === 'Model' || className === 'Functional'
        ? functionalFrom(topology.config)
        : undefined;
  if (!model) {
    throw new ModelFormatError(
      `modelTopology.class_name ${JSON.stringify(className)} is not a model class; expected Sequential, Model or Functional`,
    );
  }
  setWeightsFrom(model, artifacts);
  return model;
}

function sequentialFrom(config: unknown): LayersModel {
  // Keras < 2.2.3 wrote the layer list itself as the config.
  const cfg = Array.isArray(config) ? { layers: config as unknown[] } : config;
  if (!isObject(cfg) || !Array.isArray(cfg.layers))
    throw new ModelFormatError('Sequential config has no layers list');
  const name = typeof cfg.name === 'string' ? cfg.name : 'sequential';
  const seq = new Sequential({ name });
  let shape: number[] | undefined;
  let added = 0;
  cfg.layers.forEach((entry: unknown, i: number) => {
    const { className, config: lc } = layerEntry(entry, `layer ${i} of the Sequential config`);
    if (className === 'InputLayer') {
      if (added > 0) throw new ModelFormatError('Sequential config: an InputLayer may only come first');
      shape = batchShape(lc, 'InputLayer');
      return;
    }
    const layerShape = added === 0 ? (shape ?? batchShape(lc, className, true)) : undefined;
    if (added === 0 && !layerShape) {
      throw new ModelFormatError(
        `Sequential config: the first layer "${String(lc.name)}" has no batch_input_shape, so the input size is unknown`,
      );
    }
    seq.add(makeLayer(className, lc, layerShape));
    added++;
  });
  if (added === 0) throw new ModelFormatError('Sequential config has no layers besides its input');
  return seq;
}

function functionalFrom(config: unknown): LayersModel {
  if (!isObject(config) || !Array.isArray(config.layers))
    throw new ModelFormatError('model config has no layers list');
  const tensors = new Map<string, SymbolicTensor>();
  const key = (layer: string, node: number): string => `${layer}#${node}`;
  const pending: { layer: Layer; nodes: [string, number][][]; done: number }[] = [];
  const names = new Set<string>();
  for (const [i, entry] of (config.layers as unknown[]).entries()) {
    const { className, config: lc, name, inbound } = layerEntry(entry, `layer ${i} of the model config`);
    if (names.has(name)) throw new ModelFormatError(`model config: two layers are named "${name}"`);
    names.add(name);
    if (className === 'InputLayer') {
      const shape = batchShape(lc, 'InputLayer') as number[];
      tensors.set(key(name, 0), input({ shape, name }));
      continue;
    }
    pending.push({
      layer: makeLayer(className, { ...lc, name }),
      nodes: inboundNodes(inbound, name),
      done: 0,
    });
  }
  // Calls happen in node order per layer, each once its inputs exist (tfjs's fromConfig does the same).
  let progress = true;
  while (progress) {
    progress = false;
    for (const p of pending) {
      while (p.done < p.nodes.length) {
        const refs = p.nodes[p.done] as [string, number][];
        const xs = refs.map(([l, n]) => tensors.get(key(l, n)));
        if (xs.some((x) => x === undefined)) break;
        const ys = xs as SymbolicTensor[];
        tensors.set(
          key(p.layer.name, p.done),
          wrap(p.layer.name, () => p.layer.apply(ys.length === 1 ? (ys[0] as SymbolicTensor) : ys)),
        );
        p.done++;
        progress = true;
      }
    }
  }
  for (const p of pending) {
    if (p.done < p.nodes.length) {
      const missing = (p.nodes[p.done] as [string, number][])
        .filter(([l, n]) => !tensors.has(key(l, n)))
        .map(([l, n]) => `"${l}" call ${n}`);
      throw new ModelFormatError(
        `model config: layer "${p.layer.name}" call ${p.done} needs ${missing.join(', ')}, which no layer produces`,
      );
    }
  }
  const endpoints = (v: unknown, what: string): SymbolicTensor[] => {
    if (!Array.isArray(v) || v.length === 0)
      throw new ModelFormatError(`model config: ${what} must be a non-empty list`);
    // A single [name, node, tensor] is allowed too (Keras writes that for one input).
    const list = typeof v[0] === 'string' ? [v] : (v as unknown[]);
    return list.map((r) => {
      const [l, n] = tensorRef(r, what);
      const t = tensors.get(key(l, n));
      if (!t)
        throw new ModelFormatError(`model config: ${what} names "${l}" call ${n}, which does not exist`);
      return t;
    });
  };
  const inputs = endpoints(config.input_layers, 'input_layers');
  const outputs = endpoints(config.output_layers, 'output_layers');
  const name = typeof config.name === 'string' ? config.name : 'model';
  return wrap(name, () => new LayersModel({ inputs, outputs, name }));
}

function layerEntry(
  entry: unknown,
  what: string,
): { className: string; config: Record<string, unknown>; name: string; inbound: unknown } {
  if (!isObject(entry) || typeof entry.class_name !== 'string' || !isObject(entry.config)) {
    throw new ModelFormatError(`${what} must be { class_name, config }`);
  }
  const name = typeof entry.name === 'string' ? entry.name : entry.config.name;
  if (typeof name !== 'string' || name === '')
    throw new ModelFormatError(`${what} (${entry.class_name}) has no name`);
  return { className: entry.class_name, config: entry.config, name, inbound: entry.inbound_nodes };
}

/** inbound_nodes: per call, the [layer, node] of each input (Keras 2 / tfjs list form). */
function inboundNodes(v: unknown, layer: string): [string, number][][] {
  if (!Array.isArray(v)) {
    throw new ModelFormatError(
      `model config: layer "${layer}" has no inbound_nodes list; it is connected to nothing`,
    );
  }
  return v.map((call: unknown) => {
    if (!Array.isArray(call)) {
      throw new ModelFormatError(
        `model config: layer "${layer}": inbound node ${JSON.stringify(call)} is not a list ` +
          '(the Keras 3 { args, kwargs } form is not supported; save with tf.keras 2 or tfjs)',
      );
    }
    return call.map((r: unknown) => tensorRef(r, `layer "${layer}" inbound_nodes`));
  });
}

function tensorRef(r: unknown, what: string): [string, number] {
  if (
    !Array.isArray(r) ||
    typeof r[0] !== 'string' ||
    !Number.isSafeInteger(r[1]) ||
    !Number.isSafeInteger(r[2])
  ) {
    throw new ModelFormatError(
      `model config: ${what}: ${JSON.stringify(r)} is not [layerName, nodeIndex, tensorIndex]`,
    );
  }
  if (r[2] !== 0) {
    throw new ModelFormatError(
      `model config: ${what}: tensor ${String(r[2])} of "${r[0]}": every supported layer has one output`,
    );
  }
  return [r[0], r[1] as number];
}

/** The per-sample shape of batch_input_shape [null, ...] (Keras 3: batch_shape). */
function batchShape(
  config: Record<string, unknown>,
  className: string,
  optional = false,
): number[] | undefined {
  const v = config.batch_input_shape ?? config.batch_shape;
  if (v === undefined || v === null) {
    if (optional) return undefined;
    throw new ModelFormatError(`${className} "${String(config.name)}" has no batch_input_shape`);
  }
  if (
    !Array.isArray(v) ||
    v.length < 2 ||
    !v.slice(1).every((d) => Number.isSafeInteger(d) && (d as number) > 0)
  ) {
    throw new ModelFormatError(
      `${className} "${String(config.name)}": batch_input_shape ${JSON.stringify(v)} must be [null, ...positive sizes]`,
    );
  }
  return v.slice(1) as number[];
}

// ---------------------------------------------------------------- layers from configs

/** Reads a layer config, failing on settings this library cannot honour. */
class ConfigReader {
  constructor(
    private readonly config: Record<string, unknown>,
    readonly what: string,
  ) {}

  has(key: string): boolean {
    return this.config[key] !== undefined && this.config[key] !== null;
  }

  number(key: string, fallback?: number): number {
    const v = this.config[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v))
      throw new ModelFormatError(`${this.what}: ${key} must be a number, got ${JSON.stringify(v)}`);
    return v;
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.config[key] ?? fallback;
    if (typeof v !== 'boolean')
      throw new ModelFormatError(`${this.what}: ${key} must be true or false, got ${JSON.stringify(v)}`);
    return v;
  }

  /** An activation name; Keras 3 writes builtins as { class_name: 'function', config: 'relu' }. */
  activation(key: string): string {
    const v = this.config[key] ?? 'linear';
    if (typeof v === 'string') return v;
    if (isObject(v) && typeof v.config === 'string') return v.config;
    throw new ModelFormatError(`${this.what}: ${key} must be an activation name, got ${JSON.stringify(v)}`);
  }

  initializer(key: string): InitializerSpec | undefined {
    const v = this.config[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'string') return v;
    if (isObject(v)) {
      const className = v.class_name ?? v.className;
      if (typeof className === 'string')
        return { className, config: isObject(v.config) ? withoutDtype(v.config) : {} };
    }
    throw new ModelFormatError(
      `${this.what}: ${key} must be an initializer name or { class_name, config }, got ${JSON.stringify(v)}`,
    );
  }

  regularizer(key: string): RegularizerSpec | undefined {
    const v = this.config[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'string') return v;
    if (isObject(v)) {
      const className = v.class_name ?? v.className;
      if (typeof className === 'string') return { className, config: isObject(v.config) ? v.config : {} };
    }
    throw new ModelFormatError(
      `${this.what}: ${key} must be a regularizer or null, got ${JSON.stringify(v)}`,
    );
  }

  /** Settings that must be absent (null) because this library does not implement them. */
  unsupported(...keys: string[]): void {
    for (const k of keys) {
      if (this.has(k))
        throw new ModelFormatError(`${this.what}: ${k} ${JSON.stringify(this.config[k])} is not supported`);
    }
  }

  /** -1 or the last axis of an input of `rank` dims (batch included). */
  lastAxis(key: string, rank: number): void {
    const raw = this.config[key] ?? -1;
    const v = Array.isArray(raw) && raw.length === 1 ? (raw[0] as unknown) : raw;
    if (v !== -1 && v !== rank - 1) {
      throw new ModelFormatError(
        `${this.what}: ${key} ${JSON.stringify(raw)} is not supported; only the last axis (-1)`,
      );
    }
  }
}

/** Keras 3 initializer configs may carry a dtype; ours are always float32. */
function withoutDtype(config: Record<string, unknown>): Record<string, unknown> {
  const rest = { ...config };
  delete rest.dtype;
  return rest;
}

function makeLayer(className: string, config: Record<string, unknown>, inputShape?: number[]): Layer {
  const name = config.name as string;
  const r = new ConfigReader(config, `layer "${name}" (${className})`);
  const dtype =
    isObject(config.dtype) && isObject(config.dtype.config) ? config.dtype.config.name : config.dtype;
  if (dtype !== undefined && dtype !== null && dtype !== 'float32') {
    throw new ModelFormatError(`${r.what}: dtype ${JSON.stringify(dtype)} is not supported; only float32`);
  }
  const base = { name, trainable: r.bool('trainable', true), ...(inputShape ? { inputShape } : {}) };
  const rank = (inputShape?.length ?? 1) + 1;
  return wrap(r.what, (): Layer => {
    switch (className) {
      case 'Dense': {
        r.unsupported('kernel_constraint', 'bias_constraint');
        const kernelInitializer = r.initializer('kernel_initializer');
        const biasInitializer = r.initializer('bias_initializer');
        const kernelRegularizer = r.regularizer('kernel_regularizer');
        const biasRegularizer = r.regularizer('bias_regularizer');
        const activityRegularizer = r.regularizer('activity_regularizer');
        return new Dense({
          ...base,
          units: r.number('units'),
          activation: r.activation('activation'),
          useBias: r.bool('use_bias', true),
          ...(kernelInitializer ? { kernelInitializer } : {}),
          ...(biasInitializer ? { biasInitializer } : {}),
          ...(kernelRegularizer ? { kernelRegularizer } : {}),
          ...(biasRegularizer ? { biasRegularizer } : {}),
          ...(activityRegularizer ? { activityRegularizer } : {}),
        });
      }
      case 'Flatten':
        if (config.data_format === 'channels_first' && rank > 2) {
          throw new ModelFormatError(`${r.what}: data_format channels_first is not supported`);
        }
        return new Flatten(base);
      case 'Activation':
        return new Activation({ ...base, activation: r.activation('activation') });
      case 'Dropout': {
        r.unsupported('noise_shape');
        const seed = config.seed;
        return new Dropout({
          ...base,
          rate: r.number('rate'),
          ...(typeof seed === 'number' ? { seed } : {}),
        });
      }
      case 'BatchNormalization': {
        r.lastAxis('axis', rank);
        r.unsupported('beta_regularizer', 'gamma_regularizer', 'beta_constraint', 'gamma_constraint');
        if (config.renorm === true) throw new ModelFormatError(`${r.what}: renorm is not supported`);
        const beta = r.initializer('beta_initializer');
        const gamma = r.initializer('gamma_initializer');
        const mean = r.initializer('moving_mean_initializer');
        const variance = r.initializer('moving_variance_initializer');
        return new BatchNormalization({
          ...base,
          momentum: r.number('momentum', 0.99),
          epsilon: r.number('epsilon', 1e-3),
          center: r.bool('center', true),
          scale: r.bool('scale', true),
          ...(beta ? { betaInitializer: beta } : {}),
          ...(gamma ? { gammaInitializer: gamma } : {}),
          ...(mean ? { movingMeanInitializer: mean } : {}),
          ...(variance ? { movingVarianceInitializer: variance } : {}),
        });
      }
      case 'Concatenate':
        r.lastAxis('axis', 2);
        return new Concatenate(base);
      case 'Add':
        return new Add(base);
      default:
        throw new ModelFormatError(
          `unknown layer class '${className}' (layer "${name}"); supported: ${SUPPORTED_LAYERS.join(', ')}`,
        );
    }
  });
}

/** Runs `f`, putting `what` in front of the message of an error that does not name it. */
function wrap<T>(what: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof ModelFormatError || !(e instanceof Error) || e.message.includes(what)) throw e;
    throw new ModelFormatError(`${what}: ${e.message}`, { cause: e });
  }
}

// ---------------------------------------------------------------- weights

const DTYPE_BYTES: Readonly<Record<string, number>> = { float32: 4, int32: 4, bool: 1, complex64: 8 };

/** Matches the artifacts' weights to the model's by name and copies them in. */
function setWeightsFrom(model: LayersModel, artifacts: ModelArtifactsLike): void {
  const specs: readonly WeightSpecLike[] = artifacts.weightSpecs ?? [];
  if (!Array.isArray(artifacts.weightSpecs ?? [])) throw new ModelFormatError('weightSpecs must be a list');
  const data = concatBuffers(artifacts.weightData);
  const values = new Map<string, { spec: WeightSpecLike; data: Float32Array }>();
  const optimizerState: { name: string; shape: number[]; data: Float32Array }[] = [];
  let offset = 0;
  for (const spec of specs) {
    const raw = spec as unknown;
    if (!isObject(raw) || typeof raw.name !== 'string' || !Array.isArray(raw.shape)) {
      throw new ModelFormatError(`weight spec ${JSON.stringify(spec)} needs a name and a shape`);
    }
    const count = spec.shape.reduce((a, b) => a * b, 1);
    const width = DTYPE_BYTES[spec.dtype];
    if (spec.quantization !== undefined) {
      throw new ModelFormatError(
        `weight "${spec.name}" is quantized; quantized models are not supported (convert without quantization)`,
      );
    }
    if (width === undefined)
      throw new ModelFormatError(`weight "${spec.name}": dtype '${spec.dtype}' is not supported`);
    const bytes = count * width;
    if (offset + bytes > data.byteLength) {
      const need = specs.reduce(
        (s, w) => s + w.shape.reduce((a, b) => a * b, 1) * (DTYPE_BYTES[w.dtype] ?? 4),
        0,
      );
      throw new ModelFormatError(
        `the weight data has ${data.byteLength} bytes; the weight specs need ${need}`,
      );
    }
    if (spec.group !== 'optimizer') {
      if (spec.dtype !== 'float32') {
        throw new ModelFormatError(
          `weight "${spec.name}": dtype '${spec.dtype}' is not supported; layer weights are float32`,
        );
      }
      if (values.has(spec.name))
        throw new ModelFormatError(`weight "${spec.name}" appears twice in the weight specs`);
      values.set(spec.name, { spec, data: readF32(data, offset, count) });
    } else {
      // Optimizer state (includeOptimizer): kept for the model's next compile.
      const view = new DataView(data, offset, bytes);
      const read = (i: number): number =>
        spec.dtype === 'int32' ? view.getInt32(4 * i, true) : view.getFloat32(4 * i, true);
      if (spec.dtype !== 'int32' && spec.dtype !== 'float32') {
        throw new ModelFormatError(`optimizer weight "${spec.name}": dtype '${spec.dtype}' is not supported`);
      }
      optimizerState.push({
        name: spec.name,
        shape: [...spec.shape],
        data: Float32Array.from({ length: count }, (_, i) => read(i)),
      });
    }
    offset += bytes;
  }
  if (offset !== data.byteLength) {
    throw new ModelFormatError(
      `the weight data has ${data.byteLength} bytes; the weight specs describe ${offset}`,
    );
  }

  const lookup = (name: string): { spec: WeightSpecLike; data: Float32Array } | undefined => {
    const exact = values.get(name) ?? values.get(`${name}:0`);
    if (exact) return exact;
    // tensorflowjs_converter may prefix the model's name: 'sequential/dense/kernel'.
    const suffixed = [...values.keys()].filter((k) => k.endsWith(`/${name}`));
    return suffixed.length === 1 ? values.get(suffixed[0] as string) : undefined;
  };
  const used = new Set<WeightSpecLike>();
  const missing: string[] = [];
  const writes: [LayerWeight, Float32Array][] = [];
  for (const layer of model.layers) {
    for (const w of layer.weights) {
      const found = lookup(w.name);
      if (!found) {
        missing.push(`"${w.name}" [${w.shape.join(', ')}]`);
        continue;
      }
      const shape = found.spec.shape;
      if (shape.length !== w.shape.length || shape.some((d, i) => d !== w.shape[i])) {
        throw new ModelFormatError(
          `weight "${w.name}": the file has shape [${shape.join(', ')}], the model needs [${w.shape.join(', ')}]`,
        );
      }
      used.add(found.spec);
      writes.push([w, found.data]);
    }
  }
  const extra = [...values.values()].filter((v) => !used.has(v.spec)).map((v) => `"${v.spec.name}"`);
  if (missing.length > 0 || extra.length > 0) {
    const parts = [
      ...(missing.length > 0 ? [`missing from the file: ${missing.join(', ')}`] : []),
      ...(extra.length > 0 ? [`in the file but not in the model: ${extra.join(', ')}`] : []),
    ];
    throw new ModelFormatError(
      `the weights do not match the model (${writes.length + missing.length} weights expected, ${values.size} given): ${parts.join('; ')}`,
    );
  }
  for (const [w, v] of writes) w.values.set(v);
  model.pendingOptimizerWeights = optimizerState.length > 0 ? optimizerState : undefined;
}

function concatBuffers(data: ArrayBuffer | readonly ArrayBuffer[] | undefined): ArrayBuffer {
  if (data === undefined) return new ArrayBuffer(0);
  if (data instanceof ArrayBuffer) return data;
  if (!Array.isArray(data)) throw new ModelFormatError('weightData must be an ArrayBuffer or a list of them');
  const buffers = data as readonly ArrayBuffer[];
  const out = new Uint8Array(buffers.reduce((s, b) => s + b.byteLength, 0));
  let at = 0;
  for (const b of buffers) {
    out.set(new Uint8Array(b), at);
    at += b.byteLength;
  }
  return out.buffer;
}

function readF32(data: ArrayBuffer, offset: number, count: number): Float32Array {
  if (LITTLE_ENDIAN && offset % 4 === 0) return new Float32Array(data, offset, count).slice();
  const view = new DataView(data, offset, count * 4);
  return Float32Array.from({ length: count }, (_, i) => view.getFloat32(4 * i, true));
}
