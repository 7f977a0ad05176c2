/**
 * Saving and loading when things go wrong (issue 15, items 3, 5 and 11):
 *
 * - a save to a place that cannot be written settles at once with a ModelIOError naming the
 *   place and the cause, leaves a previous save there whole and removes what it wrote;
 * - every loader refuses NaN/±Inf in a weight or in the optimizer state with a
 *   NonFiniteWeightError naming it;
 * - a model.json cannot make the loader read outside its folder ('..', absolute paths,
 *   drive letters, URLs), over file:// or http(s)://, while TF.js's relative paths still load.
 *
 * Failures that root (which runs CI) cannot provoke on a real disk (a read-only file system,
 * a full disk, no permission) come from a file system that wraps Node's and fails one call;
 * IndexedDB failures from a fake factory, HTTP from a fake fetch. After each failure the model
 * involved still predicts what a float64 reference computes from its weights, and trains.
 */
import * as nodeFs from 'node:fs/promises';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { uniformF32 } from '../../kernels-test/harness.js';
import { seededDense } from '../../kernels-test/models.js';
import {
  browserFiles,
  initEngine,
  loadModel,
  modelFromArtifacts,
  ModelFormatError,
  NonFiniteWeightError,
  optimizers,
  modelToArtifacts,
  sequential,
  type LayersModel,
  type ModelArtifacts,
} from '../node/index.js';
import { registerFileSystem, type HostFs } from './host-fs.js';
import { ModelIOError } from './io.js';

let dir = '';

