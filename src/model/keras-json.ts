/**
 * A model's structure as Keras JSON and back: the modelTopology of the TF.js layers format
 * (and the config.json / model_config of Keras's own files).
 *
 *   { class_name: 'Sequential' | 'Model', config, keras_version, backend }. A Sequential's
 *   config is { name, layers: [{ class_name, config }] } with batch_input_shape on the first
 *   layer; a functional model's (tfjs calls it 'Model', Keras 2.13+ 'Functional') is
 *   { name, layers: [{ name, class_name, config, inbound_nodes }], input_layers,
 *   output_layers }, where inbound_nodes holds one entry per call of the layer:
 *   [[layerName, nodeIndex, tensorIndex, kwargs], ...].
 *
 * Configs are written as tfjs writes them, so tfjs can read them: Glorot/He/LeCun
 * initializers as VarianceScaling (tfjs registers LeCunUniform, Keras LecunUniform) and the
 * truncated normal as distribution 'normal' (the spelling tfjs and Keras 2 use for it); every
 * regularizer as L1L2, the only one tfjs registers. Reading rebuilds each layer through its
 * class's fromConfig (src/nn/layers) and gives the structure, not a model: load.ts makes the
 * model, so this module needs no model class.
 */
import {
  batchShape,
  InputLayer,
  isObject,
  layerFromConfig,
  ModelFormatError,
  wrapConfigError,
  type Layer,
  type SymbolicTensor,
} from '../nn/layers/index.js';
import { modelCalls } from '../keras/keras3.js';
import type { Topology } from './topology.js';

/** What this library writes as generatedBy and keras_version. */
export const GENERATED_BY = 'webgpu-mlp 0.1.0';

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

/** A model read from JSON: a Sequential's stack, or a functional model's endpoints. */
export type ModelStructure =
  | { kind: 'sequential'; name: string; layers: Layer[] }
  | { kind: 'functional'; name: string; inputs: SymbolicTensor[]; outputs: SymbolicTensor[] };

/** The Keras JSON of a model's structure (layer names must be unique). */
export function topologyJson(model: Topology): KerasModelJson {
  const layers = model.layers;
  const seen = new Set<string>();
  for (const l of layers) {
    if (seen.has(l.name))
      throw new Error(`save: two layers are named "${l.name}"; layer names must be unique`);
    seen.add(l.name);
  }
  return model.sequential ? sequentialJson(model, layers) : functionalJson(model, layers);
}

