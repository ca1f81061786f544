// Content-addressed storage: `blobs/ab/abcdef…` named by the sha256 of the file's bytes.
// A blob is written once, as a draft: a temp file at the blobs root (never a two-level name) whose
// bytes are hashed as they are appended; commit() fsyncs it and renames it to that hash. A crash
// or a failed write never leaves a half blob under a real name.
import { randomBytes } from 'node:crypto';
import { createReadStream, existsSync, unlinkSync } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { EngineError } from './errors.js';
import { HashingFileWriter, syncFolder, type ByteSink } from './fsutil.js';

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

  /** A fresh temp path at the blobs root (what a draft writes to). */
  async tempPath(suffix = ''): Promise<string> {
    await mkdir(this.root, { recursive: true, mode: 0o700 });
    return join(this.root, `${TEMP_PREFIX}${process.pid}-${randomBytes(8).toString('hex')}${suffix}`);
  }

  /** Starts a blob: append its bytes to the draft, then commit() it, or discard() it. */
  async create(): Promise<BlobDraft> {
    const temp = await this.tempPath();
    return new BlobDraft(temp, await open(temp, 'wx'));
  }

  /**
   * Names a finished draft by the hash of its bytes (fsynced first), or drops it when that blob
   * already exists; a failed commit removes the draft. `hold` (engine/catalog/gc.ts blobHolder)
   * is committed before the blob is looked for: a collector running meanwhile either sees the
   * hold (and keeps the blob) or deleted it before (and the draft takes its place).
   */
  async commit(draft: BlobDraft, hold?: (sha256: string) => void): Promise<StoredBlob> {
    try {
      const sha256 = await draft.close();
      hold?.(sha256);
      return await this.moveIntoPlace(draft.temp, sha256);
    } catch (error) {
      await draft.discard();
      throw error;
    }
  }

  /** Stores a file (by path), bytes, or a stream of chunks; returns its sha256. Idempotent. */
  async put(source: BlobSource): Promise<string> {
    return (await this.putReporting(source)).sha256;
  }

  /** put(), also saying whether the blob is new (so a failed import can remove exactly what it added). */
  async putReporting(source: BlobSource): Promise<StoredBlob> {
    const draft = await this.create();
    try {
      for await (const chunk of chunksOf(source)) await draft.write(chunk);
    } catch (error) {
      await draft.discard();
      throw error;
    }
    return this.commit(draft);
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

/** A blob being written (BlobStore.create): a temp file that hashes its bytes as they are appended. */
export class BlobDraft implements ByteSink {
  private readonly writer: HashingFileWriter;
  private closed = false;

  constructor(
    readonly temp: string,
    private readonly file: FileHandle,
  ) {
    this.writer = new HashingFileWriter(file);
  }

  write(bytes: Uint8Array): Promise<void> {
    return this.writer.write(bytes);
  }

  get bytesWritten(): number {
    return this.writer.bytesWritten;
  }

  /** fsyncs and closes the temp; returns the sha256 of its bytes (BlobStore.commit names it so). */
  async close(): Promise<string> {
    if (this.closed) throw new Error(`bug: the blob draft ${this.temp} was closed twice`);
    this.closed = true;
    try {
      await this.file.sync();
    } finally {
      await this.file.close();
    }
    return this.writer.sha256();
  }

  /** Closes and removes the temp: nothing of this blob remains. */
  async discard(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      await this.file.close().catch(() => undefined);
    }
    await rm(this.temp, { force: true });
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
