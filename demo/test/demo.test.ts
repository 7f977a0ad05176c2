/**
 * The demo in headless Chromium (SwiftShader): train a small MLP on an MNIST subset for one
 * epoch from the Train tab, check the accuracy it shows and its curves, then draw a digit
 * on the Predict tab and check the prediction shown against a float64 forward pass of the
 * page's own model weights on the page's own 28×28 input, and open the Train tab's model
 * diagram (Graphviz, loaded when opened). Screenshots go to out/demo-test/.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'puppeteer-core';
import type { ChromiumSession } from '../../kernels-test/browser/chromium.js';
import { weightColor } from '../src/weights-view.js';
import { clickInTrainer, openDemo, trainSmallModel, until as untilIn } from './train-tab.js';

const OUT = join(process.cwd(), 'out', 'demo-test');
/**
 * 1,800 training images, one epoch of 113 steps, 784-32-10, Adam at 0.003: the validation
 * accuracy shown was 0.86–0.91 and the test accuracy 0.81–0.84 over four runs here
 * (SwiftShader; the shuffle and dropout differ from run to run).
 */
const ACCURACY_THRESHOLD = 0.75;

let session: ChromiumSession;
let page: Page;
const lines: string[] = [];

beforeAll(async () => {
  mkdirSync(OUT, { recursive: true });
  session = await openDemo('/', lines);
  page = session.page;
}, 300_000);

afterAll(async () => {
  await session.close();
});

/** Polls `fn` in the page until it returns a value other than null/undefined/false. */
const until = <T>(fn: () => T, timeout?: number) => untilIn(page, fn, timeout);

