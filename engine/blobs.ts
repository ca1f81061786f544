// Content-addressed storage: `blobs/ab/abcdef…` named by the sha256 of the file's bytes.
// Writes go to a temp file at the blobs root (never a two-level name), are fsynced, then renamed:
// a crash never leaves a half blob under a real name.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync, unlinkSync } from 'node:fs';
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
/**
 * Every temp the store (and writeFileAtomic inside it) writes at the blobs root: `.tmp-PID-HEX…`
 * and `..tmp-PID-HEX….HEX.tmp`. The PID says whose it is: a dead writer's temps go at once.
 */
const TEMP_PATTERN = /^\.\.?tmp-(?:(\d+)-)?/;
/** Temps older than this belong to a crashed writer even when their PID is reused. */
const STALE_TEMP_MS = 24 * 60 * 60 * 1000;

/** true when a process with this id is running (EPERM: running, someone else's). */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

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
    await mkdir(this.root, { recursive: true, mode: 0o700 });
    return join(this.root, `${TEMP_PREFIX}${process.pid}-${randomBytes(8).toString('hex')}${suffix}`);
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
  async adopt(temp: string, hold?: (sha256: string) => void): Promise<StoredBlob> {
    try {
      const sha256 = await sha256OfFile(temp);
      // The hold is committed before the blob is looked for: a collector running meanwhile either
      // sees the hold (and keeps the blob) or deleted it before (and the temp takes its place).
      hold?.(sha256);
      return await this.moveIntoPlace(temp, sha256);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
  }

  /**
   * Deletes one blob file. Only the garbage collector (engine/catalog/gc.ts) calls this, inside
   * the catalog transaction that proved no row and no live job holds the blob.
   */
  removeUnreferenced(sha256: string): boolean {
    try {
      unlinkSync(this.path(sha256));
      return true;
    } catch {
      return false;
    }
  }

  /** Every blob on disk (sha256 names under their two-letter folders). */
  async list(): Promise<string[]> {
    const found: string[] = [];
    for (const folder of await readdir(this.root).catch(() => [] as string[])) {
      if (!/^[0-9a-f]{2}$/.test(folder)) continue;
      for (const name of await readdir(join(this.root, folder)).catch(() => [] as string[])) {
        if (SHA256.test(name) && name.startsWith(folder)) found.push(name);
      }
    }
    return found.sort();
  }

  /** Deletes every temp left by a writer that is gone (dead PID, or older than a day); a live process's temps stay. */
  async removeStaleTemps(): Promise<number> {
    let names: string[];
    try {
      names = await readdir(this.root);
    } catch {
      return 0;
    }
    let removed = 0;
    for (const name of names) {
      const match = TEMP_PATTERN.exec(name);
      if (!match) continue;
      const path = join(this.root, name);
      const info = await stat(path).catch(() => null);
      if (!info) continue;
      const pid = match[1] === undefined ? undefined : Number(match[1]);
      const ownerGone = pid === undefined ? Date.now() - info.mtimeMs > 60 * 60 * 1000 : !isProcessAlive(pid);
      if (ownerGone || Date.now() - info.mtimeMs > STALE_TEMP_MS) {
        await rm(path, { force: true, recursive: true });
        removed += 1;
      }
    }
    return removed;
  }

  private async moveIntoPlace(temp: string, sha256: string): Promise<StoredBlob> {
    const target = this.path(sha256);
    if (existsSync(target)) {
      await rm(temp, { force: true });
      return { sha256, created: false };
    }
    const folder = join(this.root, sha256.slice(0, 2));
    await mkdir(folder, { recursive: true, mode: 0o700 });
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
