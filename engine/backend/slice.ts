// Slice / Unpack / SplitV for wasm that copy only the requested part. The stock kernels read
// the whole input through readSync (a full copy) on every call: a 1/64 slice of [64,64,1024]
// took 13.6 ms, unstack 405 ms (PLATFORM.md); these copy views of the heap instead.
import { tf } from '../tf.js';
import { asWasm, type KernelArgs, type WasmBackendLike } from './wasm-heap.js';

function copySlice(backend: WasmBackendLike, x: tf.TensorInfo, begin: number[], size: number[]): tf.TensorInfo {
  const out = backend.makeOutput(size, x.dtype);
  if (tf.util.sizeFromShape(size) === 0) return out;
  // Views taken after makeOutput: an allocation may grow (and so detach) the heap.
  const src = backend.typedArrayFromHeap(x);
  const dst = backend.typedArrayFromHeap(out);
  const rank = x.shape.length;
  const strides = tf.util.computeStrides(x.shape);
  // Merge the trailing axes that are taken whole into one contiguous run.
  let runAxis = rank - 1;
  while (runAxis > 0 && begin[runAxis] === 0 && size[runAxis] === x.shape[runAxis]) runAxis--;
  const run = size.slice(runAxis).reduce((a, b) => a * b, 1);
  const outer = size.slice(0, runAxis);
  const count = outer.reduce((a, b) => a * b, 1);
  const index = new Array<number>(runAxis).fill(0);
  let offset = 0;
  for (let i = 0; i < rank; i++) offset += begin[i]! * (i < rank - 1 ? strides[i]! : 1);
  for (let n = 0; n < count; n++) {
    let from = offset;
    for (let i = 0; i < runAxis; i++) from += index[i]! * strides[i]!;
    dst.set(src.subarray(from, from + run), n * run);
    for (let i = runAxis - 1; i >= 0; i--) {
      if (++index[i]! < outer[i]!) break;
      index[i] = 0;
    }
  }
  return out;
}

function slice({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const x = inputs.x!;
  const [begin, size] = tf.slice_util.parseSliceParams(x as tf.Tensor, attrs!.begin as number[], attrs!.size as number[]);
  return copySlice(asWasm(backend), x, begin, size);
}

function unpack({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo[] {
  const x = inputs.value!;
  const rank = x.shape.length;
  const axis = ((attrs!.axis as number) + rank) % rank;
  const count = x.shape[axis]!;
  const outShape = x.shape.filter((_, i) => i !== axis);
  const size = x.shape.slice();
  size[axis] = 1;
  const outs: tf.TensorInfo[] = [];
  for (let i = 0; i < count; i++) {
    const begin = new Array<number>(rank).fill(0);
    begin[axis] = i;
    const part = copySlice(asWasm(backend), x, begin, size);
    outs.push({ ...part, shape: outShape });
  }
  return outs;
}

function splitV({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo[] {
  const x = inputs.x!;
  const axis = tf.util.parseAxisParam(attrs!.axis as number, x.shape)[0]!;
  const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, attrs!.numOrSizeSplits as number | number[], axis);
  const begin = new Array<number>(x.shape.length).fill(0);
  const size = x.shape.slice();
  return sizes.map((s) => {
    size[axis] = s;
    const part = copySlice(asWasm(backend), x, begin.slice(), size.slice());
    begin[axis]! += s;
    return part;
  });
}

export const sliceKernels: tf.KernelConfig[] = [
  { kernelName: 'Slice', backendName: 'wasm', kernelFunc: slice as unknown as tf.KernelFunc },
  { kernelName: 'Unpack', backendName: 'wasm', kernelFunc: unpack as unknown as tf.KernelFunc },
  { kernelName: 'SplitV', backendName: 'wasm', kernelFunc: splitV as unknown as tf.KernelFunc },
];
