// The frozen feature extractor of the binary-task family: the hidden layer (64→64, ReLU) of an MLP
// trained once on the 10-class digits task. Trained in plain JS float64 with a fixed seed, so the
// features are the same on every backend and machine, and heads stay valid wherever they are used.
import type { TensorData } from '../../tensors.js';
import { imagesAsFloat, loadDataset } from '../datasets/index.js';
import { createRng, deriveSeed, shuffledIndices } from '../random.js';
import { float32Tensor } from '../tensors.js';

export const TRUNK_SEED = 7;
const INPUTS = 64;
export const TRUNK_WIDTH = 64;
const CLASSES = 10;
const EPOCHS = 40;
const BATCH = 32;
const LR = 0.05;
const MOMENTUM = 0.9;

export interface Trunk {
  /** fc1.weight [64, 64] and fc1.bias [64] in PyTorch layout */
  weights: TensorData[];
  /** ReLU(fc1(x)) for every train / test sample: count × 64 */
  trainFeatures: Float32Array;
  testFeatures: Float32Array;
  /** test accuracy (percent) of the 10-class MLP the trunk came from */
  trunkAccuracy: number;
}

function uniformInit(count: number, fanIn: number, seed: number): Float64Array {
  const rng = createRng(seed);
  const bound = 1 / Math.sqrt(fanIn);
  return Float64Array.from({ length: count }, () => (rng() * 2 - 1) * bound);
}

function hidden(w1: Float64Array, b1: Float64Array, x: Float32Array, row: number, out: Float64Array): void {
  for (let h = 0; h < TRUNK_WIDTH; h++) {
    let s = b1[h]!;
    for (let i = 0; i < INPUTS; i++) s += w1[h * INPUTS + i]! * x[row * INPUTS + i]!;
    out[h] = Math.max(s, 0);
  }
}

function features(w1: Float64Array, b1: Float64Array, x: Float32Array, count: number): Float32Array {
  const out = new Float32Array(count * TRUNK_WIDTH);
  const h = new Float64Array(TRUNK_WIDTH);
  for (let n = 0; n < count; n++) {
    hidden(w1, b1, x, n, h);
    for (let j = 0; j < TRUNK_WIDTH; j++) out[n * TRUNK_WIDTH + j] = h[j]!;
  }
  return out;
}

let cached: Trunk | null = null;

/** Trains (once per process, ~1 s) and returns the frozen trunk and the features it makes. */
export function digitsTrunk(): Trunk {
  if (cached) return cached;
  const data = loadDataset('digits');
  const xTrain = imagesAsFloat(data, data.train);
  const xTest = imagesAsFloat(data, data.test);
  const params = [
    uniformInit(TRUNK_WIDTH * INPUTS, INPUTS, deriveSeed(TRUNK_SEED, 0)),
    uniformInit(TRUNK_WIDTH, INPUTS, deriveSeed(TRUNK_SEED, 1)),
    uniformInit(CLASSES * TRUNK_WIDTH, TRUNK_WIDTH, deriveSeed(TRUNK_SEED, 2)),
    uniformInit(CLASSES, TRUNK_WIDTH, deriveSeed(TRUNK_SEED, 3)),
  ] as const;
  const [w1, b1, w2, b2] = params;
  const grads = params.map((p) => new Float64Array(p.length));
  const velocity = params.map((p) => new Float64Array(p.length));
  const h = new Float64Array(TRUNK_WIDTH);
  const dh = new Float64Array(TRUNK_WIDTH);
  const p = new Float64Array(CLASSES);
  for (let epoch = 0; epoch < EPOCHS; epoch++) {
    const order = shuffledIndices(data.train.count, deriveSeed(TRUNK_SEED, 100 + epoch));
    for (let from = 0; from + BATCH <= order.length; from += BATCH) {
      for (const g of grads) g.fill(0);
      for (let k = from; k < from + BATCH; k++) {
        const n = order[k]!;
        hidden(w1, b1, xTrain, n, h);
        let max = -Infinity;
        for (let c = 0; c < CLASSES; c++) {
          let s = b2[c]!;
          for (let j = 0; j < TRUNK_WIDTH; j++) s += w2[c * TRUNK_WIDTH + j]! * h[j]!;
          p[c] = s;
          if (s > max) max = s;
        }
        let sum = 0;
        for (let c = 0; c < CLASSES; c++) sum += p[c] = Math.exp(p[c]! - max);
        dh.fill(0);
        for (let c = 0; c < CLASSES; c++) {
          const d = (p[c]! / sum - (c === data.train.labels[n] ? 1 : 0)) / BATCH;
          grads[3]![c]! += d;
          for (let j = 0; j < TRUNK_WIDTH; j++) {
            grads[2]![c * TRUNK_WIDTH + j]! += d * h[j]!;
            dh[j]! += d * w2[c * TRUNK_WIDTH + j]!;
          }
        }
        for (let j = 0; j < TRUNK_WIDTH; j++) {
          if (h[j]! <= 0) continue;
          grads[1]![j]! += dh[j]!;
          for (let i = 0; i < INPUTS; i++) grads[0]![j * INPUTS + i]! += dh[j]! * xTrain[n * INPUTS + i]!;
        }
      }
      params.forEach((param, index) => {
        const v = velocity[index]!;
        const g = grads[index]!;
        for (let i = 0; i < param.length; i++) {
          v[i] = MOMENTUM * v[i]! + g[i]!;
          param[i]! -= LR * v[i]!;
        }
      });
    }
  }
  let right = 0;
  for (let n = 0; n < data.test.count; n++) {
    hidden(w1, b1, xTest, n, h);
    let best = 0;
    let bestScore = -Infinity;
    for (let c = 0; c < CLASSES; c++) {
      let s = b2[c]!;
      for (let j = 0; j < TRUNK_WIDTH; j++) s += w2[c * TRUNK_WIDTH + j]! * h[j]!;
      if (s > bestScore) [best, bestScore] = [c, s];
    }
    if (best === data.test.labels[n]) right++;
  }
  cached = {
    weights: [float32Tensor('fc1.weight', [TRUNK_WIDTH, INPUTS], Float32Array.from(w1)), float32Tensor('fc1.bias', [TRUNK_WIDTH], Float32Array.from(b1))],
    trainFeatures: features(w1, b1, xTrain, data.train.count),
    testFeatures: features(w1, b1, xTest, data.test.count),
    trunkAccuracy: (100 * right) / data.test.count,
  };
  return cached;
}
