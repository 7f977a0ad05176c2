/**
 * node:fs/promises for the parts of the model API that write files (file:// saves,
 * CSVLogger), loaded lazily so the module stays browser-safe.
 */
export interface NodeFs {
  readFile(path: string): Promise<Uint8Array>;
  writeFile(path: string, data: string | Uint8Array): Promise<void>;
  appendFile(path: string, data: string): Promise<void>;
  mkdir(path: string, options: { recursive: boolean }): Promise<unknown>;
  stat(path: string): Promise<{ isDirectory(): boolean }>;
}

export function isNode(): boolean {
  return (
    typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === 'string'
  );
}

/** The fs module, or an error saying what `what` needs instead (outside Node). */
export async function nodeFs(orElse: string): Promise<NodeFs> {
  if (!isNode()) throw new Error(orElse);
  const spec = 'node:fs/promises';
  return (await import(/* @vite-ignore */ spec)) as NodeFs;
}
