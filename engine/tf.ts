// TensorFlow.js, loaded on first use. This is the one module that imports '@tensorflow/tfjs' at run
// time; every engine file takes it from here:
//   import { tf } from '../tf.js';   // then tf.matMul(...), tf.Tensor2D as a type, as before
// `tf` is a live binding: TensorFlow.js once loadTf() has run, before that a stand-in whose every
// use throws (a bug: some code computed before a job chose its backend). initBackend (./backend.ts)
// calls loadTf(), and every job that computes calls initBackend first (pipeline/backend.ts), so
// importing a module that computes costs nothing: the catalog, the formats, inspect, import,
// export and `paramzoo serve` start without TensorFlow.js (0.6 s or more and about 60 MiB here).
// Order matters for backends that register themselves when imported: this module loads the core
// and its bundled backends (cpu, webgl); ./backend.ts then imports a backend package (wasm,
// tfjs-node, webgpu). What a backend package needs before it is imported (WebGPU's navigator.gpu
// and its globals) is set up just before that import (./backend/webgpu.ts).
import type * as TF from '@tensorflow/tfjs';

type Tf = typeof TF;

let loaded: Tf | null = null;

/** What `tf` is before loadTf(): every use throws; a copy of it taken early (`const { tf } = await import(…)`) forwards once loaded. */
const notLoaded = new Proxy({} as Tf, {
  get(_target, property) {
    if (loaded) return Reflect.get(loaded, property) as unknown;
    throw new Error(`TensorFlow.js used (tf.${String(property)}) before it was loaded: call loadTf() or initBackend() from engine/backend.ts first`);
  },
});

// A mutable export on purpose: importers see the module once it is loaded, with no indirection per call.
// biome-ignore lint/style/useConst: loadTf() assigns it (Biome misses that beside the namespace of the same name)
export let tf: Tf = notLoaded;

/** The type names engine code writes as `tf.X` (a value cannot carry a namespace's types, so they are listed). */
export declare namespace tf {
  type Rank = TF.Rank;
  type DataType = TF.DataType;
  type Tensor<R extends TF.Rank = TF.Rank> = TF.Tensor<R>;
  type Scalar = TF.Scalar;
  type Tensor1D = TF.Tensor1D;
  type Tensor2D = TF.Tensor2D;
  type Tensor3D = TF.Tensor3D;
  type Tensor4D = TF.Tensor4D;
  type Tensor5D = TF.Tensor5D;
  type Variable<R extends TF.Rank = TF.Rank> = TF.Variable<R>;
  type TensorInfo = TF.TensorInfo;
  type NamedTensorMap = TF.NamedTensorMap;
  type Optimizer = TF.Optimizer;
  type Reduction = TF.Reduction;
  type KernelBackend = TF.KernelBackend;
  type KernelConfig = TF.KernelConfig;
  type KernelFunc = TF.KernelFunc;
  type GradConfig = TF.GradConfig;
  type GradSaveFunc = TF.GradSaveFunc;
  type NamedAttrMap = TF.NamedAttrMap;
  namespace backend_util {
    type Conv2DInfo = TF.backend_util.Conv2DInfo;
    type ExplicitPadding = TF.backend_util.ExplicitPadding;
  }
}

let loading: Promise<Tf> | null = null;

/** Loads TensorFlow.js once per process; later calls return the same module. */
export function loadTf(): Promise<Tf> {
  loading ??= (async () => {
    loaded = await import('@tensorflow/tfjs');
    tf = loaded;
    return loaded;
  })();
  return loading;
}

/** Whether TensorFlow.js has been loaded in this process. */
export function tfLoaded(): boolean {
  return loaded !== null;
}
