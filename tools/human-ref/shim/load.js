import fs from 'node:fs';
import path from 'node:path';
import * as converter from '@tensorflow/tfjs-converter';
export async function loadModel(jsonPath) {
  const json = JSON.parse(fs.readFileSync(jsonPath, 'utf8'));
  const parts = [];
  for (const g of json.weightsManifest) for (const p of g.paths) parts.push(fs.readFileSync(path.join(path.dirname(jsonPath), p)));
  const buf = Buffer.concat(parts);
  const artifacts = { modelTopology: json.modelTopology, format: json.format, generatedBy: json.generatedBy, convertedBy: json.convertedBy,
    signature: json.signature, userDefinedMetadata: json.userDefinedMetadata, weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
    weightData: buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) };
  return converter.loadGraphModel({ load: async () => artifacts });
}
