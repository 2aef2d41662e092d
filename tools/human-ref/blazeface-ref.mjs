// blazeface-ref.mjs -- runs @vladmandic/human 3.3.6's own BlazeFace code (src/face/blazeface.ts,
// bundled by build.mjs with TF.js CPU) on a raw RGB image and writes what it gives, so the C tests
// can check faceline's resize, anchors and decoding against it (tests/model/detect_human.c).
//
// usage: node blazeface-ref.bundle.mjs MODEL.json RGB_FILE WIDTH HEIGHT OUT_DIR
// writes OUT_DIR/input256.f32 (human's resize + x/127.5-1), out0..3.f32 (the raw outputs in
// signature order), outputs.txt (name and shape per output), boxes.txt (one face per line:
// x1 y1 x2 y2 score, then 6 landmarks x y; human's squarified box with detector scale 1.0).
import fs from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import * as bf from 'HUMAN/face/blazeface';

const [,, model, rgbFile, w, h, outDir] = process.argv;
await tf.setBackend('cpu');
await tf.ready();
const W = +w, H = +h;
const img = tf.tensor4d(Float32Array.from(fs.readFileSync(rgbFile)), [1, H, W, 3]);
const config = { face: { detector: { modelPath: model, minConfidence: 0.5, iouThreshold: 0.3, maxDetected: 100, scale: 1.0, square: false } } };
const m = await bf.load(config);
const boxes = await bf.getBoxes(img, config);
// The same resize and normalisation getBoxes does, and the raw outputs.
const input = tf.sub(tf.div(tf.image.resizeBilinear(img, [256, 256]), 127.5), 1);
fs.writeFileSync(`${outDir}/input256.f32`, Buffer.from((await input.data()).buffer));
const res = m.execute(input);
let desc = '';
for (let i = 0; i < res.length; i++) {
  fs.writeFileSync(`${outDir}/out${i}.f32`, Buffer.from((await res[i].data()).buffer));
  desc += `${m.outputs[i].name} ${res[i].shape.join(' ')}\n`;
}
fs.writeFileSync(`${outDir}/outputs.txt`, desc);
fs.writeFileSync(`${outDir}/boxes.txt`, boxes.map((b) => [...b.startPoint, ...b.endPoint, b.confidence, ...b.landmarks.flat()].join(' ')).join('\n') + '\n');
console.log(`${boxes.length} faces`);
