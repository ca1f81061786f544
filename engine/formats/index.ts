// The format registry: opens any checkpoint file or folder by sniffing, writes any writable
// format, and summarises a checkpoint tensor by tensor (what `paramzoo inspect` prints).
import { stat } from 'node:fs/promises';
import { EngineError } from '../errors.js';
import type { CheckpointFormat, CheckpointLayout, EngineErrorCode, InspectResult, TensorSummary } from '../protocol.js';
import { sumAndFirst } from '../tensors.js';
import { peftFolder } from './peft.js';
import { readHead } from './random-access.js';
import { safetensorsFormat } from './safetensors.js';
import { timmHubFolder } from './timm-hub.js';
import { torchFormat } from './torch.js';
import type { FolderFormatModule, FormatModule, OpenedCheckpoint, TensorInput, WrittenFile } from './types.js';
import type { ReadOptions } from './limits.js';

export type { FolderFormatModule, FormatModule, OpenedCheckpoint, TensorEntry, TensorInput, WrittenFile } from './types.js';
export { DEFAULT_LIMITS, ReadLimitError, type ReadLimits, type ReadOptions } from './limits.js';

/** A checkpoint path that no reader can open (missing, unreadable, unknown kind) or no writer can write. */
export class CheckpointError extends EngineError {
  constructor(file: string, problem: string, hint: string, options: { code?: EngineErrorCode; cause?: unknown } = {}) {
    super(options.code ?? 'checkpoint_unreadable', `${file}: ${problem}`, { file, hint, cause: options.cause });
  }
}

const SUPPORTED =
  'safetensors files, PyTorch .pth/.bin/.pth.tar files, timm hub folders (model.safetensors + config.json) and PEFT adapter folders (adapter_config.json + adapter_model.safetensors/.bin)';

/** File formats, in sniffing order. Adding a format: one module, one line here. */
export const FILE_FORMATS: readonly FormatModule[] = [safetensorsFormat, torchFormat];

/** Folder formats, in matching order (a folder with an adapter config is an adapter, whatever else it holds). */
export const FOLDER_FORMATS: readonly FolderFormatModule[] = [peftFolder, timmHubFolder];

/** A folder that is one checkpoint by itself (PEFT adapter, timm hub folder), not a folder of checkpoints. */
export async function isCheckpointFolder(folder: string): Promise<boolean> {
  for (const format of FOLDER_FORMATS) if (await format.match(folder)) return true;
  return false;
}

