/**
 * What the engine says about itself and the adapter: the counters tests assert (counts,
 * never times), the adapter's description, and the limits and features it works within.
 */
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

/** Optional features the engine asks for when the adapter offers them. */
export const ENGINE_FEATURES = ['timestamp-query', 'shader-f16', 'subgroups'] as const;
