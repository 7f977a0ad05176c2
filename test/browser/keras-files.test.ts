/**
 * Keras's files in a browser (headless Chromium, SwiftShader): loadModel from a URL, a Blob
 * and a File, with h5wasm and fflate loaded by the page on first use, give the fixture's exact
 * weights (test/fixtures/keras/expected.json, written from Keras's layout by h5py); the bytes a
 * browser save would download (a .keras file) load back alike.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPage, type ChromiumSession } from '../../kernels-test/browser/chromium.js';

type Lib = typeof import('../../src/index.js');
type Expected = Record<string, { weights: Record<string, { values: number[] }> }>;
const expected = JSON.parse(
  readFileSync(join(import.meta.dirname, '../fixtures/keras/expected.json'), 'utf8'),
) as Expected;

let session: ChromiumSession | undefined;
beforeAll(async () => {
  session = await openPage(
    '/kernels-test/browser/index.html',
    (line) => {
      if (/error|fail/i.test(line)) console.log(line);
    },
    { optimizeDeps: ['h5wasm', 'fflate'] },
  );
});
afterAll(async () => {
  await session?.close();
});

/** In the page: load each source and give every weight by name, and a .keras written there. */
async function inPage(): Promise<{
  loads: Record<string, Record<string, number[]>>;
  again: Record<string, number[]>;
}> {
  if (!session) throw new Error('no page');
  return session.page.evaluate(async () => {
    // The page's own import(): an import() written in this file would be rewritten for Node.
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- a fixed string, in the test page
    const pageImport = new Function('p', 'return import(p)') as (p: string) => Promise<unknown>;
    const lib = (await pageImport('/src/index.ts')) as Lib;
    await lib.initEngine({ log: false });
    const weights = async (m: Awaited<ReturnType<Lib['loadModel']>>): Promise<Record<string, number[]>> =>
      Object.fromEntries((await m.getWeights()).map((w) => [w.name, Array.from(w.data)]));
    const url = '/test/fixtures/keras/seq_k3.keras';
    const blob = await (await fetch('/test/fixtures/keras/seq_k3.h5')).blob();
    const file = new File(
      [await (await fetch('/test/fixtures/keras/seq_tf2.h5')).arrayBuffer()],
      'seq_tf2.h5',
    );
    const loads: Record<string, Record<string, number[]>> = {};
    loads['url .keras'] = await weights(await lib.loadModel(url));
    loads['Blob .h5'] = await weights(await lib.loadModel(blob));
    loads['File tf.keras .h5'] = await weights(await lib.loadModel(file));
    // Saving in a browser downloads the file: catch the download's Blob instead.
    const m = await lib.loadModel(url);
    let saved: Blob | undefined;
    const create = URL.createObjectURL.bind(URL);
    URL.createObjectURL = (b: Blob | MediaSource): string => {
      saved = b as Blob;
      return create(b);
    };
    HTMLAnchorElement.prototype.click = (): void => undefined;
    await m.save('downloads://again.keras');
    if (!saved) throw new Error('no download');
    const again = await weights(await lib.loadModel(saved));
    return { loads, again };
  });
}

describe('Keras files in Chromium', () => {
  it('a URL, a Blob and a File load to the exact weights; a downloaded .keras loads back', async () => {
    const { loads, again } = await inPage();
    const want = (f: string): Record<string, number[]> =>
      Object.fromEntries(Object.entries(expected[f]?.weights ?? {}).map(([k, v]) => [k, v.values]));
    expect(loads['url .keras']).toEqual(want('seq_k3.keras'));
    expect(loads['Blob .h5']).toEqual(want('seq_k3.h5'));
    expect(loads['File tf.keras .h5']).toEqual(want('seq_tf2.h5'));
    expect(again).toEqual(want('seq_k3.keras'));
  });
});
