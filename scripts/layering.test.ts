/**
 * The layering lint rules (eslint.config.js: LAYERS, layerRules, entryRules) fire on a
 * deliberate bad import in every folder and pass the imports each folder may make. The
 * probes are linted as text at a path inside the folder, with only these rules on (no type
 * information needed), so nothing is written to the tree.
 */
import { ESLint, type Linter } from 'eslint';
import tseslint from 'typescript-eslint';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: eslint.config.js is plain JavaScript (no declarations); its exports are typed below.
import * as config from '../eslint.config.js';

const { entryRules, LAYERS, layerRules } = config as {
  entryRules: Linter.Config[];
  layerRules: Linter.Config[];
  LAYERS: Record<string, string[]>;
};

const eslint = new ESLint({
  cwd: process.cwd(),
  overrideConfigFile: true,
  overrideConfig: [{ languageOptions: { parser: tseslint.parser } }, ...layerRules, ...entryRules],
});

/** The no-restricted-imports messages for `source` imported from a file at `path`. */
async function violations(path: string, source: string): Promise<string[]> {
  const [result] = await eslint.lintText(`import { x } from '${source}';\nexport { x };\n`, {
    filePath: path,
  });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

const FOLDERS = [
  'util',
  'gpu',
  'kernels',
  'graph',
  'tensor',
  'data',
  'nn',
  'keras',
  'model',
  'tune',
  'sklearn',
  'utils',
  'torch',
  'node',
];

describe('layering lint rules', () => {
  it('each src/ folder may import the folders below it and not those above (sources, not tests)', async () => {
    for (const [folder, forbidden] of Object.entries(LAYERS)) {
      const name = folder.slice('src/'.length);
      for (const other of FOLDERS.filter((f) => f !== name)) {
        const found = await violations(`${folder}/probe.ts`, `../${other}/mod.js`);
        expect(found.length, `${folder} importing ${other}`).toBe(forbidden.includes(other) ? 1 : 0);
        if (forbidden.includes(other)) expect(found[0]).toMatch(new RegExp(`${folder}/ sits below`));
      }
      // Deeper files (graph/ops) and tests: the rule follows the folder; tests may import anything.
      const deep = await violations(`${folder}/sub/probe.ts`, `../../node/index.js`);
      expect(deep, `${folder}/sub importing node`).toHaveLength(1);
      expect(await violations(`${folder}/probe.test.ts`, '../node/index.js'), `${folder} test`).toEqual([]);
    }
  });

  it('the folders named in the issue refuse what it names', async () => {
    expect(await violations('src/kernels/probe.ts', '../graph/ir.js')).toHaveLength(1);
    expect(await violations('src/kernels/probe.ts', '../model/model.js')).toHaveLength(1);
    expect(await violations('src/graph/ops/probe.ts', '../../nn/names.js')).toHaveLength(1);
    expect(await violations('src/graph/probe.ts', '../model/model.js')).toHaveLength(1);
    expect(await violations('src/gpu/probe.ts', '../kernels/matmul.js')).toHaveLength(1);
    expect(await violations('src/gpu/probe.ts', '../../shaders/common.js')).toHaveLength(1);
    expect(await violations('src/graph/probe.ts', '../kernels/matmul.js')).toEqual([]);
    // A folder may name itself on the way to its own files (graph/ops → ../../graph/ir.js).
    expect(await violations('src/graph/ops/probe.ts', '../../graph/ir.js')).toEqual([]);
    expect(await violations('src/nn/layers/probe.ts', '../../nn/names.js')).toEqual([]);
  });

  it('only src/node/ imports node:*; the browser entry never imports src/node/', async () => {
    for (const folder of Object.keys(LAYERS)) {
      const found = await violations(`${folder}/probe.ts`, 'node:fs/promises');
      expect(found, folder).toHaveLength(1);
      expect(found[0]).toMatch(/browser-safe: only src\/node\/ imports node:\*/);
    }
    expect(await violations('src/node/probe.ts', 'node:fs/promises')).toEqual([]);
    const entry = await violations('src/index.ts', './node/index.js');
    expect(entry).toHaveLength(1);
    expect(entry[0]).toMatch(/'\.\/node\/index\.js'.*the browser entry never imports src\/node\//);
    expect(await violations('src/index.ts', './model/model.js')).toEqual([]);
  });

  it('shaders/ imports only shaders/', async () => {
    for (const source of ['../src/gpu/engine.js', 'node:path']) {
      const found = await violations('shaders/probe.ts', source);
      expect(found, source).toHaveLength(1);
      expect(found[0]).toMatch(/shaders\/ imports only shaders\//);
    }
    expect(await violations('shaders/probe.ts', './common.js')).toEqual([]);
  });
});
