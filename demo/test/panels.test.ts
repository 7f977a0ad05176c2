/**
 * The demo's other panels in headless Chromium (SwiftShader), on tiny settings:
 * - Save / load: a model trained on the Train tab, saved in IndexedDB, listed with its size
 *   (checked against the stored record: 4 bytes × 25,450 parameters + the topology JSON),
 *   loaded back with bit-identical weights and the same test accuracy on the Predict tab,
 *   then deleted.
 * - Lab: two scenarios; their results rows, the overlaid validation-accuracy chart, the
 *   test accuracy as a whole count of test rows, and the shared legend that brings one
 *   scenario forward in every chart.
 * - Vanishing gradients: at the tab's 20 × 64, the per-layer gradient norms before training
 *   against a float64 backpropagation of the same seeded models on the same 256 MNIST
 *   images, and the regime the tab shows for each (sigmoid + uniform(±0.5) vanishing, tanh +
 *   uniform(±0.5) exploding, relu + he_uniform and residual + BN stable) with the direction
 *   of its factor per layer.
 * Screenshots go to out/demo-test/ (io.png, lab.png, vanishing.png).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'puppeteer-core';
import type { ChromiumSession } from '../../kernels-test/browser/chromium.js';
import { loadMnist } from '../../src/node/mnist.js';
import {
  buildDeepModel,
  DEEP_KINDS,
  gradientProfile,
  gradientRegime,
  type DeepKind,
  type GradientRegime,
} from '../src/deep-models.js';
import { referenceKernelNorms } from './deep-reference.js';
import { openDemo, trainSmallModel } from './train-tab.js';

const OUT = join(process.cwd(), 'out', 'demo-test');

/**
 * Lab: two scenarios (Adam at Keras's 0.001, batch 16 and 32) on 784-32-10, one epoch on
 * 1,800 rows (200 validate). The panel seeds its models and shuffles, and a dozen runs here
 * all showed the same values: validation 0.835 and 0.79, test 0.82 and 0.785 on 200 test digits,
 * from 0.05 before training. 0.6 is six times chance (0.1 for 10 classes) and well below those.
 */
const LAB_PICKS = ['adam-b16', 'adam-b32'];
const LAB_ROWS = 2000;
const LAB_TEST_ROWS = 200;
const LAB_ACCURACY_THRESHOLD = 0.6;

/** Vanishing gradients: the tab's 20 hidden layers of 64 units (its probe batch is 256 rows). */
const DEPTH = 20;
const UNITS = 64;
const PROBE_ROWS = 256;
/** The course's regime of each model at 20 × 64 (deep-models.test.ts checks the same in Node). */
const REGIMES: Record<DeepKind, GradientRegime> = {
  'sigmoid-uniform': 'vanishing',
  'tanh-uniform': 'exploding',
  'relu-he': 'stable',
  'residual-bn': 'stable',
};

let session: ChromiumSession;
let page: Page;
const lines: string[] = [];

/** What the page functions below reach through `window` (installed in beforeAll). */
interface Helpers {
  /** The shadow root of the demo's panel `tag` (e.g. 'mlp-lab'). */
  root(tag: string): ShadowRoot | null | undefined;
  /** Sets an input's (or select's) value as a user would, firing 'input' and 'change'. */
  set(tag: string, selector: string, value: string): void;
  /** Clicks an element of panel `tag`; throws if it is missing or disabled. */
  click(tag: string, selector: string): void;
}
type Win = Window & { __h: Helpers };

/** The <mlp-demo> element's state, as the page functions read it. */
interface DemoLike {
  state: {
    current?: {
      description: string;
      model: { getWeights(): Promise<{ name: string; shape: number[]; data: Float32Array }[]> };
    };
  };
}

/** Weights as the Node side compares them: float32 bit patterns. */
interface WeightBits {
  name: string;
  shape: number[];
  bits: number[];
}

