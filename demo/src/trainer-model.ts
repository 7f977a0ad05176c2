/**
 * The models <mlp-trainer> trains: the demo's MNIST MLP (models.ts's buildModel), or the
 * same architecture for an app's own data, with its input width and number of classes.
 */
import {
  EarlyStopping,
  LearningRateScheduler,
  stepDecay,
  timeBasedDecay,
  type Sequential,
} from '../../src/index.js';
import type { LrSchedule } from './trainer-form.js';
import { buildModel, type ModelConfig } from './models.js';

/** Epochs without a better val_loss before the Train tab's early stopping ends the run. */
export const EARLY_STOPPING_PATIENCE = 3;

/**
 * The callbacks of the Train tab's options: with early stopping, Keras's
 * EarlyStopping(monitor='val_loss', patience=3, restore_best_weights=True); with a schedule,
 * a LearningRateScheduler running the course's formula from the form's learning rate `lr0`
 * (the library's timeBasedDecay and stepDecay).
 */
export function trainCallbacks(
  earlyStopping: boolean,
  schedule: LrSchedule = { kind: 'constant' },
  lr0 = NaN,
): (EarlyStopping | LearningRateScheduler)[] {
  const out: (EarlyStopping | LearningRateScheduler)[] = [];
  if (earlyStopping) {
    out.push(
      new EarlyStopping({
        monitor: 'val_loss',
        patience: EARLY_STOPPING_PATIENCE,
        restore_best_weights: true,
      }),
    );
  }
  const f = scheduleFunction(schedule, lr0);
  if (f) out.push(new LearningRateScheduler(f));
  return out;
}

/** The learning rate at each epoch (0-based) of `schedule` from lr0; undefined for a constant one. */
export function scheduleFunction(schedule: LrSchedule, lr0: number): ((epoch: number) => number) | undefined {
  switch (schedule.kind) {
    case 'constant':
      return undefined;
    case 'time':
      return timeBasedDecay(lr0, schedule.decay);
    case 'step':
      return stepDecay(lr0, schedule.drop, schedule.epochsDrop);
  }
}

/** What the form says under its schedule menu. */
export function scheduleHint(kind: string): string {
  switch (kind) {
    case 'time':
      return 'Time-based: lr = lr₀ / (1 + decay · epoch), set at each epoch';
    case 'step':
      return 'Step drop: lr = lr₀ · drop^floor((1 + epoch) / epochs per drop)';
    default:
      return 'The learning rate stays as set';
  }
}

/**
 * The MLP of `c` for `features` inputs and `classes` softmax outputs, compiled with sparse
 * categorical cross-entropy and accuracy (models.ts's buildModel; MNIST is 784 → 10).
 */
export function buildMlp(c: ModelConfig, features = 784, classes = 10): Sequential {
  return buildModel(c, { features, classes });
}

/** "784-128-64-10 relu + BN, dropout 0.2". */
export function architecture(c: ModelConfig, features: number, classes: number): string {
  return (
    `${[features, ...c.hidden, classes].join('-')} ${c.activation}` +
    `${c.batchNorm ? ' + BN' : ''}${c.dropout > 0 ? `, dropout ${c.dropout}` : ''}`
  );
}
