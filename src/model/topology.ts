/**
 * A model's structure: its inputs and outputs (symbolic tensors), the layer calls between
 * them in dependency order, and the Keras-style summary. The model (model.ts) and the
 * serializer (keras-json.ts) both read a model through this class, so neither imports the
 * other.
 */
import { InputLayer, type Layer, type SymbolicTensor } from '../nn/layers/index.js';
import { readOptions, type Spelled } from '../util/options.js';
import { suggest } from '../util/suggest.js';
import type { DataLayout } from './fit-data.js';

/** One call of a layer in a model: its inputs and its output. */
export interface LayerCall {
  inputs: SymbolicTensor[];
  output: SymbolicTensor;
}

/** Keras's message for a model used before it has inputs (a Sequential without input shape). */
export function notBuiltMessage(what: string): string {
  return (
    `${what}: This model has not yet been built. Build the model first by calling build() ` +
    '(model.build([null, features])) or by calling the model on a batch of data (fit, ' +
    'evaluate, predict), or give its first layer an inputShape'
  );
}

/** getLayer's options, as Keras's get_layer(name=None, index=None). */
export interface GetLayerArgs {
  name?: string;
  index?: number;
}

/** A functional model's endpoints: Keras's Model(inputs=..., outputs=..., name=...). */
export interface TopologyArgs {
  inputs: SymbolicTensor | readonly SymbolicTensor[];
  outputs: SymbolicTensor | readonly SymbolicTensor[];
  name?: string;
}

export class Topology {
  readonly name: string;
  private endpoints: { inputs: SymbolicTensor[]; outputs: SymbolicTensor[] };

  constructor(given: TopologyArgs) {
    const args = readOptions<Partial<TopologyArgs>>('model', given, {
      inputs: true,
      outputs: true,
      name: true,
    });
    if (args.inputs === undefined || args.outputs === undefined)
      throw new TypeError('model: needs inputs and outputs (model({ inputs, outputs }))');
    this.endpoints = {
      inputs: Array.isArray(args.inputs)
        ? [...(args.inputs as readonly SymbolicTensor[])]
        : [args.inputs as SymbolicTensor],
      outputs: Array.isArray(args.outputs)
        ? [...(args.outputs as readonly SymbolicTensor[])]
        : [args.outputs as SymbolicTensor],
    };
    this.name = args.name ?? 'model';
    for (const i of this.endpoints.inputs) {
      if (!(i.layer instanceof InputLayer))
        throw new TypeError(`model inputs must come from input(), got the output of "${i.layer.name}"`);
    }
    this.checkConnected();
  }

  /** The model's inputs (Keras's model.inputs), as symbolic tensors. */
  get inputs(): SymbolicTensor[] {
    return this.endpoints.inputs;
  }

  /** The model's outputs (Keras's model.outputs), as symbolic tensors. */
  get outputs(): SymbolicTensor[] {
    return this.endpoints.outputs;
  }

  /** Sets the inputs and outputs (a Sequential growing by add(), or built late). */
  protected setEndpoints(inputs: SymbolicTensor[], outputs: SymbolicTensor[]): void {
    this.endpoints = { inputs, outputs };
  }

