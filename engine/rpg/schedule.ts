// Diffusion schedule (RPG.md): linear β from betaStart to betaEnd over T steps, ε-prediction,
// MSE over the unmasked (non-padding) positions of a token.
import { tf } from '../tf.js';

export interface NoiseSchedule {
  timesteps: number;
  betas: Float64Array;
  alphas: Float64Array;
  /** ᾱ_t = Π_{s≤t} α_s */
  alphaBars: Float64Array;
}

export function linearSchedule(timesteps: number, betaStart: number, betaEnd: number): NoiseSchedule {
  const betas = new Float64Array(timesteps);
  const alphas = new Float64Array(timesteps);
  const alphaBars = new Float64Array(timesteps);
  let product = 1;
  for (let t = 0; t < timesteps; t++) {
    betas[t] = timesteps === 1 ? betaStart : betaStart + ((betaEnd - betaStart) * t) / (timesteps - 1);
    alphas[t] = 1 - betas[t]!;
    product *= alphas[t]!;
    alphaBars[t] = product;
  }
  return { timesteps, betas, alphas, alphaBars };
}

/** x_t = √ᾱ_t · x0 + √(1 − ᾱ_t) · ε, row by row ([rows × size], one t per row), in place into `out`. */
export function addNoise(schedule: NoiseSchedule, x0: Float32Array, noise: Float32Array, t: Int32Array, size: number, out: Float32Array): void {
  for (let row = 0; row < t.length; row++) {
    const ab = schedule.alphaBars[t[row]!]!;
    const a = Math.sqrt(ab);
    const b = Math.sqrt(1 - ab);
    for (let i = row * size, end = i + size; i < end; i++) out[i] = a * x0[i]! + b * noise[i]!;
  }
}

/** Sinusoidal features of the timesteps ([N, features]: sin half then cos half), as in DDPM. */
export function timestepFeatures(t: ArrayLike<number>, features: number): Float32Array {
  const half = features / 2;
  const out = new Float32Array(t.length * features);
  for (let row = 0; row < t.length; row++) {
    for (let k = 0; k < half; k++) {
      const angle = t[row]! * Math.exp((-Math.log(10000) * k) / half);
      out[row * features + k] = Math.sin(angle);
      out[row * features + half + k] = Math.cos(angle);
    }
  }
  return out;
}

/** Σ mask·(ε̂ − ε)² / Σ mask: MSE over the positions that hold parameters (padding excluded). */
export function maskedMse(predicted: tf.Tensor, target: tf.Tensor, mask: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const squared = tf.mul(tf.squaredDifference(predicted, target), mask);
    return tf.div(tf.sum(squared), tf.maximum(tf.sum(mask), 1)) as tf.Scalar;
  });
}
