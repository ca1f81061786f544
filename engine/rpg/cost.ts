// What a training step and a generated model cost, in floating-point operations, from the config
// and the zoo's token count alone — so the time a run will take can be stated before it starts
// (the fidelity issue, item 2). Multiply-adds count 2; a training step is its forward pass × 3
// (forward, and backward for inputs and weights). Only the large terms: convolutions and
// matrix products; the per-element work is a few percent on every config measured.
import type { TensorSignature } from '../protocol.js';
import type { RpgConfig } from './config.js';
import { isGenerated } from './tokenizer.js';

/** Tokens per checkpoint of a zoo with this signature (each generated tensor padded to whole tokens). */
export function tokenCountFor(signature: readonly TensorSignature[], tokenSize: number): number {
  let tokens = 0;
  for (const tensor of signature) {
    if (isGenerated(tensor)) tokens += Math.ceil(tensor.shape.reduce((a, b) => a * b, 1) / tokenSize);
  }
  return tokens;
}

/** Forward FLOPs of the denoiser on one token: the conv chain 1 → …channels → 1, the time MLP and the prototype → token projection. */
export function denoiserTokenFlops(config: RpgConfig): number {
  const chain = [1, ...config.denoiserChannels, 1];
  let convs = 0;
  for (let i = 1; i < chain.length; i++) convs += 2 * config.tokenSize * config.kernelSize * chain[i - 1]! * chain[i]!;
  const timeHidden = config.timeHidden === 0 ? config.tokenSize : config.timeHidden;
  const time = 2 * (config.timeFeatures * timeHidden + timeHidden * config.tokenSize);
  const condition = config.conditionRank === 0 ? 2 * config.recurrentWidth * config.tokenSize : 2 * config.conditionRank * (config.recurrentWidth + config.tokenSize);
  return convs + time + condition;
}

/** Forward FLOPs of the recurrent model on one token of one checkpoint. */
export function recurrentTokenFlops(config: RpgConfig): number {
  const d = config.recurrentWidth;
  switch (config.recurrent) {
    case 'lstm':
      return config.recurrentLayers * 2 * 4 * d * (2 * d);
    case 'mamba':
      // in/out projections (expand 2) and the selective scan's state updates
      return config.recurrentLayers * (2 * d * 4 * d + 2 * 2 * d * d + 6 * 2 * d * config.dState);
    case 'transformer':
      return config.recurrentLayers * 2 * 12 * d * d;
  }
}

/** FLOPs of one training step on a zoo whose checkpoints are `tokenCount` tokens long. */
export function trainStepFlops(config: RpgConfig, tokenCount: number, checkpoints: number): number {
  const batch = Math.min(config.batch, checkpoints);
  return 3 * (config.diffusionBatch * denoiserTokenFlops(config) + batch * tokenCount * recurrentTokenFlops(config));
}

/** FLOPs of generating one model: prototypes once, then every token through every sampler step. */
export function generateModelFlops(config: RpgConfig, tokenCount: number): number {
  const steps = config.sampler === 'ddpm' ? config.timesteps : config.samplerSteps;
  return tokenCount * (recurrentTokenFlops(config) + steps * denoiserTokenFlops(config));
}
