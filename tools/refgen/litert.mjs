// LiteRT.js (@litertjs/core, TFLite compiled to WASM with XNNPACK) under Node.
// LiteRT.js is written for browsers/workers: it loads its emscripten glue with
// importScripts() and reads `self.ModuleFactory`. We provide what a worker would:
// self, importScripts (evaluating the file with vm.runInThisContext), plus the
// CommonJS globals the glue's Node branch expects (require, __dirname, __filename),
// and a fetch() that can read file:// URLs.
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);
const pkgDir = path.dirname(require.resolve('@litertjs/core/package.json'));
const wasmDir = path.join(pkgDir, 'wasm');
export const version = require('@litertjs/core/package.json').version;

let litert = null;
export const log = [];

export async function initLiteRt() {
  if (litert) return litert;
  globalThis.self ??= globalThis;
  globalThis.require ??= createRequire(path.join(wasmDir, 'x.js'));
  globalThis.__dirname ??= wasmDir;
  globalThis.__filename ??= path.join(wasmDir, 'litert_wasm_internal.js');
  globalThis.importScripts ??= (...urls) => {
    for (const u of urls) {
      const file = String(u).startsWith('file:') ? fileURLToPath(String(u)) : String(u);
      vm.runInThisContext(fs.readFileSync(file, 'utf8'), { filename: file });
    }
  };
  const realFetch = globalThis.fetch;
  if (!realFetch?.litertFileWrapper) {
    const wrapped = async (url, opts) => {
      const s = typeof url === 'string' ? url : (url?.href ?? url?.url ?? String(url));
      if (s.startsWith('file:')) return new Response(fs.readFileSync(fileURLToPath(s)));
      return realFetch(url, opts);
    };
    wrapped.litertFileWrapper = true;
    globalThis.fetch = wrapped;
  }
  const mod = await import('@litertjs/core');
  // The emscripten factory takes `self.Module` as its module argument: route the runtime's
  // INFO/WARNING chatter into `log` (printed with --verbose) instead of stderr.
  globalThis.Module = {
    print: (m) => log.push(String(m)),
    printErr: (m) => { log.push(String(m)); if (/^(ERROR|FATAL)/.test(String(m))) process.stderr.write(`litert: ${m}\n`); },
  };
  // loadLiteRt always tries to create a WebGPU device first; Node 20 has no navigator.gpu.
  const warn = console.warn;
  console.warn = (...a) => (String(a[0]).startsWith('Failed to create default WebGPU device') ? log.push(String(a[1])) : warn(...a));
  try {
    await mod.loadLiteRt(pathToFileURL(wasmDir + '/').href);
  } finally {
    console.warn = warn;
  }
  litert = mod;
  return mod;
}

// Compile a .tflite file for the wasm (XNNPACK CPU) accelerator.
export async function loadTflite(file) {
  const mod = await initLiteRt();
  const bytes = new Uint8Array(fs.readFileSync(file));
  const model = await mod.loadAndCompile(bytes, { accelerator: 'wasm' });
  return model;
}

// Run with one float32 input; returns [{ name, shape, data: Float32Array }].
export async function runTflite(model, data, shape) {
  const mod = await initLiteRt();
  const input = new mod.Tensor(data, shape);
  const outs = await model.run([input]);
  const details = model.getOutputDetails();
  const res = [];
  for (let i = 0; i < outs.length; i++) {
    const t = outs[i];
    const arr = await t.data();
    res.push({ name: details[i]?.name || `output_${i}`, shape: Array.from(t.type.layout.dimensions), data: new Float32Array(arr) });
    t.delete();
  }
  input.delete();
  return res;
}
