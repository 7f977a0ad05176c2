/**
 * initEngine(): finds an adapter (hardware first, software fallback), requests the limits
 * and features the engine uses, and makes the resulting engine the current one.
 *
 * In a browser the adapter comes from navigator.gpu. In Node it comes from Dawn (the
 * `webgpu` package), through an AdapterSource that the Node entry registers, so that this
 * module never imports Node-only code.
 */
import { Engine, ENGINE_FEATURES, ENGINE_LIMITS, type AdapterDescription } from './engine.js';
import { GPUInitError } from './errors.js';
import { isNode } from '../util/runtime.js';

/** 'auto': hardware if there is one, else software. 'hardware' / 'software': only that kind. */
export type AdapterChoice = 'auto' | 'hardware' | 'software';

export interface InitEngineOptions {
  adapter?: AdapterChoice;
  /** Default 'high-performance': training wants the discrete GPU over an integrated one. */
  powerPreference?: GPUPowerPreference;
  /** Print each new pipeline's WGSL. Default: DEBUG=1 (or a DEBUG list naming webgpu-mlp) in Node. */
  debug?: boolean;
  /** Where the one-line adapter report goes: a function, true for console.log (default), false for nowhere. */
  log?: boolean | ((line: string) => void);
}

/** An adapter found by an AdapterSource, with the object that must outlive its device. */
export interface FoundAdapter {
  adapter: GPUAdapter;
  owner?: unknown;
}

/** Where adapters come from in one runtime. */
export interface AdapterSource {
  runtime: AdapterDescription['runtime'];
  find(choice: AdapterChoice, powerPreference?: GPUPowerPreference): Promise<FoundAdapter | null>;
  /** What to install when no adapter is found. */
  installHint: string;
}

let nodeSource: AdapterSource | undefined;
let current: Engine | undefined;

/** Called by the Node entry (src/node) so that initEngine() can reach Dawn. */
export function registerAdapterSource(source: AdapterSource): void {
  nodeSource = source;
}

/** The adapter source of this runtime: the page's navigator.gpu, else the registered one. */
function adapterSource(): AdapterSource {
  const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  if (gpu) return browserSource(gpu);
  if (nodeSource) return nodeSource;
  throw new GPUInitError(
    isNode()
      ? "No WebGPU in this Node process: import from 'webgpu-mlp' (its Node entry) or " +
          "'webgpu-mlp/node', which load Dawn from the 'webgpu' package (npm install webgpu)."
      : 'This browser has no WebGPU (navigator.gpu is undefined). Use Chrome/Edge 113+ ' +
          '(or a browser with WebGPU enabled), and serve the page from https:// or http://localhost.',
  );
}

export function browserSource(gpu: GPU): AdapterSource {
  return {
    runtime: 'browser',
    installHint:
      'Update the graphics driver, or let the browser use its software adapter ' +
      '(Chrome: --enable-unsafe-swiftshader).',
    async find(choice, powerPreference) {
      if (choice !== 'software') {
        const adapter = await gpu.requestAdapter(powerPreference ? { powerPreference } : {});
        if (adapter && !isFallback(adapter)) return { adapter };
        if (choice === 'hardware') return null;
        if (adapter) return { adapter };
      }
      const adapter = await gpu.requestAdapter({ forceFallbackAdapter: true });
      return adapter ? { adapter } : null;
    },
  };
}

/** True for a software adapter. Older implementations lack isFallbackAdapter: judge by name. */
export function isFallback(adapter: GPUAdapter): boolean {
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  if (typeof info.isFallbackAdapter === 'boolean') return info.isFallbackAdapter;
  return /swiftshader|llvmpipe|lavapipe|warp|software/i.test(
    `${info.vendor} ${info.architecture} ${info.device} ${info.description}`,
  );
}

export function describeAdapter(
  adapter: GPUAdapter,
  runtime: AdapterDescription['runtime'],
): AdapterDescription {
  const info = adapter.info;
  const name =
    info.description ||
    [info.vendor, info.architecture, info.device].filter((s) => s).join(' ') ||
    'unnamed adapter';
  return {
    name,
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    isFallback: isFallback(adapter),
    runtime,
  };
}

/**
 * Creates an engine on the best adapter for `options.adapter` and makes it the current
 * engine (the one tensor() uses). Each call makes a new device; calling it again after a
 * device loss gives a working engine.
 */
export async function initEngine(options: InitEngineOptions = {}): Promise<Engine> {
  const choice = options.adapter ?? 'auto';
  if (!['auto', 'hardware', 'software'].includes(choice)) {
    throw new GPUInitError(`initEngine(): adapter must be 'auto', 'hardware' or 'software', got '${choice}'`);
  }
  const source = adapterSource();
  const found = await source.find(choice, options.powerPreference ?? 'high-performance');
  if (!found) {
    const kind = choice === 'auto' ? '' : `${choice} `;
    throw new GPUInitError(`No ${kind}WebGPU adapter was found. ${source.installHint}`);
  }
  const { adapter } = found;
  const description = describeAdapter(adapter, source.runtime);

  const requiredLimits: Record<string, number> = {};
  for (const name of ENGINE_LIMITS) requiredLimits[name] = adapter.limits[name];
  const requiredFeatures = ENGINE_FEATURES.filter((f) => adapter.features.has(f));
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({
      label: 'webgpu-mlp',
      requiredLimits,
      requiredFeatures: requiredFeatures as GPUFeatureName[],
    });
  } catch (e) {
    throw new GPUInitError(`The adapter "${description.name}" refused a device: ${(e as Error).message}`);
  }
  const engine = new Engine(device, description, {
    debug: options.debug ?? debugFromEnvironment(),
    keepAlive: found.owner,
  });
  current = engine;

  const line =
    `webgpu-mlp: adapter "${description.name}"` +
    ` (${description.isFallback ? 'software fallback' : 'hardware'}, ${description.runtime}` +
    `${requiredFeatures.length ? `, ${requiredFeatures.join(', ')}` : ''})`;
  const log = options.log ?? true;
  if (log === true) console.log(line);
  else if (typeof log === 'function') log(line);
  return engine;
}

/** The engine made by the last initEngine() call. */
export function currentEngine(): Engine {
  if (!current) {
    throw new GPUInitError('No engine yet: call `await initEngine()` before creating tensors.');
  }
  current.assertUsable();
  return current;
}

function debugFromEnvironment(): boolean {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const value = env?.DEBUG ?? '';
  return value === '1' || value === 'true' || value.split(',').includes('webgpu-mlp');
}
