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
// The graph scheduler (the layer API of src/model builds on it).
export { Graph, GraphError } from './graph/ir.js';
export type {
  Value,
  Param,
  Node,
  LossHead,
  MetricHead,
  TargetKind,
  MetricKind,
  ActivationOp,
} from './graph/ir.js';
export { GpuData } from './graph/dataset.js';
export type { ColumnInput, GpuDataOptions } from './graph/dataset.js';
export { Trainer, NonFiniteLossError, LabelError, permutation } from './graph/executor.js';
export type { EpochOptions, StepLogs } from './graph/executor.js';
export { Plan, compilePlan } from './graph/plan.js';
export type { PlanStats, PlanOptions } from './graph/plan.js';
export type { OptimizerConfig } from './graph/memory.js';
export type { OptimizerSpec } from './kernels/optim.js';
export { BufferSlice, Recording } from './gpu/engine.js';
export type { Bindable } from './gpu/engine.js';
