import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';

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
