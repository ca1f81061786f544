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
 * Opens (creating if needed) `catalog.sqlite` in the data folder: WAL, foreign keys on, migrated
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
      hint: 'check that the --data folder exists and is writable',
      cause: error,
    });
  }
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    // Another process (the app and the CLI share a data folder) may hold a write lock briefly.
    db.pragma('busy_timeout = 5000');
    migrate(db, undefined, file);
    markInterruptedJobs(db);
  } catch (error) {
    db.close();
    if (error instanceof EngineError) throw error;
    throw new EngineError('catalog_corrupt', `the catalog ${file} cannot be read: ${(error as Error).message}`, {
      file,
      hint: 'move the file away to start a new catalog, or use another --data folder',
      cause: error,
    });
  }
  return { db, dataDir, file, close: () => db.close() };
}
