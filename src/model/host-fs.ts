/**
 * The file system behind the parts of the model API that write files (file:// saves and
 * loads, CSVLogger): Node's fs/promises, registered by the Node entry (src/node/index.ts),
 * so that nothing outside src/node/ imports node:* and this module stays browser-safe. In a
 * browser none is registered, and those features say what to use instead.
 */
export interface HostFs {
  readFile(path: string): Promise<Uint8Array>;
  writeFile(path: string, data: string | Uint8Array): Promise<void>;
  appendFile(path: string, data: string): Promise<void>;
  mkdir(path: string, options: { recursive: boolean }): Promise<unknown>;
  stat(path: string): Promise<{ isDirectory(): boolean }>;
}

import { isNode } from '../util/runtime.js';

let registered: HostFs | undefined;

/** Called by the Node entry with node:fs/promises. */
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
