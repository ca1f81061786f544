// A zoo's checkpoints as the generator sees them: statistics and tokens computed one checkpoint at
// a time straight from their blobs. Tokens are cached while the whole zoo fits a memory budget
// (small zoos: read once); beyond it every training step reads its checkpoints again.
import type { CheckpointRecord, TensorSignature } from '../protocol.js';
import type { TensorData } from '../tensors.js';
import type { BlobStore } from '../blobs.js';
import { ZooStatsAccumulator, tokenize, tokenizerInput, type TokenLayout, type ZooStats } from '../rpg/tokenizer.js';
import { blobTensors } from './stored.js';

/** Token caches above this size are not kept: the zoo is streamed from disk instead. */
const TOKEN_CACHE_BYTES = 512 * 1024 * 1024;

/** One checkpoint's blob as the tokenizer takes it, read tensor by tensor. */
function readForTokens(blobs: BlobStore, signature: readonly TensorSignature[], checkpoint: CheckpointRecord) {
  return tokenizerInput(signature, blobTensors(blobs, checkpoint.sha256), `checkpoint ${checkpoint.id} (${checkpoint.source})`);
}

export async function computeStatsFromBlobs(blobs: BlobStore, signature: TensorSignature[], checkpoints: CheckpointRecord[], onCheckpoint?: (done: number) => void): Promise<ZooStats> {
  const accumulator = new ZooStatsAccumulator(signature);
  for (const [i, checkpoint] of checkpoints.entries()) {
    const { generated } = await readForTokens(blobs, signature, checkpoint);
    accumulator.add(generated, `checkpoint ${checkpoint.id} (${checkpoint.source})`);
    onCheckpoint?.(i + 1);
  }
  return accumulator.result();
}

/** The tensors RPG does not generate, copied from the zoo's first checkpoint into every generated model. */
export async function skippedTensorsOf(blobs: BlobStore, layout: TokenLayout, first: CheckpointRecord): Promise<Map<string, TensorData>> {
  return (await readForTokens(blobs, layout.tensors, first)).skipped;
}

export class ZooTokenSource {
  private readonly cache = new Map<number, Float32Array>();
  private readonly cacheAll: boolean;

  constructor(
    private readonly blobs: BlobStore,
    private readonly layout: TokenLayout,
    private readonly checkpoints: CheckpointRecord[],
  ) {
    this.cacheAll = checkpoints.length * layout.tokenCount * layout.tokenSize * 4 <= TOKEN_CACHE_BYTES;
  }

  async tokens(index: number): Promise<Float32Array> {
    const cached = this.cache.get(index);
    if (cached) return cached;
    const checkpoint = this.checkpoints[index]!;
    const { generated } = await readForTokens(this.blobs, this.layout.tensors, checkpoint);
    const { tokens } = tokenize(this.layout, generated, `checkpoint ${checkpoint.id}`);
    if (this.cacheAll) this.cache.set(index, tokens);
    return tokens;
  }
}
