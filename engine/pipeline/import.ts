// The import job: checkpoints (files, checkpoint folders, or folders to scan) into a zoo.
// Checked first (every file opens, every signature matches the zoo), then each file's tensors go
// to a safetensors blob, and finally all rows are inserted in one transaction: a failure or a
// cancel anywhere leaves the catalog as it was and removes the blobs this import added.
import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { ImportParams, ImportResult, TensorSignature } from '../protocol.js';
import { EngineError } from '../errors.js';
import { isCheckpointFolder, openCheckpoint, type OpenedCheckpoint } from '../formats/index.js';
import type { BlobStore } from '../blobs.js';
import type { JobContext } from '../jobs.js';
import type { Catalog } from '../catalog/db.js';
import { countCheckpoints, firstCheckpoint, insertCheckpoint, type NewCheckpoint } from '../catalog/checkpoints.js';
import { collectGarbage, holdBlob, releaseHolds } from '../catalog/gc.js';
import { newId } from '../catalog/ids.js';
import { firstDifference, signatureOf } from '../catalog/signature.js';
import { getZoo, getZooById, setZooSignature } from '../catalog/zoos.js';
import { storeCheckpoint } from './blob-writer.js';
import { readInJob } from './stored.js';

const CHECKPOINT_EXTENSIONS = ['.safetensors', '.pth', '.pt', '.bin', '.ckpt', '.pth.tar'];

export class SignatureMismatchError extends EngineError {
  constructor(zoo: string, difference: string, file: string) {
    super('signature_mismatch', `${file} does not fit zoo '${zoo}': ${difference}`, {
      file,
      hint: 'a zoo holds checkpoints of one architecture: import this file into another zoo (create a new one for it)',
    });
  }
}

/** Files and checkpoint folders named by `paths`, plain folders scanned (recursively, sorted). */
export async function expandImportPaths(paths: string[]): Promise<string[]> {
  const found: string[] = [];
  for (const given of paths) {
    const path = resolve(given);
    const info = await stat(path).catch(() => null);
    if (!info) {
      throw new EngineError('file_not_found', `${path}: no such file or folder`, { file: path, hint: 'check the path' });
    }
    if (info.isDirectory() && !(await isCheckpointFolder(path))) {
      const inside = await scanFolder(path);
      if (inside.length === 0) {
        throw new EngineError('nothing_to_import', `${path}: the folder holds no checkpoint files (${CHECKPOINT_EXTENSIONS.join(', ')})`, {
          file: path,
          hint: 'name checkpoint files or checkpoint folders (PEFT adapter, timm hub folder) directly',
        });
      }
      found.push(...inside);
    } else {
      found.push(path);
    }
  }
  return found;
}

