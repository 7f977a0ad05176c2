/**
 * <mlp-trainer>'s form: the text of each field (what the user sees and types), the values it
 * starts from (defaults ← software-adapter defaults ← attributes ← `.config`), and the
 * parsed, checked configuration.
 */
import { checkConfig, DEFAULT_CONFIG, defaultLearningRate, parseHidden, type ModelConfig } from './models.js';

export interface FormValues {
  hiddenLayers: string;
  activation: string;
  initializer: string;
  batchNorm: boolean;
  dropout: string;
  optimizer: string;
  learningRate: string;
  batchSize: string;
  epochs: string;
  trainRows: string;
  /** Stop when the validation loss stops improving, with the best epoch's weights. */
  earlyStopping: boolean;
  /** The learning-rate schedule: 'constant', 'time' (time-based decay) or 'step' (step drop). */
  lrSchedule: string;
  /** Time-based decay: lr = lr₀ / (1 + decay · epoch). */
  lrDecay: string;
  /** Step drop: lr = lr₀ · drop^floor((1 + epoch) / epochsDrop). */
  lrDrop: string;
  lrEpochsDrop: string;
}

export type FormField = keyof FormValues;

/** The attributes (as the element's properties; a number attribute's text when it is not one) that set each field. */
export interface FormAttributes {
  hiddenLayers: string | undefined;
  activation: string | undefined;
  initializer: string | undefined;
  batchNorm: boolean;
  dropout: number | string | undefined;
  optimizer: string | undefined;
  learningRate: number | string | undefined;
  batchSize: number | string | undefined;
  epochs: number | string | undefined;
  trainRows: number | string | undefined;
  earlyStopping: boolean;
  lrSchedule: string | undefined;
  lrDecay: number | string | undefined;
  lrDrop: number | string | undefined;
  lrEpochsDrop: number | string | undefined;
}

/** No attribute set: every field from the defaults. */
export const NO_ATTRIBUTES: Readonly<FormAttributes> = {
  hiddenLayers: undefined,
  activation: undefined,
  initializer: undefined,
  batchNorm: false,
  dropout: undefined,
  optimizer: undefined,
  learningRate: undefined,
  batchSize: undefined,
  epochs: undefined,
  trainRows: undefined,
  earlyStopping: false,
  lrSchedule: undefined,
  lrDecay: undefined,
  lrDrop: undefined,
  lrEpochsDrop: undefined,
};

/** The ModelConfig key behind each field (trainRows is the trainer's own). */
export const CONFIG_KEY: Record<FormField, keyof ModelConfig | undefined> = {
  hiddenLayers: 'hidden',
  activation: 'activation',
  initializer: 'initializer',
  batchNorm: 'batchNorm',
  dropout: 'dropout',
  optimizer: 'optimizer',
  learningRate: 'learningRate',
  batchSize: 'batchSize',
  epochs: 'epochs',
  trainRows: undefined,
  earlyStopping: undefined,
  lrSchedule: undefined,
  lrDecay: undefined,
  lrDrop: undefined,
  lrEpochsDrop: undefined,
};

/** Every field (each one set by the attribute of the same name). */
export const FORM_FIELDS = Object.keys(CONFIG_KEY) as FormField[];

export const MNIST_TRAIN_ROWS = 60_000;

/**
 * "Overfit me": a model far larger than its data, trained long. 500 rows (450 train, the last
 * 50 validate), two hidden layers of 512 relu units (669,706 weights: over a thousand per
 * training image), no dropout or batch norm, Adam 0.001, batch 32, 40 epochs, no early
 * stopping: the training loss keeps falling toward 0 while the validation loss turns and
 * rises. (With an app's own data the rows are the app's.)
 */
export const OVERFIT_PRESET: Readonly<Partial<FormValues>> = {
  hiddenLayers: '512, 512',
  activation: 'relu',
  initializer: 'he_uniform',
  batchNorm: false,
  dropout: '0',
  optimizer: 'adam',
  learningRate: '0.001',
  batchSize: '32',
  epochs: '40',
  trainRows: '500',
  earlyStopping: false, // the point is to watch the validation loss rise
  lrSchedule: 'constant',
};

