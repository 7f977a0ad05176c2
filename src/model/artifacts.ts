/**
 * Models ⇄ the TF.js layers format: the artifacts tfjs-layers 4.22 writes and reads
 * (`model.save(tf.io.withSaveHandler(...))` / `tf.io.fromMemory(...)`).
 *
 *   modelTopology  Keras JSON (keras-json.ts).
 *   weightSpecs    [{ name: '<layer>/kernel', shape, dtype: 'float32' }], in getWeights() order.
 *   weightData     the values of weightSpecs, float32 little-endian, back to back.
 *
 * Loading matches weights by name, so tfjs's order (trainable weights first, then the
 * BatchNormalization moving statistics) and ours (layer by layer) both load. A
 * BatchNormalization without scale/center has no gamma/beta weight in Keras, tfjs or here
 * (the layer keeps 1/0 constants for its kernel, which are not weights).
 */
import { isObject, ModelFormatError, type Layer, type LayerWeight } from '../nn/layers/index.js';
import { assertFiniteWeight } from './finite.js';
import { GENERATED_BY, topologyJson, type KerasModelJson } from './keras-json.js';
import type { Topology } from './topology.js';

export { ModelFormatError };

/** What saving needs of a model: its structure, weights and optimizer (LayersModel has them). */
export interface SavableModel extends Topology {
  getWeights(): Promise<{ name: string; shape: number[]; data: Float32Array }[]>;
  readonly optimizerConfig: { className: string; config: Record<string, number | boolean> } | undefined;
  getOptimizerWeights(): Promise<{ name: string; shape: number[]; data: Float32Array }[]>;
}

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

// ================================================================ saving

/**
 * The model as TF.js layers-format artifacts (what `model.save(handler)` gives the handler).
 * With `includeOptimizer`, the optimizer's state follows the layer weights as weight specs
 * of group 'optimizer' ('iterations' int32, then '<weight>/<slot>' f32) and the topology gets
 * a training_config naming the optimizer; loadModel() keeps that state for the next compile
 * with the same optimizer.
 */
export async function modelToArtifacts(
  model: SavableModel,
  options: { includeOptimizer?: boolean } = {},
): Promise<ModelArtifacts> {
  const optimizer = options.includeOptimizer === true ? await optimizerArtifacts(model) : undefined;
  const modelTopology = topologyJson(model);
  const layers = model.layers;

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
  model: SavableModel,
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

// ================================================================ loading

const DTYPE_BYTES: Readonly<Record<string, number>> = { float32: 4, int32: 4, bool: 1, complex64: 8 };

/**
 * Matches the artifacts' weights to the layers' by name (tfjs's order, trainable weights
 * first, and ours, layer by layer, both load) and copies them in; returns the optimizer
 * state saved with includeOptimizer, if any, for the model's next compile. Every check (the
 * format, the names and shapes, NaN/±Inf in any weight or optimizer state: a
 * NonFiniteWeightError naming it) comes before the first weight is written.
 */
export function setWeightsFrom(
  layers: readonly Layer[],
  artifacts: ModelArtifactsLike,
): { name: string; shape: number[]; data: Float32Array }[] | undefined {
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
      const v = readF32(data, offset, count);
      assertFiniteWeight('loadModel', spec.name, v);
      values.set(spec.name, { spec, data: v });
    } else {
      // Optimizer state (includeOptimizer): kept for the model's next compile.
      const view = new DataView(data, offset, bytes);
      const read = (i: number): number =>
        spec.dtype === 'int32' ? view.getInt32(4 * i, true) : view.getFloat32(4 * i, true);
      if (spec.dtype !== 'int32' && spec.dtype !== 'float32') {
        throw new ModelFormatError(`optimizer weight "${spec.name}": dtype '${spec.dtype}' is not supported`);
      }
      const v = Float32Array.from({ length: count }, (_, i) => read(i));
      assertFiniteWeight('loadModel: optimizer state (includeOptimizer)', spec.name, v);
      optimizerState.push({ name: spec.name, shape: [...spec.shape], data: v });
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
  for (const layer of layers) {
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
  return optimizerState.length > 0 ? optimizerState : undefined;
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
