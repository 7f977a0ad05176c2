/**
 * What the demo's Puppeteer tests share: opening the demo, polling the page through shadow
 * roots, and one small training run from the Train tab through <mlp-trainer>'s documented
 * attributes.
 */
import type { Page } from 'puppeteer-core';
import { openPage, type ChromiumSession } from '../../kernels-test/browser/chromium.js';

/**
 * The demo (demo/vite.config.ts) at `path` in headless Chromium, its console lines going to
 * `lines`; ready for page.evaluate of tsx-compiled functions.
 */
export async function openDemo(path: string, lines: string[]): Promise<ChromiumSession> {
  const session = await openPage(path, (l) => lines.push(l), {
    configFile: 'demo/vite.config.ts',
    optimizeDeps: ['lit', 'chart.js'],
  });
  // tsx-compiled functions passed to evaluate may reference esbuild's __name helper.
  await session.page.evaluate('window.__name = (f) => f');
  return session;
}

/**
 * The Train tab's run in the tests: 784-32-10 relu, Adam 0.003, batch 16, one epoch on the
 * first 2,000 MNIST images (the last 200 validate): 113 steps.
 */
export const SMALL_RUN: Readonly<Record<string, string>> = {
  'train-rows': '2000',
  epochs: '1',
  'hidden-layers': '32',
  activation: 'relu',
  initializer: 'he_uniform',
  optimizer: 'adam',
  'learning-rate': '0.003',
  'batch-size': '16',
  dropout: '0',
};

/**
 * Polls `fn` in the page until it returns something other than null/undefined/false.
 * (`page.waitForSelector('a >>> b')` does not see elements that Lit adds later inside a
 * shadow root.)
 */
export async function until<T>(page: Page, fn: () => T, timeout = 300_000): Promise<NonNullable<T>> {
  const handle = await page.waitForFunction(fn, { timeout, polling: 200 });
  return (await handle.jsonValue()) as NonNullable<T>;
}

/**
 * Sets SMALL_RUN on the demo's <mlp-trainer>, presses Start once it is enabled, and resolves
 * with the `mlp-trained` event's description of the model.
 */
export async function trainSmallModel(page: Page): Promise<string> {
  await page.evaluate((attributes: Record<string, string>) => {
    const t = document.querySelector('mlp-demo')?.shadowRoot?.querySelector('mlp-trainer');
    if (!t) throw new Error('no <mlp-trainer>');
    for (const [k, v] of Object.entries(attributes)) t.setAttribute(k, v);
    t.removeAttribute('batch-norm');
  }, SMALL_RUN);
  const trained = page.evaluate(
    () =>
      new Promise<string>((resolve) => {
        const t = document.querySelector('mlp-demo')?.shadowRoot?.querySelector('mlp-trainer');
        t?.addEventListener(
          'mlp-trained',
          (e) => resolve((e as CustomEvent<{ description: string }>).detail.description),
          { once: true },
        );
      }),
  );
  await until(page, () => {
    const b = document
      .querySelector('mlp-demo')
      ?.shadowRoot?.querySelector('mlp-trainer')
      ?.shadowRoot?.querySelector<HTMLButtonElement>('#start');
    return b && !b.disabled;
  });
  await clickInTrainer(page, 'start');
  return trained;
}

/** Clicks the button #`id` of the demo's <mlp-trainer> (nothing if it is not there). */
export async function clickInTrainer(page: Page, id: string): Promise<void> {
  await page.evaluate(
    (buttonId: string) =>
      document
        .querySelector('mlp-demo')
        ?.shadowRoot?.querySelector('mlp-trainer')
        ?.shadowRoot?.querySelector<HTMLButtonElement>(`#${buttonId}`)
        ?.click(),
    id,
  );
}
