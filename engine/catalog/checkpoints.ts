import type Database from 'better-sqlite3';
import type { CheckpointFormat, CheckpointLayout, CheckpointRecord, Id, TensorSignature } from '../protocol.js';
import { now } from './ids.js';

interface RawCheckpointRow {
  id: string;
  zoo_id: number;
  zoo_name: string;
  source: string;
  sha256: string;
  format: string;
  layout: string;
  signature: string;
  permutation_state: number;
  condition: string | null;
  metrics: string;
  metadata: string;
  created_at: string;
}

export interface NewCheckpoint {
  id: Id;
  zooId: number;
  source: string;
  sha256: string;
  format: CheckpointFormat;
  layout: CheckpointLayout;
  signature: TensorSignature[];
  permutationState: number;
  condition: number[] | null;
  metrics?: Record<string, number>;
  metadata: Record<string, string>;
}

const SELECT = `SELECT checkpoints.*, zoos.name AS zoo_name FROM checkpoints JOIN zoos ON zoos.id = checkpoints.zoo_id`;

function toRecord(raw: RawCheckpointRow): CheckpointRecord {
  return {
    id: raw.id,
    zoo: raw.zoo_name,
    format: raw.format as CheckpointFormat,
    layout: raw.layout as CheckpointLayout,
    source: raw.source,
    sha256: raw.sha256,
    permutationState: raw.permutation_state,
    condition: raw.condition === null ? null : (JSON.parse(raw.condition) as number[]),
    metrics: JSON.parse(raw.metrics) as Record<string, number>,
    metadata: JSON.parse(raw.metadata) as Record<string, string>,
    createdAt: raw.created_at,
  };
}

export function insertCheckpoint(db: Database.Database, checkpoint: NewCheckpoint): void {
  db.prepare(
    `INSERT INTO checkpoints (id, zoo_id, source, sha256, format, layout, signature, permutation_state, condition, metrics, metadata, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(
    checkpoint.id,
    checkpoint.zooId,
    checkpoint.source,
    checkpoint.sha256,
    checkpoint.format,
    checkpoint.layout,
    JSON.stringify(checkpoint.signature),
    checkpoint.permutationState,
    checkpoint.condition === null ? null : JSON.stringify(checkpoint.condition),
    JSON.stringify(checkpoint.metrics ?? {}),
    JSON.stringify(checkpoint.metadata),
    now(),
  );
}

/** In import order. */
export function listCheckpoints(db: Database.Database, zooId: number): CheckpointRecord[] {
  return (db.prepare(`${SELECT} WHERE zoo_id = ? ORDER BY checkpoints.rowid`).all(zooId) as RawCheckpointRow[]).map(toRecord);
}

export function getCheckpoint(db: Database.Database, id: Id): CheckpointRecord | null {
  const raw = db.prepare(`${SELECT} WHERE checkpoints.id = ?`).get(id) as RawCheckpointRow | undefined;
  return raw ? toRecord(raw) : null;
}

export function countCheckpoints(db: Database.Database, zooId: number): number {
  return (db.prepare('SELECT COUNT(*) AS n FROM checkpoints WHERE zoo_id = ?').get(zooId) as { n: number }).n;
}

/** The checkpoint that set the zoo's signature (named in mismatch errors). */
export function firstCheckpoint(db: Database.Database, zooId: number): CheckpointRecord | null {
  const raw = db.prepare(`${SELECT} WHERE zoo_id = ? ORDER BY checkpoints.rowid LIMIT 1`).get(zooId) as RawCheckpointRow | undefined;
  return raw ? toRecord(raw) : null;
}

/** Whether any row (checkpoint, generated model, generator run) points at this blob. */
export function isBlobReferenced(db: Database.Database, sha256: string): boolean {
  return (
    db
      .prepare(
        `SELECT 1 FROM checkpoints WHERE sha256 = @sha256
         UNION ALL SELECT 1 FROM generated_models WHERE sha256 = @sha256
         UNION ALL SELECT 1 FROM runs WHERE generator_sha256 = @sha256 LIMIT 1`,
      )
      .get({ sha256 }) !== undefined
  );
}

/** A checkpoint's recorded source: uploads record the name the user chose, not the engine's temporary copy. */
export function setCheckpointSource(db: Database.Database, id: Id, source: string): void {
  db.prepare('UPDATE checkpoints SET source = ? WHERE id = ?').run(source, id);
}

/** Each zoo's distinct checkpoint blobs and source formats. */
export function zooBlobs(db: Database.Database): Map<string, { shas: string[]; formats: string[] }> {
  const rows = db.prepare('SELECT DISTINCT zoos.name AS zoo, checkpoints.sha256 AS sha256, checkpoints.format AS format FROM zoos LEFT JOIN checkpoints ON checkpoints.zoo_id = zoos.id').all() as {
    zoo: string;
    sha256: string | null;
    format: string | null;
  }[];
  const out = new Map<string, { shas: string[]; formats: string[] }>();
  for (const row of rows) {
    const entry = out.get(row.zoo) ?? { shas: [], formats: [] };
    if (row.sha256 && !entry.shas.includes(row.sha256)) entry.shas.push(row.sha256);
    if (row.format && !entry.formats.includes(row.format)) entry.formats.push(row.format);
    out.set(row.zoo, entry);
  }
  return out;
}
