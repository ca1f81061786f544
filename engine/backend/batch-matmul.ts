// BatchMatMul for wasm that runs XNNPACK's fast 2-D path once per batch item. Stock wasm 4.22
// takes a naive loop for any batch > 1 (~1.5 GFLOP/s against ~15+ for a 2-D matMul, measured on
// the 2-core dev machine). Each item's operands are copied into their own heap buffers (a copy
// is O(M·K), the product O(M·K·N)); a side shared by every item (batch 1) is passed as is, so
// XNNPACK packs it once. Item buffers are freed at once, and with them XNNPACK's packed copy.
import { tf } from '../tf.js';
import { asWasm, type KernelArgs } from './wasm-heap.js';

/** Items smaller than this (M·K·N) stay on the stock kernel: the per-call overhead wins there. */
const MIN_ITEM_MACS = 2 ** 14;

function makeBatchMatMul(stock: tf.KernelFunc): tf.KernelFunc {
  return ((args: KernelArgs) => {
    const { inputs, backend: rawBackend, attrs } = args;
    const a = inputs.a!;
    const b = inputs.b!;
    const transposeA = Boolean(attrs!.transposeA);
    const transposeB = Boolean(attrs!.transposeB);
    const batchA = tf.util.sizeFromShape(a.shape.slice(0, -2));
    const batchB = tf.util.sizeFromShape(b.shape.slice(0, -2));
    const batch = Math.max(batchA, batchB);
    const m = a.shape[a.shape.length - 2]!;
    const k = a.shape[a.shape.length - 1]!;
    const n = b.shape[b.shape.length - 1]!;
    // Only plain, float32, batch > 1 products with 1-or-equal batches: everything else as before.
    const plain = !transposeA && !transposeB && a.dtype === 'float32' && b.dtype === 'float32';
    const batchShapeA = a.shape.slice(0, -2);
    const batchShapeB = b.shape.slice(0, -2);
    const batches = tf.util.arraysEqual(batchShapeA, batchShapeB) || (batchA === 1 && batchShapeA.length <= batchShapeB.length) || (batchB === 1 && batchShapeB.length <= batchShapeA.length);
    if (!plain || batch === 1 || !batches || m * k * n < MIN_ITEM_MACS || b.shape[b.shape.length - 2] !== k) {
      return stock(args as unknown as Parameters<tf.KernelFunc>[0]);
    }
    const backend = asWasm(rawBackend);
    const kernelBackend = rawBackend as tf.KernelBackend;
    const out = backend.makeOutput([...(batchA === batch ? batchShapeA : batchShapeB), m, n], 'float32');
    const itemOf = (x: tf.TensorInfo, rows: number, columns: number, index: number): tf.TensorInfo => {
      const item = backend.makeOutput([1, rows, columns], 'float32');
      const size = rows * columns;
      (backend.typedArrayFromHeap(item) as Float32Array).set((backend.typedArrayFromHeap(x) as Float32Array).subarray(index * size, (index + 1) * size));
      return item;
    };
    const sharedA = batchA === 1 ? { ...a, shape: [1, m, k] } : null;
    const sharedB = batchB === 1 ? { ...b, shape: [1, k, n] } : null;
    for (let i = 0; i < batch; i++) {
      const ai = sharedA ?? itemOf(a, m, k, i);
      const bi = sharedB ?? itemOf(b, k, n, i);
      const product = stock({ inputs: { a: ai, b: bi }, backend: kernelBackend, attrs: { transposeA: false, transposeB: false } }) as tf.TensorInfo;
      (backend.typedArrayFromHeap(out) as Float32Array).set(backend.typedArrayFromHeap(product) as Float32Array, i * m * n);
      backend.disposeData(product.dataId);
      if (!sharedA) backend.disposeData(ai.dataId);
      if (!sharedB) backend.disposeData(bi.dataId);
    }
    return out;
  }) as unknown as tf.KernelFunc;
}

/** The wasm BatchMatMul kernel, wrapping the stock one (read it before replacing it). */
export function batchMatMulKernel(): tf.KernelConfig {
  const stock = tf.getKernel('BatchMatMul', 'wasm')!.kernelFunc;
  return { kernelName: 'BatchMatMul', backendName: 'wasm', kernelFunc: makeBatchMatMul(stock) };
}
