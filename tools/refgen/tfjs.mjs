// TF.js (core + converter + CPU backend) set up for Node with file IO only.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import * as tfc from '@tensorflow/tfjs-core';
import * as converter from '@tensorflow/tfjs-converter';
import '@tensorflow/tfjs-backend-cpu';

const require = createRequire(import.meta.url);
export const tf = tfc;

// tfjs-core's CommonJS build for Node (what `import '@tensorflow/tfjs-core'` loads) does
// not register the chained tensor methods (x.div(), x.as3D(), ...); the full @tensorflow/tfjs
// bundle inlines them. face-api relies on them, so register them here from tfjs-core's own
// ESM sources (dist/public/chained_ops/*.js: one `prototype.NAME = function (...) {...};`
// each), binding their imports to the CommonJS instance's exports.
function registerChainedOps() {
  const dir = path.join(path.dirname(require.resolve('@tensorflow/tfjs-core/package.json')), 'dist/public/chained_ops');
  const proto = tfc.Tensor.prototype;
  let n = 0;
  for (const file of fs.readdirSync(dir)) {
    if (!file.endsWith('.js') || file.endsWith('_test.js') || file === 'register_all_chained_ops.js') continue;
    const src = fs.readFileSync(path.join(dir, file), 'utf8');
    const names = [...src.matchAll(/^import \{([^}]*)\} from/gm)].flatMap((m) => m[1].split(',').map((x) => x.trim()).filter(Boolean));
    const def = src.match(/getGlobalTensorClass\(\)\.prototype\.(\w+) =\s*(function\s*\([^)]*\)\s*\{[\s\S]*\})\s*;\s*(?:\/\/# sourceMappingURL|$)/);
    if (!def) throw new Error(`chained op ${file}: unexpected source layout`);
    if (Object.prototype.hasOwnProperty.call(proto, def[1])) continue;
    const values = names.map((k) => {
      const v = k === 'getGlobalTensorClass' ? () => tfc.Tensor
        : [tfc, tfc.image, tfc.spectral, tfc.util].map((ns) => ns[k]).find((x) => x !== undefined);
      if (v === undefined) throw new Error(`chained op ${file}: tfjs-core has no export ${k}`);
      return v;
    });
    proto[def[1]] = new Function(...names, `return ${def[2]}`)(...values);
    n++;
  }
  return n;
}
export const chainedOpsRegistered = registerChainedOps();
export const versions = {
  'tfjs-core': require('@tensorflow/tfjs-core/package.json').version,
  'tfjs-converter': require('@tensorflow/tfjs-converter/package.json').version,
  'tfjs-backend-cpu': require('@tensorflow/tfjs-backend-cpu/package.json').version,
};
export const runtimeString = `tfjs-core ${versions['tfjs-core']} + tfjs-converter ${versions['tfjs-converter']} + tfjs-backend-cpu ${versions['tfjs-backend-cpu']} (cpu backend)`;

let ready = null;
export function initTf() {
  if (!ready) {
    ready = (async () => {
      await tfc.setBackend('cpu');
      await tfc.ready();
      if (tfc.getBackend() !== 'cpu') throw new Error(`expected cpu backend, got ${tfc.getBackend()}`);
    })();
  }
  return ready;
}

// Read a concatenation of the manifest's weight files into one ArrayBuffer.
function readWeightData(dir, manifest) {
  const parts = [];
  for (const group of manifest) for (const p of group.paths) parts.push(fs.readFileSync(path.join(dir, p)));
  const buf = Buffer.concat(parts);
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
}

// Load a TF.js graph model (model.json + .bin shards) from disk, no HTTP.
// `patch(json)` may edit the parsed model.json first (e.g. relax the input shape).
export async function loadGraphModelFromDisk(jsonPath, patch = null) {
  await initTf();
  const json = JSON.parse(fs.readFileSync(jsonPath, 'utf8'));
  if (patch) patch(json);
  const weightSpecs = json.weightsManifest.flatMap((g) => g.weights);
  const artifacts = {
    modelTopology: json.modelTopology,
    format: json.format,
    generatedBy: json.generatedBy,
    convertedBy: json.convertedBy,
    signature: json.signature,
    userDefinedMetadata: json.userDefinedMetadata,
    modelInitializer: json.modelInitializer,
    weightSpecs,
    weightData: readWeightData(path.dirname(jsonPath), json.weightsManifest),
  };
  const handler = { load: async () => artifacts };
  const model = await converter.loadGraphModel(handler);
  return { model, json };
}

// Decode a weights-only manifest (face-api style) into a NamedTensorMap.
export function loadWeightMapFromDisk(manifestPath) {
  const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
  const specs = manifest.flatMap((g) => g.weights);
  const data = readWeightData(path.dirname(manifestPath), manifest);
  return tfc.io.decodeWeights(data, specs);
}
