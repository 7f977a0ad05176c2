/** Command-line helpers shared by the Node entry points (npm start, benchmarks). */
import type { AdapterChoice } from '../gpu/init.js';

/** `--software` / `--hardware` pick that kind of adapter; otherwise 'auto'. */
export function adapterFromArgs(args: readonly string[]): AdapterChoice {
  if (args.includes('--software')) return 'software';
  if (args.includes('--hardware')) return 'hardware';
  return 'auto';
}
