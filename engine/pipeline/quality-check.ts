// Quality checks while a generator trains (the fidelity issue, item 3): every `checkEvery` steps a
// few models are generated from the live generator, in memory, and judged against the zoo's
// originals. A zoo of a built-in task is scored on the task's *check* split (a validation slice
// of the training samples: the test split that results report never steers a run), and the run
// may stop at the first check whose models are all within the bar. A zoo without a task gets
// weight-space checks: each generated tensor's statistics against the originals' range, and the
// distance to the nearest original against the originals' distances to each other. A task-conditioned
// zoo also gets one model per held-out task vector (tasks no checkpoint has), scored on the check
// split against the unseen-task bar.
import type { CheckpointRecord, RunCheck, RunCheckWeights } from '../protocol.js';
import type { BlobStore } from '../blobs.js';
import type { RpgConfig } from '../rpg/config.js';
import { median } from '../zoo/accuracy.js';
import { generateModels } from '../rpg/generate.js';
import type { RpgGenerator } from '../rpg/generator.js';
import { Detokenizer, type TokenLayout } from '../rpg/tokenizer.js';
import type { TensorData } from '../formats/types.js';
import { getTask, heldOutTaskVectors, summarize, taskMask, type BuiltinTask } from '../zoo/index.js';
import { decodeFloat } from '../zoo/tensors.js';
import { BAR_AVG_POINTS, BAR_MIN_POINTS, HELD_OUT_BAR_PERCENT } from '../zoo/verdict.js';
import { permutationStateForSeed } from './generate.js';
import { readBlobTensors } from './stored.js';

/** A tensor's statistic counts as inside the originals' range within this share of the range's width (at least 1e-6). */
const RANGE_SLACK = 0.1;

interface TensorRange {
  name: string;
  mean: [number, number];
  std: [number, number];
}

function meanAndStd(values: Float32Array): [number, number] {
  let sum = 0;
  for (const v of values) sum += v;
  const mean = sum / values.length;
  let squares = 0;
  for (const v of values) squares += (v - mean) * (v - mean);
  return [mean, Math.sqrt(squares / values.length)];
}

function widen([low, high]: [number, number]): [number, number] {
  const slack = Math.max(RANGE_SLACK * (high - low), 1e-6);
  return [low - slack, high + slack];
}

function inside(value: number, [low, high]: [number, number]): boolean {
  return value >= low && value <= high;
}

/** Masked Euclidean distance between two token vectors of the same layout. */
function tokenDistance(a: Float32Array, b: Float32Array, mask: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    if (mask[i] === 0) continue;
    const d = a[i]! - b[i]!;
    sum += d * d;
  }
  return Math.sqrt(sum);
}

export interface QualityCheckInput {
  blobs: BlobStore;
  /** the zoo's built-in task, or null for imported zoos */
  taskId: string | null;
  checkpoints: CheckpointRecord[];
  layout: TokenLayout;
  /** tensors RPG does not generate, copied into every generated model */
  skipped: Map<string, TensorData>;
  /** the checkpoints' normalised tokens, as training reads them */
  tokens: (index: number) => Float32Array | Promise<Float32Array>;
  mask: Float32Array;
  config: RpgConfig;
}

interface GeneratedForCheck {
  tensors: TensorData[];
  tokens: Float32Array;
  condition: number[] | null;
}

/** Models a check generates beyond checkModels: one per held-out task vector for a task-conditioned zoo's task. */
export function heldOutCheckModelCount(taskId: string | null): number {
  return taskId && getTask(taskId).conditioned ? heldOutTaskVectors().length : 0;
}

/** One model to generate for a check: its seed, permutation state and task vector. */
interface CheckModelSpec {
  seed: number;
  permutationState: number;
  condition: number[] | null;
}

export class QualityCheck {
  private constructor(
    private readonly input: QualityCheckInput,
    private readonly task: BuiltinTask | null,
    /** per original: check-split accuracy (task zoos) */
    private readonly originalAccuracies: number[],
    /** per generated tensor: the originals' range of mean and std (zoos without a task) */
    private readonly ranges: TensorRange[],
    /** median distance from an original to its nearest other original, in token space */
    private readonly originalSpacing: number | null,
    /** the check models: seeds 1…checkModels, cycling through the zoo's task vectors where it has them */
    private readonly checkModels: CheckModelSpec[],
    /** task-conditioned zoos: one model per held-out task vector (seed 1) */
    private readonly heldOutModels: CheckModelSpec[],
  ) {}

