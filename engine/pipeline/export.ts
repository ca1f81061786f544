// The export job: a checkpoint or generated model back to disk in its source format (or the one
// asked for), dtypes and names as imported. PEFT adapters and timm hub checkpoints are folders.
// The stored blob streams into the written file a slice at a time, hashed as it is written.
import { readdir, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { CHECKPOINT_FORMATS, type ExportResult, type ParamsOf } from '../protocol.js';
import { EngineError } from '../errors.js';
import { writeCheckpoint, writesFolder } from '../formats/index.js';
import type { BlobStore } from '../blobs.js';
import type { JobContext } from '../jobs.js';
import type { Catalog } from '../catalog/db.js';
import { resolveModel } from '../catalog/models.js';
import { openBlob, readInJob } from './stored.js';

export type ExportParams = ParamsOf<'export'>;

export async function exportModel(catalog: Catalog, blobs: BlobStore, params: ExportParams, ctx: JobContext): Promise<ExportResult> {
  const model = resolveModel(catalog.db, params.id);
  const format = params.format ?? model.format;
  if (!CHECKPOINT_FORMATS.includes(format)) {
    throw new EngineError('bad_option', `'format' ${format} is not one of ${CHECKPOINT_FORMATS.join(', ')}`, { hint: "e.g. 'format': safetensors", fields: ['format'] });
  }
  if (format === 'peft' && model.layout !== 'peft_adapter') {
    throw new EngineError('bad_option', `${params.id} is a ${model.layout} checkpoint, not a PEFT adapter: it cannot be exported as peft`, {
      hint: "use 'format': safetensors or pth",
      fields: ['format'],
    });
  }
  const out = resolve(params.out);
  const asFolder = writesFolder(format, model.layout);
  const existing = await stat(out).catch(() => null);
  if (existing && existing.isDirectory() !== asFolder) {
    throw new EngineError('bad_output', `${out} already exists as a ${existing.isDirectory() ? 'folder' : 'file'}, but a ${format} ${asFolder ? 'export is a folder' : 'export is a file'}`, {
      file: out,
      hint: "choose another 'out' path",
      fields: ['out'],
    });
  }
  await refuseOverwrite(out, params.force === true);

  ctx.progress({ fraction: 0, stage: 'writing' });
  const opened = await openBlob(blobs, model.sha256);
  try {
    const tensors = readInJob(opened.tensors, ctx, (done, total) => ctx.progress({ fraction: total > 0 ? done / total : 1, stage: 'writing' }));
    ctx.throwIfCancelled();
    const weights = await writeCheckpoint(format, out, tensors, model.metadata, model.layout);
    return { path: out, format, sha256: weights.sha256 };
  } finally {
    await opened.close();
  }
}

/** An export never replaces a file (or fills a non-empty folder) unless asked with `force`. */
async function refuseOverwrite(out: string, force: boolean): Promise<void> {
  if (force) return;
  const existing = await stat(out).catch(() => null);
  if (!existing) return;
  if (existing.isDirectory() && (await readdir(out)).length === 0) return;
  throw new EngineError('output_exists', `${out} already exists; export does not overwrite it`, {
    file: out,
    hint: "choose another 'out' path, or give 'force' to replace it",
    fields: ['out', 'force'],
  });
}
