/**
 * The matmul autotuner's cache in Node (src/kernels/tune.ts): one JSON file, { device:
 * { product: tiling } }, in $WEBGPU_MLP_CACHE_DIR, else $XDG_CACHE_HOME/webgpu-mlp, else
 * ~/.cache/webgpu-mlp. Written to a temporary file and renamed over the old one, so a process
 * killed mid-write leaves the old file whole. The Node entry registers it.
 */
import * as fs from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { MatmulTuneStore } from '../kernels/tune.js';
import type { MatmulTiling } from '../kernels/matmul.js';

/** The cache file for the environment `env` (process.env by default). */
export function matmulTuneFile(env: Record<string, string | undefined> = process.env): string {
  const folder =
    env.WEBGPU_MLP_CACHE_DIR ||
    (env.XDG_CACHE_HOME ? join(env.XDG_CACHE_HOME, 'webgpu-mlp') : join(homedir(), '.cache', 'webgpu-mlp'));
  return join(folder, 'matmul-tuning.json');
}

async function readAll(file: string): Promise<Record<string, unknown>> {
  try {
    const parsed: unknown = JSON.parse(await fs.readFile(file, 'utf8'));
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {}; // none yet, or unreadable: tuning starts afresh
  }
}

/**
 * The store of `file`, or of matmulTuneFile() resolved at each load and save (so the
 * environment may change after import, and a home folder that cannot be found costs the
 * cache, not the import).
 */
export function nodeMatmulTuneStore(file?: string): MatmulTuneStore {
  const path = (): string | undefined => {
    try {
      return file ?? matmulTuneFile();
    } catch {
      return undefined;
    }
  };
  return {
    get where() {
      return path() ?? 'no cache folder';
    },
    async load(device) {
      const at = path();
      return at ? (await readAll(at))[device] : undefined;
    },
    async save(device, choices: Record<string, MatmulTiling>) {
      const at = path();
      if (!at) return;
      const all = await readAll(at);
      all[device] = choices;
      const part = `${at}.${process.pid}.${Math.random().toString(36).slice(2)}.part`;
      try {
        await fs.mkdir(dirname(at), { recursive: true });
        await fs.writeFile(part, JSON.stringify(all, null, 1), { flag: 'wx' });
        await fs.rename(part, at);
      } catch {
        // A cache that cannot be written costs a re-tune next time, nothing more. Two
        // writers at once: the last rename wins, the other's choices are tuned again.
        await fs.unlink(part).catch(() => undefined);
      }
    },
  };
}
