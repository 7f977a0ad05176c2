/**
 * The demo's layout in headless Chromium (SwiftShader) at a phone's viewport (390×844) and a
 * projector's (1400×1000): on every tab the document is no wider than the viewport (no
 * horizontal scrolling; a wide table may scroll inside its own box). Each tab's screenshot
 * goes to out/demo-screens/ (ignored by git; look at them). The tab list follows the WAI-ARIA
 * tabs pattern: each tab controls its panel, and the arrow keys, Home and End move between
 * tabs.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'puppeteer-core';
import type { ChromiumSession } from '../../kernels-test/browser/chromium.js';
import { openDemo, until as untilIn } from './train-tab.js';

const OUT = join(process.cwd(), 'out', 'demo-screens');
const TABS = ['train', 'predict', 'lab', 'vanishing', 'tune', 'io'] as const;
const VIEWPORTS = [
  { name: 'phone', width: 390, height: 844 },
  { name: 'desktop', width: 1400, height: 1000 },
] as const;

let session: ChromiumSession;
let page: Page;
const lines: string[] = [];

beforeAll(async () => {
  mkdirSync(OUT, { recursive: true });
  session = await openDemo('/', lines);
  page = session.page;
  await untilIn(page, () => document.querySelector('mlp-demo')?.shadowRoot?.querySelector('#tab-io'));
}, 300_000);

afterAll(async () => {
  await session.close();
});

/** Shows `tab` as its tab button would, then waits two frames for the layout. */
async function show(tab: string): Promise<void> {
  await page.evaluate(async (id: string) => {
    document.querySelector('mlp-demo')?.shadowRoot?.querySelector<HTMLButtonElement>(`#tab-${id}`)?.click();
    await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  }, tab);
}

/**
 * The document's width against the viewport's, and (to say what overflows) the visible
 * elements, shadow roots included, whose right edge passes the viewport and that no
 * scrolling box of theirs contains.
 */
async function overflow(): Promise<{ doc: number; viewport: number; culprits: string[] }> {
  return page.evaluate(() => {
    const viewport = document.documentElement.clientWidth;
    const culprits: string[] = [];
    const visit = (el: Element, clipped: boolean): void => {
      const style = getComputedStyle(el);
      const r = el.getBoundingClientRect();
      if (!clipped && r.width > 0 && r.right > viewport + 0.5 && culprits.length < 8) {
        const id = el.id ? `#${el.id}` : '';
        const cls = typeof el.className === 'string' && el.className ? `.${el.className.split(' ')[0]}` : '';
        culprits.push(`${el.tagName.toLowerCase()}${id}${cls} (right ${Math.round(r.right)})`);
      }
      const clips = clipped || /(auto|scroll|hidden|clip)/.test(style.overflowX);
      for (const child of el.children) visit(child, clips);
      if (el.shadowRoot) for (const child of el.shadowRoot.children) visit(child, clips);
    };
    visit(document.documentElement, false);
    return { doc: document.documentElement.scrollWidth, viewport, culprits };
  });
}

describe('the demo at a phone and a projector', () => {
  for (const vp of VIEWPORTS) {
    it(`${vp.name} ${vp.width}×${vp.height}: no tab is wider than the viewport`, async () => {
      await page.setViewport({ width: vp.width, height: vp.height });
      const wide: string[] = [];
      for (const tab of TABS) {
        await show(tab);
        const selected = await page.evaluate(
          (id: string) =>
            document
              .querySelector('mlp-demo')
              ?.shadowRoot?.querySelector(`#tab-${id}`)
              ?.getAttribute('aria-selected'),
          tab,
        );
        expect(selected, `tab ${tab} selected`).toBe('true');
        await page.screenshot({ path: join(OUT, `${tab}-${vp.name}.png`), fullPage: true });
        const o = await overflow();
        if (o.doc > o.viewport)
          wide.push(`${tab}: document ${o.doc} px > ${o.viewport} px; ${o.culprits.join(', ')}`);
      }
      expect(wide, wide.join('\n')).toEqual([]);
    }, 300_000);
  }

  it('tabs: each controls its panel; arrows, Home and End move the selection and the focus', async () => {
    await show('train');
    const wiring = await page.evaluate(() => {
      const root = document.querySelector('mlp-demo')?.shadowRoot;
      return [...(root?.querySelectorAll('[role=tab]') ?? [])].map((t) => {
        const panel = root?.getElementById(t.getAttribute('aria-controls') ?? '');
        return {
          tab: t.id,
          panelRole: panel?.getAttribute('role'),
          labelledBy: panel?.getAttribute('aria-labelledby'),
          hidden: panel?.hasAttribute('hidden'),
          selected: t.getAttribute('aria-selected'),
          tabindex: t.getAttribute('tabindex'),
        };
      });
    });
    expect(wiring.map((w) => w.tab)).toEqual(TABS.map((t) => `tab-${t}`));
    for (const w of wiring) {
      const on = w.tab === 'tab-train';
      expect(w, w.tab).toEqual({ ...w, panelRole: 'tabpanel', labelledBy: w.tab, hidden: !on });
      expect([w.selected, w.tabindex], w.tab).toEqual(on ? ['true', '0'] : ['false', '-1']);
    }
    const focused = () =>
      page.evaluate(() => ({
        focus: document.querySelector('mlp-demo')?.shadowRoot?.activeElement?.id,
        hash: location.hash,
      }));
    await page.evaluate(() =>
      document.querySelector('mlp-demo')?.shadowRoot?.querySelector<HTMLButtonElement>('#tab-train')?.focus(),
    );
    const steps: [string, string][] = [
      ['ArrowRight', 'predict'],
      ['ArrowRight', 'lab'],
      ['End', 'io'],
      ['ArrowRight', 'train'],
      ['ArrowLeft', 'io'],
      ['Home', 'train'],
    ];
    for (const [key, tab] of steps) {
      await page.keyboard.press(key as 'ArrowRight');
      await page.waitForFunction(
        (id: string) => document.querySelector('mlp-demo')?.shadowRoot?.activeElement?.id === `tab-${id}`,
        { timeout: 10_000, polling: 50 },
        tab,
      );
      expect(await focused(), `${key} → ${tab}`).toEqual({ focus: `tab-${tab}`, hash: `#${tab}` });
    }
  });
});