/** Smaller runs on a software adapter (SwiftShader, lavapipe: the CPU does the GPU's work). */
export function defaultsFor(fallback: boolean): { trainRows: number; epochs: number; testRows: number } {
  return fallback
    ? { trainRows: 5_000, epochs: 2, testRows: 1_000 }
    : { trainRows: MNIST_TRAIN_ROWS, epochs: DEFAULT_CONFIG.epochs, testRows: 10_000 };
}

/** The fields before the user edits them. */
export function baseForm(attrs: FormAttributes, config: Partial<ModelConfig>, fallback: boolean): FormValues {
  const d = defaultsFor(fallback);
  const str = (v: number | string | undefined, fallbackValue: number): string => String(v ?? fallbackValue);
  const optimizer = config.optimizer ?? attrs.optimizer ?? DEFAULT_CONFIG.optimizer;
  return {
    hiddenLayers: config.hidden?.join(', ') ?? attrs.hiddenLayers ?? DEFAULT_CONFIG.hidden.join(', '),
    activation: config.activation ?? attrs.activation ?? DEFAULT_CONFIG.activation,
    initializer: config.initializer ?? attrs.initializer ?? DEFAULT_CONFIG.initializer,
    batchNorm: config.batchNorm ?? attrs.batchNorm,
    dropout: str(config.dropout ?? attrs.dropout, DEFAULT_CONFIG.dropout),
    optimizer,
    learningRate: str(config.learningRate ?? attrs.learningRate, defaultLearningRate(optimizer)),
    batchSize: str(config.batchSize ?? attrs.batchSize, DEFAULT_CONFIG.batchSize),
    epochs: str(config.epochs ?? attrs.epochs, d.epochs),
    trainRows: str(attrs.trainRows, d.trainRows),
    earlyStopping: attrs.earlyStopping,
    lrSchedule: attrs.lrSchedule ?? 'constant',
    lrDecay: str(attrs.lrDecay, SCHEDULE_DEFAULTS.decay),
    lrDrop: str(attrs.lrDrop, SCHEDULE_DEFAULTS.drop),
    lrEpochsDrop: str(attrs.lrEpochsDrop, SCHEDULE_DEFAULTS.epochsDrop),
  };
}

function num(text: string, field: string): number {
  const t = text.trim();
  const v = Number(t);
  if (t === '' || Number.isNaN(v)) throw new RangeError(`${field}: "${text}" is not a number`);
  return v;
}

/** The configuration of the fields (throws a RangeError naming the field). */
export function parseForm(
  f: FormValues,
  seed: number | undefined,
  custom: boolean,
): { config: ModelConfig; trainRows: number } {
  const config: ModelConfig = {
    hidden: parseHidden(f.hiddenLayers),
    activation: f.activation,
    initializer: f.initializer,
    batchNorm: f.batchNorm,
    dropout: num(f.dropout, 'dropout rate'),
    optimizer: f.optimizer,
    learningRate: num(f.learningRate, 'learning rate'),
    batchSize: num(f.batchSize, 'batch size'),
    epochs: num(f.epochs, 'epochs'),
    ...(seed === undefined ? {} : { seed }),
  };
  checkConfig(config);
  return { config, trainRows: custom ? 0 : parseTrainRows(f.trainRows) };
}

function parseTrainRows(text: string): number {
  const rows = num(text, 'training rows');
  if (!Number.isSafeInteger(rows) || rows < 10 || rows > MNIST_TRAIN_ROWS) {
    throw new RangeError(
      `training rows must be an integer from 10 to ${MNIST_TRAIN_ROWS.toLocaleString('en-US')}, got ${text}`,
    );
  }
  return rows;
}

