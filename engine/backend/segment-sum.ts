// UnsortedSegmentSum for wasm (missing there, so tf.gather had no gradient). A scatter-add in JS:
// the gradient of a gather touches each gathered row once.
import { tf } from '../tf.js';
import { asWasm, type KernelArgs } from './wasm-heap.js';

function unsortedSegmentSum({ inputs, backend: rawBackend, attrs }: KernelArgs): tf.TensorInfo {
  const backend = asWasm(rawBackend);
  const x = inputs.x!;
  const segmentIds = inputs.segmentIds!;
  const numSegments = attrs!.numSegments as number;
  if (x.dtype !== 'float32' && x.dtype !== 'int32') throw new Error(`UnsortedSegmentSum shim (wasm): dtype ${x.dtype} unsupported`);
  const idCount = tf.util.sizeFromShape(segmentIds.shape);
  const inner = idCount === 0 ? 0 : tf.util.sizeFromShape(x.shape) / idCount;
  const outShape = [numSegments, ...x.shape.slice(segmentIds.shape.length)];
  const out = backend.makeOutput(outShape, x.dtype);
  const dst = backend.typedArrayFromHeap(out);
  const src = backend.typedArrayFromHeap(x);
  const ids = backend.typedArrayFromHeap(segmentIds);
  dst.fill(0);
  for (let i = 0; i < idCount; i++) {
    const segment = ids[i]!;
    if (segment < 0 || segment >= numSegments) continue; // TensorFlow drops out-of-range ids
    const to = segment * inner;
    const from = i * inner;
    for (let j = 0; j < inner; j++) dst[to + j]! += src[from + j]!;
  }
  return out;
}

export const segmentSumKernel: tf.KernelConfig = {
  kernelName: 'UnsortedSegmentSum',
  backendName: 'wasm',
  kernelFunc: unsortedSegmentSum as unknown as tf.KernelFunc,
};
