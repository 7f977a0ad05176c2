/**
 * Keras 3's own serialization of a model, as `model.save('x.keras')` writes it
 * (keras/src/saving/saving_lib.py, serialization_lib.py):
 *
 *   config.json   the model serialized: { module, class_name, config, registered_name,
 *                 build_config, compile_config }; every nested object (layer, initializer,
 *                 regularizer, dtype policy, optimizer) in the same four-key form. A
 *                 Sequential lists its InputLayer first; a functional model's layers carry
 *                 inbound_nodes as { args: [keras tensors], kwargs }, a keras tensor being
 *                 { class_name: '__keras_tensor__', config: { shape, dtype, keras_history:
 *                 [layer, node, tensor] } }.
 *   model.weights.h5   one group per saveable, named by the path Keras walks to it, not by
 *                 the layer's name: the model's layers as `layers/<class in snake_case>`
 *                 (dense, dense_1, batch_normalization, …, numbered per class in layer
 *                 order), each with a `vars` group of datasets '0', '1', … in the layer's
 *                 variable order and a `name` attribute; the optimizer as `optimizer/vars`
 *                 (iteration, learning_rate, then its slots); the model's own as `vars`.
 *
 * Reading goes the other way into the Keras-2-style JSON the rest of the library reads
 * (keras-json.ts already accepts Keras 3's layer configs).
 */
import {
  InputLayer,
  isObject,
  ModelFormatError,
  type Layer,
  type SymbolicTensor,
} from '../nn/layers/index.js';
import { group, groupAt, putDataset, stringAttr, type H5Array, type H5Group } from './h5.js';

/** What serializing needs of a model (src/model's Topology has it). */
export interface ModelShape {
  readonly name: string;
  readonly layers: readonly Layer[];
  readonly inputs: readonly SymbolicTensor[];
  readonly outputs: readonly SymbolicTensor[];
  readonly sequential: boolean;
}

/** What Keras 3 serializes a float32 layer's dtype as. */
const DTYPE_POLICY = {
  module: 'keras',
  class_name: 'DTypePolicy',
  config: { name: 'float32' },
  registered_name: null,
};

/** The initializers Keras 3 writes with a seed alone (their other settings are fixed by the class). */
const SEED_ONLY = new Set([
  'GlorotUniform',
  'GlorotNormal',
  'HeUniform',
  'HeNormal',
  'LecunUniform',
  'LecunNormal',
]);

function serialized(
  module: string,
  className: string,
  config: unknown,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return { module, class_name: className, config, registered_name: null, ...extra };
}

function initializer(json: Record<string, unknown>): Record<string, unknown> {
  const className = String(json.class_name);
  const config = isObject(json.config) ? json.config : {};
  return serialized(
    'keras.initializers',
    className,
    SEED_ONLY.has(className) ? { seed: config.seed ?? null } : config,
  );
}

/** A layer's Keras 3 config (nested objects in the four-key form, dtype as a policy). */
function layerConfig(layer: Layer): Record<string, unknown> {
  const config: Record<string, unknown> = { ...layer.getConfig(), name: layer.name };
  delete config.batch_input_shape;
  config.dtype = DTYPE_POLICY;
  for (const [key, value] of Object.entries(config)) {
    if (!isObject(value)) continue;
    if (key.endsWith('_initializer')) config[key] = initializer(value);
    else if (key.endsWith('_regularizer'))
      config[key] = serialized('keras.regularizers', String(value.class_name), value.config ?? {});
  }
  return config;
}

function inputLayerEntry(name: string, shape: readonly (number | null)[]): Record<string, unknown> {
  return serialized('keras.layers', 'InputLayer', {
    batch_shape: [null, ...shape],
    dtype: 'float32',
    sparse: false,
    ragged: false,
    name,
    optional: false,
  });
}

/** The shape(s) a layer was built for, as Keras 3's build_config records them. */
function buildConfig(inputs: readonly SymbolicTensor[]): Record<string, unknown> {
  const shapes = inputs.map((t) => [null, ...t.shape]);
  return { input_shape: shapes.length === 1 ? shapes[0] : shapes };
}

/**
 * A functional model's layers in Keras's order (ops/function.py map_graph): by depth from the
 * outputs' side down, ties by first sight in a depth-first walk from the outputs. Keras names
 * the weights' groups in this order, so a file written here must use it too.
 */
