// The collect job: trains a built-in task's zoo (engine/zoo collectZoo) and stores every
// checkpoint as it arrives: a safetensors blob and a checkpoints row. Held-out task models of a
// task-conditioned family go to the companion zoo `<NAME>-heldout`, never into the training zoo.
import type { CollectJobResult, CollectParams, Id } from '../protocol.js';
import { EngineError } from '../errors.js';
import type { BlobStore } from '../blobs.js';
import type { JobContext } from '../jobs.js';
import type { Catalog } from '../catalog/db.js';
import { insertCheckpoint, countCheckpoints } from '../catalog/checkpoints.js';
import { newId } from '../catalog/ids.js';
import { blobHolder, releaseHold, releaseHolds } from '../catalog/gc.js';
import { createZoo, findZoo, setZooSignature, setZooTask, type ZooRow } from '../catalog/zoos.js';
import { collectZoo, getTask, type CollectedCheckpoint, type CollectOptions } from '../zoo/index.js';
import { useBackend } from './backend.js';
import { storeCheckpoint } from './blob-writer.js';

export const HELD_OUT_SUFFIX = '-heldout';

export function heldOutZooName(zoo: string): string {
  return `${zoo}${HELD_OUT_SUFFIX}`;
}

/**
 * A new zoo, or an empty one made for this task ('zoo create'). A zoo with checkpoints is refused
 * before training: the same seeds would give it the same checkpoints and permutation states again.
 */
function zooForTask(catalog: Catalog, name: string, task: string): ZooRow {
  const existing = findZoo(catalog.db, name);
  if (!existing) return createZoo(catalog.db, name, task);
  const count = countCheckpoints(catalog.db, existing.id);
  if (count > 0 || (existing.task !== null && existing.task !== task)) {
    throw new EngineError('zoo_not_empty', `zoo '${name}' already holds ${count > 0 ? `${count} checkpoints` : `task '${existing.task}'`}`, {
      hint: `collect ${task} into a new 'zoo'`,
      fields: ['zoo'],
    });
  }
  if (existing.task === null) setZooTask(catalog.db, existing.id, task);
  return { ...existing, task };
}

function collectOptions(params: CollectParams): Partial<CollectOptions> {
  const options: Partial<CollectOptions> = {};
  const keys = ['seeds', 'checkpointsPerSeed', 'epochs', 'batchSize', 'lr', 'seed', 'trainSubset', 'tasks'] as const;
  for (const key of keys) if (params[key] !== undefined) (options as Record<string, unknown>)[key] = params[key];
  return options;
}

export async function runCollect(catalog: Catalog, blobs: BlobStore, params: CollectParams, ctx: JobContext): Promise<CollectJobResult> {
  if (typeof params.task !== 'string' || typeof params.zoo !== 'string') {
    throw new EngineError('bad_request', 'collect needs a task and a zoo name', { hint: "give 'task' (a built-in task) and 'zoo' (the zoo to fill)", fields: ['zoo'] });
  }
  const task = getTask(params.task);
  const backend = await useBackend(params.backend, params.threads);
  const { db } = catalog;
  const zoo = zooForTask(catalog, params.zoo, task.id);
  const heldOutZoo = task.conditioned ? zooForTask(catalog, heldOutZooName(params.zoo), task.id) : null;
  const signature = task.signature();
  const stored = { zoo: 0, heldOut: 0 };
  const perRun = new Map<string, number>();
  const ids: Id[] = [];
  const hold = blobHolder(db, ctx.jobId);

  const store = async (checkpoint: CollectedCheckpoint) => {
    const target = checkpoint.role === 'zoo' ? zoo : heldOutZoo!;
    // held (committed) before the blob is looked for; the row replaces the hold below
    const { sha256 } = await storeCheckpoint(blobs, checkpoint.tensors, {}, hold);
    if (checkpoint.role === 'zoo') stored.zoo++;
    else stored.heldOut++;
    // k counts the checkpoints of one training run: (task vector, seed).
    const runKey = `${checkpoint.condition?.join('') ?? ''}/${checkpoint.permutationState}`;
    const k = perRun.get(runKey) ?? 0;
    perRun.set(runKey, k + 1);
    const id = newId('checkpoint');
    db.transaction(() => {
      setZooSignature(db, target.id, signature);
      insertCheckpoint(db, {
        id,
        zooId: target.id,
        source: `builtin:${task.id}/seed${checkpoint.permutationState}/ck${k}${checkpoint.condition ? `/task${checkpoint.condition.join('')}` : ''}`,
        sha256,
        format: 'safetensors',
        layout: 'state_dict',
        signature,
        permutationState: checkpoint.permutationState,
        condition: checkpoint.condition,
        metrics: { accuracy: checkpoint.metrics.accuracy!, loss: checkpoint.metrics.loss! },
        metadata: {},
      });
      releaseHold(db, sha256, ctx.jobId);
    })();
    if (checkpoint.role === 'zoo') ids.push(id);
  };

  let result: Awaited<ReturnType<typeof collectZoo>>;
  try {
    result = await collectZoo(
      task.id,
      { seed: 0, ...collectOptions(params) },
      {
        signal: ctx.signal,
        onProgress: (p) => ctx.progress({ fraction: p.fraction, stage: p.stage, metrics: p.metrics }),
        onCheckpoint: store,
      },
    );
  } finally {
    // a blob stored but never recorded (the job failed in between) is an orphan for `paramzoo gc`
    releaseHolds(db, ctx.jobId);
  }
  return {
    zoo: zoo.name,
    heldOutZoo: heldOutZoo?.name ?? null,
    task: task.id,
    backend: backend.name,
    checkpoints: ids.length,
    heldOutCheckpoints: stored.heldOut,
    accuracy: result.accuracy,
    settings: result.settings as unknown as Record<string, unknown>,
    seconds: result.seconds,
  };
}
