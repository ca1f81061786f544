// Tensors of opened checkpoints and of stored blobs (checkpoints, generator states, generated
// models), read back: whole, or one tensor at a time.
import type { TensorData } from '../tensors.js';
import { openCheckpoint, type OpenedCheckpoint } from '../formats/index.js';
import type { BlobStore } from '../blobs.js';
import type { JobContext } from '../jobs.js';

const NEVER_CANCELLED = { throwIfCancelled: () => undefined };

/** Every tensor's bytes, in the checkpoint's order; checks for cancellation between tensors. */
export async function readAllTensors(opened: OpenedCheckpoint, ctx: Pick<JobContext, 'throwIfCancelled'>): Promise<TensorData[]> {
  const tensors: TensorData[] = [];
  for (const entry of opened.tensors) {
    ctx.throwIfCancelled();
    tensors.push({ name: entry.name, dtype: entry.dtype, shape: entry.shape, data: await entry.read() });
  }
  return tensors;
}

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
