/** Dense: y = activation(x·W + b), Keras's fully connected layer (and its activity regularizer). */
import type { Graph, Param, Value } from '../../graph/ir.js';
import * as ops from '../../graph/ops/index.js';
import { resolveInitializer, type Initializer, type InitializerSpec } from '../initializers.js';
import { resolveActivation } from '../names.js';
import { resolveRegularizer, type Regularizer, type RegularizerSpec } from '../regularizers.js';
import type { Spelled } from '../../util/options.js';
import { readLayerArgs, type LayerArgs, type LayerKeys } from './args.js';
import type { ConfigReader } from './config.js';
import {
  canonicalActivation,
  initializerConfig,
  Layer,
  param,
  regularizerConfig,
  type LayerWeight,
} from './layer.js';

export interface DenseArgs extends LayerArgs {
  /** A positive integer: the output features. */
  units: number;
  /** An activation name in either spelling; 'linear' (none) by default. */
  activation?: string;
  useBias?: boolean;
  kernelInitializer?: InitializerSpec;
  biasInitializer?: InitializerSpec;
  kernelRegularizer?: RegularizerSpec;
  biasRegularizer?: RegularizerSpec;
  activityRegularizer?: RegularizerSpec;
}

/** Dense's own options; Keras's constraints and LoRA are not implemented here. */
const DENSE_KEYS: LayerKeys<DenseArgs> = {
  keys: {
    units: true,
    activation: true,
    useBias: true,
    kernelInitializer: true,
    biasInitializer: true,
    kernelRegularizer: true,
    biasRegularizer: true,
    activityRegularizer: true,
  },
  notSupported: {
    kernelConstraint: {},
    biasConstraint: {},
    loraRank: {},
    loraAlpha: {},
    quantizationConfig: {},
  },
};

export class Dense extends Layer {
  readonly className = 'Dense';
  readonly units: number;
  readonly activation: string;
  readonly useBias: boolean;
  readonly kernelInitializer: Initializer;
  readonly biasInitializer: Initializer;
  readonly kernelRegularizer: Regularizer | undefined;
  readonly biasRegularizer: Regularizer | undefined;
  /** Adds (l1·Σ|y| + l2·Σy²) / batch of the layer's output to the loss (tf.keras semantics). */
  readonly activityRegularizer: Regularizer | undefined;
  kernel: LayerWeight | undefined;
  bias: LayerWeight | undefined;

  constructor(given: Spelled<DenseArgs>) {
    const args = readLayerArgs<DenseArgs>('layers.dense', given, DENSE_KEYS);
    super(args, 'dense');
    if (!Number.isSafeInteger(args.units) || args.units <= 0) {
      throw new RangeError(
        `layer "${this.name}": units must be a positive integer, got ${JSON.stringify(args.units)}`,
      );
    }
    this.units = args.units;
    const activation: unknown = args.activation; // JS callers may pass anything
    if (activation !== undefined && activation !== null && typeof activation !== 'string') {
      throw new TypeError(
        `layer "${this.name}": activation must be a name such as 'relu', got ${JSON.stringify(activation)}`,
      );
    }
    this.activation = args.activation ?? 'linear';
    resolveActivation(this.activation); // unknown names fail here, with a suggestion
    if (args.useBias !== undefined && typeof args.useBias !== 'boolean') {
      throw new TypeError(
        `layer "${this.name}": useBias must be true or false, got ${JSON.stringify(args.useBias)}`,
      );
    }
    this.useBias = args.useBias ?? true;
    this.kernelInitializer = resolveInitializer(args.kernelInitializer ?? 'glorotUniform');
    this.biasInitializer = resolveInitializer(args.biasInitializer ?? 'zeros');
    this.kernelRegularizer = resolveRegularizer(args.kernelRegularizer);
    this.biasRegularizer = resolveRegularizer(args.biasRegularizer);
    this.activityRegularizer = resolveRegularizer(args.activityRegularizer);
  }

  protected override checkInputs(shapes: readonly (readonly number[])[]): void {
    super.checkInputs(shapes);
    const s = shapes[0] as readonly number[];
    if (s.length !== 1) {
      throw new RangeError(
        `layer "${this.name}" (Dense) needs a flat input [batch, features], got [batch, ${s.join(', ')}]; add a Flatten layer before it`,
      );
    }
  }

  protected override build(shapes: readonly (readonly number[])[]): void {
    const inF = (shapes[0] as readonly number[])[0] as number;
    this.kernel = this.addWeight(
      'kernel',
      [inF, this.units],
      this.kernelInitializer,
      true,
      this.kernelRegularizer,
    );
    if (this.useBias)
      this.bias = this.addWeight('bias', [this.units], this.biasInitializer, true, this.biasRegularizer);
  }

  protected override checkBuiltFor(shapes: readonly (readonly number[])[]): void {
    const inF = (shapes[0] as readonly number[])[0];
    const want = this.kernel?.shape[0];
    if (inF !== want) {
      throw new RangeError(
        `layer "${this.name}" was built for inputs of ${want} features and is now called on [batch, ${inF}]`,
      );
    }
  }

  computeOutputShape(): number[] {
    return [this.units];
  }

  toGraph(g: Graph, xs: readonly Value[], params: ReadonlyMap<LayerWeight, Param>): Value {
    const kernel = param(this.kernel as LayerWeight, params);
    const bias = this.bias ? param(this.bias, params) : undefined;
    const y = ops.dense(g, this.name, xs[0] as Value, kernel, bias, resolveActivation(this.activation));
    const act = this.activityRegularizer;
    return act ? ops.activityRegularizer(g, this.name, y, { l1: act.l1, l2: act.l2 }) : y;
  }

  getConfig(): Record<string, unknown> {
    return {
      ...this.baseConfig(),
      units: this.units,
      activation: canonicalActivation(this.activation),
      use_bias: this.useBias,
      kernel_initializer: initializerConfig(this.kernelInitializer),
      bias_initializer: initializerConfig(this.biasInitializer),
      kernel_regularizer: regularizerConfig(this.kernelRegularizer),
      bias_regularizer: regularizerConfig(this.biasRegularizer),
      activity_regularizer: regularizerConfig(this.activityRegularizer),
      kernel_constraint: null,
      bias_constraint: null,
    };
  }

  static fromConfig(r: ConfigReader, base: LayerArgs): Dense {
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
}
