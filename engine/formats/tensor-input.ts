// What a writer was given (types.ts TensorInput), read the way writers read it: a tensor in memory
// as it is, an opened checkpoint's entry one slice at a time. Writing a checkpoint thus holds one
// slice of it (one tensor where the reader cannot slice), never the whole checkpoint.
import { byteLengthOf, isDType, type TensorData } from '../tensors.js';
import type { TensorInput } from './types.js';

/** The slice writers read an entry in: few system calls, and small next to any memory. */
export const WRITE_SLICE_BYTES = 16 * 1024 * 1024;

export function isInMemory(tensor: TensorInput): tensor is TensorData {
  return 'data' in tensor;
}

/** A tensor as a writer's header sees it: name, dtype, shape, and its bytes or their count where known. */
export type TensorDescription = Pick<TensorData, 'name' | 'dtype' | 'shape'> & { data?: Uint8Array; byteLength?: number };

/** The byte count the tensor brings (its data's, or its entry's), undefined when it brings none yet. */
export function byteLengthOfInput(tensor: TensorDescription): number | undefined {
  return tensor.data ? tensor.data.byteLength : tensor.byteLength;
}

/**
 * The tensor's bytes in order: in memory, as one slice; an entry, in slices of at most `maxBytes`
 * where its reader can slice, else whole. `fail` builds the writer's error when the bytes do not
 * add up to the tensor's byte length (its file changed while it was read).
 */
export async function* tensorSlices(tensor: TensorInput, fail: (problem: string) => Error, maxBytes = WRITE_SLICE_BYTES): AsyncGenerator<Uint8Array> {
  if (isInMemory(tensor)) {
    yield tensor.data;
    return;
  }
  let total = 0;
  for await (const slice of tensor.readSlices ? tensor.readSlices(maxBytes) : [await tensor.read()]) {
    total += slice.byteLength;
    if (total > tensor.byteLength) break;
    yield slice;
  }
  if (total !== tensor.byteLength) throw fail(`tensor "${tensor.name}" gave ${total} bytes where ${tensor.byteLength} were expected`);
}

/** Checks writer input before anything is written: unique names, known dtypes, shapes of a possible size matching the bytes given. */
export function validateTensors(path: string, tensors: readonly TensorDescription[], makeError: (file: string, problem: string, hint?: string) => Error): void {
  const seen = new Set<string>();
  for (const t of tensors) {
    if (seen.has(t.name)) throw makeError(path, `tensor name "${t.name}" appears twice`, 'give every tensor a unique name');
    seen.add(t.name);
    if (!isDType(t.dtype)) throw makeError(path, `tensor "${t.name}" has unknown dtype ${String(t.dtype)}`);
    const expected = byteLengthOf(t.dtype, t.shape);
    const given = byteLengthOfInput(t);
    if (expected === null || (given !== undefined && expected !== given)) {
      throw makeError(path, `tensor "${t.name}" has shape [${t.shape.join(', ')}] × ${t.dtype} = ${expected ?? 'overflow'} bytes but ${given} bytes of data`);
    }
  }
}