function sequentialJson(model: Topology, layers: readonly Layer[]): KerasModelJson {
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

function functionalJson(model: Topology, layers: readonly Layer[]): KerasModelJson {
  const { inModel, nodeIndex } = modelCalls(model, layers);
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

/**
 * The structure in a modelTopology (ours, tfjs-layers', or tensorflowjs_converter's, which
 * nests it in model_config), its layers rebuilt.
 */
export function structureFromJson(topology: unknown): ModelStructure {
  if (topology instanceof ArrayBuffer) {
    throw new ModelFormatError(
      'the model topology is binary (a TF.js graph model); only layers models load here',
    );
  }
  let t = topology;
  if (isObject(t) && isObject(t.model_config)) t = t.model_config; // tensorflowjs_converter
  if (!isObject(t)) throw new ModelFormatError('the artifacts have no modelTopology object');
  const className = t.class_name;
  if (className === 'Sequential') return sequentialFrom(t.config);
  if (className === 'Model' || className === 'Functional') return functionalFrom(t.config);
  throw new ModelFormatError(
    `modelTopology.class_name ${JSON.stringify(className)} is not a model class; expected Sequential, Model or Functional`,
  );
}

function sequentialFrom(config: unknown): ModelStructure {
  // Keras < 2.2.3 wrote the layer list itself as the config.
  const cfg = Array.isArray(config) ? { layers: config as unknown[] } : config;
  if (!isObject(cfg) || !Array.isArray(cfg.layers))
    throw new ModelFormatError('Sequential config has no layers list');
  const name = typeof cfg.name === 'string' ? cfg.name : 'sequential';
  const stack: Layer[] = [];
  let shape: number[] | undefined;
  let added = 0;
  cfg.layers.forEach((entry: unknown, i: number) => {
    const { className, config: lc } = layerEntry(entry, `layer ${i} of the Sequential config`);
    if (className === 'InputLayer') {
      if (added > 0) throw new ModelFormatError('Sequential config: an InputLayer may only come first');
      shape = InputLayer.fromConfig(lc, String(lc.name)).shape;
      return;
    }
    const layerShape = added === 0 ? (shape ?? batchShape(lc, className, true)) : undefined;
    if (added === 0 && !layerShape) {
      throw new ModelFormatError(
        `Sequential config: the first layer "${String(lc.name)}" has no batch_input_shape, so the input size is unknown`,
      );
    }
    stack.push(layerFromConfig(className, lc, layerShape));
    added++;
  });
  if (added === 0) throw new ModelFormatError('Sequential config has no layers besides its input');
  return { kind: 'sequential', name, layers: stack };
}

function functionalFrom(config: unknown): ModelStructure {
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
      tensors.set(key(name, 0), InputLayer.fromConfig(lc, name).output);
      continue;
    }
    pending.push({
      layer: layerFromConfig(className, { ...lc, name }),
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
          wrapConfigError(p.layer.name, () =>
            p.layer.apply(ys.length === 1 ? (ys[0] as SymbolicTensor) : ys),
          ),
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
  return { kind: 'functional', name, inputs, outputs };
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

/**
 * inbound_nodes: per call, the [layer, node] of each input: Keras 2 / tfjs's list form
 * [[layer, node, tensor, kwargs], ...], or Keras 3's { args, kwargs } whose args hold keras
 * tensors ({ class_name: '__keras_tensor__', config: { keras_history } }), possibly in a list
 * (a merge layer's one argument).
 */
function inboundNodes(v: unknown, layer: string): [string, number][][] {
  if (!Array.isArray(v)) {
    throw new ModelFormatError(
      `model config: layer "${layer}" has no inbound_nodes list; it is connected to nothing`,
    );
  }
  return v.map((call: unknown) => {
    if (isObject(call) && Array.isArray(call.args)) return keras3Call(call, layer);
    if (!Array.isArray(call)) {
      throw new ModelFormatError(
        `model config: layer "${layer}": inbound node ${JSON.stringify(call)} is neither a list nor Keras 3's { args, kwargs }`,
      );
    }
    return call.map((r: unknown) => {
      if (Array.isArray(r)) refuseCallKwargs(r[3], layer);
      return tensorRef(r, `layer "${layer}" inbound_nodes`);
    });
  });
}

/**
 * A call's keyword arguments: only absent or null ones (Keras records mask=None); a set one,
 * such as training=True on a Dropout (dropout at inference), would change what the layer does,
 * so it is refused rather than dropped.
 */
function refuseCallKwargs(kwargs: unknown, layer: string): void {
  if (kwargs === undefined || kwargs === null) return;
  if (!isObject(kwargs)) {
    throw new ModelFormatError(
      `model config: layer "${layer}": call arguments ${JSON.stringify(kwargs)} are not a record`,
    );
  }
  for (const [k, v] of Object.entries(kwargs)) {
    if (v === null) continue;
    throw new ModelFormatError(
      `model config: layer "${layer}" is called with ${k}=${JSON.stringify(v)}, which is not supported (only calls without keyword arguments)`,
    );
  }
}

/** The keras tensors of a Keras 3 call, in order; other arguments must be absent. */
function keras3Call(call: Record<string, unknown>, layer: string): [string, number][] {
  const refs: [string, number][] = [];
  const walk = (a: unknown): void => {
    if (Array.isArray(a)) {
      a.forEach(walk);
    } else if (isObject(a) && a.class_name === '__keras_tensor__' && isObject(a.config)) {
      refs.push(tensorRef(a.config.keras_history, `layer "${layer}" inbound_nodes`));
    } else {
      throw new ModelFormatError(
        `model config: layer "${layer}" is called with ${JSON.stringify(a)}, which is not a tensor; only tensor arguments are supported`,
      );
    }
  };
  walk(call.args);
  refuseCallKwargs(call.kwargs, layer);
  return refs;
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
