/**
 * Adapters in Node, through Dawn (the `webgpu` package). Dawn reaches GPUs through the
 * system's Vulkan (Linux), Metal (macOS) or D3D12 (Windows). Where there is no hardware
 * adapter, it can run on a software Vulkan driver: lavapipe (Mesa's mesa-vulkan-drivers)
 * or SwiftShader (shipped with Debian's chromium). The Vulkan loader picks its drivers from
 * VK_ICD_FILENAMES / VK_DRIVER_FILES when each Dawn instance is created, so a software
 * driver is chosen by pointing those at its ICD file for the duration of create().
 */
import { existsSync } from 'node:fs';
import type { AdapterChoice, AdapterSource, FoundAdapter } from '../gpu/init.js';
import { isFallback } from '../gpu/init.js';

interface DawnModule {
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

let dawn: DawnModule | undefined;

async function loadDawn(): Promise<DawnModule> {
  if (dawn) return dawn;
  try {
    dawn = (await import('webgpu')) as unknown as DawnModule;
  } catch (e) {
    throw new Error(
      `Could not load Dawn from the 'webgpu' package (${(e as Error).message}). ` +
        'Install it with `npm install webgpu`.',
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

async function request(mod: DawnModule, options: GPURequestAdapterOptions): Promise<FoundAdapter | null> {
  const gpu = mod.create(DAWN_FLAGS);
  const adapter = await gpu.requestAdapter(options);
  return adapter ? { adapter, owner: gpu } : null;
}

/** The software ICD files present on this machine, in order of preference. */
export function softwareIcds(): string[] {
  const own = process.env.WEBGPU_MLP_SOFTWARE_ICD;
  return [...(own ? [own] : []), ...SOFTWARE_ICDS].filter((p) => existsSync(p));
}

async function findSoftware(mod: DawnModule): Promise<FoundAdapter | null> {
  // An explicit VK_ICD_FILENAMES is the user's choice: use what it gives.
  if (process.env.VK_ICD_FILENAMES || process.env.VK_DRIVER_FILES) {
    const found = await request(mod, { forceFallbackAdapter: true });
    if (found) return found;
    return request(mod, {});
  }
  for (const icd of softwareIcds()) {
    // An ICD that Dawn rejects (e.g. Debian 12's own lavapipe 22.3) yields no adapter: try the next.
    const found = await withIcd(icd, () => request(mod, {}));
    if (found) return found;
  }
  return request(mod, { forceFallbackAdapter: true });
}

export const dawnSource: AdapterSource = {
  runtime: 'node-dawn',
  installHint:
    'Dawn needs a Vulkan driver (Metal on macOS, D3D12 on Windows). Without a GPU, install a ' +
    'software one: on Debian/Ubuntu `apt-get install mesa-vulkan-drivers` (lavapipe; on ' +
    'Debian 12 from bookworm-backports) or `apt-get install chromium` (SwiftShader), or run ' +
    '`npm run setup`. Set WEBGPU_MLP_SOFTWARE_ICD to another ICD file to use that one.',
  async find(choice: AdapterChoice, powerPreference?: GPUPowerPreference) {
    const mod = await loadDawn();
    if (choice === 'software') return findSoftware(mod);
    const found = await request(mod, powerPreference ? { powerPreference } : {});
    if (found && !isFallback(found.adapter)) return found;
    if (choice === 'hardware') return null;
    return found ?? findSoftware(mod);
  },
};
