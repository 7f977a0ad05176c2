/**
 * Where a tuner keeps its project (Keras Tuner's `<directory>/<project_name>`), so that a
 * search stopped or killed resumes where it left off.
 *
 * - Node: files in the folder `<directory>/<projectName>`, provided by src/node/tuner-store.ts,
 *   which the Node entry registers (nothing here imports node:*).
 * - Browser: IndexedDB (database "webgpu-mlp-tuner", object store "files", one record per
 *   file keyed "<directory>/<projectName>/<file>").
 *
 * A project is a few named files: `oracle.json` (the tuner's and searcher's state, written
 * last: it says which trial files and which weights file belong to it), `trial_<id>.json`
 * (one per finished trial) and `weights_<n>.bin` (the kept weights as save n left them). Every
 * file is written whole or not at all, so a process killed mid-save leaves the project as
 * the previous oracle.json describes it.
 */
import { createRng, type RngState, type SeededRng } from '../util/random.js';
import type { HpDefinition, HpValues, SearchSpace } from './hyperparameters.js';
import type { Objective } from './objective.js';

/** One tuner project's files. */
export interface TunerStore {
  /** Where the project is, for messages: a folder, or 'IndexedDB "webgpu-mlp-tuner" → dir/project'. */
  readonly where: string;
  /** A file's bytes, or undefined when there is none. */
  read(name: string): Promise<Uint8Array | undefined>;
  /** Replaces a file with `bytes`, atomically (a reader sees the old or the new file whole). */
  write(name: string, bytes: Uint8Array): Promise<void>;
  /** Drops a file (none there is fine). */
  remove(name: string): Promise<void>;
  /** Drops the whole project (overwrite: true). */
  clear(): Promise<void>;
}

/** What a runtime with a file system provides (the Node entry's is src/node/tuner-store.ts). */
export interface TunerStoreHost {
  open(directory: string, projectName: string): Promise<TunerStore>;
}

let registered: TunerStoreHost | undefined;

/** Registers the host (the Node entry does); gives the one registered before, for tests. */
export function registerTunerStoreHost(host: TunerStoreHost | undefined): TunerStoreHost | undefined {
  const before = registered;
  registered = host;
  return before;
}

export const TUNER_DATABASE = 'webgpu-mlp-tuner';
const FILES = 'files';

/** The part of the IndexedDB API used here (globalThis.indexedDB). */
type IdbFactory = Pick<IDBFactory, 'open'>;

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error ?? new Error('IndexedDB request failed'));
  });
}

/** Resolves when the transaction commits (a put is durable only then). */
function committed(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error ?? new Error('IndexedDB transaction failed'));
    tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
  });
}

function openDatabase(idb: IdbFactory): Promise<IDBDatabase> {
  const r = idb.open(TUNER_DATABASE, 1);
  r.onupgradeneeded = () => {
    if (!r.result.objectStoreNames.contains(FILES)) r.result.createObjectStore(FILES);
  };
  return request(r);
}

/** The IndexedDB store of a project, or undefined where there is no IndexedDB (a worker without it, Node). */
export function indexedDbTunerStore(directory: string, projectName: string): TunerStore | undefined {
  const idb = (globalThis as { indexedDB?: IdbFactory }).indexedDB;
  if (!idb || typeof idb.open !== 'function') return undefined;
  const prefix = `${directory}/${projectName}/`;
  let db: Promise<IDBDatabase> | undefined;
  const files = async (mode: IDBTransactionMode): Promise<{ tx: IDBTransaction; files: IDBObjectStore }> => {
    db ??= openDatabase(idb);
    const tx = (await db).transaction(FILES, mode);
    return { tx, files: tx.objectStore(FILES) };
  };
  return {
    where: `IndexedDB "${TUNER_DATABASE}" → ${directory}/${projectName}`,
    async read(name) {
      const { files: f } = await files('readonly');
      const v: unknown = await request(f.get(prefix + name));
      if (v === undefined) return undefined;
      return v instanceof Uint8Array ? v : new Uint8Array(v as ArrayBuffer);
    },
    async write(name, bytes) {
      const { tx, files: f } = await files('readwrite');
      f.put(bytes.slice(), prefix + name);
      await committed(tx);
    },
    async remove(name) {
      const { tx, files: f } = await files('readwrite');
      f.delete(prefix + name);
      await committed(tx);
    },
    async clear() {
      const { tx, files: f } = await files('readwrite');
      // Every key starting with the prefix: '\uffff' sorts after any character of a file name.
      f.delete(IDBKeyRange.bound(prefix, `${prefix}\uffff`));
      await committed(tx);
    },
  };
}

