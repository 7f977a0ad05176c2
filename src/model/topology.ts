/**
 * A model's structure: its inputs and outputs (symbolic tensors), the layer calls between
 * them in dependency order, and the Keras-style summary. The model (model.ts) and the
 * serializer (keras-json.ts) both read a model through this class, so neither imports the
 * other.
 */
import { InputLayer, type Layer, type SymbolicTensor } from '../nn/layers/index.js';
import type { DataLayout } from './fit-data.js';

/** One call of a layer in a model: its inputs and its output. */
export interface LayerCall {
  inputs: SymbolicTensor[];
  output: SymbolicTensor;
}

export class Topology {
  readonly name: string;
  inputs: SymbolicTensor[];
  outputs: SymbolicTensor[];

  constructor(args: {
    inputs: SymbolicTensor | readonly SymbolicTensor[];
    outputs: SymbolicTensor | readonly SymbolicTensor[];
    name?: string;
  }) {
    this.inputs = Array.isArray(args.inputs)
      ? [...(args.inputs as readonly SymbolicTensor[])]
      : [args.inputs as SymbolicTensor];
    this.outputs = Array.isArray(args.outputs)
      ? [...(args.outputs as readonly SymbolicTensor[])]
      : [args.outputs as SymbolicTensor];
    this.name = args.name ?? 'model';
    for (const i of this.inputs) {
      if (!(i.layer instanceof InputLayer))
        throw new TypeError(`model inputs must come from input(), got the output of "${i.layer.name}"`);
    }
    this.checkConnected();
  }

  /** True for a Sequential model (a stack saved as a layer list). */
  get sequential(): boolean {
    return false;
  }

  /** The names and widths of the inputs and outputs (what data must fit, before compile). */
  ioLayout(): DataLayout {
    const io = (t: SymbolicTensor): { name: string; features: number; shape: readonly number[] } => ({
      name: t.layer.name,
      features: t.features,
      shape: t.shape,
    });
    return { inputs: this.inputs.map(io), outputs: this.outputs.map(io) };
  }

  /** Every layer, inputs first, in the order the graph runs them. */
  get layers(): Layer[] {
    const seen = new Set<Layer>();
    for (const n of this.nodeOrder()) seen.add(n.output.layer);
    return [...seen];
  }

  /** Prints a Keras-style table of layers, output shapes, parameter counts and connections. */
  summary(print: (line: string) => void = console.log): void {
    const functional = !this.sequential;
    // One row per layer, in graph order, with this model's calls: a shared layer lists each
    // call's output shape and inputs; calls are numbered within this model, as Keras does.
    const order = this.nodeOrder();
    const callIndex = new Map<SymbolicTensor, number>();
    const calls = new Map<Layer, { inputs: SymbolicTensor[]; output: SymbolicTensor }[]>();
    for (const n of order) {
      const list = calls.get(n.output.layer) ?? [];
      callIndex.set(n.output, list.length);
      list.push(n);
      calls.set(n.output.layer, list);
    }
    const rows = [...calls.entries()]
      .filter(([l]) => functional || !(l instanceof InputLayer))
      .map(([l, ns]) => {
        const shapes = [...new Set(ns.map((n) => `(None, ${n.output.shape.join(', ')})`))].join(', ');
        const connected = ns
          .flatMap((n) => n.inputs.map((x) => `${x.layer.name}[${callIndex.get(x) ?? 0}][0]`))
          .join(', ');
        return [`${l.name} (${l.className})`, shapes, l.countParams().toLocaleString('en-US'), connected];
      });
    const headers = ['Layer (type)', 'Output Shape', 'Param #', ...(functional ? ['Connected to'] : [])];
    const cols = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)) + 2);
    const line = (cells: readonly string[]): string =>
      cells
        .map((c, i) => c.padEnd(cols[i] ?? 0))
        .join('')
        .trimEnd();
    const width = cols.reduce((a, b) => a + b, 0);
    const total = this.countParams();
    const trainable = this.layers.reduce((s, l) => s + (l.trainable ? countTrainable(l) : 0), 0);
    print(`Model: "${this.name}"`);
    print('_'.repeat(width));
    print(line(headers));
    print('='.repeat(width));
    rows.forEach((r, i) => {
      print(line(functional ? r : r.slice(0, 3)));
      print(i === rows.length - 1 ? '='.repeat(width) : '_'.repeat(width));
    });
    print(`Total params: ${total.toLocaleString('en-US')}`);
    print(`Trainable params: ${trainable.toLocaleString('en-US')}`);
    print(`Non-trainable params: ${(total - trainable).toLocaleString('en-US')}`);
    print('_'.repeat(width));
  }

  countParams(): number {
    return this.layers.reduce((s, l) => s + l.countParams(), 0);
  }

  /** Layer calls in dependency order, from the inputs to the outputs. */
  nodeOrder(): LayerCall[] {
    const order: LayerCall[] = [];
    const done = new Set<SymbolicTensor>();
    const visit = (t: SymbolicTensor, path: Set<SymbolicTensor>): void => {
      if (done.has(t)) return;
      if (path.has(t)) throw new TypeError(`the model's graph has a cycle at "${t.layer.name}"`);
      const node = t.layer.nodes[t.node];
      if (!node) throw new Error(`internal: "${t.layer.name}" has no call ${t.node}`);
      path.add(t);
      for (const i of node.inputs) visit(i, path);
      path.delete(t);
      done.add(t);
      order.push(node);
    };
    for (const o of this.outputs) visit(o, new Set());
    return order;
  }

  protected checkConnected(): void {
    const reached = new Set(this.nodeOrder().map((n) => n.output));
    for (const n of this.nodeOrder()) {
      if (n.output.layer instanceof InputLayer && !this.inputs.includes(n.output)) {
        throw new TypeError(
          `the outputs depend on input "${n.output.layer.name}", which is not in the model's inputs`,
        );
      }
    }
    for (const i of this.inputs) {
      if (!reached.has(i)) throw new TypeError(`input "${i.layer.name}" is not connected to the outputs`);
    }
  }
}

function countTrainable(l: Layer): number {
  return l.weights.filter((w) => w.trainable).reduce((s, w) => s + w.values.length, 0);
}
