/**
 * The PyTorch-style front-end (deck 003's last section): tensors with autograd, nn modules
 * with a forward of your own, optimizers, and the hand-written loop compiled into a replayed
 * step. Import it as `torch`:
 *
 *   import { initEngine, torch } from 'webgpu-mlp';
 *   const { nn, optim } = torch;
 */
export { noGrad, type BackwardOptions } from './autograd.js';
export {
  cat,
  fromValues,
  manualSeed,
  ones,
  Parameter,
  rand,
  randn,
  setDefaultDevice,
  Tensor,
  tensor,
  tracerOf,
  Variable,
  zeros,
  type NestedNumbers,
  type SizeArgs,
  type TensorLike,
  type TensorOptions,
  type TorchDType,
} from './tensor.js';
export type { TraceStats } from './trace.js';
export * as nn from './nn.js';
export * as optim from './optim.js';

import { Variable } from './tensor.js';
/** torch.autograd: Variable for old code (a Variable is a Tensor). */
export const autograd = { Variable };
