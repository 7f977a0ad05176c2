/**
 * Fusion: groups IR nodes into the kernels that will run them, from the ops' fusion traits.
 *  - an op with an epilogue (matmul) absorbs the ops after it that offer an epilogue stage
 *    (a bias, then an activation), while each intermediate has no other consumer;
 *  - a categorical cross-entropy on a softmax (softmaxLogits) whose output nothing else
 *    reads is computed by the fused softmax + cross-entropy kernel on the logits, and
 *    accuracy reads the logits (same argmax);
 *  - in backward (ops/dense.ts), a group's activation gradient is applied in the epilogue of
 *    the matmul that produces its dY, when that matmul is dY's only producer.
 */
import type { ActivationSpec } from '../../shaders/activations.js';
import type { Graph, LossHead } from './ir.js';
import type { Group, Mode, Param, Value } from './op.js';

export type { Group, Mode };

export interface Fused {
  /** In topological order; only groups whose result is needed. */
  groups: Group[];
  /** The group producing each materialised value. */
  groupOf: Map<Value, Group>;
  /** Loss heads computed by the fused softmax + cross-entropy: head index → logits value. */
  softmaxLogits: Map<number, Value>;
}

export function fuse(graph: Graph, mode: Mode, outputs: readonly Value[]): Fused {
  const uses = new Map<Value, number>();
  const bump = (v: Value): void => void uses.set(v, (uses.get(v) ?? 0) + 1);
  for (const v of graph.values) for (const x of v.node.inputs) bump(x);
  const heads: readonly LossHead[] = mode === 'predict' ? [] : graph.losses;
  const metrics = mode === 'predict' ? [] : graph.metrics;
  for (const h of heads) bump(h.output);
  for (const m of metrics) bump(m.output);
  for (const o of outputs) bump(o);
  const only = (v: Value): boolean => (uses.get(v) ?? 0) === 1;
  const consumer = (u: Value): Value | undefined => graph.values.find((c) => c.node.inputs.includes(u));

  // Intermediates folded into a group's epilogue (values the group does not store).
  const absorbed = new Set<Value>();
  const groupOf = new Map<Value, Group>();
  const groups: Group[] = [];
  for (const v of graph.values) {
    if (absorbed.has(v) || groupOf.has(v)) continue;
    let out = v;
    let bias: Param | undefined;
    let activation: ActivationSpec | undefined;
    if (v.node.hasEpilogue) {
      // At most one bias, then at most one activation (a linear one too), in that order.
      for (;;) {
        const next = only(out) ? consumer(out) : undefined;
        const stage = next?.node.epilogueStage;
        if (!next || !stage) break;
        if ('bias' in stage) {
          if (bias || activation) break;
          bias = stage.bias;
        } else {
          if (activation) break;
          activation = stage.activation;
        }
        absorbed.add(out);
        out = next;
      }
    }
    const g: Group = {
      node: v.node,
      head: v,
      activation: activation ?? { name: 'linear' },
      out,
      ...(bias ? { bias } : {}),
    };
    groups.push(g);
    groupOf.set(out, g);
  }

  const softmaxLogits = new Map<number, Value>();
  heads.forEach((h, i) => {
    const logits = h.output.node.softmaxLogits;
    const binaryMetric = metrics.some((m) => m.output === h.output && m.kind === 'binary');
    const otherUses = (uses.get(h.output) ?? 0) - metrics.filter((m) => m.output === h.output).length;
    if (h.loss === 'categorical_crossentropy' && logits && otherUses === 1 && !binaryMetric) {
      softmaxLogits.set(i, logits);
    }
  });

  // Keep only groups whose value is needed by a head, an output, or a kept group.
  const needed = new Set<Value>();
  const need = (v: Value): void => {
    if (needed.has(v)) return;
    needed.add(v);
    const g = groupOf.get(v);
    if (!g) throw new Error(`internal: value "${v.name}" has no producing group`);
    for (const x of g.node.inputs) need(x);
  };
  heads.forEach((h, i) => need(softmaxLogits.get(i) ?? h.output));
  for (const m of metrics) need(logitsFor(m.output, heads, softmaxLogits) ?? m.output);
  for (const o of outputs) need(o);
  return { groups: groups.filter((g) => needed.has(g.out)), groupOf, softmaxLogits };
}

/** The logits standing for a softmax output whose loss was fused, if any. */
export function logitsFor(
  output: Value,
  heads: readonly LossHead[],
  softmaxLogits: ReadonlyMap<number, Value>,
): Value | undefined {
  for (const [i, logits] of softmaxLogits) if (heads[i]?.output === output) return logits;
  return undefined;
}

/** The trainable-or-not parameters whose gradients the group's backward writes. */
export function groupGradParams(g: Group): readonly Param[] {
  return g.bias ? [...g.node.gradParams, g.bias] : g.node.gradParams;
}
