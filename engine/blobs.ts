// Content-addressed storage: `blobs/ab/abcdef…` named by the sha256 of the file's bytes.
// Writes go to a temp file at the blobs root (never a two-level name), are fsynced, then renamed:
// a crash never leaves a half blob under a real name.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { EngineError } from './errors.js';
import { syncFolder, writeAll } from './fsutil.js';

export type BlobSource = string | Uint8Array | AsyncIterable<Uint8Array>;

export interface StoredBlob {
  sha256: string;
  /** false when a blob with these bytes was already stored */
  created: boolean;
}

const SHA256 = /^[0-9a-f]{64}$/;
const TEMP_PREFIX = '.tmp-';
/** Temps older than this at open belong to a crashed writer, not to a concurrent one. */
const STALE_TEMP_MS = 60 * 60 * 1000;

export class BlobStore {
  constructor(readonly root: string) {}

  path(sha256: string): string {
    if (!SHA256.test(sha256)) throw new Error(`not a sha256: ${sha256}`);
    return join(this.root, sha256.slice(0, 2), sha256);
  }

  has(sha256: string): boolean {
    return existsSync(this.path(sha256));
  }

  /** path(), after checking the blob is there: a catalog row whose blob was deleted is a user-facing error. */
  existingPath(sha256: string): string {
    const path = this.path(sha256);
    if (!existsSync(path)) {
      throw new EngineError('blob_missing', `the stored tensors ${path} are missing from the data folder`, {
        file: path,
        hint: 'the data folder was changed by hand; import the checkpoint again',
      });
    }
    return path;
  }

  /** A fresh temp path at the blobs root, for a writer that `adopt`s its file afterwards. */
  async tempPath(suffix = ''): Promise<string> {
    await mkdir(this.root, { recursive: true });
    return join(this.root, `${TEMP_PREFIX}${randomBytes(8).toString('hex')}${suffix}`);
  }

  /** Stores a file (by path), bytes, or a stream of chunks; returns its sha256. Idempotent. */
  async put(source: BlobSource): Promise<string> {
    return (await this.putReporting(source)).sha256;
  }

  /** put(), also saying whether the blob is new (so a failed import can remove exactly what it added). */
  async putReporting(source: BlobSource): Promise<StoredBlob> {
    const temp = await this.tempPath();
    const hash = createHash('sha256');
    const file = await open(temp, 'wx');
    try {
      try {
        let position = 0;
        for await (const chunk of chunksOf(source)) {
          hash.update(chunk);
          position = await writeAll(file, chunk, position);
        }
        await file.sync();
      } finally {
        await file.close();
      }
      return await this.moveIntoPlace(temp, hash.digest('hex'));
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
  }

  /**
   * Takes over a complete, already fsynced file inside the blobs root (see `tempPath`): hashes it
   * and renames it to its real name, or drops it when that blob already exists.
   */
  async adopt(temp: string): Promise<StoredBlob> {
    try {
      return await this.moveIntoPlace(temp, await sha256OfFile(temp));
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
  }

  /** Removes a blob no catalog row points at (an import that failed after writing it). */
  async remove(sha256: string): Promise<void> {
    await rm(this.path(sha256), { force: true });
  }

  /** Deletes temps left by a crashed writer. */
  async removeStaleTemps(): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.root);
    } catch {
      return;
    }
    for (const name of names.filter((n) => n.startsWith(TEMP_PREFIX))) {
      const path = join(this.root, name);
      const info = await stat(path).catch(() => null);
      if (info && Date.now() - info.mtimeMs > STALE_TEMP_MS) await rm(path, { force: true, recursive: true });
    }
  }

  private async moveIntoPlace(temp: string, sha256: string): Promise<StoredBlob> {
    const target = this.path(sha256);
    if (existsSync(target)) {
      await rm(temp, { force: true });
      return { sha256, created: false };
    }
    const folder = join(this.root, sha256.slice(0, 2));
    await mkdir(folder, { recursive: true });
    await rename(temp, target);
    await syncFolder(folder);
    return { sha256, created: true };
  }
}

async function* chunksOf(source: BlobSource): AsyncIterable<Uint8Array> {
  if (typeof source === 'string') {
    for await (const chunk of createReadStream(source)) yield chunk as Buffer;
  } else if (source instanceof Uint8Array) {
    yield source;
  } else {
    yield* source;
  }
}

/** sha256 of a file's bytes, streamed. */
export async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