beforeAll(async () => {
  await initEngine({ adapter: (process.env.WEBGPU_MLP_ADAPTER ?? 'auto') as 'auto', log: false });
  dir = await mkdtemp(join(tmpdir(), 'webgpu-mlp-files-'));
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

afterEach(() => {
  registerFileSystem(nodeFs);
  vi.unstubAllGlobals();
});

// ---------------------------------------------------------------- helpers

let seed = 100;

/** x: [batch, 2] → dense 4 tanh → dense 1 (linear), Glorot-seeded: weights k1 [2,4], b1 [4], k2 [4,1], b2 [1]. */
function small(): LayersModel {
  seed += 2;
  return sequential({
    layers: [seededDense(4, 'tanh', seed, { inputShape: [2] }), seededDense(1, 'linear', seed + 1)],
  });
}

function bits(data: Float32Array): number[] {
  return Array.from(new Uint32Array(data.buffer, data.byteOffset, data.length));
}

async function weightBits(m: LayersModel): Promise<Record<string, number[]>> {
  return Object.fromEntries((await m.getWeights()).map((w) => [w.name, bits(w.data)]));
}

/** The files in a folder, sorted. */
async function filesIn(path: string): Promise<string[]> {
  return (await readdir(path)).sort();
}

const ROWS = 16;
const X = { data: uniformF32(ROWS * 2, -1, 1, 7), shape: [ROWS, 2] };
const Y = { data: uniformF32(ROWS, -1, 1, 8), shape: [ROWS, 1] };

/** float64 reference of small(): tanh(x·k1 + b1)·k2 + b2 for each row of X. */
function reference(w: { data: Float32Array }[]): number[] {
  const [k1, b1, k2, b2] = w.map((v) => v.data) as [Float32Array, Float32Array, Float32Array, Float32Array];
  return Array.from({ length: ROWS }, (_, r) => {
    let out = b2[0] as number;
    for (let j = 0; j < 4; j++) {
      let h = b1[j] as number;
      for (let i = 0; i < 2; i++) h += (X.data[r * 2 + i] as number) * (k1[i * 4 + j] as number);
      out += Math.tanh(h) * (k2[j] as number);
    }
    return out;
  });
}

/**
 * After a failure, `m` still works: predict matches the float64 reference of its weights
 * (|a−e| ≤ 1e-5: f32 sums of 2 and 4 terms of order 1, and the GPU's tanh, are within a few
 * ulps), and 5 full-batch SGD steps lower the MSE (a small step on a smooth loss).
 */
async function stillWorks(m: LayersModel): Promise<void> {
  const expected = reference(await m.getWeights());
  m.compile({ optimizer: optimizers.sgd({ learningRate: 0.1 }), loss: 'meanSquaredError' });
  const p = await m.predict(X);
  const got = Array.isArray(p) ? (p[0] as { data: Float32Array }) : p;
  expect(got.data).toHaveLength(ROWS);
  got.data.forEach((v, i) => expect(Math.abs(v - (expected[i] as number))).toBeLessThanOrEqual(1e-5));
  const h = await m.fit(X, Y, { epochs: 5, batchSize: ROWS, verbose: 0, shuffle: false });
  const losses = h.history.loss as number[];
  expect(losses).toHaveLength(5);
  for (const l of losses) expect(Number.isFinite(l)).toBe(true);
  expect(losses[4] as number).toBeLessThan(losses[0] as number);
}

/** Rejects with 'hung' where `p` has not settled within `ms` (a hang fails here, not at the test timeout). */
async function settles<T>(p: Promise<T>, ms = 10_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`hung: not settled after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, hung]);
  } finally {
    clearTimeout(timer);
  }
}

/** The error `p` rejects with, checked to be a `cls` (fails if `p` resolves or hangs). */
async function failure<E extends Error>(p: Promise<unknown>, cls: new (...args: never[]) => E): Promise<E> {
  let error: unknown;
  try {
    await settles(p);
  } catch (e) {
    error = e;
  }
  if (error === undefined) throw new Error('expected a rejection, but it resolved');
  if (error instanceof Error && error.message.startsWith('hung:')) throw error;
  expect(error).toBeInstanceOf(cls);
  if (!(error instanceof cls)) throw new Error('unreachable');
  return error;
}

/** An errno-style error, as Node's fs throws them. */
function fsError(code: string, what: string, path: string): Error {
  return Object.assign(new Error(`${code}: ${what}, open '${path}'`), { code });
}

/** Node's file system with some calls replaced (afterEach registers Node's own again). */
function useFs(overrides: Partial<HostFs>): void {
  registerFileSystem({ ...(nodeFs as HostFs), ...overrides });
}

interface ManifestWeight {
  name: string;
  shape: number[];
  dtype: string;
  group?: string;
}

async function manifest(folder: string): Promise<ManifestWeight[]> {
  const json = JSON.parse(await readFile(join(folder, 'model.json'), 'utf8')) as {
    weightsManifest: { weights: ManifestWeight[] }[];
  };
  return json.weightsManifest.flatMap((g) => g.weights);
}

/** `bytes` with value `v` written as f32 at element `index` of weight `name` (4-byte dtypes, back to back). */
function poison(
  bytes: Uint8Array,
  specs: ManifestWeight[],
  name: string,
  index: number,
  v: number,
): Uint8Array {
  let offset = 0;
  for (const s of specs) {
    if (s.name === name) {
      const out = new Uint8Array(bytes); // a copy (a Buffer's slice() would share the bytes)
      new DataView(out.buffer).setFloat32(offset + 4 * index, v, true);
      return out;
    }
    offset += 4 * s.shape.reduce((a, b) => a * b, 1);
  }
  throw new Error(`no weight ${name}`);
}

// ---------------------------------------------------------------- item 3: saving

describe('a save where it cannot be written settles with the place and the cause', () => {
  it('file:// under a regular file, at a file, on a Windows drive (POSIX), under /proc: nothing written', async () => {
    const m = small();
    const before = await weightBits(m);
    await writeFile(join(dir, 'plain-file'), 'not a folder');

    const under = await failure(m.save(`file://${dir}/plain-file/sub/model`), ModelIOError);
    expect(under.message).toBe(
      `save: cannot write the model to file://${dir}/plain-file/sub/model: "${dir}/plain-file" is a file, ` +
        'not a folder (model.json and weights.bin go in a folder). Nothing was written.',
    );
    expect(under.url).toBe(`file://${dir}/plain-file/sub/model`);

    const at = await failure(m.save(`file://${dir}/plain-file`), ModelIOError);
    expect(at.message).toContain(`"${dir}/plain-file" is a file, not a folder`);
    expect(await readFile(join(dir, 'plain-file'), 'utf8')).toBe('not a folder');

    // Before, on Linux, this made a folder named 'Z:' in the working directory.
    const drive = await failure(m.save('file://Z:/model'), ModelIOError);
    expect(drive.message).toContain('"Z:" is a Windows drive, and this host');
    await expect(stat('Z:')).rejects.toMatchObject({ code: 'ENOENT' });

    // procfs answers ENOENT to mkdir under /proc, where Node's recursive mkdir spun forever.
    const proc = await failure(m.save('file:///proc/webgpu-mlp/model'), ModelIOError);
    expect(proc.message).toMatch(
      /^save: cannot write the model to file:\/\/\/proc\/webgpu-mlp\/model: cannot create the folder "\/proc[^"]*"/,
    );
    expect(proc.message).toMatch(/Nothing was written\.$/);

    expect(await weightBits(m)).toEqual(before);
    await stillWorks(m);
  });

  it('a read-only disk, a full disk halfway, no permission: the previous save is intact, nothing left behind', async () => {
    const m = small();
    const target = join(dir, 'kept');
    await m.save(`file://${target}`);
    const good = await weightBits(m);
    const goodFiles = {
      json: await readFile(join(target, 'model.json')),
      weights: await readFile(join(target, 'weights.bin')),
    };
    const other = small(); // a different model saved over it, failing each time

    useFs({ writeFile: (p) => Promise.reject(fsError('EROFS', 'read-only file system', p)) });
    const readOnly = await failure(other.save(`file://${target}`), ModelIOError);
    expect(readOnly.message).toMatch(
      new RegExp(`^save: cannot write the model to file://${target}: the file system is read-only \\(EROFS`),
    );
    expect(readOnly.message).toMatch(/A model saved there before is unchanged\.$/);
    expect((readOnly.cause as { code?: string }).code).toBe('EROFS');

    // weights.bin's temporary is written, then the disk is full for model.json's.
    let writes = 0;
    useFs({
      writeFile: async (p, data, options) => {
        if (++writes === 2) {
          await nodeFs.writeFile(p, 'partial', options);
          throw fsError('ENOSPC', 'no space left on device', p);
        }
        return nodeFs.writeFile(p, data, options);
      },
    });
    const full = await failure(other.save(`file://${target}`), ModelIOError);
    expect(full.message).toContain('no space left on the device (ENOSPC');
    expect(full.message).toMatch(/A model saved there before is unchanged\.$/);
    expect(writes).toBe(2);

    // A new folder where mkdir is not permitted: the folders made on the way are removed.
    useFs({
      mkdir: (p, o) =>
        p.endsWith('/deeper')
          ? Promise.reject(fsError('EACCES', 'permission denied', p))
          : nodeFs.mkdir(p, o),
    });
    const denied = await failure(other.save(`file://${dir}/new-folder/deeper`), ModelIOError);
    expect(denied.message).toContain(
      `cannot create the folder "${dir}/new-folder/deeper": permission denied (EACCES`,
    );
    expect(denied.message).toMatch(/Nothing was written\.$/);
    expect(await readdir(dir)).not.toContain('new-folder');

    registerFileSystem(nodeFs);
    expect(await filesIn(target)).toEqual(['model.json', 'weights.bin']);
    expect(await readFile(join(target, 'model.json'))).toEqual(goodFiles.json);
    expect(await readFile(join(target, 'weights.bin'))).toEqual(goodFiles.weights);
    const back = await loadModel(`file://${target}`);
    expect(await weightBits(back)).toEqual(good);
    expect(await weightBits(other)).not.toEqual(good);
    await stillWorks(back);
    await stillWorks(other);
  });

  it('the rename of model.json failing after weights.bin was replaced says which file is new', async () => {
    const m = small();
    const target = join(dir, 'half');
    await m.save(`file://${target}`);
    const other = small();
    useFs({
      rename: (from, to) =>
        to.endsWith('model.json') ? Promise.reject(fsError('EIO', 'i/o error', to)) : nodeFs.rename(from, to),
    });
    const e = await failure(other.save(`file://${target}`), ModelIOError);
    expect(e.message).toContain(
      `"${target}/weights.bin" is the new one but "${target}/model.json" is not: save again.`,
    );
    registerFileSystem(nodeFs);
    expect(await filesIn(target)).toEqual(['model.json', 'weights.bin']); // no temporary left
    // That is what the message says: the new weights beside the old model.json.
    const back = await loadModel(`file://${target}`);
    const ws = await other.getWeights();
    expect(Object.values(await weightBits(back))).toEqual(ws.map((w) => bits(w.data)));
  });

  it('a FIFO at weights.bin (the old direct write blocked on it forever) is replaced; a folder at model.json is refused', async () => {
    const m = small();
    const fifo = join(dir, 'fifo');
    await mkdir(fifo);
    execFileSync('mkfifo', [join(fifo, 'weights.bin')]);
    const saved = await settles(m.save(`file://${fifo}`));
    expect(saved.url).toBe(`file://${fifo}/model.json`);
    expect((await stat(join(fifo, 'weights.bin'))).isFile()).toBe(true);
    expect(await weightBits(await loadModel(`file://${fifo}`))).toEqual(await weightBits(m));

    // Loading a FIFO would block in readFile: it is refused.
    execFileSync('mkfifo', [join(fifo, 'pipe.json')]);
    const pipe = await failure(loadModel(`file://${fifo}/pipe.json`), ModelIOError);
    expect(pipe.message).toBe(`loadModel: file://${fifo}/pipe.json is not a regular file`);

    const blocked = join(dir, 'json-folder');
    await mkdir(join(blocked, 'model.json'), { recursive: true });
    const e = await failure(m.save(`file://${blocked}`), ModelIOError);
    expect(e.message).toContain(`"${blocked}/model.json" is a folder`);
    expect(await filesIn(blocked)).toEqual(['model.json']);
    await stillWorks(m);
  });

  it('indexeddb://: a blocked open, a refused open and a full quota reject with the cause', async () => {
    const m = small();
    const before = await weightBits(m);

    const blocked = fakeIndexedDb({ open: 'blocked' });
    vi.stubGlobal('indexedDB', blocked.factory);
    const e1 = await failure(m.save('indexeddb://net'), ModelIOError);
    expect(e1.url).toBe('indexeddb://net');
    expect(e1.message).toContain(
      "the IndexedDB database 'webgpu-mlp' is open at an older version in another tab",
    );
    // The other tab closes; the connection that opens then is not left open.
    blocked.succeedLate();
    await new Promise((r) => setTimeout(r, 10));
    expect(blocked.closed()).toBe(1);

    vi.stubGlobal(
      'indexedDB',
      fakeIndexedDb({ open: new DOMException('The operation is insecure.', 'SecurityError') }).factory,
    );
    const e2 = await failure(m.save('indexeddb://net'), ModelIOError);
    expect(e2.message).toContain(
      'save: cannot write the model to indexeddb://net: SecurityError: The operation is insecure.',
    );
    expect(e2.message).toContain('IndexedDB may be unavailable here');

    const quota = fakeIndexedDb({
      open: 'ok',
      abort: new DOMException('Quota exceeded.', 'QuotaExceededError'),
    });
    vi.stubGlobal('indexedDB', quota.factory);
    const e3 = await failure(m.save('indexeddb://net'), ModelIOError);
    expect(e3.message).toContain('QuotaExceededError: Quota exceeded.');
    expect(e3.message).toContain('remove saved models with removeModel(url)');
    expect(e3.message).toMatch(/A model saved there before is unchanged\.$/);
    expect(quota.records.size).toBe(0);
    expect(quota.closed()).toBe(1);

    const e4 = await failure(loadModel('indexeddb://net'), ModelIOError);
    expect(e4.message).toBe(
      'loadModel: cannot read indexeddb://net: QuotaExceededError: Quota exceeded. ' +
        "(this site's storage quota is used up: remove saved models with removeModel(url), see listModels())",
    );

    expect(await weightBits(m)).toEqual(before);
    vi.unstubAllGlobals();
    await stillWorks(m);
  });

  it("http(s):// is not a destination; a failing save handler's own error comes back", async () => {
    const m = small();
    const before = await weightBits(m);
    const http = await failure(m.save('https://example.com/models/m'), Error);
    expect(http.message).toContain("save: unsupported destination 'https://example.com/models/m'");
    // What tf.io.http's handler rejects with when the server answers 500.
    const server = new Error('Request to https://example.com/upload failed with status code 500.');
    const handler = await failure(m.save({ save: () => Promise.reject(server) }), Error);
    expect(handler).toBe(server);
    expect(await weightBits(m)).toEqual(before);
    await stillWorks(m);
  });
});

