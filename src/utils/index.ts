/**
 * Keras's `keras.utils`: `to_categorical` (from data/), and the pictures: `plotModel` /
 * `modelToDot` (Graphviz, the optional package @viz-js/viz) and `plotHistory` (Vega-Lite
 * and Vega, the optional packages vega-lite and vega). The picture packages load on first
 * use, so an app that never plots never loads them; a bundled browser app that plots hands
 * them over with registerPlotPackages (peer.ts says why).
 */
export * from '../data/utils.js';
export { modelToDot, plotModel, plotModel as plot_model, modelToDot as model_to_dot } from './plot-model.js';
export type { ModelPlot, ModelToDotArgs, PlotModelArgs, Rankdir, Splines } from './plot-model.js';
export { plotHistory } from './plot-history.js';
export type { HistoryLike, HistoryPlot, PlotHistoryArgs } from './plot-history.js';
export { registerPlotPackages } from './peer.js';
export type { PlotPackageLoaders, PlotPackageName } from './peer.js';
