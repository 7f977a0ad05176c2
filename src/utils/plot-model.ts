/**
 * Keras 3's `keras.utils.model_to_dot` and `plot_model` (keras/src/utils/model_visualization.py):
 * the model as a Graphviz DOT graph, one HTML-table box per layer as Keras draws it (a black
 * title row "name (Class)" or "Class", then optional rows: the activation; input and output
 * shapes "(None, 784)"; the dtype; Trainable / Non-trainable), edges from each layer to those
 * its outputs feed. The DOT text is built here; Graphviz (the optional package @viz-js/viz,
 * compiled to WebAssembly, loaded on first use) lays it out as SVG.
 *
 * Which boxes: a Sequential model's layers without its input layer (Keras's
 * Sequential.layers), joined in a chain; a functional model's layers with its input layers
 * (Keras's model._operations), joined along the calls of this model (a layer shared with
 * another model is joined only where this model calls it).
 */
import { canonicalActivation, type Layer, type SymbolicTensor } from '../nn/layers/index.js';
import { notBuiltMessage, type LayerCall, type Topology } from '../model/topology.js';
import { readOptions, type Spelled } from '../util/options.js';
import { fileFormat, pictureFs, svgElement, writePicture } from './output.js';
import { loadPeer, type VizModule } from './peer.js';

/** Graphviz's rankdir: top to bottom (Keras's default), left to right, and the reverses. */
export type Rankdir = 'TB' | 'LR' | 'BT' | 'RL';

/** Graphviz's splines (how edges are drawn); Keras draws right angles, 'ortho'. */
export type Splines = 'ortho' | 'curved' | 'polyline' | 'spline' | 'line' | 'none';

/** model_to_dot's options: Keras's names, in camelCase or snake_case. */
export interface ModelToDotArgs {
  /** Input and output shapes of each layer, "(None, 784)" (default false). */
  showShapes?: boolean;
  /** Each layer's output dtype, here always float32 (default false). */
  showDtype?: boolean;
  /** "dense_1 (Dense)" rather than "Dense" (default true here, false in plotModel, as Keras). */
  showLayerNames?: boolean;
  /** 'TB' (default): a vertical plot; 'LR': a horizontal one. */
  rankdir?: Rankdir;
  /**
   * Draw nested models as clusters. Models here do not nest (a model is not a layer), so
   * there is nothing to expand: accepted for Keras's signature, with the same picture.
   */
  expandNested?: boolean;
  /** Resolution in dots per inch (default 200, as Keras): an SVG is scaled by dpi / 72. */
  dpi?: number;
  /** "Activation: relu" for layers that have one (Dense, Activation; default false). */
  showLayerActivations?: boolean;
  /** Trainable (green) / Non-trainable (red), for layers with weights (default false). */
  showTrainable?: boolean;
  /** How edges are drawn (default 'ortho': right angles). */
  splines?: Splines;
}

/** plot_model's options: model_to_dot's and the file to write. */
export interface PlotModelArgs extends ModelToDotArgs {
  /**
   * Where to write the picture (Node): "model.svg" (the SVG) or "model.dot" / ".gv" (the DOT
   * text). PNG, Keras's default, needs a rasterizer that does not run here: an Error says
   * to write .svg. Without toFile nothing is written (Keras writes "model.png").
   */
  toFile?: string;
}

/** What plotModel gives: the DOT text, the SVG Graphviz drew, and in a browser an element. */
export interface ModelPlot {
  dot: string;
  svg: string;
  /** The SVG parsed into an element, where a DOMParser exists (a browser). */
  element?: SVGSVGElement;
  /** The file written, if toFile was given. */
  file?: string;
}

const DOT_KEYS: Readonly<Record<keyof ModelToDotArgs, true>> = {
  showShapes: true,
  showDtype: true,
  showLayerNames: true,
  rankdir: true,
  expandNested: true,
  dpi: true,
  showLayerActivations: true,
  showTrainable: true,
  splines: true,
};

const PLOT_KEYS: Readonly<Record<keyof PlotModelArgs, true>> = { ...DOT_KEYS, toFile: true };

const RANKDIRS: readonly Rankdir[] = ['TB', 'LR', 'BT', 'RL'];
const SPLINES: readonly Splines[] = ['ortho', 'curved', 'polyline', 'spline', 'line', 'none'];

type Resolved = Required<Omit<ModelToDotArgs, 'expandNested'>>;

