// Node module-resolution hook (registered with module.register) that lets the
// "nobundle" ESM build of @vladmandic/face-api use the SAME TF.js instance as
// the rest of refgen: its imports of the full @tensorflow/tfjs bundle and of the
// webgl/wasm backends are redirected to tfjs-shim.mjs / empty-shim.mjs.
const shim = new URL('./tfjs-shim.mjs', import.meta.url).href;
const empty = new URL('./empty-shim.mjs', import.meta.url).href;

export async function resolve(specifier, context, next) {
  if (specifier === '@tensorflow/tfjs' || specifier.startsWith('@tensorflow/tfjs/')) return { url: shim, shortCircuit: true };
  if (specifier.startsWith('@tensorflow/tfjs-backend-webgl') || specifier.startsWith('@tensorflow/tfjs-backend-wasm')) return { url: empty, shortCircuit: true };
  return next(specifier, context);
}
