// The generate job: new models from a trained run. Token chunks from the sampler go through the
// streaming Detokenizer straight into a safetensors blob per model; each finished model gets its
// generated_models row as soon as it is complete (a cancel keeps the finished ones and removes the
// half-written one).
// Same run + seed + condition + sampler (+ steps) ⇒ the same bytes ⇒ the same sha256.
import type { GenerateJobResult, GenerateParams, Id } from '../protocol.js';
import { EngineError } from '../errors.js';
import type { BlobStore } from '../blobs.js';
import type { JobContext } from '../jobs.js';
import type { Catalog } from '../catalog/db.js';
import { firstCheckpoint, listCheckpoints } from '../catalog/checkpoints.js';
import { blobHolder, releaseHold, releaseHolds } from '../catalog/gc.js';
import { getZooById } from '../catalog/zoos.js';
import { getRun, type RunRow } from '../catalog/runs.js';
import { insertGeneratedModel } from '../catalog/generated-models.js';
import { refuseIgnoredSamplerSettings, type InferenceMode, type SamplerKind } from '../rpg/config.js';
import { generateModels } from '../rpg/generate.js';
import { loadGeneratorState } from '../rpg/generator.js';
import { Rng } from '../rpg/random.js';
import { Detokenizer, buildLayout } from '../rpg/tokenizer.js';
import { useBackend } from './backend.js';
import { SafetensorsBlobWriter } from './blob-writer.js';
import { loadGeneratorBlob } from './generator-blob.js';
import { skippedTensorsOf } from './zoo-tokens.js';
import type { TensorData } from '../tensors.js';
import { getTask, type BuiltinTask } from '../zoo/index.js';

/** The zoo's built-in task where its models have BatchNorm statistics to measure, else null. */
function batchNormTaskOf(taskId: string | null): BuiltinTask | null {
  const task = taskId ? getTask(taskId) : null;
  return task?.reestimateBatchNorm ? task : null;
}

const SAMPLERS: readonly SamplerKind[] = ['ddim', 'ddpm'];
const MODES: readonly InferenceMode[] = ['sequential', 'partial', 'full'];
const BATCH_NORM_CHOICES: readonly NonNullable<GenerateParams['batchNorm']>[] = ['reestimate', 'generated'];
export const MAX_GENERATE_COUNT = 1000;

/**
 * Model `seed`'s permutation state, drawn by its seed among the states the zoo's checkpoints have
 * (the generator's table can hold states no checkpoint trained: gaps, or a spare row).
 */
export function permutationStateForSeed(trainedStates: readonly number[], seed: number): number {
  return trainedStates[new Rng(seed).int(trainedStates.length)]!;
}

export function trainedRun(catalog: Catalog, runId: Id): RunRow {
  const run = getRun(catalog.db, runId);
  if (run.status !== 'succeeded' || !run.generatorSha256) {
    throw new EngineError('run_not_trained', `run '${runId}' has not finished training (status ${run.status}, step ${run.step}/${String(run.config.steps)})`, {
      hint: run.generatorSha256 ? `resume its training (train zoo '${run.zoo}' with resume '${runId}')` : `train a new generator on zoo '${run.zoo}'`,
    });
  }
  return run;
}

function bad(field: keyof GenerateParams, problem: string, example: string): EngineError {
  return new EngineError('bad_option', `'${field}' ${problem}`, { hint: `e.g. '${field}': ${example}`, fields: [field] });
}

function validate(params: GenerateParams): void {
  const { count, seed, sampler, samplerSteps, mode, condition } = params;
  if (count !== undefined && (!Number.isInteger(count) || count < 1 || count > MAX_GENERATE_COUNT)) {
    throw bad('count', `must be a whole number from 1 to ${MAX_GENERATE_COUNT}, not ${String(count)}`, '10');
  }
  if (seed !== undefined && (!Number.isInteger(seed) || seed < 0 || seed > 2 ** 31 - 1)) {
    throw bad('seed', `must be a whole number from 0 to 2147483647, not ${String(seed)}`, '7');
  }
  if (sampler !== undefined && !SAMPLERS.includes(sampler)) throw bad('sampler', `must be ddpm or ddim, not '${String(sampler)}'`, 'ddim');
  if (samplerSteps !== undefined && (!Number.isInteger(samplerSteps) || samplerSteps < 1)) {
    throw bad('samplerSteps', `must be a positive whole number, not ${String(samplerSteps)}`, '60');
  }
  if (sampler !== undefined) refuseIgnoredSamplerSettings(sampler, params);
  if (params.batchNorm !== undefined && !BATCH_NORM_CHOICES.includes(params.batchNorm)) {
    throw bad('batchNorm', `must be reestimate or generated, not '${String(params.batchNorm)}'`, 'reestimate');
  }
  if (mode !== undefined && !MODES.includes(mode)) throw bad('mode', `must be sequential, partial or full, not '${String(mode)}'`, 'partial');
  if (condition !== undefined && (!Array.isArray(condition) || condition.some((b) => b !== 0 && b !== 1))) {
    throw bad('condition', `must be 0s and 1s (one bit per class), not '${String(condition)}'`, '0101010101');
  }
}