/**
 * Each field's own error, all at once (parseForm stops at the first): every field is checked
 * alone, the others taken from DEFAULT_CONFIG, with parseForm's messages. Empty when the form
 * parses. The training rows are not checked for an app's own data (`custom`).
 */
export function fieldErrors(f: FormValues, custom: boolean): Partial<Record<FormField, string>> {
  const errors: Partial<Record<FormField, string>> = {};
  const check = (field: FormField, change: () => Partial<ModelConfig>): void => {
    try {
      checkConfig({ ...DEFAULT_CONFIG, ...change() });
    } catch (e) {
      errors[field] = e instanceof Error ? e.message : String(e);
    }
  };
  check('hiddenLayers', () => ({ hidden: parseHidden(f.hiddenLayers) }));
  check('dropout', () => ({ dropout: num(f.dropout, 'dropout rate') }));
  check('optimizer', () => ({ optimizer: f.optimizer }));
  check('learningRate', () => ({ learningRate: num(f.learningRate, 'learning rate') }));
  check('batchSize', () => ({ batchSize: num(f.batchSize, 'batch size') }));
  check('epochs', () => ({ epochs: num(f.epochs, 'epochs') }));
  if (!custom) check('trainRows', () => (parseTrainRows(f.trainRows), {}));
  const scheduleError = (field: FormField, parse: () => unknown): void => {
    try {
      parse();
    } catch (e) {
      errors[field] = e instanceof Error ? e.message : String(e);
    }
  };
  scheduleError('lrSchedule', () => scheduleKind(f.lrSchedule));
  if (f.lrSchedule === 'time') scheduleError('lrDecay', () => parseSchedule(f));
  if (f.lrSchedule === 'step') {
    scheduleError('lrDrop', () =>
      parseSchedule({ ...f, lrEpochsDrop: String(SCHEDULE_DEFAULTS.epochsDrop) }),
    );
    scheduleError('lrEpochsDrop', () => parseSchedule({ ...f, lrDrop: String(SCHEDULE_DEFAULTS.drop) }));
  }
  return errors;
}

/** The course's learning-rate schedules (a LearningRateScheduler callback), or none. */
export type LrSchedule =
  { kind: 'constant' } | { kind: 'time'; decay: number } | { kind: 'step'; drop: number; epochsDrop: number };

export const LR_SCHEDULES = ['constant', 'time', 'step'] as const;

/** What the form starts from: visible within a few epochs (the course's example, decay 0.001, is for hundreds). */
export const SCHEDULE_DEFAULTS = { decay: 0.5, drop: 0.5, epochsDrop: 2 } as const;

function scheduleKind(text: string): LrSchedule['kind'] {
  if (!(LR_SCHEDULES as readonly string[]).includes(text)) {
    throw new RangeError(`learning-rate schedule must be one of ${LR_SCHEDULES.join(', ')}, got "${text}"`);
  }
  return text as LrSchedule['kind'];
}

/** The form's schedule (throws a RangeError naming the field). */
export function parseSchedule(
  f: Pick<FormValues, 'lrSchedule' | 'lrDecay' | 'lrDrop' | 'lrEpochsDrop'>,
): LrSchedule {
  const kind = scheduleKind(f.lrSchedule);
  if (kind === 'time') {
    const decay = num(f.lrDecay, 'decay');
    if (!(decay >= 0) || !Number.isFinite(decay)) throw new RangeError(`decay must be ≥ 0, got ${f.lrDecay}`);
    return { kind, decay };
  }
  if (kind === 'step') {
    const drop = num(f.lrDrop, 'drop');
    if (!(drop > 0 && drop <= 1)) throw new RangeError(`drop must be in (0, 1], got ${f.lrDrop}`);
    const epochsDrop = num(f.lrEpochsDrop, 'epochs per drop');
    if (!Number.isSafeInteger(epochsDrop) || epochsDrop < 1)
      throw new RangeError(`epochs per drop must be a whole number ≥ 1, got ${f.lrEpochsDrop}`);
    return { kind, drop, epochsDrop };
  }
  return { kind };
}
