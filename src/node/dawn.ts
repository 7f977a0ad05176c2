/**
 * Adapters in Node, through Dawn (the `webgpu` package). Dawn reaches GPUs through the
 * system's Vulkan (Linux), Metal (macOS) or D3D12 (Windows). Where there is no hardware
 * adapter, it can run on a software Vulkan driver: lavapipe (Mesa's mesa-vulkan-drivers)
 * or SwiftShader (shipped with Debian's chromium). The Vulkan loader picks its drivers from
 * VK_ICD_FILENAMES / VK_DRIVER_FILES when each Dawn instance is created, so a software
 * driver is chosen by pointing those at its ICD file for the duration of create().
 *
 * Dawn prints "maxDynamicUniformBuffersPerPipelineLayout artificially reduced ..." (and the
 * same for storage buffers) on stderr when an instance first enumerates a Vulkan device:
 * Limits.cpp writes it through dawn::WarningLog(), which neither a toggle nor create()'s
 * flags turn off, before any device limits can be requested. So one instance per driver
 * environment is kept and reused: the two lines appear once per process (once more where
 * 'software' points the loader at another ICD), not once per initEngine() call.
 */
import { existsSync } from 'node:fs';
import type { AdapterChoice, AdapterSource, FoundAdapter } from '../gpu/init.js';
import { isFallback } from '../gpu/init.js';
import { GPUInitError } from '../gpu/errors.js';
import { politeWait } from './poll.js';

/** What the `webgpu` package exports. */
export interface DawnModule {
  create(flags: string[]): GPU;
  globals: Record<string, unknown>;
}

/** Software Vulkan ICDs, best first: lavapipe is about 5x faster than SwiftShader here. */
export const SOFTWARE_ICDS = [
  '/usr/share/vulkan/icd.d/lvp_icd.json',
  '/usr/share/vulkan/icd.d/lvp_icd.x86_64.json',
  '/usr/share/vulkan/icd.d/lvp_icd.aarch64.json',
  '/usr/lib/chromium/vk_swiftshader_icd.json',
  '/usr/lib/chromium-browser/vk_swiftshader_icd.json',
];

/** Loads the `webgpu` package; a GPUInitError ('dawn-missing') where it is not installed or does not load. */
async function loadDawn(load: () => Promise<DawnModule>): Promise<DawnModule> {
  let dawn: DawnModule;
  try {
    dawn = await load();
  } catch (e) {
    throw new GPUInitError(
      'dawn-missing',
      `Could not load Dawn (WebGPU for Node) from the optional 'webgpu' package: ${(e as Error).message}`,
      'Install it in your project with `npm install webgpu` (it ships Dawn for Linux x64/arm64, ' +
        'macOS and Windows x64/arm64); browser apps do not need it.',
      { cause: e },
    );
  }
  // GPUBufferUsage, GPUMapMode, ... as in a browser.
  for (const [k, v] of Object.entries(dawn.globals)) {
    if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  }
  return dawn;
}

/** Runs `fn` with the Vulkan loader pointed at one ICD file, restoring the environment after. */
async function withIcd<T>(icd: string, fn: () => Promise<T>): Promise<T> {
  const saved = { a: process.env.VK_ICD_FILENAMES, b: process.env.VK_DRIVER_FILES };
  process.env.VK_ICD_FILENAMES = icd;
  process.env.VK_DRIVER_FILES = icd;
  try {
    return await fn();
  } finally {
    restore('VK_ICD_FILENAMES', saved.a);
    restore('VK_DRIVER_FILES', saved.b);
  }
}

function restore(name: 'VK_ICD_FILENAMES' | 'VK_DRIVER_FILES', value: string | undefined): void {
  if (value !== undefined) process.env[name] = value;
  else if (name === 'VK_ICD_FILENAMES') delete process.env.VK_ICD_FILENAMES;
  else delete process.env.VK_DRIVER_FILES;
}

/**
 * Dawn rounds GPU timestamps to 65.5 µs by default (a browser's defence against timing
 * attacks); a Node process has nothing to hide from itself, and profiles of short kernels
 * need the real resolution.
 */
const DAWN_FLAGS = ['disable-dawn-features=timestamp_quantization'];

/** A module and its Dawn instances, one per Vulkan driver environment (see the file comment). */
interface Dawn {
  mod: DawnModule;
  instances: Map<string, GPU>;
}

async function request(dawn: Dawn, options: GPURequestAdapterOptions): Promise<FoundAdapter | null> {
  const key = `${process.env.VK_ICD_FILENAMES ?? ''}|${process.env.VK_DRIVER_FILES ?? ''}`;
  let gpu = dawn.instances.get(key);
  if (!gpu) {
    gpu = dawn.mod.create(DAWN_FLAGS);
    dawn.instances.set(key, gpu);
  }
  const adapter = await gpu.requestAdapter(options);
  if (!adapter) return null;
  // A software adapter's work runs on the CPU cores that Dawn's polling would spin (poll.ts).
  return isFallback(adapter) ? { adapter, owner: gpu, wait: politeWait } : { adapter, owner: gpu };
}

/** The software ICD files present on this machine, in order of preference. */
export function softwareIcds(): string[] {
  const own = process.env.WEBGPU_MLP_SOFTWARE_ICD;
  return [...(own ? [own] : []), ...SOFTWARE_ICDS].filter((p) => existsSync(p));
}

async function findSoftware(dawn: Dawn): Promise<FoundAdapter | null> {
  // An explicit VK_ICD_FILENAMES is the user's choice: use what it gives.
  if (process.env.VK_ICD_FILENAMES || process.env.VK_DRIVER_FILES) {
    const found = await request(dawn, { forceFallbackAdapter: true });
    if (found) return found;
    return request(dawn, {});
  }
  for (const icd of softwareIcds()) {
    // An ICD that Dawn rejects (e.g. Debian 12's own lavapipe 22.3) yields no adapter: try the next.
    const found = await withIcd(icd, () => request(dawn, {}));
    if (found) return found;
  }
  return request(dawn, { forceFallbackAdapter: true });
}

/**
 * An adapter source on the Dawn module that `load` gives (the `webgpu` package for
 * dawnSource; tests pass a loader that fails, to see what a user without it sees).
 */
export function dawnSourceFrom(load: () => Promise<DawnModule>): AdapterSource {
  let loading: Promise<Dawn> | undefined;
  return {
    runtime: 'node-dawn',
    installHint:
      'Dawn needs a Vulkan driver (Metal on macOS, D3D12 on Windows). Without a GPU, install a ' +
      'software one: on Debian/Ubuntu `apt-get install mesa-vulkan-drivers` (lavapipe; on ' +
      'Debian 12 from bookworm-backports) or `apt-get install chromium` (SwiftShader). Set ' +
      'WEBGPU_MLP_SOFTWARE_ICD to another ICD file to use that one.',
    async find(choice: AdapterChoice, powerPreference?: GPUPowerPreference) {
      // One load for concurrent calls; a failed one is tried again (the user may install it).
      loading ??= loadDawn(load).then(
        (mod) => ({ mod, instances: new Map<string, GPU>() }),
        (e: unknown) => {
          loading = undefined;
          throw e;
        },
      );
      const dawn = await loading;
      if (choice === 'software') return findSoftware(dawn);
      const found = await request(dawn, powerPreference ? { powerPreference } : {});
      if (found && !isFallback(found.adapter)) return found;
      if (choice === 'hardware') return null;
      return found ?? findSoftware(dawn);
    },
  };
}

export const dawnSource: AdapterSource = dawnSourceFrom(
  async () => (await import('webgpu')) as unknown as DawnModule,
);
