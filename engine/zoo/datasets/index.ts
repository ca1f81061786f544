import { DatasetError } from '../errors.js';
import { loadDigits } from './digits.js';
import { loadFashionMnist, loadMnist } from './mnist.js';
import type { Dataset, DatasetName } from './types.js';

export type { Dataset, DatasetName, DatasetSplit, EvaluationSplit } from './types.js';
export { imagesAsFloat, labelsOf, checkSplitIndices, evaluationSplit, CHECK_SPLIT_MAX } from './types.js';
export { loadDigits, DIGITS_CSV_SHA256, DIGITS_TRAIN_COUNT } from './digits.js';
export { loadMnist, loadFashionMnist, mnistDir, fashionMnistDir } from './mnist.js';

export const DATASET_NAMES: readonly DatasetName[] = ['digits', 'mnist', 'fashion-mnist'];

const cache = new Map<DatasetName, Dataset>();

/** Loads (once per process) and verifies a built-in dataset. */
export function loadDataset(name: DatasetName): Dataset {
  const cached = cache.get(name);
  if (cached) return cached;
  let dataset: Dataset;
  if (name === 'digits') dataset = loadDigits();
  else if (name === 'mnist') dataset = loadMnist();
  else if (name === 'fashion-mnist') dataset = loadFashionMnist();
  else throw new DatasetError(`unknown dataset '${String(name)}'`, { hint: `use one of ${DATASET_NAMES.join(', ')}` });
  cache.set(name, dataset);
  return dataset;
}
