/**
 * Starting WebGPU for the demo, and what to tell a user whose browser cannot: no
 * `navigator.gpu` (an old browser, a page not served from https:// or localhost), or a
 * `navigator.gpu` that gives no adapter (WebGPU blocked for the GPU or driver).
 */
import { initEngine, type Engine } from '../../src/index.js';

export type WebGPUStatus =
  | { ok: true; engine: Engine }
  | { ok: false; reason: 'no-webgpu' | 'no-adapter' | 'init-failed'; title: string; detail: string };

const BROWSERS =
  'WebGPU ships in Chrome and Edge 113+ on Windows, macOS and ChromeOS, Chrome 121+ on Android, ' +
  'Safari 26, and Firefox 141+ on Windows. On Linux, Chrome may need ' +
  'chrome://flags/#enable-unsafe-webgpu (and chrome://flags/#enable-vulkan).';

/** Why this page has no WebGPU, or the started engine. Never throws. */
export async function startWebGPU(): Promise<WebGPUStatus> {
  const gpu = (navigator as unknown as { gpu?: GPU }).gpu;
  if (!gpu) {
    const insecure = !window.isSecureContext;
    return {
      ok: false,
      reason: 'no-webgpu',
      title: 'This browser does not offer WebGPU',
      detail:
        'This demo trains neural networks on your GPU through WebGPU, and navigator.gpu is missing here. ' +
        (insecure
          ? `The page is not a secure context (${location.origin}): WebGPU exists only on https:// ` +
            'pages and on http://localhost. '
          : '') +
        BROWSERS,
    };
  }
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter();
  } catch {
    adapter = null;
  }
  if (!adapter) {
    return {
      ok: false,
      reason: 'no-adapter',
      title: 'WebGPU is present, but the browser gave no GPU adapter',
      detail:
        'navigator.gpu.requestAdapter() returned nothing: WebGPU may be disabled for this GPU or driver, ' +
        'or hardware acceleration may be off. Check chrome://gpu (the "WebGPU" line), update the graphics ' +
        'driver, and turn on "Use graphics acceleration when available" in the browser settings. ' +
        BROWSERS,
    };
  }
  try {
    return { ok: true, engine: await initEngine() };
  } catch (e) {
    return {
      ok: false,
      reason: 'init-failed',
      title: 'WebGPU could not start',
      detail: `The GPU adapter refused to start: ${e instanceof Error ? e.message : String(e)}`,
    };
  }
}
