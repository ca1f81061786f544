// A 10-class image classifier task built from an architecture: seeded training with Adam on
// shuffled batches (BatchNorm running stats updated as PyTorch does), evaluation on the test split.
import { tf } from '../../tf.js';
import type { TensorSignature } from '../../protocol.js';
import type { TensorData } from '../../tensors.js';
import { CancelledError } from '../../errors.js';
import { loadDataset, imagesAsFloat, labelsOf, evaluationSplit, type Dataset, type DatasetName, type EvaluationSplit } from '../datasets/index.js';
import { TaskError } from '../errors.js';
import { deriveSeed, shuffledIndices } from '../random.js';
import { arraysToTensors, weightsToArrays, type WeightArray, type WeightsInput } from '../tensors.js';
import { BN_MOMENTUM, isBuffer, torchDefaultInit, type ForwardContext, type Weights } from './layers.js';
import { batchNormLayers, DEFAULT_BATCH_NORM_REESTIMATION, reestimateBatchNorm } from './batchnorm-stats.js';
import type { BuiltinTask, CollectDefaults, Evaluation, TrainOptions, TrainingRun } from './types.js';

export interface Architecture {
  id: string;
  dataset: DatasetName;
  description: string;
  defaults: CollectDefaults;
  signature: TensorSignature[];
  /** x: [N, H·W] pixels in [0, 1] → logits [N, 10] */
  forward(x: tf.Tensor2D, weights: Weights, ctx: ForwardContext): tf.Tensor2D;
}

const EVAL_BATCH = 1000;

export function validateTrainOptions(taskId: string, options: TrainOptions, trainCount: number): void {
  const bad = (setting: string, why: string) => new TaskError('bad_setting', `${setting} = ${String((options as unknown as Record<string, unknown>)[setting])} for task '${taskId}': ${why}`);
  if (!(options.lr > 0 && options.lr < 10)) throw bad('lr', 'the learning rate must be in (0, 10)');
  if (!Number.isInteger(options.batchSize) || options.batchSize < 2) throw bad('batchSize', 'must be an integer ≥ 2');
  if (options.trainSubset !== undefined && (!Number.isInteger(options.trainSubset) || options.trainSubset < options.batchSize || options.trainSubset > trainCount)) {
    throw bad('trainSubset', `must be an integer between batchSize and ${trainCount}`);
  }
  if (options.batchSize > (options.trainSubset ?? trainCount)) throw bad('batchSize', `must not exceed the ${options.trainSubset ?? trainCount} training samples`);
}

/** Waits one macrotask, so progress events and cancellation get through during long loops. */
export const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Weights as tf variables (float) or counters (I64), an Adam optimizer over the learnable ones, and
 * a per-epoch seeded order of the training samples. Shared by the classifiers and the binary heads.
 */
export class VariableTrainingRun implements TrainingRun {
  readonly stepsPerEpoch: number;
  private readonly variables = new Map<string, tf.Variable>();
  private readonly counters = new Map<string, BigInt64Array>();
  private readonly optimizer: tf.Optimizer;
  private epoch = 0;
  private stepInEpoch = 0;
  private order: Int32Array;
  private disposed = false;

  constructor(
    private readonly signature: readonly TensorSignature[],
    initial: Map<string, WeightArray>,
    private readonly options: TrainOptions,
    private readonly sampleCount: number,
    /** loss of one batch of sample indices; fills ctx.batchStats in training mode */
    private readonly batchLoss: (indices: Int32Array, weights: Weights, ctx: ForwardContext) => tf.Scalar,
  ) {
    for (const spec of signature) {
      const value = initial.get(spec.name)!;
      if (value instanceof BigInt64Array) this.counters.set(spec.name, value.slice());
      else {
        const initialValue = tf.tensor(value, spec.shape, 'float32');
        this.variables.set(spec.name, tf.variable(initialValue, !isBuffer(spec.name)));
        initialValue.dispose();
      }
    }
    this.optimizer = tf.train.adam(options.lr);
    this.stepsPerEpoch = Math.floor(sampleCount / options.batchSize);
    this.order = shuffledIndices(sampleCount, deriveSeed(options.seed, 0));
  }

  async step(): Promise<number> {
    if (this.disposed) throw new Error('bug: training run used after dispose');
    if (this.stepInEpoch === this.stepsPerEpoch) {
      this.epoch += 1;
      this.stepInEpoch = 0;
      this.order = shuffledIndices(this.sampleCount, deriveSeed(this.options.seed, this.epoch));
    }
    const from = this.stepInEpoch * this.options.batchSize;
    const indices = this.order.subarray(from, from + this.options.batchSize);
    this.stepInEpoch += 1;
    const ctx: ForwardContext = { training: true, batchStats: [] };
    const weights: Weights = new Map(this.variables);
    const trainable = [...this.variables.values()].filter((v) => v.trainable);
    const cost = this.optimizer.minimize(() => this.batchLoss(indices, weights, ctx), true, trainable);
    const loss = (await cost!.data())[0]!;
    cost!.dispose();
    for (const stat of ctx.batchStats) {
      const mean = this.variables.get(`${stat.layer}.running_mean`)!;
      const variance = this.variables.get(`${stat.layer}.running_var`)!;
      tf.tidy(() => {
        mean.assign(tf.add(tf.mul(mean, 1 - BN_MOMENTUM), tf.mul(stat.mean, BN_MOMENTUM)));
        variance.assign(tf.add(tf.mul(variance, 1 - BN_MOMENTUM), tf.mul(stat.variance, BN_MOMENTUM)));
      });
      stat.mean.dispose();
      stat.variance.dispose();
      const counter = this.counters.get(`${stat.layer}.num_batches_tracked`);
      if (counter) counter[0]! += 1n;
    }
    return loss;
  }

