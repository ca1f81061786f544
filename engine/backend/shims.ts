// Makes training work, and fast, on TensorFlow.js's wasm backend (4.22): kernels it lacks or runs
// slowly, and a matMul gradient that avoids transposed matmuls and broadcasts correctly.
import { tf } from '../tf.js';
import { batchMatMulKernel } from './batch-matmul.js';
import { convBackpropFilterKernel } from './conv-backprop-filter.js';
import { conv2DGradient } from './conv-grad.js';
import { matMulGradient } from './matmul-grad.js';
import { segmentSumKernel } from './segment-sum.js';
import { sliceKernels } from './slice.js';

let registered = false;

function replaceKernel(config: tf.KernelConfig): void {
  if (tf.getKernel(config.kernelName, config.backendName)) tf.unregisterKernel(config.kernelName, config.backendName);
  tf.registerKernel(config);
}

/**
 * Registers the wasm kernels (Conv2DBackpropFilter, UnsortedSegmentSum, Slice, Unpack, SplitV, BatchMatMul with batch > 1)
 * and the BatchMatMul and Conv2D gradients (shared by all backends: the same maths, with correct
 * shapes for broadcast batches and the input side of stride-1 convs as a plain conv). Idempotent; call after the wasm backend is chosen.
 */
export function registerWasmShims(): void {
  if (registered) return;
  registered = true;
  for (const kernel of [convBackpropFilterKernel, segmentSumKernel, ...sliceKernels, batchMatMulKernel()]) replaceKernel(kernel);
  tf.registerGradient(matMulGradient);
  tf.registerGradient(conv2DGradient);
}
