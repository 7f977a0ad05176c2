/**
 * initEngine(): finds an adapter (hardware first, software fallback), requests the limits
 * and features the engine uses, and makes the resulting engine the current one.
 *
 * In a browser the adapter comes from navigator.gpu. In Node it comes from Dawn (the
 * `webgpu` package), through an AdapterSource that the Node entry registers, so that this
 * module never imports Node-only code.
 */
import {
  Engine,
  ENGINE_FEATURES,
  ENGINE_LIMITS,
  checkLowerLimits,
  type AdapterDescription,
  type EngineLimitName,
  type GpuWait,
  type LowerLimits,
} from './engine.js';
import { GPUInitError, type GPUInitErrorCode } from './errors.js';
import {
  chooseKernelProfile,
  describeKernelProfile,
  KERNEL_PROFILES,
  TUNE_MODES,
  type KernelProfileName,
  type ProfileHints,
  type TuneMode,
} from './profile.js';
import { contiguousSubgroupSize } from './subgroups.js';
import { isNode } from '../util/runtime.js';
import { suggest } from '../util/suggest.js';

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
  /**
   * Limits lower than the adapter's to hold the engine to, as if it ran on a smaller GPU:
   * e.g. { maxStorageBufferBindingSize: 2 ** 20 } makes fit split its data over bindings of
   * 1 MiB. Only max* limits; each an integer no higher than the adapter's.
   */
  limits?: LowerLimits;
  /**
   * The kernel profile (src/gpu/profile.ts): 'auto' (default) chooses it from the adapter
   * (a software adapter 'cpu', else by vendor); a name pins it, e.g. to run the GPU
   * profiles' kernel choices on a software adapter in a test.
   */
  kernels?: KernelProfileName | 'auto';
  /**
   * Matmul autotuning (src/kernels/tune.ts): 'off', 'cached' (use the device's cached
   * choices) or 'on' (also time the products a plan has no choice for, before training).
   * Default: 'off' on the cpu profile, 'cached' on a GPU's.
   */
  tune?: TuneMode;
  /** Mode 'on': the most ms one round of tuning may take before training (default 3000). */
  tuneBudgetMs?: number;
  /**
   * Whether kernels may use subgroup operations where the device has the 'subgroups'
   * feature (default true): the loss kernels then reduce each row with subgroup shuffles
   * instead of a tree in workgroup memory. false keeps the tree (the same results where a
   * row takes the same lanes); the feature is still requested.
   */
  subgroups?: boolean;
}

const INIT_OPTIONS = [
  'adapter',
  'powerPreference',
  'debug',
  'log',
  'limits',
  'kernels',
  'tune',
  'tuneBudgetMs',
  'subgroups',
] as const;

