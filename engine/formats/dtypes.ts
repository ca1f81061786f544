// dtype names as PyTorch files spell them (torch.float32, legacy typed-storage classes) and the
// byte order of big-endian legacy files. The dtypes themselves, their sizes and conversions are
// engine/tensors.ts.
import type { DType } from '../protocol.js';

/** torch dtype names (as `str(tensor.dtype)` minus "torch.") → safetensors names */
export const TORCH_DTYPE_TO_DTYPE: Record<string, DType> = {
  float64: 'F64',
  double: 'F64',
  float32: 'F32',
  float: 'F32',
  float16: 'F16',
  half: 'F16',
  bfloat16: 'BF16',
  int64: 'I64',
  long: 'I64',
  int32: 'I32',
  int: 'I32',
  int16: 'I16',
  short: 'I16',
  int8: 'I8',
  uint8: 'U8',
  bool: 'BOOL',
};

/** torch legacy typed-storage classes (`torch.FloatStorage`, …) → dtype */
export const STORAGE_CLASS_TO_DTYPE: Record<string, DType> = {
  DoubleStorage: 'F64',
  FloatStorage: 'F32',
  HalfStorage: 'F16',
  BFloat16Storage: 'BF16',
  LongStorage: 'I64',
  IntStorage: 'I32',
  ShortStorage: 'I16',
  CharStorage: 'I8',
  ByteStorage: 'U8',
  BoolStorage: 'BOOL',
};

export const DTYPE_TO_STORAGE_CLASS: Record<DType, string> = Object.fromEntries(Object.entries(STORAGE_CLASS_TO_DTYPE).map(([storage, dtype]) => [dtype, storage])) as Record<DType, string>;

/** Reverses the byte order of every element in place (big-endian files → little-endian). */
export function swapByteOrder(bytes: Uint8Array, elementSize: number): void {
  if (elementSize === 1) return;
  for (let i = 0; i + elementSize <= bytes.length; i += elementSize) {
    for (let a = i, b = i + elementSize - 1; a < b; a++, b--) {
      const t = bytes[a]!;
      bytes[a] = bytes[b]!;
      bytes[b] = t;
    }
  }
}