describe('the demo page', () => {
  it('trains a small model for one epoch on a subset: the accuracy shown passes the threshold, the curves have points', async () => {
    await until(() => document.querySelector('mlp-demo')?.shadowRoot?.querySelector('mlp-trainer'));
    const adapter = await until(
      () => document.querySelector('mlp-demo')?.shadowRoot?.querySelector('#adapter')?.textContent,
    );
    expect(adapter).toMatch(/GPU adapter:/);
    // Configure through the element's documented attributes, then press Start.
    const description = await trainSmallModel(page);
    expect(description).toMatch(/784-32-10/);
    const shown = await until(() => {
      const root = document.querySelector('mlp-demo')?.shadowRoot?.querySelector('mlp-trainer')?.shadowRoot;
      const v = root?.querySelector('#val-accuracy')?.getAttribute('data-value');
      const t = root?.querySelector('#test-accuracy')?.getAttribute('data-value');
      return v && t ? { val: Number(v), test: Number(t) } : undefined;
    });
    console.log(`demo: ${description}: validation accuracy ${shown.val}, test accuracy ${shown.test}`);
    expect(shown.val).toBeGreaterThan(ACCURACY_THRESHOLD);
    expect(shown.test).toBeGreaterThan(ACCURACY_THRESHOLD);
    expect(shown.val).toBeLessThanOrEqual(1);
    // Curves: per-epoch points for train and validation, and per-N-batch points while training.
    const counts = await page.evaluate(() => {
      const root = document.querySelector('mlp-demo')?.shadowRoot?.querySelector('mlp-trainer')?.shadowRoot;
      // Drawn points: a running mean's gap at an epoch's end (NaN) is not one.
      const read = (id: string) =>
        (
          root?.querySelector(id) as unknown as {
            series: { label: string; points: { y: number }[] }[];
          } | null
        )?.series.map((s) => [s.label, s.points.filter((p) => Number.isFinite(p.y)).length] as const) ?? [];
      return { loss: read('#loss-chart'), accuracy: read('#accuracy-chart') };
    });
    for (const chart of [counts.loss, counts.accuracy]) {
      expect(chart.length).toBeGreaterThanOrEqual(2);
      expect(chart.every(([, n]) => n >= 1)).toBe(true);
      // The batch-level curve has several points within the one epoch.
      expect(Math.max(...chart.map(([, n]) => n))).toBeGreaterThanOrEqual(3);
    }
    // Weights per epoch: each kernel before training and after its one epoch, every weight
    // counted once, and the last histogram's mean within half a bin of the weights' own mean.
    const weights = await page.evaluate(async () => {
      const root = document.querySelector('mlp-demo')?.shadowRoot?.querySelector('mlp-trainer')?.shadowRoot;
      const charts = [
        ...(root?.querySelectorAll('#weight-epochs mlp-chart') ?? []),
      ] as unknown as (HTMLElement & {
        series: { label: string; points: { x: number; y: number }[] }[];
      })[];
      const model = (
        document.querySelector('mlp-demo') as unknown as {
          state: { current?: { model: { getWeights(): Promise<{ name: string; data: Float32Array }[]> } } };
        }
      ).state.current?.model;
      const kernels = ((await model?.getWeights()) ?? []).filter((w) => w.name.endsWith('/kernel'));
      return {
        charts: charts.map((c) => ({
          kernel: c.getAttribute('data-kernel'),
          series: c.series.map((x) => ({ label: x.label, points: x.points })),
        })),
        kernels: kernels.map((k) => ({
          name: k.name,
          n: k.data.length,
          mean: k.data.reduce((a, b) => a + b, 0) / k.data.length,
        })),
      };
    });
    expect(weights.charts.map((c) => c.kernel)).toEqual(weights.kernels.map((k) => k.name));
    weights.charts.forEach((c, i) => {
      const k = weights.kernels[i];
      expect(c.series.map((x) => x.label)).toEqual(['before training', 'epoch 1']);
      for (const x of c.series) expect(x.points.reduce((a, p) => a + p.y, 0)).toBe(k?.n);
      const last = c.series[1]?.points ?? [];
      const mean = last.reduce((a, p) => a + p.x * p.y, 0) / (k?.n ?? NaN);
      const binWidth = (last[1]?.x ?? NaN) - (last[0]?.x ?? NaN);
      expect(Math.abs(mean - (k?.mean ?? NaN))).toBeLessThanOrEqual(binWidth / 2);
      // Training moved the weights: the two histograms differ.
      expect(last.map((p) => p.y)).not.toEqual(c.series[0]?.points.map((p) => p.y));
    });
    // Activations (the one hidden layer's 32 relu units on the first 128 validation rows) and
    // each kernel's log10|gradient|, before training and after the epoch: every value once.
    const inside = await page.evaluate(() => {
      const root = document.querySelector('mlp-demo')?.shadowRoot?.querySelector('mlp-trainer')?.shadowRoot;
      const read = (id: string) =>
        (
          [...(root?.querySelectorAll(`${id} mlp-chart`) ?? [])] as unknown as (HTMLElement & {
            series: { label: string; points: { x: number; y: number }[] }[];
          })[]
        ).map((c) => ({
          name: c.getAttribute('data-kernel'),
          labels: c.series.map((x) => x.label),
          totals: c.series.map((x) => x.points.reduce((a, p) => a + p.y, 0)),
          counts: c.series.map((x) => x.points.map((p) => p.y)),
        }));
      return { activations: read('#activation-epochs'), gradients: read('#gradient-epochs') };
    });
    expect(inside.activations.map((a) => [a.name, a.labels, a.totals])).toEqual([
      ['dense', ['before training', 'epoch 1'], [128 * 32, 128 * 32]],
    ]);
    expect(inside.gradients.map((g) => [g.name, g.labels, g.totals])).toEqual(
      weights.kernels.map((k) => [k.name, ['before training', 'epoch 1'], [k.n, k.n]]),
    );
    for (const g of inside.gradients) expect(g.counts[1]).not.toEqual(g.counts[0]);
    await page.setViewport({ width: 1280, height: 1100 });
    await page.screenshot({ path: join(OUT, 'train.png'), fullPage: true });
  });

  it("keeps the first run's validation curves faded and labelled under the second run's, until forgotten", async () => {
    type Series = { label: string; faded?: boolean; points: { x: number; y: number }[] };
    const read = () =>
      page.evaluate(() => {
        const root = document.querySelector('mlp-demo')?.shadowRoot?.querySelector('mlp-trainer')?.shadowRoot;
        const series = (id: string) =>
          ((root?.querySelector(id) as unknown as { series: Series[] } | null)?.series ?? []).map((x) => ({
            label: x.label,
            faded: x.faded ?? false,
            points: x.points,
          }));
        return {
          loss: series('#loss-chart'),
          accuracy: series('#accuracy-chart'),
          note: root?.querySelector('#earlier-runs')?.textContent.replace(/\s+/g, ' ').trim() ?? '',
        };
      });
    const first = await read();
    const validation = (list: Series[]) => list.find((x) => x.label === 'validation (epoch)')?.points;
    expect(first.loss.some((x) => x.faded)).toBe(false);
    await trainSmallModel(page);
    const second = await read();
    const label = 'run 1: 784-32-10 relu, adam 0.003, batch 16';
    for (const [before, after] of [
      [first.loss, second.loss],
      [first.accuracy, second.accuracy],
    ] as const) {
      const faded = after.filter((x) => x.faded);
      expect(faded.map((x) => x.label)).toEqual([label]);
      expect(faded[0]?.points).toEqual(validation(before));
      // The second run has its own validation curve, not faded.
      expect(validation(after)).toHaveLength(1);
    }
    expect(second.note).toMatch(/earlier runs \(run 1\)/);
    await clickInTrainer(page, 'forget-runs');
    await until(() => {
      const root = document.querySelector('mlp-demo')?.shadowRoot?.querySelector('mlp-trainer')?.shadowRoot;
      return !root?.querySelector('#earlier-runs');
    });
    const forgotten = await read();
    expect([...forgotten.loss, ...forgotten.accuracy].some((x) => x.faded)).toBe(false);
    expect(validation(forgotten.loss)).toEqual(validation(second.loss));
  });

  it('finds a learning rate: the range test draws the loss against rates rising from 1e-6, and Use it fills the form', async () => {
    // The attributes trainSmallModel set are still on the element: 784-32-10, Adam, batch 16.
    await clickInTrainer(page, 'lr-find');
    const t = await until(() => {
      const root = document.querySelector('mlp-demo')?.shadowRoot?.querySelector('mlp-trainer')?.shadowRoot;
      const suggestion = root?.querySelector('#lr-suggestion')?.getAttribute('data-value');
      const chart = root?.querySelector('#lr-chart') as unknown as {
        series: { label: string; points: { x: number; y: number }[] }[];
      } | null;
      // The run has ended once Use it is enabled (the suggestion shows a moment before).
      const use = root?.querySelector<HTMLButtonElement>('#lr-use');
      if (!suggestion || !chart || !use || use.disabled) return undefined;
      return {
        suggestion: Number(suggestion),
        status: root?.querySelector('#lr-status')?.textContent ?? '',
        smoothed: chart.series.find((x) => x.label === 'loss (smoothed)')?.points ?? [],
        perBatch: chart.series.find((x) => x.label === 'loss per batch')?.points ?? [],
      };
    });
    const n = t.smoothed.length;
    expect(n).toBeGreaterThan(20);
    expect(t.status).toMatch(new RegExp(`^${n} batches`));
    // Rates rise geometrically from 1e-6 by a factor of 10^(6/99) per batch.
    t.smoothed.forEach((p, k) => expect(Math.log10(p.x)).toBeCloseTo(-6 + (6 * k) / 99, 9));
    // The smoothed curve is the bias-corrected moving average (β 0.9) of the per-batch losses.
    let avg = 0;
    t.perBatch.forEach((p, k) => {
      avg = 0.9 * avg + 0.1 * p.y;
      expect(t.smoothed[k]?.y).toBeCloseTo(avg / (1 - 0.9 ** (k + 1)), 9);
    });
    // Adam's loss on MNIST falls well before 1 and the suggestion sits on that fall.
    expect(t.suggestion).toBeGreaterThan(1e-5);
    expect(t.suggestion).toBeLessThan(1);
    const typed = await page.evaluate(async () => {
      const root = document.querySelector('mlp-demo')?.shadowRoot?.querySelector('mlp-trainer')?.shadowRoot;
      root?.querySelector<HTMLButtonElement>('#lr-use')?.click();
      await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
      return root?.querySelector<HTMLInputElement>('#learning-rate')?.value;
    });
    expect(Number(typed)).toBe(t.suggestion);
    console.log(`demo: range test ${t.status} suggested ${t.suggestion}`);
  });

  it('draws a digit on the Predict tab: the prediction shown is a float64 forward pass of the model on the drawn input', async () => {
    await page.evaluate(() => {
      location.hash = '#predict';
    });
    const canvas = await until(() => {
      const c = document
        .querySelector('mlp-demo')
        ?.shadowRoot?.querySelector('mlp-predict')
        ?.shadowRoot?.querySelector('digit-canvas')
        ?.shadowRoot?.querySelector('canvas');
      if (!c) return undefined;
      const r = c.getBoundingClientRect();
      return r.width > 0 ? { x: r.x, y: r.y, w: r.width, h: r.height } : undefined;
    });
    // A "1": one vertical stroke down the middle, drawn with the mouse.
    const at = (fx: number, fy: number) => [canvas.x + fx * canvas.w, canvas.y + fy * canvas.h] as const;
    await page.mouse.move(...at(0.52, 0.18));
    await page.mouse.down();
    for (let i = 1; i <= 12; i++)
      await page.mouse.move(...at(0.52 - 0.04 * (i / 12), 0.18 + 0.64 * (i / 12)));
    await page.mouse.up();
    const shown = await until(() => {
      const p = document
        .querySelector('mlp-demo')
        ?.shadowRoot?.querySelector('mlp-predict')
        ?.shadowRoot?.querySelector('#prediction');
      if (p?.getAttribute('data-current') !== 'true') return undefined;
      return {
        cls: Number(p.getAttribute('data-class')),
        confidence: Number(p.getAttribute('data-confidence')),
        text: p.textContent.replace(/\s+/g, ' ').trim(),
      };
    });
    // What the page fed the model, and the model's weights, read from the page.
    const { input, weights } = await page.evaluate(async () => {
      const demo = document.querySelector('mlp-demo') as unknown as {
        state: {
          current?: {
            model: { getWeights(): Promise<{ name: string; shape: number[]; data: Float32Array }[]> };
          };
        };
        shadowRoot: ShadowRoot;
      };
      const digit = demo.shadowRoot
        .querySelector('mlp-predict')
        ?.shadowRoot?.querySelector('digit-canvas') as unknown as { input?: Float32Array } | null;
      const model = demo.state.current?.model;
      if (!model || !digit?.input) throw new Error('no model or no drawn input');
      const ws = await model.getWeights();
      return {
        input: Array.from(digit.input),
        weights: ws.map((w) => ({ name: w.name, shape: w.shape, data: Array.from(w.data) })),
      };
    });
    expect(input).toHaveLength(784);
    expect(input.some((v) => v > 0.5)).toBe(true);
    // Float64 forward pass: relu(x·W1 + b1)·W2 + b2, softmax.
    const [W1, b1, W2, b2] = weights;
    if (!W1 || !b1 || !W2 || !b2)
      throw new Error(`expected 4 weights, got ${weights.map((w) => w.name).join(', ')}`);
    expect(W1.shape).toEqual([784, 32]);
    const h = Array.from({ length: 32 }, (_, j) =>
      Math.max(
        0,
        input.reduce((s, x, i) => s + x * (W1.data[i * 32 + j] ?? 0), b1.data[j] ?? 0),
      ),
    );
    const z = Array.from({ length: 10 }, (_, c) =>
      h.reduce((s, v, j) => s + v * (W2.data[j * 10 + c] ?? 0), b2.data[c] ?? 0),
    );
    const m = Math.max(...z);
    const e = z.map((v) => Math.exp(v - m));
    const sum = e.reduce((a, b) => a + b, 0);
    const p = e.map((v) => v / sum);
    const best = p.indexOf(Math.max(...p));
    expect(shown.cls).toBe(best);
    expect(shown.confidence).toBeCloseTo(p[best] ?? NaN, 4);
    expect(shown.text).toContain(`this is a ${best}`);
    expect(shown.text).toMatch(/I am \d+(\.\d+)?% confident/);
    await page.screenshot({ path: join(OUT, 'predict.png'), fullPage: true });

    // The same model given to a <mlp-predict> of its own (webgpu-mlp/predict): it makes its own
    // state on the page's engine, evaluates the test set as the tab did, and predicts the same
    // drawing as the float64 pass, saying both in its events.
    const own = await page.evaluate(async (drawn: number[]) => {
      type Predict = HTMLElement & {
        model?: unknown;
        state?: { engine: unknown };
        updateComplete: Promise<boolean>;
      };
      const demo = document.querySelector('mlp-demo') as unknown as {
        state: { engine: unknown; current?: { model: unknown } };
        shadowRoot: ShadowRoot;
      };
      const el = document.createElement('mlp-predict') as Predict;
      el.setAttribute('mnist-url', 'mnist');
      el.setAttribute('model-description', 'my MNIST model');
      el.model = demo.state.current?.model;
      const evaluated = new Promise<{ accuracy: number; rows: number }>((resolve) =>
        el.addEventListener(
          'mlp-evaluated',
          (e) => resolve((e as CustomEvent<{ accuracy: number; rows: number }>).detail),
          {
            once: true,
          },
        ),
      );
      document.body.append(el);
      const test = await evaluated;
      await el.updateComplete;
      const root = el.shadowRoot;
      const predicted = new Promise<{ digit: number; confidence: number; probabilities: number[] }>(
        (resolve) =>
          el.addEventListener(
            'mlp-prediction',
            (e) => {
              const d = (e as CustomEvent<{ digit: number; confidence: number; probabilities: Float32Array }>)
                .detail;
              resolve({
                digit: d.digit,
                confidence: d.confidence,
                probabilities: Array.from(d.probabilities),
              });
            },
            { once: true },
          ),
      );
      root
        ?.querySelector('digit-canvas')
        ?.dispatchEvent(new CustomEvent('digit-input', { detail: Float32Array.from(drawn) }));
      const drawing = await predicted;
      const tabAccuracy = demo.shadowRoot
        .querySelector('mlp-predict')
        ?.shadowRoot?.querySelector('#test-accuracy')
        ?.getAttribute('data-value');
      const result = {
        test,
        tabAccuracy: Number(tabAccuracy),
        drawing,
        ownState: el.state !== undefined && el.state !== (demo.state as unknown),
        sameEngine: el.state?.engine === demo.state.engine,
        heading: root?.querySelector('#model-description')?.textContent,
      };
      el.remove();
      return result;
    }, input);
    expect(own.ownState).toBe(true);
    expect(own.sameEngine).toBe(true);
    expect(own.heading).toBe('my MNIST model');
    expect(own.test.accuracy).toBe(own.tabAccuracy);
    expect(own.test.rows).toBe(1000);
    expect(own.drawing.digit).toBe(best);
    own.drawing.probabilities.forEach((q, c) => expect(q).toBeCloseTo(p[c] ?? NaN, 4));
    expect(own.drawing.confidence).toBe(own.drawing.probabilities[best]);
  });

  it("shows what the network learned on Predict: the first layer's weights as images, each kernel's histogram", async () => {
    const shown = await until(() => {
      const root = document.querySelector('mlp-demo')?.shadowRoot?.querySelector('mlp-predict')?.shadowRoot;
      const canvases = [...(root?.querySelectorAll<HTMLCanvasElement>('#units canvas') ?? [])];
      const charts = [...(root?.querySelectorAll('#learned mlp-chart') ?? [])] as unknown as (HTMLElement & {
        series: { points: number[] }[];
      })[];
      if (canvases.length === 0 || charts.length === 0) return undefined;
      const pixels = (c: HTMLCanvasElement | undefined) =>
        Array.from(c?.getContext('2d')?.getImageData(0, 0, 28, 28).data ?? []);
      return {
        units: canvases.length,
        first: pixels(canvases[0]),
        fifth: pixels(canvases[4]),
        charts: charts.map((c) => ({
          kernel: c.getAttribute('data-kernel'),
          total: (c.series[0]?.points ?? []).reduce((a, b) => a + b, 0),
        })),
      };
    });
    // The model's own weights, read in the page.
    const weights = await page.evaluate(async () => {
      const el = document.querySelector('mlp-demo')?.shadowRoot?.querySelector('mlp-predict');
      const model = el?.state?.current?.model;
      const w = (await model?.getWeights()) ?? [];
      return w
        .filter((x) => x.name.endsWith('/kernel'))
        .map((x) => ({ shape: x.shape, data: Array.from(x.data) }));
    });
    const first = weights[0];
    if (!first) throw new Error('no first kernel');
    const units = first.shape[1] ?? 0;
    expect(shown.units).toBe(Math.min(32, units));
    for (const [u, px] of [
      [0, shown.first],
      [4, shown.fifth],
    ] as const) {
      const column = Array.from({ length: 784 }, (_, i) => first.data[i * units + u] ?? NaN);
      const maxAbs = Math.max(...column.map(Math.abs));
      column.forEach((w, i) => {
        expect(px.slice(4 * i, 4 * i + 4)).toEqual([...weightColor(w / maxAbs), 255]);
      });
    }
    // One histogram per Dense kernel, counting each of its weights once.
    expect(shown.charts).toEqual(
      weights.map((k, i) => ({
        kernel: i === 0 ? 'dense/kernel' : `dense_${i}/kernel`,
        total: k.data.length,
      })),
    );
  });

  it("draws the Train tab's model when its Diagram is opened: a Graphviz box per layer, shapes as Keras prints them", async () => {
    await page.evaluate(() => {
      location.hash = '#train';
      const diagram = document
        .querySelector('mlp-demo')
        ?.shadowRoot?.querySelector('mlp-trainer')
        ?.shadowRoot?.querySelector('mlp-model-diagram');
      const details = diagram?.shadowRoot?.querySelector('details');
      if (!details) throw new Error('no Diagram fold in the Train tab');
      details.open = true;
    });
    // SMALL_RUN's model is 784 → 32 relu → 10 softmax: two Dense boxes (a Sequential's input
    // layer is not drawn, as in Keras), joined by one edge.
    const drawn = await until(() => {
      const svg = document
        .querySelector('mlp-demo')
        ?.shadowRoot?.querySelector('mlp-trainer')
        ?.shadowRoot?.querySelector('mlp-model-diagram')
        ?.shadowRoot?.querySelector('#svg svg');
      if (!svg) return undefined;
      return {
        nodes: [...svg.querySelectorAll('g.node')].map((g) =>
          [...g.querySelectorAll('text')].map((t) => t.textContent).join(''),
        ),
        edges: svg.querySelectorAll('g.edge').length,
      };
    }, 60_000);
    expect(drawn.nodes).toEqual([
      'DenseActivation: reluInput shape: (None, 784)Output shape: (None, 32)',
      'DenseActivation: softmaxInput shape: (None, 32)Output shape: (None, 10)',
    ]);
    expect(drawn.edges).toBe(1);
  });
});