/**
 * A fake IndexedDB: `open` fails with a DOMException, is blocked (another tab) until
 * succeedLate(), or opens a database whose write transactions abort with `abort`, or that
 * keeps `records` (put/get by name).
 */
function fakeIndexedDb(opts: { open: 'ok' | 'blocked' | DOMException; abort?: DOMException }): {
  factory: unknown;
  records: Map<string, unknown>;
  closed: () => number;
  succeedLate: () => void;
} {
  const records = new Map<string, unknown>();
  let closed = 0;
  const later = (f: () => void): void => void setTimeout(f, 0);
  const db = {
    objectStoreNames: { contains: () => true },
    onversionchange: null,
    close: () => {
      closed++;
    },
    transaction: () => {
      const tx: Record<string, unknown> & { error: DOMException | null } = { error: null };
      const finish = (fail: boolean): void =>
        later(() => {
          if (fail && opts.abort) {
            tx.error = opts.abort;
            (tx.onabort as (() => void) | undefined)?.();
          } else (tx.oncomplete as (() => void) | undefined)?.();
        });
      tx.objectStore = () => ({
        put: (v: { name: string }) => {
          if (!opts.abort) records.set(v.name, v);
          finish(true);
          return {};
        },
        get: (name: string) => {
          const req = { result: records.get(name) };
          finish(opts.abort !== undefined);
          return req;
        },
      });
      return tx;
    },
  };
  let pending: Record<string, unknown> | undefined;
  const factory = {
    open: () => {
      const req: Record<string, unknown> = { result: db, error: null, transaction: null };
      pending = req;
      later(() => {
        if (opts.open === 'ok') (req.onsuccess as () => void)();
        else if (opts.open === 'blocked') (req.onblocked as () => void)();
        else {
          req.error = opts.open;
          (req.onerror as () => void)();
        }
      });
      return req;
    },
  };
  return {
    factory,
    records,
    closed: () => closed,
    succeedLate: () => (pending?.onsuccess as (() => void) | undefined)?.(),
  };
}

