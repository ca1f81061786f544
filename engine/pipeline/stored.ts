// Tensors stored in the blob store (checkpoints, generator states, generated models), read back.
import type { TensorData } from '../tensors.js';
import { openCheckpoint } from '../formats/index.js';
import { readAllTensors } from '../catalog/tensors.js';
import type { BlobStore } from '../blobs.js';

const NEVER_CANCELLED = { throwIfCancelled: () => undefined };

/** Every tensor of a stored blob, in file order, with the file's string metadata. */
export async function readBlobTensors(blobs: BlobStore, sha256: string): Promise<{ tensors: TensorData[]; metadata: Record<string, string> }> {
  const opened = await openCheckpoint(blobs.existingPath(sha256));
  try {
    return { tensors: await readAllTensors(opened, NEVER_CANCELLED), metadata: opened.metadata };
  } finally {
    await opened.close();
  }
}

/** A stored blob's tensors one at a time, in file order; the file is closed when the loop ends (or leaves early). */
export async function* blobTensors(blobs: BlobStore, sha256: string): AsyncGenerator<TensorData> {
  const opened = await openCheckpoint(blobs.existingPath(sha256));
  try {
    for (const entry of opened.tensors) yield { name: entry.name, dtype: entry.dtype, shape: entry.shape, data: await entry.read() };
  } finally {
    await opened.close();
  }
}
