// Checkpoint collection, the paper's recipe: train from a seed for E epochs, then train ONE more
// epoch and save K checkpoints evenly through it, each tested on the test split. Several seeds are
// several training runs; a checkpoint's permutation state is its run's seed index. For a
// task-conditioned family every (task vector, seed) is a run, and the held-out task vectors are
// collected separately (role 'heldOut'), never into the training zoo.
import type { JobProgress } from '../protocol.js';
import type { TensorData } from '../tensors.js';
import { CancelledError } from '../errors.js';
import { TaskError } from './errors.js';
import { createRng, deriveSeed } from './random.js';
import { heldOutTaskVectors, seenTaskVectors, taskMask } from './tasks/binary.js';
import { yieldToEventLoop } from './tasks/classifier.js';
import { getTask } from './tasks/registry.js';
import type { BuiltinTask } from './tasks/types.js';
import { summarize, type AccuracySummary } from './accuracy.js';

export interface CollectOptions {
  /** independent training runs (per task vector for conditioned families) */
  seeds: number;
  /** checkpoints saved evenly through the last epoch of each run */
  checkpointsPerSeed: number;
  /** epochs trained before the checkpoint epoch */
  epochs: number;
  batchSize: number;
  /** Adam learning rate */
  lr: number;
  /** base seed: the same seed and settings give the same zoo on the same backend */
  seed: number;
  /** train on the first N training samples only */
  trainSubset?: number;
  /** conditioned families: how many seen task vectors (picked with `seed`), or the vectors themselves */
  tasks?: number | number[][];
  /** conditioned families: also collect the held-out task vectors (role 'heldOut'); default true */
  heldOut?: boolean;
}

export interface CollectedCheckpoint {
  tensors: TensorData[];
  /** the training run (seed index) the checkpoint came from */
  permutationState: number;
  /** task vector for conditioned families, else null */
  condition: number[] | null;
  /** accuracy (percent) and loss on the test split; epoch and step where it was saved */
  metrics: Record<string, number>;
  /** 'zoo' for the training zoo, 'heldOut' for the held-out task vectors (store apart) */
  role: 'zoo' | 'heldOut';
}

export interface CollectHooks {
  signal?: AbortSignal;
  onProgress?(progress: JobProgress): void;
  /** called as soon as each checkpoint is made; awaited, so the caller can store it first */
  onCheckpoint(checkpoint: CollectedCheckpoint): void | Promise<void>;
}

export interface CollectResult {
  task: string;
  settings: CollectOptions;
  checkpoints: number;
  heldOutCheckpoints: number;
  /** accuracies of the training zoo's checkpoints (percent) */
  accuracy: AccuracySummary;
  seconds: number;
}

interface Run {
  permutationState: number;
  condition: number[] | null;
  role: 'zoo' | 'heldOut';
}

function checkInteger(name: string, value: unknown, min: number, max: number): void {
  if (!Number.isInteger(value) || (value as number) < min || (value as number) > max) {
    throw new TaskError('bad_setting', `${name} = ${String(value)}: must be an integer from ${min} to ${max}`);
  }
}

export function resolveCollectOptions(task: BuiltinTask, options: Partial<CollectOptions>): CollectOptions {
  const settings: CollectOptions = {
    seeds: options.seeds ?? task.defaults.seeds,
    checkpointsPerSeed: options.checkpointsPerSeed ?? task.defaults.checkpointsPerSeed,
    epochs: options.epochs ?? task.defaults.epochs,
    batchSize: options.batchSize ?? task.defaults.batchSize,
    lr: options.lr ?? task.defaults.lr,
    seed: options.seed ?? 0,
  };
  const subset = options.trainSubset ?? task.defaults.trainSubset;
  if (subset !== undefined) settings.trainSubset = subset;
  if (task.conditioned) {
    settings.tasks = options.tasks ?? task.defaults.tasks ?? 200;
    settings.heldOut = options.heldOut ?? true;
  } else if (options.tasks !== undefined) {
    throw new TaskError('bad_setting', `tasks: task '${task.id}' is not task-conditioned`, { hint: 'only digits-binary takes tasks' });
  }
  checkInteger('seeds', settings.seeds, 1, 1000);
  checkInteger('checkpointsPerSeed', settings.checkpointsPerSeed, 1, 10000);
  checkInteger('epochs', settings.epochs, 0, 10000);
  checkInteger('seed', settings.seed, 0, 2 ** 32 - 1);
  return settings;
}

function planRuns(settings: CollectOptions, conditioned: boolean): Run[] {
  const runs: Run[] = [];
  if (!conditioned) {
    for (let s = 0; s < settings.seeds; s++) runs.push({ permutationState: s, condition: null, role: 'zoo' });
    return runs;
  }
  let vectors: number[][];
  const seen = seenTaskVectors();
  if (Array.isArray(settings.tasks)) {
    const heldOut = new Set(heldOutTaskVectors().map(taskMask));
    vectors = settings.tasks;
    if (vectors.length === 0) throw new TaskError('bad_setting', 'tasks = []: name at least one task vector, or give a count');
    if (new Set(vectors.map(taskMask)).size !== vectors.length) throw new TaskError('bad_setting', 'tasks: a task vector is listed twice');
    for (const v of vectors) {
      if (heldOut.has(taskMask(v))) {
        throw new TaskError('bad_setting', `task vector [${v.join(',')}] is held out: it cannot join a training zoo`, {
          hint: 'held-out vectors are collected with heldOut: true, as role "heldOut"',
        });
      }
    }
  } else {
    checkInteger('tasks', settings.tasks, 1, seen.length);
    // A seeded pick of distinct seen vectors, kept in mask order.
    const rng = createRng(deriveSeed(settings.seed, 0x7a5c));
    const picked = seen
      .map((v) => ({ v, key: rng() }))
      .sort((a, b) => a.key - b.key)
      .slice(0, settings.tasks as number);
    vectors = picked.map((p) => p.v).sort((a, b) => taskMask(a) - taskMask(b));
  }
  for (const condition of vectors) {
    for (let s = 0; s < settings.seeds; s++) runs.push({ permutationState: s, condition, role: 'zoo' });
  }
  if (settings.heldOut) {
    for (const condition of heldOutTaskVectors()) {
      for (let s = 0; s < settings.seeds; s++) runs.push({ permutationState: s, condition, role: 'heldOut' });
    }
  }
  return runs;
}