async function openFile(path: string, options: ReadOptions = {}): Promise<OpenedCheckpoint> {
  const head = await readHead(path, 64);
  const lowerPath = path.toLowerCase();
  const format =
    FILE_FORMATS.find((candidate) => candidate.match(head)) ?? (head.length > 0 ? FILE_FORMATS.find((candidate) => candidate.extensions?.some((ext) => lowerPath.endsWith(ext))) : undefined);
  if (!format) {
    const shown = [...head.subarray(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new CheckpointError(path, head.length === 0 ? 'is empty' : `is not a checkpoint ParamZoo can read (first bytes: ${shown})`, `ParamZoo reads ${SUPPORTED}`);
  }
  return format.read(path, options);
}

/**
 * Opens a checkpoint file or folder; the tensors' bytes are read only when asked. Every reader
 * works within `options.limits` (engine/formats/limits.ts) and stops on `options.signal`.
 */
export async function openCheckpoint(path: string, options: ReadOptions = {}): Promise<OpenedCheckpoint> {
  try {
    return await openAny(path, options);
  } catch (error) {
    throw asCheckpointError(path, error);
  }
}

async function openAny(path: string, options: ReadOptions): Promise<OpenedCheckpoint> {
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new CheckpointError(path, 'does not exist or cannot be read', 'check the path');
  if (info.isDirectory()) {
    for (const format of FOLDER_FORMATS) if (await format.match(path)) return format.read(path, options);
    throw new CheckpointError(path, 'is a folder without a checkpoint', `ParamZoo reads ${SUPPORTED}`);
  }
  if (!info.isFile()) throw new CheckpointError(path, 'is not a regular file', 'pass a checkpoint file or folder');
  for (const format of FOLDER_FORMATS) {
    const folder = await format.folderOf?.(path);
    if (folder !== undefined) return format.read(folder, options);
  }
  return openFile(path, options);
}

/**
 * Last line of defence: an engine limit a file still reached (V8's string or array length, the
 * call stack) becomes a user error naming the file, never a crash with a stack.
 */
function asCheckpointError(path: string, error: unknown): unknown {
  if (error instanceof EngineError) return error;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (error instanceof RangeError || code === 'ERR_STRING_TOO_LONG' || code === 'ERR_BUFFER_TOO_LARGE') {
    return new CheckpointError(path, `cannot be read: ${(error as Error).message}`, 'the file is damaged or hostile; re-save it with torch.save(model.state_dict(), path) or as safetensors', {
      code: 'checkpoint_too_complex',
      cause: error,
    });
  }
  if (code === 'EACCES' || code === 'EPERM' || code === 'ENOENT' || code === 'EISDIR' || code === 'ELOOP') {
    return new CheckpointError(path, `cannot be read (${code})`, 'check the path and its permissions', { cause: error });
  }
  return error;
}

/** The folder format a checkpoint of `layout` is written as when written as `format`, if any. */
function folderFormatFor(format: CheckpointFormat, layout: CheckpointLayout): FolderFormatModule | undefined {
  return FOLDER_FORMATS.find((candidate) => candidate.writes(format, layout));
}

/** True when writing a checkpoint of `layout` as `format` makes a folder (a PEFT adapter, a timm hub folder). */
export function writesFolder(format: CheckpointFormat, layout: CheckpointLayout): boolean {
  return folderFormatFor(format, layout) !== undefined;
}

/**
 * Writes a checkpoint as `format` in the shape its `layout` came in (a folder for a PEFT adapter or a
 * timm hub checkpoint, configs from the metadata byte for byte), each file atomically: nothing is
 * left half-written under a real name. Tensors are written one at a time, an opened checkpoint's
 * read as they are written (types.ts TensorInput). Returns the weights file (inside the folder for
 * a folder format) and its sha256, hashed as it was written.
 */
export async function writeCheckpoint(
  format: CheckpointFormat,
  path: string,
  tensors: readonly TensorInput[],
  metadata: Record<string, string>,
  layout: CheckpointLayout = 'state_dict',
): Promise<WrittenFile> {
  const folderFormat = folderFormatFor(format, layout);
  const fileFormat = FILE_FORMATS.find((candidate) => candidate.name === format && candidate.write);
  if (!folderFormat && !fileFormat) throw new CheckpointError(path, `cannot be written as "${String(format)}"`, 'formats: safetensors, pth, peft', { code: 'checkpoint_unwritable' });
  try {
    if (folderFormat) return await folderFormat.write(path, format, tensors, metadata);
    return await fileFormat!.write!(path, tensors, metadata);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (error instanceof EngineError || code === undefined || !WRITE_ERRORS[code]) throw error;
    throw new CheckpointError(path, `cannot be written: ${WRITE_ERRORS[code]}`, 'choose a folder that exists and that you can write to, with free space', {
      code: 'checkpoint_unwritable',
      cause: error,
    });
  }
}

const WRITE_ERRORS: Record<string, string> = {
  ENOENT: 'its folder does not exist',
  ENOTDIR: 'a part of its path is not a folder',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'the disk is read-only',
  ENOSPC: 'the disk is full',
  EISDIR: 'a folder has that name',
};

/** float64 sums and first values of every tensor, reading one tensor at a time. */
export async function summarizeCheckpoint(opened: OpenedCheckpoint, signal?: AbortSignal): Promise<InspectResult> {
  const entries: Array<[string, TensorSummary]> = [];
  for (const tensor of opened.tensors) {
    signal?.throwIfAborted();
    const { sum, first } = sumAndFirst(tensor.dtype, await tensor.read(), 4);
    entries.push([tensor.name, { dtype: tensor.dtype, shape: tensor.shape, sum, first }]);
  }
  // fromEntries defines own properties, so even a tensor named "__proto__" stays a tensor
  const tensors: Record<string, TensorSummary> = Object.fromEntries(entries);
  return { format: opened.format, layout: opened.layout, path: opened.path, tensors, metadata: opened.metadata };
}

/** Opens, summarises and closes: `paramzoo inspect PATH`. */
export async function inspectCheckpoint(path: string, options: ReadOptions = {}): Promise<InspectResult> {
  const opened = await openCheckpoint(path, options);
  try {
    return await summarizeCheckpoint(opened, options.signal);
  } catch (error) {
    throw asCheckpointError(path, error);
  } finally {
    await opened.close();
  }
}