/** An adapter found by an AdapterSource, with the object that must outlive its device. */
export interface FoundAdapter {
  adapter: GPUAdapter;
  owner?: unknown;
  /** How the engine awaits the adapter's promises (Node's software adapters: src/node/poll.ts). */
  wait?: GpuWait;
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

/** Which browsers offer WebGPU, for advice in a browser that does not. */
export const WEBGPU_BROWSERS =
  'WebGPU ships in Chrome and Edge 113+ on Windows, macOS and ChromeOS, Chrome 121+ on Android, ' +
  'Safari 26, and Firefox 141+ on Windows. On Linux, Chrome may need ' +
  'chrome://flags/#enable-unsafe-webgpu (and chrome://flags/#enable-vulkan).';

/** The adapter source of this runtime: the page's navigator.gpu, else the registered one. */
function adapterSource(): AdapterSource {
  const g = globalThis as {
    navigator?: { gpu?: GPU };
    isSecureContext?: boolean;
    location?: { origin?: string };
  };
  const gpu = g.navigator?.gpu;
  if (gpu) return browserSource(gpu);
  if (nodeSource) return nodeSource;
  if (isNode()) {
    throw new GPUInitError(
      'no-webgpu',
      'No WebGPU in this Node process: this is the browser entry of webgpu-mlp, which does not load Dawn.',
      "Import from 'webgpu-mlp' (it resolves to the Node entry under Node) or 'webgpu-mlp/node', " +
        "with the 'webgpu' package installed (npm install webgpu).",
    );
  }
  // Browsers hide navigator.gpu outside secure contexts (https://, http://localhost).
  if (g.isSecureContext === false) {
    throw new GPUInitError(
      'insecure-context',
      `WebGPU is unavailable: this page (${g.location?.origin ?? 'unknown origin'}) is not a secure ` +
        'context, and browsers offer navigator.gpu only to secure ones.',
      'Serve the page over https://, or from http://localhost (or 127.0.0.1) while developing.',
    );
  }
  throw new GPUInitError(
    'no-webgpu',
    'This browser does not offer WebGPU: navigator.gpu is missing.',
    `Use a browser with WebGPU. ${WEBGPU_BROWSERS}`,
  );
}

export function browserSource(gpu: GPU): AdapterSource {
  return {
    runtime: 'browser',
    installHint:
      'WebGPU may be blocked for this GPU or driver, or hardware acceleration may be off: check ' +
      'chrome://gpu (the "WebGPU" line), update the graphics driver, and turn on "Use graphics ' +
      `acceleration when available" in the browser settings. ${WEBGPU_BROWSERS}`,
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

/** The adapter for `choice`, or a GPUInitError saying why there is none. */
async function findAdapter(
  fn: string,
  choice: AdapterChoice,
  powerPreference: GPUPowerPreference | undefined,
): Promise<{ source: AdapterSource; found: FoundAdapter }> {
  if (!['auto', 'hardware', 'software'].includes(choice)) {
    throw new GPUInitError(
      'bad-option',
      `${fn}: adapter must be 'auto', 'hardware' or 'software', got '${choice}'`,
    );
  }
  const source = adapterSource();
  let found: FoundAdapter | null;
  let failure = '';
  try {
    found = await source.find(choice, powerPreference);
  } catch (e) {
    if (e instanceof GPUInitError) throw e;
    // requestAdapter() rejects only on an internal failure of the implementation.
    found = null;
    failure = ` (requestAdapter() failed: ${e instanceof Error ? e.message : String(e)})`;
  }
  if (!found) {
    const kind = choice === 'auto' ? '' : `${choice} `;
    throw new GPUInitError('no-adapter', `No ${kind}WebGPU adapter was found${failure}.`, source.installHint);
  }
  return { source, found };
}

/** What checkWebGPU() found: the adapter initEngine() would use, or why there is none. */
export type WebGPUCheck =
  | { ok: true; adapter: AdapterDescription }
  | { ok: false; code: GPUInitErrorCode; reason: string; advice: string };

/**
 * Whether initEngine() can find an adapter here, without creating a device or throwing:
 * for an app to show what is missing (no `webgpu` package in Node, no navigator.gpu, a
 * page that is not a secure context, no adapter) and what to do about it.
 */
export async function checkWebGPU(
  options: Pick<InitEngineOptions, 'adapter' | 'powerPreference'> = {},
): Promise<WebGPUCheck> {
  try {
    const { source, found } = await findAdapter(
      'checkWebGPU()',
      options.adapter ?? 'auto',
      options.powerPreference ?? 'high-performance',
    );
    return { ok: true, adapter: describeAdapter(found.adapter, source.runtime) };
  } catch (e) {
    if (e instanceof GPUInitError) return { ok: false, code: e.code, reason: e.reason, advice: e.advice };
    throw e;
  }
}

/**
 * Creates an engine on the best adapter for `options.adapter` and makes it the current
 * engine (the one tensor() uses). Each call makes a new device; calling it again after a
 * device loss gives a working engine. Fails with a GPUInitError whose `code` says why.
 */
export async function initEngine(options: InitEngineOptions = {}): Promise<Engine> {
  checkInitOptions(options);
  const choice = options.adapter ?? 'auto';
  const { source, found } = await findAdapter(
    'initEngine()',
    choice,
    options.powerPreference ?? 'high-performance',
  );
  const { adapter } = found;
  const description = describeAdapter(adapter, source.runtime);

  const requiredLimits: Record<EngineLimitName, number> = {} as Record<EngineLimitName, number>;
  for (const name of ENGINE_LIMITS) requiredLimits[name] = adapter.limits[name];
  try {
    // Before the device exists, so that a bad value leaves nothing behind.
    checkLowerLimits(options.limits ?? {}, requiredLimits, description.name);
  } catch (e) {
    throw new GPUInitError('bad-option', (e as Error).message, undefined, { cause: e });
  }
  const requiredFeatures = ENGINE_FEATURES.filter((f) => adapter.features.has(f));
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({
      label: 'webgpu-mlp',
      requiredLimits,
      requiredFeatures: requiredFeatures as GPUFeatureName[],
    });
  } catch (e) {
    throw new GPUInitError(
      'device-refused',
      `The adapter "${description.name}" refused a device: ${(e as Error).message}`,
      'Update the graphics driver, or try another adapter (initEngine({ adapter: "software" })).',
      { cause: e },
    );
  }
  const asked = options.kernels === 'auto' ? undefined : options.kernels;
  const info = adapter.info as GPUAdapterInfo & ProfileHints;
  const hints = {
    subgroupMinSize: info.subgroupMinSize,
    subgroupMaxSize: info.subgroupMaxSize,
    // Only where the device lays its subgroups out as the row kernels assume (checked here).
    subgroups: options.subgroups !== false && (await contiguousSubgroupSize(device)) > 0,
  };
  const engine = new Engine(device, description, {
    debug: options.debug ?? debugFromEnvironment(),
    keepAlive: found.owner,
    ...(found.wait ? { wait: found.wait } : {}),
    profile: chooseKernelProfile(description, hints, asked, options.tune, options.tuneBudgetMs),
    ...(options.limits ? { limits: options.limits } : {}),
  });
  current = engine;

  const line =
    `webgpu-mlp: adapter "${description.name}"` +
    ` (${description.isFallback ? 'software fallback' : 'hardware'}, ${description.runtime}` +
    `${requiredFeatures.length ? `, ${requiredFeatures.join(', ')}` : ''}); ` +
    describeKernelProfile(engine.profile);
  const log = options.log ?? true;
  if (log === true) console.log(line);
  else if (typeof log === 'function') log(line);
  return engine;
}

/** Unknown option names and bad kernel profiles are errors before any adapter is asked for. */
function checkInitOptions(options: InitEngineOptions): void {
  const given: unknown = options;
  if (typeof given !== 'object' || given === null || Array.isArray(given)) {
    throw new GPUInitError('bad-option', `initEngine(): options must be an object, got ${String(given)}`);
  }
  for (const key of Object.keys(options)) {
    if ((INIT_OPTIONS as readonly string[]).includes(key)) continue;
    const close = suggest(key, INIT_OPTIONS);
    throw new GPUInitError(
      'bad-option',
      `initEngine(): unknown option '${key}'${close ? `; did you mean '${close}'?` : ''}. ` +
        `Options: ${INIT_OPTIONS.join(', ')}`,
    );
  }
  const tune: unknown = options.tune;
  if (tune !== undefined && !(TUNE_MODES as readonly unknown[]).includes(tune)) {
    throw new GPUInitError(
      'bad-option',
      `initEngine(): tune must be one of ${TUNE_MODES.join(', ')}, got ${String(tune)}`,
    );
  }
  const budget: unknown = options.tuneBudgetMs;
  if (budget !== undefined && !(typeof budget === 'number' && Number.isFinite(budget) && budget >= 0)) {
    throw new GPUInitError(
      'bad-option',
      `initEngine(): tuneBudgetMs must be a number of ms >= 0, got ${String(budget)}`,
    );
  }
  const subgroups: unknown = options.subgroups;
  if (subgroups !== undefined && typeof subgroups !== 'boolean') {
    throw new GPUInitError(
      'bad-option',
      `initEngine(): subgroups must be true or false, got ${String(subgroups)}`,
    );
  }
  const kernels: unknown = options.kernels;
  if (
    kernels !== undefined &&
    kernels !== 'auto' &&
    !(KERNEL_PROFILES as readonly unknown[]).includes(kernels)
  ) {
    throw new GPUInitError(
      'bad-option',
      `initEngine(): kernels must be 'auto' or one of ${KERNEL_PROFILES.join(', ')}, got ${String(kernels)}`,
    );
  }
}

/** The engine made by the last initEngine() call. */
export function currentEngine(): Engine {
  if (!current) {
    throw new GPUInitError(
      'no-engine',
      'No engine yet.',
      'Call `await initEngine()` before creating tensors.',
    );
  }
  current.assertUsable();
  return current;
}

function debugFromEnvironment(): boolean {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const value = env?.DEBUG ?? '';
  return value === '1' || value === 'true' || value.split(',').includes('webgpu-mlp');
}
