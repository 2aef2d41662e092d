// Stand-in for the full @tensorflow/tfjs bundle, as seen by face-api (see faceapi-hooks.mjs):
// tfjs-core + tfjs-converter, with the CPU backend registered.
export * from '@tensorflow/tfjs-core';
export * from '@tensorflow/tfjs-converter';
import '@tensorflow/tfjs-backend-cpu';
