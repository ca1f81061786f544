// Layers written with tf.* ops on explicit weights in PyTorch layouts and names, so a trained
// model exports as a state_dict a PyTorch user would load as is.
import { tf } from '../../tf.js';
import type { TensorSignature } from '../../protocol.js';
import { createRng, deriveSeed } from '../random.js';
import { numel, type WeightArray } from '../tensors.js';

export const BN_MOMENTUM = 0.1;
export const BN_EPSILON = 1e-5;

export type Weights = Map<string, tf.Tensor>;

/** Batch statistics measured by a training-mode forward pass, to update the running stats. */
export interface BatchStat {
  layer: string;
  mean: tf.Tensor1D;
  /** unbiased variance, as PyTorch feeds its running_var */
  variance: tf.Tensor1D;
}

export interface ForwardContext {
  training: boolean;
  /** filled by training-mode BatchNorm layers; the caller owns (disposes) these tensors */
  batchStats: BatchStat[];
}

function get(weights: Weights, name: string): tf.Tensor {
  const tensor = weights.get(name);
  if (!tensor) throw new Error(`bug: weight ${name} missing`);
  return tensor;
}

/** nn.Linear: y = x Wᵀ + b with W [out, in]. */
export function linear(x: tf.Tensor2D, weights: Weights, layer: string): tf.Tensor2D {
  const w = get(weights, `${layer}.weight`) as tf.Tensor2D;
  const b = weights.get(`${layer}.bias`);
  const y = tf.matMul(x, tf.transpose(w)) as tf.Tensor2D;
  return b ? (tf.add(y, b) as tf.Tensor2D) : y;
}

/** nn.Conv2d(k×k, stride 1, padding k//2, no bias): x NHWC, W [out, in, kh, kw]. */
export function conv2d(x: tf.Tensor4D, weights: Weights, layer: string): tf.Tensor4D {
  const w = get(weights, `${layer}.weight`);
  const filter = tf.transpose(w, [2, 3, 1, 0]) as tf.Tensor4D; // [kh, kw, in, out]
  return tf.conv2d(x, filter, 1, 'same');
}

/** nn.BatchNorm2d on NHWC (or BatchNorm1d on [N, C]): batch stats in training, running stats in eval. */
export function batchNorm(x: tf.Tensor, weights: Weights, layer: string, ctx: ForwardContext): tf.Tensor {
  const gamma = get(weights, `${layer}.weight`);
  const beta = get(weights, `${layer}.bias`);
  if (!ctx.training) {
    const mean = get(weights, `${layer}.running_mean`);
    const variance = get(weights, `${layer}.running_var`);
    return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, BN_EPSILON))), gamma), beta);
  }
  const axes = x.shape.slice(0, -1).map((_, i) => i);
  const { mean, variance } = tf.moments(x, axes);
  const count = numel(x.shape.slice(0, -1));
  ctx.batchStats.push({
    layer,
    // Not part of the loss, so no gradient flows through these copies.
    mean: tf.keep(tf.clone(mean) as tf.Tensor1D),
    variance: tf.keep(tf.mul(variance, count / Math.max(count - 1, 1)) as tf.Tensor1D),
  });
  return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, BN_EPSILON))), gamma), beta);
}

/** NHWC → PyTorch's flatten order (C, H, W), so the following Linear matches torch.flatten. */
export function flattenLikeTorch(x: tf.Tensor4D): tf.Tensor2D {
  const [n, h, w, c] = x.shape;
  return tf.reshape(tf.transpose(x, [0, 3, 1, 2]), [n, c * h * w]);
}

/** Signatures of the usual layers, in state_dict order. */
export const sig = {
  linear: (layer: string, inFeatures: number, outFeatures: number): TensorSignature[] => [
    { name: `${layer}.weight`, dtype: 'F32', shape: [outFeatures, inFeatures] },
    { name: `${layer}.bias`, dtype: 'F32', shape: [outFeatures] },
  ],
  conv2d: (layer: string, inChannels: number, outChannels: number, kernel: number): TensorSignature[] => [{ name: `${layer}.weight`, dtype: 'F32', shape: [outChannels, inChannels, kernel, kernel] }],
  batchNorm: (layer: string, channels: number): TensorSignature[] => [
    { name: `${layer}.weight`, dtype: 'F32', shape: [channels] },
    { name: `${layer}.bias`, dtype: 'F32', shape: [channels] },
    { name: `${layer}.running_mean`, dtype: 'F32', shape: [channels] },
    { name: `${layer}.running_var`, dtype: 'F32', shape: [channels] },
    { name: `${layer}.num_batches_tracked`, dtype: 'I64', shape: [] },
  ],
};

/** Running statistics and counters: updated by training, never by the optimizer. */
export function isBuffer(name: string): boolean {
  return name.endsWith('.running_mean') || name.endsWith('.running_var') || name.endsWith('.num_batches_tracked');
}

/**
 * PyTorch's default init: Linear/Conv weight and bias ~ U(−1/√fan_in, 1/√fan_in) (kaiming_uniform
 * with a = √5); BatchNorm weight 1, bias 0, running_mean 0, running_var 1, num_batches_tracked 0.
 */
export function torchDefaultInit(signature: readonly TensorSignature[], seed: number): Map<string, WeightArray> {
  const out = new Map<string, WeightArray>();
  const fanIn = new Map<string, number>();
  signature.forEach((spec, index) => {
    const layer = spec.name.slice(0, spec.name.lastIndexOf('.'));
    const field = spec.name.slice(spec.name.lastIndexOf('.') + 1);
    const count = numel(spec.shape);
    if (spec.dtype === 'I64') {
      out.set(spec.name, new BigInt64Array(count));
      return;
    }
    const values = new Float32Array(count);
    const isBatchNorm = signature.some((s) => s.name === `${layer}.running_var`);
    if (isBatchNorm) {
      if (field === 'weight' || field === 'running_var') values.fill(1);
    } else {
      if (field === 'weight') fanIn.set(layer, numel(spec.shape.slice(1)));
      const bound = 1 / Math.sqrt(fanIn.get(layer) ?? numel(spec.shape.slice(1)));
      const rng = createRng(deriveSeed(seed, index));
      for (let i = 0; i < count; i++) values[i] = (rng() * 2 - 1) * bound;
    }
    out.set(spec.name, values);
  });
  return out;
}
