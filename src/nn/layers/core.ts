/** Layers without weights: Flatten (a view), Activation, Dropout. */
import type { Graph, Value } from '../../graph/ir.js';
import * as ops from '../../graph/ops/index.js';
import { randomSeed } from '../../util/random.js';
import { resolveActivation } from '../names.js';
import { ModelFormatError, type ConfigReader } from './config.js';
import { canonicalActivation, Layer, type LayerArgs } from './layer.js';

export class Flatten extends Layer {
  readonly className = 'Flatten';
  constructor(args: LayerArgs = {}) {
    super(args, 'flatten');
  }
  outputShape(shapes: readonly (readonly number[])[]): number[] {
    return [(shapes[0] as readonly number[]).reduce((a, b) => a * b, 1)];
  }
  toGraph(_g: Graph, xs: readonly Value[]): Value {
    return xs[0] as Value; // [batch, features] already: a view
  }
  getConfig(): Record<string, unknown> {
    return { ...this.baseConfig(), data_format: 'channels_last' };
  }
  static fromConfig(r: ConfigReader, base: LayerArgs): Flatten {
    if (r.raw('data_format') === 'channels_first' && r.rank > 2) {
      throw new ModelFormatError(`${r.what}: data_format channels_first is not supported`);
    }
    return new Flatten(base);
  }
}

export class Activation extends Layer {
  readonly className = 'Activation';
  readonly activation: string;
  constructor(args: LayerArgs & { activation: string }) {
    super(args, 'activation');
    this.activation = args.activation;
    resolveActivation(this.activation);
  }
  protected override checkInputs(shapes: readonly (readonly number[])[]): void {
    super.checkInputs(shapes);
    if (this.activation === 'softmax' && (shapes[0] as readonly number[]).length !== 1) {
      throw new RangeError(`layer "${this.name}": softmax needs a flat input; add a Flatten layer before it`);
    }
  }
  outputShape(shapes: readonly (readonly number[])[]): number[] {
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
  constructor(args: LayerArgs & { rate: number; seed?: number }) {
    super(args, 'dropout');
    if (!(args.rate >= 0 && args.rate < 1)) {
      throw new RangeError(`layer "${this.name}": dropout rate ${args.rate} must be in [0, 1)`);
    }
    this.rate = args.rate;
    this.seed = args.seed ?? randomSeed() >>> 0;
  }
  outputShape(shapes: readonly (readonly number[])[]): number[] {
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
