/**
 * The graph's ops, one file per family; each op class is the whole record of its op
 * (src/graph/op.ts says what that holds). A new op is a new file here plus its line below.
 */
export { InputOp } from './input.js';
export { MatmulOp, BiasAddOp, matmul, biasAdd, dense } from './dense.js';
export { ActivationOp, activation } from './activation.js';
export { BatchNormOp, batchNorm, type BatchNormParams } from './batchnorm.js';
export { DropoutOp, dropout } from './dropout.js';
export { ConcatOp, AddOp, concat, add } from './merge.js';
export { ActivityRegOp, activityRegularizer } from './regularize.js';