export function kerasLayerOrder(model: ModelShape): Layer[] {
  if (model.sequential) return [...model.layers];
  const inputs = new Set(model.inputs);
  const finished = new Set<SymbolicTensor>();
  const nodes: SymbolicTensor[] = [];
  const index = new Map<Layer, number>();
  const visit = (t: SymbolicTensor): void => {
    if (finished.has(t)) return;
    const isInput = t.layer instanceof InputLayer;
    if (!isInput && inputs.has(t)) {
      finished.add(t);
      return;
    }
    if (!index.has(t.layer)) index.set(t.layer, index.size);
    if (!isInput) for (const i of t.layer.nodes[t.node]?.inputs ?? []) visit(i);
    finished.add(t);
    nodes.push(t);
  };
  model.outputs.forEach(visit);
  const inGraph = new Set(nodes);
  const nodeDepth = new Map<SymbolicTensor, number>();
  const layerDepth = new Map<Layer, number>();
  for (const t of [...nodes].reverse()) {
    const depth = Math.max(nodeDepth.get(t) ?? 0, layerDepth.get(t.layer) ?? 0);
    layerDepth.set(t.layer, depth);
    nodeDepth.set(t, depth);
    for (const p of t.layer.nodes[t.node]?.inputs ?? []) {
      if (inGraph.has(p)) nodeDepth.set(p, Math.max(depth + 1, nodeDepth.get(p) ?? 0));
    }
  }
  for (const t of model.inputs) {
    if (!layerDepth.has(t.layer)) {
      layerDepth.set(t.layer, 0);
      index.set(t.layer, -1);
    }
  }
  return [...layerDepth.keys()].sort(
    (a, b) =>
      (layerDepth.get(b) ?? 0) - (layerDepth.get(a) ?? 0) || (index.get(a) ?? 0) - (index.get(b) ?? 0),
  );
}

/** The Keras 3 config.json object of a model (compileConfig, when given, is added as is). */
export function keras3Config(
  model: ModelShape,
  compileConfig?: Record<string, unknown>,
): Record<string, unknown> {
  const layers = kerasLayerOrder(model);
  const names = new Set<string>();
  for (const l of layers) {
    if (names.has(l.name))
      throw new Error(`save: two layers are named "${l.name}"; layer names must be unique`);
    names.add(l.name);
  }
  const body = model.sequential ? sequentialConfig(model, layers) : functionalConfig(model, layers);
  return compileConfig ? { ...body, compile_config: compileConfig } : body;
}

function sequentialConfig(model: ModelShape, layers: readonly Layer[]): Record<string, unknown> {
  const stack = layers.filter((l) => !(l instanceof InputLayer));
  if (stack.length === 0) throw new Error(`save: sequential model "${model.name}" has no layers`);
  const input = model.inputs[0] as SymbolicTensor;
  // Keras 3 names a Sequential's input 'input_layer'; tfjs's '<model>_input' is the same default.
  const own = input.layer instanceof InputLayer ? input.layer.name : undefined;
  const inputName = own === undefined || own === `${model.name}_input` ? 'input_layer' : own;
  const entries = [
    inputLayerEntry(inputName, input.shape),
    ...stack.map((l) => {
      const node = l.nodes[0];
      if (!node) throw new Error(`internal: layer "${l.name}" of a built Sequential was never called`);
      return serialized('keras.layers', l.className, layerConfig(l), {
        build_config: buildConfig(node.inputs),
      });
    }),
  ];
  const shape = [null, ...input.shape];
  return serialized(
    'keras',
    'Sequential',
    { name: model.name, trainable: true, dtype: DTYPE_POLICY, layers: entries, build_input_shape: shape },
    { build_config: { input_shape: shape } },
  );
}

/**
 * The calls (nodes) that belong to a model, by their output, and each one's index as Keras
 * numbers a layer's calls when saving: calls made outside the model do not count.
 */
export function modelCalls(
  model: Pick<ModelShape, 'outputs'>,
  layers: readonly Layer[],
): { inModel: Set<SymbolicTensor>; nodeIndex: Map<SymbolicTensor, number> } {
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
  return { inModel, nodeIndex };
}

