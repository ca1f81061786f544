import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { createHash, randomBytes, type Hash } from 'node:crypto';

/**
 * Writes a file so that its real name only ever holds a complete file: the bytes go to a temp file
 * in the same folder, which is fsynced, renamed over `path`, and the folder fsynced. On any error
 * the temp file is removed and `path` is left as it was.
 */
export async function writeFileAtomic(path: string, write: (file: FileHandle) => Promise<void>): Promise<void> {
  const folder = dirname(path);
  const temp = join(folder, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const file = await open(temp, 'wx');
  try {
    try {
      await write(file);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  await syncFolder(folder);
}

/** fsync a folder so a rename inside it survives a crash (a no-op where folders cannot be opened, e.g. Windows). */
export async function syncFolder(folder: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(folder, 'r');
    await handle.sync();
  } catch {
    // Windows cannot open or fsync a directory; its rename is already durable enough there.
  } finally {
    await handle?.close();
  }
}

/** Writes `data` at the file's current end, handling short writes. */
export async function writeAll(file: FileHandle, data: Uint8Array, position: number): Promise<number> {
  let written = 0;
  while (written < data.byteLength) {
    const { bytesWritten } = await file.write(data, written, data.byteLength - written, position + written);
    written += bytesWritten;
  }
  return position + written;
}

/** Where a writer's bytes go, in order: a file being written, or a blob being stored. */
export interface ByteSink {
  write(bytes: Uint8Array): Promise<void>;
}

/** Appends to a file and hashes (sha256) what it appends: the file's hash without reading it back. */
export class HashingFileWriter implements ByteSink {
  private position = 0;
  private readonly hash: Hash = createHash('sha256');
  private digest: string | undefined;

  constructor(private readonly file: FileHandle) {}

  async write(bytes: Uint8Array): Promise<void> {
    if (this.digest !== undefined) throw new Error('bug: a write after the hash was taken');
    // The write runs on libuv's pool while this thread hashes the same bytes.
    const writing = writeAll(this.file, bytes, this.position);
    this.hash.update(bytes);
    this.position = await writing;
  }

  get bytesWritten(): number {
    return this.position;
  }

  /** The sha256 (hex) of every byte written; no write may follow. */
  sha256(): string {
    this.digest ??= this.hash.digest('hex');
    return this.digest;
  }
}
