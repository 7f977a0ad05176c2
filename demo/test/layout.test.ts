/**
 * The demo's layout in headless Chromium (SwiftShader) at a phone's viewport (390×844) and a
 * projector's (1400×1000): on every tab the document is no wider than the viewport (no
 * horizontal scrolling; a wide table may scroll inside its own box). Each tab's screenshot
 * goes to out/demo-screens/ (ignored by git; look at them). The Train form shows each invalid
 * field's error beside it and keeps Start disabled until all are valid; the Lab's checkboxes
 * are named by their scenarios. The tab list follows the WAI-ARIA tabs pattern: each tab
 * controls its panel, and the arrow keys, Home and End move between tabs. Presentation mode
 * makes everything 1.35× larger and still fits both viewports; a chart's Full screen button
 * fills the screen with it.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'puppeteer-core';
import type { ChromiumSession } from '../../kernels-test/browser/chromium.js';
import { openDemo, until as untilIn } from './train-tab.js';

const OUT = join(process.cwd(), 'out', 'demo-screens');
const TABS = ['train', 'predict', 'lab', 'vanishing', 'playground', 'tune', 'io'] as const;
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

/** Shows every tab in turn; the ones wider than the viewport, with what overflows. Screenshots each as <tab>-<name>.png. */
async function wideTabs(name: string): Promise<string[]> {
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
    await page.screenshot({ path: join(OUT, `${tab}-${name}.png`), fullPage: true });
    const o = await overflow();
    if (o.doc > o.viewport)
      wide.push(`${tab}: document ${o.doc} px > ${o.viewport} px; ${o.culprits.join(', ')}`);
  }
  return wide;
}

