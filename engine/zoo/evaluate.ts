// Judging generated models as the paper does: accuracy best/avg/min next to the originals', and
// similarity as the IoU of misclassified test samples, against a baseline of noised originals.
import type { TensorData } from '../tensors.js';
import { CancelledError } from '../errors.js';
import { stageTimer } from '../timing.js';
import type { JobProgress } from '../protocol.js';
import { TaskError } from './errors.js';
import { createNormal, deriveSeed } from './random.js';
import { isBuffer } from './tasks/layers.js';
import { getTask } from './tasks/registry.js';
import { taskMask } from './tasks/binary.js';
import type { BuiltinTask, Evaluation } from './tasks/types.js';
import type { EvaluationSplit } from './datasets/index.js';
import { arraysToTensors, weightsToArrays, type WeightsInput } from './tensors.js';
import { evaluationVerdict, heldOutVerdict, type EvaluationVerdict, type HeldOutVerdict } from './verdict.js';
import { summarize, type AccuracySummary } from './accuracy.js';

/**
 * |A ∩ B| / |A ∪ B| of two sorted sets of misclassified sample indices. Two models that misclassify
 * nothing agree perfectly, so the IoU of two empty sets is defined as 1.
 */
export function misclassifiedIoU(a: Int32Array, b: Int32Array): number {
  let i = 0;
  let j = 0;
  let both = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      both++;
      i++;
      j++;
    } else if (a[i]! < b[j]!) i++;
    else j++;
  }
  const union = a.length + b.length - both;
  return union === 0 ? 1 : both / union;
}

/** Highest IoU of a model's misclassified set with any original's ("nearest original"); null without originals. */
export function nearestIoU(model: Int32Array, originals: readonly Int32Array[]): { iou: number; index: number } | null {
  let best: { iou: number; index: number } | null = null;
  originals.forEach((original, index) => {
    const iou = misclassifiedIoU(model, original);
    if (!best || iou > best.iou) best = { iou, index };
  });
  return best;
}

export async function evaluateModel(task: BuiltinTask | string, weights: WeightsInput, options: { condition?: number[] | null; split?: EvaluationSplit } = {}): Promise<Evaluation> {
  const resolved = typeof task === 'string' ? getTask(task) : task;
  return resolved.evaluate(weights, { ...(options.condition ? { condition: options.condition } : {}), ...(options.split ? { split: options.split } : {}) });
}

/**
 * A copy of the weights with Gaussian noise of std `level × std(tensor)` added to every learned
 * float tensor (weights, biases, BatchNorm affine). BatchNorm running stats and counters are kept:
 * noise would make running_var negative, and they are statistics, not parameters. A tensor whose
 * std is 0 (one value, or constant) uses its RMS instead.
 */
export function addNoise(weights: WeightsInput, task: BuiltinTask, level: number, seed: number): TensorData[] {
  const signature = task.signature();
  const arrays = weightsToArrays(weights, signature, task.id);
  const noised = new Map(arrays);
  signature.forEach((spec, index) => {
    const values = arrays.get(spec.name)!;
    if (!(values instanceof Float32Array) || isBuffer(spec.name)) return;
    let mean = 0;
    for (const v of values) mean += v;
    mean /= values.length;
    let variance = 0;
    let square = 0;
    for (const v of values) {
      variance += (v - mean) ** 2;
      square += v * v;
    }
    const std = Math.sqrt(variance / values.length) || Math.sqrt(square / values.length);
    const normal = createNormal(deriveSeed(seed, index));
    noised.set(
      spec.name,
      Float32Array.from(values, (v) => v + level * std * normal()),
    );
  });
  return arraysToTensors(noised, signature);
}

export const DEFAULT_NOISE_LEVELS = [0.01, 0.05, 0.1, 0.2, 0.3];

export interface ModelInput {
  id?: string;
  weights: WeightsInput;
  /** task vector for conditioned families */
  condition?: number[] | null;
}

export interface ModelResult {
  id: string | null;
  accuracy: number;
  /** test loss; null where the score came from a user's evaluator command, which reports only accuracy */
  loss: number | null;
  condition: number[] | null;
  /** highest IoU with an original (of the same condition), and that original's id */
  nearestIoU: number | null;
  nearestOriginal: string | null;
}

export interface NoiseLevelResult {
  /** noise std relative to each tensor's std */
  level: number;
  accuracy: AccuracySummary;
  /** mean over the noised copies of their nearest IoU with the originals (their own source included) */
  nearestIoU: number | null;
  count: number;
}

export interface HeldOutTaskResult {
  condition: number[];
  originals: AccuracySummary;
  generated: AccuracySummary;
  /** generated models scored for this task vector */
  generatedModels: number;
}

