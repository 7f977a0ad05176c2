/**
 * What a consumer of the package sees when WebGPU cannot start: each cause is a GPUInitError
 * with its own `code`, a message with advice that fits an app (never this repository's own
 * `npm run setup`), and checkWebGPU() reports the same without throwing.
 *
 * The browser cases run here against fake globals: the runtime check is mocked to "not
 * Node", navigator has no `gpu`, and isSecureContext / location are those of a page. (A real
 * Chromium page without navigator.gpu is demo/test/no-webgpu.test.ts, through the demo's
 * use of checkWebGPU().)
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { GPUInitError } from './errors.js';
import { browserSource, checkWebGPU, currentEngine, initEngine, registerAdapterSource } from './init.js';
import { dawnSource, dawnSourceFrom, type DawnModule } from '../node/dawn.js';

const runtime = vi.hoisted(() => ({ node: true }));
vi.mock('../util/runtime.js', () => ({ isNode: () => runtime.node }));

/** The error initEngine() fails with (the test fails if it does not). */
async function initError(): Promise<GPUInitError> {
  const e: unknown = await initEngine({ log: false }).then(
    () => new Error('initEngine() succeeded'),
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(GPUInitError);
  return e as GPUInitError;
}

afterEach(() => {
  vi.unstubAllGlobals();
  runtime.node = true;
  registerAdapterSource(dawnSource);
});

// First: no engine exists yet in this file.
it("currentEngine() before any initEngine(): code 'no-engine'", () => {
  let e: unknown;
  try {
    currentEngine();
  } catch (err) {
    e = err;
  }
  expect(e).toBeInstanceOf(GPUInitError);
  expect((e as GPUInitError).code).toBe('no-engine');
  expect((e as GPUInitError).message).toContain('await initEngine()');
});

describe('Node', () => {
  it("without the 'webgpu' package: code 'dawn-missing', advice npm install webgpu", async () => {
    // What Node's resolver says when the optional dependency was not installed.
    const notFound = Object.assign(
      new Error("Cannot find package 'webgpu' imported from /app/node_modules/webgpu-mlp/dist/node.js"),
      { code: 'ERR_MODULE_NOT_FOUND' },
    );
    registerAdapterSource(dawnSourceFrom(() => Promise.reject(notFound)));
    const e = await initError();
    expect(e.code).toBe('dawn-missing');
    expect(e.name).toBe('GPUInitError');
    expect(e.message).toContain("Cannot find package 'webgpu'");
    expect(e.message).toContain('npm install webgpu');
    expect(e.message).not.toContain('npm run setup');
    expect(e.cause).toBe(notFound);
    expect(String(e.stack).split('\n')[0]).toMatch(/^GPUInitError: Could not load Dawn/);
    expect(await checkWebGPU()).toEqual({
      ok: false,
      code: 'dawn-missing',
      reason: e.reason,
      advice: e.advice,
    });
  });

  it("after 'dawn-missing', the next call loads the package again (installed meanwhile)", async () => {
    let calls = 0;
    registerAdapterSource(
      dawnSourceFrom(async () => {
        calls += 1;
        if (calls === 1) throw new Error("Cannot find package 'webgpu'");
        return (await import('webgpu')) as unknown as DawnModule;
      }),
    );
    expect((await initError()).code).toBe('dawn-missing');
    const engine = await initEngine({ log: false });
    expect([calls, engine.adapter.runtime]).toEqual([2, 'node-dawn']);
    engine.dispose();
  });

  it("no adapter from Dawn: code 'no-adapter', advice to install a Vulkan driver", async () => {
    registerAdapterSource({ ...dawnSource, find: () => Promise.resolve(null) });
    const e = await initError();
    expect(e.code).toBe('no-adapter');
    expect(e.message).toMatch(/^No WebGPU adapter was found\. Dawn needs a Vulkan driver/);
    expect(e.message).toContain('mesa-vulkan-drivers');
    expect(e.message).not.toContain('npm run setup');
    const check = await checkWebGPU({ adapter: 'hardware' });
    expect(check).toMatchObject({
      ok: false,
      code: 'no-adapter',
      reason: 'No hardware WebGPU adapter was found.',
    });
  });

  it("an adapter source that throws: code 'no-adapter' with the failure in the reason", async () => {
    registerAdapterSource({
      ...dawnSource,
      find: () => Promise.reject(new Error('vkCreateInstance failed')),
    });
    const e = await initError();
    expect(e.code).toBe('no-adapter');
    expect(e.reason).toBe('No WebGPU adapter was found (requestAdapter() failed: vkCreateInstance failed).');
  });

  it('with an adapter: checkWebGPU() describes the one initEngine() takes', async () => {
    const check = await checkWebGPU();
    expect(check.ok).toBe(true);
    if (!check.ok) return;
    const engine = await initEngine({ log: false });
    expect(check.adapter).toEqual(engine.adapter);
    engine.dispose();
  });

  it("an unknown adapter choice: code 'bad-option'", async () => {
    expect(await checkWebGPU({ adapter: 'gpu' as 'auto' })).toMatchObject({
      ok: false,
      code: 'bad-option',
      reason: "checkWebGPU(): adapter must be 'auto', 'hardware' or 'software', got 'gpu'",
    });
  });
});

describe('browser (fake globals)', () => {
  /** A page's globals: navigator (with `gpu` or not), isSecureContext and location. */
  function page(origin: string, secure: boolean, gpu?: GPU): void {
    runtime.node = false;
    registerAdapterSource(undefined as unknown as typeof dawnSource); // a browser registers none
    vi.stubGlobal('navigator', gpu ? { gpu } : {});
    vi.stubGlobal('isSecureContext', secure);
    vi.stubGlobal('location', { origin });
  }

  it("no navigator.gpu on a secure page: code 'no-webgpu', advice names the browsers", async () => {
    page('https://app.example', true);
    const e = await initError();
    expect(e.code).toBe('no-webgpu');
    expect(e.reason).toBe('This browser does not offer WebGPU: navigator.gpu is missing.');
    expect(e.advice).toMatch(/Chrome and Edge 113\+/);
    expect(e.advice).toMatch(/Safari 26/);
    expect(e.advice).toMatch(/chrome:\/\/flags\/#enable-unsafe-webgpu/);
    expect(await checkWebGPU()).toMatchObject({ ok: false, code: 'no-webgpu' });
  });

  it("an http:// page that is not localhost: code 'insecure-context', advice https or localhost", async () => {
    page('http://192.168.1.20:5173', false);
    const e = await initError();
    expect(e.code).toBe('insecure-context');
    expect(e.reason).toContain('(http://192.168.1.20:5173) is not a secure context');
    expect(e.advice).toMatch(/https:\/\/.*http:\/\/localhost/);
    expect(await checkWebGPU()).toMatchObject({ ok: false, code: 'insecure-context' });
  });

  it("navigator.gpu without an adapter: code 'no-adapter', advice chrome://gpu and drivers", async () => {
    const gpu = { requestAdapter: () => Promise.resolve(null) } as unknown as GPU;
    page('https://app.example', true, gpu);
    const e = await initError();
    expect(e.code).toBe('no-adapter');
    expect(e.message).toMatch(/^No WebGPU adapter was found\. WebGPU may be blocked/);
    expect(e.advice).toContain('chrome://gpu');
    expect(e.advice).toBe(browserSource(gpu).installHint);
    expect(e.message).not.toContain('npm');
  });

  it("no Node entry in Node: code 'no-webgpu', advice the Node entry and npm install webgpu", async () => {
    registerAdapterSource(undefined as unknown as typeof dawnSource);
    vi.stubGlobal('navigator', {});
    const e = await initError();
    expect(e.code).toBe('no-webgpu');
    expect(e.advice).toContain("'webgpu-mlp/node'");
    expect(e.advice).toContain('npm install webgpu');
  });
});
