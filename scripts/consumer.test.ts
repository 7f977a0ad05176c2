/**
 * The package as a web developer gets it: the library is built into a temporary folder,
 * `npm pack`ed, and the tarball installed (no dev dependencies) into a new project outside
 * the repository, with the peers each entry documents (`webgpu` for Node, `lit` and
 * `chart.js` for the element entries: trainer, playground, lab, vanishing, tune, predict). Then, in that project:
 * - a Node script trains y = 3x − 0.5 and predicts (Dawn, via the Node entry);
 * - strict TypeScript consumers type-check with moduleResolution bundler and node16, with no
 *   skipLibCheck and no `types` of their own, under TypeScript 5.x (tsc) and 7.x (tsgo, the
 *   native port from @typescript/native-preview);
 * - a Vite app importing the library and both element entries is built, served and run in
 *   headless Chromium (kernels-test/browser/chromium.ts), where it trains the same line.
 *
 * The install runs `npm install --offline`, so it needs no network: the peers are given as
 * the repository's own node_modules/<name> folders (npm links them; same versions as a
 * registry install), because the npm cache that `npm ci` fills holds package tarballs but
 * not the registry metadata that `npm install <name>@<version>` reads, even offline.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer from 'puppeteer-core';
import { build, preview } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM_FLAGS, chromiumPath } from '../kernels-test/browser/chromium.js';

const repo = fileURLToPath(new URL('..', import.meta.url));
const fixtures = join(repo, 'test/consumer');
const bin = (name: string): string => join(repo, 'node_modules/.bin', name);

/**
 * The packed tarball's bound, against shipping the demo (12.9 MB) or other strays: the
 * library alone packed to 394 kB before the PyTorch-style front-end and 437 kB with it
 * (unminified ES modules with their comments, and declarations); with the demo's
 * <mlp-playground>, <mlp-lab>, <mlp-vanishing> and <mlp-tune> as element entries beside
 * <mlp-trainer>, 528 kB in 168 files; with <mlp-predict> too, 547 kB in 176.
 */
const MAX_PACKED_BYTES = 570_000;
const MAX_FILES = 185;
/** y = 3x − 0.5 at x = −0.5, 0, 0.5. */
const EXPECTED = [-2, -0.5, 1];
/** Adam at lr 0.1 over 150 full-batch steps converges onto the line; 0.05 is slack for f32. */
const ATOL = 0.05;

/** A peer as the repository installed it (a folder spec: npm links it, offline). */
const peer = (name: string): string => join(repo, 'node_modules', name);

/** Each prediction within ATOL of the line (a missing one is NaN and fails). */
function expectOnLine(predictions: readonly number[] | undefined): void {
  expect(predictions).toHaveLength(EXPECTED.length);
  EXPECTED.forEach((e, i) => expect(Math.abs((predictions?.[i] ?? NaN) - e)).toBeLessThanOrEqual(ATOL));
}

function run(cmd: string, args: string[], cwd: string): string {
  return execFileSync(cmd, args, {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 120_000,
  });
}

