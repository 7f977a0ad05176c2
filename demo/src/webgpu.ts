/**
 * Starting WebGPU for the demo, and what to tell a user whose browser cannot. The library's
 * checkWebGPU() says what is missing and why: no `navigator.gpu` (an old browser), a page
 * not served from https:// or localhost, or a `navigator.gpu` that gives no adapter (WebGPU
 * blocked for the GPU or driver); the demo adds a title to each.
 */
import { checkWebGPU, currentEngine, initEngine, type Engine } from '../../src/index.js';

export type WebGPUStatus =
  | { ok: true; engine: Engine }
  | {
      ok: false;
      reason: 'no-webgpu' | 'insecure-context' | 'no-adapter' | 'init-failed';
      title: string;
      detail: string;
    };

const TITLES: Record<string, string> = {
  'no-webgpu': 'This browser does not offer WebGPU',
  'insecure-context': 'This page cannot use WebGPU: it is not a secure context',
  'no-adapter': 'WebGPU is present, but the browser gave no GPU adapter',
};

/** Why this page has no WebGPU, or the started engine. Never throws. */
export async function startWebGPU(): Promise<WebGPUStatus> {
  const check = await checkWebGPU().catch((e: unknown) => ({
    ok: false as const,
    code: 'no-adapter' as const,
    reason: e instanceof Error ? e.message : String(e),
    advice: '',
  }));
  if (!check.ok) {
    const reason =
      check.code === 'no-webgpu' || check.code === 'insecure-context' ? check.code : 'no-adapter';
    return {
      ok: false,
      reason,
      title: TITLES[reason] ?? 'WebGPU could not start',
      detail: `This demo trains neural networks on your GPU through WebGPU. ${check.reason} ${check.advice}`,
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

let pageStart: Promise<WebGPUStatus> | undefined;

/**
 * The page's engine for an element given none: the one the page already started, else one
 * started once and shared by every element that asks (never throws; the status says why not).
 */
export function pageWebGPU(): Promise<WebGPUStatus> {
  try {
    return Promise.resolve({ ok: true, engine: currentEngine() });
  } catch {
    // no engine on this page yet
  }
  pageStart ??= startWebGPU();
  return pageStart;
}

/** pageWebGPU's engine, or an error that says why WebGPU could not start. */
export async function pageEngine(): Promise<Engine> {
  const status = await pageWebGPU();
  if (!status.ok) throw new Error(`${status.title}. ${status.detail}`);
  return status.engine;
}
