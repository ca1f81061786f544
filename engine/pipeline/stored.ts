// Tensors of opened checkpoints and of stored blobs (checkpoints, generator states, generated
// models), read back: whole, or one tensor at a time.
import type { TensorData } from '../tensors.js';
import { openCheckpoint, type OpenedCheckpoint, type TensorEntry } from '../formats/index.js';
import type { BlobStore } from '../blobs.js';
import type { JobContext } from '../jobs.js';

const NEVER_CANCELLED = { throwIfCancelled: () => undefined };

/**
 * An opened checkpoint's entries, read on a job's behalf: each read (each slice) first checks for
 * cancellation, and `onRead` hears how many of all the bytes were read, so a writer streaming
 * them (an import into a blob, an export) stops within a slice and reports as it goes.
 */
export function readInJob(entries: readonly TensorEntry[], ctx: Pick<JobContext, 'throwIfCancelled'>, onRead?: (bytes: number, total: number) => void): TensorEntry[] {
  const total = entries.reduce((sum, entry) => sum + entry.byteLength, 0);
  let done = 0;
  const counted = (bytes: Uint8Array): Uint8Array => {
    done += bytes.byteLength;
    onRead?.(done, total);
    return bytes;
  };
  return entries.map((entry): TensorEntry => {
    const { readSlices } = entry;
    return {
      ...entry,
      read: async () => {
        ctx.throwIfCancelled();
        return counted(await entry.read());
      },
      ...(readSlices
        ? {
            readSlices: async function* (maxBytes: number) {
              ctx.throwIfCancelled();
              for await (const slice of readSlices.call(entry, maxBytes)) {
                ctx.throwIfCancelled();
                yield counted(slice);
              }
            },
          }
        : {}),
    };
  });
}

/** Every tensor's bytes, in the checkpoint's order; checks for cancellation between tensors. */
export async function readAllTensors(opened: OpenedCheckpoint, ctx: Pick<JobContext, 'throwIfCancelled'>): Promise<TensorData[]> {
  const tensors: TensorData[] = [];
  for (const entry of opened.tensors) {
    ctx.throwIfCancelled();
    tensors.push({ name: entry.name, dtype: entry.dtype, shape: entry.shape, data: await entry.read() });
  }
  return tensors;
}

/** A stored blob, opened by its sha256 like any checkpoint: tensors read only when asked. */
export function openBlob(blobs: BlobStore, sha256: string): Promise<OpenedCheckpoint> {
  return openCheckpoint(blobs.existingPath(sha256));
}

/** Every tensor of a stored blob, in file order, with the file's string metadata. */
export async function readBlobTensors(blobs: BlobStore, sha256: string): Promise<{ tensors: TensorData[]; metadata: Record<string, string> }> {
  const opened = await openBlob(blobs, sha256);
  try {
    return { tensors: await readAllTensors(opened, NEVER_CANCELLED), metadata: opened.metadata };
  } finally {
    await opened.close();
  }
}

/** A stored blob's tensors one at a time, in file order; the file is closed when the loop ends (or leaves early). */
export async function* blobTensors(blobs: BlobStore, sha256: string): AsyncGenerator<TensorData> {
  const opened = await openBlob(blobs, sha256);
  try {
    for (const entry of opened.tensors) yield { name: entry.name, dtype: entry.dtype, shape: entry.shape, data: await entry.read() };
  } finally {
    await opened.close();
  }
}
