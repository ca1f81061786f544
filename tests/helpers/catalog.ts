import Database from 'better-sqlite3';
import { existsSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';

/** What a user's data is: zoos (with signatures), checkpoints, runs, models, and every blob file. */
export interface CatalogSnapshot {
  zoos: unknown[];
  checkpoints: unknown[];
  counts: Record<string, number>;
  blobs: string[];
}

export function snapshotCatalog(dataDir: string): CatalogSnapshot {
  const file = join(dataDir, 'catalog.sqlite');
  const snapshot: CatalogSnapshot = { zoos: [], checkpoints: [], counts: {}, blobs: listFiles(join(dataDir, 'blobs')) };
  if (!existsSync(file)) return snapshot;
  const db = new Database(file, { readonly: true });
  try {
    snapshot.zoos = db.prepare('SELECT * FROM zoos ORDER BY id').all();
    snapshot.checkpoints = db.prepare('SELECT * FROM checkpoints ORDER BY rowid').all();
    for (const table of ['zoos', 'checkpoints', 'runs', 'generated_models', 'evaluations']) {
      snapshot.counts[table] = (db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
    }
  } finally {
    db.close();
  }
  return snapshot;
}

/** Every file below `root`, as paths relative to it, sorted. */
export function listFiles(root: string): string[] {
  if (!existsSync(root)) return [];
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else found.push(relative(root, path));
    }
  };
  walk(root);
  return found.sort();
}
