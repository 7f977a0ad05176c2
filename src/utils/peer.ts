/**
 * The optional packages behind the pictures (Graphviz in WebAssembly, Vega-Lite, Vega),
 * loaded on first use: an app that never plots never loads them, and a package that is not
 * installed is an Error naming it and the npm command, as Keras's plot_model says "You must
 * install pydot".
 *
 * The import specifiers are not literals, on purpose: a bundler (Vite, webpack) resolves
 * every literal import() at build time and fails the whole app's build when the package is
 * missing, which would make these optional packages required for every app using the
 * library. Node resolves them at run time from the library's location. A bundled browser
 * app that plots hands them over with registerPlotPackages (its own literal import(), so its
 * bundler includes them then, in a lazy chunk).
 *
 * The types below are the few members used, written out, so that the library's declarations
 * need none of these packages.
 */
import { isNode } from '../util/runtime.js';

/** What plotModel uses of @viz-js/viz. */
export interface VizModule {
  instance(): Promise<{
    render(
      dot: string,
      options: { format: 'svg' },
    ): { status: string; output?: string; errors: { level?: string; message: string }[] };
  }>;
}

/** What plotHistory uses of vega-lite. */
export interface VegaLiteModule {
  // vega-lite's compile(spec: TopLevelSpec): its parameter is narrower than object.
  compile(spec: never): { spec: object };
}

/** What plotHistory uses of vega. */
export interface VegaModule {
  // parse(spec: Spec, ...): a narrower parameter than object.
  parse(spec: never): unknown;
  View: new (
    runtime: never,
    options: { renderer: 'none' },
  ) => { toSVG(): Promise<string>; finalize(): unknown };
}

export interface PlotPackages {
  '@viz-js/viz': VizModule;
  vega: VegaModule;
  'vega-lite': VegaLiteModule;
}

export type PlotPackageName = keyof PlotPackages;

/** The loaders a browser app hands over: `{ '@viz-js/viz': () => import('@viz-js/viz') }`. */
export type PlotPackageLoaders = { [K in PlotPackageName]?: () => Promise<PlotPackages[K]> };

/** What each package adds, for the error message. */
const PURPOSE: Readonly<Record<PlotPackageName, string>> = {
  '@viz-js/viz': 'Graphviz compiled to WebAssembly, which lays out the model diagram',
  vega: 'the Vega renderer, which draws the charts to SVG without a browser',
  'vega-lite': 'the Vega-Lite compiler, which turns the chart description into Vega',
};

/** The package, imported at run time by its name (see the header: not a literal on purpose). */
function importByName<K extends PlotPackageName>(name: K): Promise<PlotPackages[K]> {
  const specifier: string = name;
  return import(/* @vite-ignore */ /* webpackIgnore: true */ specifier) as Promise<PlotPackages[K]>;
}

const registered: PlotPackageLoaders = {};

/**
 * Hands the plotting packages to the library, for a bundled browser app (Node needs none of
 * this: it finds them installed). Each is a loader, so the app's bundler puts the package in
 * a chunk loaded only when a picture is drawn:
 *
 *   utils.registerPlotPackages({
 *     '@viz-js/viz': () => import('@viz-js/viz'), // plotModel
 *     'vega-lite': () => import('vega-lite'), // plotHistory
 *     vega: () => import('vega'), // plotHistory
 *   });
 *
 * A loader given as undefined goes back to the import by name (tests use this).
 */
export function registerPlotPackages(loaders: PlotPackageLoaders): void {
  for (const [name, loader] of Object.entries(loaders) as [PlotPackageName, unknown][]) {
    if (!(name in PURPOSE))
      throw new TypeError(
        `registerPlotPackages: unknown package '${name}'; the plotting packages are ${Object.keys(PURPOSE).join(', ')}`,
      );
    if (loader !== undefined && typeof loader !== 'function')
      throw new TypeError(`registerPlotPackages: '${name}' must be a loader such as () => import('${name}')`);
    if (loader === undefined) Reflect.deleteProperty(registered, name);
    else (registered as Record<string, unknown>)[name] = loader;
  }
}

/** The package `name`, or an Error saying `what` needs it and how to install (and register) it. */
export async function loadPeer<K extends PlotPackageName>(what: string, name: K): Promise<PlotPackages[K]> {
  const loader = registered[name];
  try {
    return await (loader ? loader() : importByName(name));
  } catch (e) {
    const cause = e instanceof Error ? e.message : String(e);
    throw new Error(
      `${what}: you must install the optional package ${name} (${PURPOSE[name]}) for ${what} to work: ` +
        `npm install ${name}` +
        (isNode() || loader
          ? ''
          : `; in a bundled browser app, also hand it over: ` +
            `utils.registerPlotPackages({ '${name}': () => import('${name}') })`) +
        `. Loading it failed: ${cause}`,
      { cause: e },
    );
  }
}
