/** The merge layers of functional models: Concatenate (last axis) and Add. */
import type { Graph, Value } from '../../graph/ir.js';
import * as ops from '../../graph/ops/index.js';
import type { ConfigReader } from './config.js';
import { Layer, type LayerArgs } from './layer.js';

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
  constructor(args: LayerArgs = {}) {
    super(args, 'concatenate');
  }
  outputShape(shapes: readonly (readonly number[])[]): number[] {
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
  constructor(args: LayerArgs = {}) {
    super(args, 'add');
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
  outputShape(shapes: readonly (readonly number[])[]): number[] {
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
