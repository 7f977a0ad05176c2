/**
 * Keras's `get_file` for the dataset loaders: one file from the origin Keras downloads it
 * from (or a mirror, or a local copy), kept in the cache Keras keeps it in, verified by the
 * sha256 Keras publishes, then decoded by the loader.
 *
 *   cached copy → hash checked (a mismatch: downloaded again, as Keras does) → decoded
 *     (an unreadable copy: dropped and downloaded again)
 *   else GET <url>/<fname> → hash checked (a mismatch: an error, nothing cached) → decoded
 *     (an unreadable file: an error, nothing cached) → cached
 *
 * The cache holds the files exactly as downloaded (.npz, .gz), under Keras's names, so a
 * Python Keras and this library share them. Browser-safe: fetch, crypto.subtle and
 * DecompressionStream; the Node file cache comes from the registered host (host.ts).
 */
import { cacheStorageStore, datasetHost, type DatasetStore } from './host.js';

/** Where Keras's dataset files are served (keras/src/datasets/*.py's origin_folder). */
export const KERAS_ORIGIN = 'https://storage.googleapis.com/tensorflow/tf-keras-datasets/';

/** A file as Keras's loader names it. */
export interface RemoteFile {
  /** Its name at the origin, in `dir` and in the cache ('mnist.npz', 'train-images-idx3-ubyte.gz'). */
  fname: string;
  /** Its name in the cache when not fname (Keras's `path` argument). */
  cacheName?: string;
  /** The folder URL it is fetched from (fname appended). */
  origin: string;
  /** Keras's cache_subdir under the cache root: 'datasets' or 'datasets/fashion-mnist'. */
  subdir: string;
  /** The sha256 Keras publishes (get_file's file_hash), lowercase hex; none where Keras has none. */
  sha256?: string;
}

/** How files are fetched and cached; every loader takes these. */
export interface DownloadOptions {
  /**
   * A folder URL serving the files under Keras's names (a mirror), instead of Keras's origin.
   * Files fetched from it are checked against Keras's hashes all the same.
   */
  url?: string;
  /** Node: a local folder holding the files under Keras's names (an offline copy); no download, no cache. */
  dir?: string;
  /** Node: Keras's cache_dir (default $KERAS_HOME, else ~/.keras); files go under <cacheDir>/datasets. */
  cacheDir?: string;
  /** false: neither read nor write the cache (default true). */
  cache?: boolean;
  /** Download again even when a valid copy is cached (Keras's force_download). */
  forceDownload?: boolean;
  /** 1 (default): print "Downloading data from <url>" as Keras does; 0: silent. */
  verbose?: 0 | 1;
  /** The fetch to use (default globalThis.fetch). */
  fetch?: (url: string, init?: RequestInit) => Promise<Response>;
  signal?: AbortSignal;
}

export const DOWNLOAD_KEYS: Readonly<Record<keyof DownloadOptions, true>> = {
  url: true,
  dir: true,
  cacheDir: true,
  cache: true,
  forceDownload: true,
  verbose: true,
  fetch: true,
  signal: true,
};

/** A dataset file that could not be fetched, verified or read; the message names file, URL and problem. */
export class DatasetError extends Error {
  override name = 'DatasetError';
}

