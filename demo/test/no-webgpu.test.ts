/**
 * The demo page in browsers without WebGPU: a Chromium launched without WebGPU enabled (as
 * Chrome on Linux ships: navigator.gpu exists, requestAdapter() gives null), and a browser
 * with no navigator.gpu at all (an old one, or a page that is not a secure context). Each
 * must show a message saying what the browser needs, not a blank page.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { openPage, type ChromiumSession } from '../../kernels-test/browser/chromium.js';

const sessions: ChromiumSession[] = [];
afterAll(async () => {
  for (const s of sessions) await s.close();
});

const log = (line: string) => {
  if (process.env.WEBGPU_MLP_TEST_VERBOSE) console.log(line);
};

async function message(s: ChromiumSession) {
  const el = await s.page.waitForSelector('mlp-demo >>> #no-webgpu', { timeout: 60_000 });
  if (!el) throw new Error('no #no-webgpu element');
  return el.evaluate((e) => ({
    reason: e.getAttribute('data-reason'),
    text: e.textContent.replace(/\s+/g, ' ').trim(),
  }));
}

describe('demo without WebGPU', () => {
  it('Chromium without WebGPU enabled: the page explains that no adapter was given and what to do', async () => {
    const s = await openPage('/', log, { configFile: 'demo/vite.config.ts', webgpu: false });
    sessions.push(s);
    // The browser really has no adapter (what the page must cope with).
    const adapter = await s.page.evaluate(async () => {
      const gpu = (navigator as unknown as { gpu?: GPU }).gpu;
      return gpu ? (await gpu.requestAdapter()) !== null : null;
    });
    expect(adapter).toBe(false);
    const m = await message(s);
    expect(m.reason).toBe('no-adapter');
    expect(m.text).toMatch(/no GPU adapter/);
    expect(m.text).toMatch(/chrome:\/\/gpu/);
    expect(m.text).toMatch(/Chrome and Edge 113\+/);
    // Nothing else tried to start: no tabs.
    expect(await s.page.$('mlp-demo >>> nav')).toBeNull();
  });

  it('a browser with no navigator.gpu: the page says WebGPU is missing and which browsers have it', async () => {
    const s = await openPage('/', log, { configFile: 'demo/vite.config.ts' });
    sessions.push(s);
    // As an old browser: the WebGPU entry point is not there before any script runs.
    await s.page.evaluateOnNewDocument(() => {
      delete (Navigator.prototype as Partial<Navigator & { gpu: GPU }>).gpu;
    });
    await s.page.reload({ waitUntil: 'load' });
    expect(await s.page.evaluate(() => 'gpu' in navigator)).toBe(false);
    const m = await message(s);
    expect(m.reason).toBe('no-webgpu');
    expect(m.text).toMatch(/does not offer WebGPU/);
    expect(m.text).toMatch(/navigator\.gpu is missing/);
    expect(m.text).toMatch(/Safari 26/);
  });
});
