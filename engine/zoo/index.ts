// Built-in zoos: datasets, tasks, checkpoint collection and evaluation.
export { loadDataset, imagesAsFloat, labelsOf, DATASET_NAMES } from './datasets/index.js';
export type { Dataset, DatasetName, DatasetSplit } from './datasets/index.js';
export { getTask, listTaskIds } from './tasks/registry.js';
export type { BuiltinTask, TrainingRun, TrainOptions, Evaluation, CollectDefaults } from './tasks/types.js';
export { taskVector, taskMask, heldOutTaskVectors, seenTaskVectors, isHeldOut, withFrozenTrunk, TASK_BITS } from './tasks/binary.js';
export { digitsTrunk } from './tasks/trunk.js';
export { collectZoo, resolveCollectOptions } from './collect.js';
export type { CollectOptions, CollectHooks, CollectedCheckpoint, CollectResult } from './collect.js';
export {
  evaluateModel,
  evaluateZoo,
  misclassifiedIoU,
  nearestIoU,
  addNoise,
  DEFAULT_NOISE_LEVELS,
} from './evaluate.js';
export type { ModelInput, ZooEvaluation, EvaluateZooInput, NoiseLevelResult } from './evaluate.js';
export { summarize, type AccuracySummary } from './accuracy.js';
export { DatasetError, TaskError } from './errors.js';
export type { WeightsInput, WeightArray } from './tensors.js';
