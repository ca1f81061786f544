// Quality checks of a run while it trained (migration 5): one row per checked step, the check as
// JSON. A resumed run that checks a step again replaces that step's row.
import type Database from 'better-sqlite3';
import type { Id, RunCheck } from '../protocol.js';

export function saveRunCheck(db: Database.Database, runId: Id, check: RunCheck): void {
  db.prepare('INSERT OR REPLACE INTO run_checks (run_id, step, result, created_at) VALUES (?, ?, ?, ?)').run(runId, check.step, JSON.stringify(check), new Date().toISOString());
}

export function listRunChecks(db: Database.Database, runId: Id): RunCheck[] {
  const rows = db.prepare('SELECT result FROM run_checks WHERE run_id = ? ORDER BY step').all(runId) as { result: string }[];
  return rows.map((row) => JSON.parse(row.result) as RunCheck);
}
