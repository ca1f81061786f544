import { open, type FileHandle } from 'node:fs/promises';

/** Bytes read from checkpoint files through positional reads, process-wide: lets tests prove reads stay lazy. */
export const readStats = { bytesRead: 0 };

/** A file read only by positional reads: nothing is loaded that was not asked for, so files may exceed the heap. */
export class RandomAccessFile {
  private closed = false;

  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
    readonly size: number,
  ) {}

  static async open(path: string): Promise<RandomAccessFile> {
    const handle = await open(path, 'r');
    try {
      const stat = await handle.stat();
      return new RandomAccessFile(path, handle, stat.size);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /** true when [offset, offset + length) lies inside the file */
  contains(offset: number, length: number): boolean {
    return Number.isSafeInteger(offset) && Number.isSafeInteger(length) && offset >= 0 && length >= 0 && offset + length <= this.size;
  }

  /**
   * Reads exactly `length` bytes at `offset`. `onOutOfRange` builds the format's own error when the
   * range leaves the file (a truncated file), so the message names the reader that refused it.
   */
  async read(offset: number, length: number, onOutOfRange: () => Error): Promise<Uint8Array> {
    if (this.closed) throw new Error(`${this.path} was read after its checkpoint was closed`);
    if (!this.contains(offset, length)) throw onOutOfRange();
    const buffer = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      // Positional reads are capped near 2 GiB by the OS; read big tensors in slices.
      const chunk = Math.min(length - done, 1 << 30);
      const { bytesRead } = await this.handle.read(buffer, done, chunk, offset + done);
      if (bytesRead === 0) throw onOutOfRange();
      done += bytesRead;
    }
    readStats.bytesRead += length;
    return buffer;
  }

  /** The same bytes as read(offset, length), as consecutive reads of at most `maxBytes` (each a fresh buffer). */
  async *slices(offset: number, length: number, maxBytes: number, onOutOfRange: () => Error): AsyncGenerator<Uint8Array> {
    if (!this.contains(offset, length)) throw onOutOfRange();
    const step = Math.max(1, Math.floor(maxBytes));
    for (let done = 0; done < length; done += step) yield await this.read(offset + done, Math.min(step, length - done), onOutOfRange);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.handle.close();
  }
}

/** Reads up to `length` first bytes of a file (fewer when the file is shorter), for sniffing. */
export async function readHead(path: string, length = 64): Promise<Uint8Array> {
  const handle = await open(path, 'r');
  try {
    const buffer = new Uint8Array(length);
    const { bytesRead } = await handle.read(buffer, 0, length, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}