/**
 * The project `<directory>/<projectName>`: the registered host's (Node: files), else the
 * browser's IndexedDB; an error where neither exists.
 */
export async function openTunerStore(
  directory: string,
  projectName: string,
  what: string,
): Promise<TunerStore> {
  if (registered) return registered.open(directory, projectName);
  const idb = indexedDbTunerStore(directory, projectName);
  if (idb) return idb;
  throw new Error(
    `${what}: directory / projectName need somewhere to save the project (${directory}/${projectName}): ` +
      "import the library's Node entry in Node, or run where IndexedDB exists; leave both out to keep the trials in memory only",
  );
}

// ------------------------------------------------------------ the files' contents

export const ORACLE_FILE = 'oracle.json';
export const trialFile = (id: number): string => `trial_${id}.json`;
export const weightsFile = (save: number): string => `weights_${save}.bin`;

/** What identifies a project's format in oracle.json. */
export const FORMAT = 'webgpu-mlp tuner project';

/** The state of a tuner's random generator (see resumableRng). */
/** oracle.json: everything but the trials and the weights. */
export interface OracleFile {
  format: typeof FORMAT;
  /** 2: the generator's state is its words (1, its seed and draw count, is not read). */
  version: 2;
  /** The searcher ('randomSearch', 'gridSearch', 'hyperband', 'bayesianOptimization'). */
  tuner: string;
  objective: { name: string; direction: string };
  /** The search space in the order build() first asked for each name (conditional ones last). */
  space: HpDefinition[];
  rng: RngState;
  /** The values each trial's build read (configurations run). */
  seen: HpValues[];
  /** Trials 0 .. trials − 1 are in trial_<id>.json. */
  trials: number;
  /** The file of the kept weights, or null when none are kept. */
  weights: string | null;
  /** Saves so far (the weights file of save n is weights_<n>.bin). */
  saves: number;
  /** The searcher's own progress (Hyperband's brackets, grid position, ...). */
  searcher: Record<string, unknown>;
}

/**
 * JSON text with NaN and ±Infinity kept (a NaN loss is a recorded fact): such a number is
 * written as { "$float": "NaN" }, which jsonDecode reads back.
 */
export function jsonEncode(value: unknown): Uint8Array {
  const text = JSON.stringify(
    value,
    (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? { $float: String(v) } : v),
    1,
  );
  return new TextEncoder().encode(text);
}

/** jsonEncode's inverse; `where` names the file in the error for text that is not JSON. */
export function jsonDecode(bytes: Uint8Array, where: string): unknown {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes), (_k, v: unknown) => {
      if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
        const keys = Object.keys(v);
        const f = (v as { $float?: unknown }).$float;
        if (keys.length === 1 && typeof f === 'string') return Number(f);
      }
      return v;
    }) as unknown;
  } catch (e) {
    throw new Error(
      `${where} is not valid JSON (${e instanceof Error ? e.message : String(e)}); ` +
        'delete it or create the tuner with overwrite: true',
      { cause: e },
    );
  }
}

/**
 * Kept weights, trial by trial: a u32 header length h (little-endian), h bytes of JSON
 * `[{ id, sizes: [n0, n1, ...] }, ...]` padded with spaces to a multiple of 4, then every
 * weight's float32 values in that order (little-endian, as every WebGPU host is).
 */
