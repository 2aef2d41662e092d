export * from '@tensorflow/tfjs-core';
export * from '@tensorflow/tfjs-converter';
import '@tensorflow/tfjs-backend-cpu';
