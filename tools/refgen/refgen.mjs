#!/usr/bin/env node
// refgen: writes reference vectors (inputs + outputs computed by each model's OWN runtime)
// for faceline's C test-suite.
//
//   node tools/refgen/refgen.mjs [--models models] [--out build/ref] [--only NAME[,NAME]]
//                                [--check] [--png] [--verbose]
//
// For every model NAME and case CASE it writes build/ref/NAME/CASE/{in_0.f32, out_K.f32,
// meta.json}; see README.md for the format. --check prints a one-line summary per case (and
// plausibility checks) from what is on disk, generating first if nothing is there.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { register, createRequire } from 'node:module';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { readJpeg, writePng, mulberry32 } from './image.mjs';

const require = createRequire(import.meta.url);

// face-api's nobundle build imports the full @tensorflow/tfjs bundle (and the webgl/wasm
// backends) by bare specifier; redirect them to our single tfjs-core instance before it loads.
register('./faceapi-hooks.mjs', import.meta.url);
const { tf, initTf, loadGraphModelFromDisk, loadWeightMapFromDisk, runtimeString, versions } = await import('./tfjs.mjs');

// ---------------------------------------------------------------- arguments
const argv = process.argv.slice(2);
const opts = { models: 'models', out: 'build/ref', only: null, check: false, png: false, verbose: false, jobs: Math.min(2, os.availableParallelism?.() ?? os.cpus().length) };
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  const val = () => { if (i + 1 >= argv.length) throw new Error(`${a} needs a value`); return argv[++i]; };
  if (a === '--models') opts.models = val();
  else if (a === '--out') opts.out = val();
  else if (a === '--only') opts.only = [...(opts.only || []), ...val().split(',').filter(Boolean)];
  else if (a === '--check') opts.check = true;
  else if (a === '--png') opts.png = true;
  else if (a === '--verbose' || a === '-v') opts.verbose = true;
  else if (a === '--jobs' || a === '-j') opts.jobs = Math.max(1, parseInt(val(), 10) || 1);
  else if (a === '--help' || a === '-h') {
    console.log('usage: node refgen.mjs [--models DIR] [--out DIR] [--only NAME[,NAME]] [--check] [--png] [--verbose] [--jobs N]');
    process.exit(0);
  } else throw new Error(`unknown argument ${a}`);
}
if (os.endianness() !== 'LE') throw new Error('refgen writes the host byte order; it must run on a little-endian machine');

const MODELS = {
  blazeface: { file: 'human/blazeface.json', seed: 0x1001 },
  facemesh: { file: 'human/facemesh.json', seed: 0x1002 },
  faceres: { file: 'human/faceres.json', seed: 0x1003 },
  emotion: { file: 'human/emotion.json', seed: 0x1004 },
  'movenet-lightning': { file: 'human/movenet-lightning.json', seed: 0x1005 },
  centernet: { file: 'human/centernet.json', seed: 0x1006 },
  faceexpression: { file: 'faceapi/face_expression_model-weights_manifest.json', seed: 0x1007 },
  mobilefacenet: { file: 'expo/MobileFaceNet.tflite', seed: 0x1008 },
};
if (opts.only) for (const n of opts.only) if (!MODELS[n]) throw new Error(`unknown model ${n}; known: ${Object.keys(MODELS).join(', ')}`);
const selected = Object.keys(MODELS).filter((n) => !opts.only || opts.only.includes(n));

// The photos: faces are cropped from FACE_SAMPLE (four frontal, well-lit faces); the
// blazeface full-frame case uses FRAME_SAMPLE (3:2, closest to a 16:9 video frame).
const FACE_SAMPLE = 'samples/sample6.jpg';
const FRAME_SAMPLE = 'samples/sample1.jpg';
const FRAME_H = 576;
const FRAME_W = 1024;

const t00 = Date.now();
const log = (...a) => console.log(...a);
const vlog = (...a) => { if (opts.verbose) console.log(...a); };

// ---------------------------------------------------------------- output writing
function writeCase(name, caseName, { file, runtime, inputs, outputs, notes }) {
  const dir = path.join(opts.out, name, caseName);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const meta = { model: name, file: path.posix.join('models', file), runtime, case: caseName, inputs: [], outputs: [] };
  const dump = (fname, data) => {
    const f32 = data instanceof Float32Array ? data : Float32Array.from(data);
    fs.writeFileSync(path.join(dir, fname), Buffer.from(f32.buffer, f32.byteOffset, f32.byteLength));
  };
  inputs.forEach((t, k) => {
    const f = `in_${k}.f32`;
    if (t.data.length !== t.shape.reduce((a, b) => a * b, 1)) throw new Error(`${name}/${caseName}: input ${k} size mismatch`);
    dump(f, t.data);
    meta.inputs.push({ name: t.name, shape: t.shape, dtype: t.dtype, file: f });
  });
  outputs.forEach((t, k) => {
    const f = `out_${k}.f32`;
    if (t.data.length !== t.shape.reduce((a, b) => a * b, 1)) throw new Error(`${name}/${caseName}: output ${t.name} size mismatch`);
    dump(f, t.data);
    meta.outputs.push({ name: t.name, shape: t.shape, file: f });
  });
  if (notes) meta.notes = notes;
  const text = JSON.stringify(meta, null, 2).replace(/\[\s+(-?\d+(?:,\s+-?\d+)*)\s+\]/g, (m, inner) => `[${inner.split(/,\s+/).join(', ')}]`);
  fs.writeFileSync(path.join(dir, 'meta.json'), `${text}\n`);
  vlog(`  wrote ${dir}`);
}

