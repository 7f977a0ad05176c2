/**
 * Fusion: groups IR nodes into the kernels that will run them.
 *  - matmul → biasAdd → activation becomes one matmul with a bias + activation epilogue
 *    (when each intermediate has no other consumer);
 *  - softmax feeding only a categorical cross-entropy loss is dropped: the loss runs the fused
 *    softmax + cross-entropy kernel on the logits, and accuracy reads the logits (same argmax);
 *  - in backward (see lowering.ts), a dense group's activation gradient is applied in the
 *    epilogue of the matmul that produces its dY, when that matmul is dY's only producer;
 *  - bias gradients are column sums; weight and input gradients are transposed matmuls.
 */
import type { ActivationSpec } from '../../shaders/activations.js';
import { nodeInputs, type Graph, type LossHead, type Node, type Param, type Value } from './ir.js';

export type Mode = 'train' | 'evaluate' | 'predict';

export interface DenseGroup {
  kind: 'dense';
  layer: string;
  x: Value;
  w: Param;
  bias?: Param;
  activation: ActivationSpec;
  /** The group's result. */
  out: Value;
}

export interface NodeGroup {
  kind: 'node';
  node: Exclude<Node, { op: 'matmul' }>;
  out: Value;
}

export type Group = DenseGroup | NodeGroup;

export interface Fused {
  /** In topological order; only groups whose result is needed. */
  groups: Group[];
  /** The group producing each materialised value. */
  groupOf: Map<Value, Group>;
  /** Loss heads computed by the fused softmax + cross-entropy: head index → logits value. */
  softmaxLogits: Map<number, Value>;
  /** Number of consumers of each value: nodes, loss heads and metric heads. */
  uses: Map<Value, number>;
}

export function fuse(graph: Graph, mode: Mode, outputs: readonly Value[]): Fused {
  const uses = new Map<Value, number>();
  const bump = (v: Value): void => void uses.set(v, (uses.get(v) ?? 0) + 1);
  for (const v of graph.values) for (const x of nodeInputs(v.node)) bump(x);
  const heads: readonly LossHead[] = mode === 'predict' ? [] : graph.losses;
  const metrics = mode === 'predict' ? [] : graph.metrics;
  for (const h of heads) bump(h.output);
  for (const m of metrics) bump(m.output);
  for (const o of outputs) bump(o);
  const only = (v: Value): boolean => (uses.get(v) ?? 0) === 1;

  // Intermediates folded into a dense group (the matmul and bias results it does not store).
  const absorbed = new Set<Value>();
  const groupOf = new Map<Value, Group>();
  const groups: Group[] = [];
  for (const v of graph.values) {
    const node = v.node;
    if (node.op === 'matmul') {
      let out = v;
      let bias: Param | undefined;
      let activation: ActivationSpec = { name: 'linear' };
      const next = (u: Value): Value | undefined => graph.values.find((c) => nodeInputs(c.node).includes(u));
      const b = only(out) ? next(out) : undefined;
      if (b?.node.op === 'biasAdd') {
        absorbed.add(out);
        bias = b.node.b;
        out = b;
      }
      const a = only(out) ? next(out) : undefined;
      if (a?.node.op === 'activation' && a.node.activation.name !== 'softmax') {
        absorbed.add(out);
        activation = a.node.activation;
        out = a;
      }
      const g: DenseGroup = { kind: 'dense', layer: node.layer, x: node.x, w: node.w, activation, out };
      if (bias) g.bias = bias;
      groups.push(g);
      groupOf.set(out, g);
    } else if (!absorbed.has(v) && !groupOf.has(v)) {
      const g: NodeGroup = { kind: 'node', node, out: v };
      groups.push(g);
      groupOf.set(v, g);
    }
  }

  const softmaxLogits = new Map<number, Value>();
  heads.forEach((h, i) => {
    const node = h.output.node;
    const binaryMetric = metrics.some((m) => m.output === h.output && m.kind === 'binary');
    const otherUses = (uses.get(h.output) ?? 0) - metrics.filter((m) => m.output === h.output).length;
    if (
      h.loss === 'categorical_crossentropy' &&
      node.op === 'activation' &&
      node.activation.name === 'softmax' &&
      otherUses === 1 &&
      !binaryMetric
    ) {
      softmaxLogits.set(i, node.x);
    }
  });

  // Keep only groups whose value is needed by a head, an output, or a kept group.
  const needed = new Set<Value>();
  const need = (v: Value): void => {
    if (needed.has(v)) return;
    needed.add(v);
    const g = groupOf.get(v);
    if (!g) throw new Error(`internal: value "${v.name}" has no producing group`);
    for (const x of groupInputs(g)) need(x);
  };
  heads.forEach((h, i) => need(softmaxLogits.get(i) ?? h.output));
  for (const m of metrics) need(logitsFor(m.output, heads, softmaxLogits) ?? m.output);
  for (const o of outputs) need(o);
  return { groups: groups.filter((g) => needed.has(g.out)), groupOf, softmaxLogits, uses };
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

export function groupInputs(g: Group): readonly Value[] {
  return g.kind === 'dense' ? [g.x] : nodeInputs(g.node);
}

export function groupParams(g: Group): Param[] {
  if (g.kind === 'dense') return g.bias ? [g.w, g.bias] : [g.w];
  const n = g.node;
  if (n.op === 'batchNorm') return [n.gamma, n.beta];
  if (n.op === 'biasAdd') return [n.b];
  return [];
}
