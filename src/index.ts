/**
 * webgpu-mlp: the browser-safe public API. Under Node, `import 'webgpu-mlp'` resolves to
 * src/node/index.ts, which re-exports this with Dawn registered.
 */
export {
  initEngine,
  checkWebGPU,
  currentEngine,
  isFallback,
  registerAdapterSource,
  WEBGPU_BROWSERS,
} from './gpu/init.js';
export type {
  InitEngineOptions,
  AdapterChoice,
  AdapterSource,
  FoundAdapter,
  WebGPUCheck,
} from './gpu/init.js';
export { Engine, ENGINE_FEATURES, ENGINE_LIMITS } from './gpu/engine.js';
export { profile } from './gpu/profiler.js';
export type { Profile, DispatchTiming } from './gpu/profiler.js';
export type { EngineCounters, AdapterDescription, EngineLimits, DispatchWork } from './gpu/engine.js';
export { chooseKernelProfile, describeKernelProfile, KERNEL_PROFILES } from './gpu/profile.js';
export { TUNE_MODES } from './gpu/profile.js';
export type { KernelProfile, KernelProfileName, TuneMode } from './gpu/profile.js';
export { registerMatmulTuneStore, tuneMatmul, tunedChoices } from './kernels/tune.js';
export type { MatmulTuneResult, MatmulTuneStore } from './kernels/tune.js';
export {
  GPUInitError,
  GPULimitError,
  GPUOperationError,
  DeviceLostError,
  ShaderCompileError,
} from './gpu/errors.js';
export type { GPUInitErrorCode } from './gpu/errors.js';
export { Tensor, tensor, emptyTensor } from './tensor/tensor.js';
export type { DType, DTypeLike, TensorData, TensorOptions, TypedArray } from './tensor/tensor.js';
export * as ops from './tensor/ops.js';
// The graph scheduler (the layer API of src/model builds on it): the IR, its op records
// (graphOps.dense(g, ...), the op classes), compiled plans and the executor.
export { Graph, GraphError } from './graph/ir.js';
export { Op } from './graph/op.js';
export * as graphOps from './graph/ops/index.js';
export type {
  Value,
  Param,
  LossHead,
  MetricHead,
  TargetKind,
  MetricKind,
  ActivationAttrs,
} from './graph/ir.js';
export { GpuData } from './graph/dataset.js';
export type { ColumnInput, GpuDataOptions } from './graph/dataset.js';
export { Executor, NonFiniteLossError, LabelError, permutation } from './graph/executor.js';
export type { EpochOptions, StepLogs } from './graph/executor.js';
export { Plan, compilePlan } from './graph/compile.js';
export type { PlanStats, PlanOptions } from './graph/compile.js';
export type { OptimizerCommon, OptimizerSettings, OptimizerSpec } from './kernels/optim.js';
export { BufferSlice, Recording } from './gpu/engine.js';
export type { Bindable } from './gpu/engine.js';
// The Keras-style API.
export { sequential, model, input, LayersModel, Sequential } from './model/model.js';
export { formatLogs } from './model/progress.js';
export type {
  CompileArgs,
  CompiledStep,
  EvaluateArgs,
  EvaluateResult,
  FitArgs,
  OnBatchArgs,
  PredictArgs,
  TrainOnBatchArgs,
  Prediction,
  SaveArgs,
  SequentialArgs,
} from './model/model.js';
export type { GetLayerArgs, SummaryArgs, TopologyArgs } from './model/topology.js';
export type { ClassWeightInput, SampleWeightInput } from './model/sample-weights.js';
export {
  callbacks,
  BaseCallback,
  CustomCallback,
  History,
  EarlyStopping,
  ModelCheckpoint,
  LearningRateScheduler,
  ReduceLROnPlateau,
  TerminateOnNaN,
  CSVLogger,
  timeBasedDecay,
  stepDecay,
} from './model/callbacks.js';
export type { Callback, Logs, TrainParams, TrainingModel } from './model/callbacks.js';
export { metricAlias, logValue } from './model/callbacks.js';
export type {
  CSVLoggerOptions,
  EarlyStoppingArgs,
  LearningRateSchedulerOptions,
  ModelCheckpointArgs,
  ModelCheckpointOptions,
  ReduceLROnPlateauArgs,
} from './model/callbacks.js';
export { DataError } from './model/fit-data.js';
export { NonFiniteWeightError } from './model/finite.js';
export type { TensorLike, TfjsTensorLike, DataArg } from './model/fit-data.js';
export {
  layers,
  clearSession,
  Layer,
  SymbolicTensor,
  Dense,
  Flatten,
  Activation,
  Dropout,
  BatchNormalization,
  Concatenate,
  Add,
  InputLayer,
} from './nn/layers/index.js';
export { initializers, resolveInitializer } from './nn/initializers.js';
export type {
  ConstantArgs,
  Initializer,
  InitializerSpec,
  NormalArgs,
  SeedArgs,
  UniformArgs,
  VarianceScalingArgs,
} from './nn/initializers.js';
export { regularizers, resolveRegularizer } from './nn/regularizers.js';
export type { L1Args, L1L2Args, L2Args, Regularizer, RegularizerSpec } from './nn/regularizers.js';
export { optimizers, resolveOptimizer } from './nn/optimizers.js';
export type {
  AdamArgs,
  AdamOptions,
  CommonOptimizerArgs,
  NadamArgs,
  NadamOptions,
  Optimizer,
  RmspropArgs,
  RmspropOptions,
  SgdArgs,
  SgdOptions,
} from './nn/optimizers.js';
export { readOptions, type Spelled } from './util/options.js';
/** keras.utils: to_categorical, plot_model / model_to_dot, and plotHistory (learning curves). */
export * as utils from './utils/index.js';
export type {
  HistoryLike,
  HistoryPlot,
  ModelPlot,
  ModelToDotArgs,
  PlotHistoryArgs,
  PlotModelArgs,
  PlotPackageLoaders,
  PlotPackageName,
  Rankdir,
  Splines,
} from './utils/index.js';
export * as data from './data/index.js';
/** keras.datasets: mnist, fashionMnist, californiaHousing, bostonHousing (loadData()). */
export * as datasets from './data/datasets/index.js';
export {
  saveModel,
  browserFiles,
  listModels,
  removeModel,
  modelToArtifacts,
  ModelFormatError,
  ModelIOError,
} from './model/io.js';
export { loadModel, modelFromArtifacts } from './model/load.js';
export type { LoadModelArgs } from './model/load.js';
export type { KerasFileSource } from './model/keras-io.js';
export { H5FormatError } from './keras/h5.js';
export type {
  SaveResult,
  ModelArtifactsInfo,
  SaveHandler,
  LoadHandler,
  ModelArtifacts,
  ModelArtifactsLike,
  ModelJson,
} from './model/io.js';
// Hyperparameter search (grid, random, Hyperband) and cross-validation.
export * from './tune/index.js';
/** scikit-learn style: KerasClassifier / KerasRegressor, Pipeline, encoders, GridSearchCV, ... */
export * as sklearn from './sklearn/index.js';
/** The PyTorch style: tensors with autograd, nn.Module, optim, a compiled hand-written loop. */
export * as torch from './torch/index.js';
