// Tensors held in memory as raw little-endian bytes (TensorData), and their dtypes: sizes and
// conversions to and from numbers. What every layer shares: the format readers and writers, the
// catalog, the RPG tokenizer and the zoo's tasks all pass TensorData; none of them owns it.
import type { DType } from './protocol.js';

/** A tensor held in memory: the currency of readers, writers, the tokenizer and the tasks. */
export interface TensorData {
  name: string;
  dtype: DType;
  shape: number[];
  data: Uint8Array;
}

export const DTYPE_SIZE: Record<DType, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

export const DTYPES: readonly DType[] = ['F64', 'F32', 'F16', 'BF16', 'I64', 'I32', 'I16', 'I8', 'U8', 'BOOL'];

export function isDType(value: unknown): value is DType {
  return typeof value === 'string' && (DTYPES as readonly string[]).includes(value);
}

/** Number of elements of a shape, or null when it is not a safe integer (absurd shapes are refused before allocating). */
export function elementCount(shape: readonly number[]): number | null {
  let count = 1n;
  for (const dim of shape) {
    if (!Number.isSafeInteger(dim) || dim < 0) return null;
    count *= BigInt(dim);
  }
  return count <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(count) : null;
}

/** Byte length of a tensor, or null when it overflows a safe integer. */
export function byteLengthOf(dtype: DType, shape: readonly number[]): number | null {
  const count = elementCount(shape);
  if (count === null) return null;
  const bytes = BigInt(count) * BigInt(DTYPE_SIZE[dtype]);
  return bytes <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(bytes) : null;
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

export function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : NaN;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

export function bfloat16ToFloat(bits: number): number {
  u32Scratch[0] = bits << 16;
  return f32Scratch[0]!;
}

/** float → IEEE half bits, round to nearest even (what torch's `.half()` does). */
export function floatToHalf(value: number): number {
  f32Scratch[0] = value;
  const x = u32Scratch[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  let mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  const e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mantissa |= 0x800000;
    const shift = 14 - e;
    const half = mantissa >>> shift;
    const rest = mantissa & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    return sign | (rest > halfway || (rest === halfway && half & 1) ? half + 1 : half);
  }
  const half = (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  return sign | (rest > 0x1000 || (rest === 0x1000 && half & 1) ? half + 1 : half);
}

/** float → bfloat16 bits, round to nearest even; NaN stays NaN. */
export function floatToBfloat16(value: number): number {
  f32Scratch[0] = value;
  const x = u32Scratch[0]!;
  if ((x & 0x7fffffff) > 0x7f800000) return ((x >>> 16) | 0x40) & 0xffff;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

/** A typed-array view of little-endian tensor bytes (copied first when the bytes are not aligned for the type). */
function view(dtype: DType, bytes: Uint8Array): ArrayLike<number | bigint> {
  const size = DTYPE_SIZE[dtype];
  if (bytes.byteLength % size !== 0) throw new RangeError(`${bytes.byteLength} bytes are not a whole number of ${dtype} values`);
  const aligned = bytes.byteOffset % size === 0 ? bytes : bytes.slice();
  const { buffer, byteOffset } = aligned;
  const count = bytes.byteLength / size;
  switch (dtype) {
    case 'F64':
      return new Float64Array(buffer, byteOffset, count);
    case 'F32':
      return new Float32Array(buffer, byteOffset, count);
    case 'F16':
    case 'BF16':
      return new Uint16Array(buffer, byteOffset, count);
    case 'I64':
      return new BigInt64Array(buffer, byteOffset, count);
    case 'I32':
      return new Int32Array(buffer, byteOffset, count);
    case 'I16':
      return new Int16Array(buffer, byteOffset, count);
    case 'I8':
      return new Int8Array(buffer, byteOffset, count);
    case 'U8':
    case 'BOOL':
      return new Uint8Array(buffer, byteOffset, count);
  }
}

/** One element as a JS number (int64 beyond 2^53 loses precision, as float64 would). */
function decoder(dtype: DType): (raw: number | bigint) => number {
  if (dtype === 'F16') return (raw) => halfToFloat(raw as number);
  if (dtype === 'BF16') return (raw) => bfloat16ToFloat(raw as number);
  if (dtype === 'BOOL') return (raw) => ((raw as number) !== 0 ? 1 : 0);
  return (raw) => Number(raw);
}

/** Decodes little-endian tensor bytes of any dtype to float32 (the precision TensorFlow.js trains in). */
export function toFloat32Array(dtype: DType, bytes: Uint8Array): Float32Array {
  if (dtype === 'F32') return new Float32Array(view(dtype, bytes) as Float32Array);
  return Float32Array.from(toFloat64Array(dtype, bytes));
}

/** Decodes little-endian tensor bytes of any dtype to float64 numbers. */
export function toFloat64Array(dtype: DType, bytes: Uint8Array): Float64Array {
  const values = view(dtype, bytes);
  const decode = decoder(dtype);
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = decode(values[i]!);
  return out;
}

/** Encodes numbers as little-endian bytes of `dtype`: halves round to nearest even, integers round to nearest. */
export function fromFloat32Array(dtype: DType, values: ArrayLike<number>): Uint8Array {
  const n = values.length;
  const bytes = new Uint8Array(n * DTYPE_SIZE[dtype]);
  const { buffer } = bytes;
  switch (dtype) {
    case 'F64':
      new Float64Array(buffer).set(values);
      break;
    case 'F32':
      new Float32Array(buffer).set(values);
      break;
    case 'F16': {
      const out = new Uint16Array(buffer);
      for (let i = 0; i < n; i++) out[i] = floatToHalf(values[i]!);
      break;
    }
    case 'BF16': {
      const out = new Uint16Array(buffer);
      for (let i = 0; i < n; i++) out[i] = floatToBfloat16(values[i]!);
      break;
    }
    case 'I64': {
      const out = new BigInt64Array(buffer);
      for (let i = 0; i < n; i++) out[i] = BigInt(Math.round(values[i]!));
      break;
    }
    case 'I32': {
      const out = new Int32Array(buffer);
      for (let i = 0; i < n; i++) out[i] = Math.round(values[i]!);
      break;
    }
    case 'I16': {
      const out = new Int16Array(buffer);
      for (let i = 0; i < n; i++) out[i] = Math.round(values[i]!);
      break;
    }
    case 'I8': {
      const out = new Int8Array(buffer);
      for (let i = 0; i < n; i++) out[i] = Math.round(values[i]!);
      break;
    }
    case 'U8': {
      const out = new Uint8Array(buffer);
      for (let i = 0; i < n; i++) out[i] = Math.round(values[i]!);
      break;
    }
    case 'BOOL':
      for (let i = 0; i < n; i++) bytes[i] = values[i] ? 1 : 0;
      break;
  }
  return bytes;
}

/** float64 sum of all values and the first `firstCount` values, without materialising a decoded copy. */
export function sumAndFirst(dtype: DType, bytes: Uint8Array, firstCount = 4): { sum: number; first: number[] } {
  const values = view(dtype, bytes);
  const decode = decoder(dtype);
  let sum = 0;
  const first: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const value = decode(values[i]!);
    sum += value;
    if (i < firstCount) first.push(value);
  }
  return { sum, first };
}