/** Trains the runs of a built-in task and hands every checkpoint to hooks.onCheckpoint as it is made. */
export async function collectZoo(taskId: string, options: Partial<CollectOptions>, hooks: CollectHooks): Promise<CollectResult> {
  const task = getTask(taskId);
  const settings = resolveCollectOptions(task, options);
  const runs = planRuns(settings, task.conditioned);
  const started = performance.now();
  const accuracies: number[] = [];
  let heldOutCheckpoints = 0;
  let stepsDone = 0;
  let totalSteps = 0;
  let lastReport = 0;
  const latest: Record<string, number> = {};

  const report = (stage: string, force = false) => {
    const now = performance.now();
    if (!hooks.onProgress || (!force && now - lastReport < 500)) return;
    lastReport = now;
    const fraction = totalSteps > 0 ? Math.min(stepsDone / totalSteps, 1) : 0;
    const elapsed = (now - started) / 1000;
    const etaSeconds = fraction > 0.01 ? (elapsed * (1 - fraction)) / fraction : null;
    hooks.onProgress({ fraction, stage, etaSeconds, metrics: { ...latest } });
  };
  const checkCancel = () => {
    if (hooks.signal?.aborted) throw new CancelledError(`collecting '${taskId}'`);
  };

  for (const [index, run] of runs.entries()) {
    checkCancel();
    const conditionKey = run.condition ? taskMask(run.condition) : 0;
    const runSeed = deriveSeed(settings.seed, run.permutationState, conditionKey);
    // Every task vector of a run index starts from the same head: its checkpoints then differ by
    // what the task taught, not by an unrelated random init, so weights vary smoothly with the task
    // vector and a generator can carry that over to held-out vectors. (Condition key 0: the seed an
    // unconditioned run has always had.)
    const initSeed = deriveSeed(settings.seed, run.permutationState, 0);
    const training = task.startTraining(task.init(initSeed), {
      lr: settings.lr,
      batchSize: settings.batchSize,
      seed: deriveSeed(runSeed, 1),
      ...(run.condition ? { condition: run.condition } : {}),
      ...(settings.trainSubset !== undefined ? { trainSubset: settings.trainSubset } : {}),
    });
    const steps = training.stepsPerEpoch;
    if (settings.checkpointsPerSeed > steps) {
      training.dispose();
      throw new TaskError('bad_setting', `checkpointsPerSeed = ${settings.checkpointsPerSeed}: one epoch of '${taskId}' has only ${steps} batches of ${settings.batchSize}`, {
        hint: `use at most ${steps} checkpoints per seed, or a smaller batchSize`,
      });
    }
    if (totalSteps === 0) totalSteps = runs.length * (settings.epochs + 1) * steps;
    const what = `run ${index + 1}/${runs.length}${run.condition ? ` (task ${run.condition.join('')}${run.role === 'heldOut' ? ', held out' : ''})` : ''}`;
    try {
      for (let epoch = 0; epoch < settings.epochs; epoch++) {
        const stage = `training ${what}, epoch ${epoch + 1}/${settings.epochs}`;
        const { loss } = await training.trainEpoch({
          signal: hooks.signal,
          onStep: (_, stepLoss) => {
            stepsDone += 1;
            latest.loss = stepLoss;
            report(stage);
          },
        });
        latest.epochLoss = loss;
      }
      // The checkpoint epoch: K saves at steps ⌈(k+1)·S/K⌉, the last at the epoch's end.
      const saveAt = Array.from({ length: settings.checkpointsPerSeed }, (_, k) => Math.ceil(((k + 1) * steps) / settings.checkpointsPerSeed));
      let step = 0;
      for (const [k, target] of saveAt.entries()) {
        const stage = `checkpoints of ${what}: ${k + 1}/${settings.checkpointsPerSeed}`;
        while (step < target) {
          checkCancel();
          latest.loss = await training.step();
          step += 1;
          stepsDone += 1;
          report(stage);
          if (step % 8 === 0) await yieldToEventLoop();
        }
        const tensors = await training.weights();
        const evaluation = await task.evaluate(tensors, run.condition ? { condition: run.condition } : {});
        const metrics = { accuracy: evaluation.accuracy, loss: evaluation.loss, epoch: settings.epochs + step / steps, step };
        latest.accuracy = evaluation.accuracy;
        if (run.role === 'zoo') accuracies.push(evaluation.accuracy);
        else heldOutCheckpoints += 1;
        checkCancel();
        await hooks.onCheckpoint({ tensors, permutationState: run.permutationState, condition: run.condition ? [...run.condition] : null, metrics, role: run.role });
        report(stage, true);
      }
    } finally {
      training.dispose();
    }
  }
  return {
    task: taskId,
    settings,
    checkpoints: accuracies.length,
    heldOutCheckpoints,
    accuracy: summarize(accuracies),
    seconds: (performance.now() - started) / 1000,
  };
}