beforeAll(async () => {
  mkdirSync(OUT, { recursive: true });
  session = await openDemo('/', lines);
  page = session.page;
  await page.setViewport({ width: 1280, height: 1100 });
  await page.evaluate(() => {
    const root = (tag: string) =>
      document.querySelector('mlp-demo')?.shadowRoot?.querySelector(tag)?.shadowRoot;
    (window as unknown as Win).__h = {
      root,
      set(tag, selector, value) {
        const el = root(tag)?.querySelector<HTMLInputElement | HTMLSelectElement>(selector);
        if (!el) throw new Error(`no ${selector} in <${tag}>`);
        el.value = value;
        el.dispatchEvent(new Event('input', { bubbles: true, composed: true }));
        el.dispatchEvent(new Event('change', { bubbles: true, composed: true }));
      },
      click(tag, selector) {
        const el = root(tag)?.querySelector<HTMLElement>(selector);
        if (!el) throw new Error(`no ${selector} in <${tag}>`);
        if ((el as HTMLButtonElement).disabled) throw new Error(`${selector} in <${tag}> is disabled`);
        el.click();
      },
    };
  });
  // The page started WebGPU (a page that failed to load says so here, not in a later test).
  expect(
    await until(
      () =>
        (window as unknown as Win).__h.root('mlp-trainer') &&
        document.querySelector('mlp-demo')?.shadowRoot?.querySelector('#adapter')?.textContent,
    ),
  ).toMatch(/GPU adapter:/);
}, 300_000);

afterAll(async () => {
  await session.close();
  // The page's console, for a failing run.
  if (process.env.WEBGPU_MLP_TEST_VERBOSE) for (const l of lines) console.log(l);
});

/** What the panels say (status lines and errors) and the page's last console lines. */
async function snapshot(): Promise<string> {
  const said = await page
    .evaluate(() =>
      ['mlp-trainer', 'mlp-predict', 'mlp-lab', 'mlp-vanishing', 'mlp-tune', 'mlp-model-io'].flatMap((tag) =>
        [...((window as unknown as Win).__h.root(tag)?.querySelectorAll('.status, .error') ?? [])]
          .map((e) => e.textContent.replace(/\s+/g, ' ').trim())
          .filter((t) => t !== '')
          .map((t) => `<${tag}> ${t}`),
      ),
    )
    .catch((e: unknown) => [`(the page did not answer: ${String(e)})`]);
  return [...said, ...lines.slice(-15)].join('\n');
}

/**
 * Polls `fn(...args)` in the page until it returns a value other than
 * null/undefined/false/''; a timeout says what the panels showed.
 */
async function untilWith<A extends unknown[], T>(
  fn: (...args: A) => T,
  args: A,
  timeout = 120_000,
): Promise<NonNullable<T>> {
  try {
    const handle = await page.waitForFunction(
      fn as (...args: unknown[]) => T,
      { timeout, polling: 200 },
      ...args,
    );
    return (await handle.jsonValue()) as NonNullable<T>;
  } catch (e) {
    throw new Error(`${String(e)}\n${await snapshot()}`, { cause: e });
  }
}

function until<T>(fn: () => T, timeout = 120_000): Promise<NonNullable<T>> {
  return untilWith(fn, [], timeout);
}

async function showTab(id: string): Promise<void> {
  await page.evaluate((hash) => {
    location.hash = hash;
  }, `#${id}`);
  await untilWith(
    (tab) =>
      document.querySelector('mlp-demo')?.shadowRoot?.querySelector('nav button[aria-selected="true"]')
        ?.id === tab,
    [`tab-${id}`],
    30_000,
  );
}

/** The current model's weights (name, shape, float32 bits) and its description. */
function currentWeights(): Promise<{ description: string; weights: WeightBits[] }> {
  return page.evaluate(async () => {
    const demo = document.querySelector('mlp-demo') as unknown as DemoLike;
    const current = demo.state.current;
    if (!current) throw new Error('no current model');
    const ws = await current.model.getWeights();
    return {
      description: current.description,
      weights: ws.map((w) => ({
        name: w.name,
        shape: w.shape,
        bits: Array.from(new Uint32Array(w.data.buffer, w.data.byteOffset, w.data.length)),
      })),
    };
  });
}

