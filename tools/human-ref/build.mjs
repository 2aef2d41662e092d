// build.mjs -- bundles blazeface-ref.mjs with human's TypeScript sources (HUMAN_SRC, the src/
// folder of the @vladmandic/human 3.3.6 package) and TF.js from tools/refgen/node_modules.
// human's imports of its TF.js bundle, model loader, env and logger are replaced by shim/*.js.
// Needs esbuild (npm install esbuild in any folder on NODE_PATH or here).
import { createRequire } from 'node:module';
import path from 'node:path';
const here = path.dirname(new URL(import.meta.url).pathname);
const esbuild = createRequire(import.meta.url)('esbuild'); // CommonJS resolution honours NODE_PATH
const H = process.env.HUMAN_SRC;
if (!H) throw new Error('set HUMAN_SRC to the src/ folder of @vladmandic/human 3.3.6');
const S = `${here}/shim`;
await esbuild.build({
  entryPoints: [`${here}/blazeface-ref.mjs`], bundle: true, platform: 'node', format: 'esm',
  outfile: process.argv[2] || `${here}/blazeface-ref.bundle.mjs`,
  nodePaths: [`${here}/../refgen/node_modules`], logLevel: 'warning', ignoreAnnotations: true,
  banner: { js: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);" },
  plugins: [{ name: 'shim', setup(b) {
    b.onResolve({ filter: /^HUMAN\// }, (a) => ({ path: `${H}/${a.path.slice(6)}.ts` }));
    b.onResolve({ filter: /^dist\/tfjs\.esm\.js$/ }, () => ({ path: `${S}/tfjs.js` }));
    b.onResolve({ filter: /tfjs\/load$/ }, () => ({ path: `${S}/load.js` }));
    b.onResolve({ filter: /util\/env$/ }, () => ({ path: `${S}/env.js` }));
    b.onResolve({ filter: /util\/util$/ }, () => ({ path: `${S}/util.js` }));
  } }],
});
