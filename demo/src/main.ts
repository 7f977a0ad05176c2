/** The demo page's entry: everything is in <mlp-demo> (app.ts). */
import './app.js';
