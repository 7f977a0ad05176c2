/**
 * The scenarios of the training benchmark (`npm run bench`, `npm run bench:chrome`,
 * `npm run bench:bundle`), and their command-line options. Shared by the Node driver, the
 * Chromium page and the single-file GPU build, so that all three run the same thing.
 */

/** One hidden layer of a benchmark model (always fed by 784 inputs, ending in 10 softmax units). */
export interface HiddenLayer {
  units: number;
  activation: 'relu' | 'tanh';
}

export interface ModelSpec {
  /** e.g. "784-512-512-10 relu" */
  name: string;
  hidden: HiddenLayer[];
  /** Batch normalization after each hidden layer (after its activation, as in the course's lab). */
  batchNorm: boolean;
  /** Dropout rate after each hidden layer (0: none). */
  dropout: number;
}

export interface Scenario {
  /** e.g. "mlp-b128" */
  id: string;
  /** The group it belongs to, for --scenarios: mlp, lab, deep or predict. */
  group: ScenarioGroup;
  kind: 'train' | 'predict';
  title: string;
  model: ModelSpec;
  batch: number;
}

export const SCENARIO_GROUPS = ['mlp', 'lab', 'deep', 'predict'] as const;
export type ScenarioGroup = (typeof SCENARIO_GROUPS)[number];

export const FEATURES = 784;
export const CLASSES = 10;

export const SEED_MLP: ModelSpec = {
  name: '784-512-512-10 relu',
  hidden: [
    { units: 512, activation: 'relu' },
    { units: 512, activation: 'relu' },
  ],
  batchNorm: false,
  dropout: 0,
};

/** The course's lab model as `npm start` trains it: 2 × (Dense 512 relu → BN → Dropout 0.2). */
export const LAB_MLP: ModelSpec = {
  name: '784-512-512-10 relu + BN + dropout 0.2',
  hidden: SEED_MLP.hidden,
  batchNorm: true,
  dropout: 0.2,
};

/** 20 hidden layers of 64 tanh units: little work per dispatch, many dispatches. */
export const DEEP_MLP: ModelSpec = {
  name: '784-(64 × 20)-10 tanh',
  hidden: Array.from({ length: 20 }, () => ({ units: 64, activation: 'tanh' as const })),
  batchNorm: false,
  dropout: 0,
};

export interface BenchOptions {
  /** Groups to run. */
  groups: ScenarioGroup[];
  /** Batch sizes of the seed-MLP training scenario. */
  batches: number[];
  /** Batch sizes of the inference scenario. */
  predictBatches: number[];
  /** Batch size of the lab and deep scenarios. */
  labBatch: number;
  deepBatch: number;
  /** Training rows (synthetic, MNIST-shaped), resident on the GPU for both engines. */
  rows: number;
  /** Epochs per timed repetition of a training scenario. */
  epochs: number;
  /** Timed repetitions per engine (alternating); the median is reported. */
  reps: number;
  /** Minimum ms of one timed repetition of an inference scenario (calls repeat until then). */
  predictMs: number;
  /** Per-dispatch GPU-time profile of one step of ours (needs 'timestamp-query'). */
  profile: boolean;
  /** Adam (lr 1e-3, the and the course's) or plain SGD (lr 0.01). */
  optimizer: 'adam' | 'sgd';
  /** Run TF.js beside ours (false: ours only). */
  tfjs: boolean;
  seed: number;
}

export function scenarios(o: BenchOptions): Scenario[] {
  const list: Scenario[] = [];
  const want = (g: ScenarioGroup): boolean => o.groups.includes(g);
  if (want('mlp')) {
    for (const b of o.batches) {
      list.push({
        id: `mlp-b${b}`,
        group: 'mlp',
        kind: 'train',
        title: `train seed MLP, batch ${b}`,
        model: SEED_MLP,
        batch: b,
      });
    }
  }
  if (want('lab')) {
    list.push({
      id: `lab-b${o.labBatch}`,
      group: 'lab',
      kind: 'train',
      title: `train lab model (BN + dropout), batch ${o.labBatch}`,
      model: LAB_MLP,
      batch: o.labBatch,
    });
  }
  if (want('deep')) {
    list.push({
      id: `deep-b${o.deepBatch}`,
      group: 'deep',
      kind: 'train',
      title: `train deep narrow MLP (20 × 64 tanh), batch ${o.deepBatch}`,
      model: DEEP_MLP,
      batch: o.deepBatch,
    });
  }
  if (want('predict')) {
    for (const b of o.predictBatches) {
      list.push({
        id: `predict-b${b}`,
        group: 'predict',
        kind: 'predict',
        title: `predict seed MLP, batch ${b}`,
        model: SEED_MLP,
        batch: b,
      });
    }
  }
  return list;
}

/** Layer sizes of a model, input to output. */
export function layerSizes(m: ModelSpec): number[] {
  return [FEATURES, ...m.hidden.map((h) => h.units), CLASSES];
}

/** Trainable + non-trainable parameters (BN: 4 per unit, as Keras counts them). */
export function paramCount(m: ModelSpec): number {
  const s = layerSizes(m);
  let n = 0;
  for (let i = 1; i < s.length; i++) n += (s[i - 1] as number) * (s[i] as number) + (s[i] as number);
  if (m.batchNorm) n += 4 * m.hidden.reduce((a, h) => a + h.units, 0);
  return n;
}

/**
 * Matmul FLOPs per sample: forward 2·Σ in·out; training adds the weight gradients (same
 * again) and the input gradients of every layer but the first (the data needs none).
 */