  async trainEpoch(hooks: { signal?: AbortSignal; onStep?(step: number, loss: number): void } = {}): Promise<{ loss: number }> {
    let total = 0;
    for (let i = 0; i < this.stepsPerEpoch; i++) {
      if (hooks.signal?.aborted) throw new CancelledError('training');
      const loss = await this.step();
      total += loss;
      hooks.onStep?.(i, loss);
      if (i % 8 === 7) await yieldToEventLoop();
    }
    return { loss: total / Math.max(this.stepsPerEpoch, 1) };
  }

  async weights(): Promise<TensorData[]> {
    const arrays = new Map<string, WeightArray>();
    for (const [name, variable] of this.variables) arrays.set(name, (await variable.data()) as Float32Array);
    for (const [name, counter] of this.counters) arrays.set(name, counter.slice());
    return arraysToTensors(arrays, this.signature);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const variable of this.variables.values()) variable.dispose();
    this.optimizer.dispose();
  }
}

/** Weights → tf tensors (floats only: counters do not take part in the forward pass). */
export function weightsToTf(arrays: Map<string, WeightArray>, signature: readonly TensorSignature[]): Weights {
  const out: Weights = new Map();
  for (const spec of signature) {
    const value = arrays.get(spec.name)!;
    if (value instanceof Float32Array) out.set(spec.name, tf.tensor(value, spec.shape, 'float32'));
  }
  return out;
}

/** Accuracy, mean loss and misclassified indices from per-sample predictions. */
export function scorePredictions(predicted: Int32Array, labels: Int32Array, lossSum: number): Evaluation {
  const wrong: number[] = [];
  for (let i = 0; i < labels.length; i++) if (predicted[i] !== labels[i]) wrong.push(i);
  return {
    accuracy: (100 * (labels.length - wrong.length)) / labels.length,
    loss: lossSum / labels.length,
    misclassified: Int32Array.from(wrong),
    count: labels.length,
  };
}

export function classifierTask(arch: Architecture): BuiltinTask {
  const dataset = (): Dataset => loadDataset(arch.dataset);
  const task: BuiltinTask = {
    id: arch.id,
    dataset: arch.dataset,
    description: arch.description,
    conditioned: false,
    defaults: arch.defaults,
    signature: () => arch.signature.map((s) => ({ ...s, shape: [...s.shape] })),
    init: (seed) => arraysToTensors(torchDefaultInit(arch.signature, seed), arch.signature),

    startTraining(init: WeightsInput, options: TrainOptions): TrainingRun {
      const data = dataset();
      validateTrainOptions(arch.id, options, data.train.count);
      const arrays = weightsToArrays(init, arch.signature, arch.id);
      const count = options.trainSubset ?? data.train.count;
      return new VariableTrainingRun(arch.signature, arrays, options, count, (indices, weights, ctx) => {
        const x = tf.tensor2d(imagesAsFloat(data, data.train, indices), [indices.length, data.height * data.width]);
        const y = tf.oneHot(tf.tensor1d(labelsOf(data.train, indices), 'int32'), 10);
        return tf.losses.softmaxCrossEntropy(y, arch.forward(x, weights, ctx)) as tf.Scalar;
      });
    },

    trainEpoch: (run, hooks) => run.trainEpoch(hooks),

    async evaluate(weights: WeightsInput, options: { split?: EvaluationSplit } = {}): Promise<Evaluation> {
      const data = dataset();
      const split = evaluationSplit(data, options.split ?? 'test');
      const arrays = weightsToArrays(weights, arch.signature, arch.id);
      const tfWeights = weightsToTf(arrays, arch.signature);
      const labels = labelsOf(split);
      const predicted = new Int32Array(split.count);
      let lossSum = 0;
      try {
        for (let from = 0; from < split.count; from += EVAL_BATCH) {
          const to = Math.min(from + EVAL_BATCH, split.count);
          const indices = Int32Array.from({ length: to - from }, (_, i) => from + i);
          const [argmax, losses] = tf.tidy(() => {
            const x = tf.tensor2d(imagesAsFloat(data, split, indices), [to - from, data.height * data.width]);
            const logits = arch.forward(x, tfWeights, { training: false, batchStats: [] });
            const y = tf.oneHot(tf.tensor1d(labels.subarray(from, to), 'int32'), 10);
            return [tf.argMax(logits, 1), tf.sum(tf.losses.softmaxCrossEntropy(y, logits, undefined, undefined, tf.Reduction.NONE))];
          });
          predicted.set((await argmax.data()) as Int32Array, from);
          lossSum += (await losses.data())[0]!;
          argmax.dispose();
          losses.dispose();
        }
      } finally {
        for (const t of tfWeights.values()) t.dispose();
      }
      return scorePredictions(predicted, labels, lossSum);
    },
  };
  if (batchNormLayers(arch.signature).length > 0) {
    task.reestimateBatchNorm = async (weights, options = DEFAULT_BATCH_NORM_REESTIMATION) => {
      const arrays = weightsToArrays(weights, arch.signature, arch.id);
      const tfWeights = weightsToTf(arrays, arch.signature);
      try {
        return await reestimateBatchNorm(arch.signature, arrays, tfWeights, dataset(), arch.forward, options);
      } finally {
        for (const t of tfWeights.values()) t.dispose();
      }
    };
  }
  return task;
}
