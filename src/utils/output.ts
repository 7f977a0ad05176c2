/**
 * Where a picture goes: the file named by `toFile` (in Node, through the file system the Node
 * entry registers; see model/host-fs.ts), and, in a browser, an SVG element parsed from the
 * SVG text.
 */
import { fsCause, hostFs, type HostFs } from '../model/host-fs.js';

/** The picture formats a `toFile` extension can ask for. */
export type PictureFormat = 'svg' | 'dot' | 'png';

/** 'model.SVG' → 'svg'; no extension → `fallback` (Keras writes PNG then); '' for a trailing dot. */
function extensionOf(path: string, fallback: string): string {
  const base = path.slice(Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\')) + 1);
  const dot = base.lastIndexOf('.');
  return dot <= 0 ? fallback : base.slice(dot + 1).toLowerCase();
}

/**
 * The format of `toFile` among `formats` (Graphviz's .gv is .dot). An extension outside
 * them, or PNG (no rasterizer runs here: Graphviz in WebAssembly and Vega without
 * node-canvas draw SVG only), is a RangeError that says what to write instead.
 */
export function fileFormat(what: string, toFile: unknown, formats: readonly PictureFormat[]): PictureFormat {
  if (typeof toFile !== 'string' || toFile === '')
    throw new TypeError(
      `${what}: toFile must be a file name such as "model.svg", got ${JSON.stringify(toFile)}`,
    );
  const given = extensionOf(toFile, 'png');
  const ext = given === 'gv' ? 'dot' : given;
  const stem = toFile.replace(/\.[^./\\]*$/, '');
  if (ext === 'png') {
    throw new RangeError(
      `${what}: cannot write "${toFile}": PNG needs a rasterizer, and none is available here ` +
        '(Graphviz in WebAssembly and headless Vega draw SVG only). Write "' +
        `${stem}.svg" instead (an SVG opens in any browser; a tool such as rsvg-convert or ` +
        'Inkscape turns it into a PNG)',
    );
  }
  if (!(formats as readonly string[]).includes(ext)) {
    throw new RangeError(
      `${what}: cannot write "${toFile}": unsupported extension ".${given}"; ` +
        `use ${formats
          .filter((f) => f !== 'png')
          .map((f) => `.${f}`)
          .join(' or ')} (e.g. "${stem}.svg")`,
    );
  }
  return ext as PictureFormat;
}

/** The registered file system (Node), or an Error saying what to use in a browser. */
export function pictureFs(what: string): HostFs {
  return hostFs(
    `${what}: toFile needs a file system, and there is none here; in a browser, use the ` +
      'returned svg text or element instead',
  );
}

/** Writes `text` to `path`; errors name the file and the cause. */
export async function writePicture(fs: HostFs, what: string, path: string, text: string): Promise<void> {
  try {
    await fs.writeFile(path, text);
  } catch (e) {
    throw new Error(`${what}: cannot write "${path}": ${fsCause(e)}`, { cause: e });
  }
}

/** The SVG text as an element, where a DOMParser exists (a browser); undefined elsewhere. */
export function svgElement(what: string, svg: string): SVGSVGElement | undefined {
  if (typeof DOMParser === 'undefined') return undefined;
  const doc = new DOMParser().parseFromString(svg, 'image/svg+xml');
  const root = doc.documentElement;
  if (root.nodeName !== 'svg' || doc.getElementsByTagName('parsererror').length > 0)
    throw new Error(`${what}: internal: the rendered SVG does not parse (${root.textContent.slice(0, 200)})`);
  return root as unknown as SVGSVGElement;
}
