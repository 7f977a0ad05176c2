/**
 * A model's weights between the host and its GPU copy. Each weight has a host copy (the
 * layer's values, with a version bumped on every host write) and possibly GPU copies in the
 * models that use its layer. A copy remembers which host version it holds, so only changed
 * weights are uploaded; a copy that trained a weight becomes its owner, and whoever needs the
 * host values (getWeights, save, another model sharing the layer) first pulls them from it.
 */
import type { Executor } from '../graph/executor.js';
import type { Param } from '../graph/ir.js';
import type { LayerWeight, WeightOwner } from '../nn/layers/index.js';

/** A model's compiled copy: its executor and the graph parameter of each weight. */
export interface GpuCopy {
  executor: Executor;
  params: Map<LayerWeight, Param>;
}

export class WeightSync implements WeightOwner {
  /** The host version of each weight that the GPU copy holds. */
  private readonly uploaded = new Map<LayerWeight, number>();

  /** `copy()` is the model's current GPU copy (or the previous one, until it is pulled). */
  constructor(private readonly copy: () => GpuCopy | undefined) {}

  /**
   * Brings the newest values of `weights` to the host: from the GPU of the copy that last
   * trained each (this one, or another model's sharing the layer), except `skip`.
   */
  static async toHost(weights: readonly LayerWeight[], skip?: WeightOwner): Promise<void> {
    const owners = new Set<WeightOwner>();
    for (const w of weights) if (w.owner && w.owner !== skip) owners.add(w.owner);
    for (const o of owners) await o.pullWeights();
  }

  /**
   * Host ← this GPU copy, for the weights it trained since the host was last written. On a
   * lost device there is nothing to read: the host keeps the values of the last checkpoint
   * (fit takes one per epoch), which become the newest.
   */
  async pullWeights(): Promise<void> {
    const b = this.copy();
    if (b?.executor.engine.isLost) {
      this.release(b);
      return;
    }
    if (!b || !this.owns(b)) {
      this.release(b);
      return;
    }
    this.took(b, await b.executor.readWeights());
  }

  /** Host ← values read from this GPU copy (by Param.id; a checkpoint or readWeights()). */
  took(b: GpuCopy, values: readonly (Float32Array | undefined)[]): void {
    for (const [w, p] of b.params) {
      if (w.owner !== this) continue;
      const v = values[p.id];
      if (v) w.values.set(v);
      w.version++;
      w.owner = undefined;
      this.uploaded.set(w, w.version); // the GPU copy equals the host again
    }
  }

  private owns(b: GpuCopy): boolean {
    for (const w of b.params.keys()) if (w.owner === this) return true;
    return false;
  }

  /** Gives up ownership without reading: the host values stand. */
  private release(b: GpuCopy | undefined): void {
    for (const w of b?.params.keys() ?? []) if (w.owner === this) w.owner = undefined;
  }

  /** Writes into `b` every weight whose host version it does not hold yet. */
  upload(b: GpuCopy): void {
    const byParam: Float32Array[] = [];
    let any = false;
    for (const [w, p] of b.params) {
      if (this.uploaded.get(w) === w.version) continue;
      byParam[p.id] = w.values;
      this.uploaded.set(w, w.version);
      any = true;
    }
    if (any) b.executor.writeWeights(byParam);
  }

  /** A copy just made from the host values holds every weight's current version. */
  fresh(b: GpuCopy): void {
    this.uploaded.clear();
    for (const w of b.params.keys()) this.uploaded.set(w, w.version);
  }

  /** Forgets what a dropped copy held. */
  clear(): void {
    this.uploaded.clear();
  }

  /** After training: this copy is the newest for all of `weights`. */
  claim(weights: readonly LayerWeight[]): void {
    for (const w of weights) w.owner = this;
  }

  /** The host values were just written: they are the newest for every model sharing them. */
  static written(weights: readonly LayerWeight[]): void {
    for (const w of weights) {
      w.version++;
      w.owner = undefined;
    }
  }
}
