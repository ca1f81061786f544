// The app's edits of the catalog: rename and delete zoos, delete checkpoints and runs. Each is
// refused while a run trains on what it changes. Deleting removes rows only; the blobs they
// pointed at are freed by the garbage collector (gc.ts).
import type Database from 'better-sqlite3';
import type { Id, ZooSummary } from '../protocol.js';
import { EngineError } from '../errors.js';
import { getRun, trainingRunOn } from './runs.js';
import { findZoo, getZoo, listZoos, validateZooName } from './zoos.js';

function refuseWhileTraining(db: Database.Database, zooId: number, what: string): void {
  const live = trainingRunOn(db, zooId);
  if (live) throw new EngineError('zoo_busy', `${what}: run ${live.id} is training on it`, { hint: 'cancel that job first (Jobs view or job.cancel)' });
}

export function renameZoo(db: Database.Database, name: string, to: string): ZooSummary {
  validateZooName(to);
  const zoo = getZoo(db, name);
  if (name !== to && findZoo(db, to)) throw new EngineError('zoo_exists', `a zoo named '${to}' already exists`, { hint: 'choose another name' });
  refuseWhileTraining(db, zoo.id, `zoo '${name}' cannot be renamed now`);
  db.prepare('UPDATE zoos SET name = ? WHERE id = ?').run(to, zoo.id);
  return listZoos(db).find((z) => z.name === to)!;
}

/** Rows only: checkpoints, runs, generated models and evaluations go with the zoo (ON DELETE CASCADE). */
export function deleteZoo(db: Database.Database, name: string): void {
  const zoo = getZoo(db, name);
  refuseWhileTraining(db, zoo.id, `zoo '${name}' cannot be deleted now`);
  db.prepare('DELETE FROM zoos WHERE id = ?').run(zoo.id);
}

export function deleteCheckpoints(db: Database.Database, ids: Id[]): number {
  const remove = db.prepare('DELETE FROM checkpoints WHERE id = ?');
  return db.transaction(() => {
    let deleted = 0;
    for (const id of ids) {
      const row = db.prepare('SELECT zoo_id FROM checkpoints WHERE id = ?').get(id) as { zoo_id: number } | undefined;
      if (!row) throw new EngineError('checkpoint_not_found', `there is no checkpoint '${id}' in this catalog`, { hint: 'reload the zoo: it may have been deleted already' });
      refuseWhileTraining(db, row.zoo_id, `checkpoint ${id} cannot be deleted now`);
      deleted += remove.run(id).changes;
    }
    return deleted;
  })();
}

export function deleteRun(db: Database.Database, id: Id): void {
  const run = getRun(db, id);
  if (run.status === 'running') throw new EngineError('run_busy', `run ${id} is still training`, { hint: 'cancel its job first' });
  db.prepare('DELETE FROM runs WHERE id = ?').run(id);
}
