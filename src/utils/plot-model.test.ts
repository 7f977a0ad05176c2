/**
 * plotModel / modelToDot against Keras 3's model_visualization.py: the DOT text has one box
 * per layer Keras draws (a Sequential's stack without its input layer; a functional model's
 * layers with its input layers) with Keras's label table, and one edge per connection of the
 * model's known topology; Graphviz's SVG has a `<g class="node">` per box and a
 * `<g class="edge">` per edge, placed along rankdir. Expectations are written out by hand
 * from each model's definition, not read back from the model.
 */
import * as nodeFs from 'node:fs/promises';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { registerFileSystem } from '../model/host-fs.js';
import { model as functional, sequential } from '../model/model.js';
import { input, layers } from '../nn/layers/index.js';
import { registerPlotPackages } from './peer.js';
import { kerasShape, modelToDot, plotModel } from './plot-model.js';

let dir: string;
beforeAll(async () => {
  registerFileSystem(nodeFs);
  dir = await mkdtemp(join(tmpdir(), 'plot-model-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
afterEach(() => {
  registerPlotPackages({ '@viz-js/viz': undefined });
});

/** The course's MNIST MLP: 784 → 512 relu → BN → dropout → 10 softmax. */
function mnistMlp() {
  return sequential({
    name: 'mnist_lab',
    layers: [
      layers.dense({ units: 512, activation: 'relu', inputShape: [784], name: 'hidden' }),
      layers.batchNormalization({ name: 'bn' }),
      layers.dropout({ rate: 0.2, name: 'drop' }),
      layers.dense({ units: 10, activation: 'softmax', name: 'probs' }),
    ],
  });
}

/** Two inputs, a shared hidden path, a Concatenate and an Add, two outputs. */
function wideAndDeep() {
  const wide = input({ shape: [5], name: 'wide' });
  const deep = input({ shape: [6], name: 'deep' });
  const h1 = layers.dense({ units: 5, activation: 'relu', name: 'h1' }).apply(deep);
  const h2 = layers.dense({ units: 5, name: 'h2' }).apply(h1);
  const cat = layers.concatenate({ name: 'cat' }).apply([wide, h2]);
  const sum = layers.add({ name: 'sum' }).apply([wide, h1]);
  const main = layers.dense({ units: 1, name: 'main' }).apply(cat);
  return functional({ inputs: [wide, deep], outputs: [main, sum], name: 'wide_deep' });
}

/** Node ids of the DOT text, in order: the lines `"id" [label=...]`. */
function dotNodes(dot: string): string[] {
  return [...dot.matchAll(/^"([^"]+)" \[label=/gm)].map((m) => m[1] as string);
}

/** Edges of the DOT text, as "a->b". */
function dotEdges(dot: string): string[] {
  return [...dot.matchAll(/^"([^"]+)" -> "([^"]+)" \[penwidth=2\];$/gm)].map((m) => `${m[1]}->${m[2]}`);
}

/** The label of node `id` in the DOT text. */
function dotLabel(dot: string, id: string): string {
  const line = dot.split('\n').find((l) => l.startsWith(`"${id}" [label=`));
  if (!line) throw new Error(`no node ${id}`);
  return line;
}

/** Graphviz's SVG groups: each `<g ... class="node">`'s title and texts, each edge's title. */
function svgGroups(svg: string): { nodes: Map<string, string>; edges: string[] } {
  const nodes = new Map<string, string>();
  const edges: string[] = [];
  for (const m of svg.matchAll(
    /<g id="(?:node|edge)\d+" class="(node|edge)">\n<title>([^<]*)<\/title>([\s\S]*?)<\/g>/g,
  )) {
    const title = (m[2] as string).replace(/&#45;/g, '-').replace(/&gt;/g, '>');
    if (m[1] === 'node') {
      const texts = [...(m[3] as string).matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((t) => t[1]).join('');
      nodes.set(title, texts);
    } else {
      edges.push(title);
    }
  }
  return { nodes, edges };
}

/** The first text position (x, y) of each node in Graphviz's SVG, by title. */
function nodePositions(svg: string): Map<string, { x: number; y: number }> {
  const out = new Map<string, { x: number; y: number }>();
  for (const m of svg.matchAll(
    /class="node">\n<title>([^<]*)<\/title>[\s\S]*?<text[^>]* x="([-\d.]+)" y="([-\d.]+)"/g,
  )) {
    out.set(m[1] as string, { x: Number(m[2]), y: Number(m[3]) });
  }
  return out;
}

describe('modelToDot', () => {
  it("draws a Sequential model's stack without its input layer, chained, with Keras's labels", () => {
    const dot = modelToDot(mnistMlp(), { showShapes: true });
    expect(dotNodes(dot)).toEqual(['hidden', 'bn', 'drop', 'probs']);
    expect(dotEdges(dot)).toEqual(['hidden->bn', 'bn->drop', 'drop->probs']);
    // modelToDot shows layer names by default (Keras's show_layer_names=True).
    expect(dotLabel(dot, 'hidden')).toContain(
      '<tr><td colspan="2" bgcolor="black"><font point-size="16" color="white"><b>hidden</b> (Dense)</font></td></tr>',
    );
    // Input and output shapes as Python prints Keras 3's tuples.
    expect(dotLabel(dot, 'hidden')).toContain('Input shape: <b>(None, 784)</b>');
    expect(dotLabel(dot, 'hidden')).toContain('Output shape: <b>(None, 512)</b>');
    expect(dotLabel(dot, 'probs')).toContain('Input shape: <b>(None, 512)</b>');
    expect(dotLabel(dot, 'probs')).toContain('Output shape: <b>(None, 10)</b>');
    // Keras's graph attributes and node style.
    expect(dot).toContain('graph [rankdir=TB, concentrate=true, dpi=200, splines=ortho];');
    expect(dot).toContain('node [shape=record];');
    expect(dotLabel(dot, 'bn')).toMatch(/, fontname=Helvetica, border=0, margin=0\];$/);
  });

  it("draws a functional model's input layers and one edge per connection, merges included", () => {
    const dot = modelToDot(wideAndDeep(), { showShapes: true });
    expect(new Set(dotNodes(dot))).toEqual(new Set(['wide', 'deep', 'h1', 'h2', 'cat', 'sum', 'main']));
    expect(dotNodes(dot).slice(0, 2)).toEqual(['wide', 'deep']);
    expect(new Set(dotEdges(dot))).toEqual(
      new Set(['deep->h1', 'h1->h2', 'wide->cat', 'h2->cat', 'wide->sum', 'h1->sum', 'cat->main']),
    );
    expect(dotEdges(dot)).toHaveLength(7);
    // A merge's input is a list of shapes; an InputLayer shows only its output shape.
    expect(dotLabel(dot, 'cat')).toContain('Input shape: <b>[(None, 5), (None, 5)]</b>');
    expect(dotLabel(dot, 'cat')).toContain('Output shape: <b>(None, 10)</b>');
    expect(dotLabel(dot, 'deep')).not.toContain('Input shape');
    expect(dotLabel(dot, 'deep')).toContain('Output shape: <b>(None, 6)</b>');
  });

  it('draws a shared layer once, with one edge from each source (edges are not repeated)', () => {
    const a = input({ shape: [3], name: 'a' });
    const b = input({ shape: [3], name: 'b' });
    const shared = layers.dense({ units: 3, name: 'shared' });
    const sum = layers.add({ name: 'plus' }).apply([shared.apply(a), shared.apply(b)]);
    const dot = modelToDot(functional({ inputs: [a, b], outputs: sum }));
    expect(dotNodes(dot)).toEqual(['a', 'b', 'shared', 'plus']);
    expect(new Set(dotEdges(dot))).toEqual(new Set(['a->shared', 'b->shared', 'shared->plus']));
    expect(dotEdges(dot)).toHaveLength(3);
  });

  it('shows activations, dtype and trainability as Keras does, only where a layer has them', () => {
    const m = sequential({
      layers: [
        layers.dense({ units: 4, inputShape: [2], name: 'lin' }),
        layers.activation({ activation: 'leakyRelu', name: 'act' }),
        layers.dense({ units: 3, activation: 'relu', name: 'frozen', trainable: false }),
        layers.dropout({ rate: 0.5, name: 'dr' }),
      ],
    });
    const dot = modelToDot(m, { showLayerActivations: true, showDtype: true, showTrainable: true });
    // Keras's get_layer_activation_name: Dense without one is 'linear'; names in snake_case.
    expect(dotLabel(dot, 'lin')).toContain('Activation: <b>linear</b>');
    expect(dotLabel(dot, 'act')).toContain('Activation: <b>leaky_relu</b>');
    expect(dotLabel(dot, 'frozen')).toContain('Activation: <b>relu</b>');
    expect(dotLabel(dot, 'dr')).not.toContain('Activation');
    for (const id of ['lin', 'act', 'frozen', 'dr'])
      expect(dotLabel(dot, id)).toContain('Output dtype: <b>float32</b>');
    expect(dotLabel(dot, 'lin')).toContain(
      '<td bgcolor="forestgreen"><font point-size="14" color="white"><b>Trainable</b>',
    );
    expect(dotLabel(dot, 'frozen')).toContain(
      '<td bgcolor="firebrick"><font point-size="14" color="white"><b>Non-trainable</b>',
    );
    // Layers without weights get no trainability cell.
    expect(dotLabel(dot, 'dr')).not.toMatch(/Trainable/);
    // colspan = show_dtype + show_trainable (+ 2 with shapes) = 2, as Keras computes it.
    expect(dotLabel(dot, 'lin')).toContain('<td colspan="2" bgcolor="black">');
  });

  it('escapes names for the HTML label and the DOT id', () => {
    const x = input({ shape: [2], name: 'in"<&>' });
    const y = layers.dense({ units: 1, name: 'd"x' }).apply(x);
    const dot = modelToDot(functional({ inputs: x, outputs: y }));
    expect(dot).toContain('"in\\"<&>" -> "d\\"x" [penwidth=2];');
    expect(dot).toContain('<b>in&quot;&lt;&amp;&gt;</b> (InputLayer)');
  });

  it('formats shapes as Keras 3 prints them (Python tuples with None for the batch)', () => {
    expect(kerasShape([784])).toBe('(None, 784)');
    expect(kerasShape([28, 28])).toBe('(None, 28, 28)');
  });

  it("refuses a model that is not built with Keras's message, and unknown or bad options", () => {
    const unbuilt = sequential({ layers: [layers.dense({ units: 2 })] });
    expect(() => modelToDot(unbuilt)).toThrow(
      /This model has not yet been built\. Build the model first by calling build\(\)/,
    );
    expect(() => modelToDot(mnistMlp(), { showShape: true } as never)).toThrow(
      /modelToDot: unknown option 'showShape'; did you mean 'showShapes'\?/,
    );
    expect(() => modelToDot(mnistMlp(), { rankdir: 'XY' as never })).toThrow(
      /rankdir must be one of TB, LR, BT, RL/,
    );
    expect(() => modelToDot(mnistMlp(), { dpi: 0 })).toThrow(/dpi must be a positive number/);
    expect(() => modelToDot(mnistMlp(), { showShapes: 'yes' as never })).toThrow(
      /showShapes must be true or false/,
    );
    expect(() => modelToDot({} as never)).toThrow(/expects a model/);
  });
});

describe('plotModel', () => {
  it('lays out a box per layer and an edge per connection with Graphviz (SVG), top to bottom', async () => {
    const { svg, dot, element } = await plotModel(mnistMlp(), { show_shapes: true, show_layer_names: true });
    expect(dotNodes(dot)).toEqual(['hidden', 'bn', 'drop', 'probs']);
    const { nodes, edges } = svgGroups(svg);
    expect([...nodes.keys()]).toEqual(['hidden', 'bn', 'drop', 'probs']);
    expect(nodes.get('hidden')).toBe('hidden (Dense)Input shape: (None, 784)Output shape: (None, 512)');
    expect(nodes.get('bn')).toBe('bn (BatchNormalization)Input shape: (None, 512)Output shape: (None, 512)');
    expect(nodes.get('probs')).toBe('probs (Dense)Input shape: (None, 512)Output shape: (None, 10)');
    expect(edges).toEqual(['hidden->bn', 'bn->drop', 'drop->probs']);
    // TB: each layer below the one before (Graphviz's SVG y grows downwards).
    const pos = nodePositions(svg);
    const ys = ['hidden', 'bn', 'drop', 'probs'].map((n) => pos.get(n)?.y ?? NaN);
    for (let i = 1; i < ys.length; i++) expect(ys[i]).toBeGreaterThan(ys[i - 1] as number);
    expect(element).toBeUndefined(); // Node has no DOMParser
  });

  it("shows class names only by default (Keras's plot_model show_layer_names=False)", async () => {
    const { svg } = await plotModel(wideAndDeep(), { showShapes: true });
    const { nodes, edges } = svgGroups(svg);
    expect(nodes.size).toBe(7);
    expect(nodes.get('wide')).toBe('InputLayerOutput shape: (None, 5)');
    expect(nodes.get('cat')).toBe('ConcatenateInput shape: [(None, 5), (None, 5)]Output shape: (None, 10)');
    expect(nodes.get('sum')).toBe('AddInput shape: [(None, 5), (None, 5)]Output shape: (None, 5)');
    expect(new Set(edges)).toEqual(
      new Set(['deep->h1', 'h1->h2', 'wide->cat', 'h2->cat', 'wide->sum', 'h1->sum', 'cat->main']),
    );
    expect(edges).toHaveLength(7);
  });

  it('places layers left to right for rankdir LR, and scales by dpi / 72', async () => {
    const lr = await plotModel(mnistMlp(), { rankdir: 'LR', dpi: 144 });
    const pos = nodePositions(lr.svg);
    const xs = ['hidden', 'bn', 'drop', 'probs'].map((n) => pos.get(n)?.x ?? NaN);
    for (let i = 1; i < xs.length; i++) expect(xs[i]).toBeGreaterThan(xs[i - 1] as number);
    expect(lr.svg).toMatch(/<g id="graph0" class="graph" transform="scale\(2 2\)/);
    const at72 = await plotModel(mnistMlp(), { dpi: 72 });
    expect(at72.svg).toMatch(/<g id="graph0" class="graph" transform="scale\(1 1\)/);
  });

  it('writes .svg and .dot files, with toFile as an option or as Keras positional argument', async () => {
    const svgPath = join(dir, 'model.svg');
    const r = await plotModel(mnistMlp(), svgPath, { showShapes: true });
    expect(r.file).toBe(svgPath);
    expect(await readFile(svgPath, 'utf8')).toBe(r.svg);
    const dotPath = join(dir, 'model.gv');
    const d = await plotModel(wideAndDeep(), { toFile: dotPath });
    expect(await readFile(dotPath, 'utf8')).toBe(d.dot);
    expect(d.dot.startsWith('digraph "wide_deep" {')).toBe(true);
  });

  it('refuses PNG (no rasterizer) and unknown extensions before loading Graphviz, writing nothing', async () => {
    let loads = 0;
    registerPlotPackages({
      '@viz-js/viz': () => {
        loads++;
        return import('@viz-js/viz');
      },
    });
    await expect(plotModel(mnistMlp(), { toFile: join(dir, 'm.png') })).rejects.toThrow(
      /PNG needs a rasterizer.*Write ".*m\.svg" instead/,
    );
    // No extension: Keras writes PNG.
    await expect(plotModel(mnistMlp(), { toFile: join(dir, 'model') })).rejects.toThrow(
      /PNG needs a rasterizer/,
    );
    await expect(plotModel(mnistMlp(), { toFile: join(dir, 'm.pdf') })).rejects.toThrow(
      /unsupported extension "\.pdf"; use \.svg or \.dot/,
    );
    expect(loads).toBe(0);
    await expect(stat(join(dir, 'm.png'))).rejects.toThrow(/ENOENT/);
    await expect(stat(join(dir, 'm.pdf'))).rejects.toThrow(/ENOENT/);
  });

  it('says which package to install when @viz-js/viz is missing', async () => {
    registerPlotPackages({
      '@viz-js/viz': () => Promise.reject(new Error("Cannot find package '@viz-js/viz'")),
    });
    await expect(plotModel(mnistMlp())).rejects.toThrow(
      /plotModel: you must install the optional package @viz-js\/viz .*: npm install @viz-js\/viz\. Loading it failed: Cannot find package/,
    );
  });

  it("refuses an unbuilt model with Keras's message, and options given twice", async () => {
    const unbuilt = sequential({ layers: [layers.dense({ units: 2 })] });
    await expect(plotModel(unbuilt)).rejects.toThrow(/plotModel: This model has not yet been built/);
    await expect(plotModel(mnistMlp(), { showShapes: true, show_shapes: false })).rejects.toThrow(
      /'showShapes' and 'show_shapes' are the same option/,
    );
    await expect(plotModel(mnistMlp(), 'm.svg', { toFile: 'x.svg' } as never)).rejects.toThrow(
      /unknown option 'toFile'/,
    );
  });
});