export function encodeWeights(kept: ReadonlyMap<number, readonly Float32Array[]>): Uint8Array {
  const entries = [...kept.entries()].sort((a, b) => a[0] - b[0]);
  let head = new TextEncoder().encode(
    JSON.stringify(entries.map(([id, ws]) => ({ id, sizes: ws.map((w) => w.length) }))),
  );
  const padded = new Uint8Array(Math.ceil(head.length / 4) * 4).fill(0x20);
  padded.set(head);
  head = padded;
  const floats = entries.reduce((n, [, ws]) => n + ws.reduce((m, w) => m + w.length, 0), 0);
  const out = new Uint8Array(4 + head.length + floats * 4);
  new DataView(out.buffer).setUint32(0, head.length, true);
  out.set(head, 4);
  const body = new Float32Array(out.buffer, 4 + head.length, floats);
  let at = 0;
  for (const [, ws] of entries) {
    for (const w of ws) {
      body.set(w, at);
      at += w.length;
    }
  }
  return out;
}

/** encodeWeights' inverse; `where` names the file in errors. */
export function decodeWeights(bytes: Uint8Array, where: string): Map<number, Float32Array[]> {
  const bad = (why: string): Error =>
    new Error(
      `${where} is not a weights file (${why}); delete the project or create the tuner with overwrite: true`,
    );
  if (bytes.length < 4) throw bad('too short');
  const h = new DataView(bytes.buffer, bytes.byteOffset, bytes.length).getUint32(0, true);
  if (h % 4 !== 0 || 4 + h > bytes.length) throw bad('a bad header length');
  const head = jsonDecode(bytes.subarray(4, 4 + h), where) as { id: number; sizes: number[] }[];
  if (!Array.isArray(head)) throw bad('no list of trials');
  // A copy: the float32 view needs 4-byte alignment, which a slice of `bytes` may not have.
  const body = new Float32Array(bytes.slice(4 + h).buffer);
  const out = new Map<number, Float32Array[]>();
  let at = 0;
  for (const { id, sizes } of head) {
    const ws: Float32Array[] = [];
    for (const n of sizes) {
      if (at + n > body.length) throw bad(`trial ${id}'s weights run past the end`);
      ws.push(body.slice(at, at + n));
      at += n;
    }
    out.set(id, ws);
  }
  if (at !== body.length) throw bad(`${body.length - at} floats left over`);
  return out;
}

// ------------------------------------------------------------ reading a project back