export async function runGenerate(catalog: Catalog, blobs: BlobStore, params: GenerateParams, ctx: JobContext): Promise<GenerateJobResult> {
  validate(params);
  const { db } = catalog;
  const run = trainedRun(catalog, params.run);
  const zoo = getZooById(db, run.zooId);
  const first = firstCheckpoint(db, zoo.id);
  if (!zoo.signature || !first) throw new EngineError('empty_zoo', `zoo '${zoo.name}' of run '${run.id}' has no checkpoints any more`, { hint: 'train a new run on a filled zoo' });
  const signature = zoo.signature;
  const backend = await useBackend(params.backend, params.threads);
  ctx.progress({ fraction: 0, stage: `loading run ${run.id}` });
  const { state, stats } = await loadGeneratorBlob(blobs, run.generatorSha256!);
  const { generator } = loadGeneratorState(state);
  try {
    const config = generator.config;
    const taskBits = generator.shape.taskBits;
    if (taskBits > 0 && params.condition?.length !== taskBits) {
      throw new EngineError('bad_option', `run '${run.id}' generates task-conditioned models: 'condition' needs ${taskBits} bits${params.condition ? `, got ${params.condition.length}` : ''}`, {
        hint: `e.g. 'condition': ${'01'.repeat(taskBits).slice(0, taskBits)}`,
        fields: ['condition'],
      });
    }
    if (taskBits === 0 && params.condition !== undefined) {
      throw new EngineError('bad_option', `run '${run.id}' was trained without task conditions: 'condition' does not apply`, { hint: "leave out 'condition'", fields: ['condition'] });
    }
    const count = params.count ?? 10;
    const seed = params.seed ?? 0;
    const sampler = params.sampler ?? config.sampler;
    refuseIgnoredSamplerSettings(sampler, params);
    const steps = sampler === 'ddpm' ? config.timesteps : (params.samplerSteps ?? config.samplerSteps);
    if (steps > config.timesteps) {
      throw new EngineError('bad_option', `'samplerSteps' ${steps} exceeds the generator's ${config.timesteps} diffusion steps`, {
        hint: `e.g. 'samplerSteps': ${Math.min(60, config.timesteps)} (at most ${config.timesteps})`,
        fields: ['samplerSteps'],
      });
    }
    const trainedStates = [...new Set(listCheckpoints(db, zoo.id).map((c) => c.permutationState))].sort((a, b) => a - b);
    const stateOf = (modelSeed: number) => permutationStateForSeed(trainedStates, modelSeed);
    const layout = buildLayout(signature, stats, config.tokenSize);
    const skipped = await skippedTensorsOf(blobs, layout, first);
    const batchNormTask = params.batchNorm === 'generated' ? null : batchNormTaskOf(zoo.task);
    let batchNormImages: number | null = null;
    const metadataOf = (modelSeed: number, permutationState: number): Record<string, string> => ({
      'paramzoo.generated': JSON.stringify({ seed: modelSeed, sampler, steps, permutationState, condition: params.condition ?? null, batchNormImages }),
    });

    const models: GenerateJobResult['models'] = [];
    let writer: SafetensorsBlobWriter | null = null;
    let held: TensorData[] | null = null;
    let detokenizer: Detokenizer | null = null;
    let started = performance.now();
    let tokensDone = 0;
    try {
      await generateModels(
        generator,
        {
          count,
          seeds: Array.from({ length: count }, (_, i) => seed + i),
          permutationStates: Array.from({ length: count }, (_, i) => stateOf(seed + i)),
          ...(taskBits > 0 ? { task: Float32Array.from(params.condition!) } : {}),
          sampler,
          steps,
          ...(params.mode ? { mode: params.mode } : {}),
          signal: ctx.signal,
        },
        async (chunk) => {
          if (chunk.firstToken === 0) {
            detokenizer = new Detokenizer(layout, skipped);
            // A model whose BatchNorm statistics are measured is written whole once they are.
            if (batchNormTask) held = [];
            else writer = await SafetensorsBlobWriter.open(blobs, signature, metadataOf(chunk.seed, chunk.permutationState));
          }
          const write = async (tensors: Iterable<TensorData>) => {
            for (const tensor of tensors) {
              if (held) held.push(tensor);
              else await writer!.write(tensor);
            }
          };
          await write(detokenizer!.push(chunk.tokens));
          tokensDone += chunk.tokenCount;
          ctx.progress({ fraction: tokensDone / (count * layout.tokenCount), stage: `generating model ${chunk.model + 1}/${count}`, metrics: { models: models.length } });
          if (!chunk.last) return;
          await write(detokenizer!.finish());
          if (held && batchNormTask) {
            ctx.progress({ fraction: tokensDone / (count * layout.tokenCount), stage: `measuring BatchNorm statistics of model ${chunk.model + 1}/${count}`, metrics: { models: models.length } });
            const measured = await batchNormTask.reestimateBatchNorm!(held);
            held = null;
            batchNormImages = measured.images;
            writer = await SafetensorsBlobWriter.open(blobs, signature, metadataOf(chunk.seed, chunk.permutationState));
            for (const tensor of measured.tensors) await writer.write(tensor);
          }
          // held until its row is committed (the row replaces the hold in one transaction)
          const { sha256 } = await writer!.finish(blobHolder(db, ctx.jobId));
          writer = null;
          // From the previous model's end: prototypes and sampling happen before the first chunk arrives.
          const seconds = (performance.now() - started) / 1000;
          started = performance.now();
          const condition = params.condition ?? null;
          const id = db.transaction(() => {
            const inserted = insertGeneratedModel(db, {
              runId: run.id,
              seed: chunk.seed,
              condition,
              sampler,
              steps,
              permutationState: chunk.permutationState,
              sha256,
              seconds,
              runStep: run.step,
              batchNormImages,
            });
            releaseHold(db, sha256, ctx.jobId);
            return inserted;
          })();
          models.push({ id, seed: chunk.seed, sha256, seconds, permutationState: chunk.permutationState, condition });
        },
      );
    } finally {
      await (writer as SafetensorsBlobWriter | null)?.abort();
      releaseHolds(db, ctx.jobId);
    }
    return { run: run.id, backend: backend.name, batchNormImages, models };
  } finally {
    generator.dispose();
  }
}
