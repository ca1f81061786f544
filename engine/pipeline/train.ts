// The train job: a generator run on a zoo. Tokens stream from the zoo's blobs; the generator's
// state is saved as a blob every `saveEvery` steps and at the end, and the run's row (step, loss
// curve, blob) follows each save, so a run killed at any moment resumes from its last save with
// the same loss curve (the trainer saves its RNG and optimizer state too).
import type { CheckpointRecord, Id, RunCheck, TrainJobResult, TrainParams } from '../protocol.js';
import { CancelledError, EngineError } from '../errors.js';
import type { BlobStore } from '../blobs.js';
import type { JobContext } from '../jobs.js';
import type { Catalog } from '../catalog/db.js';
import { firstCheckpoint, listCheckpoints } from '../catalog/checkpoints.js';
import { blobHolder, releaseHold, releaseHolds } from '../catalog/gc.js';
import { getZoo, parameterCount, type ZooRow } from '../catalog/zoos.js';
import { getRun, insertRun, recordRunSave, setRunStatus, type RunRow } from '../catalog/runs.js';
import { validateConfig, type RpgConfig } from '../rpg/config.js';
import { resolveConfig } from '../rpg/presets.js';
import { trainGenerator, type TrainingResult } from '../rpg/trainer.js';
import { buildLayout, isGenerated, tokenMask, tokenPositions, type TokenLayout, type ZooStats } from '../rpg/tokenizer.js';
import type { GeneratorState } from '../rpg/generator.js';
import { useBackend } from './backend.js';
import { loadGeneratorBlob, lossCurveOf, saveGeneratorBlob } from './generator-blob.js';
import { computeStatsFromBlobs, skippedTensorsOf, ZooTokenSource } from './zoo-tokens.js';
import { mean } from '../zoo/accuracy.js';
import { heldOutCheckModelCount, QualityCheck } from './quality-check.js';
import { saveRunCheck } from '../catalog/run-checks.js';
import { describeCheck } from '../report/checks.js';
import { recordRunSpeed } from '../catalog/run-speeds.js';
import { estimateTraining, roughDuration } from './estimate.js';

/** Task vectors of a conditioned zoo: every checkpoint has one of the same length, or none has. */
function taskBitsOf(zoo: ZooRow, checkpoints: CheckpointRecord[]): number {
  const bits = checkpoints[0]!.condition?.length ?? 0;
  for (const checkpoint of checkpoints) {
    if ((checkpoint.condition?.length ?? 0) !== bits) {
      throw new EngineError('mixed_conditions', `zoo '${zoo.name}' mixes checkpoints with and without task conditions (${checkpoint.id})`, {
        hint: 'a generator learns one kind of condition: keep conditioned and unconditioned checkpoints in separate zoos',
      });
    }
  }
  return bits;
}

function generatedParameterCount(zoo: ZooRow): number {
  return parameterCount((zoo.signature ?? []).filter(isGenerated));
}

function resumableRun(catalog: Catalog, runId: Id, zooName: string): RunRow {
  const run = getRun(catalog.db, runId);
  if (run.zoo !== zooName) {
    throw new EngineError('run_zoo_mismatch', `run '${runId}' trains zoo '${run.zoo}', not '${zooName}'`, { hint: `resume it on its own zoo, '${run.zoo}'` });
  }
  if (run.status === 'running') {
    throw new EngineError('run_busy', `run '${runId}' is being trained right now (job ${run.jobId})`, { hint: 'wait for it, or cancel that job first' });
  }
  if (!run.generatorSha256) {
    throw new EngineError('run_not_saved', `run '${runId}' stopped before its first save (step ${run.config.saveEvery as number}): nothing to resume`, {
      hint: `start a new run: paramzoo train ${zooName}`,
    });
  }
  return run;
}

/** Size of the permutation embedding table: one row per state up to the largest the zoo uses. */
function permutationStateCount(states: number[]): number {
  return Math.max(...states) + 1;
}

