// Checkpoints into the blob store, as safetensors (engine/formats/safetensors.ts SafetensorsWriter)
// streamed into a blob draft that hashes its bytes as they are written: one write, no read-back.
// Whole checkpoints (an import's opened file, a trained state) go through storeCheckpoint; a
// generated model, whose tensors are made one after another, through SafetensorsBlobWriter.
import type { TensorSignature } from '../protocol.js';
import type { BlobDraft, BlobStore, StoredBlob } from '../blobs.js';
import { SafetensorsWriter } from '../formats/safetensors.js';
import type { TensorInput } from '../formats/index.js';

/** records the blob as held (engine/catalog/gc.ts blobHolder) before it is looked for, until its row is committed */
export type Hold = (sha256: string) => void;

export class SafetensorsBlobWriter {
  private constructor(
    private readonly blobs: BlobStore,
    private readonly draft: BlobDraft,
    private readonly writer: SafetensorsWriter,
  ) {}

  /** Starts the blob: its header follows from the signature (names, dtypes, shapes fix every offset). */
  static async open(blobs: BlobStore, signature: readonly Pick<TensorSignature, 'name' | 'dtype' | 'shape'>[], metadata: Record<string, string>): Promise<SafetensorsBlobWriter> {
    const draft = await blobs.create();
    try {
      return new SafetensorsBlobWriter(blobs, draft, await SafetensorsWriter.start(draft, signature, metadata, draft.temp));
    } catch (error) {
      await draft.discard();
      throw error;
    }
  }

  /** Appends the next tensor of the signature (in memory, or an opened checkpoint's entry, read slice by slice). */
  async write(tensor: TensorInput): Promise<void> {
    await this.writer.write(tensor);
  }

  /** Stores the blob (fsynced, named by its hash); `hold` is committed before the blob is looked for. */
  async finish(hold?: Hold): Promise<StoredBlob> {
    if (!this.writer.complete) {
      await this.abort();
      throw new Error(`bug: the blob ${this.draft.temp} was finished before all its tensors were written`);
    }
    return this.blobs.commit(this.draft, hold);
  }

  /** Removes the unfinished blob. */
  async abort(): Promise<void> {
    await this.draft.discard();
  }
}

/**
 * Stores a whole checkpoint as one safetensors blob, tensor by tensor (an opened checkpoint's read
 * as they are written: pipeline/stored.ts readInJob makes them cancellable); a failure leaves no blob.
 */
export async function storeCheckpoint(blobs: BlobStore, tensors: readonly TensorInput[], metadata: Record<string, string>, hold?: Hold): Promise<StoredBlob> {
  const writer = await SafetensorsBlobWriter.open(blobs, tensors, metadata);
  try {
    for (const tensor of tensors) await writer.write(tensor);
  } catch (error) {
    await writer.abort();
    throw error;
  }
  return writer.finish(hold);
}
