// Bundles the designer's modeller pages into the web package's static files (web/static/modeller/), minified,
// with the bpmn-js and dmn-js fonts as files: the pages' Content-Security-Policy allows scripts, styles and
// fonts from Tsunagu's own address only (no inline code, no data: fonts).
//   modeller.js / .css   the BPMN modeller (bpmn-js)
//   decisions.js / .css  the decision table editor (dmn-js)
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));

await build({
  entryPoints: {
    modeller: path.join(here, 'src', 'modeller.js'),
    decisions: path.join(here, 'src', 'decisions.js'),
  },
  outdir: path.join(here, '..', 'web', 'static', 'modeller'),
  bundle: true,
  minify: true,
  format: 'iife',
  target: ['es2020'],
  legalComments: 'linked',
  loader: { '.woff': 'file', '.woff2': 'file', '.ttf': 'file', '.eot': 'file', '.svg': 'file' },
  assetNames: '[name]',
  logLevel: 'warning',
});
