/** BatchNormalization (Keras 3's defaults: momentum 0.99, epsilon 1e-3, last axis). */
import type { Graph, Param, Value } from '../../graph/ir.js';
import * as ops from '../../graph/ops/index.js';
import { resolveInitializer, type Initializer, type InitializerSpec } from '../initializers.js';
import { ModelFormatError, type ConfigReader } from './config.js';
import type { Spelled } from '../../util/options.js';
import { readLayerArgs, type LayerArgs, type LayerKeys } from './args.js';
import { initializerConfig, Layer, param, type LayerWeight } from './layer.js';

export interface BatchNormalizationArgs extends LayerArgs {
  momentum?: number;
  epsilon?: number;
  center?: boolean;
  scale?: boolean;
  betaInitializer?: InitializerSpec;
  gammaInitializer?: InitializerSpec;
  movingMeanInitializer?: InitializerSpec;
  movingVarianceInitializer?: InitializerSpec;
}

/** BatchNormalization's own options; what Keras has beyond them is refused unless off. */
const BN_KEYS: LayerKeys<BatchNormalizationArgs> = {
  keys: {
    momentum: true,
    epsilon: true,
    center: true,
    scale: true,
    betaInitializer: true,
    gammaInitializer: true,
    movingMeanInitializer: true,
    movingVarianceInitializer: true,
  },
  notSupported: {
    axis: { ok: [-1, [-1]], hint: 'only the last axis (-1)' },
    betaRegularizer: {},
    gammaRegularizer: {},
    betaConstraint: {},
    gammaConstraint: {},
    synchronized: { ok: [false] },
    renorm: { ok: [false] },
    renormClipping: {},
    renormMomentum: { ok: [0.99] },
    fused: { ok: [true, false] },
    virtualBatchSize: {},
    adjustment: {},
  },
};

export class BatchNormalization extends Layer {
  readonly className = 'BatchNormalization';
  readonly momentum: number;
  readonly epsilon: number;
  readonly center: boolean;
  readonly scale: boolean;
  private readonly inits: Record<'gamma' | 'beta' | 'movingMean' | 'movingVariance', Initializer>;
  gamma: LayerWeight | undefined;
  beta: LayerWeight | undefined;
  movingMean: LayerWeight | undefined;
  movingVariance: LayerWeight | undefined;

  constructor(given: Spelled<BatchNormalizationArgs> = {}) {
    const args = readLayerArgs<BatchNormalizationArgs>('layers.batchNormalization', given, BN_KEYS);
    super(args, 'batch_normalization');
    this.momentum = args.momentum ?? 0.99;
    this.epsilon = args.epsilon ?? 1e-3;
    if (
      typeof this.momentum !== 'number' ||
      typeof this.epsilon !== 'number' ||
      !(this.momentum >= 0 && this.momentum <= 1) ||
      !(this.epsilon > 0)
    ) {
      throw new RangeError(
        `layer "${this.name}": momentum ${this.momentum} must be in [0, 1] and epsilon ${this.epsilon} > 0`,
      );
    }
    for (const k of ['center', 'scale'] as const) {
      if (args[k] !== undefined && typeof args[k] !== 'boolean')
        throw new TypeError(
          `layer "${this.name}": ${k} must be true or false, got ${JSON.stringify(args[k])}`,
        );
    }
    this.center = args.center ?? true;
    this.scale = args.scale ?? true;
    this.inits = {
      gamma: resolveInitializer(args.gammaInitializer ?? 'ones'),
      beta: resolveInitializer(args.betaInitializer ?? 'zeros'),
      movingMean: resolveInitializer(args.movingMeanInitializer ?? 'zeros'),
      movingVariance: resolveInitializer(args.movingVarianceInitializer ?? 'ones'),
    };
  }
  protected override checkInputs(shapes: readonly (readonly number[])[]): void {
    super.checkInputs(shapes);
    if ((shapes[0] as readonly number[]).length !== 1) {
      throw new RangeError(
        `layer "${this.name}" (BatchNormalization) needs a flat input; add a Flatten layer before it`,
      );
    }
  }
  protected override build(shapes: readonly (readonly number[])[]): void {
    const f = (shapes[0] as readonly number[])[0] as number;
    // Keras's weight order: gamma, beta, moving_mean, moving_variance. Without scale/center
    // γ = 1 / β = 0 are constants for the kernel, not weights (as in Keras).
    this.gamma = this.scale
      ? this.addWeight('gamma', [f], this.inits.gamma, true)
      : this.addConstant('gamma', [f], 1);
    this.beta = this.center
      ? this.addWeight('beta', [f], this.inits.beta, true)
      : this.addConstant('beta', [f], 0);
    this.movingMean = this.addWeight('moving_mean', [f], this.inits.movingMean, false);
    this.movingVariance = this.addWeight('moving_variance', [f], this.inits.movingVariance, false);
  }
  computeOutputShape(shapes: readonly (readonly number[])[]): number[] {
    return [...(shapes[0] as readonly number[])];
  }
  toGraph(g: Graph, xs: readonly Value[], params: ReadonlyMap<LayerWeight, Param>): Value {
    const get = (w: LayerWeight | undefined): Param => param(w as LayerWeight, params);
    return ops.batchNorm(
      g,
      this.name,
      xs[0] as Value,
      {
        gamma: get(this.gamma),
        beta: get(this.beta),
        movingMean: get(this.movingMean),
        movingVariance: get(this.movingVariance),
      },
      { epsilon: this.epsilon, momentum: this.momentum },
    );
  }
  getConfig(): Record<string, unknown> {
    const ic = initializerConfig;
    return {
      ...this.baseConfig(),
      axis: -1,
      momentum: this.momentum,
      epsilon: this.epsilon,
      center: this.center,
      scale: this.scale,
      beta_initializer: ic(this.inits.beta),
      gamma_initializer: ic(this.inits.gamma),
      moving_mean_initializer: ic(this.inits.movingMean),
      moving_variance_initializer: ic(this.inits.movingVariance),
      beta_regularizer: null,
      gamma_regularizer: null,
      beta_constraint: null,
      gamma_constraint: null,
    };
  }

  static fromConfig(r: ConfigReader, base: LayerArgs): BatchNormalization {
    r.lastAxis('axis');
    r.unsupported('beta_regularizer', 'gamma_regularizer', 'beta_constraint', 'gamma_constraint');
    if (r.raw('renorm') === true) throw new ModelFormatError(`${r.what}: renorm is not supported`);
    const beta = r.initializer('beta_initializer');
    const gamma = r.initializer('gamma_initializer');
    const mean = r.initializer('moving_mean_initializer');
    const variance = r.initializer('moving_variance_initializer');
    return new BatchNormalization({
      ...base,
      momentum: r.number('momentum', 0.99),
      epsilon: r.number('epsilon', 1e-3),
      center: r.bool('center', true),
      scale: r.bool('scale', true),
      ...(beta ? { betaInitializer: beta } : {}),
      ...(gamma ? { gammaInitializer: gamma } : {}),
      ...(mean ? { movingMeanInitializer: mean } : {}),
      ...(variance ? { movingVarianceInitializer: variance } : {}),
    });
  }
}
