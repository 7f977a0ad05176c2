/**
 * webgpu-mlp: the browser-safe public API. Under Node, `import 'webgpu-mlp'` resolves to
 * src/node/index.ts, which re-exports this with Dawn registered.
 */
export { initEngine, currentEngine, isFallback, registerAdapterSource } from './gpu/init.js';
export type { InitEngineOptions, AdapterChoice, AdapterSource, FoundAdapter } from './gpu/init.js';
export { Engine, ENGINE_FEATURES, ENGINE_LIMITS } from './gpu/engine.js';
export { profile } from './gpu/profiler.js';
export type { Profile, DispatchTiming } from './gpu/profiler.js';
export type { EngineCounters, AdapterDescription, EngineLimits } from './gpu/engine.js';
export {
  GPUInitError,
  GPULimitError,
  GPUOperationError,
  DeviceLostError,
  ShaderCompileError,
} from './gpu/errors.js';
export { Tensor, tensor, emptyTensor } from './tensor/tensor.js';
export type { DType, DTypeLike, TensorData, TensorOptions, TypedArray } from './tensor/tensor.js';
export * as ops from './tensor/ops.js';