/** The options checked, with Keras's defaults (`showLayerNames` differs between the two calls). */
function resolve(what: string, o: ModelToDotArgs, showLayerNames: boolean): Resolved {
  for (const k of [
    'showShapes',
    'showDtype',
    'showLayerNames',
    'expandNested',
    'showLayerActivations',
    'showTrainable',
  ] as const) {
    const v: unknown = o[k];
    if (v !== undefined && typeof v !== 'boolean')
      throw new TypeError(`${what}: ${k} must be true or false, got ${JSON.stringify(v)}`);
  }
  if (o.rankdir !== undefined && !RANKDIRS.includes(o.rankdir))
    throw new RangeError(
      `${what}: rankdir must be one of ${RANKDIRS.join(', ')}, got ${JSON.stringify(o.rankdir)}`,
    );
  if (o.splines !== undefined && !SPLINES.includes(o.splines))
    throw new RangeError(
      `${what}: splines must be one of ${SPLINES.join(', ')}, got ${JSON.stringify(o.splines)}`,
    );
  const dpi: unknown = o.dpi;
  if (dpi !== undefined && !(typeof dpi === 'number' && Number.isFinite(dpi) && dpi > 0))
    throw new RangeError(`${what}: dpi must be a positive number, got ${JSON.stringify(dpi)}`);
  return {
    showShapes: o.showShapes ?? false,
    showDtype: o.showDtype ?? false,
    showLayerNames: o.showLayerNames ?? showLayerNames,
    rankdir: o.rankdir ?? 'TB',
    dpi: o.dpi ?? 200,
    showLayerActivations: o.showLayerActivations ?? false,
    showTrainable: o.showTrainable ?? false,
    splines: o.splines ?? 'ortho',
  };
}

/** A Keras 3 shape as Python prints it: (None, 784); (None, 28, 28). */
export function kerasShape(shape: readonly number[]): string {
  return shape.length === 0 ? '(None,)' : `(None, ${shape.join(', ')})`;
}

