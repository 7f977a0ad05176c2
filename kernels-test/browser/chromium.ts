/**
 * Headless Chromium with WebGPU, as the kernel suite and the browser benchmarks use it:
 * Debian's browser (CHROME_PATH, else /usr/bin/chromium), driven by puppeteer-core, on a
 * page served by Vite from 127.0.0.1 (navigator.gpu exists only in a secure context, and
 * loopback addresses count as one).
 */
import { existsSync } from 'node:fs';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { createServer, type ViteDevServer } from 'vite';

/** Without a GPU, WebGPU in Chromium runs on its bundled SwiftShader. */
export const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--enable-unsafe-swiftshader',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export function chromiumPath(): string {
  const candidates = [
    process.env.CHROME_PATH,
    '/usr/bin/chromium',
    '/usr/bin/chromium-browser',
    '/usr/bin/google-chrome',
  ];
  const found = candidates.find((p): p is string => !!p && existsSync(p));
  if (!found) {
    throw new Error(
      'No Chromium found (tried CHROME_PATH, /usr/bin/chromium, /usr/bin/chromium-browser, ' +
        '/usr/bin/google-chrome). Install it with `npm run setup` (Debian: apt-get install chromium) ' +
        'or set CHROME_PATH.',
    );
  }
  return found;
}

export interface ChromiumSession {
  page: Page;
  url: string;
  close(): Promise<void>;
}

/**
 * Serves the repository with Vite and opens `path` in headless Chromium. The WebGPU adapter
 * is SwiftShader unless WEBGPU_MLP_CHROME_ADAPTER names another (e.g. 'default' on a
 * machine with a GPU).
 */
export async function openPage(
  path: string,
  log: (line: string) => void,
  options: {
    optimizeDeps?: string[];
    crossOriginIsolated?: boolean;
    /** A Vite config to serve with (its root and plugins), e.g. demo/vite.config.ts; default none. */
    configFile?: string;
    /** Extra Chromium flags. */
    args?: string[];
    /**
     * false: launch without --enable-unsafe-webgpu and without choosing an adapter, as a
     * Linux Chrome without WebGPU enabled (navigator.gpu exists, requestAdapter() gives null).
     */
    webgpu?: boolean;
  } = {},
): Promise<ChromiumSession> {
  const server: ViteDevServer = await createServer({
    configFile: options.configFile ?? false,
    ...(options.configFile ? {} : { root: process.cwd() }),
    logLevel: 'warn',
    server: {
      host: '127.0.0.1',
      port: 0,
      strictPort: false,
      hmr: false,
      watch: null,
      // A cross-origin-isolated page gets performance.now() at 5 µs instead of 100 µs.
      ...(options.crossOriginIsolated
        ? {
            headers: {
              'Cross-Origin-Opener-Policy': 'same-origin',
              'Cross-Origin-Embedder-Policy': 'require-corp',
            },
          }
        : {}),
    },
    // Dependencies the page imports that are not plain ESM (TF.js) must be pre-bundled.
    optimizeDeps: { noDiscovery: true, include: options.optimizeDeps ?? [] },
  });
  await server.listen();
  const address = server.httpServer?.address();
  if (!address || typeof address === 'string') throw new Error('Vite did not report a port');
  const url = `http://127.0.0.1:${address.port}${path}`;

  const adapter = process.env.WEBGPU_MLP_CHROME_ADAPTER ?? 'swiftshader';
  let browser: Browser | undefined;
  try {
    browser = await puppeteer.launch({
      executablePath: chromiumPath(),
      headless: true,
      args: [
        ...(options.webgpu === false
          ? CHROMIUM_FLAGS.filter((f) => f !== '--enable-unsafe-webgpu')
          : CHROMIUM_FLAGS),
        ...(adapter === 'default' || options.webgpu === false ? [] : [`--use-webgpu-adapter=${adapter}`]),
        ...(options.args ?? []),
      ],
      protocolTimeout: 1_800_000, // a full Chromium benchmark sweep on SwiftShader takes ~15 min
    });
    const page = await browser.newPage();
    page.on('console', (m) => log(`[page ${m.type()}] ${m.text()}`));
    page.on('pageerror', (e) => log(`[page error] ${String(e)}`));
    const response = await page.goto(url, { waitUntil: 'load' });
    if (!response?.ok()) throw new Error(`GET ${url} answered ${response?.status()}`);
    const b = browser;
    return {
      page,
      url,
      async close() {
        await b.close();
        await server.close();
      },
    };
  } catch (e) {
    await browser?.close();
    await server.close();
    throw e;
  }
}
