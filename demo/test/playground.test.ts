/**
 * The Playground tab in headless Chromium (SwiftShader), driven as a student would: XOR,
 * x₁ and x₂ only, one hidden layer of 8 tanh units, learning rate 0.1; Train, then Pause
 * after 20 epochs or more. The test accuracy it shows must be ≥ 95%; the boundary it drew
 * must be the model's own predictions at the grid's points (model.predict on those points
 * as host rows, in the page), and every cell of the boundary canvas must have the colour of
 * that prediction on the scale (playground-draw.ts). Each hidden unit has its canvas, and
 * the loss chart's data table lists every epoch's two losses.
 * Screenshot: out/demo-test/playground.png.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChromiumSession } from '../../kernels-test/browser/chromium.js';
import { tableNumber } from '../src/export.js';
import { scaleColor } from '../src/playground-draw.js';
import { openDemo, until } from './train-tab.js';

const OUT = join(process.cwd(), 'out', 'demo-test');
const EPOCHS = 20;

let session: ChromiumSession;
const lines: string[] = [];

beforeAll(async () => {
  mkdirSync(OUT, { recursive: true });
  session = await openDemo('/#playground', lines);
  await until(session.page, () =>
    document
      .querySelector('mlp-demo')
      ?.shadowRoot?.querySelector('mlp-playground')
      ?.shadowRoot?.querySelector('#pg-train'),
  );
}, 300_000);

afterAll(async () => {
  await session.close();
});

describe('the Playground tab', () => {
  it('trains XOR to ≥ 95% and draws the boundary the model predicts', async () => {
    const { page } = session;
    // The form, as a user sets it: each control's own change event.
    await page.evaluate(async () => {
      const root = document
        .querySelector('mlp-demo')
        ?.shadowRoot?.querySelector('mlp-playground')?.shadowRoot;
      const set = (id: string, value: string) => {
        const el = root?.querySelector<HTMLInputElement | HTMLSelectElement>(`#${id}`);
        if (!el) throw new Error(`no #${id}`);
        el.value = value;
        el.dispatchEvent(new Event('change', { bubbles: true, composed: true }));
      };
      set('pg-dataset', 'XOR');
      set('pg-hidden', '8');
      set('pg-lr', '0.1');
      await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
      root?.querySelector<HTMLButtonElement>('#pg-train')?.click();
    });
    // Until the epoch count reaches EPOCHS, or an error shows.
    const waited = await page.waitForFunction(
      (n: number) => {
        const root = document
          .querySelector('mlp-demo')
          ?.shadowRoot?.querySelector('mlp-playground')?.shadowRoot;
        const error = root?.querySelector('#pg-error')?.textContent;
        if (error) return `error: ${error}`;
        return Number(root?.querySelector('#pg-numbers')?.getAttribute('data-epoch')) >= n && 'ok';
      },
      { timeout: 240_000, polling: 200 },
      EPOCHS,
    );
    expect(await waited.jsonValue(), lines.join('\n')).toBe('ok');
    await page.evaluate(() =>
      document
        .querySelector('mlp-demo')
        ?.shadowRoot?.querySelector('mlp-playground')
        ?.shadowRoot?.querySelector<HTMLButtonElement>('#pg-pause')
        ?.click(),
    );
    await until(page, () => {
      const b = document
        .querySelector('mlp-demo')
        ?.shadowRoot?.querySelector('mlp-playground')
        ?.shadowRoot?.querySelector<HTMLButtonElement>('#pg-train');
      return b && !b.disabled;
    });
    const shown = await page.evaluate(async () => {
      const el = document.querySelector('mlp-demo')?.shadowRoot?.querySelector('mlp-playground');
      const root = el?.shadowRoot;
      const run = el?.run;
      const drawn = el?.drawn;
      if (!el || !root || !run || !drawn) throw new Error('no run or no boundary drawn');
      const n = run.grid.length / 2;
      const rows = Array.from({ length: n }, (_, i) => [run.grid[2 * i] ?? NaN, run.grid[2 * i + 1] ?? NaN]);
      const p = await run.model.predict(rows);
      const predicted = (Array.isArray(p) ? p[0] : p)?.data ?? new Float32Array();
      const canvas = root.querySelector<HTMLCanvasElement>('#boundary');
      const pixels = canvas?.getContext('2d')?.getImageData(0, 0, canvas.width, canvas.height).data;
      const numbers = root.querySelector('#pg-numbers');
      return {
        epoch: run.epoch,
        drawnEpoch: drawn.epoch,
        shownEpoch: Number(numbers?.getAttribute('data-epoch')),
        valAccuracy: Number(numbers?.getAttribute('data-val-accuracy')),
        text: numbers?.textContent.replace(/\s+/g, ' ').trim() ?? '',
        resolution: run.resolution,
        canvasSize: [canvas?.width, canvas?.height],
        drawn: Array.from(drawn.boundary),
        predicted: Array.from(predicted),
        pixels: Array.from(pixels ?? []),
        units: root.querySelectorAll('#pg-units canvas').length,
        settings: {
          dataset: run.settings.dataset,
          hidden: run.settings.hidden,
          lr: run.settings.learningRate,
        },
      };
    });
    expect(shown.settings).toEqual({ dataset: 'xor', hidden: [8], lr: 0.1 });
    expect(shown.epoch).toBeGreaterThanOrEqual(EPOCHS);
    // The numbers and the picture are of the last epoch trained.
    expect([shown.drawnEpoch, shown.shownEpoch]).toEqual([shown.epoch, shown.epoch]);
    expect(shown.valAccuracy).toBeGreaterThanOrEqual(0.95);
    expect(shown.text).toMatch(new RegExp(`test accuracy ${(shown.valAccuracy * 100).toFixed(1)}%`));
    expect(shown.units).toBe(8);
    // The boundary drawn is the model's prediction at each grid point.
    const cells = shown.resolution * shown.resolution;
    expect(shown.drawn.length).toBe(cells);
    expect(shown.predicted).toEqual(shown.drawn);
    // And the canvas shows it: one pixel per cell, the scale's colour of that probability.
    expect(shown.canvasSize).toEqual([shown.resolution, shown.resolution]);
    let worst = 0;
    for (let i = 0; i < cells; i++) {
      const want = scaleColor(shown.predicted[i] ?? NaN);
      for (let c = 0; c < 3; c++)
        worst = Math.max(worst, Math.abs((shown.pixels[4 * i + c] ?? -1) - (want[c] ?? NaN)));
    }
    expect(worst).toBeLessThanOrEqual(1);
    // XOR's four quadrants: blue (class 1) where x₁·x₂ > 0.
    const at = (x: number, y: number) =>
      shown.drawn[
        Math.floor(((6 - y) / 12) * shown.resolution) * shown.resolution +
          Math.floor(((x + 6) / 12) * shown.resolution)
      ] ?? NaN;
    expect([at(3, 3), at(-3, -3)].every((v) => v > 0.8)).toBe(true);
    expect([at(3, -3), at(-3, 3)].every((v) => v < 0.2)).toBe(true);
    // The loss chart's data table (its Table button) lists the epochs and both losses shown.
    const table = await page.evaluate(async () => {
      const el = document.querySelector('mlp-demo')?.shadowRoot?.querySelector('mlp-playground');
      const chart = el?.shadowRoot?.querySelector('#pg-loss');
      const toggle = chart?.shadowRoot?.querySelector<HTMLButtonElement>('.table-toggle');
      toggle?.click();
      await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
      const root = chart?.shadowRoot;
      return {
        pressed: toggle?.getAttribute('aria-pressed'),
        plotHidden: root?.querySelector('.plot')?.getAttribute('aria-hidden'),
        head: [...(root?.querySelectorAll('.table thead th') ?? [])].map((th) => th.textContent.trim()),
        rows: [...(root?.querySelectorAll('.table tbody tr') ?? [])].map((tr) =>
          [...tr.children].map((c) => c.textContent.trim()),
        ),
        history: (el?.history ?? []).map((r) => [r.epoch, r.loss, r.valLoss]),
      };
    });
    expect([table.pressed, table.plotHidden]).toEqual(['true', 'true']);
    expect(table.head).toEqual(['epoch', 'training loss', 'test loss']);
    expect(table.rows.length).toBe(shown.epoch);
    table.rows.forEach((row, i) => {
      const [epoch, loss, valLoss] = table.history[i] ?? [];
      expect(row).toEqual([String(epoch), tableNumber(loss), tableNumber(valLoss)]);
    });
    console.log(`playground (Chromium): ${shown.text}; largest colour difference ${worst}`);
    await page.screenshot({ path: join(OUT, 'playground.png'), fullPage: true });
    expect(lines.filter((l) => /error/i.test(l))).toEqual([]);
  }, 400_000);

  it("embeds on its own: attributes set the form, it finds the page's engine, and says each epoch", async () => {
    const { page } = session;
    const got = await page.evaluate(async () => {
      const el = document.createElement('mlp-playground');
      el.setAttribute('problem', 'xor');
      el.setAttribute('hidden-layers', '8');
      el.setAttribute('learning-rate', '0.1');
      el.setAttribute('noise', '10');
      document.body.append(el);
      await el.updateComplete;
      const epochs: number[] = [];
      el.addEventListener('mlp-playground-epoch', (e) =>
        epochs.push((e as CustomEvent<{ epoch: number }>).detail.epoch),
      );
      const root = el.shadowRoot;
      const form = {
        dataset: root?.querySelector<HTMLSelectElement>('#pg-dataset')?.value,
        hidden: root?.querySelector<HTMLInputElement>('#pg-hidden')?.value,
        lr: root?.querySelector<HTMLSelectElement>('#pg-lr')?.value,
        noise: root?.querySelector<HTMLInputElement>('#pg-noise')?.value,
      };
      // Two quick calls (a double click): the second finds it running and adds no loop.
      await Promise.all([el.train(3), el.train(3)]);
      const run = el.run;
      const result = {
        form,
        epochs,
        settings: run
          ? { dataset: run.settings.dataset, hidden: run.settings.hidden, noise: run.settings.noise }
          : undefined,
        error: el.error,
        shown: root?.querySelector('#pg-numbers')?.getAttribute('data-epoch'),
      };
      el.remove();
      // Removed from the page: its run (model, GPU data) is dropped.
      await new Promise((r) => setTimeout(r, 50));
      return { ...result, runAfterRemove: el.run === undefined };
    });
    expect(got.error).toBe('');
    expect(got.runAfterRemove).toBe(true);
    expect(got.form).toEqual({ dataset: 'XOR', hidden: '8', lr: '0.1', noise: '10' });
    expect(got.settings).toEqual({ dataset: 'xor', hidden: [8], noise: 0.1 });
    expect(got.epochs).toEqual([1, 2, 3]);
    expect(got.shown).toBe('3');
  });

  it("a Lab panel on a page of its own makes its own state on the page's engine and trains from its mnist-url", async () => {
    const { page } = session;
    const got = await page.evaluate(async () => {
      type Lab = HTMLElement & {
        state?: { engine: unknown };
        picked: ReadonlySet<string>;
        updateComplete: Promise<boolean>;
      };
      const demo = document.querySelector('mlp-demo') as unknown as { state: { engine: unknown } };
      const lab = document.createElement('mlp-lab') as Lab;
      lab.setAttribute('mnist-url', 'mnist');
      document.body.append(lab);
      for (let i = 0; i < 100 && !lab.state; i++) await new Promise((r) => setTimeout(r, 20));
      const own = {
        made: lab.state !== undefined,
        separate: lab.state !== demo.state,
        engine: lab.state?.engine === demo.state.engine,
      };
      lab.picked = new Set(['adam-b32']);
      await lab.updateComplete;
      const root = lab.shadowRoot;
      const fields: [string, string][] = [
        ['lab-rows', '1000'],
        ['lab-test-rows', '100'],
        ['lab-epochs', '1'],
        ['lab-hidden', '16'],
      ];
      for (const [id, v] of fields) {
        const input = root?.querySelector<HTMLInputElement>(`#${id}`);
        if (!input) throw new Error(`no #${id}`);
        input.value = v;
        input.dispatchEvent(new Event('input', { bubbles: true, composed: true }));
      }
      await lab.updateComplete;
      root?.querySelector<HTMLButtonElement>('#run-lab')?.click();
      for (let i = 0; i < 600; i++) {
        const row = root?.querySelector('#lab-results tbody tr[data-scenario="adam-b32"]');
        const status = row?.getAttribute('data-status');
        if (status === 'done' || status === 'failed') break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const row = root?.querySelector('#lab-results tbody tr[data-scenario="adam-b32"]');
      const result = {
        own,
        status: row?.getAttribute('data-status'),
        test: Number(row?.getAttribute('data-test-accuracy')),
        error: root?.querySelector('#lab-error')?.textContent ?? '',
      };
      lab.remove();
      return result;
    });
    expect(got.own).toEqual({ made: true, separate: true, engine: true });
    expect(got.error).toBe('');
    expect(got.status).toBe('done');
    // 900 rows, one epoch of Adam on 784-16-10: well above chance (0.1).
    expect(got.test).toBeGreaterThan(0.4);
  });
});
