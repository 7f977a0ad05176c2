/**
 * The Tune tab in headless Chromium (SwiftShader):
 * - before starting, Hyperband's bracket table for maxEpochs 10 and factor 3 is Keras Tuner's
 *   (12 × 2 → 4 × 4 → 2 × 10, 6 × 4 → 2 × 10, 4 × 10: 30 trials, 120 epochs) and grid search
 *   states its trial count;
 * - a grid search over units {8, 32} × learning rate {1e-2, 1e-6} on 1,000 MNIST rows (the last
 *   100 validate), 2 epochs per trial: exactly the four trials, best first; the best shown is the
 *   top row; 1e-6 scores below 1e-2 for each units; the GPU memory is back where it was; "Use the
 *   best model" makes the current model one whose validation accuracy, evaluated in the page
 *   and by a float64 forward pass here, is the best trial's score;
 * - Hyperband with maxEpochs 2, factor 2 on the same space: its five trials, the continuation
 *   from the better first-round trial of its bracket;
 * - Stop during a grid search: no trial starts after the one running; the memory is freed.
 * Screenshots: out/demo-test/tune.png (the grid search), tune-hyperband.png.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'puppeteer-core';
import type { ChromiumSession } from '../../kernels-test/browser/chromium.js';
import { openDemo } from './train-tab.js';
import { loadMnist } from '../../src/node/mnist.js';

const OUT = join(process.cwd(), 'out', 'demo-test');
const TAG = 'mlp-tune';

/** The grid: units from 8 to 32 in steps of 24 gives {8, 32}. */
const UNITS = [8, 32];
const RATES = [1e-2, 1e-6];
const ROWS = 1000;
const VALIDATION_ROWS = ROWS / 10; // trainValidation: the last 10% validate
const EPOCHS = 2;
const BATCH = 32;
/** The Bayesian and k-fold tests' rows: a quick subset. */
const CV_ROWS = 300;

let session: ChromiumSession;
let page: Page;
const lines: string[] = [];

/** What the page functions reach through `window` (installed in beforeAll). */
interface Helpers {
  root(): ShadowRoot | null | undefined;
  /** <mlp-tune-cv>'s shadow root, inside <mlp-tune>'s. */
  cv(): ShadowRoot | null | undefined;
  /** Sets an input's (or select's) value as a user would, firing 'input' and 'change'; in <mlp-tune-cv> with inCv. */
  set(selector: string, value: string, inCv?: boolean): void;
  click(selector: string, inCv?: boolean): void;
}
type Win = Window & { __t: Helpers };

interface DemoLike {
  state: {
    engine: unknown;
    current?: {
      description: string;
      model: {
        getWeights(): Promise<{ name: string; shape: number[]; data: Float32Array }[]>;
        evaluate(x: unknown, y: undefined, args: { batchSize: number }): Promise<Record<string, number>>;
      };
    };
    use<T>(model: unknown, job: () => Promise<T>): Promise<T>;
  };
}

/** A row of #tune-trials, from its data-* attributes. */
interface Row {
  trial: number;
  status: string;
  score: number;
  hp: { units: number; learning_rate: number };
  best: boolean;
  /** 1-based; NaN for a failed trial. */
  bestEpoch: number;
  /** Epochs trained in this trial, from initialEpoch. */
  epochs: number;
  initialEpoch: number;
  /** Hyperband's; NaN under the other searchers. */
  bracket: number;
  round: number;
  parent: number;
}

/** What the panel shows once a search ended. */
interface SearchResult {
  status: string;
  error: string;
  rows: Row[];
  best: { trial: number; score: number; hp: Row['hp'] };
  /** GPU live bytes before and after the search. */
  memory: [number, number];
  chart: { label: string; points: { x: number; y: number }[] }[];
  curves: { label: string; faded: boolean; points: { x: number; y: number }[] }[];
  log: string;
}

beforeAll(async () => {
  mkdirSync(OUT, { recursive: true });
  session = await openDemo('/#tune', lines);
  page = session.page;
  await page.setViewport({ width: 1280, height: 1100 });
  await page.evaluate((tag) => {
    const root = () => document.querySelector('mlp-demo')?.shadowRoot?.querySelector(tag)?.shadowRoot;
    const cv = () => root()?.querySelector('mlp-tune-cv')?.shadowRoot;
    (window as unknown as Win).__t = {
      root,
      cv,
      set(selector, value, inCv = false) {
        const el = (inCv ? cv() : root())?.querySelector<HTMLInputElement | HTMLSelectElement>(selector);
        if (!el) throw new Error(`no ${selector} in <${tag}>`);
        el.value = value;
        el.dispatchEvent(new Event('input', { bubbles: true, composed: true }));
        el.dispatchEvent(new Event('change', { bubbles: true, composed: true }));
      },
      click(selector, inCv = false) {
        const el = (inCv ? cv() : root())?.querySelector<HTMLElement>(selector);
        if (!el) throw new Error(`no ${selector} in <${tag}>`);
        if ((el as HTMLButtonElement).disabled) throw new Error(`${selector} in <${tag}> is disabled`);
        el.click();
      },
    };
  }, TAG);
  await until(() => !!(window as unknown as Win).__t.root()?.querySelector('#run-tune'), 300_000);
}, 300_000);