// ---------------------------------------------------------------- item 5: non-finite weights

describe('every loader refuses NaN and ±Inf weights, naming the weight', () => {
  it('file://: a NaN, a +Inf and a -Inf in different weights, each named with its index', async () => {
    const m = small();
    const folder = join(dir, 'nan-file');
    await m.save(`file://${folder}`);
    const specs = await manifest(folder);
    const good = await readFile(join(folder, 'weights.bin'));
    const names = specs.map((s) => s.name);
    const cases: [string, number, number, string][] = [
      [names[0] as string, 5, NaN, 'NaN'],
      [names[1] as string, 2, Infinity, 'Infinity'],
      [names[3] as string, 0, -Infinity, '-Infinity'],
    ];
    for (const [name, index, value, shown] of cases) {
      await writeFile(join(folder, 'weights.bin'), poison(good, specs, name, index, value));
      const e = await failure(loadModel(`file://${folder}/model.json`), NonFiniteWeightError);
      expect(e.weight).toBe(name);
      expect(e.index).toBe(index);
      expect(e.message).toMatch(
        new RegExp(`^loadModel: weight "${name}" has ${shown} at index ${index} \\(of`),
      );
    }
    await writeFile(join(folder, 'weights.bin'), good);
    const back = await loadModel(`file://${folder}`);
    expect(await weightBits(back)).toEqual(await weightBits(m));
    await stillWorks(back);
  });

  it('http(s):// (a fake fetch), browserFiles, artifacts in memory, a load handler and IndexedDB', async () => {
    const m = small();
    const before = await weightBits(m);
    const a = await modelToArtifacts(m);
    const bias = a.weightSpecs[1]?.name as string; // [4]
    const bad: ModelArtifacts = {
      ...a,
      weightData: poison(new Uint8Array(a.weightData), a.weightSpecs, bias, 3, NaN).buffer as ArrayBuffer,
    };
    const named = async (load: Promise<unknown>): Promise<void> => {
      const e = await failure(load, NonFiniteWeightError);
      expect(e.weight).toBe(bias);
      expect(e.message).toContain(`weight "${bias}" has NaN at index 3 (of 4 values)`);
    };

    const json = JSON.stringify({
      modelTopology: a.modelTopology,
      format: a.format,
      weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }],
    });
    vi.stubGlobal(
      'fetch',
      fakeFetch({
        'https://models.test/m/model.json': json,
        'https://models.test/m/weights.bin': bad.weightData,
      }),
    );
    await named(loadModel('https://models.test/m/model.json'));
    vi.unstubAllGlobals();

    await named(
      loadModel(browserFiles(new File([json], 'model.json'), new File([bad.weightData], 'weights.bin'))),
    );
    await named(loadModel(bad));
    expect(() => modelFromArtifacts(bad)).toThrow(NonFiniteWeightError);
    await named(loadModel({ load: () => Promise.resolve(bad) }));

    const idb = fakeIndexedDb({ open: 'ok' });
    idb.records.set('poisoned', { name: 'poisoned', artifacts: bad, dateSaved: new Date() });
    vi.stubGlobal('indexedDB', idb.factory);
    await named(loadModel('indexeddb://poisoned'));
    vi.unstubAllGlobals();

    // The same artifacts without the NaN load, bit for bit.
    const back = await loadModel(a);
    expect(await weightBits(back)).toEqual(before);
    expect(await weightBits(m)).toEqual(before);
    await stillWorks(back);
  });

  it('includeOptimizer: a NaN in a saved optimizer slot is refused, naming the slot', async () => {
    const m = small();
    m.compile({ optimizer: 'adam', loss: 'meanSquaredError' });
    await m.fit(X, Y, { epochs: 1, batchSize: 8, verbose: 0, shuffle: false });
    const folder = join(dir, 'nan-optimizer');
    await m.save(`file://${folder}`, { includeOptimizer: true });
    const specs = await manifest(folder);
    const slot = specs.filter((s) => s.group === 'optimizer' && s.dtype === 'float32')[2] as ManifestWeight;
    expect(slot.name).toMatch(/\/(m|v)$/);
    const good = await readFile(join(folder, 'weights.bin'));
    await writeFile(join(folder, 'weights.bin'), poison(good, specs, slot.name, 1, -Infinity));
    const e = await failure(loadModel(`file://${folder}`), NonFiniteWeightError);
    expect(e.weight).toBe(slot.name);
    expect(e.message).toMatch(
      new RegExp(
        `^loadModel: optimizer state \\(includeOptimizer\\): weight "${slot.name}" has -Infinity at index 1`,
      ),
    );

    await writeFile(join(folder, 'weights.bin'), good);
    const back = await loadModel(`file://${folder}`);
    back.compile({ optimizer: 'adam', loss: 'meanSquaredError' });
    expect(await back.getOptimizerWeights()).toEqual(await m.getOptimizerWeights());
  });
});

