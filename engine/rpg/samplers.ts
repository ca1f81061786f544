// Samplers (RPG.md): DDPM over all T steps, and DDIM over a subset of steps with noise scale η
// (reference: 60 steps, η 0.05). The maths runs in float64 on the host, token by token; only ε̂
// comes from the model. Every token draws its noise from its own Rng, so the result does not
// depend on how tokens are grouped into chunks (the inference mode).
import { tf } from '../tf.js';
import type { SamplerKind } from './config.js';
import type { Rng } from './random.js';
import type { NoiseSchedule } from './schedule.js';

export interface SamplerOptions {
  sampler: SamplerKind;
  /** DDIM steps (DDPM always takes all T) */
  steps: number;
  eta: number;
  /**
   * DDIM only: clip x̂0 to ±clipX0 (and use the ε consistent with it); 0 = off. Early DDIM steps
   * divide by √ᾱ_t ≈ 0.006, so a slightly wrong ε̂ throws x̂0 far outside the data: on a
   * one-checkpoint zoo after 700 steps, relative L2 error 1.78 unclipped, 0.21 clipped at the data range.
   */
  clipX0?: number;
}

/** ε̂ for xt [count, size] at one integer time t, as a tensor of count·size values (read back asynchronously: WebGPU cannot read synchronously in Node). */
export type NoisePredictor = (xt: tf.Tensor2D, t: number) => tf.Tensor;

/** The DDIM times, descending from T−1 to 0, evenly spaced. */
export function ddimTimesteps(timesteps: number, steps: number): number[] {
  if (steps <= 1) return [timesteps - 1];
  const out: number[] = [];
  for (let i = 0; i < steps; i++) out.push(Math.round(((timesteps - 1) * (steps - 1 - i)) / (steps - 1)));
  return out.filter((t, i) => i === 0 || t !== out[i - 1]);
}

function drawNoise(rngs: readonly Rng[], size: number, out: Float32Array): void {
  const row = new Float32Array(size);
  rngs.forEach((rng, i) => {
    rng.fillNormal(row);
    out.set(row, i * size);
  });
}

/** Denoises rngs.length tokens of `size` values from pure noise; returns [count·size]. */
export async function sampleTokens(schedule: NoiseSchedule, options: SamplerOptions, rngs: readonly Rng[], size: number, predict: NoisePredictor): Promise<Float32Array> {
  const count = rngs.length;
  const x = new Float32Array(count * size);
  drawNoise(rngs, size, x);
  const z = new Float32Array(count * size);
  const { alphaBars, alphas, betas } = schedule;
  const bound = options.clipX0 ?? 0;
  const times = options.sampler === 'ddpm' ? [...Array(schedule.timesteps).keys()].reverse() : ddimTimesteps(schedule.timesteps, options.steps);
  for (let k = 0; k < times.length; k++) {
    const t = times[k]!;
    const epsTensor = tf.tidy(() => predict(tf.tensor2d(x, [count, size]), t));
    const eps = (await epsTensor.data()) as Float32Array;
    epsTensor.dispose();
    const abT = alphaBars[t]!;
    if (options.sampler === 'ddpm') {
      // x_{t−1} = (x_t − β_t/√(1−ᾱ_t)·ε̂)/√α_t + σ_t·z, σ_t² = β̃_t = (1−ᾱ_{t−1})/(1−ᾱ_t)·β_t
      const a = 1 / Math.sqrt(alphas[t]!);
      const b = betas[t]! / Math.sqrt(1 - abT);
      const sigma = t > 0 ? Math.sqrt(((1 - alphaBars[t - 1]!) / (1 - abT)) * betas[t]!) : 0;
      if (sigma > 0) drawNoise(rngs, size, z);
      for (let i = 0; i < x.length; i++) x[i] = a * (x[i]! - b * eps[i]!) + (sigma > 0 ? sigma * z[i]! : 0);
    } else {
      // x̂0 = (x_t − √(1−ᾱ_t)·ε̂)/√ᾱ_t; x_prev = √ᾱ_prev·x̂0 + √(1−ᾱ_prev−σ²)·ε̂ + σ·z
      const prev = k + 1 < times.length ? times[k + 1]! : -1;
      const abPrev = prev >= 0 ? alphaBars[prev]! : 1;
      const sigma = options.eta * Math.sqrt((1 - abPrev) / (1 - abT)) * Math.sqrt(Math.max(0, 1 - abT / abPrev));
      const direction = Math.sqrt(Math.max(0, 1 - abPrev - sigma * sigma));
      if (sigma > 0) drawNoise(rngs, size, z);
      const sqrtAbT = Math.sqrt(abT);
      const sqrtOneMinusAbT = Math.sqrt(1 - abT);
      const sqrtAbPrev = Math.sqrt(abPrev);
      for (let i = 0; i < x.length; i++) {
        let x0 = (x[i]! - sqrtOneMinusAbT * eps[i]!) / sqrtAbT;
        let e = eps[i]!;
        if (bound > 0 && (x0 > bound || x0 < -bound)) {
          x0 = x0 > 0 ? bound : -bound;
          e = (x[i]! - sqrtAbT * x0) / sqrtOneMinusAbT; // the ε consistent with the clipped x̂0
        }
        x[i] = sqrtAbPrev * x0 + direction * e + (sigma > 0 ? sigma * z[i]! : 0);
      }
    }
  }
  return x;
}
