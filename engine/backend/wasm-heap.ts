// Minimal view of the wasm backend's internals that the JS kernels below rely on
// (@tensorflow/tfjs-backend-wasm 4.22: dataIdMap, makeOutput, typedArrayFromHeap, disposeData).
import type { tf } from '../tf.js';

export interface WasmBackendLike {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  /** a live view of the tensor's bytes in the wasm heap: valid only until the next allocation */
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
  disposeData(dataId: object, force?: boolean): boolean;
}

export interface KernelArgs {
  inputs: Record<string, tf.TensorInfo>;
  backend: unknown;
  attrs?: Record<string, unknown>;
}

export function asWasm(backend: unknown): WasmBackendLike {
  return backend as WasmBackendLike;
}