/** Text inside a Graphviz HTML label. */
function html(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A DOT double-quoted id. */
function quoted(id: string): string {
  return `"${id.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** The layer's activation name as Keras's get_layer_activation_name gives it, if it has one. */
function activationOf(layer: Layer): string | undefined {
  const a: unknown = (layer as { activation?: unknown }).activation;
  return typeof a === 'string' ? canonicalActivation(a) : undefined;
}

/** Keras's make_layer_label: the HTML table of one box. `call` is this model's first call of it. */
function layerLabel(layer: Layer, call: LayerCall, o: Resolved): string {
  const className = layer.className;
  const colspan = Math.max(1, Number(o.showDtype) + Number(o.showTrainable) + (o.showShapes ? 2 : 0));
  let table = '<<table border="0" cellborder="1" bgcolor="black" cellpadding="10">';
  const title = o.showLayerNames
    ? `<b>${html(layer.name)}</b> (${html(className)})`
    : `<b>${html(className)}</b>`;
  table += `<tr><td colspan="${colspan}" bgcolor="black"><font point-size="16" color="white">${title}</font></td></tr>`;
  const activation = activationOf(layer);
  if (o.showLayerActivations && activation !== undefined) {
    table +=
      `<tr><td bgcolor="white" colspan="${colspan}"><font point-size="14">` +
      `Activation: <b>${html(activation)}</b></font></td></tr>`;
  }
  const cols: string[] = [];
  const cell = (text: string): string => `<td bgcolor="white"><font point-size="14">${text}</font></td>`;
  if (o.showShapes) {
    // Keras prints layer.input: one tensor's shape, or a list of them for a merge.
    const ins = call.inputs.map((x: SymbolicTensor) => kerasShape(x.shape));
    const input = ins.length === 1 ? (ins[0] as string) : `[${ins.join(', ')}]`;
    if (className !== 'InputLayer') cols.push(cell(`Input shape: <b>${input}</b>`));
    cols.push(cell(`Output shape: <b>${kerasShape(call.output.shape)}</b>`));
  }
  if (o.showDtype) cols.push(cell('Output dtype: <b>float32</b>'));
  if (o.showTrainable && layer.weights.length > 0) {
    cols.push(
      layer.trainable
        ? '<td bgcolor="forestgreen"><font point-size="14" color="white"><b>Trainable</b></font></td>'
        : '<td bgcolor="firebrick"><font point-size="14" color="white"><b>Non-trainable</b></font></td>',
    );
  }
  if (cols.length > 0) table += `<tr>${cols.join('')}</tr>`;
  return `${table}</table>>`;
}

/** The model, checked: built (Keras's error otherwise) and a model of this library. */
function checkModel(what: string, model: unknown): Topology {
  const m = model as Partial<Topology> | null | undefined;
  if (typeof m?.nodeOrder !== 'function' || !Array.isArray(m.layers))
    throw new TypeError(`${what}: expects a model (sequential() or model()), got ${String(model)}`);
  const t = model as Topology;
  if (!t.isBuilt) throw new Error(notBuiltMessage(what));
  return t;
}

/**
 * Keras's `keras.utils.model_to_dot(model, show_shapes=False, show_dtype=False,
 * show_layer_names=True, rankdir='TB', expand_nested=False, dpi=200,
 * show_layer_activations=False, show_trainable=False, splines='ortho')`: the model as DOT
 * text (Keras gives a pydot object; its to_string() is this). Needs no package.
 */
export function modelToDot(model: Topology, args?: Spelled<ModelToDotArgs>): string {
  const what = 'modelToDot';
  const o = resolve(what, readOptions<ModelToDotArgs>(what, args, DOT_KEYS), true);
  return buildDot(checkModel(what, model), o);
}

function buildDot(model: Topology, o: Resolved): string {
  const calls = new Map<Layer, LayerCall[]>();
  for (const n of model.nodeOrder()) {
    const list = calls.get(n.output.layer) ?? [];
    list.push(n);
    calls.set(n.output.layer, list);
  }
  // A Sequential's stack without its input layer (model.layers); a functional model's input
  // layers first, then the rest in the order the graph runs them (Keras's _operations).
  const inputs = model.sequential ? [] : model.inputs.map((t) => t.layer);
  const layers = [...inputs, ...model.layers.filter((l) => !inputs.includes(l))];
  // Node ids are the layer names (unique in a model, as Keras requires); a repeat gets a suffix.
  const ids = new Map<Layer, string>();
  const used = new Set<string>();
  for (const l of layers) {
    let id = l.name;
    for (let i = 1; used.has(id); i++) id = `${l.name}#${i}`;
    used.add(id);
    ids.set(l, id);
  }
  const lines = [
    `digraph ${quoted(model.name)} {`,
    `graph [rankdir=${o.rankdir}, concentrate=true, dpi=${o.dpi}, splines=${o.splines}];`,
    'node [shape=record];',
  ];
  for (const l of layers) {
    const call = calls.get(l)?.[0];
    if (!call) throw new Error(`internal: layer "${l.name}" is not called in model "${model.name}"`);
    lines.push(
      `${quoted(ids.get(l) as string)} [label=${layerLabel(l, call, o)}, fontname=Helvetica, border=0, margin=0];`,
    );
  }
  const edges = new Set<string>();
  const edge = (from: Layer, to: Layer): void => {
    const a = ids.get(from);
    const b = ids.get(to);
    if (a === undefined || b === undefined) return; // a Sequential's hidden input layer
    const e = `${quoted(a)} -> ${quoted(b)}`;
    if (edges.has(e)) return; // one edge per pair, as Keras's add_edge
    edges.add(e);
    lines.push(`${e} [penwidth=2];`);
  };
  if (model.sequential) {
    for (let i = 0; i + 1 < layers.length; i++) edge(layers[i] as Layer, layers[i + 1] as Layer);
  } else {
    for (const l of layers) for (const c of calls.get(l) ?? []) for (const x of c.inputs) edge(x.layer, l);
  }
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

/** One Graphviz instance per loaded module (instantiating compiles the WebAssembly). */
const instances = new WeakMap<VizModule, ReturnType<VizModule['instance']>>();

/** The SVG Graphviz draws for `dot`. */
export async function renderDot(what: string, dot: string): Promise<string> {
  const viz = await loadPeer(what, '@viz-js/viz');
  let instance = instances.get(viz);
  if (!instance) {
    instance = viz.instance();
    instances.set(viz, instance);
  }
  const result = (await instance).render(dot, { format: 'svg' });
  if (result.status !== 'success' || result.output === undefined) {
    const errors = result.errors.map((e) => `${e.level ?? 'error'}: ${e.message}`).join('; ');
    throw new Error(`${what}: Graphviz could not lay out the model: ${errors}`);
  }
  return result.output;
}

/**
 * Keras's `keras.utils.plot_model(model, to_file, show_shapes=False, show_dtype=False,
 * show_layer_names=False, rankdir='TB', expand_nested=False, dpi=200,
 * show_layer_activations=False, show_trainable=False, splines='ortho')`: the model's
 * diagram laid out by Graphviz, as SVG text (and in a browser an SVG element), with the DOT
 * text; `toFile` writes "….svg" or "….dot" (Node). Needs the optional package @viz-js/viz.
 *
 *   await utils.plotModel(model, { toFile: 'model.svg', showShapes: true });
 *   await utils.plotModel(model, 'model.svg', { showShapes: true }); // Keras's positional to_file
 */
export async function plotModel(
  model: Topology,
  toFileOrArgs?: string | Spelled<PlotModelArgs>,
  args?: Spelled<Omit<PlotModelArgs, 'toFile'>>,
): Promise<ModelPlot> {
  const what = 'plotModel';
  let given: PlotModelArgs;
  if (typeof toFileOrArgs === 'string') {
    given = { ...readOptions<ModelToDotArgs>(what, args, DOT_KEYS), toFile: toFileOrArgs };
  } else {
    if (args !== undefined)
      throw new TypeError(
        `${what}: give the options once: plotModel(model, { toFile, ... }) or plotModel(model, toFile, { ... })`,
      );
    given = readOptions<PlotModelArgs>(what, toFileOrArgs, PLOT_KEYS);
  }
  const o = resolve(what, given, false);
  const m = checkModel(what, model);
  // A bad file name fails before Graphviz is loaded.
  const format = given.toFile === undefined ? undefined : fileFormat(what, given.toFile, ['svg', 'dot']);
  const fs = given.toFile === undefined ? undefined : pictureFs(what);
  const dot = buildDot(m, o);
  const svg = await renderDot(what, dot);
  const element = svgElement(what, svg);
  if (fs && given.toFile !== undefined)
    await writePicture(fs, what, given.toFile, format === 'dot' ? dot : svg);
  return {
    dot,
    svg,
    ...(element ? { element } : {}),
    ...(given.toFile !== undefined ? { file: given.toFile } : {}),
  };
}