/** The `evaluate --json` shape for one zoo (DESIGN.md), plus details. */
export interface ZooEvaluation {
  zoo: string;
  /** the built-in task, or 'command' when the zoo's evaluator command scored the models */
  task: string;
  /** the evaluator command that scored the models (task 'command') */
  evaluator?: string;
  originals: AccuracySummary;
  generated: AccuracySummary;
  /**
   * generated: mean over generated models of their nearest IoU. noised: the same for the noised
   * copies at the noise level whose mean accuracy is closest to the generated models' mean (the
   * paper compares similarity at equal accuracy). Null when there is nothing to compare.
   */
  nearestIoU: { generated: number | null; noised: number | null };
  /** the bar, models below the worst original, new models or near-copies, in words */
  verdict: EvaluationVerdict;
  /** training images the generated models' BatchNorm statistics were measured on (absent: as generated, or no BatchNorm) */
  batchNormImages?: number;
  /** task-conditioned zoos: the held-out task vectors, over tasks */
  heldOutTasks?: HeldOutVerdict;
  seconds: Record<string, number>;
  details: {
    originals: ModelResult[];
    generated: ModelResult[];
    noise: NoiseLevelResult[];
    /** the noise level `nearestIoU.noised` was taken from */
    noisedLevel: number | null;
    /** IoU between pairs of originals (same condition); nulls with fewer than two */
    originalsIoU: { max: number | null; mean: number | null; min: number | null };
    heldOut?: HeldOutTaskResult[];
    /** how many originals were noised (evenly picked) */
    noisedOriginals: number;
  };
}

export interface EvaluateZooInput {
  zoo: string;
  task: string;
  originals: ModelInput[];
  generated: ModelInput[];
  /** conditioned families: models of the held-out task vectors, originals and generated */
  heldOut?: { originals: ModelInput[]; generated: ModelInput[] };
  noiseLevels?: number[];
  /** how many originals (evenly picked) get noised copies per level; default 10 */
  noisedOriginals?: number;
  seed?: number;
  signal?: AbortSignal;
  onProgress?(progress: JobProgress): void;
}

const keyOf = (condition: number[] | null | undefined): number => (condition ? taskMask(condition) : 0);
const mean = (values: number[]): number | null => (values.length ? values.reduce((a, b) => a + b, 0) / values.length : null);