describe('the demo at a phone and a projector', () => {
  for (const vp of VIEWPORTS) {
    it(`${vp.name} ${vp.width}×${vp.height}: no tab is wider than the viewport`, async () => {
      await page.setViewport({ width: vp.width, height: vp.height });
      expect(await wideTabs(vp.name), 'tabs wider than the viewport').toEqual([]);
    }, 300_000);
  }

  it('presentation mode: 1.35× larger on a wide screen (a phone is no projector), no tab too wide; a chart fills the screen', async () => {
    await page.setViewport({ width: 1400, height: 1000 });
    await show('train');
    const measure = () =>
      page.evaluate(() => {
        const demo = document.querySelector('mlp-demo');
        const trainer = demo?.shadowRoot?.querySelector('mlp-trainer');
        const h2 = trainer?.shadowRoot?.querySelector('h2');
        const chart = trainer?.shadowRoot?.querySelector('#loss-chart');
        return {
          pressed: demo?.shadowRoot?.querySelector('#present')?.getAttribute('aria-pressed'),
          attribute: demo?.hasAttribute('presenting'),
          heading: h2?.getBoundingClientRect().height ?? NaN,
          chart: chart?.getBoundingClientRect().height ?? NaN,
        };
      });
    const before = await measure();
    const toggle = async () => {
      await page.evaluate(() =>
        document.querySelector('mlp-demo')?.shadowRoot?.querySelector<HTMLButtonElement>('#present')?.click(),
      );
      await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    };
    await toggle();
    const on = await measure();
    expect([before.pressed, before.attribute, on.pressed, on.attribute]).toEqual([
      'false',
      false,
      'true',
      true,
    ]);
    expect(on.heading / before.heading).toBeCloseTo(1.35, 1);
    expect(on.chart / before.chart).toBeCloseTo(1.35, 1);
    for (const vp of VIEWPORTS) {
      await page.setViewport({ width: vp.width, height: vp.height });
      expect(await wideTabs(`${vp.name}-presenting`), `presenting at ${vp.name}`).toEqual([]);
    }
    await page.setViewport({ width: 1400, height: 1000 });
    await toggle();
    expect((await measure()).attribute).toBe(false);
    // A chart's Full screen button (a real click: the browser asks for a user's gesture).
    await show('train');
    const chartState = () =>
      page.evaluate(() => {
        const chart = document
          .querySelector('mlp-demo')
          ?.shadowRoot?.querySelector('mlp-trainer')
          ?.shadowRoot?.querySelector('#loss-chart') as (HTMLElement & { full: boolean }) | null;
        return {
          full: chart?.full,
          matches: chart?.matches(':fullscreen'),
          pressed: chart?.shadowRoot?.querySelector('.full-toggle')?.getAttribute('aria-pressed'),
        };
      });
    const box = await page.evaluate(() => {
      const b = document
        .querySelector('mlp-demo')
        ?.shadowRoot?.querySelector('mlp-trainer')
        ?.shadowRoot?.querySelector('#loss-chart')
        ?.shadowRoot?.querySelector('.full-toggle');
      b?.scrollIntoView({ block: 'center' });
      const r = b?.getBoundingClientRect();
      return r ? { x: r.x + r.width / 2, y: r.y + r.height / 2 } : undefined;
    });
    if (!box) throw new Error('no Full screen button');
    await page.mouse.click(box.x, box.y);
    await page
      .waitForFunction(
        () =>
          (
            document
              .querySelector('mlp-demo')
              ?.shadowRoot?.querySelector('mlp-trainer')
              ?.shadowRoot?.querySelector('#loss-chart') as (HTMLElement & { full: boolean }) | null
          )?.full === true,
        { timeout: 10_000 },
      )
      .catch((e: unknown) => {
        throw new Error(
          `not full screen after the click (${String(e)}); page: ${lines.slice(-5).join(' | ')}`,
        );
      });
    expect(await chartState()).toEqual({ full: true, matches: true, pressed: 'true' });
    await page.screenshot({ path: join(OUT, 'chart-full-screen.png') });
    await page.evaluate(() => document.exitFullscreen());
    await page.waitForFunction(() => document.fullscreenElement === null, { timeout: 10_000 });
    expect(await chartState()).toEqual({ full: false, matches: false, pressed: 'false' });
  }, 300_000);

  it('theming: a dark scheme by default under prefers-color-scheme: dark; custom properties and ::part restyle it', async () => {
    await page.setViewport({ width: 1400, height: 1000 });
    await show('train');
    const read = () =>
      page.evaluate(() => {
        const trainer = document.querySelector('mlp-demo')?.shadowRoot?.querySelector('mlp-trainer');
        const root = trainer?.shadowRoot;
        const card = root?.querySelector('[part="run"]');
        const start = root?.querySelector('#start');
        const chart = root?.querySelector('#loss-chart') as unknown as {
          chart?: {
            options: { plugins: { title: { color: string } }; scales: { x: { grid: { color: string } } } };
          };
        } | null;
        return {
          text: trainer ? getComputedStyle(trainer).color : '',
          card: card ? getComputedStyle(card).backgroundColor : '',
          start: start ? getComputedStyle(start).backgroundColor : '',
          startOutline: start ? getComputedStyle(start).outlineColor : '',
          chartTitle: chart?.chart?.options.plugins.title.color ?? '',
          chartGrid: chart?.chart?.options.scales.x.grid.color ?? '',
        };
      });
    const light = await read();
    expect([light.text, light.card, light.start]).toEqual([
      'rgb(29, 36, 48)',
      'rgb(255, 255, 255)',
      'rgb(47, 111, 214)',
    ]);
    expect(light.chartTitle).toBe('#1d2430');
    await page.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: 'dark' }]);
    // The charts redraw when the scheme changes (a media query listener): poll a little.
    let dark = await read();
    for (let i = 0; i < 50 && dark.chartTitle !== '#e4e8ef'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      dark = await read();
    }
    expect(dark.chartTitle).toBe('#e4e8ef');
    expect([dark.text, dark.card]).toEqual(['rgb(228, 232, 239)', 'rgb(27, 33, 48)']);
    expect(dark.chartGrid).toBe('rgba(255, 255, 255, 0.14)');
    await page.screenshot({ path: join(OUT, 'train-dark.png'), fullPage: true });
    // A page's own colours and parts: --mlp-accent and --mlp-fg on the element, ::part(start).
    await page.evaluate(async () => {
      const demoRoot = document.querySelector('mlp-demo')?.shadowRoot;
      const trainer = demoRoot?.querySelector<HTMLElement>('mlp-trainer');
      trainer?.style.setProperty('--mlp-accent', 'rgb(200, 0, 100)');
      trainer?.style.setProperty('--mlp-fg', 'rgb(10, 20, 30)');
      const sheet = new CSSStyleSheet();
      sheet.replaceSync('mlp-trainer::part(start) { outline: 3px solid rgb(1, 2, 3); }');
      if (demoRoot) demoRoot.adoptedStyleSheets = [...demoRoot.adoptedStyleSheets, sheet];
      await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    });
    const own = await read();
    expect([own.text, own.start, own.startOutline]).toEqual([
      'rgb(10, 20, 30)',
      'rgb(200, 0, 100)',
      'rgb(1, 2, 3)',
    ]);
    // Back to the light defaults for the tests that follow.
    await page.evaluate(() => {
      const demoRoot = document.querySelector('mlp-demo')?.shadowRoot;
      const trainer = demoRoot?.querySelector<HTMLElement>('mlp-trainer');
      trainer?.style.removeProperty('--mlp-accent');
      trainer?.style.removeProperty('--mlp-fg');
      if (demoRoot) demoRoot.adoptedStyleSheets = demoRoot.adoptedStyleSheets.slice(0, -1);
    });
    await page.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: 'light' }]);
  });

  it('accuracy axis: 0 to 1 before any point; a curve that reaches 100% gets room above it, labels stop at 1', async () => {
    await show('train');
    const axis = (points: { x: number; y: number }[] | undefined) =>
      page.evaluate(async (pts) => {
        type Chart = HTMLElement & {
          series: unknown[];
          updateComplete: Promise<boolean>;
          chart?: {
            options: { scales: { y: { min?: number; max?: number } } };
            scales: { y: { ticks: { value: number; label: string }[] } };
          };
        };
        const chart = document
          .querySelector('mlp-demo')
          ?.shadowRoot?.querySelector('mlp-trainer')
          ?.shadowRoot?.querySelector('#accuracy-chart') as Chart | null;
        if (!chart) throw new Error('no accuracy chart');
        const before = chart.series;
        if (pts) chart.series = [{ label: 'accuracy', points: pts }];
        await chart.updateComplete;
        const y = chart.chart?.options.scales.y;
        const labelled = (chart.chart?.scales.y.ticks ?? [])
          .filter((t) => t.label !== '')
          .map((t) => t.value);
        chart.series = before;
        await chart.updateComplete;
        return { min: y?.min, max: y?.max, top: Math.max(...labelled) };
      }, points);
    expect(await axis(undefined)).toMatchObject({ min: 0, max: 1 });
    const below = await axis([
      { x: 1, y: 0.9 },
      { x: 2, y: 0.95 },
    ]);
    expect(below.max).toBe(1);
    const full = await axis([
      { x: 1, y: 0.9 },
      { x: 2, y: 1 },
    ]);
    expect(full.max).toBeCloseTo(1.003, 9); // 1 + 3% of the 0.9..1 span
    expect(full.top).toBeLessThanOrEqual(1);
  });

  it("Train's form: each invalid field shows its own error beside it, marked aria-invalid; Start waits for all", async () => {
    await show('train');
    const type = (values: Record<string, string>) =>
      page.evaluate(async (v: Record<string, string>) => {
        const root = document.querySelector('mlp-demo')?.shadowRoot?.querySelector('mlp-trainer')?.shadowRoot;
        for (const [id, text] of Object.entries(v)) {
          const input = root?.querySelector<HTMLInputElement>(`#${id}`);
          if (!input) throw new Error(`no #${id}`);
          input.value = text;
          input.dispatchEvent(new Event('input', { bubbles: true, composed: true }));
        }
        await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
        const field = (id: string) => {
          const input = root?.querySelector(`#${id}`);
          const note = root?.getElementById(input?.getAttribute('aria-describedby') || '-');
          return {
            invalid: input?.getAttribute('aria-invalid'),
            error: note?.textContent.trim() ?? '',
            // The note follows its field in the form's grid.
            next: input?.nextElementSibling === note,
          };
        };
        return {
          hidden: field('hidden-layers'),
          dropout: field('dropout'),
          epochs: field('epochs'),
          start: root?.querySelector<HTMLButtonElement>('#start')?.disabled,
          alert: root?.querySelector('#error')?.textContent.trim(),
        };
      }, values);
    const bad = await type({ 'hidden-layers': '128, abc', dropout: '1.5' });
    expect([bad.hidden.invalid, bad.hidden.next]).toEqual(['true', true]);
    expect(bad.hidden.error).toMatch(/hidden layers: "128, abc"/);
    expect([bad.dropout.invalid, bad.dropout.next]).toEqual(['true', true]);
    expect(bad.dropout.error).toMatch(/dropout rate must be in \[0, 1\), got 1.5/);
    expect(bad.epochs).toEqual({ invalid: 'false', error: '', next: false });
    expect(bad.start).toBe(true);
    expect(bad.alert).toBe('');
    const half = await type({ 'hidden-layers': '128, 64' });
    expect([half.hidden.invalid, half.dropout.invalid, half.start]).toEqual(['false', 'true', true]);
    const fixed = await type({ dropout: '0' });
    expect([fixed.hidden.invalid, fixed.dropout.invalid, fixed.start]).toEqual(['false', 'false', false]);
    // Without the form (hide-form), a bad attribute's error is shown above the results instead.
    const formless = await page.evaluate(async () => {
      const t = document.querySelector('mlp-demo')?.shadowRoot?.querySelector('mlp-trainer');
      if (!t?.shadowRoot) throw new Error('no <mlp-trainer>');
      const frames = () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
      t.setAttribute('hide-form', '');
      t.setAttribute('batch-size', '0');
      await frames();
      const seen = {
        start: t.shadowRoot.querySelector<HTMLButtonElement>('#start')?.disabled,
        alert: t.shadowRoot.querySelector('#error')?.textContent.trim(),
      };
      t.removeAttribute('hide-form');
      t.setAttribute('batch-size', '64');
      await frames();
      return { ...seen, startAfter: t.shadowRoot.querySelector<HTMLButtonElement>('#start')?.disabled };
    });
    expect(formless.start).toBe(true);
    expect(formless.alert).toMatch(/batch size must be a positive integer, got 0/);
    expect(formless.startAfter).toBe(false);
  });

  it('Train: "Overfit me" fills the form with its preset; charts export as PNG and SVG; the CSV waits for a run', async () => {
    await show('train');
    const got = await page.evaluate(async () => {
      const t = document.querySelector('mlp-demo')?.shadowRoot?.querySelector('mlp-trainer');
      const root = t?.shadowRoot;
      if (!root) throw new Error('no <mlp-trainer>');
      const value = (id: string) => root.querySelector<HTMLInputElement>(`#${id}`)?.value;
      const csvBefore = root.querySelector<HTMLButtonElement>('#history-csv')?.disabled;
      const early = root.querySelector<HTMLInputElement>('#early-stopping');
      const earlyOff = early?.checked;
      t.setAttribute('early-stopping', '');
      await t.updateComplete;
      const earlyOn = root.querySelector<HTMLInputElement>('#early-stopping')?.checked;
      t.removeAttribute('early-stopping');
      root.querySelector<HTMLButtonElement>('#overfit')?.click();
      await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
      const chart = root.querySelector('mlp-chart');
      // A chart of two series, drawn in the page, exported both ways.
      const own = document.createElement('mlp-chart');
      own.heading = 'Two lines';
      own.series = [
        {
          label: 'a',
          points: [
            { x: 0, y: 1 },
            { x: 1, y: 0.5 },
          ],
        },
        {
          label: 'b',
          points: [
            { x: 0, y: 2 },
            { x: 1, y: 1.5 },
          ],
          dashed: true,
        },
      ];
      own.style.width = '300px';
      document.body.append(own);
      await own.updateComplete;
      await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
      const svg = own.toSvg();
      const png = own.toPng()?.slice(0, 22);
      own.remove();
      return {
        fields: ['hidden-layers', 'dropout', 'batch-size', 'epochs', 'train-rows', 'learning-rate'].map(
          value,
        ),
        batchNorm: root.querySelector<HTMLInputElement>('#batch-norm')?.checked,
        start: root.querySelector<HTMLButtonElement>('#start')?.disabled,
        csvBefore,
        early: [earlyOff, earlyOn],
        exportButtons: [...(chart?.shadowRoot?.querySelectorAll('.export button') ?? [])].map((b) =>
          b.getAttribute('aria-label'),
        ),
        heading: chart?.heading,
        svg,
        png,
      };
    });
    expect(got.fields).toEqual(['512, 512', '0', '32', '40', '500', '0.001']);
    expect([got.batchNorm, got.start, got.csvBefore]).toEqual([false, false, true]);
    expect(got.early).toEqual([false, true]); // the early-stopping attribute sets the checkbox
    expect(got.exportButtons).toEqual([
      `Download ${got.heading} as PNG`,
      `Download ${got.heading} as SVG`,
      `Show ${got.heading} full screen`,
      `Show ${got.heading} as a table`,
    ]);
    expect(got.png).toBe('data:image/png;base64,');
    expect(got.svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(got.svg.match(/<polyline data-series="[ab]"/g)).toHaveLength(2);
  });

  it("Lab: each scenario's checkbox has a name that says which scenario it is", async () => {
    await show('lab');
    const names = await page.evaluate(() =>
      [
        ...(document
          .querySelector('mlp-demo')
          ?.shadowRoot?.querySelector('mlp-lab')
          ?.shadowRoot?.querySelectorAll('#lab-picks input[type=checkbox]') ?? []),
      ].map((c) => c.getAttribute('aria-label') ?? ''),
    );
    const expected = ['SGD', 'SGD + BN + dropout', 'Adam', 'Adam + BN + dropout'].flatMap((s) =>
      [16, 32, 64].map((b) => `${s}, batch ${b}`),
    );
    expect(names).toEqual(expected);
  });

  it('tabs: each controls its panel; arrows, Home and End move the selection and the focus', async () => {
    await show('train');
    // Every panel shares the demo's state (one lock): none made its own as a panel on a page
    // of its own would.
    const shared = await page.evaluate(() => {
      const demo = document.querySelector('mlp-demo') as unknown as HTMLElement & { state: unknown };
      return ['mlp-predict', 'mlp-lab', 'mlp-vanishing', 'mlp-playground', 'mlp-tune', 'mlp-model-io'].map(
        (tag) => [
          tag,
          (demo.shadowRoot?.querySelector(tag) as unknown as { state: unknown } | null)?.state === demo.state,
        ],
      );
    });
    expect(shared.filter(([, same]) => !same)).toEqual([]);
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
