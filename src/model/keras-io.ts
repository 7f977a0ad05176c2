/**
 * Keras's own files (.keras, .h5, .weights.h5) moved to and from where they live: a Node path
 * (plain or file://), an http(s) URL (loading), a browser File/Blob/ArrayBuffer (loading), or
 * downloads://name.keras in a browser (saving). src/keras turns them into a model's parts and
 * back; load.ts makes the model from those parts.
 *
 * A file:// save writes a temporary file beside the target and renames it, so a model saved
 * there before survives a failed save.
 */
import { ModelIOError } from './io.js';
import {
  errorCode,
  fsCause,
  foreignDrive,
  hostFs,
  makeDirs,
  removeDirs,
  statOrUndefined,
} from './host-fs.js';
import { isNode } from '../util/runtime.js';

/** The Keras file kinds a path names, by extension. */
export type KerasPathKind = 'keras' | 'h5' | 'weights';

/** 'keras' (.keras), 'weights' (.weights.h5), 'h5' (.h5 / .hdf5 / .keras.h5), or undefined. */
export function kerasPathKind(path: string): KerasPathKind | undefined {
  const p = path.replace(/[?#].*$/, '').toLowerCase();
  if (p.endsWith('.weights.h5')) return 'weights';
  if (p.endsWith('.keras')) return 'keras';
  if (p.endsWith('.h5') || p.endsWith('.hdf5')) return 'h5';
  return undefined;
}

/** A path with its scheme: 'file', 'downloads', 'http(s)', or '' (a plain path). */
function scheme(url: string): [string, string] {
  const m = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i.exec(url);
  if (!m) return ['', url];
  return [(m[1] as string).toLowerCase(), m[2] as string];
}

const FILES_NEED_NODE =
  "saving a Keras file to a path needs Node; in a browser save to 'downloads://name.keras' or 'downloads://name.h5'";

/** Writes a Keras file's bytes to `url` (a Node path, file://path, or downloads://name). */
export async function writeKerasBytes(url: string, bytes: Uint8Array, what: string): Promise<string> {
  const [s, rest] = scheme(url);
  if (s === 'downloads') {
    if (typeof document === 'undefined')
      throw new Error(`${what}: downloads:// needs a browser page; in Node give a file path`);
    const name = rest.slice(rest.lastIndexOf('/') + 1);
    const href = URL.createObjectURL(
      new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }),
    );
    const anchor = document.createElement('a');
    anchor.download = name;
    anchor.href = href;
    anchor.click();
    setTimeout(() => URL.revokeObjectURL(href), 60_000);
    return url;
  }
  if (s !== '' && s !== 'file') {
    throw new Error(
      `${what}: cannot write a Keras file to '${url}'; give a file path (Node) or downloads://name (browser)`,
    );
  }
  const path = rest;
  const fs = hostFs(FILES_NEED_NODE);
  const fail = (cause: string, left: string, e?: unknown): ModelIOError =>
    new ModelIOError(`${what}: cannot write ${path}: ${cause}. ${left}`, url, { cause: e });
  const drive = foreignDrive(path);
  if (drive !== undefined) throw fail(drive, 'Nothing was written.');
  const cut = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  let created: string[] = [];
  if (cut > 0) {
    try {
      created = await makeDirs(fs, path.slice(0, cut));
    } catch (e) {
      throw fail((e as Error).message, 'Nothing was written.', e);
    }
  }
  if ((await statOrUndefined(fs, path))?.isDirectory()) {
    throw fail('it is a folder', 'Nothing was written.');
  }
  const tmp = `${path}.${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}.tmp`;
  try {
    await fs.writeFile(tmp, bytes, { flag: 'wx' });
    await fs.rename(tmp, path);
  } catch (e) {
    await fs.unlink(tmp).catch(() => undefined);
    await removeDirs(fs, created);
    throw fail(
      errorCode(e) ? fsCause(e) : (e as Error).message,
      'A file saved there before is unchanged.',
      e,
    );
  }
  return path;
}

/** A source of a Keras file's bytes: a path or URL, a Blob/File, or the bytes themselves. */
export type KerasFileSource = string | Blob | ArrayBuffer | Uint8Array;

/** The bytes of `source` and a name for messages. */
export async function readKerasBytes(
  source: KerasFileSource,
  what: string,
): Promise<{ bytes: Uint8Array; name: string }> {
  if (source instanceof Uint8Array) return { bytes: source, name: 'the given bytes' };
  if (source instanceof ArrayBuffer) return { bytes: new Uint8Array(source), name: 'the given bytes' };
  if (typeof Blob !== 'undefined' && source instanceof Blob) {
    const name = (source as Blob & { name?: string }).name ?? 'the given Blob';
    return { bytes: new Uint8Array(await source.arrayBuffer()), name };
  }
  if (typeof source !== 'string')
    throw new TypeError(`${what}: the source must be a path, URL, Blob or bytes`);
  const [s, rest] = scheme(source);
  if (s === 'http' || s === 'https' || (s === '' && !isNode())) {
    let response: Response;
    try {
      response = await fetch(source);
    } catch (e) {
      throw new ModelIOError(`${what}: cannot fetch ${source}: ${(e as Error).message}`, source, {
        cause: e,
      });
    }
    if (!response.ok)
      throw new ModelIOError(
        `${what}: ${source} answered HTTP ${response.status} ${response.statusText}`,
        source,
      );
    return { bytes: new Uint8Array(await response.arrayBuffer()), name: source };
  }
  if (s !== '' && s !== 'file') throw new Error(`${what}: cannot read a Keras file from '${source}'`);
  const fs = hostFs(
    'reading a Keras file from a path needs Node; in a browser pass a URL, a File or the bytes',
  );
  const stat = await fs.stat(rest).catch((e: unknown) => {
    throw new ModelIOError(
      errorCode(e) === 'ENOENT'
        ? `${what}: ${rest} not found`
        : `${what}: cannot read ${rest}: ${fsCause(e)}`,
      source,
      { cause: e },
    );
  });
  if (!stat.isFile()) throw new ModelIOError(`${what}: ${rest} is not a regular file`, source);
  const bytes = await fs.readFile(rest).catch((e: unknown) => {
    throw new ModelIOError(`${what}: cannot read ${rest}: ${fsCause(e)}`, source, { cause: e });
  });
  return { bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), name: rest };
}