afterAll(async () => {
  await session.close();
  if (process.env.WEBGPU_MLP_TEST_VERBOSE) for (const l of lines) console.log(l);
});

/** Polls `fn` in the page until it returns something other than null/undefined/false/''. */
async function until<T>(fn: () => T, timeout = 60_000): Promise<NonNullable<T>> {
  try {
    const handle = await page.waitForFunction(fn, { timeout, polling: 200 });
    return (await handle.jsonValue()) as NonNullable<T>;
  } catch (e) {
    const said = await page
      .evaluate(() =>
        [...((window as unknown as Win).__t.root()?.querySelectorAll('.status, .error') ?? [])]
          .map((el) => el.textContent.replace(/\s+/g, ' ').trim())
          .filter((t) => t !== ''),
      )
      .catch(() => []);
    throw new Error(`${String(e)}\n${[...said, ...lines.slice(-15)].join('\n')}`, { cause: e });
  }
}

async function setFields(values: Record<string, string>, inCv = false): Promise<void> {
  await page.evaluate(
    (v: Record<string, string>, cv: boolean) => {
      for (const [selector, value] of Object.entries(v))
        (window as unknown as Win).__t.set(selector, value, cv);
    },
    values,
    inCv,
  );
}

/** Waits until the search ended (Start enabled again, the memory line shown) and reads the panel. */
function searchResult(timeout = 60_000): Promise<SearchResult> {
  return until(() => {
    const root = (window as unknown as Win).__t.root();
    const button = root?.querySelector<HTMLButtonElement>('#run-tune');
    const memory = root?.querySelector('#tune-memory');
    if (!button || button.disabled || !memory) return undefined;
    const best = root?.querySelector('#tune-best');
    const num = (el: Element, k: string) => Number(el.getAttribute(`data-${k}`) || NaN);
    const result: SearchResult = {
      status: root?.querySelector('#tune-status')?.textContent.trim() ?? '',
      error: root?.querySelector('#tune-error')?.textContent ?? '',
      rows: [...(root?.querySelectorAll('#tune-trials tbody tr') ?? [])].map((tr) => ({
        trial: num(tr, 'trial'),
        status: tr.getAttribute('data-status') ?? '',
        score: num(tr, 'score'),
        hp: JSON.parse(tr.getAttribute('data-hp') ?? '{}') as Row['hp'],
        best: tr.getAttribute('data-best') === 'true',
        bestEpoch: num(tr, 'best-epoch'),
        epochs: num(tr, 'epochs'),
        initialEpoch: num(tr, 'initial-epoch'),
        bracket: num(tr, 'bracket'),
        round: num(tr, 'round'),
        parent: num(tr, 'parent'),
      })),
      best: {
        trial: best ? num(best, 'trial') : NaN,
        score: best ? num(best, 'score') : NaN,
        hp: JSON.parse(best?.getAttribute('data-hp') ?? '{}') as Row['hp'],
      },
      memory: [num(memory, 'before'), num(memory, 'after')],
      chart:
        (
          root?.querySelector('#tune-chart') as unknown as {
            series: { label: string; points: { x: number; y: number }[] }[];
          } | null
        )?.series.map((s) => ({ label: s.label, points: s.points })) ?? [],
      curves:
        (
          root?.querySelector('#tune-curves') as unknown as {
            series: { label: string; faded?: boolean; points: { x: number; y: number }[] }[];
          } | null
        )?.series.map((s) => ({ label: s.label, faded: s.faded ?? false, points: s.points })) ?? [],
      log: root?.querySelector('#tune-log pre')?.textContent ?? '',
    };
    return result;
  }, timeout);
}

