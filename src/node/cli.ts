/** Command-line helpers shared by the Node entry points (npm start, benchmarks). */
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { AdapterChoice } from '../gpu/init.js';

/** `--software` / `--hardware` pick that kind of adapter; otherwise 'auto'. */
export function adapterFromArgs(args: readonly string[]): AdapterChoice {
  if (args.includes('--software')) return 'software';
  if (args.includes('--hardware')) return 'hardware';
  return 'auto';
}

/**
 * True when the module with this import.meta.url is the program (`tsx demo/node/x.ts`),
 * false when a test imports it.
 */
export function isMainModule(moduleUrl: string): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    return moduleUrl === pathToFileURL(realpathSync(entry)).href;
  } catch {
    return false;
  }
}