export async function evaluateZoo(input: EvaluateZooInput): Promise<ZooEvaluation> {
  const task = getTask(input.task);
  const levels = input.noiseLevels ?? DEFAULT_NOISE_LEVELS;
  if (levels.some((l) => !(l >= 0 && l < 100))) throw new TaskError('bad_setting', `noise levels [${levels.join(', ')}] must be ≥ 0 and < 100`);
  if (input.originals.length === 0) throw new TaskError('bad_setting', `zoo '${input.zoo}' has no original checkpoints to compare with`);
  for (const model of [...input.originals, ...input.generated]) {
    if (task.conditioned && !model.condition) {
      throw new TaskError('bad_condition', `model ${model.id ?? '(unnamed)'} of task '${task.id}' has no task vector`, { hint: 'every model of a conditioned zoo needs its condition' });
    }
  }
  const noisedCount = Math.min(input.noisedOriginals ?? 10, input.originals.length);
  const heldOutModels = input.heldOut ? input.heldOut.originals.length + input.heldOut.generated.length : 0;
  const totalEvaluations = input.originals.length + input.generated.length + noisedCount * levels.length + heldOutModels;
  let done = 0;
  const started = performance.now();
  const seconds: Record<string, number> = {};
  const tick = async (stage: string) => {
    done += 1;
    if (input.signal?.aborted) throw new CancelledError(`evaluating zoo '${input.zoo}'`);
    const fraction = done / totalEvaluations;
    const elapsed = (performance.now() - started) / 1000;
    input.onProgress?.({ fraction, stage, etaSeconds: fraction > 0 ? (elapsed * (1 - fraction)) / fraction : null, metrics: { evaluated: done } });
  };
  const timed = stageTimer(seconds);

  const run = async (models: ModelInput[], stage: string) => {
    const out: { model: ModelInput; evaluation: Evaluation }[] = [];
    for (const model of models) {
      out.push({ model, evaluation: await evaluateModel(task, model.weights, { condition: model.condition ?? null }) });
      await tick(stage);
    }
    return out;
  };

  const originals = await timed('originals', () => run(input.originals, 'testing originals'));
  const generated = await timed('generated', () => run(input.generated, 'testing generated models'));

  // Misclassified sets of the originals, grouped by condition (binary tasks differ in their labels).
  const byCondition = new Map<number, { id: string | null; misclassified: Int32Array }[]>();
  for (const { model, evaluation } of originals) {
    const group = byCondition.get(keyOf(model.condition)) ?? [];
    group.push({ id: model.id ?? null, misclassified: evaluation.misclassified });
    byCondition.set(keyOf(model.condition), group);
  }
  const nearest = (misclassified: Int32Array, condition: number[] | null | undefined) => {
    const group = byCondition.get(keyOf(condition)) ?? [];
    const found = nearestIoU(
      misclassified,
      group.map((g) => g.misclassified),
    );
    return found ? { iou: found.iou, id: group[found.index]!.id } : null;
  };
  const toResult = ({ model, evaluation }: { model: ModelInput; evaluation: Evaluation }, withNearest: boolean): ModelResult => {
    const found = withNearest ? nearest(evaluation.misclassified, model.condition) : null;
    return {
      id: model.id ?? null,
      accuracy: evaluation.accuracy,
      loss: evaluation.loss,
      condition: model.condition ?? null,
      nearestIoU: found?.iou ?? null,
      nearestOriginal: found?.id ?? null,
    };
  };

  const similarityStart = performance.now();
  const generatedResults = generated.map((g) => toResult(g, true));
  const pairIoUs: number[] = [];
  for (const group of byCondition.values()) {
    for (let i = 0; i < group.length; i++) {
      for (let j = i + 1; j < group.length; j++) pairIoUs.push(misclassifiedIoU(group[i]!.misclassified, group[j]!.misclassified));
    }
  }
  seconds.similarity = (performance.now() - similarityStart) / 1000;

  // Noise baseline: noised copies of evenly picked originals, compared with ALL originals, their
  // source included: a noised copy is close to its source, which is what generation must beat.
  const picked = Array.from({ length: noisedCount }, (_, k) => Math.floor((k * input.originals.length) / noisedCount));
  const noise: NoiseLevelResult[] = await timed('noise', async () => {
    const results: NoiseLevelResult[] = [];
    for (const [levelIndex, level] of levels.entries()) {
      const accuracies: number[] = [];
      const ious: number[] = [];
      for (const index of picked) {
        const source = input.originals[index]!;
        const noised = addNoise(source.weights, task, level, deriveSeed(input.seed ?? 0, index, levelIndex));
        const evaluation = await evaluateModel(task, noised, { condition: source.condition ?? null });
        accuracies.push(evaluation.accuracy);
        const found = nearest(evaluation.misclassified, source.condition);
        if (found) ious.push(found.iou);
        await tick(`noise baseline, level ${level}`);
      }
      results.push({ level, accuracy: summarize(accuracies), nearestIoU: mean(ious), count: picked.length });
    }
    return results;
  });

  const generatedSummary = summarize(generatedResults.map((g) => g.accuracy));
  let noisedLevel: NoiseLevelResult | null = null;
  if (generatedSummary.avg !== null) {
    for (const level of noise) {
      if (level.accuracy.avg === null) continue;
      if (!noisedLevel || Math.abs(level.accuracy.avg - generatedSummary.avg) < Math.abs(noisedLevel.accuracy.avg! - generatedSummary.avg)) noisedLevel = level;
    }
  }

  let heldOut: HeldOutTaskResult[] | undefined;
  if (input.heldOut) {
    const held = input.heldOut;
    heldOut = await timed('heldOut', async () => {
      const o = await run(held.originals, 'testing held-out originals');
      const g = await run(held.generated, 'testing held-out generated models');
      const masks = [...new Set([...o, ...g].map((r) => keyOf(r.model.condition)))].sort((a, b) => a - b);
      return masks.map((mask) => {
        const ofTask = (rows: typeof o) => rows.filter((r) => keyOf(r.model.condition) === mask).map((r) => r.evaluation.accuracy);
        const condition = [...o, ...g].find((r) => keyOf(r.model.condition) === mask)!.model.condition!;
        const generated = ofTask(g);
        return { condition: [...condition], originals: summarize(ofTask(o)), generated: summarize(generated), generatedModels: generated.length };
      });
    });
  }
  seconds.total = (performance.now() - started) / 1000;

  const pairSummary = summarize(pairIoUs);
  const originalsSummary = summarize(originals.map((o) => o.evaluation.accuracy));
  const similarity = {
    generated: mean(generatedResults.flatMap((g) => (g.nearestIoU === null ? [] : [g.nearestIoU]))),
    noised: noisedLevel?.nearestIoU ?? null,
  };
  return {
    zoo: input.zoo,
    task: input.task,
    originals: originalsSummary,
    generated: generatedSummary,
    nearestIoU: similarity,
    verdict: evaluationVerdict({ originals: originalsSummary, generated: generatedSummary, nearestIoU: similarity, generatedModels: generatedResults }),
    ...(heldOut ? { heldOutTasks: heldOutVerdict(heldOut) } : {}),
    seconds,
    details: {
      originals: originals.map((o) => toResult(o, false)),
      generated: generatedResults,
      noise,
      noisedLevel: noisedLevel?.level ?? null,
      originalsIoU: { max: pairSummary.best, mean: pairSummary.avg, min: pairSummary.min },
      ...(heldOut ? { heldOut } : {}),
      noisedOriginals: noisedCount,
    },
  };
}
