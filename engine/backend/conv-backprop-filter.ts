// Conv2DBackpropFilter for wasm (missing there, so every conv1d/conv2d weight gradient failed).
// dW = im2colᵀ · dy: the transposed patch matrix is built in JS straight into the wasm heap and
// multiplied by wasm's own BatchMatMul without transpose flags (transposed matmuls run ~10× slower
// there). Rows of dy are processed in chunks so the patch matrix stays bounded in memory.
import { tf } from '../tf.js';
import { asWasm, type KernelArgs, type WasmBackendLike } from './wasm-heap.js';

/** Upper bound on patch-matrix elements per chunk (64 MiB of float32). */
let MAX_PATCH_ELEMENTS = 16 * 1024 * 1024;

/** Sets the patch-matrix chunk bound (tests use a small one to exercise chunking); returns the previous one. */
export function setMaxPatchElements(elements: number): number {
  const previous = MAX_PATCH_ELEMENTS;
  MAX_PATCH_ELEMENTS = elements;
  return previous;
}

function conv2DBackpropFilter({ inputs, backend: rawBackend, attrs }: KernelArgs): tf.TensorInfo {
  const backend = asWasm(rawBackend);
  const x = inputs.x!;
  const dy = inputs.dy!;
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as {
    strides: [number, number] | number;
    pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
    dataFormat: 'NHWC' | 'NCHW';
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
    filterShape: [number, number, number, number];
  };
  if (dataFormat === 'NCHW') throw new Error('Conv2DBackpropFilter shim (wasm): only NHWC is supported');
  const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filterShape, strides, 1, pad, dimRoundingMode, false, 'channelsLast');
  if (info.inHeight === 1 && info.filterHeight === 1 && info.strideWidth === 1 && info.outHeight === 1) {
    return conv1DBackpropFilter(backend, rawBackend as tf.KernelBackend, x, dy, info, filterShape);
  }
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels, filterHeight, filterWidth, strideHeight, strideWidth } = info;
  const padTop = info.padInfo.top;
  const padLeft = info.padInfo.left;
  const patchRows = filterHeight * filterWidth * inChannels;
  const positions = batchSize * outHeight * outWidth;
  const chunk = Math.max(1, Math.min(positions, Math.floor(MAX_PATCH_ELEMENTS / patchRows)));
  const matMul = tf.getKernel('BatchMatMul', 'wasm')!.kernelFunc;
  const accumulated = new Float32Array(patchRows * outChannels);

  // x as [Cin, N, H, W] once, so each patch-matrix row is a run of shifted contiguous copies.
  const channelMajor = toChannelMajor(backend.typedArrayFromHeap(x) as Float32Array, batchSize * inHeight * inWidth, inChannels);
  const planeSize = inHeight * inWidth;
  for (let start = 0; start < positions; start += chunk) {
    const count = Math.min(chunk, positions - start);
    const patches = backend.makeOutput([1, patchRows, count], 'float32');
    const dyChunk = backend.makeOutput([1, count, outChannels], 'float32');
    const dyv = backend.typedArrayFromHeap(dy) as Float32Array;
    const pv = backend.typedArrayFromHeap(patches) as Float32Array;
    (backend.typedArrayFromHeap(dyChunk) as Float32Array).set(dyv.subarray(start * outChannels, (start + count) * outChannels));
    pv.fill(0);
    // Row (fh, fw, ci) of the patch matrix, column p = (n, oh, ow) - start, walked one output row at a time.
    for (let fh = 0; fh < filterHeight; fh++) {
      for (let fw = 0; fw < filterWidth; fw++) {
        // Valid ow range for this fw: 0 <= ow*strideWidth + fw - padLeft < inWidth.
        const owFirst = Math.max(0, Math.ceil((padLeft - fw) / strideWidth));
        const owEnd = Math.min(outWidth, Math.floor((inWidth - 1 + padLeft - fw) / strideWidth) + 1);
        for (let ci = 0; ci < inChannels; ci++) {
          const rowBase = ((fh * filterWidth + fw) * inChannels + ci) * count;
          const channelBase = ci * batchSize * planeSize;
          for (let line = Math.floor(start / outWidth); line * outWidth < start + count; line++) {
            const oh = line % outHeight;
            const n = Math.floor(line / outHeight);
            const ih = oh * strideHeight + fh - padTop;
            if (ih < 0 || ih >= inHeight) continue;
            const lineStart = line * outWidth; // column of ow = 0 on this line, before the chunk offset
            const from = Math.max(owFirst, start - lineStart);
            const to = Math.min(owEnd, start + count - lineStart);
            if (from >= to) continue;
            const src = channelBase + (n * inHeight + ih) * inWidth + from * strideWidth + fw - padLeft;
            const dst = rowBase + lineStart + from - start;
            if (strideWidth === 1) pv.set(channelMajor.subarray(src, src + to - from), dst);
            else for (let k = 0; k < to - from; k++) pv[dst + k] = channelMajor[src + k * strideWidth]!;
          }
        }
      }
    }
    const product = matMul({
      inputs: { a: patches, b: dyChunk },
      backend: rawBackend as tf.KernelBackend,
      attrs: { transposeA: false, transposeB: false },
    }) as tf.TensorInfo;
    const pr = backend.typedArrayFromHeap(product) as Float32Array;
    for (let i = 0; i < accumulated.length; i++) accumulated[i]! += pr[i]!;
    backend.disposeData(product.dataId);
    backend.disposeData(patches.dataId);
    backend.disposeData(dyChunk.dataId);
  }
  const out = backend.makeOutput(filterShape, 'float32');
  (backend.typedArrayFromHeap(out) as Float32Array).set(accumulated);
  return out;
}