/**
 * The Predict tab's test accuracy once it is of the current model (the panel predicts the
 * test set again whenever the current model changes).
 */
function predictAccuracy(): Promise<number> {
  return until(() => {
    const demo = document.querySelector('mlp-demo') as unknown as DemoLike;
    const predict = (window as unknown as Win).__h.root('mlp-predict');
    const host = document.querySelector('mlp-demo')?.shadowRoot?.querySelector('mlp-predict') as unknown as {
      analysis?: { model: unknown; accuracy: number };
    } | null;
    const a = host?.analysis;
    const shown = predict?.querySelector('#test-accuracy')?.getAttribute('data-value');
    if (!a || a.model !== demo.state.current?.model || shown !== String(a.accuracy)) return undefined;
    return Number(shown);
  });
}

describe('the demo panels', () => {
  it('Save / load: a trained model saved in IndexedDB is listed with its size, loads back bit-identical with the same test accuracy, and is deleted', async () => {
    // Train 784-32-10 for one epoch on 2,000 rows (as demo.test.ts does).
    expect(await trainSmallModel(page)).toMatch(/784-32-10/);
    await until(() => (document.querySelector('mlp-demo') as unknown as DemoLike).state.current?.description);
    const before = await currentWeights();
    expect(before.weights.map((w) => w.shape)).toEqual([[784, 32], [32], [32, 10], [10]]);
    const parameters = before.weights.reduce((s, w) => s + w.shape.reduce((a, b) => a * b, 1), 0);
    expect(parameters).toBe(784 * 32 + 32 + 32 * 10 + 10); // 25,450
    const accuracyBefore = await predictAccuracy();
    // Keep the trained model to tell it from the loaded one.
    await page.evaluate(() => {
      (window as unknown as { __trained: unknown }).__trained = (
        document.querySelector('mlp-demo') as unknown as DemoLike
      ).state.current?.model;
    });

    // Save it in IndexedDB.
    await showTab('io');
    const NAME = 'panels-test-model';
    await until(() => !!(window as unknown as Win).__h.root('mlp-model-io')?.querySelector('#idb-list'));
    await page.evaluate((name) => (window as unknown as Win).__h.set('mlp-model-io', '#name', name), NAME);
    await page.evaluate(() => (window as unknown as Win).__h.click('mlp-model-io', '#save-idb'));
    const listedBytes = Number(
      await untilWith(
        (name) =>
          (window as unknown as Win).__h
            .root('mlp-model-io')
            ?.querySelector(`#idb-list tr[data-name="${name}"]`)
            ?.getAttribute('data-bytes'),
        [NAME],
        60_000,
      ),
    );
    // The record as stored, read straight from IndexedDB: its weight bytes and topology JSON.
    const stored = await page.evaluate(async (name) => {
      const db = await new Promise<IDBDatabase>((resolve, reject) => {
        const req = indexedDB.open('webgpu-mlp');
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(new Error(String(req.error)));
      });
      const record = await new Promise<
        { artifacts: { modelTopology: unknown; weightData: ArrayBuffer } } | undefined
      >((resolve, reject) => {
        const req = db.transaction('models').objectStore('models').get(name);
        req.onsuccess = () => resolve(req.result as never);
        req.onerror = () => reject(new Error(String(req.error)));
      });
      db.close();
      if (!record) return undefined;
      return {
        weightBytes: record.artifacts.weightData.byteLength,
        topologyBytes: new TextEncoder().encode(JSON.stringify(record.artifacts.modelTopology)).byteLength,
        bits: Array.from(new Uint32Array(record.artifacts.weightData)),
      };
    }, NAME);
    if (!stored) throw new Error(`no IndexedDB record named ${NAME}`);
    expect(stored.weightBytes).toBe(4 * parameters); // 101,800: float32, no optimizer state
    // data-bytes is the model's size as listed: topology JSON + weight data.
    expect(listedBytes).toBe(stored.topologyBytes + 4 * parameters);
    // The stored bytes are the trained weights, in getWeights() order.
    expect(stored.bits).toEqual(before.weights.flatMap((w) => w.bits));

    // Load it back: it becomes the current model, with the same weights bit for bit.
    await page.evaluate(
      (name) =>
        (window as unknown as Win).__h.click('mlp-model-io', `#idb-list button.load[data-name="${name}"]`),
      NAME,
    );
    const loadAccuracy = Number(
      await until(() =>
        (window as unknown as Win).__h
          .root('mlp-model-io')
          ?.querySelector('#load-accuracy')
          ?.getAttribute('data-value'),
      ),
    );
    const after = await currentWeights();
    expect(after.description).toBe(`loaded: ${NAME}`);
    expect(
      await page.evaluate(
        () =>
          (document.querySelector('mlp-demo') as unknown as DemoLike).state.current?.model !==
          (window as unknown as { __trained: unknown }).__trained,
      ),
    ).toBe(true);
    expect(after.weights.map((w) => [w.name, w.shape])).toEqual(before.weights.map((w) => [w.name, w.shape]));
    after.weights.forEach((w, i) => expect(w.bits).toEqual(before.weights[i]?.bits));
    // Same weights, same predictions: the Predict tab's accuracy on the same 1,000 test digits.
    const accuracyAfter = await predictAccuracy();
    expect(accuracyAfter).toBe(accuracyBefore);
    // The panel's own evaluation (model.evaluate on the first 1,000 test digits) agrees.
    expect(Math.abs(loadAccuracy - accuracyBefore)).toBeLessThan(1e-6);
    console.log(
      `save/load: ${parameters} parameters, listed ${listedBytes} bytes (${stored.topologyBytes} topology + ${stored.weightBytes} weights); test accuracy ${accuracyBefore} trained, ${accuracyAfter} loaded (${loadAccuracy} evaluated)`,
    );
    await page.screenshot({ path: join(OUT, 'io.png'), fullPage: true });

    // Delete it: the list no longer has it, nor does IndexedDB.
    await page.evaluate(
      (name) =>
        (window as unknown as Win).__h.click('mlp-model-io', `#idb-list button.delete[data-name="${name}"]`),
      NAME,
    );
    await untilWith(
      (name) => {
        const list = (window as unknown as Win).__h.root('mlp-model-io')?.querySelector('#idb-list');
        return list && !list.querySelector(`tr[data-name="${name}"]`);
      },
      [NAME],
      30_000,
    );
    const left = await page.evaluate(async (name) => {
      const db = await new Promise<IDBDatabase>((resolve, reject) => {
        const req = indexedDB.open('webgpu-mlp');
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(new Error(String(req.error)));
      });
      const tx = db.transaction(['models', 'model_info']);
      const count = (store: string) =>
        new Promise<number>((resolve) => {
          const req = tx.objectStore(store).count(name);
          req.onsuccess = () => resolve(req.result);
        });
      // Both requests in the one transaction before awaiting either.
      const n = await Promise.all([count('models'), count('model_info')]);
      db.close();
      return n;
    }, NAME);
    expect(left).toEqual([0, 0]);
  }, 120_000);

  it('Lab: two scenarios train; their rows, the overlaid validation-accuracy curves and the test accuracy agree', async () => {
    await showTab('lab');
    const tag = 'mlp-lab';
    await until(() => !!(window as unknown as Win).__h.root('mlp-lab')?.querySelector('#pick-none'));
    await page.evaluate(
      (t, rows, testRows) => {
        const h = (window as unknown as Win).__h;
        h.click(t, '#pick-none');
        h.set(t, '#lab-hidden', '32');
        h.set(t, '#lab-rows', String(rows));
        h.set(t, '#lab-test-rows', String(testRows));
        h.set(t, '#lab-epochs', '1');
      },
      tag,
      LAB_ROWS,
      LAB_TEST_ROWS,
    );
    // Lit renders the cleared picks before the boxes can be ticked.
    await until(() =>
      (window as unknown as Win).__h
        .root('mlp-lab')
        ?.querySelector('#run-lab')
        ?.textContent.includes('0 scenarios'),
    );
    await page.evaluate(
      (t, ids) => {
        for (const id of ids) (window as unknown as Win).__h.click(t, `#pick-${id}`);
      },
      tag,
      LAB_PICKS,
    );
    await until(() =>
      (window as unknown as Win).__h
        .root('mlp-lab')
        ?.querySelector('#run-lab')
        ?.textContent.includes('2 scenarios'),
    );
    await page.evaluate((t) => (window as unknown as Win).__h.click(t, '#run-lab'), tag);
    const rows = await until(() => {
      const root = (window as unknown as Win).__h.root('mlp-lab');
      const button = root?.querySelector<HTMLButtonElement>('#run-lab');
      const trs = [...(root?.querySelectorAll('#lab-results tbody tr') ?? [])];
      if (!button || button.disabled || trs.length === 0) return undefined;
      return trs.map((tr) => {
        const n = (k: string) => Number(tr.getAttribute(`data-${k}`) ?? NaN);
        return {
          scenario: tr.getAttribute('data-scenario') ?? '',
          status: tr.getAttribute('data-status') ?? '',
          best: tr.getAttribute('data-best') === 'true',
          epochs: n('epochs'),
          valAccuracy: n('val-accuracy'),
          testAccuracy: n('test-accuracy'),
          trainLoss: n('train-loss'),
        };
      });
    }, 150_000);
    const error = await page.evaluate(
      () => (window as unknown as Win).__h.root('mlp-lab')?.querySelector('#lab-error')?.textContent ?? '',
    );
    expect(error).toBe('');
    expect(rows.map((r) => r.scenario)).toEqual(LAB_PICKS);
    // trainValidation: the last 10% of the rows validate.
    const validationRows = Math.round(LAB_ROWS * 0.1);
    for (const r of rows) {
      expect(r.status).toBe('done');
      expect(r.epochs).toBe(1);
      expect(r.valAccuracy).toBeGreaterThan(LAB_ACCURACY_THRESHOLD);
      expect(r.valAccuracy).toBeLessThanOrEqual(1);
      expect(r.testAccuracy).toBeGreaterThan(LAB_ACCURACY_THRESHOLD);
      expect(r.testAccuracy).toBeLessThanOrEqual(1);
      expect(Number.isFinite(r.trainLoss) && r.trainLoss > 0).toBe(true);
      // Accuracies are fractions of whole rows: a count of correct validation and test rows.
      for (const [acc, n] of [
        [r.valAccuracy, validationRows],
        [r.testAccuracy, LAB_TEST_ROWS],
      ] as const) {
        expect(Math.abs(acc * n - Math.round(acc * n))).toBeLessThan(1e-3);
      }
    }
    // The row marked best has the highest test accuracy.
    const top = Math.max(...rows.map((r) => r.testAccuracy));
    expect(rows.filter((r) => r.best).map((r) => r.testAccuracy)).toEqual([top]);
    // The overlaid validation-accuracy chart: one series per scenario, epoch 0 (before
    // training) and epoch 1, ending at the row's validation accuracy.
    const series = await page.evaluate(() => {
      const chart = (window as unknown as Win).__h
        .root('mlp-lab')
        ?.querySelector('#lab-val-accuracy') as unknown as {
        series: { label: string; points: { x: number; y: number }[] }[];
      } | null;
      return chart?.series.map((s) => ({ label: s.label, points: s.points })) ?? [];
    });
    expect(series.map((s) => s.label)).toEqual(['Adam b16', 'Adam b32']);
    series.forEach((s, i) => {
      const row = rows[i];
      if (!row) throw new Error(`no results row for ${s.label}`);
      expect(s.points.map((p) => p.x)).toEqual([0, 1]);
      expect(s.points[1]?.y).toBe(row.valAccuracy);
      // Before training: a whole count of validation rows too; training raised it.
      const y0 = s.points[0]?.y ?? NaN;
      expect(Math.abs(y0 * validationRows - Math.round(y0 * validationRows))).toBeLessThan(1e-3);
      expect(row.valAccuracy).toBeGreaterThan(y0);
    });
    // One shared legend above the charts (none under each); pressing a scenario fades the
    // others in all three charts, pressing it again brings them all back.
    const legend = await page.evaluate(async () => {
      const root = (window as unknown as Win).__h.root('mlp-lab');
      type Chart = { series: { label: string; faded?: boolean }[]; hideLegend: boolean };
      const charts = () =>
        ['#lab-val-accuracy', '#lab-val-loss', '#lab-train-loss'].map(
          (id) => root?.querySelector(id) as unknown as Chart,
        );
      const faded = () => charts().map((c) => c.series.map((s) => s.faded ?? false));
      const buttons = [...(root?.querySelectorAll<HTMLButtonElement>('#lab-legend button') ?? [])];
      const frames = () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
      const before = faded();
      buttons[1]?.click();
      await frames();
      const focused = { faded: faded(), pressed: buttons.map((b) => b.getAttribute('aria-pressed')) };
      buttons[1]?.click();
      await frames();
      return {
        names: buttons.map((b) => b.textContent.replace(/\s+/g, ' ').trim()),
        hidden: charts().map((c) => c.hideLegend),
        before,
        focused,
        after: faded(),
      };
    });
    expect(legend.names).toEqual(['● Adam b16', '● Adam b32']);
    expect(legend.hidden).toEqual([true, true, true]);
    expect(legend.before).toEqual([
      [false, false],
      [false, false],
      [false, false],
    ]);
    expect(legend.focused).toEqual({
      faded: [
        [true, false],
        [true, false],
        [true, false],
      ],
      pressed: ['false', 'true'],
    });
    expect(legend.after).toEqual(legend.before);
    console.log(
      `lab: ${rows.map((r) => `${r.scenario}: val ${r.valAccuracy}, test ${r.testAccuracy}`).join('; ')}; before training ${series.map((s) => s.points[0]?.y).join(', ')}`,
    );
    await page.screenshot({ path: join(OUT, 'lab.png'), fullPage: true });
  }, 180_000);

  it('Vanishing gradients: the norms before training match float64 backpropagation and show the pattern; all are finite', async () => {
    // The float64 reference: the same seeded models (built here, on the host) on the same
    // 256 images (the first training rows: the panel's probe batch).
    const mnist = await loadMnist({ trainRows: PROBE_ROWS, testRows: 1 });
    const x = Float64Array.from(mnist.train.images, (v) => v / 255);
    const reference = Object.fromEntries(
      await Promise.all(
        DEEP_KINDS.map(async (kind) => {
          const m = buildDeepModel(kind, { depth: DEPTH, units: UNITS, seed: 1 });
          return [
            kind,
            referenceKernelNorms(kind, DEPTH, await m.getWeights(), x, mnist.train.labels),
          ] as const;
        }),
      ),
    ) as Record<DeepKind, number[]>;

    await showTab('vanishing');
    const tag = 'mlp-vanishing';
    await until(
      () => !!(window as unknown as Win).__h.root('mlp-vanishing')?.querySelector('#run-vanishing'),
    );
    await page.evaluate(
      (t, depth, units) => {
        const h = (window as unknown as Win).__h;
        h.set(t, '#vanishing-rows', '300');
        h.set(t, '#vanishing-epochs', '1');
        h.set(t, '#vanishing-depth', String(depth));
        h.set(t, '#vanishing-units', String(units));
      },
      tag,
      DEPTH,
      UNITS,
    );
    await until(() => {
      const b = (window as unknown as Win).__h
        .root('mlp-vanishing')
        ?.querySelector<HTMLButtonElement>('#run-vanishing');
      return b && !b.disabled;
    });
    await page.evaluate((t) => (window as unknown as Win).__h.click(t, '#run-vanishing'), tag);
    const result = await until(() => {
      const root = (window as unknown as Win).__h.root('mlp-vanishing');
      const button = root?.querySelector<HTMLButtonElement>('#run-vanishing');
      const models = [...(root?.querySelectorAll('#vanishing-results tbody tr') ?? [])];
      if (!button || button.disabled || models.length === 0) return undefined;
      return {
        error: root?.querySelector('#vanishing-error')?.textContent ?? '',
        models: models.map((tr) => ({
          kind: tr.getAttribute('data-model') ?? '',
          status: tr.getAttribute('data-status') ?? '',
          factorBefore: Number(tr.getAttribute('data-factor-before') ?? NaN),
          spreadBefore: Number(tr.getAttribute('data-spread-before') ?? NaN),
          regimeBefore: tr.getAttribute('data-regime-before') ?? '',
        })),
        cells: [...(root?.querySelectorAll('#grad-table td[data-model]') ?? [])].map((td) => ({
          kind: td.getAttribute('data-model') ?? '',
          layer: Number(td.getAttribute('data-layer')),
          epoch: Number(td.getAttribute('data-epoch')),
          norm: td.getAttribute('data-norm') ?? '',
        })),
      };
    }, 150_000);
    expect(result.error).toBe('');
    const kinds = DEEP_KINDS;
    expect(result.models.map((m) => [m.kind, m.status])).toEqual(kinds.map((k) => [k, 'done']));
    // One cell per model, layer (1..depth hidden, depth + 1 output) and epoch (0: before, 1: after).
    expect(result.cells.length).toBe(kinds.length * (DEPTH + 1) * 2);
    const norms = (kind: string, epoch: number) =>
      result.cells
        .filter((c) => c.kind === kind && c.epoch === epoch)
        .sort((a, b) => a.layer - b.layer)
        .map((c) => Number(c.norm === '' ? NaN : c.norm));
    for (const kind of kinds) {
      for (const epoch of [0, 1]) {
        const n = norms(kind, epoch);
        expect(n.length).toBe(DEPTH + 1);
        for (const v of n) {
          expect(Number.isFinite(v)).toBe(true);
          expect(v).toBeGreaterThanOrEqual(0);
        }
      }
    }
    // Before training: each kernel's gradient norm against float64 backpropagation, and the
    // regime the table shows against the reference's.
    const worst: number[] = [];
    for (const kind of kinds) {
      const ref = reference[kind];
      norms(kind, 0).forEach((v, i) => {
        const e = ref[i] ?? NaN;
        worst.push(Math.abs(v - e) / e);
        expect(Math.abs(v - e)).toBeLessThanOrEqual(1e-4 * e);
      });
      const p = gradientProfile(ref, DEPTH);
      expect(gradientRegime(p)).toBe(REGIMES[kind]);
      const row = result.models.find((m) => m.kind === kind);
      expect(row?.regimeBefore).toBe(REGIMES[kind]);
      expect(row?.factorBefore).toBeCloseTo(p.perLayer, 4);
      expect(Math.abs((row?.spreadBefore ?? NaN) / p.spread - 1)).toBeLessThan(1e-3);
      // The factor's direction: below 1 vanishing (reference ×0.44), above 1 exploding (×1.21);
      // stable ones change less than 5× from layer 20 to layer 2 (×1.17 and ×4.0).
      if (REGIMES[kind] === 'vanishing') expect(p.perLayer).toBeLessThan(1);
      else if (REGIMES[kind] === 'exploding') expect(p.perLayer).toBeGreaterThan(1);
      else expect(Math.abs(Math.log(p.across))).toBeLessThan(Math.log(5));
    }
    console.log(
      `vanishing: before training, ${kinds
        .map(
          (k) =>
            `${k} ×${gradientProfile(reference[k], DEPTH).perLayer.toFixed(4)} per layer (${REGIMES[k]})`,
        )
        .join(', ')}; largest relative difference from float64 ${Math.max(...worst).toExponential(2)}`,
    );
    await page.screenshot({ path: join(OUT, 'vanishing.png'), fullPage: true });
  }, 180_000);
});