  /** Scores the originals once (a task zoo) or measures their weight ranges (a zoo without one). */
  static async prepare(input: QualityCheckInput, onProgress?: (done: number, of: number) => void): Promise<QualityCheck> {
    const task = input.taskId ? getTask(input.taskId) : null;
    const accuracies: number[] = [];
    const perTensor = new Map<string, { means: number[]; stds: number[] }>();
    for (const [i, checkpoint] of input.checkpoints.entries()) {
      const { tensors } = await readBlobTensors(input.blobs, checkpoint.sha256);
      if (task) {
        const evaluation = await task.evaluate(tensors, { split: 'check', ...(checkpoint.condition ? { condition: checkpoint.condition } : {}) });
        accuracies.push(evaluation.accuracy);
      } else {
        for (const spec of input.layout.tensors) {
          const tensor = tensors.find((t) => t.name === spec.name);
          if (!tensor) continue;
          const [mean, std] = meanAndStd(decodeFloat(tensor));
          const entry = perTensor.get(spec.name) ?? { means: [], stds: [] };
          entry.means.push(mean);
          entry.stds.push(std);
          perTensor.set(spec.name, entry);
        }
      }
      onProgress?.(i + 1, input.checkpoints.length);
    }
    const ranges = [...perTensor].map(
      ([name, { means, stds }]): TensorRange => ({
        name,
        mean: widen([Math.min(...means), Math.max(...means)]),
        std: widen([Math.min(...stds), Math.max(...stds)]),
      }),
    );
    let spacing: number | null = null;
    if (!task && input.checkpoints.length > 1) {
      const all = await Promise.all(input.checkpoints.map((_, i) => input.tokens(i)));
      spacing = median(all.map((a, i) => Math.min(...all.filter((_, j) => j !== i).map((b) => tokenDistance(a, b, input.mask)))));
    }
    const distinct = [...new Map(input.checkpoints.filter((c) => c.condition).map((c) => [taskMask(c.condition!), c.condition!])).values()];
    const trainedStates = [...new Set(input.checkpoints.map((c) => c.permutationState))].sort((a, b) => a - b);
    const checkModels = Array.from({ length: input.config.checkModels }, (_, i) => ({
      seed: i + 1,
      permutationState: permutationStateForSeed(trainedStates, i + 1),
      condition: distinct.length > 0 ? distinct[i % distinct.length]! : null,
    }));
    const heldOutModels = task?.conditioned ? heldOutTaskVectors().map((condition) => ({ seed: 1, permutationState: permutationStateForSeed(trainedStates, 1), condition })) : [];
    return new QualityCheck(input, task, accuracies, ranges, spacing, checkModels, heldOutModels);
  }

  /** Generates the check models (seeds 1…checkModels) from `generator` as it is now and judges them. */
  async run(generator: RpgGenerator, step: number, loss: number | null, signal?: AbortSignal): Promise<RunCheck> {
    const started = performance.now();
    const models = await this.generate(generator, this.checkModels, signal);
    const check: RunCheck = { step, loss, models: models.length, seconds: 0, split: this.task ? 'check' : null, accuracies: null, originals: null, withinBar: null, weights: null };
    if (this.task) {
      const accuracies = await this.score(this.task, models);
      const generated = summarize(accuracies);
      const originals = summarize(this.originalAccuracies);
      check.accuracies = accuracies;
      check.originals = { best: originals.best!, avg: originals.avg!, min: originals.min! };
      check.withinBar = generated.avg! >= originals.avg! - BAR_AVG_POINTS && generated.min! >= originals.min! - BAR_MIN_POINTS;
      if (this.heldOutModels.length > 0) {
        const heldOut = await this.score(this.task, await this.generate(generator, this.heldOutModels, signal));
        check.heldOut = { accuracies: heldOut, bar: HELD_OUT_BAR_PERCENT, meetsBar: summarize(heldOut).avg! >= HELD_OUT_BAR_PERCENT };
      }
    } else {
      check.weights = await this.weightChecks(models);
    }
    check.seconds = (performance.now() - started) / 1000;
    return check;
  }

  /** Percent on the check split, per model, with BatchNorm statistics measured as the generate job stores them (never on the check slice). */
  private async score(task: BuiltinTask, models: readonly GeneratedForCheck[]): Promise<number[]> {
    const accuracies: number[] = [];
    for (const model of models) {
      const tensors = task.reestimateBatchNorm ? (await task.reestimateBatchNorm(model.tensors)).tensors : model.tensors;
      accuracies.push((await task.evaluate(tensors, { split: 'check', ...(model.condition ? { condition: model.condition } : {}) })).accuracy);
    }
    return accuracies;
  }

  private async generate(generator: RpgGenerator, specs: readonly CheckModelSpec[], signal?: AbortSignal): Promise<GeneratedForCheck[]> {
    const { layout, skipped } = this.input;
    const models: GeneratedForCheck[] = [];
    // One generation per model (a task-conditioned generator takes one task vector per call).
    for (const { seed, permutationState, condition } of specs) {
      const detokenizer = new Detokenizer(layout, skipped);
      const tensors: TensorData[] = [];
      const tokens = new Float32Array(layout.tokenCount * layout.tokenSize);
      await generateModels(
        generator,
        {
          count: 1,
          seeds: [seed],
          permutationStates: [permutationState],
          ...(condition ? { task: Float32Array.from(condition) } : {}),
          ...(signal ? { signal } : {}),
        },
        (chunk) => {
          tokens.set(chunk.tokens, chunk.firstToken * layout.tokenSize);
          tensors.push(...detokenizer.push(chunk.tokens));
          if (chunk.last) tensors.push(...detokenizer.finish());
        },
      );
      models.push({ tensors, tokens, condition });
    }
    return models;
  }

  private async weightChecks(models: GeneratedForCheck[]): Promise<RunCheckWeights> {
    let outOfRange = 0;
    const names = new Set<string>();
    for (const model of models) {
      for (const range of this.ranges) {
        const tensor = model.tensors.find((t) => t.name === range.name);
        if (!tensor) continue;
        const [mean, std] = meanAndStd(decodeFloat(tensor));
        if (!inside(mean, range.mean) || !inside(std, range.std)) {
          outOfRange += 1;
          names.add(range.name);
        }
      }
    }
    const nearest: number[] = [];
    for (const model of models) {
      let best = Infinity;
      for (let i = 0; i < this.input.checkpoints.length; i++) best = Math.min(best, tokenDistance(model.tokens, await this.input.tokens(i), this.input.mask));
      nearest.push(best);
    }
    return {
      tensors: this.ranges.length,
      outOfRange,
      outOfRangeNames: [...names].slice(0, 10),
      nearestDistance: nearest,
      originalSpacing: this.originalSpacing,
    };
  }
}
