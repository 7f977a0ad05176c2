/** The merge layers of functional models: Concatenate (last axis) and Add. */
import type { Graph, Value } from '../../graph/ir.js';
import * as ops from '../../graph/ops/index.js';
import type { Spelled } from '../../util/options.js';
import { readLayerArgs, type LayerArgs } from './args.js';
import type { ConfigReader } from './config.js';
import { Layer } from './layer.js';

export interface ConcatenateArgs extends LayerArgs {
  /** Only the last axis: -1 (or 1 for flat [batch, features] inputs). */
  axis?: number;
}

abstract class Merge extends Layer {
  protected override checkInputs(shapes: readonly (readonly number[])[]): void {
    if (shapes.length < 2)
      throw new TypeError(`layer "${this.name}" needs at least 2 inputs, got ${shapes.length}`);
    for (const s of shapes) {
      if (s.length !== 1) {
        throw new RangeError(
          `layer "${this.name}": inputs must be flat [batch, features], got [batch, ${s.join(', ')}]`,
        );
      }
    }
  }
}

export class Concatenate extends Merge {
  readonly className = 'Concatenate';
  constructor(args: Spelled<ConcatenateArgs> = {}) {
    const a = readLayerArgs<ConcatenateArgs>('layers.concatenate', args, { keys: { axis: true } });
    super(a, 'concatenate');
    // Inputs are flat [batch, features] here: axis -1 and axis 1 are the same, the last.
    if (a.axis !== undefined && a.axis !== -1 && a.axis !== 1) {
      throw new RangeError(
        `layers.concatenate: axis ${JSON.stringify(a.axis)} is not supported; only the last axis (-1)`,
      );
    }
  }
  computeOutputShape(shapes: readonly (readonly number[])[]): number[] {
    return [shapes.reduce((s, x) => s + (x[0] as number), 0)];
  }
  toGraph(g: Graph, xs: readonly Value[]): Value {
    return ops.concat(g, this.name, xs);
  }
  getConfig(): Record<string, unknown> {
    return { ...this.baseConfig(), axis: -1 };
  }
  static fromConfig(r: ConfigReader, base: LayerArgs): Concatenate {
    r.lastAxis('axis', 2);
    return new Concatenate(base);
  }
}

export class Add extends Merge {
  readonly className = 'Add';
  constructor(args: Spelled<LayerArgs> = {}) {
    super(readLayerArgs<LayerArgs>('layers.add', args, { keys: {} }), 'add');
  }
  protected override checkInputs(shapes: readonly (readonly number[])[]): void {
    super.checkInputs(shapes);
    const first = shapes[0] as readonly number[];
    for (const s of shapes) {
      if (s[0] !== first[0]) {
        throw new RangeError(
          `layer "${this.name}": add needs equal shapes, got [batch, ${first[0]}] and [batch, ${s[0]}]`,
        );
      }
    }
  }
  computeOutputShape(shapes: readonly (readonly number[])[]): number[] {
    return [...(shapes[0] as readonly number[])];
  }
  toGraph(g: Graph, xs: readonly Value[]): Value {
    return ops.add(g, this.name, xs);
  }
  getConfig(): Record<string, unknown> {
    return this.baseConfig();
  }
  static fromConfig(_r: ConfigReader, base: LayerArgs): Add {
    return new Add(base);
  }
}
