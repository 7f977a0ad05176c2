/**
 * What the engine says about itself and the adapter: the counters tests assert (counts,
 * never times), the adapter's description, and the limits and features it works within.
 */
import { suggest } from '../util/suggest.js';

/** What a test or benchmark can assert about the engine's activity (counts, never times). */
export interface EngineCounters {
  /** Buffers currently alive and their total size in bytes. */
  liveBuffers: number;
  liveBytes: number;
  /** The most bytes alive at once since the engine was created or resetPeak(). */
  peakBytes: number;
  /** Totals since the engine was created. */
  buffersCreated: number;
  shaderModules: number;
  pipelines: number;
  bindGroups: number;
  dispatches: number;
  submits: number;
  readbacks: number;
}

/** The adapter an engine runs on, as logged by initEngine(). */
export interface AdapterDescription {
  /** A human-readable name, e.g. "llvmpipe: Mesa 25.0.7 (LLVM 15.0.6)". */
  name: string;
  vendor: string;
  architecture: string;
  /**
   * The device as the implementation names it (Dawn on Vulkan: the GPU's model, e.g.
   * "nvidia-h100-80gb-hbm3", where `name` may only give the driver). May be empty.
   */
  device: string;
  /** True for a software (CPU) adapter such as lavapipe or SwiftShader. */
  isFallback: boolean;
  /** Where the WebGPU implementation came from: the page's navigator.gpu, or Dawn in Node. */
  runtime: 'browser' | 'node-dawn';
}

/** The adapter limits the engine requests and works within. */
export const ENGINE_LIMITS = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxUniformBufferBindingSize',
  'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupsPerDimension',
  'minStorageBufferOffsetAlignment',
  'minUniformBufferOffsetAlignment',
] as const;
export type EngineLimitName = (typeof ENGINE_LIMITS)[number];
export type EngineLimits = Readonly<Record<EngineLimitName, number>>;

/**
 * Limits lower than the adapter's that an engine holds itself to (initEngine({ limits })):
 * to run on a big GPU as on a smaller one, e.g. a 1 MiB maxStorageBufferBindingSize, so that
 * a test exercises the code that splits data over several bindings. Only the max* limits.
 */
export type LowerLimits = Partial<Record<EngineLimitName, number>>;

/**
 * `lower` checked against the device's limits: known max* names, positive integers no
 * higher than the device's (a device cannot be asked for more than its adapter offers).
 */
export function checkLowerLimits(lower: LowerLimits, device: EngineLimits, adapterName: string): LowerLimits {
  const given: unknown = lower;
  if (typeof given !== 'object' || given === null || Array.isArray(given))
    throw new TypeError(`initEngine(): limits must be an object of limit names, got ${String(given)}`);
  const names = ENGINE_LIMITS.filter((n) => n.startsWith('max'));
  const out: Record<string, number> = {};
  for (const [name, value] of Object.entries(lower) as [string, number | undefined][]) {
    if (value === undefined) continue;
    if (!(names as readonly string[]).includes(name)) {
      const close = suggest(name, names);
      const why = (ENGINE_LIMITS as readonly string[]).includes(name)
        ? `'${name}' is an alignment, which cannot be lowered`
        : `unknown limit '${name}'${close ? `; did you mean '${close}'?` : ''}`;
      throw new TypeError(`initEngine(): limits: ${why}. Limits that can be lowered: ${names.join(', ')}`);
    }
    const max = device[name as EngineLimitName];
    // A binding must hold two aligned slices for data split over bindings to make progress.
    const min = name === 'maxStorageBufferBindingSize' ? 2 * device.minStorageBufferOffsetAlignment : 1;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
      throw new RangeError(
        `initEngine(): limits.${name} ${String(value)} must be an integer from ${min} to ${max}, ` +
          `the device's own on "${adapterName}"`,
      );
    }
    out[name] = value;
  }
  return out;
}

/** Optional features the engine asks for when the adapter offers them. */
export const ENGINE_FEATURES = ['timestamp-query', 'shader-f16', 'subgroups'] as const;