export function flopsPerSample(m: ModelSpec, kind: 'train' | 'predict'): number {
  const s = layerSizes(m);
  const macs = s.slice(1).map((n, i) => n * (s[i] as number));
  const forward = 2 * macs.reduce((a, b) => a + b, 0);
  if (kind === 'predict') return forward;
  const dX = 2 * macs.slice(1).reduce((a, b) => a + b, 0);
  return 2 * forward + dX;
}

// ------------------------------------------------------------------ options

export const USAGE = `options:
  --scenarios mlp,lab,deep,predict   groups to run (default: all)
  --batches 32,128,1024              seed-MLP training batch sizes
  --predict-batches 1,1024           inference batch sizes
  --lab-batch 128  --deep-batch 128  batch size of the lab and deep scenarios
  --rows N          training rows (default 2048 on a software adapter, 32768 on a GPU)
  --epochs N        epochs per timed repetition (default 1)
  --reps N          timed repetitions per engine, alternating, median reported (default 3 / 5)
  --predict-ms N    minimum ms of one timed inference repetition (default 1000)
  --no-profile      skip the per-dispatch GPU-time profile of ours
  --no-tfjs         run ours only
  --optimizer adam|sgd  Adam lr 1e-3 (default) or SGD lr 0.01
  --seed N          data and weight seed (default 1)
  --json FILE       write every figure as JSON
  --write-results   replace this runtime's section of bench/RESULTS.md
  --software | --hardware   adapter choice (Node)
  --kernels PROFILE         the kernel profile (initEngine's kernels; default: the adapter's)`;

/** The defaults: smaller runs on a software adapter, longer ones on a GPU. */
export function defaultOptions(gpu: boolean): BenchOptions {
  return {
    groups: [...SCENARIO_GROUPS],
    batches: [32, 128, 1024],
    predictBatches: [1, 1024],
    labBatch: 128,
    deepBatch: 128,
    rows: gpu ? 32768 : 2048,
    epochs: 1,
    reps: gpu ? 5 : 3,
    predictMs: 1000,
    optimizer: 'adam',
    profile: true,
    tfjs: true,
    seed: 1,
  };
}

/** Defaults for what `given` leaves out, checked (every batch size needs a full batch of rows). */
export function resolveOptions(given: Partial<BenchOptions>, gpu: boolean): BenchOptions {
  const o: BenchOptions = { ...defaultOptions(gpu), ...given };
  const biggest = Math.max(...scenarios(o).map((s) => s.batch), 0);
  if (biggest > o.rows) {
    throw new RangeError(
      `--rows ${o.rows} is smaller than the largest batch (${biggest}): every batch size needs a full batch`,
    );
  }
  return o;
}

/** The options given on a command line (the rest take defaultOptions()); unknown ones are refused. */
export function parseArgs(args: readonly string[]): Partial<BenchOptions> {
  const known = new Set([
    '--scenarios',
    '--batches',
    '--predict-batches',
    '--lab-batch',
    '--deep-batch',
    '--rows',
    '--epochs',
    '--reps',
    '--predict-ms',
    '--seed',
    '--optimizer',
    '--json',
    '--report',
    '--kernels',
  ]);
  const flags = new Set([
    '--no-profile',
    '--no-tfjs',
    '--write-results',
    '--software',
    '--hardware',
    '--help',
  ]);
  const values = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (flags.has(a)) continue;
    if (known.has(a)) {
      const v = args[i + 1];
      if (v === undefined || v.startsWith('--')) throw new RangeError(`${a} needs a value\n${USAGE}`);
      values.set(a, v);
      i++;
      continue;
    }
    throw new RangeError(`unknown option "${a}"\n${USAGE}`);
  }
  const o: Partial<BenchOptions> = {};
  const int = (name: string, min = 1): number | undefined => {
    const raw = values.get(name);
    if (raw === undefined) return undefined;
    const v = Number(raw);
    if (!Number.isSafeInteger(v) || v < min)
      throw new RangeError(`${name} must be an integer ≥ ${min}, got "${raw}"`);
    return v;
  };
  /** A comma-separated list of positive integers, each once (scenario ids must be unique). */
  const ints = (name: string): number[] | undefined => {
    const list = values
      .get(name)
      ?.split(',')
      .map((s) => {
        const v = Number(s);
        if (!Number.isSafeInteger(v) || v <= 0)
          throw new RangeError(`${name}: "${s}" is not a positive integer`);
        return v;
      });
    return list && [...new Set(list)];
  };
  const set = <K extends keyof BenchOptions>(key: K, v: BenchOptions[K] | undefined): void => {
    if (v !== undefined) o[key] = v;
  };
  set(
    'groups',
    values
      .get('--scenarios')
      ?.split(',')
      .map((g) => {
        if (!(SCENARIO_GROUPS as readonly string[]).includes(g)) {
          throw new RangeError(`--scenarios: unknown group "${g}" (groups: ${SCENARIO_GROUPS.join(', ')})`);
        }
        return g as ScenarioGroup;
      }),
  );
  set('batches', ints('--batches'));
  set('predictBatches', ints('--predict-batches'));
  set('labBatch', int('--lab-batch'));
  set('deepBatch', int('--deep-batch'));
  set('rows', int('--rows'));
  set('epochs', int('--epochs'));
  set('reps', int('--reps'));
  set('predictMs', int('--predict-ms'));
  set('seed', int('--seed', 0));
  const opt = values.get('--optimizer');
  if (opt !== undefined && opt !== 'adam' && opt !== 'sgd') {
    throw new RangeError(`--optimizer must be adam or sgd, got "${opt}"`);
  }
  set('optimizer', opt);
  if (args.includes('--no-profile')) o.profile = false;
  if (args.includes('--no-tfjs')) o.tfjs = false;
  return o;
}

/** The value of `--name` in args, if given. */
export function optionValue(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}