/** A fetch over an in-memory site: URL → body; anything else 404. Records what was requested. */
function fakeFetch(site: Record<string, string | ArrayBuffer>, requested: string[] = []) {
  return (url: string | URL): Promise<Response> => {
    const u = String(url);
    requested.push(u);
    const body = site[u];
    return Promise.resolve(
      body === undefined
        ? new Response('not found', { status: 404, statusText: 'Not Found' })
        : new Response(body),
    );
  };
}

// ---------------------------------------------------------------- item 11: weights paths

/** Paths a model.json must not use, each with the reason named in the error. */
const ESCAPES: [string, string][] = [
  ['../outside.bin', 'leaves the folder'],
  ['sub/../../outside.bin', 'leaves the folder'],
  ['sub\\..\\..\\outside.bin', 'leaves the folder'],
  ['%2e%2e/outside.bin', 'leaves the folder'],
  ['/etc/passwd', 'is absolute'],
  ['\\\\server\\share\\w.bin', 'is absolute'],
  ['//evil.test/w.bin', 'is absolute'],
  ['C:\\Windows\\w.bin', 'starts with a drive letter'],
  ['c:w.bin', 'starts with a drive letter'],
  ['file:///etc/passwd', 'is a URL with a scheme'],
  ['http://evil.test/w.bin', 'is a URL with a scheme'],
  ['data:application/octet-stream;base64,AAAA', 'is a URL with a scheme'],
];