// ---------------------------------------------------------------- inputs
function randomTensor(seed, shape, lo, hi, { integer = false, dtype = 'float32' } = {}) {
  const rnd = mulberry32(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const data = dtype === 'int32' ? new Int32Array(n) : new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = integer ? lo + Math.floor(rnd() * (hi - lo + 1)) : lo + (hi - lo) * rnd();
  return tf.tensor(data, shape, dtype);
}

const photos = new Map();
function photo(rel) {
  if (!photos.has(rel)) {
    const img = readJpeg(path.join(opts.models, rel));
    photos.set(rel, { ...img, rel, tensor: tf.tensor3d(Float32Array.from(img.rgb), [img.height, img.width, 3], 'float32') });
  }
  return photos.get(rel);
}

// Integer pixel box [x0, y0, x0+w, y0+h) of the photo, zero-padded where it leaves the image,
// resized with tf.image.resizeBilinear (legacy: alignCorners=false, halfPixelCenters=false,
// the mode human uses) to outH x outW. Returns float32 [1, outH, outW, 3] with values 0..255.
function cropResize(ph, x0, y0, w, h, outH, outW) {
  return tf.tidy(() => {
    const padT = Math.max(0, -y0); const padL = Math.max(0, -x0);
    const padB = Math.max(0, y0 + h - ph.height); const padR = Math.max(0, x0 + w - ph.width);
    let t = ph.tensor;
    if (padT || padL || padB || padR) t = tf.pad(t, [[padT, padB], [padL, padR], [0, 0]]);
    const crop = tf.slice(t, [y0 + padT, x0 + padL, 0], [h, w, 3]);
    return tf.image.resizeBilinear(tf.expandDims(crop, 0), [outH, outW], false, false);
  });
}
function squareCrop(ph, cx, cy, side, out) {
  const s = Math.round(side);
  return { t: cropResize(ph, Math.round(cx - s / 2), Math.round(cy - s / 2), s, s, out, out), box: [Math.round(cx - s / 2), Math.round(cy - s / 2), s, s] };
}

function previewPng(name, caseName, t4, scale = 1, offset = 0) {
  if (!opts.png) return;
  const [n, h, w, c] = t4.shape;
  const data = t4.dataSync();
  const dir = path.join(opts.out, '_preview');
  fs.mkdirSync(dir, { recursive: true });
  for (let b = 0; b < n; b++) {
    const rgb = new Float32Array(h * w * 3);
    for (let i = 0; i < h * w; i++) for (let k = 0; k < 3; k++) rgb[i * 3 + k] = (data[(b * h * w + i) * c + (c === 1 ? 0 : k)] - offset) * scale;
    writePng(path.join(dir, `${name}-${caseName}${n > 1 ? `-${b}` : ''}.png`), w, h, rgb);
  }
}

// ---------------------------------------------------------------- graph models (TF.js)
const graphCache = new Map();
async function graph(name) {
  if (!graphCache.has(name)) graphCache.set(name, await loadGraphModelFromDisk(path.join(opts.models, MODELS[name].file)));
  return graphCache.get(name);
}
// BlazeFace with its Placeholder's height and width relaxed from 256 to -1 (TF.js checks the
// declared input shape before executing); nothing else in the graph is touched.
async function blazeAnySize() {
  const key = 'blazeface/any-size';
  if (!graphCache.has(key)) {
    graphCache.set(key, await loadGraphModelFromDisk(path.join(opts.models, MODELS.blazeface.file), (json) => {
      const ph = json.modelTopology.node.find((n) => n.op === 'Placeholder');
      ph.attr.shape.shape.dim[1].size = '-1';
      ph.attr.shape.shape.dim[2].size = '-1';
    }));
  }
  return graphCache.get(key);
}
const natural = (a, b) => a.localeCompare(b, 'en', { numeric: true });
const stripPort = (n) => n.replace(/:0$/, '');
// Graph node names of the outputs (the signature's keys may be aliases such as
// "output_mesh" for Identity_2:0), without ":0", in natural order.
function outputNames(model, json) {
  const sig = json.signature?.outputs;
  const names = sig && Object.keys(sig).length ? Object.values(sig).map((o) => o.name) : [...model.outputNodes];
  return names.map(stripPort).sort(natural);
}
function inputName(model) { return stripPort(model.inputNodes[0]); }

async function runGraph(name, input) {
  const { model, json } = await graph(name);
  const names = outputNames(model, json);
  const res = model.execute(input, names);
  const arr = Array.isArray(res) ? res : [res];
  const outs = arr.map((t, k) => ({ name: stripPort(names[k]), shape: t.shape, data: t.dataSync().slice() }));
  tf.dispose(arr);
  return outs;
}
function inputRecord(model, t) {
  return { name: inputName(model), shape: t.shape, dtype: t.dtype, data: Float32Array.from(t.dataSync()) };
}
async function graphCase(name, caseName, input, notes) {
  const { model } = await graph(name);
  const t0 = Date.now();
  const outputs = await runGraph(name, input);
  vlog(`  ${name}/${caseName}: ${Date.now() - t0} ms`);
  writeCase(name, caseName, { file: MODELS[name].file, runtime: runtimeString, inputs: [inputRecord(model, input)], outputs, notes });
  return outputs;
}

// ---------------------------------------------------------------- BlazeFace helpers
// The four final outputs are Identity_k <- Reshape(conv BiasAdd, const shape fixed for 256x256).
function blazeHeads(json) {
  const nodes = new Map(json.modelTopology.node.map((n) => [n.name, n]));
  const heads = [];
  for (const n of json.modelTopology.node) {
    if (!/^Identity(_\d+)?$/.test(n.name)) continue;
    const reshape = nodes.get(n.input[0].replace(/:0$/, ''));
    if (!reshape || reshape.op !== 'Reshape') throw new Error(`blazeface: ${n.name} is not fed by a Reshape`);
    heads.push({ output: n.name, conv: reshape.input[0].replace(/:0$/, '') });
  }
  return heads.sort((a, b) => natural(a.output, b.output));
}
// Execute the conv heads and return them flattened as [1, N, C] (C = 1 or 16).
async function blazeHeadsRun(input) {
  const { model, json } = await blazeAnySize();
  const heads = blazeHeads(json);
  const res = model.execute(input, heads.map((h) => h.conv));
  const outs = res.map((t, k) => {
    const c = /classificator/.test(json.modelTopology.node.find((n) => n.name === heads[k].output).input[0]) ? 1 : 16;
    const n = t.size / c;
    return { name: heads[k].output, shape: [1, n, c], convShape: t.shape, data: t.dataSync().slice() };
  });
  tf.dispose(res);
  return outs;
}
function anchorsFor(h, w) {
  const anchors = [];
  for (const [stride, per] of [[16, 2], [32, 6]]) {
    const rows = Math.floor((h + stride - 1) / stride); const cols = Math.floor((w + stride - 1) / stride);
    for (let y = 0; y < rows; y++) for (let x = 0; x < cols; x++) for (let k = 0; k < per; k++) anchors.push([stride * (x + 0.5), stride * (y + 0.5)]);
  }
  return anchors;
}
const sigmoid = (x) => 1 / (1 + Math.exp(-x));
// Decode heads (as human does: larger head = stride 16 first) into boxes in input pixels.
function blazeDecode(heads, h, w, minScore = 0.5) {
  const cls = heads.filter((o) => o.shape[2] === 1).sort((a, b) => b.shape[1] - a.shape[1]);
  const reg = heads.filter((o) => o.shape[2] === 16).sort((a, b) => b.shape[1] - a.shape[1]);
  const anchors = anchorsFor(h, w);
  const dets = [];
  let i = 0;
  for (let g = 0; g < 2; g++) {
    for (let j = 0; j < cls[g].shape[1]; j++, i++) {
      const score = sigmoid(cls[g].data[j]);
      if (score < minScore) continue;
      const r = reg[g].data.subarray(j * 16, j * 16 + 16);
      const [ax, ay] = anchors[i];
      const cx = ax + r[0]; const cy = ay + r[1];
      const kps = [];
      for (let k = 0; k < 6; k++) kps.push([ax + r[4 + 2 * k], ay + r[5 + 2 * k]]);
      dets.push({ score, x1: cx - r[2] / 2, y1: cy - r[3] / 2, x2: cx + r[2] / 2, y2: cy + r[3] / 2, kps });
    }
  }
  if (i !== anchors.length) throw new Error(`blazeface: ${i} predictions for ${anchors.length} anchors`);
  dets.sort((a, b) => b.score - a.score);
  const iou = (a, b) => {
    const ix = Math.max(0, Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1)); const iy = Math.max(0, Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1));
    const inter = ix * iy;
    return inter / ((a.x2 - a.x1) * (a.y2 - a.y1) + (b.x2 - b.x1) * (b.y2 - b.y1) - inter);
  };
  const keep = [];
  for (const d of dets) if (keep.every((k) => iou(k, d) < 0.3)) keep.push(d);
  return keep;
}

