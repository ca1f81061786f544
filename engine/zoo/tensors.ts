// Weights as the zoo code holds them: named Float32Array / BigInt64Array values, checked against a
// task's signature and converted to and from TensorData (engine/tensors.ts, which decodes dtypes).
import type { DType, TensorSignature } from '../protocol.js';
import { DTYPE_SIZE, toFloat32Array, type TensorData } from '../tensors.js';
import { TaskError } from './errors.js';

export type WeightArray = Float32Array | BigInt64Array;
/** What evaluation and training accept: TensorData in any order, or a map of name → values or TensorData. */
export type WeightsInput = TensorData[] | Map<string, WeightArray | TensorData>;

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function bytesOf(view: ArrayBufferView): Uint8Array {
  // Copy: the caller may keep mutating its array. Typed arrays are little-endian on every
  // platform Node ships for (x64, arm64).
  return new Uint8Array(view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength));
}

export function float32Tensor(name: string, shape: number[], values: Float32Array): TensorData {
  return { name, dtype: 'F32', shape: [...shape], data: bytesOf(values) };
}

export function int64Tensor(name: string, shape: number[], values: BigInt64Array): TensorData {
  return { name, dtype: 'I64', shape: [...shape], data: bytesOf(values) };
}

const isFloatDType = (dtype: DType): boolean => dtype === 'F32' || dtype === 'F64' || dtype === 'F16' || dtype === 'BF16';

/** Decodes a floating-point TensorData (F32, F64, F16, BF16) to float32 values. */
export function decodeFloat(tensor: TensorData): Float32Array {
  if (!isFloatDType(tensor.dtype)) {
    throw new TaskError('weights_dtype', `tensor '${tensor.name}' has dtype ${tensor.dtype}, expected a float dtype`);
  }
  return toFloat32Array(tensor.dtype, tensor.data);
}

function decodeInt64(tensor: TensorData): BigInt64Array {
  const count = numel(tensor.shape);
  const view = new DataView(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
  const out = new BigInt64Array(count);
  if (tensor.dtype === 'I64') for (let i = 0; i < count; i++) out[i] = view.getBigInt64(i * 8, true);
  else if (tensor.dtype === 'I32') for (let i = 0; i < count; i++) out[i] = BigInt(view.getInt32(i * 4, true));
  else throw new TaskError('weights_dtype', `tensor '${tensor.name}' has dtype ${tensor.dtype}, expected I64`);
  return out;
}

/**
 * Checks weights against a task's signature (every name present, shapes equal, float where the
 * task wants float) and returns them as arrays in signature order. Extra tensors are refused:
 * they mean the weights belong to another architecture.
 */
export function weightsToArrays(weights: WeightsInput, signature: readonly TensorSignature[], taskId: string): Map<string, WeightArray> {
  const byName = new Map<string, WeightArray | TensorData>();
  if (Array.isArray(weights)) for (const tensor of weights) byName.set(tensor.name, tensor);
  else for (const [name, value] of weights) byName.set(name, value);
  const hint = `weights for task '${taskId}' need exactly: ${signature.map((s) => `${s.name} [${s.shape.join(',')}]`).join(', ')}`;
  const expected = new Set(signature.map((s) => s.name));
  for (const name of byName.keys()) {
    if (!expected.has(name)) throw new TaskError('weights_mismatch', `tensor '${name}' is not part of task '${taskId}'`, { hint });
  }
  const out = new Map<string, WeightArray>();
  for (const spec of signature) {
    const value = byName.get(spec.name);
    if (value === undefined) throw new TaskError('weights_mismatch', `tensor '${spec.name}' is missing for task '${taskId}'`, { hint });
    const count = numel(spec.shape);
    let array: WeightArray;
    if (value instanceof Float32Array || value instanceof BigInt64Array) {
      array = value;
    } else {
      if (value.shape.length !== spec.shape.length || value.shape.some((d, i) => d !== spec.shape[i])) {
        throw new TaskError('weights_mismatch', `tensor '${spec.name}' has shape [${value.shape.join(',')}], task '${taskId}' needs [${spec.shape.join(',')}]`, { hint });
      }
      if (value.data.byteLength !== count * DTYPE_SIZE[value.dtype]) {
        throw new TaskError('weights_mismatch', `tensor '${spec.name}' holds ${value.data.byteLength} bytes, ${value.dtype} [${value.shape.join(',')}] needs ${count * DTYPE_SIZE[value.dtype]}`);
      }
      array = isFloatDType(spec.dtype) ? decodeFloat(value) : decodeInt64(value);
    }
    if (array.length !== count) {
      throw new TaskError('weights_mismatch', `tensor '${spec.name}' has ${array.length} values, task '${taskId}' needs ${count}`, { hint });
    }
    if (isFloatDType(spec.dtype) !== array instanceof Float32Array) {
      throw new TaskError('weights_dtype', `tensor '${spec.name}' must be ${spec.dtype} for task '${taskId}'`, { hint });
    }
    out.set(spec.name, array);
  }
  return out;
}

/** Arrays in signature order → TensorData with the signature's dtypes. */
export function arraysToTensors(arrays: Map<string, WeightArray>, signature: readonly TensorSignature[]): TensorData[] {
  return signature.map((spec) => {
    const array = arrays.get(spec.name);
    if (array === undefined) throw new Error(`bug: no values for ${spec.name}`);
    return array instanceof Float32Array ? float32Tensor(spec.name, spec.shape, array) : int64Tensor(spec.name, spec.shape, array);
  });
}
