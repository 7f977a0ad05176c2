/** The demo page's entry: everything is in <mlp-demo> (app.ts). */
import { registerPlotPackages } from '../../src/utils/index.js';
import './app.js';

// The Train tab's model diagram (model-diagram.ts): Graphviz in WebAssembly, in a chunk of
// its own that loads when the diagram is first opened. The library imports it by name
// only, so that apps that never plot need not install it (src/utils/peer.ts).
registerPlotPackages({ '@viz-js/viz': () => import('@viz-js/viz') });
