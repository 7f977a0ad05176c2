/**
 * The Keras layers: the factories (`layers.dense({ units: 10 })`), the classes, and the
 * registry that rebuilds a layer from its saved Keras config (each class's fromConfig). A
 * new layer is a class with toGraph / getConfig / fromConfig plus its lines here.
 */
import type { Spelled } from '../../util/options.js';
import { withPositional, type LayerArgs } from './args.js';
import { ConfigReader, isObject, ModelFormatError, wrapConfigError } from './config.js';
import {
  Activation,
  Dropout,
  Flatten,
  type ActivationArgs,
  type DropoutArgs,
  type FlattenArgs,
} from './core.js';
import { Dense, type DenseArgs } from './dense.js';
import { InputLayer, type InputLayerArgs, type Layer } from './layer.js';
import { Add, Concatenate, type ConcatenateArgs } from './merge.js';
import { BatchNormalization, type BatchNormalizationArgs } from './normalization.js';

export { batchShape, ConfigReader, isObject, ModelFormatError, wrapConfigError } from './config.js';
export { LAYER_KEYS, readLayerArgs, resolveInputShape, type NotSupported } from './args.js';
export {
  Activation,
  Dropout,
  Flatten,
  type ActivationArgs,
  type DropoutArgs,
  type FlattenArgs,
} from './core.js';
export { Dense, type DenseArgs } from './dense.js';
export {
  canonicalActivation,
  clearSession,
  input,
  InputLayer,
  Layer,
  SymbolicTensor,
  type InputLayerArgs,
  type LayerArgs,
  type LayerNode,
  type LayerWeight,
  type WeightOwner,
} from './layer.js';
export { Add, Concatenate, type ConcatenateArgs } from './merge.js';
export { BatchNormalization, type BatchNormalizationArgs } from './normalization.js';

/** Options after a positional argument: the factory's options less that argument. */
type Rest<T, K extends keyof T> = Spelled<Omit<T, K>>;

/**
 * Dense: `layers.dense({ units: 64, activation: 'relu' })`, or Keras's positional forms
 * `layers.dense(64, { activation: 'relu' })` and `layers.dense(64, 'relu')` (Keras's
 * Dense(units, activation=None, ...)). Options in either spelling (`input_dim`, `inputDim`).
 */
function dense(args: Spelled<DenseArgs>): Dense;
function dense(units: number, args?: Rest<DenseArgs, 'units'>): Dense;
function dense(units: number, activation: string, args?: Rest<DenseArgs, 'units' | 'activation'>): Dense;
function dense(first: unknown, second?: unknown, third?: unknown): Dense {
  const what = 'layers.dense';
  if (typeof first !== 'number') {
    if (second !== undefined) {
      throw new TypeError(
        `${what}: give the units first (layers.dense(64, { ... })) or all options in one object`,
      );
    }
    return new Dense(first as Spelled<DenseArgs>);
  }
  if (typeof second === 'string') {
    const rest = withPositional(what, 'activation', second, third);
    return new Dense(withPositional(what, 'units', first, rest));
  }
  if (third !== undefined) throw new TypeError(`${what}: unexpected third argument after the options`);
  return new Dense(withPositional(what, 'units', first, second));
}

/** Dropout: `layers.dropout(0.2)`, `layers.dropout(0.2, { seed: 1 })` or `layers.dropout({ rate: 0.2 })`. */
function dropout(args: Spelled<DropoutArgs>): Dropout;
function dropout(rate: number, args?: Rest<DropoutArgs, 'rate'>): Dropout;
function dropout(first: unknown, second?: unknown): Dropout {
  if (typeof first !== 'number') {
    if (second !== undefined)
      throw new TypeError('layers.dropout: give the rate first or all options in one object');
    return new Dropout(first as Spelled<DropoutArgs>);
  }
  return new Dropout(withPositional('layers.dropout', 'rate', first, second));
}

/** Activation: `layers.activation('relu')` or `layers.activation({ activation: 'relu' })`. */
function activation(args: Spelled<ActivationArgs>): Activation;
function activation(name: string, args?: Rest<ActivationArgs, 'activation'>): Activation;
function activation(first: unknown, second?: unknown): Activation {
  if (typeof first !== 'string') {
    if (second !== undefined) {
      throw new TypeError('layers.activation: give the activation first or all options in one object');
    }
    return new Activation(first as Spelled<ActivationArgs>);
  }
  return new Activation(withPositional('layers.activation', 'activation', first, second));
}

/**
 * The layer factories, Keras's layers in tfjs-layers' names: options in camelCase or Keras's
 * snake_case, unknown options refused by name, Keras's positional first arguments accepted.
 */
export const layers = {
  dense,
  flatten: (args: Spelled<FlattenArgs> = {}): Flatten => new Flatten(args),
  activation,
  dropout,
  batchNormalization: (args: Spelled<BatchNormalizationArgs> = {}): BatchNormalization =>
    new BatchNormalization(args),
  concatenate: (args: Spelled<ConcatenateArgs> = {}): Concatenate => new Concatenate(args),
  add: (args: Spelled<LayerArgs> = {}): Add => new Add(args),
  /** `layers.inputLayer({ inputShape: [8] })` (Keras 2, tfjs) or `{ shape: [8] }` (Keras 3). */
  inputLayer: (args: Spelled<InputLayerArgs>): InputLayer => new InputLayer(args),
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
