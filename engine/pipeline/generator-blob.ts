// A generator run's saved state as one safetensors blob: the trainer's tensors and metadata, plus
// the zoo statistics the tokens were normalised with (generation de-normalises with the same).
import type { BlobStore } from '../blobs.js';
import type { GeneratorState } from '../rpg/generator.js';
import type { ZooStats } from '../rpg/tokenizer.js';
import { EngineError } from '../errors.js';
import { readBlobTensors } from './stored.js';
import { storeCheckpoint, type Hold } from './blob-writer.js';

const ZOO_STATS_KEY = 'paramzoo.zoo_stats';
const LOSS_CURVE = 'train.loss_curve';

/**
 * Stores the state; `hold` (engine/catalog/gc.ts blobHolder) records the blob as held before it is
 * looked for, so the collector keeps it until the run's row references it.
 */
export async function saveGeneratorBlob(blobs: BlobStore, state: GeneratorState, stats: ZooStats, hold?: Hold): Promise<string> {
  const metadata = { ...state.metadata, [ZOO_STATS_KEY]: JSON.stringify(stats) };
  return (await storeCheckpoint(blobs, state.tensors, metadata, hold)).sha256;
}

export async function loadGeneratorBlob(blobs: BlobStore, sha256: string): Promise<{ state: GeneratorState; stats: ZooStats }> {
  const { tensors, metadata } = await readBlobTensors(blobs, sha256);
  const raw = metadata[ZOO_STATS_KEY];
  if (raw === undefined) {
    throw new EngineError('generator_state', `the saved generator ${blobs.path(sha256)} has no zoo statistics`, {
      file: blobs.path(sha256),
      hint: 'train the generator again',
    });
  }
  const { [ZOO_STATS_KEY]: _stats, ...rest } = metadata;
  return { state: { tensors, metadata: rest }, stats: JSON.parse(raw) as ZooStats };
}

/** The loss curve saved inside a state (the trainer keeps it there so a resumed run continues it). */
export function lossCurveOf(state: GeneratorState): number[] {
  const tensor = state.tensors.find((t) => t.name === LOSS_CURVE);
  if (!tensor) return [];
  const copy = tensor.data.slice();
  return Array.from(new Float32Array(copy.buffer, copy.byteOffset, copy.byteLength / 4));
}
