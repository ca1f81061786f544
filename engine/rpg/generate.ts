// Generation (RPG.md "Samplers", "Inference modes"): per model, prototypes are computed once from
// its permutation state (and task); tokens are then denoised chunk by chunk — one token
// ('sequential'), chunkTokens ('partial', default 256) or all ('full') — and each chunk is handed
// to the caller, who detokenizes and streams it into a blob, so memory does not grow with the
// generated model's size.
import { tf } from '../tf.js';
import { CancelledError, EngineError } from '../errors.js';
import type { InferenceMode, SamplerKind } from './config.js';
import type { RpgGenerator } from './generator.js';
import { Rng } from './random.js';
import { sampleTokens } from './samplers.js';
import { rowsWithinBinding } from './gpu-limits.js';
import { linearSchedule } from './schedule.js';

export interface GenerateOptions {
  count: number;
  /** seed of model i (default: seeds[0] + i, or config.seed + i) */
  seeds?: number[];
  /** permutation state of model i (default: drawn from its seed) */
  permutationStates?: number[];
  /** task vector [taskBits] for task-conditioned generators */
  task?: Float32Array | null;
  sampler?: SamplerKind;
  steps?: number;
  eta?: number;
  mode?: InferenceMode;
  chunkTokens?: number;
  /** DDIM x̂0 clip as a multiple of the training value range (default config.clipDenoised; 0 = off) */
  clipDenoised?: number;
  signal?: AbortSignal;
}

export interface TokenChunk {
  model: number;
  seed: number;
  permutationState: number;
  firstToken: number;
  tokenCount: number;
  /** [tokenCount · tokenSize] normalised token values */
  tokens: Float32Array;
  /** true on the model's last chunk */
  last: boolean;
}

export interface GeneratedModelInfo {
  model: number;
  seed: number;
  permutationState: number;
  seconds: number;
}

export class GenerateError extends EngineError {
  constructor(setting: string, problem: string) {
    super('generate', `generation setting '${setting}' ${problem}`, { hint: `fix '${setting}'` });
  }
}

/** Each token's own noise stream, independent of chunking. */
function tokenRng(seed: number, token: number): Rng {
  return new Rng((Math.imul(seed | 0, 0x9e3779b1) ^ Math.imul(token + 1, 0x85ebca6b)) >>> 0);
}

export async function generateModels(generator: RpgGenerator, options: GenerateOptions, onTokens: (chunk: TokenChunk) => void | Promise<void>): Promise<GeneratedModelInfo[]> {
  const config = generator.config;
  const { tokenCount, permutationStates: stateCount, taskBits } = generator.shape;
  const sampler = options.sampler ?? config.sampler;
  const steps = options.steps ?? config.samplerSteps;
  const eta = options.eta ?? config.eta;
  const mode = options.mode ?? config.inferenceMode;
  if (!Number.isInteger(options.count) || options.count < 1) throw new GenerateError('count', `must be a positive integer, got ${options.count}`);
  if (!Number.isInteger(steps) || steps < 1 || steps > config.timesteps) throw new GenerateError('steps', `must be an integer in 1…${config.timesteps}, got ${steps}`);
  if (sampler !== 'ddim' && sampler !== 'ddpm') throw new GenerateError('sampler', `must be ddim or ddpm, got ${String(sampler)}`);
  if (taskBits > 0 && options.task?.length !== taskBits) throw new GenerateError('task', `needs ${taskBits} values for this task-conditioned generator`);
  const requested = mode === 'sequential' ? 1 : mode === 'full' ? tokenCount : (options.chunkTokens ?? config.chunkTokens);
  if (!Number.isInteger(requested) || requested < 1) throw new GenerateError('chunkTokens', `must be a positive integer, got ${requested}`);
  const chunk = Math.min(requested, rowsWithinBinding(config));
  const schedule = linearSchedule(config.timesteps, config.betaStart, config.betaEnd);
  const size = config.tokenSize;
  const clipX0 = (options.clipDenoised ?? config.clipDenoised) * generator.valueRange;
  const results: GeneratedModelInfo[] = [];

  for (let model = 0; model < options.count; model++) {
    const started = performance.now();
    const seed = options.seeds?.[model] ?? (options.seeds?.[0] ?? config.seed) + model;
    const permutationState = options.permutationStates?.[model] ?? new Rng(seed).int(stateCount);
    if (!Number.isInteger(permutationState) || permutationState < 0 || permutationState >= stateCount) {
      throw new GenerateError('permutationStates', `has ${permutationState}; this generator knows states 0…${stateCount - 1}`);
    }
    // Prototypes once per model, [L, D].
    const prototypes = tf.tidy(() => tf.reshape(generator.prototypes(Int32Array.of(permutationState), taskBits > 0 ? options.task! : null), [tokenCount, config.recurrentWidth]) as tf.Tensor2D);
    try {
      for (let first = 0; first < tokenCount; first += chunk) {
        if (options.signal?.aborted) throw new CancelledError('generation');
        const count = Math.min(chunk, tokenCount - first);
        const rngs = Array.from({ length: count }, (_, i) => tokenRng(seed, first + i));
        const chunkPrototypes = tf.slice(prototypes, [first, 0], [count, config.recurrentWidth]);
        let tokens: Float32Array;
        try {
          tokens = await sampleTokens(schedule, { sampler, steps, eta, clipX0 }, rngs, size, (xt, t) => generator.predictNoise(xt, new Array<number>(count).fill(t), chunkPrototypes));
        } finally {
          chunkPrototypes.dispose();
        }
        await onTokens({ model, seed, permutationState, firstToken: first, tokenCount: count, tokens, last: first + count >= tokenCount });
      }
    } finally {
      prototypes.dispose();
    }
    results.push({ model, seed, permutationState, seconds: (performance.now() - started) / 1000 });
  }
  return results;
}
