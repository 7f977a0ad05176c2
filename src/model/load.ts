/**
 * loadModel: a saved model back as a LayersModel (uncompiled), from TF.js layers-format
 * artifacts written by this library, tfjs-layers or Keras (through tensorflowjs_converter).
 * io.ts fetches the bytes, keras-json.ts rebuilds the layers, artifacts.ts the weights; this
 * module is the one that makes the model, so nothing below it imports model.ts.
 */
import { isObject, ModelFormatError, wrapConfigError } from '../nn/layers/index.js';
import { setWeightsFrom, type ModelArtifactsLike } from './artifacts.js';
import { loadArtifacts, type LoadHandler } from './io.js';
import { structureFromJson } from './keras-json.js';
import { LayersModel, Sequential } from './model.js';

/**
 * Loads a model saved in the TF.js layers format ('file://dir/model.json', 'indexeddb://name',
 * an http(s) URL, browserFiles(...), a handler with load(), or artifacts). The model comes
 * back uncompiled; optimizer state saved with it is applied at its next compile. A NaN or
 * ±Inf in any weight or optimizer state is a NonFiniteWeightError naming it, and no model.
 */
export async function loadModel(source: string | LoadHandler | ModelArtifactsLike): Promise<LayersModel> {
  return modelFromArtifacts(await loadArtifacts(source));
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
