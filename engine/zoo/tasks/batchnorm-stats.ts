// BatchNorm running statistics measured afresh, as PyTorch's torch.optim.swa_utils.update_bn does:
// training-mode forward passes over training images, each layer's running mean and (unbiased)
// variance set to the average of its batch statistics. A generated model's running statistics are
// generated values like any other; measuring them on its own weights makes them agree with the
// weights before them, which a small error in an early layer otherwise turns into a large one later.
import { tf } from '../../tf.js';
import type { TensorSignature } from '../../protocol.js';
import { TaskError } from '../errors.js';
import { checkSplitIndices, imagesAsFloat, type Dataset } from '../datasets/index.js';
import { shuffledIndices } from '../random.js';
import { arraysToTensors, type WeightArray } from '../tensors.js';
import type { ForwardContext, Weights } from './layers.js';
import type { BatchNormReestimation, ReestimatedBatchNorm } from './types.js';

export const DEFAULT_BATCH_NORM_REESTIMATION: BatchNormReestimation = { images: 2048, batchSize: 256, seed: 0 };

/** The BatchNorm layers of a signature (those with running statistics), in order. */
export function batchNormLayers(signature: readonly TensorSignature[]): string[] {
  return signature.filter((s) => s.name.endsWith('.running_var')).map((s) => s.name.slice(0, -'.running_var'.length));
}

async function averageOf(sum: tf.Tensor, count: number): Promise<Float32Array> {
  const average = tf.div(sum, count);
  try {
    return (await average.data()) as Float32Array;
  } finally {
    average.dispose();
  }
}

/** `arrays`: the model's weights; `weights`: the same as tensors (the caller owns them). */
export async function reestimateBatchNorm(
  signature: readonly TensorSignature[],
  arrays: Map<string, WeightArray>,
  weights: Weights,
  data: Dataset,
  forward: (x: tf.Tensor2D, weights: Weights, ctx: ForwardContext) => tf.Tensor2D,
  options: BatchNormReestimation,
): Promise<ReestimatedBatchNorm> {
  const { batchSize, seed } = options;
  if (!Number.isInteger(options.images) || options.images < 2) throw new TaskError('bad_setting', `images = ${options.images}: must be a whole number ≥ 2`);
  if (!Number.isInteger(batchSize) || batchSize < 2) throw new TaskError('bad_setting', `batchSize = ${batchSize}: must be a whole number ≥ 2`);
  const layers = batchNormLayers(signature);
  // Never the 'check' slice that in-training quality checks score on.
  const usable = data.train.count - checkSplitIndices(data.train.count).length;
  const images = Math.min(options.images, usable);
  const order = shuffledIndices(usable, seed).subarray(0, images);
  const sums = new Map(layers.map((layer) => [layer, { mean: null as tf.Tensor | null, variance: null as tf.Tensor | null }]));
  let batches = 0;
  try {
    // A last batch of one image has no variance: it is left out.
    for (let from = 0; from < images - 1; from += batchSize) {
      const indices = order.subarray(from, Math.min(from + batchSize, images));
      const ctx: ForwardContext = { training: true, batchStats: [] };
      tf.tidy(() => {
        forward(tf.tensor2d(imagesAsFloat(data, data.train, indices), [indices.length, data.height * data.width]), weights, ctx);
      });
      for (const stat of ctx.batchStats) {
        const sum = sums.get(stat.layer)!;
        for (const key of ['mean', 'variance'] as const) {
          const previous = sum[key];
          sum[key] = previous ? tf.add(previous, stat[key]) : tf.clone(stat[key]);
          previous?.dispose();
          stat[key].dispose();
        }
      }
      batches += 1;
    }
    const out = new Map(arrays);
    for (const [layer, sum] of sums) {
      if (!sum.mean || !sum.variance) throw new Error(`bug: BatchNorm layer ${layer} saw no batch`);
      out.set(`${layer}.running_mean`, await averageOf(sum.mean, batches));
      out.set(`${layer}.running_var`, await averageOf(sum.variance, batches));
    }
    return { tensors: arraysToTensors(out, signature), images };
  } finally {
    for (const sum of sums.values()) {
      sum.mean?.dispose();
      sum.variance?.dispose();
    }
  }
}
