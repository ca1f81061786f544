import type { TensorSignature } from '../../protocol.js';
import type { TensorData } from '../../tensors.js';
import type { DatasetName, EvaluationSplit } from '../datasets/types.js';
import type { WeightsInput } from '../tensors.js';

export interface TrainOptions {
  /** Adam learning rate */
  lr: number;
  batchSize: number;
  /** seeds the data order of every epoch */
  seed: number;
  /** the task vector, for task-conditioned families (10 bits: which classes are positive) */
  condition?: number[];
  /** train on the first N training samples only (documented subsets for slow machines) */
  trainSubset?: number;
}

/** One training run: a model's weights on the backend, an optimizer, and a seeded stream of batches. */
export interface TrainingRun {
  /** full batches per epoch (the last, incomplete batch is dropped) */
  readonly stepsPerEpoch: number;
  /** trains one batch; returns its loss */
  step(): Promise<number>;
  /** trains one epoch; yields to the event loop between batches so a job can report and cancel */
  trainEpoch(hooks?: { signal?: AbortSignal; onStep?(step: number, loss: number): void }): Promise<{ loss: number }>;
  /** the current weights, in signature order, PyTorch names and layouts */
  weights(): Promise<TensorData[]>;
  dispose(): void;
}

export interface Evaluation {
  /** percent of test samples classified right */
  accuracy: number;
  /** mean cross-entropy on the test split */
  loss: number;
  /** sorted indices of the misclassified test samples */
  misclassified: Int32Array;
  /** number of test samples */
  count: number;
}

/** Collection settings a task suggests (small but honest on a 2-core machine). */
export interface CollectDefaults {
  seeds: number;
  checkpointsPerSeed: number;
  epochs: number;
  batchSize: number;
  lr: number;
  trainSubset?: number;
  /** task-conditioned families: how many seen task vectors a zoo collects */
  tasks?: number;
}

export interface BuiltinTask {
  id: string;
  dataset: DatasetName;
  description: string;
  /** true for task-conditioned families: training and evaluation need a `condition` */
  conditioned: boolean;
  defaults: CollectDefaults;
  /** ordered (name, dtype, shape), the PyTorch state_dict order */
  signature(): TensorSignature[];
  /** PyTorch's default initialisation, seeded */
  init(seed: number): TensorData[];
  startTraining(init: WeightsInput, options: TrainOptions): TrainingRun;
  /** trains `run` for one epoch (same as run.trainEpoch) */
  trainEpoch(run: TrainingRun, hooks?: { signal?: AbortSignal }): Promise<{ loss: number }>;
  /** scores on the test split unless `split` says 'check' (the validation slice training decides with) */
  evaluate(weights: WeightsInput, options?: { condition?: number[]; split?: EvaluationSplit }): Promise<Evaluation>;
  /**
   * Tasks whose models have BatchNorm layers: the weights with every layer's running statistics
   * measured afresh on training images (PyTorch's `torch.optim.swa_utils.update_bn`).
   */
  reestimateBatchNorm?(weights: WeightsInput, options?: BatchNormReestimation): Promise<ReestimatedBatchNorm>;
}

export interface ReestimatedBatchNorm {
  tensors: TensorData[];
  /** training images measured (fewer than asked where the training split, less its 'check' slice, is smaller) */
  images: number;
}

export interface BatchNormReestimation {
  /** training images the statistics are measured on, at most (the first of a seeded order, never the 'check' slice) */
  images: number;
  /** images per forward pass; each batch's statistics are averaged, as update_bn does */
  batchSize: number;
  seed: number;
}
