/** Graph building: shape and argument errors name the layer and both shapes, at build time. */
import { describe, expect, it } from 'vitest';
import { Graph, GraphError } from './ir.js';
import * as ops from './ops/index.js';
import { fuse } from './fusion.js';

function zeros(n: number): Float32Array {
  return new Float32Array(n);
}

describe('Graph', () => {
  it('rejects mismatched shapes where the layer is added, naming it and both shapes', () => {
    const g = new Graph();
    const x = g.input('x', 784);
    const w = g.param('dense_1/kernel', [300, 100], zeros(30000));
    expect(() => ops.matmul(g, 'dense_1', x, w)).toThrow(
      new GraphError(
        'layer "dense_1": input "x" has shape [batch, 784] but the kernel "dense_1/kernel" is [300, 100]; it needs [784, units]',
      ),
    );
    const a = ops.matmul(g, 'a', x, g.param('a/kernel', [784, 10], zeros(7840)));
    const b = ops.matmul(g, 'b', x, g.param('b/kernel', [784, 12], zeros(9408)));
    expect(() => ops.add(g, 'res', [a, b])).toThrow(
      /layer "res": add needs equal shapes, got "a\/matmul" \[batch, 10\] and "b\/matmul" \[batch, 12\]/,
    );
    expect(() => ops.biasAdd(g, 'a', a, g.param('a/bias', [12], zeros(12)))).toThrow(
      /bias "a\/bias" is \[12\] but the value "a\/matmul" has shape \[batch, 10\]/,
    );
    expect(() => g.param('p', [2, 3], zeros(5))).toThrow(/needs 6 initial values, got 5/);
    expect(() => ops.activation(g, 'act', a, { name: 'swish' } as never)).toThrow(
      /unknown activation 'swish'/,
    );
    expect(() => ops.dropout(g, 'drop', a, 1, 0)).toThrow(/dropout rate 1 must be in \[0, 1\)/);
    expect(() => ops.dropout(g, 'drop', a, 0.5, 1.5)).toThrow(/seed 1.5 must be an integer/);
    expect(() => g.loss(a, 'mse', 'sparse')).toThrow(
      /sparse \(class id\) targets need categorical cross-entropy/,
    );
    expect(() => g.loss(a, 'huber', 'dense', { delta: 0 })).toThrow(/delta 0 must be a finite number > 0/);
    const other = new Graph();
    expect(() => ops.activation(other, 'act', a, { name: 'relu' })).toThrow(/belongs to another graph/);
  });

  it('fusion: dense = one group; softmax + cross-entropy drops the softmax; a second consumer prevents fusion', () => {
    const g = new Graph();
    const x = g.input('x', 4);
    const h = ops.dense(
      g,
      'd1',
      x,
      g.param('d1/kernel', [4, 3], zeros(12)),
      g.param('d1/bias', [3], zeros(3)),
      {
        name: 'relu',
      },
    );
    const z = ops.dense(
      g,
      'd2',
      h,
      g.param('d2/kernel', [3, 2], zeros(6)),
      g.param('d2/bias', [2], zeros(2)),
    );
    const y = ops.activation(g, 'd2', z, { name: 'softmax' });
    g.loss(y, 'categorical_crossentropy', 'sparse');
    const train = fuse(g, 'train', []);
    expect(train.groups.map((gr) => (gr.node.kind === 'matmul' ? 'dense' : 'node'))).toEqual([
      'node',
      'dense',
      'dense',
    ]); // input, d1, d2 (softmax dropped)
    expect(train.softmaxLogits.get(0)).toBe(z);
    const predict = fuse(g, 'predict', [y]);
    expect(predict.groups.map((gr) => (gr.node.kind === 'matmul' ? 'dense' : gr.node.kind))).toEqual([
      'input',
      'dense',
      'dense',
      'activation',
    ]);
    // The pre-bias value read elsewhere: matmul and bias stay separate.
    const g2 = new Graph();
    const x2 = g2.input('x', 4);
    const m = ops.matmul(g2, 'd', x2, g2.param('d/kernel', [4, 4], zeros(16)));
    const b = ops.biasAdd(g2, 'd', m, g2.param('d/bias', [4], zeros(4)));
    g2.loss(ops.add(g2, 'sum', [m, b]), 'mse', 'dense');
    const f2 = fuse(g2, 'train', []);
    expect(
      f2.groups.map((gr) => (gr.node.kind === 'matmul' ? `dense${gr.bias ? '+bias' : ''}` : gr.node.kind)),
    ).toEqual(['input', 'dense', 'biasAdd', 'add']);
    // An epilogue takes one activation: a linear one ends it (matmul + linear, then relu).
    const g3 = new Graph();
    const x3 = g3.input('x', 4);
    const lin = ops.activation(g3, 'lin', ops.matmul(g3, 'd', x3, g3.param('d/kernel', [4, 4], zeros(16))), {
      name: 'linear',
    });
    g3.loss(ops.activation(g3, 'act', lin, { name: 'relu' }), 'mse', 'dense');
    const f3 = fuse(g3, 'train', []);
    expect(f3.groups.map((gr) => `${gr.node.kind}:${gr.activation.name}`)).toEqual([
      'input:linear',
      'matmul:linear',
      'activation:linear',
    ]);
    expect(f3.groupOf.get(lin)?.node.kind).toBe('matmul');
  });
});
