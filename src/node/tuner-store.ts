/**
 * The tuners' project store in Node (src/tune/store.ts): the files of
 * `<directory>/<projectName>`, each written to a temporary file and renamed over the old one,
 * so a process killed mid-write leaves the old file whole. The Node entry registers it:
 * registerTunerStoreHost(nodeTunerStoreHost).
 */
import * as fs from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { errorCode, fsCause } from '../model/host-fs.js';
import type { TunerStore, TunerStoreHost } from '../tune/store.js';

/** The files a tuner project holds (store.ts's names, and a write's temporary). */
const PROJECT_FILE = /^(oracle\.json|trial_\d+\.json|weights_\d+\.bin)(\.\d+\.[a-z0-9]+\.part)?$/;

function folderStore(folder: string): TunerStore {
  return {
    where: folder,
    async read(name) {
      const path = join(folder, name);
      try {
        return new Uint8Array(await fs.readFile(path));
      } catch (e) {
        if (errorCode(e) === 'ENOENT') return undefined;
        throw new Error(`cannot read ${path}: ${fsCause(e)}`, { cause: e });
      }
    },
    async write(name, bytes) {
      const path = join(folder, name);
      const part = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.part`;
      try {
        await fs.mkdir(folder, { recursive: true });
        await fs.writeFile(part, bytes, { flag: 'wx' });
        await fs.rename(part, path);
      } catch (e) {
        await fs.unlink(part).catch(() => undefined);
        throw new Error(`cannot write ${path}: ${fsCause(e)}`, { cause: e });
      }
    },
    async remove(name) {
      await fs.unlink(join(folder, name)).catch((e: unknown) => {
        if (errorCode(e) !== 'ENOENT') throw e;
      });
    },
    async clear() {
      // Only the files a project holds: a folder named by mistake keeps everything else.
      let names: string[];
      try {
        names = await fs.readdir(folder);
      } catch (e) {
        if (errorCode(e) === 'ENOENT') return;
        throw new Error(`cannot read ${folder}: ${fsCause(e)}`, { cause: e });
      }
      for (const name of names.filter((n) => PROJECT_FILE.test(n))) await fs.unlink(join(folder, name));
      await fs.rmdir(folder).catch((e: unknown) => {
        if (errorCode(e) !== 'ENOTEMPTY' && errorCode(e) !== 'EEXIST') throw e;
      });
    },
  };
}

export const nodeTunerStoreHost: TunerStoreHost = {
  open(directory, projectName) {
    return Promise.resolve(folderStore(resolve(directory, projectName)));
  },
};
