// Blob lifetime across processes. A job that adopts a blob first records a hold (blob_holds: the
// blob, the job, the process) and commits it; the rows that reference the blob replace the hold in
// one transaction. The garbage collector is the one place blob files are deleted: for each blob it
// takes the catalog's write lock, proves that no row references it and no live process holds it,
// and unlinks it inside that transaction. So a cancelled or killed import in one process never
// deletes what another process adopted, and `kill -9` leaves at most orphans for `paramzoo gc`.
import { statSync } from 'node:fs';
import type Database from 'better-sqlite3';
import { isProcessAlive, type BlobStore } from '../blobs.js';
import type { Catalog } from './db.js';
import { isBlobReferenced } from './checkpoints.js';
import { now } from './ids.js';

/** Records that `jobId` (this process) holds `sha256` until its rows are committed or it ends. */
export function holdBlob(db: Database.Database, sha256: string, jobId: string): void {
  db.prepare('INSERT OR REPLACE INTO blob_holds (sha256, job_id, pid, created_at) VALUES (?, ?, ?, ?)').run(sha256, jobId, process.pid, now());
}

/**
 * The hold callback a blob writer passes to BlobStore.adopt: import, collect, train and generate
 * all hold what they write until the row that references it is committed (releaseHold in the
 * same transaction), so `paramzoo gc` never needs the grace period to keep a live job's blob.
 */
export function blobHolder(db: Database.Database, jobId: string): (sha256: string) => void {
  return (sha256) => holdBlob(db, sha256, jobId);
}

/** Drops one hold (inside the transaction that inserts the row referencing the blob). */
export function releaseHold(db: Database.Database, sha256: string, jobId: string): void {
  db.prepare('DELETE FROM blob_holds WHERE sha256 = ? AND job_id = ?').run(sha256, jobId);
}

/** Drops a job's holds (inside the transaction that inserts its rows, or when it fails). */
export function releaseHolds(db: Database.Database, jobId: string): void {
  db.prepare('DELETE FROM blob_holds WHERE job_id = ?').run(jobId);
}

/** true when a live process holds the blob; holds of dead processes are dropped on the way. */
function isHeld(db: Database.Database, sha256: string): boolean {
  const holds = db.prepare('SELECT job_id, pid FROM blob_holds WHERE sha256 = ?').all(sha256) as Array<{ job_id: string; pid: number }>;
  let held = false;
  for (const hold of holds) {
    if (isProcessAlive(hold.pid)) held = true;
    else db.prepare('DELETE FROM blob_holds WHERE sha256 = ? AND job_id = ?').run(sha256, hold.job_id);
  }
  return held;
}

export interface GcOptions {
  /** only these blobs (a failed import's own), else every blob on disk */
  only?: string[];
  /** keep blobs younger than this (a second guard beside the holds every writer records); default 0 */
  minAgeMs?: number;
  /** count, delete nothing */
  dryRun?: boolean;
}

export interface GcResult {
  removed: string[];
  bytesFreed: number;
  kept: number;
  tempsRemoved: number;
}

/** Deletes every blob no row references and no live job holds, each inside its own write transaction. */
export async function collectGarbage(catalog: Catalog, blobs: BlobStore, options: GcOptions = {}): Promise<GcResult> {
  const { db } = catalog;
  const candidates = options.only ?? (await blobs.list());
  const result: GcResult = { removed: [], bytesFreed: 0, kept: 0, tempsRemoved: options.only ? 0 : await blobs.removeStaleTemps() };
  for (const sha256 of candidates) {
    const remove = db
      .transaction((): boolean => {
        if (isBlobReferenced(db, sha256) || isHeld(db, sha256)) return false;
        let size = 0;
        try {
          const info = statSync(blobs.path(sha256));
          if (options.minAgeMs && Date.now() - info.mtimeMs < options.minAgeMs) return false;
          size = info.size;
        } catch {
          return false;
        }
        if (!options.dryRun && !blobs.removeUnreferenced(sha256)) return false;
        result.bytesFreed += size;
        return true;
      })
      .immediate();
    if (remove) result.removed.push(sha256);
    else result.kept += 1;
  }
  return result;
}
