/**
 * The file system behind the parts of the model API that write files (file:// saves and
 * loads, CSVLogger): Node's fs/promises, registered by the Node entry (src/node/index.ts),
 * so that nothing outside src/node/ imports node:* and this module stays browser-safe. In a
 * browser none is registered, and those features say what to use instead.
 *
 * Also the few path helpers file:// saving needs: a `mkdir -p` that always ends, and the
 * reason for a failed call in words.
 */
export interface HostStat {
  isDirectory(): boolean;
  isFile(): boolean;
}

export interface HostFs {
  readFile(path: string): Promise<Uint8Array>;
  /** `flag: 'wx'` fails if the file exists (a fresh temporary file, never a FIFO or a link). */
  writeFile(path: string, data: string | Uint8Array, options?: { flag?: string }): Promise<void>;
  appendFile(path: string, data: string): Promise<void>;
  mkdir(path: string, options: { recursive: boolean }): Promise<unknown>;
  stat(path: string): Promise<HostStat>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  rmdir(path: string): Promise<void>;
}

import { isNode } from '../util/runtime.js';

let registered: HostFs | undefined;

/** Called by the Node entry with node:fs/promises (tests may register a failing wrapper). */
export function registerFileSystem(fs: HostFs): void {
  registered = fs;
}

/** The registered file system, or an error saying what `orElse` needs instead. */
export function hostFs(orElse: string): HostFs {
  if (registered) return registered;
  throw new Error(
    isNode()
      ? `${orElse} (in Node, import 'webgpu-mlp' or 'webgpu-mlp/node', whose entry provides files)`
      : orElse,
  );
}

/** Node's error code of a failed fs call ('ENOENT', ...), if any. */
export function errorCode(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

const CAUSES: Readonly<Record<string, string>> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'the file system is read-only',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'the disk quota is exceeded',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EISDIR: 'a folder is in the way',
  ENOENT: 'a folder on the path does not exist and cannot be created there',
  ENAMETOOLONG: 'the path is too long',
  EIO: 'an I/O error',
};

/** Why an fs call failed, in words, then Node's own message: "permission denied (EACCES: …)". */
export function fsCause(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  const words = CAUSES[errorCode(e) ?? ''];
  return words ? `${words} (${message})` : message;
}

/** Windows accepts both separators; elsewhere a backslash is part of a name. */
function isWindows(): boolean {
  return (globalThis as { process?: { platform?: string } }).process?.platform === 'win32';
}

/**
 * On a host without drive letters, a path like 'Z:/model' is a relative folder named 'Z:':
 * almost surely a Windows path given by mistake. Gives the reason to refuse it, or undefined.
 */
export function foreignDrive(path: string): string | undefined {
  if (isWindows() || !/^[A-Za-z]:([\\/]|$)/.test(path)) return undefined;
  const platform = (globalThis as { process?: { platform?: string } }).process?.platform ?? 'this host';
  return `"${path.slice(0, 2)}" is a Windows drive, and this host (${platform}) has no drive letters`;
}

/** `dir` joined with one file name (no separator doubled at the root). */
export function joinPath(dir: string, name: string): string {
  return /[\\/]$/.test(dir) ? `${dir}${name}` : `${dir}/${name}`;
}

/** The folder above `path`, or undefined at a root ('/', 'C:', or a relative path's first part). */
function parentOf(path: string): string | undefined {
  const sep = isWindows() ? /[\\/]+[^\\/]*$/ : /\/+[^/]*$/;
  const m = sep.exec(path);
  if (!m) return undefined; // 'name': its parent is the working directory, which exists
  const parent = path.slice(0, m.index);
  if (parent === '') return path.startsWith('/') && path !== '/' ? '/' : undefined;
  return parent === path ? undefined : parent;
}

/**
 * `mkdir -p path`: creates the missing folders, top down, one non-recursive mkdir each, and
 * gives those it created (to remove them if the save fails). Node's own recursive mkdir
 * spins forever where mkdir answers ENOENT under a folder that exists (procfs, a broken
 * symlink, a missing Windows drive: nodejs/node#27198 and kin); this walk makes at most one
 * mkdir per path component, so it always ends. Throws an Error naming the folder and cause.
 */
export async function makeDirs(fs: HostFs, path: string): Promise<string[]> {
  const missing: string[] = [];
  for (let p: string | undefined = path; p !== undefined; p = parentOf(p)) {
    // ENOTDIR: a file above p; the walk goes on up to it, and names it.
    const s = await fs.stat(p).catch((e: unknown) => {
      if (errorCode(e) === 'ENOENT' || errorCode(e) === 'ENOTDIR') return undefined;
      throw new Error(`cannot reach "${p}": ${fsCause(e)}`, { cause: e });
    });
    if (s) {
      if (!s.isDirectory()) throw new Error(`"${p}" is a file, not a folder`);
      break;
    }
    missing.push(p);
  }
  const created: string[] = [];
  for (const d of missing.reverse()) {
    try {
      await fs.mkdir(d, { recursive: false });
      created.push(d);
    } catch (e) {
      await removeDirs(fs, created);
      // EEXIST for a path that stat found missing: a broken symbolic link.
      const why = errorCode(e) === 'EEXIST' ? 'a broken link or other non-folder is in the way' : fsCause(e);
      throw new Error(`cannot create the folder "${d}": ${why}`, { cause: e });
    }
  }
  return created;
}

/** Removes folders `makeDirs` created (deepest first); gives those it could not remove. */
export async function removeDirs(fs: HostFs, created: readonly string[]): Promise<string[]> {
  const left: string[] = [];
  for (const d of [...created].reverse()) await fs.rmdir(d).catch(() => left.push(d));
  return left;
}

/** stat, or undefined where nothing is at `path` (any other failure is thrown). */
export async function statOrUndefined(fs: HostFs, path: string): Promise<HostStat | undefined> {
  try {
    return await fs.stat(path);
  } catch (e) {
    if (errorCode(e) === 'ENOENT') return undefined;
    throw e;
  }
}