let work: string;
let project: string;
let tarball: { path: string; size: number; unpackedSize: number; entryCount: number; files: string[] };

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'webgpu-mlp-consumer-'));
  // The library build of `npm run build` (not the demo), into work/pkg/dist.
  const pkg = join(work, 'pkg');
  mkdirSync(pkg);
  cpSync(join(repo, 'package.json'), join(pkg, 'package.json'));
  cpSync(join(repo, 'README.md'), join(pkg, 'README.md'));
  const dist = join(pkg, 'dist');
  run(bin('vite'), ['build', '--logLevel', 'warn', '--outDir', dist, '--emptyOutDir'], repo);
  run(bin('tsc'), ['-p', 'tsconfig.build.json', '--outDir', join(dist, 'types')], repo);
  run(bin('tsx'), ['scripts/entry-types.ts', dist], repo);

  const packed = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', work], pkg)) as [
    { filename: string; size: number; unpackedSize: number; entryCount: number; files: { path: string }[] },
  ];
  const p = packed[0];
  tarball = { ...p, path: join(work, p.filename), files: p.files.map((f) => f.path) };

  project = join(work, 'app');
  cpSync(fixtures, project, { recursive: true });
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, type: 'module' }, null, 2),
  );
  run(
    'npm',
    [
      'install',
      '--offline',
      '--no-audit',
      '--no-fund',
      '--no-package-lock',
      '--omit=dev',
      tarball.path,
      // The tarball's dependencies and its optional peers, from the repository's
      // node_modules: offline, an empty cache that `npm ci` filled lacks the full registry
      // metadata `npm install <name>` asks for (ENOTCACHED on a fresh CI machine).
      peer('@webgpu/types'),
      peer('h5wasm'),
      peer('fflate'),
      peer('webgpu'),
      peer('lit'),
      peer('chart.js'),
    ],
    project,
  );
}, 300_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the packed package, installed into a new project', () => {
  it('holds the library only, under the size bound', () => {
    expect(tarball.size).toBeLessThan(MAX_PACKED_BYTES);
    expect(tarball.entryCount).toBeLessThan(MAX_FILES);
    const stray = tarball.files.filter(
      (f) =>
        !/^(package\.json|README\.md|LICENSE|dist\/[\w-]+\.(js|d\.ts)|dist\/types\/.+\.d\.ts)$/.test(f) ||
        /\.test\.d\.ts$/.test(f),
    );
    expect(stray).toEqual([]);
    // The demo's own modules never ship; the elements' public types may name a few.
    const demoTypes = tarball.files.filter((f) => f.startsWith('dist/types/demo/'));
    expect(
      demoTypes.filter(
        (f) =>
          !/\/(trainer[\w-]*|playground[\w-]*|lab|vanishing|deep-models|tune[\w-]*|predict|digit-canvas|weights-view|experiment|chart|models|model-diagram|state)\.d\.ts$/.test(
            f,
          ),
      ),
    ).toEqual([]);
  });

  it('installs no build-time tools: only the package, its dependencies and the peers asked for', () => {
    const names = readdirSync(join(project, 'node_modules'));
    for (const tool of ['wgsl-preprocessor', 'vite', 'typescript', 'vitest'])
      expect(names).not.toContain(tool);
    for (const dependency of ['@webgpu', 'h5wasm', 'fflate']) expect(names).toContain(dependency);
    expect(statSync(join(project, 'node_modules/webgpu-mlp/dist/index.js')).isFile()).toBe(true);
  });

  it('trains and predicts in Node through the Dawn entry', () => {
    const out = run(process.execPath, ['train.mjs'], project);
    const { predictions } = JSON.parse(out.trim().split('\n').at(-1) ?? '') as { predictions: number[] };
    expectOnLine(predictions);
  });

  it.each([
    ['tsc', 'bundler'],
    ['tsc', 'node16'],
    ['tsgo', 'bundler'],
    ['tsgo', 'node16'],
  ] as const)(
    'type-checks a strict consumer with %s, moduleResolution %s and no skipLibCheck',
    (compiler, resolution) => {
      // TypeScript 5.x (tsc) and 7.x (tsgo, the native port) print their errors on stdout and
      // exit non-zero; show them in the failure. A compiler that cannot start (e.g. tsgo
      // without its platform binary) fails with stdout empty: its stderr, then.
      const [cmd, ...args]: [string, ...string[]] =
        compiler === 'tsc'
          ? [process.execPath, join(repo, 'node_modules/typescript/bin/tsc')]
          : [bin('tsgo')];
      let errors = '';
      try {
        run(cmd, [...args, '-p', `tsconfig.${resolution}.json`], project);
      } catch (e) {
        const { stdout, stderr } = e as { stdout?: string | null; stderr?: string | null };
        errors = stdout || stderr || String(e);
      }
      expect(errors).toBe('');
    },
  );

  it("builds a Vite app with the library and the demo's element entries, which trains in Chromium", async () => {
    const root = join(project, 'app');
    // The app is one chunk holding the library, Lit and Chart.js: over Vite's 500 kB warning.
    await build({
      root,
      configFile: false,
      logLevel: 'warn',
      build: { outDir: join(root, 'dist'), chunkSizeWarningLimit: 2048 },
    });
    const server = await preview({
      root,
      configFile: false,
      logLevel: 'warn',
      build: { outDir: join(root, 'dist') },
      preview: { host: '127.0.0.1', port: 0 },
    });
    // The adapter as the other Chromium suites choose it (kernels-test/browser/chromium.ts).
    const adapter = process.env.WEBGPU_MLP_CHROME_ADAPTER ?? 'swiftshader';
    let browser: Awaited<ReturnType<typeof puppeteer.launch>> | undefined;
    try {
      browser = await puppeteer.launch({
        executablePath: chromiumPath(),
        headless: true,
        args: [...CHROMIUM_FLAGS, ...(adapter === 'default' ? [] : [`--use-webgpu-adapter=${adapter}`])],
      });
      const address = server.httpServer.address();
      if (!address || typeof address === 'string') throw new Error('vite preview did not report a port');
      const page = await browser.newPage();
      const pageErrors: string[] = [];
      page.on('pageerror', (e) => pageErrors.push(String(e)));
      await page.goto(`http://127.0.0.1:${address.port}/`, { waitUntil: 'load' });
      await page.waitForFunction(() => document.body.dataset.result !== undefined, { timeout: 90_000 });
      const result = JSON.parse(await page.evaluate(() => document.body.dataset.result ?? '{}')) as {
        predictions?: number[];
        trainerDefined?: boolean;
        elementsDefined?: string[];
        error?: string;
      };
      expect(pageErrors).toEqual([]);
      expect(result.error).toBeUndefined();
      expect(result.trainerDefined).toBe(true);
      expect(result.elementsDefined).toEqual([
        'mlp-playground',
        'mlp-lab',
        'mlp-vanishing',
        'mlp-tune',
        'mlp-predict',
      ]);
      expectOnLine(result.predictions);
    } finally {
      await browser?.close();
      await new Promise<void>((resolve, reject) =>
        server.httpServer.close((e) => (e ? reject(e) : resolve())),
      );
    }
  });
});
