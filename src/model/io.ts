/**
 * Saving and loading models in the TF.js layers format, where tfjs-layers keeps them:
 *
 *   file://dir          Node: dir/model.json + dir/weights.bin (load 'file://dir/model.json'
 *                       or 'file://dir')
 *   indexeddb://name    browser: one record of this library's own IndexedDB database
 *                       (listModels() lists them with dates and sizes, removeModel(url) deletes one)
 *   downloads://name    browser: downloads name.json + name.weights.bin; load them back with
 *                       loadModel(browserFiles(jsonFile, weightsFile))
 *   http(s)://…/model.json, or a relative URL in a browser: loading only, by fetch
 *
 * or an IO handler ({ save(artifacts) } / { load() }), which tfjs's handlers
 * (tf.io.withSaveHandler, tf.io.fromMemory) also are.
 *
 * model.json is tfjs's file: { modelTopology, format, generatedBy, convertedBy,
 * weightsManifest: [{ paths: ['weights.bin'], weights: weightSpecs }] }. This module only
 * moves bytes; artifacts.ts turns models into artifacts and back, load.ts makes the model.
 * Files go through host-fs.ts (Node's fs, registered by the Node entry), so the module
 * stays browser-safe.
 *
 * When things go wrong: a save that cannot write (a file in the way, no permission, a full
 * or read-only disk, a blocked or full IndexedDB) rejects at once with a ModelIOError naming
 * the place, the cause and what is left there; a file:// save writes temporary files and
 * renames them, so a previous save survives a failed one. A model.json whose weights paths
 * leave its folder ('..', absolute, a drive or a URL) is refused before any weights are read.
 */
import {
  modelToArtifacts,
  ModelFormatError,
  type ModelArtifacts,
  type ModelArtifactsLike,
  type SavableModel,
  type WeightSpecLike,
} from './artifacts.js';
import { isNode } from '../util/runtime.js';
import {
  errorCode,
  foreignDrive,
  fsCause,
  hostFs,
  joinPath,
  makeDirs,
  removeDirs,
  statOrUndefined,
  type HostFs,
} from './host-fs.js';

const FILE_NEEDS_NODE = "file:// models need Node; in a browser use 'indexeddb://name' or 'downloads://name'";

export type { ModelArtifacts, ModelArtifactsLike, WeightSpec, WeightSpecLike } from './artifacts.js';
export { modelToArtifacts, ModelFormatError } from './artifacts.js';

/**
 * A model could not be saved to, or read from, a location: `url` names it ('file://dir',
 * 'indexeddb://name'), the message the cause and what is left there, `cause` the underlying
 * error (Node's fs error, the IndexedDB DOMException).
 */