async function scanFolder(folder: string): Promise<string[]> {
  const found: string[] = [];
  const entries = (await readdir(folder, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    const path = join(folder, entry.name);
    if (entry.isDirectory()) {
      if (await isCheckpointFolder(path)) found.push(path);
      else found.push(...(await scanFolder(path)));
    } else if (entry.isFile() && CHECKPOINT_EXTENSIONS.some((ext) => entry.name.endsWith(ext))) {
      found.push(path);
    }
  }
  return found;
}

function validateParams(params: ImportParams): void {
  const { permutationState, permutationStates, condition } = params;
  if (permutationState !== undefined && (!Number.isInteger(permutationState) || permutationState < 0)) {
    throw new EngineError('bad_option', `'permutationState' must be a whole number ≥ 0, not ${permutationState}`, {
      hint: "e.g. 'permutationState': 3",
      fields: ['permutationState'],
    });
  }
  if (permutationStates !== undefined) {
    if (!Array.isArray(permutationStates) || permutationStates.some((s) => !Number.isInteger(s) || s < 0)) {
      throw new EngineError('bad_option', `'permutationStates' must be whole numbers ≥ 0, one per checkpoint, not ${JSON.stringify(permutationStates)}`, {
        hint: "e.g. 'permutationStates': 0,0,1,1 for two runs of two checkpoints each",
        fields: ['permutationStates'],
      });
    }
    if (permutationState !== undefined) {
      throw new EngineError('bad_option', "'permutationState' and 'permutationStates' exclude each other", {
        hint: 'give one of them',
        fields: ['permutationState', 'permutationStates'],
      });
    }
  }
  if (condition !== undefined && (!Array.isArray(condition) || condition.some((x) => typeof x !== 'number' || !Number.isFinite(x)))) {
    throw new EngineError('bad_option', `'condition' must be a list of numbers, not ${JSON.stringify(condition)}`, {
      hint: "e.g. 'condition': 0,1,1,0",
      fields: ['condition'],
    });
  }
  if (!Array.isArray(params.paths) || params.paths.length === 0) {
    throw new EngineError('bad_option', 'import needs at least one checkpoint file or folder', { hint: 'paramzoo import NAME PATH...' });
  }
}

/** Figures a timm training checkpoint saves beside its weights (its CheckpointSaver writes `metric` and `epoch`). */
const METADATA_METRICS = ['metric', 'best_metric', 'epoch'];

export function metricsFromMetadata(metadata: Record<string, string>): Record<string, number> {
  const metrics: Record<string, number> = {};
  for (const key of METADATA_METRICS) {
    const value = metadata[key] === undefined ? NaN : Number(metadata[key]);
    if (Number.isFinite(value)) metrics[key] = value;
  }
  return metrics;
}

async function withCheckpoint<T>(path: string, use: (opened: OpenedCheckpoint) => Promise<T>, signal?: AbortSignal): Promise<T> {
  const opened = await openCheckpoint(path, { signal });
  try {
    return await use(opened);
  } finally {
    await opened.close();
  }
}

export async function importCheckpoints(catalog: Catalog, blobs: BlobStore, params: ImportParams, ctx: JobContext): Promise<ImportResult> {
  validateParams(params);
  const { db } = catalog;
  const zoo = getZoo(db, params.zoo);
  ctx.progress({ fraction: 0, stage: 'finding checkpoints' });
  const files = await expandImportPaths(params.paths);
  if (params.permutationStates && params.permutationStates.length !== files.length) {
    throw new EngineError('bad_option', `'permutationStates' has ${params.permutationStates.length} values for ${files.length} checkpoints found`, {
      hint: 'give one permutation state per checkpoint, in the order the paths are given',
      fields: ['permutationStates'],
    });
  }

  // 1. Check everything before writing anything.
  let expected: TensorSignature[] | null = zoo.signature;
  let expectedFrom = firstCheckpoint(db, zoo.id)?.source ?? files[0]!;
  for (const [i, file] of files.entries()) {
    ctx.throwIfCancelled();
    ctx.progress({ fraction: (0.1 * i) / files.length, stage: `checking ${i + 1}/${files.length}` });
    const signature = await withCheckpoint(file, async (opened) => signatureOf(opened.tensors), ctx.signal);
    if (expected === null) {
      expected = signature;
      expectedFrom = file;
    }
    const difference = firstDifference(expected, signature, expectedFrom, file);
    if (difference) throw new SignatureMismatchError(zoo.name, difference, file);
  }

  // 2. Tensors to blobs, as safetensors.
  const rows: NewCheckpoint[] = [];
  const createdBlobs: string[] = [];
  try {
    const firstState = params.permutationState ?? countCheckpoints(db, zoo.id);
    for (const [i, file] of files.entries()) {
      ctx.throwIfCancelled();
      ctx.progress({ fraction: 0.1 + (0.85 * i) / files.length, stage: `importing ${i + 1}/${files.length}` });
      const row = await withCheckpoint(
        file,
        async (opened) => {
          const signature = signatureOf(opened.tensors);
          // The file could have changed since it was checked.
          const difference = firstDifference(expected!, signature, expectedFrom, file);
          if (difference) throw new SignatureMismatchError(zoo.name, difference, file);
          // Streamed tensor by tensor (a slice at a time), so a checkpoint may be larger than memory;
          // held (committed) before the blob is looked for; the rows replace the hold below.
          const tensors = readInJob(opened.tensors, ctx, (done, total) =>
            ctx.progress({ fraction: 0.1 + (0.85 * (i + (total > 0 ? done / total : 1))) / files.length, stage: `importing ${i + 1}/${files.length}` }),
          );
          const blob = await storeCheckpoint(blobs, tensors, opened.metadata, (sha256) => holdBlob(db, sha256, ctx.jobId));
          if (blob.created) createdBlobs.push(blob.sha256);
          return {
            id: newId('checkpoint'),
            zooId: zoo.id,
            source: file,
            sha256: blob.sha256,
            format: opened.format,
            layout: opened.layout,
            signature,
            permutationState: params.permutationStates?.[i] ?? firstState + i,
            condition: params.condition ?? null,
            metrics: metricsFromMetadata(opened.metadata),
            metadata: opened.metadata,
          } satisfies NewCheckpoint;
        },
        ctx.signal,
      );
      rows.push(row);
    }
    ctx.throwIfCancelled();

    // 3. All rows at once.
    ctx.progress({ fraction: 0.97, stage: 'recording' });
    db.transaction(() => {
      // Another process (the app beside the CLI) may have set the signature since the check.
      const current = getZooById(db, zoo.id).signature;
      if (current === null) setZooSignature(db, zoo.id, expected!);
      else {
        const difference = firstDifference(current, expected!, `zoo '${zoo.name}'`, files[0]!);
        if (difference) throw new SignatureMismatchError(zoo.name, difference, files[0]!);
      }
      for (const row of rows) insertCheckpoint(db, row);
      releaseHolds(db, ctx.jobId);
    }).immediate();
  } catch (error) {
    // Drop this job's holds, then let the collector take the blobs this import added: it deletes
    // one only when no row references it and no live process holds it (another process importing
    // the same bytes keeps it).
    releaseHolds(db, ctx.jobId);
    await collectGarbage(catalog, blobs, { only: createdBlobs }).catch(() => undefined);
    throw error;
  }
  return { imported: rows.map(({ id, source }) => ({ id, source })) };
}