// Faces of FACE_SAMPLE, found by TF.js BlazeFace at an undistorted size (multiple of 32).
let facesCache = null;
async function faces() {
  if (facesCache) return facesCache;
  const ph = photo(FACE_SAMPLE);
  const W = 512; const H = Math.round((ph.height / ph.width) * W / 32) * 32;
  const input = tf.tidy(() => tf.sub(tf.div(tf.image.resizeBilinear(tf.expandDims(ph.tensor, 0), [H, W]), 127.5), 1));
  const heads = await blazeHeadsRun(input);
  input.dispose();
  const sx = ph.width / W; const sy = ph.height / H;
  const dets = blazeDecode(heads, H, W, 0.6).map((d) => ({
    score: d.score, x1: d.x1 * sx, y1: d.y1 * sy, x2: d.x2 * sx, y2: d.y2 * sy, kps: d.kps.map(([x, y]) => [x * sx, y * sy]),
  }));
  // left to right, so "face #k" is stable and readable
  dets.sort((a, b) => a.x1 - b.x1);
  for (const d of dets) {
    d.cx = (d.x1 + d.x2) / 2; d.cy = (d.y1 + d.y2) / 2; d.w = d.x2 - d.x1; d.h = d.y2 - d.y1;
  }
  log(`faces in ${FACE_SAMPLE} (blazeface at ${H}x${W}): ${dets.map((d, k) => `#${k} score ${d.score.toFixed(3)} box [${[d.x1, d.y1, d.w, d.h].map(Math.round)}]`).join('; ')}`);
  if (dets.length < 2) throw new Error(`expected at least 2 faces in ${FACE_SAMPLE}, found ${dets.length}`);
  facesCache = dets;
  return dets;
}
const faceNote = (k, d, how) => `${FACE_SAMPLE} face #${k} (blazeface box [${[d.x1, d.y1, d.w, d.h].map(Math.round)}], score ${d.score.toFixed(3)}); ${how}`;

// ---------------------------------------------------------------- per-model generators
const gen = {};

gen.blazeface = async () => {
  const name = 'blazeface';
  const { model } = await graph(name);
  // cases at 256x256, each also checked: conv heads flattened == normal outputs, bit for bit
  const check256 = async (caseName, input) => {
    const outs = await graphCase(name, caseName, input, caseNotes[caseName]);
    const heads = await blazeHeadsRun(input);
    for (const o of outs) {
      const h = heads.find((x) => x.name === o.name);
      const same = h && h.data.length === o.data.length && Buffer.compare(Buffer.from(h.data.buffer, h.data.byteOffset, h.data.byteLength), Buffer.from(o.data.buffer, o.data.byteOffset, o.data.byteLength)) === 0
        && JSON.stringify(h.shape) === JSON.stringify(o.shape);
      if (!same) throw new Error(`blazeface/${caseName}: conv-head trick does not reproduce ${o.name} bit-exactly`);
    }
    log(`  blazeface/${caseName}: conv heads flattened == Identity..Identity_3 bit-exactly at 256x256`);
  };
  const caseNotes = {
    random: 'uniform -1..1 (mulberry32 seed 0x1001)',
  };
  await check256('random', randomTensor(MODELS[name].seed, [1, 256, 256, 3], -1, 1));

  const fs6 = await faces();
  const d = fs6[0];
  const { t, box } = squareCrop(photo(FACE_SAMPLE), d.cx, d.cy, 2.5 * Math.max(d.w, d.h), 256);
  caseNotes.face = faceNote(0, d, `square crop [${box}] (2.5 x box side) resizeBilinear(legacy) to 256, then x/127.5-1`);
  const input = tf.tidy(() => tf.sub(tf.div(t, 127.5), 1));
  previewPng(name, 'face', t);
  await check256('face', input);
  tf.dispose([t, input]);

  // frame576x1024: whole photo squashed to 576x1024; the graph's Reshape targets are fixed for
  // 256x256, so record the conv heads flattened, named after the outputs they feed.
  const ph = photo(FRAME_SAMPLE);
  const frame = tf.tidy(() => tf.image.resizeBilinear(tf.expandDims(ph.tensor, 0), [FRAME_H, FRAME_W], false, false));
  previewPng(name, 'frame576x1024', frame);
  const finput = tf.tidy(() => tf.sub(tf.div(frame, 127.5), 1));
  const t0 = Date.now();
  const heads = await blazeHeadsRun(finput);
  vlog(`  blazeface/frame576x1024: ${Date.now() - t0} ms`);
  writeCase(name, 'frame576x1024', {
    file: MODELS[name].file,
    runtime: runtimeString,
    inputs: [inputRecord(model, finput)],
    outputs: heads.map((h) => ({ name: h.name, shape: h.shape, data: h.data })),
    notes: `${FRAME_SAMPLE} (${ph.width}x${ph.height}) resizeBilinear(legacy) to ${FRAME_H}x${FRAME_W}, x/127.5-1; outputs are the conv heads feeding the final Reshapes (${heads.map((h) => `${h.name} <- ${JSON.stringify(h.convShape)}`).join(', ')}) flattened to [1, anchors, 1|16]; executed with the Placeholder shape relaxed to [1,-1,-1,3] (TF.js refuses other sizes otherwise)`,
  });
  const dets = blazeDecode(heads, FRAME_H, FRAME_W, 0.5);
  log(`  blazeface/frame576x1024: ${dets.length} faces with score >= 0.5: ${dets.map((x) => `${x.score.toFixed(2)} [${[x.x1, x.y1, x.x2 - x.x1, x.y2 - x.y1].map(Math.round)}]`).join('; ')} (in 1024x576 pixels)`);
  tf.dispose([frame, finput]);
};

gen.facemesh = async () => {
  const name = 'facemesh';
  const shape = [1, 192, 192, 3];
  await graphCase(name, 'random', randomTensor(MODELS[name].seed, shape, 0, 1), 'uniform 0..1 (mulberry32 seed 0x1002)');
  const d = (await faces())[1];
  const { t, box } = squareCrop(photo(FACE_SAMPLE), d.cx, d.cy, 1.4 * Math.max(d.w, d.h), 192);
  previewPng(name, 'face', t);
  const input = tf.tidy(() => tf.div(t, 255));
  await graphCase(name, 'face', input, faceNote(1, d, `square crop [${box}] (1.4 x box side, human's enlargeBox) resizeBilinear(legacy) to 192, then /255`));
  tf.dispose([t, input]);
};

gen.faceres = async () => {
  const name = 'faceres';
  await graphCase(name, 'random', randomTensor(MODELS[name].seed, [1, 224, 224, 3], 0, 255), 'uniform 0..255 (human feeds the 0..1 face crop x255; mulberry32 seed 0x1003)');
  const d = (await faces())[2];
  const { t, box } = squareCrop(photo(FACE_SAMPLE), d.cx, d.cy, 1.4 * Math.max(d.w, d.h), 224);
  previewPng(name, 'face', t);
  await graphCase(name, 'face', t, faceNote(2, d, `square crop [${box}] (1.4 x box side) resizeBilinear(legacy) to 224, values 0..255`));
  t.dispose();
};

gen.emotion = async () => {
  const name = 'emotion';
  await graphCase(name, 'random', randomTensor(MODELS[name].seed, [1, 64, 64, 1], -1, 1), 'uniform -1..1 (= (grey-0.5)*2 of a 0..1 grey image; mulberry32 seed 0x1004)');
  const d = (await faces())[3];
  const { t, box } = squareCrop(photo(FACE_SAMPLE), d.cx, d.cy, 1.4 * Math.max(d.w, d.h), 64);
  // human: resize the 0..1 face, x [0.2989, 0.5870, 0.1140], sum over channels, -0.5, x2
  const input = tf.tidy(() => {
    const rgb = tf.tensor1d([0.2989, 0.5870, 0.1140], 'float32');
    const grey = tf.sum(tf.mul(tf.div(t, 255), rgb), 3, true);
    return tf.mul(tf.sub(grey, 0.5), 2);
  });
  previewPng(name, 'face', input, 127.5, -1);
  await graphCase(name, 'face', input, faceNote(3, d, `square crop [${box}] (1.4 x box side) resizeBilinear(legacy) to 64, /255, grey = sum(rgb*[0.2989,0.5870,0.1140]), (grey-0.5)*2`));
  tf.dispose([t, input]);
};

gen['movenet-lightning'] = async () => {
  const name = 'movenet-lightning';
  await graphCase(name, 'random', randomTensor(MODELS[name].seed, [1, 192, 192, 3], 0, 255, { integer: true, dtype: 'int32' }), 'uniform integers 0..255 (int32 input, stored as float32; mulberry32 seed 0x1005)');
  // human's movenet padInput: pad the short side by trunc(diff/2) on both sides, resize, cast
  const ph = photo(FACE_SAMPLE);
  const p = Math.trunc(Math.abs(ph.width - ph.height) / 2);
  const pad = ph.width > ph.height ? [[0, 0], [p, p], [0, 0], [0, 0]] : [[0, 0], [0, 0], [p, p], [0, 0]];
  const input = tf.tidy(() => tf.cast(tf.image.resizeBilinear(tf.pad(tf.expandDims(ph.tensor, 0), pad), [192, 192]), 'int32'));
  previewPng(name, 'face', input);
  await graphCase(name, 'face', input, `whole ${FACE_SAMPLE} (${ph.width}x${ph.height}) zero-padded to square (human's padInput: ${p} px each side), resizeBilinear(legacy) to 192x192, cast to int32 (truncation)`);
  input.dispose();
};

gen.centernet = async () => {
  const name = 'centernet';
  await graphCase(name, 'random', randomTensor(MODELS[name].seed, [1, 512, 512, 3], 0, 255), 'uniform 0..255 (mulberry32 seed 0x1006)');
  const ph = photo(FACE_SAMPLE);
  const input = tf.tidy(() => tf.image.resizeBilinear(tf.expandDims(ph.tensor, 0), [512, 512]));
  previewPng(name, 'face', input);
  const outs = await graphCase(name, 'face', input, `whole ${FACE_SAMPLE} (${ph.width}x${ph.height}) resizeBilinear(legacy) to 512x512 (squashed, as human does), values 0..255`);
  const det = outs.find((o) => o.name === 'tower_0/detections');
  if (det) {
    const top = [];
    for (let i = 0; i < det.shape[1]; i++) top.push([det.data[i * 6 + 4], det.data[i * 6 + 5]]);
    log(`  centernet/face: top detections (score, class): ${top.slice(0, 6).map(([s, c]) => `${s.toFixed(2)}/${c}`).join(' ')} (class 0 = person)`);
  }
  input.dispose();
};

// face-api FaceExpressionNet on the same TF.js instance
let faceapi = null;
let exprNet = null;
async function faceExpressionNet() {
  if (!exprNet) {
    faceapi = await import('@vladmandic/face-api/dist/face-api.esm-nobundle.js');
    exprNet = new faceapi.FaceExpressionNet();
    exprNet.loadFromWeightMap(loadWeightMapFromDisk(path.join(opts.models, MODELS.faceexpression.file)));
  }
  return exprNet;
}
const faceapiVersion = require('@vladmandic/face-api/package.json').version;
gen.faceexpression = async () => {
  const name = 'faceexpression';
  const net = await faceExpressionNet();
  const runtime = `@vladmandic/face-api ${faceapiVersion} (dist/face-api.esm-nobundle.js) on ${runtimeString}`;
  const run = async (caseName, x, notes) => {
    // x: [1,112,112,3] float 0..255; face-api's NetInput passes it through unchanged (already
    // square and 112), then normalizes (minus mean RGB, /255) inside the net.
    const ni = await faceapi.toNetInput(x);
    const logits = net.runNet(ni);
    const probs = net.forwardInput(ni);
    const predicted = await net.predictExpressions(x);
    const outputs = [
      { name: 'expressions', shape: probs.shape, data: probs.dataSync().slice() },
      { name: 'logits', shape: logits.shape, data: logits.dataSync().slice() },
    ];
    faceapi.FACE_EXPRESSION_LABELS.forEach((l, i) => {
      if (predicted[l] !== outputs[0].data[i]) throw new Error(`faceexpression/${caseName}: predictExpressions disagrees with forwardInput`);
    });
    tf.dispose([logits, probs]);
    writeCase(name, caseName, {
      file: MODELS[name].file, runtime, notes,
      inputs: [{ name: 'input', shape: x.shape, dtype: 'float32', data: Float32Array.from(x.dataSync()) }],
      outputs,
    });
    return outputs;
  };
  await run('random', randomTensor(MODELS[name].seed, [1, 112, 112, 3], 0, 255), 'uniform 0..255 (mulberry32 seed 0x1007); the net itself subtracts (122.782, 117.001, 104.298) and divides by 255; outputs: expressions = softmax, logits = fc output');
  // face crop: BlazeFace box widened x1.13, heightened x1.06, moved down 0.045 x width; then
  // face-api's own NetInput.toBatchTensor(112, isCenterInputs=true): centred zero padding to a
  // square + resizeBilinear(alignCorners=false, halfPixelCenters=false)
  const k = 0;
  const d = (await faces())[k];
  const ph = photo(FACE_SAMPLE);
  const w = d.w * 1.13; const h = d.h * 1.06; const cx = d.cx; const cy = d.cy + 0.045 * d.w;
  const x0 = Math.round(cx - w / 2); const y0 = Math.round(cy - h / 2); const wi = Math.round(w); const hi = Math.round(h);
  const rect = tf.slice(ph.tensor, [y0, x0, 0], [hi, wi, 3]);
  const ni = await faceapi.toNetInput(rect);
  const x = ni.toBatchTensor(112, true);
  rect.dispose();
  previewPng(name, 'face', x);
  const outs = await run('face', x, faceNote(k, d, `rect [${x0},${y0},${wi},${hi}] (box x1.13 wide, x1.06 high, centre moved down 0.045 x width), then face-api NetInput.toBatchTensor(112, centred): zero pad to square, resizeBilinear(legacy) to 112; values 0..255`));
  const p = outs[0].data;
  log(`  faceexpression/face: ${faceapi.FACE_EXPRESSION_LABELS.map((l, i) => `${l} ${p[i].toFixed(3)}`).join(', ')}`);
  x.dispose();
};

// MobileFaceNet on LiteRT.js
let litert = null;
async function mobileFaceNet() {
  if (!litert) {
    const mod = await import('./litert.mjs');
    const model = await mod.loadTflite(path.join(opts.models, MODELS.mobilefacenet.file));
    const lrt = await mod.initLiteRt();
    litert = { ...mod, model, relaxedSimd: (await lrt.supportsFeature('relaxedSimd')).supported };
  }
  return litert;
}
// ArcFace-style crop without rotation: eye distance = 35.2/112 of the side, eye line at
// y = 51.6/112, eye midpoint at x = 56/112 (the template's coordinates).
function arcfaceCrop(ph, d, scale = 1, dx = 0, dy = 0) {
  const eyes = [d.kps[0], d.kps[1]].sort((a, b) => a[0] - b[0]);
  const dist = Math.hypot(eyes[1][0] - eyes[0][0], eyes[1][1] - eyes[0][1]);
  const side = (dist / (35.2 / 112)) * scale;
  const mx = (eyes[0][0] + eyes[1][0]) / 2; const my = (eyes[0][1] + eyes[1][1]) / 2;
  return squareCrop(ph, mx + dx * side, my + (56 - 51.6) / 112 * side + dy * side, side, 112);
}
const l2norm = (v) => { const n = Math.hypot(...v); return v.map((x) => x / n); };
const cosine = (a, b) => { const x = l2norm(Array.from(a)); const y = l2norm(Array.from(b)); return x.reduce((s, v, i) => s + v * y[i], 0); };
gen.mobilefacenet = async () => {
  const name = 'mobilefacenet';
  const lrt = await mobileFaceNet();
  const model = lrt.model;
  const inName = model.getInputDetails()[0].name;
  const runtime = `@litertjs/core ${lrt.version} wasm accelerator (XNNPACK, ${lrt.relaxedSimd ? 'relaxed-SIMD build litert_wasm_internal' : 'compat build litert_wasm_compat_internal'})`;
  const run = async (caseName, data, notes) => {
    const shape = [2, 112, 112, 3];
    const outs = await lrt.runTflite(model, data, shape);
    if (caseName) writeCase(name, caseName, { file: MODELS[name].file, runtime, notes, inputs: [{ name: inName, shape, dtype: 'float32', data }], outputs: outs });
    return outs;
  };
  // random: uniform integer pixels 0..255, then (x-127.5)/128
  const rnd = mulberry32(MODELS[name].seed);
  const r = new Float32Array(2 * 112 * 112 * 3);
  for (let i = 0; i < r.length; i++) r[i] = (Math.floor(rnd() * 256) - 127.5) / 128;
  await run('random', r, 'uniform integer pixels 0..255 (mulberry32 seed 0x1008), then (x-127.5)/128');
  // face: two different faces, ArcFace-like crops
  const fs6 = await faces();
  const ph = photo(FACE_SAMPLE);
  const norm = (t) => tf.tidy(() => tf.div(tf.sub(t, 127.5), 128));
  const crops = fs6.map((d) => arcfaceCrop(ph, d));
  const batch = (a, b) => tf.tidy(() => norm(tf.concat([a, b], 0)));
  const x = batch(crops[0].t, crops[1].t);
  previewPng(name, 'face', x, 128, -127.5 / 128);
  const outs = await run('face', x.dataSync().slice(), `batch of two different faces of ${FACE_SAMPLE}: #0 crop [${crops[0].box}], #1 crop [${crops[1].box}] (square crops scaled so the eyes sit where the ArcFace 112 template puts them, no rotation), resizeBilinear(legacy) to 112, (x-127.5)/128`);
  x.dispose();
  // sanity: same face at another crop vs different faces
  const alt = arcfaceCrop(ph, fs6[0], 1.1, 0.03, -0.02);
  const others = fs6.length > 2 ? crops[2] : crops[1];
  const y = batch(alt.t, others.t);
  const outs2 = await run(null, y.dataSync().slice());
  y.dispose();
  const e = outs[0].data; const e2 = outs2[0].data; const D = 192;
  const A = e.subarray(0, D); const B = e.subarray(D, 2 * D); const A2 = e2.subarray(0, D); const C = e2.subarray(D, 2 * D);
  log(`  mobilefacenet: cos(face0, face0 other crop) = ${cosine(A, A2).toFixed(3)}; cos(face0, face1) = ${cosine(A, B).toFixed(3)}; cos(face0, face2) = ${cosine(A, C).toFixed(3)}; cos(face1, face2) = ${cosine(B, C).toFixed(3)}`);
  if (!(cosine(A, A2) > Math.max(cosine(A, B), cosine(A, C)))) log('  WARNING: mobilefacenet: same face is not more similar than different faces');
  crops.forEach((c) => c.t.dispose()); alt.t.dispose();
  if (opts.verbose) log(lrt.log.join('\n'));
};

// ---------------------------------------------------------------- --check
function stats(a) {
  let mn = Infinity; let mx = -Infinity; let s = 0; let nan = 0;
  for (const v of a) { if (Number.isNaN(v)) { nan++; continue; } if (v < mn) mn = v; if (v > mx) mx = v; s += v; }
  return { min: mn, max: mx, mean: s / (a.length - nan || 1), nan };
}
const fmt = (x) => (Math.abs(x) >= 1000 || (Math.abs(x) < 1e-3 && x !== 0) ? x.toExponential(2) : x.toFixed(4));
function readF32(file) { const b = fs.readFileSync(file); return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4); }
function check() {
  const problems = [];
  let total = 0;
  for (const name of selected) {
    const mdir = path.join(opts.out, name);
    if (!fs.existsSync(mdir)) { problems.push(`${name}: no cases in ${mdir}`); continue; }
    for (const c of fs.readdirSync(mdir).sort()) {
      const dir = path.join(mdir, c);
      const meta = JSON.parse(fs.readFileSync(path.join(dir, 'meta.json'), 'utf8'));
      const parts = [];
      const get = {};
      for (const io of [...meta.inputs.map((x) => ({ ...x, kind: 'in' })), ...meta.outputs.map((x) => ({ ...x, kind: 'out' }))]) {
        const data = readF32(path.join(dir, io.file));
        total += data.byteLength;
        const n = io.shape.reduce((a, b) => a * b, 1);
        if (n !== data.length) problems.push(`${name}/${c}: ${io.file} holds ${data.length} values, shape ${JSON.stringify(io.shape)} needs ${n}`);
        const st = stats(data);
        if (st.nan) problems.push(`${name}/${c}: ${io.file} has ${st.nan} NaN`);
        if (io.kind === 'out') get[io.name] = { ...io, data };
        parts.push(`${io.kind === 'in' ? 'in' : io.name} [${io.shape}]${io.dtype && io.dtype !== 'float32' ? ` ${io.dtype}` : ''} min ${fmt(st.min)} max ${fmt(st.max)} mean ${fmt(st.mean)}`);
      }
      let extra = '';
      if (name === 'blazeface') {
        const cls = Object.values(get).filter((o) => o.shape[2] === 1);
        const best = Math.max(...cls.map((o) => stats(o.data).max));
        extra = ` | best face score ${sigmoid(best).toFixed(3)}`;
        if (c !== 'random' && sigmoid(best) < 0.8) problems.push(`blazeface/${c}: best face score only ${sigmoid(best).toFixed(3)}`);
      } else if (name === 'faceexpression') {
        const p = get.expressions.data;
        const sum = p.reduce((a, b) => a + b, 0);
        extra = ` | sum(p) ${sum.toFixed(6)} argmax ${['neutral', 'happy', 'sad', 'angry', 'fearful', 'disgusted', 'surprised'][p.indexOf(Math.max(...p))]}`;
        if (Math.abs(sum - 1) > 1e-5) problems.push(`faceexpression/${c}: probabilities sum to ${sum}`);
      } else if (name === 'emotion') {
        const o = Object.values(get)[0].data;
        extra = ` | sum ${o.reduce((a, b) => a + b, 0).toFixed(5)} argmax ${['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral'][o.indexOf(Math.max(...o))]}`;
      } else if (name === 'facemesh') {
        extra = ` | face flag ${fmt(get.Identity_1.data[0])}`;
        if (c === 'face' && get.Identity_1.data[0] < 0.5) problems.push(`facemesh/face: face flag only ${get.Identity_1.data[0]}`);
      } else if (name === 'mobilefacenet') {
        const e = Object.values(get)[0].data;
        extra = ` | cos(batch0, batch1) ${cosine(e.subarray(0, 192), e.subarray(192)).toFixed(3)}`;
      } else if (name === 'movenet-lightning') {
        const k = get.Identity.data;
        const sc = []; for (let i = 0; i < 17; i++) sc.push(k[i * 3 + 2]);
        extra = ` | keypoint scores max ${Math.max(...sc).toFixed(2)} mean ${(sc.reduce((a, b) => a + b, 0) / 17).toFixed(2)}`;
      } else if (name === 'centernet') {
        const d = get['tower_0/detections'].data;
        extra = ` | best detection score ${d[4].toFixed(3)} class ${d[5]}`;
      } else if (name === 'faceres') {
        const g = get['gender_pred/Sigmoid'].data[0]; const a = get['age_pred/Softmax'].data;
        extra = ` | gender ${g.toFixed(3)} age-argmax ${a.indexOf(Math.max(...a))}`;
      }
      console.log(`${name}/${c}: ${parts.join(' | ')}${extra}`);
    }
  }
  console.log(`total ${(total / 1048576).toFixed(1)} MiB in ${opts.out}`);
  if (problems.length) {
    console.log(`PROBLEMS:\n  ${problems.join('\n  ')}`);
    process.exitCode = 1;
  }
}