/** Float64 forward pass of a 784-h-10 relu/softmax MLP (getWeights order): the correct rows. */
function correctRows(
  weights: { shape: number[]; data: Float32Array }[],
  images: Uint8Array,
  labels: Uint8Array,
): number {
  const [k1, b1, k2, b2] = weights;
  if (!k1 || !b1 || !k2 || !b2) throw new Error('expected Dense kernel, bias, Dense kernel, bias');
  const [fin = 0, hidden = 0] = k1.shape;
  const classes = k2.shape[1] ?? 0;
  let correct = 0;
  for (let r = 0; r < labels.length; r++) {
    const h = Float64Array.from(b1.data);
    for (let i = 0; i < fin; i++) {
      const x = (images[r * fin + i] ?? 0) / 255;
      if (x !== 0) for (let j = 0; j < hidden; j++) h[j] = (h[j] ?? 0) + x * (k1.data[i * hidden + j] ?? 0);
    }
    const z = Float64Array.from(b2.data);
    for (let j = 0; j < hidden; j++) {
      const a = Math.max(0, h[j] ?? 0);
      for (let c = 0; c < classes; c++) z[c] = (z[c] ?? 0) + a * (k2.data[j * classes + c] ?? 0);
    }
    // softmax is monotonic: the predicted class is the largest logit
    let arg = 0;
    for (let c = 1; c < classes; c++) if ((z[c] ?? -Infinity) > (z[arg] ?? -Infinity)) arg = c;
    if (arg === labels[r]) correct++;
  }
  return correct;
}

