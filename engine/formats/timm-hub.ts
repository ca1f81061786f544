// timm hub folders, as `save_pretrained` / the Hugging Face hub lay them out: the weights as
// model.safetensors (or pytorch_model.bin) next to config.json. The config travels verbatim in the
// metadata under "config.json" (layout timm_hub), so an export writes it back byte for byte; a
// folder without config.json reads as its weights file alone.
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { EngineError } from '../errors.js';
import { writeFileAtomic } from '../fsutil.js';
import type { CheckpointFormat } from '../protocol.js';
import { fileInside, readTextInside } from './folder.js';
import { limitsOf, type ReadOptions } from './limits.js';
import * as safetensors from './safetensors.js';
import * as torch from './torch.js';
import type { FolderFormatModule, OpenedCheckpoint, TensorInput, WrittenFile } from './types.js';

export class HubFolderError extends EngineError {
  constructor(file: string, problem: string, hint: string) {
    super('checkpoint_unreadable', `${file}: ${problem}`, { file, hint });
  }
}

const CONFIG = 'config.json';
/** Weights files of a hub folder, best first, with the format each is written in. */
const WEIGHTS = [
  { name: 'model.safetensors', format: 'safetensors' },
  { name: 'pytorch_model.bin', format: 'pth' },
] as const;

/** The weights file of a hub folder: a regular file inside it (engine/formats/folder.ts). */
async function findWeights(folder: string): Promise<((typeof WEIGHTS)[number] & { path: string }) | undefined> {
  for (const weights of WEIGHTS) {
    const found = await fileInside(folder, weights.name);
    if (found.ok) return { ...weights, path: found.path };
  }
  return undefined;
}

function checkConfig(file: string, text: string): void {
  let config: unknown;
  try {
    config = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (error) {
    throw new HubFolderError(file, `is not valid JSON (${(error as Error).message})`, "fix the file, or save the model again with timm's save_for_hf / push_to_hf_hub");
  }
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw new HubFolderError(file, 'is not a JSON object', "fix the file, or save the model again with timm's save_for_hf / push_to_hf_hub");
  }
}

async function read(folder: string, options: ReadOptions = {}): Promise<OpenedCheckpoint> {
  const weights = await findWeights(folder);
  if (weights === undefined) {
    throw new HubFolderError(folder, `holds neither ${WEIGHTS.map((w) => w.name).join(' nor ')}`, "pass the folder that holds the model's weights");
  }
  // config.json: only a regular file inside the folder, size-capped (never a link to /proc/self/environ)
  const config = await fileInside(folder, CONFIG);
  const configText =
    !config.ok && !config.exists
      ? undefined
      : await readTextInside(folder, CONFIG, limitsOf(options).configBytes, (file, problem) => new HubFolderError(file, problem, 'replace the link with a copy of the file, or remove it'));
  if (configText !== undefined) checkConfig(join(folder, CONFIG), configText);
  const opened = weights.format === 'safetensors' ? await safetensors.read(weights.path, options) : await torch.read(weights.path, options);
  const metadata = { ...opened.metadata };
  if (configText !== undefined) metadata[CONFIG] = configText;
  return { ...opened, path: folder, layout: configText !== undefined ? 'timm_hub' : opened.layout, metadata };
}

/** Writes a hub folder again: the weights under the hub's name for `format`, config.json as imported. */
async function write(folder: string, format: CheckpointFormat, tensors: readonly TensorInput[], metadata: Record<string, string>): Promise<WrittenFile> {
  const weights = WEIGHTS.find((w) => w.format === format);
  if (weights === undefined) throw new HubFolderError(folder, `cannot be written as a ${format} hub folder`, 'export it as safetensors or pth');
  const { [CONFIG]: configText, ...rest } = metadata;
  if (configText !== undefined) checkConfig(`${folder} (metadata "${CONFIG}")`, configText);
  safetensors.validateTensors(folder, tensors, (file, problem, hint) => new HubFolderError(file, problem, hint ?? 'fix the tensors passed to the writer'));
  const existing = await stat(folder).catch(() => undefined);
  if (existing && !existing.isDirectory()) throw new HubFolderError(folder, 'exists and is not a folder', 'choose a folder path for a timm hub checkpoint');
  await mkdir(folder, { recursive: true });
  const path = join(folder, weights.name);
  const written = weights.format === 'safetensors' ? await safetensors.write(path, tensors, rest) : await torch.write(path, tensors, rest);
  if (configText !== undefined) await writeFileAtomic(join(folder, CONFIG), (file) => file.writeFile(configText, 'utf8'));
  return written;
}

export const timmHubFolder: FolderFormatModule = {
  name: 'timm_hub',
  layout: 'timm_hub',
  match: async (folder) => (await findWeights(folder)) !== undefined,
  read,
  writes: (format, layout) => layout === 'timm_hub' && format !== 'peft',
  write,
};
