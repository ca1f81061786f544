// How fast runs trained on this machine (migration 5): each finished or stopped run records its
// measured seconds per step and the FLOPs of one of its steps, so the time of the next run can be
// estimated before it starts (engine/pipeline/estimate.ts).
import type Database from 'better-sqlite3';
import type { Id } from '../protocol.js';

export interface RunSpeed {
  run: Id;
  secondsPerStep: number;
  stepFlops: number;
}

export function recordRunSpeed(db: Database.Database, run: Id, speed: { secondsPerStep: number; stepFlops: number }): void {
  db.prepare('UPDATE runs SET seconds_per_step = ?, step_flops = ? WHERE id = ?').run(speed.secondsPerStep, speed.stepFlops, run);
}

/** The most recent measured runs on `backend`, newest first. */
export function recentRunSpeeds(db: Database.Database, backend: string, limit = 5): RunSpeed[] {
  const rows = db
    .prepare(`SELECT id, seconds_per_step, step_flops FROM runs
    WHERE backend = ? AND seconds_per_step > 0 AND step_flops > 0 ORDER BY updated_at DESC, rowid DESC LIMIT ?`)
    .all(backend, limit) as { id: string; seconds_per_step: number; step_flops: number }[];
  return rows.map((row) => ({ run: row.id, secondsPerStep: row.seconds_per_step, stepFlops: row.step_flops }));
}