describe('the Tune tab', () => {
  it('shows Keras Tuner’s Hyperband brackets for maxEpochs 10, factor 3, and the grid’s trial count, before starting', async () => {
    await setFields({ '#tune-searcher': 'hyperband' });
    await setFields({ '#tune-max-epochs': '10', '#tune-factor': '3' });
    const schedule = await until(() => {
      const root = (window as unknown as Win).__t.root();
      const count = root?.querySelector('#tune-count');
      if (count?.getAttribute('data-trials') !== '30') return undefined;
      return {
        trials: Number(count.getAttribute('data-trials')),
        epochs: Number(count.getAttribute('data-epochs')),
        brackets: [...(root?.querySelectorAll('#tune-schedule tbody tr') ?? [])].map((tr) => ({
          bracket: Number(tr.getAttribute('data-bracket')),
          rounds: [...tr.querySelectorAll('td[data-round]')].map((td) => [
            Number(td.getAttribute('data-trials')),
            Number(td.getAttribute('data-epochs')),
          ]),
        })),
      };
    });
    // Keras Tuner's HyperbandOracle for max_epochs=10, factor=3 (three brackets, most
    // exploratory first; [trials, total epochs] per round).
    expect(schedule.brackets).toEqual([
      {
        bracket: 2,
        rounds: [
          [12, 2],
          [4, 4],
          [2, 10],
        ],
      },
      {
        bracket: 1,
        rounds: [
          [6, 4],
          [2, 10],
        ],
      },
      { bracket: 0, rounds: [[4, 10]] },
    ]);
    expect(schedule.trials).toBe(30);
    // 12·2 + 4·2 + 2·6, 6·4 + 2·6, 4·10: each round trains only its extra epochs.
    expect(schedule.epochs).toBe(120);

    await setFields({ '#tune-searcher': 'grid' });
    await setFields({
      '#tune-units-min': String(UNITS[0]),
      '#tune-units-max': String(UNITS[1]),
      '#tune-units-step': String((UNITS[1] ?? 0) - (UNITS[0] ?? 0)),
      '#tune-rates': '1e-2, 1e-6',
      '#tune-epochs': String(EPOCHS),
    });
    const grid = await until(() => {
      const root = (window as unknown as Win).__t.root();
      const count = root?.querySelector('#tune-count');
      return count?.getAttribute('data-trials') === '4' && !root?.querySelector('#tune-schedule')
        ? { trials: 4, epochs: Number(count.getAttribute('data-epochs')), text: count.textContent }
        : undefined;
    });
    expect(grid.epochs).toBe(4 * EPOCHS);
    expect(grid.text).toMatch(/Grid search: 4 trials/);

    // A field the user got wrong is named in the panel, before anything starts.
    await setFields({ '#tune-rates': '1e-2, fast' });
    const complaint = await until(
      () => (window as unknown as Win).__t.root()?.querySelector('#tune-plan-error')?.textContent,
    );
    expect(complaint).toMatch(/learning rates.*"fast"/);
    await setFields({ '#tune-rates': '1e-2, 1e-6' });
  }, 60_000);

  it('grid search: the four trials, best first; 1e-6 below 1e-2; memory freed; "Use the best model" gives the best trial’s val_accuracy', async () => {
    await setFields({
      '#tune-searcher': 'grid',
      '#tune-rows': String(ROWS),
      '#tune-batch': String(BATCH),
      '#tune-seed': '1',
    });
    await until(
      () =>
        (window as unknown as Win).__t.root()?.querySelector('#tune-count')?.getAttribute('data-trials') ===
        '4',
    );
    const t0 = performance.now();
    await page.evaluate(() => (window as unknown as Win).__t.click('#run-tune'));
    // Trials appear as they finish: the first row shows up while the search still runs.
    const firstSeen = await until(() => {
      const root = (window as unknown as Win).__t.root();
      const n = root?.querySelectorAll('#tune-trials tbody tr').length ?? 0;
      return n > 0
        ? { rows: n, running: !!root?.querySelector<HTMLButtonElement>('#run-tune')?.disabled }
        : undefined;
    });
    const result = await searchResult();
    const seconds = (performance.now() - t0) / 1000;
    expect(result.error).toBe('');
    expect(result.status).toMatch(/^Done: 4 trials \(4 completed, 0 failed\)/);
    expect(firstSeen.running).toBe(true);
    const rows = result.rows;
    // The tuner's own line, printed before the first trial.
    expect(result.log).toContain('Grid search: 4 trials (units: 2 × learning_rate: 2)');

    // Exactly the product, each once, every trial trained its epochs.
    expect(rows).toHaveLength(UNITS.length * RATES.length);
    const key = (hp: Row['hp']) => `${hp.units}/${hp.learning_rate}`;
    expect(rows.map((r) => key(r.hp)).sort()).toEqual(
      UNITS.flatMap((u) => RATES.map((lr) => `${u}/${lr}`)).sort(),
    );
    expect(rows.map((r) => r.trial).sort()).toEqual([0, 1, 2, 3]);
    for (const r of rows) {
      expect(r.status).toBe('completed');
      expect(r.epochs).toBe(EPOCHS);
      expect([1, 2]).toContain(r.bestEpoch);
      // An accuracy is a whole count of the 100 validation rows.
      expect(Math.abs(r.score * VALIDATION_ROWS - Math.round(r.score * VALIDATION_ROWS))).toBeLessThan(1e-4);
    }

    // Best first: the table is sorted by score, the first row is the one marked best, and
    // the summary shows its hyperparameters and score.
    const scores = rows.map((r) => r.score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    const top = rows[0] as Row;
    expect(top.score).toBe(Math.max(...scores));
    expect(rows.filter((r) => r.best)).toEqual([top]);
    expect(result.best).toEqual({ trial: top.trial, score: top.score, hp: top.hp });

    // For each width, Adam at 1e-6 scores below 1e-2. Both trials start from the same seeded
    // weights; Adam's step per weight is at most about the learning rate, so in 2 × 29 steps
    // no weight moves more than ~6e-5 at 1e-6 and the model stays the random initial one
    // (chance: ~10% of 10 classes), while 1e-2 learns MNIST's digits within one epoch.
    for (const units of UNITS) {
      const at = (lr: number) => rows.find((r) => r.hp.units === units && r.hp.learning_rate === lr);
      const fast = at(1e-2);
      const slow = at(1e-6);
      if (!fast || !slow) throw new Error(`missing a trial for units ${units}`);
      expect(slow.score).toBeLessThan(fast.score);
      expect(slow.score).toBeLessThan(0.35);
      expect(fast.score).toBeGreaterThan(0.5);
    }
    expect(top.hp.learning_rate).toBe(1e-2);

    // The chart: one line per learning rate, a point per units at that trial's score.
    expect(result.chart.map((s) => s.label)).toEqual(['learning rate 1e-2', 'learning rate 1e-6']);
    result.chart.forEach((s, i) => {
      const lr = RATES[i];
      expect(s.points).toEqual(
        UNITS.map((u) => ({
          x: u,
          y: rows.find((r) => r.hp.units === u && r.hp.learning_rate === lr)?.score,
        })),
      );
    });

    // Each trial's curve: its val_accuracy at epochs 1 and 2, whose best is the trial's score
    // at its best epoch; after the search only the best trial is not faded.
    expect(result.curves).toHaveLength(rows.length);
    for (const r of rows) {
      const curve = result.curves.find((c) => c.label.startsWith(`trial ${r.trial}: `));
      expect(curve?.points.map((p) => p.x)).toEqual([1, 2]);
      expect(curve?.points[r.bestEpoch - 1]?.y).toBe(r.score); // bestEpoch as shown: from 1
      expect(Math.max(...(curve?.points ?? []).map((p) => p.y))).toBe(r.score);
      expect(curve?.faded).toBe(r !== top);
    }

    // Every trial's model and both datasets were freed.
    const [before, after] = result.memory;
    expect(after).toBe(before);

    // "Use the best model": the current model is the best trial's, with its best epoch's weights.
    await page.evaluate(() => (window as unknown as Win).__t.click('#tune-use'));
    const description = await until(() => {
      const used = (window as unknown as Win).__t.root()?.querySelector('#tune-used');
      const current = (document.querySelector('mlp-demo') as unknown as DemoLike).state.current;
      return used && current ? current.description : undefined;
    });
    expect(description).toContain(`tuned: 784-${top.hp.units}-10 relu, Adam 1e-2`);
    // The Predict tab predicts the test set with every new model: wait until it has (the
    // model runs one call at a time), then evaluate it on the same validation rows in the page.
    await until(() => {
      const demo = document.querySelector('mlp-demo');
      const predict = demo?.shadowRoot?.querySelector('mlp-predict') as unknown as {
        analysis?: { model: unknown };
      } | null;
      return predict?.analysis?.model === (demo as unknown as DemoLike).state.current?.model;
    });
    const evaluated = (await page.evaluate(`(async () => {
      const demo = document.querySelector('mlp-demo');
      const { loadMnist, trainValidation, gpuSplit } = await import('/src/mnist.ts');
      const mnist = await loadMnist(${ROWS}, 1);
      const { validation } = trainValidation(mnist.train, ${ROWS}, 0.1);
      const gpu = gpuSplit(demo.state.engine, validation, 'tune test validation');
      try {
        const model = demo.state.current.model;
        const logs = await demo.state.use(model, () => model.evaluate(gpu, undefined, { batchSize: ${BATCH} }));
        return { rows: validation.rows, accuracy: logs.accuracy };
      } finally {
        gpu.dispose();
      }
    })()`)) as { rows: number; accuracy: number };
    expect(evaluated.rows).toBe(VALIDATION_ROWS);
    expect(Math.abs(evaluated.accuracy - top.score)).toBeLessThanOrEqual(1e-6);

    // A float64 forward pass of the current model's weights on the same rows, here.
    const weights = await page.evaluate(async () => {
      const current = (document.querySelector('mlp-demo') as unknown as DemoLike).state.current;
      if (!current) throw new Error('no current model');
      const ws = await current.model.getWeights();
      return ws.map((w) => ({ shape: w.shape, data: Array.from(w.data) }));
    });
    expect(weights.map((w) => w.shape)).toEqual([
      [784, top.hp.units],
      [top.hp.units],
      [top.hp.units, 10],
      [10],
    ]);
    const mnist = await loadMnist({ trainRows: ROWS, testRows: 1 });
    const start = ROWS - VALIDATION_ROWS;
    const correct = correctRows(
      weights.map((w) => ({ shape: w.shape, data: Float32Array.from(w.data) })),
      mnist.train.images.subarray(start * 784, ROWS * 784),
      mnist.train.labels.subarray(start, ROWS),
    );
    // float32 on the GPU and float64 here may disagree on a row whose two largest logits tie
    // to float32 precision; none did in the runs here, one would be within this bound.
    expect(Math.abs(correct - Math.round(top.score * VALIDATION_ROWS))).toBeLessThanOrEqual(1);

    console.log(
      `tune: grid of 4 in ${seconds.toFixed(1)} s; ${rows
        .map((r) => `units ${r.hp.units} lr ${r.hp.learning_rate}: ${r.score} (epoch ${r.bestEpoch})`)
        .join(
          '; ',
        )}; best evaluated ${evaluated.accuracy}, float64 ${correct}/${VALIDATION_ROWS}; live bytes ${before} → ${after}`,
    );
    await page.screenshot({ path: join(OUT, 'tune.png'), fullPage: true });
  }, 150_000);
  it('Hyperband (maxEpochs 2, factor 2): its five trials, the round-1 trial continuing the better of its bracket’s first round', async () => {
    await setFields({ '#tune-searcher': 'hyperband' });
    await setFields({ '#tune-max-epochs': '2', '#tune-factor': '2' });
    // Keras Tuner's schedule: bracket 1 trains 2 configurations for 1 epoch and continues the
    // better one to 2; bracket 0 trains 2 for 2 epochs: 5 trials, 2 + 1 + 4 = 7 epochs.
    await until(() => {
      const count = (window as unknown as Win).__t.root()?.querySelector('#tune-count');
      return count?.getAttribute('data-trials') === '5' && count.getAttribute('data-epochs') === '7';
    });
    await page.evaluate(() => (window as unknown as Win).__t.click('#run-tune'));
    const result = await searchResult();
    expect(result.error).toBe('');
    expect(result.status).toMatch(/^Done: 5 trials \(5 completed, 0 failed\)/);
    const rows = result.rows;
    const where = (r: Row) => `${r.bracket}/${r.round}: ${r.initialEpoch}+${r.epochs}`;
    expect(rows.map(where).sort()).toEqual(['0/0: 0+2', '0/0: 0+2', '1/0: 0+1', '1/0: 0+1', '1/1: 1+1']);
    // The four first-round configurations are the whole space, each once.
    const first = rows.filter((r) => r.round === 0);
    expect(new Set(first.map((r) => `${r.hp.units}/${r.hp.learning_rate}`)).size).toBe(4);
    // The continuation: the better of bracket 1's first round (the earlier one on a tie), its
    // hyperparameters, trained for epoch 2 only.
    const round0 = rows.filter((r) => r.bracket === 1 && r.round === 0).sort((a, b) => a.trial - b.trial);
    const [a, b] = round0 as [Row, Row];
    const better = b.score > a.score ? b : a;
    const cont = rows.find((r) => r.round === 1) as Row;
    expect(cont.parent).toBe(better.trial);
    expect(cont.hp).toEqual(better.hp);
    expect(cont.bestEpoch).toBe(2);
    // Best first, the best one shown.
    const scores = rows.map((r) => r.score);
    expect(scores).toEqual([...scores].sort((x, y) => y - x));
    expect(result.best.trial).toBe(rows[0]?.trial);
    const [before, after] = result.memory;
    expect(after).toBe(before);
    await page.screenshot({ path: join(OUT, 'tune-hyperband.png'), fullPage: true });
    console.log(
      `tune: hyperband ${rows.map((r) => `#${r.trial} [${where(r)}] units ${r.hp.units} lr ${r.hp.learning_rate}: ${r.score}`).join('; ')}; live bytes ${before} → ${after}`,
    );
  }, 60_000);

  it('Stop ends the search after the trial running then; the GPU memory is freed', async () => {
    await setFields({ '#tune-searcher': 'grid' });
    await setFields({ '#tune-epochs': '3' });
    await until(
      () =>
        (window as unknown as Win).__t.root()?.querySelector('#tune-count')?.getAttribute('data-trials') ===
        '4',
    );
    await page.evaluate(() => (window as unknown as Win).__t.click('#run-tune'));
    await until(
      () =>
        ((window as unknown as Win).__t.root()?.querySelectorAll('#tune-trials tbody tr').length ?? 0) > 0,
    );
    await page.evaluate(() => (window as unknown as Win).__t.click('#stop-tune'));
    const result = await searchResult();
    expect(result.error).toBe('');
    // The first trial had finished; the one running when Stop came ends at its next GPU
    // submission and is recorded (with a partial epoch); no further trial starts.
    expect(result.status).toMatch(/^Stopped after [12] trials?/);
    expect(result.rows.length).toBeGreaterThanOrEqual(1);
    expect(result.rows.length).toBeLessThanOrEqual(2);
    const [before, after] = result.memory;
    expect(after).toBe(before);
    console.log(
      `tune: stopped after ${result.rows.length} trials (${result.rows.map((r) => `${r.epochs} epochs`).join(', ')})`,
    );
  }, 60_000);

  it('Bayesian optimization: maxTrials trials, none repeated, the first random ones then the process’s; the best shown is the top trial', async () => {
    await setFields({ '#tune-searcher': 'bayesian' });
    // units {8, 16, 24, 32} × learning rate {1e-2, 1e-3}: 8 configurations; 4 trials, 2 random first.
    await setFields({
      '#tune-units-min': '8',
      '#tune-units-max': '32',
      '#tune-units-step': '8',
      '#tune-rates': '1e-2, 1e-3',
      '#tune-trials-count': '4',
      '#tune-initial-points': '2',
      '#tune-epochs': '1',
      '#tune-rows': String(CV_ROWS),
      '#tune-seed': '1',
    });
    await until(() => {
      const count = (window as unknown as Win).__t.root()?.querySelector('#tune-count');
      return count?.getAttribute('data-trials') === '4' && count.getAttribute('data-initial') === '2';
    });
    await page.evaluate(() => (window as unknown as Win).__t.click('#run-tune'));
    const result = await searchResult();
    expect(result.error).toBe('');
    expect(result.status).toMatch(/^Done: 4 trials \(4 completed, 0 failed\)/);
    expect(result.log).toContain(
      'Bayesian optimization: 4 trials over units: 4 × learning_rate: 2, the first 2 random',
    );
    const rows = result.rows;
    expect(rows).toHaveLength(4);
    expect(rows.map((r) => r.trial).sort()).toEqual([0, 1, 2, 3]);
    // No configuration twice, each one inside the space.
    const keys = rows.map((r) => `${r.hp.units}/${r.hp.learning_rate}`);
    expect(new Set(keys).size).toBe(4);
    for (const r of rows) {
      expect([8, 16, 24, 32]).toContain(r.hp.units);
      expect([1e-2, 1e-3]).toContain(r.hp.learning_rate);
      expect(r.status).toBe('completed');
      // An accuracy is a whole count of the 30 validation rows.
      const v = CV_ROWS / 10;
      expect(Math.abs(r.score * v - Math.round(r.score * v))).toBeLessThan(1e-4);
    }
    // Best first; the summary is the top row.
    const scores = rows.map((r) => r.score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    const top = rows[0] as Row;
    expect(rows.filter((r) => r.best)).toEqual([top]);
    expect(result.best).toEqual({ trial: top.trial, score: top.score, hp: top.hp });
    const [before, after] = result.memory;
    expect(after).toBe(before);
    console.log(
      `tune: bayesian ${[...rows]
        .sort((a, b) => a.trial - b.trial)
        .map((r) => `#${r.trial} units ${r.hp.units} lr ${r.hp.learning_rate}: ${r.score}`)
        .join('; ')}`,
    );
  }, 60_000);

  it('grid search with 2-fold CV (scikit-learn): 2 candidates × 2 folds, the cv_results_ table, mean of the splits, rank 1 the higher mean', async () => {
    await setFields({ '#tune-mode': 'cv' });
    await until(() => !!(window as unknown as Win).__t.cv()?.querySelector('#run-cv'));
    await setFields(
      {
        '#cv-units': '16',
        '#cv-rates': '1e-2, 1e-6',
        '#cv-folds': '2',
        '#cv-rows': String(CV_ROWS),
        '#cv-epochs': '1',
        '#cv-batch': String(BATCH),
        '#cv-seed': '1',
      },
      true,
    );
    await until(() => {
      const count = (window as unknown as Win).__t.cv()?.querySelector('#cv-count');
      return count?.getAttribute('data-candidates') === '2' && count.getAttribute('data-fits') === '4';
    });
    await page.evaluate(() => (window as unknown as Win).__t.click('#run-cv', true));
    const result = await cvResult();
    expect(result.error).toBe('');
    expect(result.status).toMatch(/^Done: 4 fits in/);
    expect(result.fitting).toBe('Fitting 2 folds for each of 2 candidates, totalling 4 fits');
    // The callback's onTrainEnd counted every fit (and the refit after them).
    expect(result.fits).toEqual([4, 4]);
    // One row per candidate in scikit-learn's grid order (keys sorted, the last fastest).
    expect(result.rows.map((r) => r.params)).toEqual([
      { learning_rate: 1e-2, units: 16 },
      { learning_rate: 1e-6, units: 16 },
    ]);
    for (const r of result.rows) {
      expect(r.splits).toHaveLength(2);
      const [s0 = NaN, s1 = NaN] = r.splits;
      for (const v of r.splits) expect(v).toBeGreaterThanOrEqual(0);
      // mean and population std of the two splits shown.
      expect(Math.abs(r.mean - (s0 + s1) / 2)).toBeLessThan(1e-12);
      expect(Math.abs(r.std - Math.abs(s0 - s1) / 2)).toBeLessThan(1e-12);
    }
    const [fast, slow] = result.rows as [CvRow, CvRow];
    // Adam at 1e-6 stays near its random start (see the grid test), 1e-2 learns.
    expect(fast.mean).toBeGreaterThan(slow.mean);
    expect([fast.rank, slow.rank]).toEqual([1, 2]);
    expect(result.bestRows).toEqual([0]);
    expect(result.best).toEqual({ params: fast.params, score: fast.mean });
    // The refitted best model is the only thing the search still holds.
    const [before, after] = result.memory;
    expect(after).toBeGreaterThan(before);
    cvBefore = before;
    console.log(
      `tune: cv ${result.rows.map((r) => `lr ${String(r.params.learning_rate)}: ${r.splits.join(', ')} → ${r.mean} ± ${r.std}`).join('; ')}; live bytes ${before} → ${after}`,
    );

    // At 390 px wide the tab scrolls its table, not the page.
    await page.setViewport({ width: 390, height: 1100 });
    const widths = await until(() => {
      const host = (window as unknown as Win).__t.root()?.host;
      const cvHost = (window as unknown as Win).__t.cv()?.host;
      return host && cvHost
        ? { tune: host.scrollWidth, cv: cvHost.scrollWidth, page: host.clientWidth }
        : undefined;
    });
    await page.screenshot({ path: join(OUT, 'tune-cv-390.png'), fullPage: true });
    await page.setViewport({ width: 1280, height: 1100 });
    expect(widths.tune).toBeLessThanOrEqual(widths.page);
    expect(widths.cv).toBeLessThanOrEqual(widths.page);
    expect(widths.page).toBeLessThanOrEqual(390);
    await page.screenshot({ path: join(OUT, 'tune-cv.png'), fullPage: true });
  }, 60_000);

  it('Stop in the CV mode ends the fit running: fewer fits than planned, it says so, the memory is freed', async () => {
    // 2 × 2 candidates × 2 folds = 8 fits of 4 epochs.
    await setFields({ '#cv-units': '16, 32', '#cv-epochs': '4' }, true);
    await until(
      () =>
        (window as unknown as Win).__t.cv()?.querySelector('#cv-count')?.getAttribute('data-fits') === '8',
    );
    await page.evaluate(() => (window as unknown as Win).__t.click('#run-cv', true));
    await until(
      () =>
        Number((window as unknown as Win).__t.cv()?.querySelector('#cv-fits')?.getAttribute('data-fits')) >=
        1,
    );
    await page.evaluate(() => (window as unknown as Win).__t.click('#stop-cv', true));
    const result = await cvResult();
    expect(result.error).toBe('');
    const [fits, planned] = result.fits;
    expect(planned).toBe(8);
    expect(fits).toBeGreaterThanOrEqual(1);
    expect(fits).toBeLessThan(planned);
    expect(result.status).toMatch(new RegExp(`^Stopped after ${fits} of 8 fits`));
    // A candidate is tabled only with both its folds; the one cut short is left out; no refit.
    expect(result.rows.length).toBeLessThanOrEqual(Math.floor(fits / 2));
    const [before, after] = result.memory;
    // The last search's refitted model was freed when this one started, and nothing is left now.
    expect(before).toBe(cvBefore);
    expect(after).toBe(before);
    console.log(`tune: cv stopped after ${fits} of ${planned} fits, ${result.rows.length} candidates tabled`);
  }, 60_000);
});

/** A row of #cv-results. */
interface CvRow {
  params: Record<string, unknown>;
  splits: number[];
  mean: number;
  std: number;
  rank: number;
}

/** What <mlp-tune-cv> shows once its search ended. */
interface CvResult {
  status: string;
  error: string;
  fitting: string;
  /** Fits ended (the refit not counted), of those planned. */
  fits: [number, number];
  rows: CvRow[];
  /** Indices of the highlighted rows. */
  bestRows: number[];
  best: { params: Record<string, unknown>; score: number } | undefined;
  memory: [number, number];
}

/** Live bytes before the CV search (the memory the next search must find again). */
let cvBefore = NaN;

/** Waits until the CV search ended (Start enabled, the memory line shown) and reads <mlp-tune-cv>. */
function cvResult(timeout = 60_000): Promise<CvResult> {
  return until((): CvResult | undefined => {
    const root = (window as unknown as Win).__t.cv();
    const button = root?.querySelector<HTMLButtonElement>('#run-cv');
    const memory = root?.querySelector('#cv-memory');
    if (!button || button.disabled || !memory) return undefined;
    const num = (el: Element | null | undefined, k: string) => Number(el?.getAttribute(`data-${k}`) || NaN);
    const trs = [...(root?.querySelectorAll('#cv-results tbody tr') ?? [])];
    const best = root?.querySelector('#cv-best');
    const fits = root?.querySelector('#cv-fits');
    return {
      status: root?.querySelector('#cv-status')?.textContent.trim() ?? '',
      error: root?.querySelector('#cv-error')?.textContent ?? '',
      fitting: root?.querySelector('#cv-fitting')?.textContent.trim() ?? '',
      fits: [num(fits, 'fits'), num(fits, 'planned')],
      rows: trs.map((tr) => ({
        params: JSON.parse(tr.getAttribute('data-params') ?? '{}') as Record<string, unknown>,
        splits: JSON.parse(tr.getAttribute('data-splits') ?? '[]') as number[],
        mean: num(tr, 'mean'),
        std: num(tr, 'std'),
        rank: num(tr, 'rank'),
      })),
      bestRows: trs.flatMap((tr, i) => (tr.classList.contains('best') ? [i] : [])),
      best: best
        ? {
            params: JSON.parse(best.getAttribute('data-params') ?? '{}') as Record<string, unknown>,
            score: num(best, 'score'),
          }
        : undefined,
      memory: [num(memory, 'before'), num(memory, 'after')],
    };
  }, timeout);
}
