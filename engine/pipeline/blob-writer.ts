// Streams one safetensors file into the blob store tensor by tensor: the header is known up front
// from the signature (names, dtypes, shapes fix every offset), so a generated model never has to
// be held whole in memory. The file is a blob temp until finish() fsyncs and adopts it.
import { rm, open, type FileHandle } from 'node:fs/promises';
import type { TensorSignature } from '../protocol.js';
import { byteLengthOf, type TensorData } from '../tensors.js';
import { encodeHeader } from '../formats/safetensors.js';
import type { BlobStore } from '../blobs.js';
import { writeAll } from '../fsutil.js';

export class SafetensorsBlobWriter {
  private next = 0;
  private position = 0;

  private constructor(
    private readonly blobs: BlobStore,
    private readonly signature: readonly TensorSignature[],
    private readonly temp: string,
    private readonly file: FileHandle,
  ) {}

  static async open(blobs: BlobStore, signature: readonly TensorSignature[], metadata: Record<string, string>): Promise<SafetensorsBlobWriter> {
    const sized = signature.map((s) => {
      const byteLength = byteLengthOf(s.dtype, s.shape);
      if (byteLength === null) throw new Error(`bug: tensor '${s.name}' has an impossible shape [${s.shape.join(', ')}]`);
      return { ...s, byteLength };
    });
    const temp = await blobs.tempPath('.safetensors');
    const file = await open(temp, 'wx');
    const writer = new SafetensorsBlobWriter(blobs, signature, temp, file);
    try {
      writer.position = await writeAll(file, encodeHeader(sized, metadata), 0);
    } catch (error) {
      await writer.abort();
      throw error;
    }
    return writer;
  }

  /** Appends the next tensor; it must be the next one of the signature, with its dtype and shape. */
  async write(tensor: TensorData): Promise<void> {
    const expected = this.signature[this.next];
    if (!expected || expected.name !== tensor.name || expected.dtype !== tensor.dtype || expected.shape.join(',') !== tensor.shape.join(',')) {
      throw new Error(`bug: tensor '${tensor.name}' written where '${expected?.name ?? '(end)'}' was expected`);
    }
    if (tensor.data.byteLength !== byteLengthOf(expected.dtype, expected.shape)) throw new Error(`bug: tensor '${tensor.name}' has ${tensor.data.byteLength} bytes`);
    this.position = await writeAll(this.file, tensor.data, this.position);
    this.next += 1;
  }

  /**
   * Fsyncs, closes and stores the file; returns its sha256. `hold` (engine/catalog/gc.ts
   * blobHolder) records the blob as held before it is looked for, until its row is committed.
   */
  async finish(hold?: (sha256: string) => void): Promise<string> {
    if (this.next !== this.signature.length) {
      await this.abort();
      throw new Error(`bug: ${this.next} of ${this.signature.length} tensors were written`);
    }
    try {
      await this.file.sync();
    } finally {
      await this.file.close();
    }
    return (await this.blobs.adopt(this.temp, hold)).sha256;
  }

  async abort(): Promise<void> {
    await this.file.close().catch(() => undefined);
    await rm(this.temp, { force: true });
  }
}