  /**
   * True when the model has inputs and weights (Keras's model.built): always for a
   * functional model; a Sequential without an input shape is built by its first data or
   * build().
   */
  get isBuilt(): boolean {
    return true;
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

  /**
   * Every layer, as Keras lists them: a functional model's input layers first, then the
   * others in the order the graph runs them (a Sequential overrides this: its stack, without
   * an input layer, as Keras's Sequential.layers).
   */
  get layers(): Layer[] {
    const seen = new Set<Layer>();
    for (const n of this.nodeOrder()) seen.add(n.output.layer);
    return [...seen];
  }

  /**
   * A layer by name or by index in `layers` (Keras's get_layer(name=None, index=None)):
   * `getLayer('dense_1')`, `getLayer(undefined, 2)`, `getLayer({ index: -1 })` (a negative
   * index counts from the end, as a Python index does), `getLayer(2)`. An unknown name or an
   * index out of range is an error listing what the model has.
   */
  getLayer(name?: string | number | GetLayerArgs, index?: number): Layer {
    let byName: string | undefined;
    let byIndex: number | undefined = index;
    const given: unknown = name; // JS callers may pass null
    if (typeof given === 'object' && given !== null) {
      if (index !== undefined)
        throw new TypeError('getLayer: pass the index in the options object or as 2nd argument, not both');
      const o = readOptions<GetLayerArgs>('getLayer', given, { name: true, index: true });
      byName = o.name;
      byIndex = o.index;
    } else if (typeof name === 'number') {
      if (index !== undefined)
        throw new TypeError('getLayer: give a layer name or an index, not two indices');
      byIndex = name;
    } else {
      byName = given as string | undefined;
    }
    const layers = this.layers;
    if (byName !== undefined && byIndex !== undefined) {
      throw new TypeError(
        `getLayer: provide only a layer name or a layer index, not both (got name "${byName}", index ${byIndex})`,
      );
    }
    if (byIndex !== undefined) {
      if (!Number.isSafeInteger(byIndex))
        throw new TypeError(`getLayer: index ${byIndex} must be an integer`);
      const at = byIndex < 0 ? layers.length + byIndex : byIndex;
      const l = layers[at];
      if (!l || at < 0) {
        throw new RangeError(
          `getLayer: was asked to retrieve the layer at index ${byIndex}, but the model only has ${layers.length} layer${layers.length === 1 ? '' : 's'}`,
        );
      }
      return l;
    }
    if (byName === undefined) throw new TypeError('getLayer: provide either a layer name or a layer index');
    if (typeof byName !== 'string')
      throw new TypeError(`getLayer: name must be a string, got ${typeof byName}`);
    const found = layers.find((l) => l.name === byName);
    if (found) return found;
    const names = layers.map((l) => l.name);
    const hint = suggest(byName, names);
    throw new RangeError(
      `getLayer: no such layer: "${byName}"${hint ? `; did you mean "${hint}"?` : ''} Existing layers are: ${names.join(', ') || '(none)'}`,
    );
  }

  /**
   * Prints a Keras-style table of layers, output shapes, parameter counts and connections:
   * to console.log, or through `print` (a function, or Keras's `{ printFn }` / `{ print_fn }`).
   * A model not built yet (a Sequential without input shape) is an error, as in Keras.
   */
  summary(print?: ((line: string) => void) | Spelled<SummaryArgs>): void {
    const printFn =
      typeof print === 'function'
        ? print
        : (readOptions<SummaryArgs>('summary', print, SUMMARY_KEYS).printFn ?? console.log);
    if (typeof printFn !== 'function') throw new TypeError('summary: printFn must be a function');
    if (!this.isBuilt) throw new Error(notBuiltMessage('summary'));
    this.printSummary(printFn);
  }

  private printSummary(print: (line: string) => void): void {
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
    for (const o of this.endpoints.outputs) visit(o, new Set());
    return order;
  }

  protected checkConnected(): void {
    const reached = new Set(this.nodeOrder().map((n) => n.output));
    for (const n of this.nodeOrder()) {
      if (n.output.layer instanceof InputLayer && !this.endpoints.inputs.includes(n.output)) {
        throw new TypeError(
          `the outputs depend on input "${n.output.layer.name}", which is not in the model's inputs`,
        );
      }
    }
    for (const i of this.endpoints.inputs) {
      if (!reached.has(i)) throw new TypeError(`input "${i.layer.name}" is not connected to the outputs`);
    }
  }
}

/** summary()'s options (Keras's print_fn). */
export interface SummaryArgs {
  printFn?: (line: string) => void;
}

const SUMMARY_KEYS: Readonly<Record<keyof SummaryArgs, true>> = { printFn: true };

function countTrainable(l: Layer): number {
  return l.weights.filter((w) => w.trainable).reduce((s, w) => s + w.values.length, 0);
}
