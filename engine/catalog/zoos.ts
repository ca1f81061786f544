import type Database from 'better-sqlite3';
import type { TensorSignature, ZooEvaluator, ZooSummary } from '../protocol.js';
import { EngineError } from '../errors.js';
import { now } from './ids.js';

export interface ZooRow {
  id: number;
  name: string;
  task: string | null;
  signature: TensorSignature[] | null;
  evaluator: ZooEvaluator | null;
  createdAt: string;
}

interface RawZooRow {
  id: number;
  name: string;
  task: string | null;
  signature: string | null;
  /** absent from a catalog older than migration 7 */
  evaluator?: string | null;
  created_at: string;
}

function toZooRow(raw: RawZooRow): ZooRow {
  return {
    id: raw.id,
    name: raw.name,
    task: raw.task,
    signature: raw.signature === null ? null : (JSON.parse(raw.signature) as TensorSignature[]),
    evaluator: typeof raw.evaluator === 'string' ? (JSON.parse(raw.evaluator) as ZooEvaluator) : null,
    createdAt: raw.created_at,
  };
}

export class ZooNotFoundError extends EngineError {
  constructor(name: string) {
    super('zoo_not_found', `there is no zoo named '${name}'`, { hint: 'check the name against the list of zoos, or create a zoo with that name' });
  }
}

/** Zoo names appear in commands and folder names: keep them plain. */
export function validateZooName(name: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name)) {
    throw new EngineError('bad_zoo_name', `'${name}' is not a valid zoo name`, {
      hint: 'use 1–64 letters, digits, dots, dashes or underscores, starting with a letter or digit',
    });
  }
}

export function parameterCount(signature: TensorSignature[] | null): number {
  if (!signature) return 0;
  return signature.reduce((total, tensor) => total + tensor.shape.reduce((n, d) => n * d, 1), 0);
}

export function createZoo(db: Database.Database, name: string, task: string | null = null): ZooRow {
  validateZooName(name);
  if (findZoo(db, name)) {
    throw new EngineError('zoo_exists', `a zoo named '${name}' already exists`, { hint: 'choose another name, or import into the existing zoo' });
  }
  db.prepare('INSERT INTO zoos (name, task, created_at) VALUES (?, ?, ?)').run(name, task, now());
  return findZoo(db, name)!;
}

export function findZoo(db: Database.Database, name: string): ZooRow | null {
  const raw = db.prepare('SELECT * FROM zoos WHERE name = ?').get(name) as RawZooRow | undefined;
  return raw ? toZooRow(raw) : null;
}

export function getZoo(db: Database.Database, name: string): ZooRow {
  const zoo = findZoo(db, name);
  if (!zoo) throw new ZooNotFoundError(name);
  return zoo;
}

export function getZooById(db: Database.Database, id: number): ZooRow {
  return toZooRow(db.prepare('SELECT * FROM zoos WHERE id = ?').get(id) as RawZooRow);
}

/** Sets the zoo's signature; only the first import does (the signature never changes after). */
export function setZooSignature(db: Database.Database, zooId: number, signature: TensorSignature[]): void {
  db.prepare('UPDATE zoos SET signature = ? WHERE id = ? AND signature IS NULL').run(JSON.stringify(signature), zooId);
}

/** Gives a zoo without a task its task (an empty zoo made by 'zoo create', then collected into). */
export function setZooTask(db: Database.Database, zooId: number, task: string): void {
  db.prepare('UPDATE zoos SET task = ? WHERE id = ? AND task IS NULL').run(task, zooId);
}

/** Sets (or, with null, removes) the evaluator command of a zoo; the caller has validated it. */
export function setZooEvaluator(db: Database.Database, zooId: number, evaluator: ZooEvaluator | null): void {
  db.prepare('UPDATE zoos SET evaluator = ? WHERE id = ?').run(evaluator === null ? null : JSON.stringify(evaluator), zooId);
}

export function listZoos(db: Database.Database): ZooSummary[] {
  const rows = db
    .prepare(
      `SELECT zoos.*, (SELECT COUNT(*) FROM checkpoints WHERE checkpoints.zoo_id = zoos.id) AS checkpoint_count
       FROM zoos ORDER BY name`,
    )
    .all() as (RawZooRow & { checkpoint_count: number })[];
  return rows.map((raw) => toZooSummary(toZooRow(raw), raw.checkpoint_count));
}

export function toZooSummary(zoo: ZooRow, checkpointCount: number): ZooSummary {
  return {
    name: zoo.name,
    checkpointCount,
    parameterCount: parameterCount(zoo.signature),
    task: zoo.task,
    evaluator: zoo.evaluator,
    createdAt: zoo.createdAt,
  };
}