function functionalConfig(model: ModelShape, layers: readonly Layer[]): Record<string, unknown> {
  const { inModel, nodeIndex } = modelCalls(model, layers);
  const history = (t: SymbolicTensor): [string, number, number] => [t.layer.name, nodeIndex.get(t) ?? 0, 0];
  const kerasTensor = (t: SymbolicTensor): Record<string, unknown> => ({
    class_name: '__keras_tensor__',
    config: { shape: [null, ...t.shape], dtype: 'float32', keras_history: history(t) },
  });
  const entries = layers.map((l) => {
    if (l instanceof InputLayer) {
      return { ...inputLayerEntry(l.name, l.shape), name: l.name, inbound_nodes: [] };
    }
    const calls = l.nodes.filter((n) => inModel.has(n.output));
    const first = calls[0];
    return serialized('keras.layers', l.className, layerConfig(l), {
      ...(first ? { build_config: buildConfig(first.inputs) } : {}),
      name: l.name,
      inbound_nodes: calls.map((n) => ({
        args:
          n.inputs.length === 1 ? [kerasTensor(n.inputs[0] as SymbolicTensor)] : [n.inputs.map(kerasTensor)],
        kwargs: {},
      })),
    });
  });
  const endpoints = (ts: readonly SymbolicTensor[]): unknown =>
    ts.length === 1 ? history(ts[0] as SymbolicTensor) : ts.map(history);
  return {
    module: 'keras.src.models.functional',
    class_name: 'Functional',
    config: {
      name: model.name,
      trainable: true,
      layers: entries,
      input_layers: endpoints(model.inputs),
      output_layers: endpoints(model.outputs),
    },
    registered_name: 'Functional',
    build_config: { input_shape: null },
  };
}

// ---------------------------------------------------------------- weights

/** Keras's naming.to_snake_case for class names: 'BatchNormalization' → 'batch_normalization'. */
export function kerasSnakeCase(name: string): string {
  return name
    .replace(/(.)([A-Z][a-z]+)/g, '$1_$2')
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase();
}

/** The group names Keras 3 gives a model's layers: snake_case class names, numbered per class. */
export function layerPaths(layers: readonly Layer[]): string[] {
  const used = new Map<string, number>();
  return layers.map((l) => {
    const base = kerasSnakeCase(l.className);
    const n = used.get(base);
    used.set(base, n === undefined ? 0 : n + 1);
    return n === undefined ? `layers/${base}` : `layers/${base}_${n + 1}`;
  });
}

export interface WeightValue {
  name: string;
  shape: number[];
  data: Float32Array;
}

export interface OptimizerVars {
  /** Keras's optimizer name (the vars group's name attribute), e.g. 'adam'. */
  name: string;
  /** In Keras 3's order: iteration (int64), learning_rate, then the slots. */
  values: { data: H5Array; shape: number[] }[];
}

/**
 * model.weights.h5's tree: `layers/<path>/vars/<i>` for `values` (the model's weights, by name)
 * with `layers` in Keras's order, `optimizer/vars/<i>`, and the model's own `vars`.
 */
export function keras3WeightsTree(
  modelName: string,
  layers: readonly Layer[],
  values: readonly WeightValue[],
  optimizer?: OptimizerVars,
): H5Group {
  const root = group();
  const paths = layerPaths(layers);
  const byName = new Map(values.map((v) => [v.name, v]));
  layers.forEach((l, i) => {
    const vars = groupAt(root, `${paths[i] as string}/vars`);
    vars.attrs.name = stringAttr(l.name);
    l.weights.forEach((w, k) => {
      const v = byName.get(w.name);
      if (!v) throw new Error(`internal: no value for weight "${w.name}"`);
      putDataset(vars, String(k), v.data, v.shape);
    });
  });
  if (optimizer) {
    const vars = groupAt(root, 'optimizer/vars');
    vars.attrs.name = stringAttr(optimizer.name);
    optimizer.values.forEach((v, k) => putDataset(vars, String(k), v.data, v.shape));
  }
  groupAt(root, 'vars').attrs.name = stringAttr(modelName);
  return root;
}

/** Throws a ModelFormatError naming `file` and the part. */
export function formatError(file: string, message: string): ModelFormatError {
  return new ModelFormatError(`${file}: ${message}`);
}

/**
 * The model_config of a legacy .h5 file as Keras 3 writes it (legacy_h5_format.py under
 * use_legacy_config): the same model as config.json, each object as { class_name, config }
 * only (nested initializers and regularizers keep Keras 3's form, as layers serialize them).
 */
export function keras3LegacyConfig(model: ModelShape): Record<string, unknown> {
  const full = keras3Config(model);
  const config = { ...(full.config as Record<string, unknown>) };
  config.layers = (config.layers as Record<string, unknown>[]).map((l) => {
    const out: Record<string, unknown> = { class_name: l.class_name, config: l.config };
    if ('name' in l) out.name = l.name;
    if ('inbound_nodes' in l) out.inbound_nodes = l.inbound_nodes;
    return out;
  });
  return { class_name: full.class_name, config };
}
