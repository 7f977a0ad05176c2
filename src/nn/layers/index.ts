/**
 * The Keras layers: the factories (`layers.dense({ units: 10 })`), the classes, and the
 * registry that rebuilds a layer from its saved Keras config (each class's fromConfig). A
 * new layer is a class with toGraph / getConfig / fromConfig plus its lines here.
 */
import { ConfigReader, isObject, ModelFormatError, wrapConfigError } from './config.js';
import { Activation, Dropout, Flatten } from './core.js';
import { Dense, type DenseArgs } from './dense.js';
import { InputLayer, type Layer, type LayerArgs } from './layer.js';
import { Add, Concatenate } from './merge.js';
import { BatchNormalization, type BatchNormalizationArgs } from './normalization.js';

export { batchShape, ConfigReader, isObject, ModelFormatError, wrapConfigError } from './config.js';
export { Activation, Dropout, Flatten } from './core.js';
export { Dense, type DenseArgs } from './dense.js';
export {
  canonicalActivation,
  input,
  InputLayer,
  Layer,
  SymbolicTensor,
  type LayerArgs,
  type LayerNode,
  type LayerWeight,
  type WeightOwner,
} from './layer.js';
export { Add, Concatenate } from './merge.js';
export { BatchNormalization, type BatchNormalizationArgs } from './normalization.js';

/** The layer factories: `layers.dense({ units: 10 })`. */
export const layers = {
  dense: (args: DenseArgs): Dense => new Dense(args),
  flatten: (args: LayerArgs = {}): Flatten => new Flatten(args),
  activation: (args: LayerArgs & { activation: string }): Activation => new Activation(args),
  dropout: (args: LayerArgs & { rate: number; seed?: number }): Dropout => new Dropout(args),
  batchNormalization: (args: BatchNormalizationArgs = {}): BatchNormalization => new BatchNormalization(args),
  concatenate: (args: LayerArgs = {}): Concatenate => new Concatenate(args),
  add: (args: LayerArgs = {}): Add => new Add(args),
  inputLayer: (args: { inputShape: number[]; name?: string }): InputLayer =>
    new InputLayer({ shape: args.inputShape, ...(args.name ? { name: args.name } : {}) }),
};

/** Each saved layer class this library reads: its class's fromConfig. */
const FROM_CONFIG: Readonly<Record<string, (r: ConfigReader, base: LayerArgs) => Layer>> = {
  Dense: (r, b) => Dense.fromConfig(r, b),
  Flatten: (r, b) => Flatten.fromConfig(r, b),
  Activation: (r, b) => Activation.fromConfig(r, b),
  Dropout: (r, b) => Dropout.fromConfig(r, b),
  BatchNormalization: (r, b) => BatchNormalization.fromConfig(r, b),
  Concatenate: (r, b) => Concatenate.fromConfig(r, b),
  Add: (r, b) => Add.fromConfig(r, b),
};

/** The layer classes a saved model may use here. */
export const SUPPORTED_LAYERS: readonly string[] = [...Object.keys(FROM_CONFIG), 'InputLayer'];

/**
 * A layer rebuilt from its Keras config (`class_name` and `config` of a saved model's layer
 * list); `inputShape` is the first layer's per-sample input shape in a Sequential model.
 * What the config holds is checked: an unknown class, a dtype other than float32, or a
 * setting this library does not implement is a ModelFormatError naming the layer.
 */
export function layerFromConfig(
  className: string,
  config: Record<string, unknown>,
  inputShape?: number[],
): Layer {
  const name = config.name as string;
  const rank = (inputShape?.length ?? 1) + 1;
  const r = new ConfigReader(config, `layer "${name}" (${className})`, rank);
  const dtype =
    isObject(config.dtype) && isObject(config.dtype.config) ? config.dtype.config.name : config.dtype;
  if (dtype !== undefined && dtype !== null && dtype !== 'float32') {
    throw new ModelFormatError(`${r.what}: dtype ${JSON.stringify(dtype)} is not supported; only float32`);
  }
  const base = { name, trainable: r.bool('trainable', true), ...(inputShape ? { inputShape } : {}) };
  const make = FROM_CONFIG[className];
  if (!make) {
    throw new ModelFormatError(
      `unknown layer class '${className}' (layer "${name}"); supported: ${SUPPORTED_LAYERS.join(', ')}`,
    );
  }
  return wrapConfigError(r.what, () => make(r, base));
}
