/** Graph building: shape and argument errors name the layer and both shapes, at build time. */
import { describe, expect, it } from 'vitest';
import { Graph, GraphError } from './ir.js';
import { fuse } from './fusion.js';

function zeros(n: number): Float32Array {
  return new Float32Array(n);
}

describe('Graph', () => {
  it('rejects mismatched shapes where the layer is added, naming it and both shapes', () => {
    const g = new Graph();
    const x = g.input('x', 784);
    const w = g.param('dense_1/kernel', [300, 100], zeros(30000));
    expect(() => g.matmul('dense_1', x, w)).toThrow(
      new GraphError(
        'layer "dense_1": input "x" has shape [batch, 784] but the kernel "dense_1/kernel" is [300, 100]; it needs [784, units]',
      ),
    );
    const a = g.matmul('a', x, g.param('a/kernel', [784, 10], zeros(7840)));
    const b = g.matmul('b', x, g.param('b/kernel', [784, 12], zeros(9408)));
    expect(() => g.add('res', [a, b])).toThrow(
      /layer "res": add needs equal shapes, got "a\/matmul" \[batch, 10\] and "b\/matmul" \[batch, 12\]/,
    );
    expect(() => g.biasAdd('a', a, g.param('a/bias', [12], zeros(12)))).toThrow(
      /bias "a\/bias" is \[12\] but the value "a\/matmul" has shape \[batch, 10\]/,
    );
    expect(() => g.param('p', [2, 3], zeros(5))).toThrow(/needs 6 initial values, got 5/);
    expect(() => g.activation('act', a, { name: 'swish' } as never)).toThrow(/unknown activation 'swish'/);
    expect(() => g.dropout('drop', a, 1, 0)).toThrow(/dropout rate 1 must be in \[0, 1\)/);
    expect(() => g.dropout('drop', a, 0.5, 1.5)).toThrow(/seed 1.5 must be an integer/);
    expect(() => g.loss(a, 'mse', 'sparse')).toThrow(
      /sparse \(class id\) targets need categorical cross-entropy/,
    );
    expect(() => g.loss(a, 'huber', 'dense', { delta: 0 })).toThrow(/delta 0 must be a finite number > 0/);
    const other = new Graph();
    expect(() => other.activation('act', a, { name: 'relu' })).toThrow(/belongs to another graph/);
  });

  it('fusion: dense = one group; softmax + cross-entropy drops the softmax; a second consumer prevents fusion', () => {
    const g = new Graph();
    const x = g.input('x', 4);
    const h = g.dense('d1', x, g.param('d1/kernel', [4, 3], zeros(12)), g.param('d1/bias', [3], zeros(3)), {
      name: 'relu',
    });
    const z = g.dense('d2', h, g.param('d2/kernel', [3, 2], zeros(6)), g.param('d2/bias', [2], zeros(2)));
    const y = g.activation('d2', z, { name: 'softmax' });
    g.loss(y, 'categorical_crossentropy', 'sparse');
    const train = fuse(g, 'train', []);
    expect(train.groups.map((gr) => gr.kind)).toEqual(['node', 'dense', 'dense']); // input, d1, d2 (softmax dropped)
    expect(train.softmaxLogits.get(0)).toBe(z);
    const predict = fuse(g, 'predict', [y]);
    expect(predict.groups.map((gr) => (gr.kind === 'dense' ? 'dense' : gr.node.op))).toEqual([
      'input',
      'dense',
      'dense',
      'activation',
    ]);
    // The pre-bias value read elsewhere: matmul and bias stay separate.
    const g2 = new Graph();
    const x2 = g2.input('x', 4);
    const m = g2.matmul('d', x2, g2.param('d/kernel', [4, 4], zeros(16)));
    const b = g2.biasAdd('d', m, g2.param('d/bias', [4], zeros(4)));
    g2.loss(g2.add('sum', [m, b]), 'mse', 'dense');
    const f2 = fuse(g2, 'train', []);
    expect(
      f2.groups.map((gr) => (gr.kind === 'dense' ? `dense${gr.bias ? '+bias' : ''}` : gr.node.op)),
    ).toEqual(['input', 'dense', 'biasAdd', 'add']);
  });
});
