// The evaluate job: a run's originals (its zoo's checkpoints) against its generated models, as
// the paper judges them (engine/zoo evaluateZoo), stored in the evaluations table. A run without
// generated models gets 10 first. Task-conditioned zoos: models generated for held-out task
// vectors are compared with the companion zoo `<NAME>-heldout`. A zoo without a task is scored by
// its evaluator command (pipeline/evaluate-command.ts), into the same tables and verdict.
import type { EvaluateJobResult, EvaluateParams, ZooEvaluationInfo, ZooEvaluator } from '../protocol.js';
import { EngineError } from '../errors.js';
import type { BlobStore } from '../blobs.js';
import type { JobContext } from '../jobs.js';
import type { Catalog } from '../catalog/db.js';
import { listCheckpoints } from '../catalog/checkpoints.js';
import { findZoo, getZoo, getZooById } from '../catalog/zoos.js';
import { generatedModelsByState, setGeneratedModelMetrics, type GeneratedModelRow } from '../catalog/generated-models.js';
import type { RunRow } from '../catalog/runs.js';
import { insertEvaluation } from '../catalog/evaluations.js';
import { evaluateZoo, getTask, heldOutTaskVectors, taskMask, type ModelInput, type ZooEvaluation } from '../zoo/index.js';
import type { ZooRow } from '../catalog/zoos.js';
import { useBackend } from './backend.js';
import { evaluateWithCommand } from './evaluate-command.js';
import { heldOutZooName } from './collect.js';
import { runGenerate, trainedRun } from './generate.js';
import { subContext } from './progress.js';
import { readBlobTensors } from './stored.js';

export const DEFAULT_EVALUATION_COUNT = 10;
/**
 * Models generated per held-out task vector (seeds 0, 1, 2): one model per task left the held-out
 * average swinging by a point or two between generators of equal quality, more than the margins measured.
 */
export const HELD_OUT_MODELS_PER_TASK = 3;

async function modelInput(blobs: BlobStore, id: string, sha256: string, condition: number[] | null): Promise<ModelInput> {
  return { id, weights: (await readBlobTensors(blobs, sha256)).tensors, condition };
}

/** Generates what evaluation needs: 10 models, spread over the zoo's conditions; HELD_OUT_MODELS_PER_TASK per held-out task vector. */
async function generateForEvaluation(catalog: Catalog, blobs: BlobStore, params: EvaluateParams, conditioned: boolean, zooId: number, ctx: JobContext): Promise<void> {
  if (!conditioned) {
    await runGenerate(catalog, blobs, { run: params.run!, count: DEFAULT_EVALUATION_COUNT, seed: 0, ...(params.backend ? { backend: params.backend } : {}) }, ctx);
    return;
  }
  const seen = [...new Map(listCheckpoints(catalog.db, zooId).map((c) => [taskMask(c.condition!), c.condition!])).values()];
  const jobs: { condition: number[]; seed: number; count: number }[] = [];
  for (let i = 0; i < DEFAULT_EVALUATION_COUNT; i++) jobs.push({ condition: seen[i % seen.length]!, seed: i, count: 1 });
  for (const condition of heldOutTaskVectors()) jobs.push({ condition, seed: 0, count: HELD_OUT_MODELS_PER_TASK });
  for (const [i, job] of jobs.entries()) {
    const part = subContext(ctx, i / jobs.length, (i + 1) / jobs.length);
    await runGenerate(catalog, blobs, { run: params.run!, count: job.count, seed: job.seed, condition: job.condition, ...(params.backend ? { backend: params.backend } : {}) }, part);
  }
}

async function zooModels(catalog: Catalog, blobs: BlobStore, zooId: number): Promise<ModelInput[]> {
  const models: ModelInput[] = [];
  for (const c of listCheckpoints(catalog.db, zooId)) models.push(await modelInput(blobs, c.id, c.sha256, c.condition));
  return models;
}

/**
 * The checkpoints of zoo `params.zoo` judged as generated models against the originals of zoo
 * `params.originals` — how models generated elsewhere (e.g. bench/rpg-twin.py) are scored exactly
 * like ParamZoo's own. Belongs to no run, so nothing is stored.
 */
