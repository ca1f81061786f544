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
