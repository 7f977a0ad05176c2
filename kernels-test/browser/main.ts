/**
 * The kernel cases inside a page. The Node side (kernels.test.ts) calls
 * window.runKernelCases() through Puppeteer and turns each result into a vitest test.
 */
import { initEngine, type AdapterDescription } from '../../src/index.js';
import { selectCases } from '../cases/index.js';

export interface CaseResult {
  name: string;
  ok: boolean;
  error?: string;
  ms: number;
}

export interface BrowserRun {
  adapter: AdapterDescription;
  adapterLine: string;
  userAgent: string;
  results: CaseResult[];
}

declare global {
  interface Window {
    runKernelCases: (filter?: string) => Promise<BrowserRun>;
  }
}

const out = document.getElementById('out');

window.runKernelCases = async (filter?: string) => {
  let adapterLine = '';
  const engine = await initEngine({ log: (line) => (adapterLine = line) });
  const results: CaseResult[] = [];
  for (const c of selectCases(filter)) {
    const t0 = performance.now();
    try {
      await c.run(engine);
      results.push({ name: c.name, ok: true, ms: performance.now() - t0 });
    } catch (e) {
      const err = e as Error;
      results.push({
        name: c.name,
        ok: false,
        error: `${err.name}: ${err.message}`,
        ms: performance.now() - t0,
      });
    }
    if (out) out.textContent += `${results.at(-1)?.ok ? 'ok  ' : 'FAIL'} ${c.name}\n`;
  }
  engine.dispose();
  return { adapter: engine.adapter, adapterLine, userAgent: navigator.userAgent, results };
};