describe('a model.json cannot reach outside its folder', () => {
  it('file://: "..", absolute, drive-letter and URL paths are refused before any weights file is read', async () => {
    const m = small();
    const folder = join(dir, 'escape', 'model');
    await m.save(`file://${folder}`);
    // A valid weights file outside the folder, which an escaping path would load.
    await writeFile(join(dir, 'escape', 'outside.bin'), await readFile(join(folder, 'weights.bin')));
    const json = JSON.parse(await readFile(join(folder, 'model.json'), 'utf8')) as {
      weightsManifest: { paths: string[] }[];
    };
    const reads: string[] = [];
    useFs({
      readFile: (p) => {
        reads.push(p);
        return nodeFs.readFile(p);
      },
    });
    for (const [path, why] of [
      ...ESCAPES,
      [join(dir, 'escape', 'outside.bin'), 'is absolute'] as [string, string],
    ]) {
      (json.weightsManifest[0] as { paths: string[] }).paths = [path];
      await writeFile(join(folder, 'evil.json'), JSON.stringify(json));
      reads.length = 0;
      const e = await failure(loadModel(`file://${folder}/evil.json`), ModelFormatError);
      expect(e.message).toContain(`the weightsManifest path ${JSON.stringify(path)} ${why}`);
      expect(e.message).toContain('must be relative paths inside the folder of model.json');
      expect(reads).toEqual([`${folder}/evil.json`]);
    }
    registerFileSystem(nodeFs);
    expect(await weightBits(await loadModel(`file://${folder}`))).toEqual(await weightBits(m));
  });

  it('http(s)://: the same paths are refused before any weights request (a fake fetch)', async () => {
    const m = small();
    const a = await modelToArtifacts(m);
    const requested: string[] = [];
    for (const [path, why] of ESCAPES) {
      const json = JSON.stringify({
        modelTopology: a.modelTopology,
        weightsManifest: [{ paths: [path], weights: a.weightSpecs }],
      });
      const site = { 'https://models.test/a/b/model.json': json };
      requested.length = 0;
      vi.stubGlobal('fetch', fakeFetch(site, requested));
      const e = await failure(loadModel('https://models.test/a/b/model.json'), ModelFormatError);
      expect(e.message).toContain(
        `loadModel: https://models.test/a/b/model.json: the weightsManifest path ${JSON.stringify(path)} ${why}`,
      );
      expect(requested).toEqual(['https://models.test/a/b/model.json']);
    }
  });

  it('relative paths inside the folder (TF.js shards, sub/, ./) load over file:// and http', async () => {
    const m = small();
    const a = await modelToArtifacts(m);
    const bytes = new Uint8Array(a.weightData);
    // Two groups as tensorflowjs_converter shards them: [k1, b1] and [k2, b2].
    const split = 4 * (2 * 4 + 4);
    const json = JSON.stringify({
      modelTopology: a.modelTopology,
      format: 'layers-model',
      weightsManifest: [
        { paths: ['group1-shard1of1.bin'], weights: a.weightSpecs.slice(0, 2) },
        {
          paths: ['./sub/group2-shard1of2.bin', 'sub/deeper/group2-shard2of2.bin'],
          weights: a.weightSpecs.slice(2),
        },
      ],
    });
    const shards = [bytes.slice(0, split), bytes.slice(split, split + 8), bytes.slice(split + 8)];
    const folder = join(dir, 'shards');
    await mkdir(join(folder, 'sub', 'deeper'), { recursive: true });
    await writeFile(join(folder, 'model.json'), json);
    await writeFile(join(folder, 'group1-shard1of1.bin'), shards[0] as Uint8Array);
    await writeFile(join(folder, 'sub', 'group2-shard1of2.bin'), shards[1] as Uint8Array);
    await writeFile(join(folder, 'sub', 'deeper', 'group2-shard2of2.bin'), shards[2] as Uint8Array);
    const want = await weightBits(m);
    const fromFiles = await loadModel(`file://${folder}/model.json`);
    expect(await weightBits(fromFiles)).toEqual(want);

    const requested: string[] = [];
    vi.stubGlobal(
      'fetch',
      fakeFetch(
        {
          'https://models.test/m/model.json': json,
          'https://models.test/m/group1-shard1of1.bin': (shards[0] as Uint8Array).slice().buffer,
          'https://models.test/m/sub/group2-shard1of2.bin': (shards[1] as Uint8Array).slice().buffer,
          'https://models.test/m/sub/deeper/group2-shard2of2.bin': (shards[2] as Uint8Array).slice().buffer,
        },
        requested,
      ),
    );
    const overHttp = await loadModel('https://models.test/m/model.json');
    expect(requested).toEqual([
      'https://models.test/m/model.json',
      'https://models.test/m/group1-shard1of1.bin',
      'https://models.test/m/sub/group2-shard1of2.bin',
      'https://models.test/m/sub/deeper/group2-shard2of2.bin',
    ]);
    expect(await weightBits(overHttp)).toEqual(want);
    vi.unstubAllGlobals();
    await stillWorks(overHttp);
  });
});