/** The quality check of a run, or null when its config turns checks off. */
async function prepareQualityCheck(
  catalog: Catalog,
  blobs: BlobStore,
  run: { zoo: ZooRow; checkpoints: CheckpointRecord[]; layout: TokenLayout; config: RpgConfig; mask: Float32Array; source: ZooTokenSource },
  ctx: JobContext,
): Promise<QualityCheck | null> {
  if (run.config.checkEvery === 0) return null;
  const first = firstCheckpoint(catalog.db, run.zoo.id)!;
  return QualityCheck.prepare(
    {
      blobs,
      taskId: run.zoo.task,
      checkpoints: run.checkpoints,
      layout: run.layout,
      config: run.config,
      mask: run.mask,
      skipped: await skippedTensorsOf(blobs, run.layout, first),
      tokens: (index) => run.source.tokens(index),
    },
    (done, of) => {
      ctx.throwIfCancelled();
      ctx.progress({ stage: run.zoo.task ? `scoring the originals on the check split ${done}/${of}` : `measuring the originals' weights ${done}/${of}` });
    },
  );
}

function checkMetrics(check: RunCheck): Record<string, number> {
  if (!check.accuracies) return { checkOutOfRange: check.weights?.outOfRange ?? 0 };
  return {
    checkStep: check.step,
    checkAvg: mean(check.accuracies),
    checkMin: Math.min(...check.accuracies),
    ...(check.heldOut ? { checkHeldOutAvg: mean(check.heldOut.accuracies) } : {}),
  };
}

