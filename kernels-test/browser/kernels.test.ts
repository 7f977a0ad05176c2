/**
 * Runs every kernel case inside headless Chromium (Puppeteer + a Vite-served page) and
 * reports each as its own test. The cases are the same module the Node run executes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectCases } from '../cases/index.js';
import { openPage, type ChromiumSession } from './chromium.js';
import type { BrowserRun, CaseResult } from './main.js';

const selected = selectCases(process.env.KERNEL_CASES);
let session: ChromiumSession | undefined;
let run: BrowserRun | undefined;
const byName = new Map<string, CaseResult>();

beforeAll(async () => {
  session = await openPage('/kernels-test/browser/index.html', (line) => {
    if (/error|fail/i.test(line)) console.log(line);
  });
  await session.page.waitForFunction(() => typeof window.runKernelCases === 'function');
  run = await session.page.evaluate(
    (filter) => window.runKernelCases(filter),
    process.env.KERNEL_CASES ?? '',
  );
  console.log(`[kernels-test chromium] ${run.adapterLine}`);
  console.log(`[kernels-test chromium] ${run.userAgent}`);
  for (const r of run.results) byName.set(r.name, r);
});

afterAll(async () => {
  await session?.close();
});

describe('kernels in headless Chromium', () => {
  it('runs on the requested WebGPU adapter and returns a result for every case', () => {
    // openPage() asks Chromium for SwiftShader unless WEBGPU_MLP_CHROME_ADAPTER says otherwise.
    const requested = process.env.WEBGPU_MLP_CHROME_ADAPTER ?? 'swiftshader';
    if (requested === 'swiftshader') {
      expect(run?.adapter.name).toMatch(/swiftshader/i);
      expect(run?.adapter.isFallback).toBe(true);
    } else {
      expect(run?.adapter.name.length).toBeGreaterThan(0);
    }
    expect(run?.results.map((r) => r.name)).toEqual(selected.map((c) => c.name));
  });
  for (const c of selected) {
    it(`${c.family}: ${c.name}`, () => {
      const r = byName.get(c.name);
      if (!r) throw new Error(`no result from the page for "${c.name}"`);
      if (!r.ok) throw new Error(r.error);
    });
  }
});
