/**
 * loadModel: a saved model back as a LayersModel, from Keras's own files (.keras, .h5: read
 * by src/keras, compiled again from their compile settings as Keras's load_model does) or
 * from TF.js layers-format artifacts written by this library, tfjs-layers or Keras (through
 * tensorflowjs_converter; those come back uncompiled). io.ts and keras-io.ts fetch the bytes,
 * keras-json.ts rebuilds the layers, artifacts.ts the weights; this module is the one that
 * makes the model, so nothing below it imports model.ts.
 */
import { readKerasFile, slotsOf, sniffKerasFile, type KerasFileParts } from '../keras/files.js';
import { isObject, ModelFormatError, wrapConfigError } from '../nn/layers/index.js';
import { readOptions, type Spelled } from '../util/options.js';
import { isNode } from '../util/runtime.js';
import { setWeightsFrom, type ModelArtifactsLike } from './artifacts.js';
import { assertFiniteWeight } from './finite.js';
import { loadArtifacts, type LoadHandler } from './io.js';
import { kerasPathKind, readKerasBytes, type KerasFileSource } from './keras-io.js';
import { assignKerasWeights } from './keras-weights.js';
import { structureFromJson, type ModelStructure } from './keras-json.js';
import { LayersModel, Sequential } from './model.js';

export interface LoadModelArgs {
  /**
   * Keras files: compile the model again from the settings saved with it (optimizer with its
   * state, loss, metrics), as Keras's load_model does; default true. TF.js artifacts come
   * back uncompiled either way.
   */
  compile?: boolean;
}

const LOAD_KEYS: Readonly<Record<keyof LoadModelArgs, true>> = { compile: true };

/**
 * Loads a model saved in the TF.js layers format ('file://dir/model.json', 'indexeddb://name',
 * an http(s) URL, browserFiles(...), a handler with load(), or artifacts). The model comes
 * back uncompiled; optimizer state saved with it is applied at its next compile. A NaN or
 * ±Inf in any weight or optimizer state is a NonFiniteWeightError naming it, and no model.
 */
export async function loadModel(
  source: string | LoadHandler | ModelArtifactsLike | Blob | ArrayBuffer | Uint8Array,
  given: Spelled<LoadModelArgs> = {},
): Promise<LayersModel> {
  const options = readOptions<LoadModelArgs>('loadModel', given, LOAD_KEYS);
  // A Keras name, or (Node) a plain path whatever its name: its bytes say which file it is.
  const keras =
    typeof source === 'string'
      ? kerasPathKind(source) !== undefined || (isNode() && !source.includes('://'))
      : source instanceof Uint8Array ||
        source instanceof ArrayBuffer ||
        (typeof Blob !== 'undefined' && source instanceof Blob);
  if (!keras)
    return modelFromArtifacts(await loadArtifacts(source as string | LoadHandler | ModelArtifactsLike));
  const { bytes, name } = await readKerasBytes(source as KerasFileSource, 'loadModel');
  if (sniffKerasFile(bytes) === undefined && bytes[0] === 0x7b) {
    // '{': a TF.js model.json given as a plain path, bytes or a File.
    throw new ModelFormatError(
      `${name} is JSON, not a Keras file: load a TF.js model.json with its weights through loadModel('file://…/model.json') or loadModel(browserFiles(json, weights))`,
    );
  }
  return modelFromKerasParts(await readKerasFile(bytes, name), name, options.compile !== false);
}

function modelOf(s: ModelStructure): LayersModel {
  return s.kind === 'sequential'
    ? new Sequential({ name: s.name, layers: s.layers })
    : wrapConfigError(s.name, () => new LayersModel({ inputs: s.inputs, outputs: s.outputs, name: s.name }));
}

/**
 * Saved metrics as compile takes them. Keras reads a list with one entry per output as
 * per-output (an entry: a metric or a list of them; tf.keras 2 writes [[...]] per output), so
 * for several outputs such a list becomes a record by output name.
 */
function perOutput(v: unknown, outputs: readonly string[]): unknown {
  if (!Array.isArray(v)) return v;
  if (outputs.length === 1) return v.length === 1 && Array.isArray(v[0]) ? v[0] : v;
  if (v.length !== outputs.length) return v;
  return Object.fromEntries(outputs.map((o, i) => [o, Array.isArray(v[i]) ? v[i] : [v[i]]]));
}

/** A model from a Keras file's parts: structure, weights, then compile settings and optimizer state. */
export function modelFromKerasParts(parts: KerasFileParts, file: string, compile: boolean): LayersModel {
  const model = wrapConfigError(file, () => modelOf(structureFromJson(parts.modelConfig)));
  assignKerasWeights(model.layers, parts.weights(model.layers), file);
  if (!compile) return model;
  const c = parts.compile();
  if (!c) return model;
  // The optimizer's variables follow Keras's layer order (the file's), not ours.
  const trainable = parts
    .order(model.layers)
    .flatMap((l) => (l.trainable ? l.weights.filter((w) => w.trainable) : []));
  const config = { ...c.optimizer.config };
  let pending: LayersModel['pendingOptimizerWeights'];
  if (parts.optimizer) {
    const { state, learningRate } = parts.optimizer(
      c.optimizer.className,
      trainable,
      slotsOf(c.optimizer.className, config),
    );
    state?.forEach((s) => assertFiniteWeight(`loading ${file}: optimizer state`, s.name, s.data));
    pending = state;
    if (learningRate !== undefined) config.learning_rate = learningRate;
  }
  const outputs = model.outputs.map((t) => t.layer.name);
  try {
    model.compile({
      optimizer: { className: c.optimizer.className, config } as never,
      loss: perOutput(c.loss, outputs) as never,
      ...(c.metrics !== undefined ? { metrics: perOutput(c.metrics, outputs) as never } : {}),
      ...(c.weightedMetrics !== undefined
        ? { weightedMetrics: perOutput(c.weightedMetrics, outputs) as never }
        : {}),
      ...(c.lossWeights !== undefined && c.lossWeights !== null
        ? { lossWeights: c.lossWeights as never }
        : {}),
    });
  } catch (e) {
    throw new ModelFormatError(
      `${file}: the model loads, but its compile settings do not: ${(e as Error).message} (load it with { compile: false } and compile it yourself)`,
      { cause: e },
    );
  }
  model.pendingOptimizerWeights = pending;
  return model;
}

/** Rebuilds a model from TF.js layers-format artifacts and sets its weights. */
export function modelFromArtifacts(artifacts: ModelArtifactsLike): LayersModel {
  if (!isObject(artifacts)) throw new ModelFormatError('model artifacts must be an object');
  if (artifacts.format !== undefined && artifacts.format !== 'layers-model') {
    throw new ModelFormatError(
      `model format '${String(artifacts.format)}' is not supported: only TF.js layers models ('layers-model') load here`,
    );
  }
  const s = structureFromJson(artifacts.modelTopology);
  const model =
    s.kind === 'sequential'
      ? new Sequential({ name: s.name, layers: s.layers })
      : wrapConfigError(
          s.name,
          () => new LayersModel({ inputs: s.inputs, outputs: s.outputs, name: s.name }),
        );
  model.pendingOptimizerWeights = setWeightsFrom(model.layers, artifacts);
  return model;
}