/** The project a tuner saves to, from directory / projectName / overwrite (none when neither is given). */
export function projectOf(
  what: string,
  o: { directory?: string; projectName?: string; overwrite?: boolean },
): { directory: string; projectName: string; overwrite: boolean } | undefined {
  const { directory, projectName, overwrite } = o;
  for (const [k, v] of [
    ['directory', directory],
    ['projectName', projectName],
  ] as const) {
    if (v !== undefined && (typeof v !== 'string' || v === ''))
      throw new TypeError(`${what}: ${k} must be a non-empty string, got ${typeof v} ${JSON.stringify(v)}`);
  }
  if (overwrite !== undefined && typeof overwrite !== 'boolean')
    throw new TypeError(`${what}: overwrite must be true or false, got ${typeof overwrite}`);
  // overwrite: true deletes the project's files and folder: it must be one folder inside `directory`.
  if (
    projectName !== undefined &&
    (/[\\/:]/.test(projectName) || projectName === '.' || projectName === '..')
  )
    throw new TypeError(
      `${what}: projectName ${JSON.stringify(projectName)} must name one folder inside directory ` +
        "(no '/', '\\', ':', '.' or '..'): overwrite: true deletes that folder",
    );
  if (directory === undefined && projectName === undefined) return undefined;
  return {
    directory: directory ?? '.',
    projectName: projectName ?? 'untitled_project',
    overwrite: overwrite ?? false,
  };
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** A trial file as read back: checked for these fields (tuner.ts's Trial is what it holds). */
export interface SavedTrial {
  id: number;
  hyperparameters: Record<string, unknown>;
  history: Record<string, unknown>;
}

/**
 * The project's oracle.json, trials and kept weights, or undefined when it has none yet.
 * Refuses, naming the folder or file, a project of another searcher (`what`) or objective,
 * and files that are not what oracle.json says.
 */
export async function readProject(
  store: TunerStore,
  what: string,
  objective: Objective,
): Promise<{ oracle: OracleFile; trials: SavedTrial[]; kept: Map<number, Float32Array[]> } | undefined> {
  const where = `${store.where}/${ORACLE_FILE}`;
  const bytes = await store.read(ORACLE_FILE);
  if (!bytes) return undefined;
  const o = jsonDecode(bytes, where) as Partial<OracleFile>;
  if (isRecord(o) && o.format === FORMAT && (o.version as unknown) === 1)
    throw new Error(
      `${where} was saved by an earlier version of this library; start it over with overwrite: true`,
    );
  if (!isRecord(o) || o.format !== FORMAT || o.version !== 2)
    throw new Error(`${where} is not a tuner project of this library (no format "${FORMAT}", version 2)`);
  const differs = (why: string): Error =>
    new Error(
      `${what}: the project ${store.where} was saved by ${why}; ` +
        'use another directory / projectName, or overwrite: true to start it over',
    );
  if (o.tuner !== what) throw differs(`${String(o.tuner)}, not ${what}`);
  const obj = o.objective;
  if (obj?.name !== objective.name || obj.direction !== objective.direction)
    throw differs(
      `a search with objective ${obj?.name} (${obj?.direction}), not ${objective.name} (${objective.direction})`,
    );
  const complete =
    Array.isArray(o.space) &&
    Array.isArray(o.seen) &&
    isRecord(o.rng) &&
    typeof o.trials === 'number' &&
    typeof o.saves === 'number' &&
    isRecord(o.searcher);
  if (!complete)
    throw new Error(
      `${where} lacks some of: the space, the generator state, the trial count, the searcher state`,
    );
  const oracle = o as OracleFile;
  const trials: SavedTrial[] = [];
  for (let id = 0; id < oracle.trials; id++) {
    const file = `${store.where}/${trialFile(id)}`;
    const t = await store.read(trialFile(id));
    if (!t) throw new Error(`${file} is missing (${ORACLE_FILE} lists ${oracle.trials} trials)`);
    const trial: unknown = jsonDecode(t, file);
    if (!isRecord(trial) || trial.id !== id || !isRecord(trial.hyperparameters) || !isRecord(trial.history))
      throw new Error(`${file} is not trial ${id} (no id, hyperparameters or history)`);
    trials.push(trial as unknown as SavedTrial);
  }
  let kept = new Map<number, Float32Array[]>();
  if (oracle.weights) {
    const file = `${store.where}/${oracle.weights}`;
    const w = await store.read(oracle.weights);
    if (!w) throw new Error(`${file} is missing (${ORACLE_FILE} names it)`);
    kept = decodeWeights(w, file);
  }
  return { oracle, trials, kept };
}

/** A definition without its name, for messages and comparison (keys in a fixed order). */
function definitionText(d: HpDefinition): string {
  const keys = Object.keys(d)
    .filter((k) => k !== 'name')
    .sort();
  return JSON.stringify(d, keys);
}

/**
 * How the space of build(hp) given its defaults (`probe`) differs from a reloaded one; none
 * when the probe asks for a prefix of the saved names with the same definitions (the saved
 * ones after it are conditional ones later trials asked for).
 */
export function spaceDifferences(saved: SearchSpace, probe: SearchSpace): string[] {
  const order = saved.definitions;
  const diffs: string[] = [];
  probe.definitions.forEach((d, i) => {
    const s = saved.get(d.name);
    if (!s) diffs.push(`'${d.name}' is new`);
    else if (definitionText(s) !== definitionText(d))
      diffs.push(`'${d.name}' was ${definitionText(s)}, now ${definitionText(d)}`);
    else if (order[i]?.name !== d.name) diffs.push(`'${d.name}' is asked for in another order`);
  });
  return diffs;
}

/** The kept trials' ids, "0,3,7": whether the weights file must be written again. */
export function idList(kept: ReadonlyMap<number, unknown>): string {
  return [...kept.keys()].sort((a, b) => a - b).join(',');
}

// ------------------------------------------------------------ a generator that can resume

/** A tuner's generator: createRng's, whose state the project saves (src/util/random.ts). */
export type ResumableRng = SeededRng;

export function resumableRng(seed: number): ResumableRng {
  return createRng(seed);
}