// ---------------------------------------------------------------- main
await initTf();
tf.backend().firstUse = false; // silence the "install tfjs-node" banner; we use the cpu backend on purpose
const haveAll = selected.every((n) => fs.existsSync(path.join(opts.out, n)));
if (!opts.check || !haveAll) {
  log(`refgen: ${runtimeString}; face-api ${faceapiVersion}; models from ${opts.models}, writing ${opts.out}`);
  // TF.js's CPU backend is single-threaded: with 2+ cores, hand the two heaviest models that
  // need no face crop to a second process.
  let child = null;
  let mine = selected;
  const offload = ['centernet', 'movenet-lightning'].filter((n) => selected.includes(n));
  if (opts.jobs > 1 && offload.length && offload.length < selected.length) {
    mine = selected.filter((n) => !offload.includes(n));
    const args = [fileURLToPath(import.meta.url), '--models', opts.models, '--out', opts.out, '--only', offload.join(','), '--jobs', '1'];
    if (opts.png) args.push('--png');
    if (opts.verbose) args.push('--verbose');
    const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const prefix = (stream, out) => {
      let buf = '';
      stream.on('data', (d) => { buf += d; const lines = buf.split('\n'); buf = lines.pop(); for (const l of lines) out.write(`[${offload.join('+')}] ${l}\n`); });
      stream.on('end', () => { if (buf) out.write(`[${offload.join('+')}] ${buf}\n`); });
    };
    prefix(proc.stdout, process.stdout);
    prefix(proc.stderr, process.stderr);
    child = new Promise((resolve) => proc.on('close', (code) => resolve(code)));
  }
  for (const name of mine) {
    const t0 = Date.now();
    await gen[name]();
    log(`${name}: done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
  if (child) {
    const code = await child;
    if (code !== 0) throw new Error(`refgen --only ${offload.join(',')} (second process) failed with exit code ${code}`);
  }
  log(`refgen: all done in ${((Date.now() - t00) / 1000).toFixed(1)} s (tfjs ${versions['tfjs-core']}, tensors alive: ${tf.memory().numTensors})`);
}
if (opts.check) check();
