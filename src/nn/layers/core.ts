/** Layers without weights: Flatten (a view), Activation, Dropout. */
import type { Graph, Value } from '../../graph/ir.js';
import * as ops from '../../graph/ops/index.js';
import { randomSeed } from '../../util/random.js';
import { resolveActivation } from '../names.js';
import type { Spelled } from '../../util/options.js';
import { readLayerArgs, type LayerArgs } from './args.js';
import { ModelFormatError, type ConfigReader } from './config.js';
import { canonicalActivation, Layer } from './layer.js';

export interface FlattenArgs extends LayerArgs {
  /** 'channels_last' (Keras's default); 'channels_first' only for inputs of one axis. */
  dataFormat?: 'channels_last' | 'channels_first';
}

export interface ActivationArgs extends LayerArgs {
  /** An activation name in either spelling ('relu', 'softmax', 'leakyRelu' / 'leaky_relu'). */
  activation: string;
}

export interface DropoutArgs extends LayerArgs {
  /** The fraction of inputs zeroed during training, in [0, 1). */
  rate: number;
  /** An integer: the same seed gives the same masks. */
  seed?: number;
}

export class Flatten extends Layer {
  readonly className = 'Flatten';
  readonly dataFormat: 'channels_last' | 'channels_first';
  constructor(args: Spelled<FlattenArgs> = {}) {
    const a = readLayerArgs<FlattenArgs>('layers.flatten', args, { keys: { dataFormat: true } });
    super(a, 'flatten');
    const dataFormat: unknown = a.dataFormat; // JS callers may pass anything
    if (dataFormat !== undefined && dataFormat !== 'channels_last' && dataFormat !== 'channels_first') {
      throw new RangeError(
        `layers.flatten: dataFormat must be 'channels_last' or 'channels_first', got ${JSON.stringify(dataFormat)}`,
      );
    }
    this.dataFormat = a.dataFormat ?? 'channels_last';
  }
  protected override checkInputs(shapes: readonly (readonly number[])[]): void {
    super.checkInputs(shapes);
    // [batch, a, b] channels_first flattens in another order than row-major: not supported.
    if (this.dataFormat === 'channels_first' && (shapes[0] as readonly number[]).length > 1) {
      throw new RangeError(
        `layer "${this.name}": dataFormat 'channels_first' is not supported; use channels_last`,
      );
    }
  }
  computeOutputShape(shapes: readonly (readonly number[])[]): number[] {
    return [(shapes[0] as readonly number[]).reduce((a, b) => a * b, 1)];
  }
  toGraph(_g: Graph, xs: readonly Value[]): Value {
    return xs[0] as Value; // [batch, features] already: a view
  }
  getConfig(): Record<string, unknown> {
    return { ...this.baseConfig(), data_format: this.dataFormat };
  }
  static fromConfig(r: ConfigReader, base: LayerArgs): Flatten {
    if (r.raw('data_format') === 'channels_first' && r.rank > 2) {
      throw new ModelFormatError(`${r.what}: data_format channels_first is not supported`);
    }
    const dataFormat = r.raw('data_format');
    return new Flatten({ ...base, ...(dataFormat === 'channels_first' ? { dataFormat } : {}) });
  }
}

export class Activation extends Layer {
  readonly className = 'Activation';
  readonly activation: string;
  constructor(args: Spelled<ActivationArgs>) {
    const a = readLayerArgs<ActivationArgs>('layers.activation', args, { keys: { activation: true } });
    super(a, 'activation');
    if (typeof a.activation !== 'string') {
      throw new TypeError(
        `layers.activation: activation must be a name such as 'relu', got ${JSON.stringify(a.activation)}`,
      );
    }
    this.activation = a.activation;
    resolveActivation(this.activation);
  }
  protected override checkInputs(shapes: readonly (readonly number[])[]): void {
    super.checkInputs(shapes);
    if (this.activation === 'softmax' && (shapes[0] as readonly number[]).length !== 1) {
      throw new RangeError(`layer "${this.name}": softmax needs a flat input; add a Flatten layer before it`);
    }
  }
  computeOutputShape(shapes: readonly (readonly number[])[]): number[] {
    return [...(shapes[0] as readonly number[])];
  }
  toGraph(g: Graph, xs: readonly Value[]): Value {
    const a = resolveActivation(this.activation);
    return a.name === 'linear' ? (xs[0] as Value) : ops.activation(g, this.name, xs[0] as Value, a);
  }
  getConfig(): Record<string, unknown> {
    return { ...this.baseConfig(), activation: canonicalActivation(this.activation) };
  }
  static fromConfig(r: ConfigReader, base: LayerArgs): Activation {
    return new Activation({ ...base, activation: r.activation('activation') });
  }
}

export class Dropout extends Layer {
  readonly className = 'Dropout';
  readonly rate: number;
  readonly seed: number;
  constructor(args: Spelled<DropoutArgs>) {
    const a = readLayerArgs<DropoutArgs>('layers.dropout', args, {
      keys: { rate: true, seed: true },
      notSupported: { noiseShape: { hint: 'dropout masks here are drawn per value' } },
    });
    super(a, 'dropout');
    if (typeof a.rate !== 'number' || !(a.rate >= 0 && a.rate < 1)) {
      throw new RangeError(`layer "${this.name}": dropout rate ${JSON.stringify(a.rate)} must be in [0, 1)`);
    }
    const seed: unknown = a.seed; // Keras JSON writes null for none
    if (seed !== undefined && seed !== null && !Number.isSafeInteger(seed)) {
      throw new RangeError(
        `layer "${this.name}": dropout seed must be an integer, got ${JSON.stringify(seed)}`,
      );
    }
    this.rate = a.rate;
    this.seed = a.seed ?? randomSeed() >>> 0;
  }
  computeOutputShape(shapes: readonly (readonly number[])[]): number[] {
    return [...(shapes[0] as readonly number[])];
  }
  toGraph(g: Graph, xs: readonly Value[]): Value {
    return ops.dropout(g, this.name, xs[0] as Value, this.rate, this.seed >>> 0);
  }
  getConfig(): Record<string, unknown> {
    return { ...this.baseConfig(), rate: this.rate, noise_shape: null, seed: null };
  }
  static fromConfig(r: ConfigReader, base: LayerArgs): Dropout {
    r.unsupported('noise_shape');
    const seed = r.raw('seed');
    return new Dropout({ ...base, rate: r.number('rate'), ...(typeof seed === 'number' ? { seed } : {}) });
  }
}