async function evaluateZooAgainstZoo(catalog: Catalog, blobs: BlobStore, params: EvaluateParams, ctx: JobContext): Promise<EvaluateJobResult> {
  const { db } = catalog;
  if (typeof params.zoo !== 'string' || typeof params.originals !== 'string') {
    throw new EngineError('bad_request', "evaluating one zoo against another needs both 'zoo' (the models to judge) and 'originals' (the zoo they are compared with)", {
      hint: "give both zoo names, or a 'run' instead",
    });
  }
  const models = getZoo(db, params.zoo);
  const originals = getZoo(db, params.originals);
  const taskId = originals.task ?? models.task;
  const evaluator = originals.evaluator ?? models.evaluator;
  if (!taskId && evaluator) {
    const started = performance.now();
    const evaluation = await evaluateWithCommand(
      catalog,
      blobs,
      {
        zoo: models.name,
        evaluator,
        originals: listCheckpoints(db, originals.id).map((c) => c.id),
        generated: listCheckpoints(db, models.id).map((c) => c.id),
      },
      ctx,
    );
    evaluation.seconds.total = (performance.now() - started) / 1000;
    return { evaluation: null, run: null, zoos: [evaluation] };
  }
  if (!taskId) {
    throw new EngineError('zoo_without_task', `neither zoo '${models.name}' nor zoo '${originals.name}' names a built-in task or an evaluator command, so ParamZoo cannot score them`, {
      hint: `create zoo '${originals.name}' with its built-in 'task' (e.g. digits-mlp) before importing its checkpoints, or give it an evaluator command (zoo.setEvaluator)`,
    });
  }
  const task = getTask(taskId);
  await useBackend(params.backend, params.threads);
  const started = performance.now();
  ctx.progress({ fraction: 0, stage: 'reading models' });
  const evaluation = await evaluateZoo({
    zoo: models.name,
    task: task.id,
    originals: await zooModels(catalog, blobs, originals.id),
    generated: await zooModels(catalog, blobs, models.id),
    signal: ctx.signal,
    onProgress: (p) => ctx.progress({ fraction: p.fraction, stage: p.stage, metrics: p.metrics }),
  });
  evaluation.seconds.total = (performance.now() - started) / 1000;
  return { evaluation: null, run: null, zoos: [evaluation] };
}

export async function runEvaluate(catalog: Catalog, blobs: BlobStore, params: EvaluateParams, ctx: JobContext): Promise<EvaluateJobResult> {
  if (params.zoo !== undefined || params.originals !== undefined) return evaluateZooAgainstZoo(catalog, blobs, params, ctx);
  const { db } = catalog;
  if (typeof params.run !== 'string') {
    throw new EngineError('bad_request', "evaluate needs a 'run', or a 'zoo' of models and the 'originals' zoo to judge them against", { hint: 'give a run id' });
  }
  const run = trainedRun(catalog, params.run);
  const zoo = getZooById(db, run.zooId);
  if (!zoo.task && zoo.evaluator) return evaluateRunWithCommand(catalog, blobs, params, run, zoo, zoo.evaluator, ctx);
  if (!zoo.task) {
    throw new EngineError('zoo_without_task', `zoo '${zoo.name}' holds imported checkpoints, with no built-in task and no evaluator command, so ParamZoo cannot score run '${run.id}'`, {
      hint: `give zoo '${zoo.name}' an evaluator command (zoo.setEvaluator: a program that tests one checkpoint file and prints its accuracy); generated models can also be exported and tested elsewhere`,
    });
  }
  const task = getTask(zoo.task);
  await useBackend(params.backend, params.threads);
  const started = performance.now();
  let generatedSeconds = 0;
  if (generatedModelsByState(db, run.id, run.step).current.length === 0) {
    const t = performance.now();
    await generateForEvaluation(catalog, blobs, params, task.conditioned, zoo.id, subContext(ctx, 0, 0.4, 'no generated models yet: '));
    generatedSeconds = (performance.now() - t) / 1000;
  }
  const evaluationCtx = subContext(ctx, generatedSeconds > 0 ? 0.4 : 0, 1);
  evaluationCtx.progress({ fraction: 0, stage: 'reading models' });

  const heldOutMasks = new Set(heldOutTaskVectors().map(taskMask));
  const isHeldOut = (condition: number[] | null) => task.conditioned && condition !== null && heldOutMasks.has(taskMask(condition));
  const originals = await zooModels(catalog, blobs, zoo.id);
  const { current: generatedRows, earlier } = generatedModelsByState(db, run.id, run.step);
  const generated: ModelInput[] = [];
  const generatedHeldOut: ModelInput[] = [];
  for (const g of generatedRows) (isHeldOut(g.condition) ? generatedHeldOut : generated).push(await modelInput(blobs, g.id, g.sha256, g.condition));
  let heldOut: { originals: ModelInput[]; generated: ModelInput[] } | undefined;
  const companion = task.conditioned ? findZoo(db, heldOutZooName(zoo.name)) : null;
  if (companion && generatedHeldOut.length > 0) {
    heldOut = { originals: await zooModels(catalog, blobs, companion.id), generated: generatedHeldOut };
  }

  const evaluation = await evaluateZoo({
    zoo: zoo.name,
    task: task.id,
    originals,
    generated,
    ...(heldOut ? { heldOut } : {}),
    signal: ctx.signal,
    onProgress: (p) => evaluationCtx.progress({ fraction: p.fraction, stage: p.stage, metrics: p.metrics }),
  });
  if (generatedSeconds > 0) evaluation.seconds.generate = generatedSeconds;
  evaluation.seconds.total = (performance.now() - started) / 1000;
  // Said only when true of every model scored.
  const measured = generatedRows.map((g) => g.batchNormImages);
  if (measured.length > 0 && measured.every((n) => n !== null)) evaluation.batchNormImages = Math.min(...(measured as number[]));
  return withEarlierModels(storeEvaluation(catalog, run.id, evaluation), earlier);
}

