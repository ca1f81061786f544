export type DatasetName = 'digits' | 'mnist' | 'fashion-mnist';

/** One split of an image-classification dataset: raw pixels kept as bytes, scaled on demand. */
export interface DatasetSplit {
  count: number;
  /** count × height × width raw pixel values (0..pixelMax), row-major */
  pixels: Uint8Array;
  /** count class labels 0..9 */
  labels: Uint8Array;
}

export interface Dataset {
  name: DatasetName;
  height: number;
  width: number;
  numClasses: number;
  /** raw pixel maximum: 16 for the 8×8 digits, 255 for MNIST and Fashion-MNIST */
  pixelMax: number;
  train: DatasetSplit;
  test: DatasetSplit;
  /** where the files were read from */
  source: string;
  /** how train and test were formed, in words */
  split: string;
}

/**
 * Images as float32 in [0, 1] (pixel / pixelMax), one row of height × width values per image:
 * `indices` picks samples (all, in order, when omitted).
 */
export function imagesAsFloat(dataset: Dataset, split: DatasetSplit, indices?: ArrayLike<number>): Float32Array {
  const size = dataset.height * dataset.width;
  const count = indices ? indices.length : split.count;
  const out = new Float32Array(count * size);
  const scale = 1 / dataset.pixelMax;
  for (let i = 0; i < count; i++) {
    const sample = indices ? indices[i]! : i;
    const from = sample * size;
    const to = i * size;
    for (let j = 0; j < size; j++) out[to + j] = split.pixels[from + j]! * scale;
  }
  return out;
}

export function labelsOf(split: DatasetSplit, indices?: ArrayLike<number>): Int32Array {
  if (!indices) return Int32Array.from(split.labels);
  const out = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) out[i] = split.labels[indices[i]!]!;
  return out;
}

/** Which samples a model is scored on: 'test' (what results report) or 'check' (a validation slice of train). */
export type EvaluationSplit = 'test' | 'check';

/** The largest 'check' slice: enough to tell a point of accuracy apart on MNIST, cheap to score during training. */
export const CHECK_SPLIT_MAX = 2000;

/**
 * The 'check' split: the last fifth of the training samples, at most CHECK_SPLIT_MAX. Training
 * runs decide with it (in-training quality checks, early stopping) so that the test split that
 * results are reported on never steers a run. The zoo's checkpoints were trained on these samples
 * too; the check compares generated models with the originals on the same samples, never with
 * absolute numbers.
 */
export function checkSplitIndices(trainCount: number): Int32Array {
  const count = Math.min(CHECK_SPLIT_MAX, Math.floor(trainCount / 5));
  return Int32Array.from({ length: count }, (_, i) => trainCount - count + i);
}

/** The samples of `split`, as a split of their own. */
export function evaluationSplit(dataset: Dataset, split: EvaluationSplit): DatasetSplit {
  if (split === 'test') return dataset.test;
  const indices = checkSplitIndices(dataset.train.count);
  const size = dataset.height * dataset.width;
  const pixels = new Uint8Array(indices.length * size);
  const labels = new Uint8Array(indices.length);
  indices.forEach((sample, i) => {
    pixels.set(dataset.train.pixels.subarray(sample * size, (sample + 1) * size), i * size);
    labels[i] = dataset.train.labels[sample]!;
  });
  return { count: indices.length, pixels, labels };
}