export async function runTrain(catalog: Catalog, blobs: BlobStore, params: TrainParams, ctx: JobContext): Promise<TrainJobResult> {
  const { db } = catalog;
  if (typeof params.zoo !== 'string') throw new EngineError('bad_request', 'train needs a zoo name', { hint: 'paramzoo train NAME' });
  const zoo = getZoo(db, params.zoo);
  const checkpoints = listCheckpoints(db, zoo.id);
  if (checkpoints.length === 0 || !zoo.signature) {
    throw new EngineError('empty_zoo', `zoo '${zoo.name}' has no checkpoints to learn from`, {
      hint: `fill it first: collect a built-in task into zoo '${zoo.name}', or import checkpoints into it`,
    });
  }
  const signature = zoo.signature;
  const taskBits = taskBitsOf(zoo, checkpoints);

  let resumeFrom: GeneratorState | undefined;
  let stats: ZooStats;
  let config: RpgConfig;
  let runId: Id;
  if (params.resume) {
    if (params.preset !== undefined || params.set !== undefined) {
      throw new EngineError('bad_option', `'resume' continues run '${params.resume}' with the config it was started with`, {
        hint: "leave out 'preset' and 'set' (only 'steps' may change, to continue a run further), or start a new run without 'resume'",
        fields: ['resume', 'preset', 'set'],
      });
    }
    const run = resumableRun(catalog, params.resume, zoo.name);
    if (params.steps !== undefined && (!Number.isInteger(params.steps) || params.steps <= run.step)) {
      throw new EngineError('bad_option', `'steps' ${String(params.steps)} does not continue run '${run.id}', which is at step ${run.step}`, {
        hint: `give more steps than ${run.step} (the total to train to), or leave 'steps' out to finish the run's own ${String(run.config.steps)}`,
        fields: ['steps'],
      });
    }
    ctx.progress({ fraction: 0, stage: `loading run ${run.id} at step ${run.step}` });
    const loaded = await loadGeneratorBlob(blobs, run.generatorSha256!);
    if (loaded.stats.checkpoints !== checkpoints.length) {
      throw new EngineError('zoo_changed', `zoo '${zoo.name}' has ${checkpoints.length} checkpoints now, run '${run.id}' started with ${loaded.stats.checkpoints}`, {
        hint: `a run learns one fixed zoo: start a new run (paramzoo train ${zoo.name})`,
      });
    }
    resumeFrom = loaded.state;
    stats = loaded.stats;
    // A run stored by an older version lacks the settings added since: they take their defaults
    // (lstmResidual: the residual stack those versions had).
    config = validateConfig({ lstmResidual: true, ...(run.config as Partial<RpgConfig>), ...(params.steps !== undefined ? { steps: params.steps } : {}) });
    runId = run.id;
  } else {
    config = resolveConfig({
      ...(params.preset ? { preset: params.preset } : { parameterCount: generatedParameterCount(zoo), task: zoo.task }),
      overrides: { ...(params.set as Partial<RpgConfig> | undefined), ...(params.steps !== undefined ? { steps: params.steps } : {}) },
    });
    stats = await computeStatsFromBlobs(blobs, signature, checkpoints, (done) => {
      ctx.throwIfCancelled();
      ctx.progress({ fraction: 0, stage: `zoo statistics ${done}/${checkpoints.length}` });
    });
    runId = '';
  }
  const layout = buildLayout(signature, stats, config.tokenSize);
  const positions = tokenPositions(layout);
  const backend = await useBackend(params.backend, params.threads);
  if (!params.resume) runId = insertRun(db, { zooId: zoo.id, config, backend: backend.name, jobId: ctx.jobId });
  else setRunStatus(db, runId, 'running', ctx.jobId);

  const source = new ZooTokenSource(blobs, layout, checkpoints);
  const permutationStates = checkpoints.map((c) => c.permutationState);
  const mask = tokenMask(layout);
  const startStep = params.resume ? getRun(db, runId).step : 0;
  const estimate = estimateTraining(db, backend.name, config, { tokenCount: layout.tokenCount, checkpoints: checkpoints.length, heldOutCheckModels: heldOutCheckModelCount(zoo.task) }, startStep);
  ctx.progress({
    stage:
      `run ${runId}: ${layout.tokenCount} tokens of ${config.tokenSize} per checkpoint, ${checkpoints.length} checkpoints; ` +
      `${estimate.steps} steps expected to take ${roughDuration(estimate.seconds)} (${estimate.secondsPerStep.toFixed(2)} s/step, from ${estimate.basis})`,
    metrics: { expectedSeconds: estimate.seconds },
  });
  const quality = await prepareQualityCheck(catalog, blobs, { zoo, checkpoints, layout, config, mask, source }, ctx);
  let lastCheck: RunCheck | null = null;
  let lastLoss: number | null = null;

  let result: TrainingResult;
  try {
    result = await trainGenerator(
      {
        shape: { tokenCount: layout.tokenCount, ...positions, permutationStates: permutationStateCount(permutationStates), taskBits },
        checkpointCount: checkpoints.length,
        tokens: (index) => source.tokens(index),
        mask,
        permutationStates,
        ...(taskBits > 0 ? { tasks: checkpoints.map((c) => Float32Array.from(c.condition!)) } : {}),
      },
      config,
      {
        signal: ctx.signal,
        ...(resumeFrom ? { resumeFrom } : {}),
        ...(params.resume && params.steps !== undefined ? { steps: params.steps } : {}),
        onProgress: (p) => {
          lastLoss = p.loss;
          ctx.progress({
            fraction: p.step / p.steps,
            stage: `training run ${runId}: step ${p.step}/${p.steps}, loss ${p.loss.toFixed(4)}, lr ${p.lr.toExponential(1)}, ${Math.round(p.tokensPerSecond)} tokens/s`,
            metrics: { step: p.step, loss: p.loss, lr: p.lr, tokensPerSecond: p.tokensPerSecond, etaSeconds: p.etaSeconds },
          });
        },
        ...(quality
          ? {
              onCheck: async (generator, step) => {
                ctx.progress({ stage: `training run ${runId}: step ${step}, checking ${config.checkModels} generated models` });
                lastCheck = await quality.run(generator, step, lastLoss, ctx.signal);
                saveRunCheck(db, runId, lastCheck);
                ctx.progress({ stage: `training run ${runId}: step ${step}, ${describeCheck(lastCheck)}`, metrics: checkMetrics(lastCheck) });
                return config.stopEarly && lastCheck.withinBar === true;
              },
            }
          : {}),
        onCheckpoint: async (state, step) => {
          // held until the run's row references it (the run's previous state becomes an orphan for gc)
          const sha256 = await saveGeneratorBlob(blobs, state, stats, blobHolder(db, ctx.jobId));
          db.transaction(() => {
            recordRunSave(db, runId, { step, lossCurve: lossCurveOf(state), generatorSha256: sha256 });
            releaseHold(db, sha256, ctx.jobId);
          })();
        },
      },
    );
  } catch (error) {
    setRunStatus(db, runId, error instanceof CancelledError || ctx.signal.aborted ? 'cancelled' : 'failed');
    throw error;
  } finally {
    releaseHolds(db, ctx.jobId);
  }
  result.generator.dispose();
  setRunStatus(db, runId, 'succeeded');
  if (result.steps > startStep) recordRunSpeed(db, runId, { secondsPerStep: result.secondsPerStep, stepFlops: estimate.stepFlops });
  return {
    run: runId,
    zoo: zoo.name,
    steps: result.steps,
    stoppedEarly: result.stoppedEarly,
    lastCheck,
    estimate,
    finalLoss: result.finalLoss,
    secondsPerStep: result.secondsPerStep,
    config: result.config as unknown as Record<string, unknown>,
    backend: backend.name,
  };
}