/** Lowercase hex sha256 of `bytes`, by Web Crypto (Node 20 and every secure page have it). */
export async function sha256Hex(bytes: Uint8Array, what: string): Promise<string> {
  const subtle = (globalThis as { crypto?: { subtle?: SubtleCrypto } }).crypto?.subtle;
  if (!subtle) {
    throw new DatasetError(
      `${what}: checking the file's sha256 needs crypto.subtle, which a page has only in a secure context (https or localhost)`,
    );
  }
  const digest = new Uint8Array(await subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** The bytes of a .gz file, by DecompressionStream; `where` names the file in errors. */
export async function gunzip(bytes: Uint8Array, where: string): Promise<Uint8Array> {
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) {
    throw new DatasetError(`${where}: not a gzip file (it does not start with the bytes 1f 8b)`);
  }
  try {
    const stream = new Blob([bytes as Uint8Array<ArrayBuffer>])
      .stream()
      .pipeThrough(new DecompressionStream('gzip'));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  } catch (e) {
    throw new DatasetError(`${where}: not a complete gzip file (${reason(e)}); it is damaged or truncated`, {
      cause: e,
    });
  }
}

/** An error's message, with a fetch failure's underlying cause ('connect ECONNREFUSED ...'). */
function reason(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const cause = (e as { cause?: unknown }).cause;
  return cause instanceof Error && cause.message ? `${e.message}: ${cause.message}` : e.message;
}

function isAbort(e: unknown): boolean {
  return e instanceof Error && e.name === 'AbortError';
}

/** `folder` + `fname`, with one slash between. */
export function fileUrl(folder: string, fname: string): string {
  return folder.endsWith('/') ? `${folder}${fname}` : `${folder}/${fname}`;
}

/**
 * The decoded contents of `file`: from `options.dir`, the cache, or a download, as the
 * header describes. `decode` turns the file's bytes into the loader's arrays and throws
 * (naming `where`) when they are not what the file must hold; `what` names the loader in
 * messages ('datasets.mnist.loadData').
 */
export async function getDatasetFile<T>(
  file: RemoteFile,
  options: DownloadOptions,
  what: string,
  decode: (bytes: Uint8Array, where: string) => Promise<T>,
): Promise<T> {
  const say = options.verbose === 0 ? () => undefined : (line: string) => console.log(line);
  const host = datasetHost();
  if (options.dir !== undefined) {
    if (!host) {
      throw new DatasetError(
        `${what}: dir reads local files, which needs Node (import 'webgpu-mlp' there); in a browser, serve the files and pass url`,
      );
    }
    const { bytes, path } = await host.readLocal(options.dir, file.fname).catch((e: unknown) => {
      throw new DatasetError(`${what}: cannot read ${fileUrl(options.dir ?? '', file.fname)}: ${reason(e)}`, {
        cause: e,
      });
    });
    if (file.sha256 !== undefined) {
      const got = await sha256Hex(bytes, what);
      if (got !== file.sha256) {
        throw new DatasetError(
          `${what}: ${path} is not Keras's ${file.fname}: sha256 expected ${file.sha256}, got ${got} (${bytes.length} bytes)`,
        );
      }
    }
    return decode(bytes, path);
  }

  const url = fileUrl(options.url ?? file.origin, file.fname);
  let store: DatasetStore | undefined;
  if (options.cache !== false) {
    if (host) {
      store = await host
        .store(file.subdir, file.cacheName ?? file.fname, options.cacheDir)
        .catch((e: unknown) => {
          throw new DatasetError(
            `${what}: cannot use the cache for ${file.fname}: ${reason(e)} (pass cacheDir, or cache: false)`,
            {
              cause: e,
            },
          );
        });
    } else if (options.cacheDir !== undefined) {
      throw new DatasetError(
        `${what}: cacheDir names a folder, which needs Node; a browser caches in Cache Storage`,
      );
    } else store = cacheStorageStore(url);
  }

  if (store && options.forceDownload !== true) {
    const where = store.where;
    const cached = await store.read().catch((e: unknown) => {
      say(`${what}: cannot read the cached ${where} (${reason(e)}); downloading it again`);
      return undefined;
    });
    if (cached) {
      const fresh = file.sha256 === undefined || (await sha256Hex(cached, what)) === file.sha256;
      if (!fresh) {
        say(
          `A local file was found at ${store.where}, but its sha256 does not match Keras's ${file.sha256}: ` +
            'it is incomplete or outdated, so it is downloaded again.',
        );
      } else {
        try {
          return await decode(cached, store.where);
        } catch (e) {
          say(`The cached ${store.where} is unreadable (${reason(e)}); it is downloaded again.`);
        }
      }
      await store.remove().catch(() => undefined);
    }
  }

  say(`Downloading data from ${url}`);
  const bytes = await download(url, options, what);
  if (file.sha256 !== undefined) {
    const got = await sha256Hex(bytes, what);
    if (got !== file.sha256) {
      throw new DatasetError(
        `${what}: the file downloaded from ${url} (${bytes.length} bytes) is not Keras's ${file.fname}: ` +
          `sha256 expected ${file.sha256}, got ${got}; an incomplete or altered file, not cached`,
      );
    }
  }
  const value = await decode(bytes, url);
  if (store) {
    const where = store.where;
    await store.write(bytes).catch((e: unknown) => {
      console.warn(`${what}: could not cache ${where}: ${reason(e)}; the next load downloads it again`);
    });
  }
  return value;
}

/** GET `url`'s whole body; errors name the URL and the HTTP status or network failure. */
async function download(url: string, options: DownloadOptions, what: string): Promise<Uint8Array> {
  const doFetch = options.fetch ?? ((u: string, init?: RequestInit) => globalThis.fetch(u, init));
  const init: RequestInit = options.signal ? { signal: options.signal } : {};
  let response: Response;
  try {
    response = await doFetch(url, init);
  } catch (e) {
    if (isAbort(e)) throw e;
    throw new DatasetError(
      `${what}: cannot download ${url} (${reason(e)}). Offline, pass dir (a folder holding ` +
        `${url.slice(url.lastIndexOf('/') + 1)}) or url (a mirror serving it)`,
      { cause: e },
    );
  }
  if (!response.ok) {
    throw new DatasetError(
      `${what}: GET ${url} answered HTTP ${response.status} ${response.statusText}`.trimEnd(),
    );
  }
  let body: Uint8Array;
  try {
    body = new Uint8Array(await response.arrayBuffer());
  } catch (e) {
    if (isAbort(e)) throw e;
    throw new DatasetError(`${what}: the download of ${url} broke off (${reason(e)})`, { cause: e });
  }
  // A body shorter than announced (a connection closed early that fetch did not flag).
  const announced = Number(response.headers.get('content-length') ?? Number.NaN);
  if (!response.headers.get('content-encoding') && Number.isFinite(announced) && announced !== body.length) {
    throw new DatasetError(`${what}: the download of ${url} broke off: ${body.length} of ${announced} bytes`);
  }
  return body;
}