/**
 * Stride-1 conv1d (the denoiser's every layer): each batch item becomes a frame of
 * F = outWidth + kernel − 1 positions holding its zero-padded input, and dy gets kernel − 1 zero
 * rows after each item's outputs. Then dW[f, ci, :] = Σ_q xᵀ[ci, q + f] · dy[q, :] over all frames at
 * once, so row (f, ci) of the patch matrix is ONE contiguous run of the channel-major input instead
 * of one short copy per batch item. The channel-major input comes from wasm's Transpose.
 * The six weight gradients of the 'tiny' denoiser (64 tokens of 256): 220 ms → 145 ms (2-core dev machine).
 */
function conv1DBackpropFilter(
  backend: WasmBackendLike,
  kernelBackend: tf.KernelBackend,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
  filterShape: [number, number, number, number],
): tf.TensorInfo {
  const { batchSize, inWidth, inChannels, outWidth, outChannels, filterWidth } = info;
  const left = info.padInfo.left;
  const frame = outWidth + filterWidth - 1;
  const positions = batchSize * frame;
  const rowLength = positions + filterWidth - 1;
  const patchRows = filterWidth * inChannels;
  const chunk = Math.max(1, Math.min(positions, Math.floor(MAX_PATCH_ELEMENTS / patchRows)));
  const transpose = tf.getKernel('Transpose', 'wasm')!.kernelFunc;
  const matMul = tf.getKernel('BatchMatMul', 'wasm')!.kernelFunc;

  // xᵀ as [Cin, N, L] (wasm), then laid into zero-padded frames: [Cin, rowLength]. As a 3-D
  // transpose: wasm's 2-D one took 33 ms for [16384,128], the 3-D one 6 ms (2-core dev machine).
  const xT = transpose({ inputs: { x: { ...x, shape: [batchSize, inWidth, inChannels] } }, backend: kernelBackend, attrs: { perm: [2, 0, 1] } }) as tf.TensorInfo;
  const framed = backend.makeOutput([inChannels, rowLength], 'float32');
  const dyFramed = backend.makeOutput([1, positions, outChannels], 'float32');
  {
    const src = backend.typedArrayFromHeap(xT) as Float32Array;
    const dst = backend.typedArrayFromHeap(framed) as Float32Array;
    dst.fill(0);
    for (let ci = 0; ci < inChannels; ci++) {
      for (let n = 0; n < batchSize; n++) {
        const from = (ci * batchSize + n) * inWidth;
        // A negative pad offset would drop leading inputs; conv2d's 'same'/'valid'/explicit pads are ≥ 0.
        dst.set(src.subarray(from, from + inWidth), ci * rowLength + n * frame + left);
      }
    }
    const dyv = backend.typedArrayFromHeap(dy) as Float32Array;
    const dyf = backend.typedArrayFromHeap(dyFramed) as Float32Array;
    const run = outWidth * outChannels;
    for (let n = 0; n < batchSize; n++) {
      dyf.set(dyv.subarray(n * run, (n + 1) * run), n * frame * outChannels);
      dyf.fill(0, n * frame * outChannels + run, (n + 1) * frame * outChannels);
    }
  }
  backend.disposeData(xT.dataId);

  let accumulated: Float32Array | null = null;
  let result: tf.TensorInfo | null = null;
  for (let start = 0; start < positions; start += chunk) {
    const count = Math.min(chunk, positions - start);
    const whole = count === positions;
    const patches = backend.makeOutput([1, patchRows, count], 'float32');
    const dyChunk = whole ? dyFramed : backend.makeOutput([1, count, outChannels], 'float32');
    const xv = backend.typedArrayFromHeap(framed) as Float32Array;
    const pv = backend.typedArrayFromHeap(patches) as Float32Array;
    for (let f = 0; f < filterWidth; f++) {
      for (let ci = 0; ci < inChannels; ci++) {
        const from = ci * rowLength + start + f;
        pv.set(xv.subarray(from, from + count), (f * inChannels + ci) * count);
      }
    }
    if (!whole) {
      const dyf = backend.typedArrayFromHeap(dyFramed) as Float32Array;
      (backend.typedArrayFromHeap(dyChunk) as Float32Array).set(dyf.subarray(start * outChannels, (start + count) * outChannels));
    }
    const product = matMul({ inputs: { a: patches, b: dyChunk }, backend: kernelBackend, attrs: { transposeA: false, transposeB: false } }) as tf.TensorInfo;
    backend.disposeData(patches.dataId);
    if (!whole) backend.disposeData(dyChunk.dataId);
    if (whole) {
      result = product;
    } else {
      const pr = backend.typedArrayFromHeap(product) as Float32Array;
      accumulated ??= new Float32Array(pr.length);
      for (let i = 0; i < accumulated.length; i++) accumulated[i]! += pr[i]!;
      backend.disposeData(product.dataId);
    }
  }
  backend.disposeData(framed.dataId);
  backend.disposeData(dyFramed.dataId);
  if (result) return { ...result, shape: filterShape };
  const out = backend.makeOutput(filterShape, 'float32');
  (backend.typedArrayFromHeap(out) as Float32Array).set(accumulated!);
  return out;
}

function toChannelMajor(x: Float32Array, pixels: number, channels: number): Float32Array {
  const out = new Float32Array(pixels * channels);
  for (let p = 0; p < pixels; p++) {
    const base = p * channels;
    for (let c = 0; c < channels; c++) out[c * pixels + p] = x[base + c]!;
  }
  return out;
}

export const convBackpropFilterKernel: tf.KernelConfig = {
  kernelName: 'Conv2DBackpropFilter',
  backendName: 'wasm',
  kernelFunc: conv2DBackpropFilter as unknown as tf.KernelFunc,
};
