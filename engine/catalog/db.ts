import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { EngineError } from '../errors.js';
import { migrate } from './migrations.js';
import { markInterruptedJobs } from './jobs.js';

export const CATALOG_FILE = 'catalog.sqlite';

export interface Catalog {
  db: Database.Database;
  dataDir: string;
  file: string;
  close(): void;
}

/**
 * Opens (creating if needed) `catalog.sqlite` in the data folder: WAL, synchronous=FULL, foreign keys on, migrated
 * to the latest schema; jobs left running by a process that died are marked interrupted.
 */
export function openCatalog(dataDir: string): Catalog {
  const file = join(dataDir, CATALOG_FILE);
  let db: Database.Database;
  try {
    // private: the catalog holds file paths and metadata of the user's models (DESIGN: created 0700)
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    db = new Database(file);
  } catch (error) {
    throw new EngineError('catalog_unavailable', `cannot open the catalog ${file}: ${(error as Error).message}`, {
      file,
      hint: 'check that the data folder exists and is writable',
      cause: error,
    });
  }
  try {
    // Another process (the app and the CLI share a data folder) may hold a write lock briefly.
    db.pragma('busy_timeout = 5000');
    db.pragma('foreign_keys = ON');
    // Durability, chosen (README): in WAL mode synchronous=FULL fsyncs the WAL at every commit, so
    // a committed import (whose blobs were fsynced before the commit) survives power loss; NORMAL
    // could drop the last commits. The cost is one fsync per commit, and ParamZoo commits rarely
    // (per import, per stored checkpoint, job progress once a second). On macOS fsync does not
    // flush the drive's cache: fullfsync makes SQLite use F_FULLFSYNC there (as Node does for blobs).
    db.pragma('synchronous = FULL');
    if (process.platform === 'darwin') db.pragma('fullfsync = ON');
    // Switching a new file to WAL, and migrating it, can meet SQLITE_BUSY without the busy handler
    // when another process does the same at that moment: take turns (a few tries, short waits).
    for (let attempt = 0; ; attempt++) {
      try {
        db.pragma('journal_mode = WAL');
        migrate(db, undefined, file);
        break;
      } catch (error) {
        const code = (error as { code?: string }).code ?? '';
        if ((!code.startsWith('SQLITE_BUSY') && code !== 'SQLITE_LOCKED') || attempt >= 50) throw error;
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20 + Math.floor(Math.random() * 80));
      }
    }
    markInterruptedJobs(db);
  } catch (error) {
    db.close();
    if (error instanceof EngineError) throw error;
    throw new EngineError('catalog_corrupt', `the catalog ${file} cannot be read: ${(error as Error).message}`, {
      file,
      hint: 'move the file away to start a new catalog, or use another data folder',
      cause: error,
    });
  }
  return { db, dataDir, file, close: () => db.close() };
}