function withEarlierModels(result: EvaluateJobResult, earlier: readonly GeneratedModelRow[]): EvaluateJobResult {
  if (earlier.length === 0) return result;
  return { ...result, earlierModels: { count: earlier.length, steps: [...new Set(earlier.map((g) => g.runStep!))].sort((a, b) => a - b) } };
}

/** A run of a zoo without a task: its generated models (10 first if none) and the zoo's originals, scored by the evaluator command. */
async function evaluateRunWithCommand(catalog: Catalog, blobs: BlobStore, params: EvaluateParams, run: RunRow, zoo: ZooRow, evaluator: ZooEvaluator, ctx: JobContext): Promise<EvaluateJobResult> {
  const { db } = catalog;
  const started = performance.now();
  let generatedSeconds = 0;
  if (generatedModelsByState(db, run.id, run.step).current.length === 0) {
    await useBackend(params.backend, params.threads);
    const t = performance.now();
    await generateForEvaluation(catalog, blobs, params, false, zoo.id, subContext(ctx, 0, 0.4, 'no generated models yet: '));
    generatedSeconds = (performance.now() - t) / 1000;
  }
  const byState = generatedModelsByState(db, run.id, run.step);
  const evaluation = await evaluateWithCommand(
    catalog,
    blobs,
    {
      zoo: zoo.name,
      evaluator,
      originals: listCheckpoints(db, zoo.id).map((c) => c.id),
      generated: byState.current.map((g) => g.id),
    },
    subContext(ctx, generatedSeconds > 0 ? 0.4 : 0, 1),
  );
  if (generatedSeconds > 0) evaluation.seconds.generate = generatedSeconds;
  evaluation.seconds.total = (performance.now() - started) / 1000;
  return withEarlierModels(storeEvaluation(catalog, run.id, evaluation), byState.earlier);
}

/** The generated models' metrics and the evaluation row, together or not at all. */
function storeEvaluation(catalog: Catalog, runId: string, evaluation: ZooEvaluation): EvaluateJobResult {
  const { db } = catalog;
  const zoos: ZooEvaluationInfo[] = [evaluation];
  const id = db.transaction(() => {
    for (const model of evaluation.details.generated) {
      if (!model.id) continue;
      setGeneratedModelMetrics(db, model.id, {
        accuracy: model.accuracy,
        ...(model.loss !== null ? { loss: model.loss } : {}),
        ...(model.nearestIoU !== null ? { nearestIoU: model.nearestIoU } : {}),
      });
    }
    return insertEvaluation(db, runId, { zoos });
  })();
  return { evaluation: id, run: runId, zoos };
}