export class ModelIOError extends Error {
  override name = 'ModelIOError';
  constructor(
    message: string,
    readonly url: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Sizes of what was saved (the fields of tfjs's ModelArtifactsInfo). */
export interface ModelArtifactsInfo {
  dateSaved: Date;
  modelTopologyType: 'JSON';
  modelTopologyBytes: number;
  weightSpecsBytes: number;
  weightDataBytes: number;
}

export interface SaveResult {
  modelArtifactsInfo: ModelArtifactsInfo;
  /** Where the model went: the model.json path or URL, or the IndexedDB key. */
  url?: string;
}

/** Receives the artifacts of `save`; its result is not used (tfjs's handlers fit). */
export interface SaveHandler {
  save(artifacts: ModelArtifacts): Promise<unknown>;
}

/** Gives the artifacts to `loadModel` (tfjs's handlers fit; their load is optional). */
export interface LoadHandler {
  load?: () => Promise<ModelArtifactsLike>;
}

/** The contents of a model.json file. */
export interface ModelJson {
  modelTopology: unknown;
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  weightsManifest: { paths: string[]; weights: WeightSpecLike[] }[];
}

/**
 * Saves `model` ('file://dir', 'indexeddb://name', 'downloads://name' or a handler).
 * `includeOptimizer: true` (a compiled model) also saves the optimizer state (see modelToArtifacts).
 */
export async function saveModel(
  model: SavableModel,
  target: string | SaveHandler,
  options: { includeOptimizer?: boolean } = {},
): Promise<SaveResult> {
  if (typeof target !== 'string' && typeof (target as Partial<SaveHandler> | null)?.save !== 'function') {
    throw new TypeError('save: the target must be a URL string or a handler with a save(artifacts) method');
  }
  const artifacts = await modelToArtifacts(model, options);
  if (typeof target !== 'string') {
    const r = await target.save(artifacts);
    const url = (r as { url?: unknown } | undefined)?.url;
    return { modelArtifactsInfo: info(artifacts), ...(typeof url === 'string' ? { url } : {}) };
  }
  const [scheme, rest] = splitScheme(target);
  switch (scheme) {
    case 'file':
      return saveFiles(artifacts, rest);
    case 'indexeddb':
      return saveIndexedDb(artifacts, key(rest, target));
    case 'downloads':
      return saveDownloads(artifacts, rest === '' ? 'model' : rest);
    default:
      throw new Error(
        `save: unsupported destination '${target}'; use file://dir (Node), indexeddb://name or downloads://name ` +
          '(browser), or a handler with save(artifacts)',
      );
  }
}

/** The artifacts behind a loadModel() source: a URL, a handler with load(), or artifacts. */
export async function loadArtifacts(
  source: string | LoadHandler | ModelArtifactsLike,
): Promise<ModelArtifactsLike> {
  if (typeof source === 'string') return loadUrl(source);
  if (typeof source !== 'object' || (source as unknown) === null) {
    throw new TypeError(
      'loadModel: the source must be a URL string, a handler with load(), or model artifacts',
    );
  }
  const load = (source as LoadHandler).load;
  if (typeof load === 'function') return load.call(source);
  return source as ModelArtifactsLike;
}

async function loadUrl(url: string): Promise<ModelArtifactsLike> {
  const [scheme, rest] = splitScheme(url);
  if (scheme === 'file') return loadFiles(rest);
  if (scheme === 'indexeddb') return loadIndexedDb(key(rest, url));
  if (scheme === 'http' || scheme === 'https' || (scheme === '' && !isNode())) return loadHttp(url);
  if (scheme === 'downloads') {
    throw new Error(
      "loadModel: 'downloads://' only saves; load the files with loadModel(browserFiles(jsonFile, weightsFile))",
    );
  }
  throw new Error(
    `loadModel: unsupported source '${url}'; use file://path/model.json (Node), indexeddb://name, ` +
      'an http(s) URL, browserFiles(...) or a handler with load()',
  );
}

/** A load handler for files the user picked (an <input type="file">): model.json and its weights. */
export function browserFiles(
  jsonFile: Blob & { name: string },
  ...weightFiles: (Blob & { name: string })[]
): LoadHandler {
  return {
    async load() {
      const json = parseModelJson(await jsonFile.text(), jsonFile.name);
      const byName = new Map(weightFiles.map((f) => [f.name, f]));
      return artifactsFromJson(json, async (path) => {
        const base = path.slice(path.lastIndexOf('/') + 1);
        const file =
          byName.get(base) ??
          (weightFiles.length === 1 && manifestPaths(json) === 1 ? weightFiles[0] : undefined);
        if (!file) {
          throw new Error(
            `loadModel: ${jsonFile.name} needs the weights file "${base}"; got ${weightFiles.map((f) => `"${f.name}"`).join(', ') || 'none'}`,
          );
        }
        return file.arrayBuffer();
      });
    },
  };
}

// ---------------------------------------------------------------- model.json

function info(a: ModelArtifacts, dateSaved = new Date()): ModelArtifactsInfo {
  const bytes = (v: unknown): number => new TextEncoder().encode(JSON.stringify(v)).byteLength;
  return {
    dateSaved,
    modelTopologyType: 'JSON',
    modelTopologyBytes: bytes(a.modelTopology),
    weightSpecsBytes: bytes(a.weightSpecs),
    weightDataBytes: a.weightData.byteLength,
  };
}

function modelJson(a: ModelArtifacts, weightsPath: string): ModelJson {
  return {
    modelTopology: a.modelTopology,
    format: a.format,
    generatedBy: a.generatedBy,
    convertedBy: a.convertedBy,
    weightsManifest: [{ paths: [weightsPath], weights: a.weightSpecs }],
  };
}

function parseModelJson(text: string, where: string): ModelJson {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ModelFormatError(
      `loadModel: ${where} is not valid JSON (${e instanceof Error ? e.message : String(e)})`,
    );
  }
  const j = json as Partial<ModelJson> | null;
  if (
    typeof j !== 'object' ||
    j === null ||
    typeof j.modelTopology !== 'object' ||
    j.modelTopology === null
  ) {
    throw new ModelFormatError(`loadModel: ${where} has no modelTopology; is it a TF.js layers model.json?`);
  }
  if (!Array.isArray(j.weightsManifest)) {
    throw new ModelFormatError(`loadModel: ${where} has no weightsManifest list`);
  }
  for (const g of j.weightsManifest) {
    if (typeof g !== 'object' || !Array.isArray(g.paths) || !Array.isArray(g.weights)) {
      throw new ModelFormatError(
        `loadModel: ${where}: each weightsManifest entry needs paths and weights lists`,
      );
    }
    for (const path of g.paths as unknown[]) checkWeightsPath(path, where);
  }
  return j as ModelJson;
}

/**
 * A weights path of a model.json must name a file inside the model's folder: relative and
 * without '..' ('group1-shard1of1.bin', 'sub/w.bin' and './w.bin' are fine). An absolute
 * path, a drive letter or a URL (file:, http:, data:) would let a model file read any file
 * of the host or make requests anywhere. '%2e' counts as '.', as URL resolution reads it.
 */
function checkWeightsPath(path: unknown, where: string): void {
  const refuse = (why: string): ModelFormatError =>
    new ModelFormatError(
      `loadModel: ${where}: the weightsManifest path ${JSON.stringify(path)} ${why}; weights files ` +
        'must be relative paths inside the folder of model.json, e.g. "weights.bin" or "sub/weights.bin"',
    );
  if (typeof path !== 'string' || path === '') throw refuse('is not a file name');
  if (/^[\\/]/.test(path)) throw refuse('is absolute');
  if (/^[a-z]:/i.test(path)) throw refuse('starts with a drive letter');
  if (/^[a-z][a-z0-9+.-]*:/i.test(path)) throw refuse('is a URL with a scheme');
  const segments = path.split(/[\\/]/).map((seg) => seg.replace(/%2e/gi, '.'));
  if (segments.includes('..')) throw refuse('leaves the folder (a ".." segment)');
}

function manifestPaths(json: ModelJson): number {
  return json.weightsManifest.reduce((s, g) => s + g.paths.length, 0);
}

/** The artifacts of a model.json whose weight files `read` fetches (paths as written in the manifest). */
async function artifactsFromJson(
  json: ModelJson,
  read: (path: string) => Promise<ArrayBuffer>,
): Promise<ModelArtifactsLike> {
  const weightSpecs: WeightSpecLike[] = [];
  const weightData: ArrayBuffer[] = [];
  for (const group of json.weightsManifest) {
    weightSpecs.push(...group.weights);
    for (const path of group.paths) weightData.push(await read(path));
  }
  return {
    modelTopology: json.modelTopology,
    weightSpecs,
    weightData,
    ...(json.format !== undefined ? { format: json.format } : {}),
    ...(json.generatedBy !== undefined ? { generatedBy: json.generatedBy } : {}),
    ...(json.convertedBy !== undefined ? { convertedBy: json.convertedBy } : {}),
  };
}

function splitScheme(url: string): [string, string] {
  const m = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i.exec(url);
  return m ? [(m[1] as string).toLowerCase(), m[2] as string] : ['', url];
}

function key(rest: string, url: string): string {
  if (rest === '') throw new Error(`'${url}' has no model name`);
  return rest;
}

/**
 * file://dir: model.json and weights.bin, each written to a fresh temporary file in `dir`
 * and then renamed over the old one, so a save that fails (no space, no permission, a
 * read-only disk) leaves a previous save there whole and removes what it wrote. Only the
 * second rename failing (after the first succeeded, in the same folder) would leave the new
 * weights.bin beside the old model.json; the error says so.
 */
async function saveFiles(a: ModelArtifacts, dir: string): Promise<SaveResult> {
  if (dir === '') throw new Error("save: 'file://' needs a directory, e.g. file://./my-model");
  const fs = hostFs(FILE_NEEDS_NODE);
  const where = `file://${dir}`;
  const fail = (cause: string, left: string, e?: unknown): ModelIOError =>
    new ModelIOError(`save: cannot write the model to ${where}: ${cause}. ${left}`, where, { cause: e });
  const drive = foreignDrive(dir);
  if (drive !== undefined) throw fail(drive, 'Nothing was written.');
  const base = dir.replace(/(.)[\\/]+$/, '$1');
  let created: string[]; // the folders made for this save (removed if it fails)
  try {
    created = await makeDirs(fs, base);
  } catch (e) {
    const hint = (e as Error).message.endsWith('is a file, not a folder')
      ? ' (model.json and weights.bin go in a folder)'
      : '';
    throw fail(`${(e as Error).message}${hint}`, 'Nothing was written.', e);
  }
  const jsonPath = joinPath(base, 'model.json');
  const weightsPath = joinPath(base, 'weights.bin');
  const tag = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const tmpWeights = `${weightsPath}.${tag}.tmp`;
  const tmpJson = `${jsonPath}.${tag}.tmp`;
  // A failure before the renames leaves what was there before, once the new files are removed.
  const undo = async (e: unknown, cause: string): Promise<ModelIOError> => {
    const left = [...(await removeFiles(fs, [tmpWeights, tmpJson])), ...(await removeDirs(fs, created))];
    const state = created.length > 0 ? 'Nothing was left there' : 'A model saved there before is unchanged';
    const except = left.length > 0 ? `, except ${left.map((p) => `"${p}"`).join(', ')} (remove it)` : '';
    return fail(cause, `${state}${except}.`, e);
  };
  try {
    for (const p of [jsonPath, weightsPath]) {
      if ((await statOrUndefined(fs, p))?.isDirectory()) throw new Error(`"${p}" is a folder`);
    }
    await fs.writeFile(tmpWeights, new Uint8Array(a.weightData), { flag: 'wx' });
    await fs.writeFile(tmpJson, JSON.stringify(modelJson(a, 'weights.bin')), { flag: 'wx' });
    await fs.rename(tmpWeights, weightsPath);
  } catch (e) {
    throw await undo(e, errorCode(e) ? fsCause(e) : (e as Error).message);
  }
  try {
    await fs.rename(tmpJson, jsonPath);
  } catch (e) {
    const left = await removeFiles(fs, [tmpJson]);
    throw fail(
      fsCause(e),
      `"${weightsPath}" is the new one but "${jsonPath}" is not: save again` +
        (left.length > 0 ? `, and remove "${tmpJson}".` : '.'),
      e,
    );
  }
  return { modelArtifactsInfo: info(a), url: `file://${jsonPath}` };
}

/** Deletes files that may exist; gives those still there. */
async function removeFiles(fs: HostFs, paths: readonly string[]): Promise<string[]> {
  const left: string[] = [];
  for (const p of paths) {
    await fs.unlink(p).catch((e: unknown) => {
      if (errorCode(e) !== 'ENOENT') left.push(p);
    });
  }
  return left;
}

async function loadFiles(path: string): Promise<ModelArtifactsLike> {
  const fs = hostFs(FILE_NEEDS_NODE);
  const failed = (what: string, e: unknown): Error =>
    new ModelIOError(
      errorCode(e) === 'ENOENT'
        ? `loadModel: ${what} not found`
        : `loadModel: cannot read ${what}: ${fsCause(e)}`,
      `file://${path}`,
      { cause: e },
    );
  // A FIFO or device would block readFile forever: only regular files are read.
  const regular = async (file: string, what: string): Promise<Uint8Array> => {
    const stat = await fs.stat(file).catch((e: unknown) => {
      throw failed(what, e);
    });
    if (!stat.isFile()) {
      throw new ModelIOError(`loadModel: ${what} is not a regular file`, `file://${path}`);
    }
    return fs.readFile(file).catch((e: unknown) => {
      throw failed(what, e);
    });
  };
  let jsonPath = path;
  const stat = await fs.stat(path).catch((e: unknown) => {
    throw failed(`file://${path}`, e);
  });
  if (stat.isDirectory()) jsonPath = joinPath(path.replace(/(.)[\\/]+$/, '$1'), 'model.json');
  const bytes = await regular(jsonPath, `file://${jsonPath}`);
  const json = parseModelJson(new TextDecoder().decode(bytes), jsonPath);
  const dir = jsonPath.includes('/') ? jsonPath.slice(0, jsonPath.lastIndexOf('/') + 1) : '';
  return artifactsFromJson(json, async (p) => {
    // parseModelJson refused absolute paths and '..': the file is inside dir.
    const file = `${dir}${p.replace(/^\.\//, '')}`;
    const data = await regular(file, `weights file ${file} (listed in ${jsonPath})`);
    // Node's Buffers may share a larger pool: copy out exactly these bytes.
    return data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
  });
}

// ---------------------------------------------------------------- http(s)

async function loadHttp(url: string): Promise<ModelArtifactsLike> {
  const base = typeof location === 'undefined' ? url : new URL(url, location.href).href;
  const get = async (u: string): Promise<Response> => {
    const r = await fetch(u);
    if (!r.ok) throw new Error(`loadModel: GET ${u} answered ${r.status} ${r.statusText}`);
    return r;
  };
  const json = parseModelJson(await (await get(base)).text(), base);
  return artifactsFromJson(json, async (p) => (await get(new URL(p, base).href)).arrayBuffer());
}

// ---------------------------------------------------------------- indexeddb:// (browser)

/**
 * This library's database: store 'models' holds one record { name, artifacts, dateSaved } per
 * model, store 'model_info' its { name, ...ModelArtifactsInfo }, so that listModels() reads
 * sizes and dates without reading any weights. Both are written in one transaction.
 * Version 1 had only 'models'; opening it as version 2 adds 'model_info' for the models there.
 */
const IDB_DATABASE = 'webgpu-mlp';
const IDB_VERSION = 2;
const IDB_STORE = 'models';
const IDB_INFO_STORE = 'model_info';
const IDB_SCHEME = 'indexeddb://';

interface IdbRecord {
  name: string;
  artifacts: ModelArtifacts;
  dateSaved: Date;
}

interface IdbInfoRecord extends ModelArtifactsInfo {
  name: string;
}

function idbFactory(): IDBFactory {
  const factory = (globalThis as { indexedDB?: IDBFactory }).indexedDB;
  if (!factory) throw new Error("indexeddb:// needs a browser with IndexedDB; in Node use 'file://dir'");
  return factory;
}

/**
 * Opens the database. Opening it at a newer version waits, without end, for every other
 * connection (another tab running an older version of this library) to close; that wait is
 * refused at once ('blocked') instead, and a connection that opens after all is closed.
 */
function openDatabase(): Promise<IDBDatabase> {
  const factory = idbFactory();
  return new Promise((resolve, reject) => {
    let gaveUp = false;
    const req = factory.open(IDB_DATABASE, IDB_VERSION);
    req.onupgradeneeded = () => {
      const db = req.result;
      const tx = req.transaction as IDBTransaction;
      const models = db.objectStoreNames.contains(IDB_STORE)
        ? tx.objectStore(IDB_STORE)
        : db.createObjectStore(IDB_STORE, { keyPath: 'name' });
      if (db.objectStoreNames.contains(IDB_INFO_STORE)) return;
      const infos = db.createObjectStore(IDB_INFO_STORE, { keyPath: 'name' });
      // Models saved by version 1: their info from the artifacts, once.
      models.openCursor().onsuccess = (e) => {
        const cursor = (e.target as IDBRequest<IDBCursorWithValue | null>).result;
        if (!cursor) return;
        const r = cursor.value as IdbRecord;
        infos.put({ name: r.name, ...info(r.artifacts, r.dateSaved) } satisfies IdbInfoRecord);
        cursor.continue();
      };
    };
    req.onblocked = () => {
      gaveUp = true;
      reject(
        new Error(
          `the IndexedDB database '${IDB_DATABASE}' is open at an older version in another tab of this site; ` +
            'close that tab and try again',
        ),
      );
    };
    req.onsuccess = () => {
      const db = req.result;
      if (gaveUp) return db.close();
      // Never block another tab's upgrade in turn.
      db.onversionchange = () => db.close();
      resolve(db);
    };
    req.onerror = () => reject(req.error ?? new Error('the IndexedDB database did not open'));
  });
}

/** An IndexedDB failure (a DOMException, mostly) in words, with what to do for the common ones. */
function idbCause(e: unknown): string {
  const { name, message } = (e ?? {}) as { name?: unknown; message?: unknown };
  const text = typeof message === 'string' ? message : String(e);
  const hint =
    name === 'QuotaExceededError'
      ? " (this site's storage quota is used up: remove saved models with removeModel(url), see listModels())"
      : name === 'InvalidStateError' || name === 'SecurityError' || name === 'UnknownError'
        ? ' (IndexedDB may be unavailable here: a private window, or site storage turned off)'
        : '';
  return `${typeof name === 'string' && name !== 'Error' ? `${name}: ` : ''}${text}${hint}`;
}

/**
 * Runs `body` in one transaction over both stores; `body` returns a function that gives the
 * result once the transaction has completed (it may throw then, e.g. for a missing model).
 */
async function inTransaction<T>(
  mode: IDBTransactionMode,
  body: (models: IDBObjectStore, infos: IDBObjectStore) => () => T,
): Promise<T> {
  const db = await openDatabase();
  try {
    return await new Promise<T>((resolve, reject) => {
      const tx = db.transaction([IDB_STORE, IDB_INFO_STORE], mode);
      const result = body(tx.objectStore(IDB_STORE), tx.objectStore(IDB_INFO_STORE));
      tx.oncomplete = () => {
        try {
          resolve(result());
        } catch (e) {
          reject(e instanceof Error ? e : new Error(String(e)));
        }
      };
      // A failed request's error is on the request (the event's target); tx.error is set later.
      tx.onerror = (ev) =>
        reject(
          (ev.target as IDBRequest | null)?.error ??
            tx.error ??
            new Error('the IndexedDB transaction failed'),
        );
      tx.onabort = () => reject(tx.error ?? new Error('the IndexedDB transaction was aborted'));
    });
  } finally {
    db.close();
  }
}

/** The value of a request, once its transaction completed. */
function resultOf<T>(req: IDBRequest<T>): () => T {
  return () => req.result;
}

async function saveIndexedDb(a: ModelArtifacts, name: string): Promise<SaveResult> {
  idbFactory(); // no IndexedDB at all: that error as it is, not as a failed write
  const url = `${IDB_SCHEME}${name}`;
  const dateSaved = new Date();
  const modelArtifactsInfo = info(a, dateSaved);
  try {
    await inTransaction('readwrite', (models, infos) => {
      models.put({ name, artifacts: a, dateSaved } satisfies IdbRecord);
      infos.put({ name, ...modelArtifactsInfo } satisfies IdbInfoRecord);
      return () => undefined;
    });
  } catch (e) {
    // Both records are written in one transaction, which commits whole or not at all.
    throw new ModelIOError(
      `save: cannot write the model to ${url}: ${idbCause(e)}. A model saved there before is unchanged.`,
      url,
      { cause: e },
    );
  }
  return { modelArtifactsInfo, url };
}

async function loadIndexedDb(name: string): Promise<ModelArtifactsLike> {
  idbFactory(); // as in saveIndexedDb
  const url = `${IDB_SCHEME}${name}`;
  let record: IdbRecord | undefined;
  try {
    record = await inTransaction('readonly', (models) =>
      resultOf(models.get(name) as IDBRequest<IdbRecord | undefined>),
    );
  } catch (e) {
    throw new ModelIOError(`loadModel: cannot read ${url}: ${idbCause(e)}`, url, { cause: e });
  }
  if (!record) {
    throw new ModelIOError(
      `loadModel: no model named '${name}' in IndexedDB (database '${IDB_DATABASE}')`,
      url,
    );
  }
  return record.artifacts;
}

function infoOf(r: IdbInfoRecord): ModelArtifactsInfo {
  return {
    dateSaved: r.dateSaved,
    modelTopologyType: r.modelTopologyType,
    modelTopologyBytes: r.modelTopologyBytes,
    weightSpecsBytes: r.weightSpecsBytes,
    weightDataBytes: r.weightDataBytes,
  };
}

/**
 * The models saved in this browser's IndexedDB, as tf.io.listModels() gives them: keyed by
 * their URL ('indexeddb://name', what loadModel and removeModel take), each with its date
 * and sizes. Reads no weights.
 */
export async function listModels(): Promise<Record<string, ModelArtifactsInfo>> {
  const records = await inTransaction('readonly', (_, infos) =>
    resultOf(infos.getAll() as IDBRequest<IdbInfoRecord[]>),
  );
  return Object.fromEntries(records.map((r) => [`${IDB_SCHEME}${r.name}`, infoOf(r)]));
}

/** Deletes a model saved at 'indexeddb://name'; gives what it was (date and sizes). */
export async function removeModel(url: string): Promise<ModelArtifactsInfo> {
  const [scheme, rest] = splitScheme(url);
  if (scheme !== 'indexeddb') {
    throw new Error(
      `removeModel: '${url}' is not an indexeddb://name URL (only models saved in IndexedDB can be removed)`,
    );
  }
  const name = key(rest, url);
  const record = await inTransaction('readwrite', (models, infos) => {
    const req = infos.get(name) as IDBRequest<IdbInfoRecord | undefined>;
    req.onsuccess = () => {
      if (!req.result) return;
      models.delete(name);
      infos.delete(name);
    };
    return resultOf(req);
  });
  if (!record)
    throw new Error(`removeModel: no model named '${name}' in IndexedDB (database '${IDB_DATABASE}')`);
  return infoOf(record);
}

// ---------------------------------------------------------------- downloads:// (browser)

function saveDownloads(a: ModelArtifacts, name: string): SaveResult {
  if (typeof document === 'undefined')
    throw new Error("downloads:// needs a browser page; in Node use 'file://dir'");
  const weightsName = `${name}.weights.bin`;
  const json = JSON.stringify(modelJson(a, `./${weightsName}`));
  const download = (blob: Blob, filename: string): void => {
    const href = URL.createObjectURL(blob);
    const anchor = document.createElement('a');
    anchor.download = filename;
    anchor.href = href;
    anchor.click();
    // The download reads the blob after click() returns: release it later.
    setTimeout(() => URL.revokeObjectURL(href), 60_000);
  };
  download(new Blob([json], { type: 'application/json' }), `${name}.json`);
  download(new Blob([a.weightData], { type: 'application/octet-stream' }), weightsName);
  return { modelArtifactsInfo: info(a), url: `downloads://${name}` };
}
