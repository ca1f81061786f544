// On WebGPU a tensor is one buffer, and a kernel may bind at most the adapter's
// maxStorageBufferBindingSize of it (128 MiB on many adapters). The denoiser's widest activation
// holds rows × tokenSize × (widest channel count) float32s: generation splits its tokens into chunks
// that fit (the tokens do not depend on the chunking), training refuses a diffusion batch that
// cannot, naming the setting to lower. Other backends have no such limit.
import { backendInfo } from '../backend.js';
import { ConfigError, type RpgConfig } from './config.js';

/** Bytes of the widest denoiser activation per token row. */
function bytesPerRow(config: RpgConfig): number {
  return config.tokenSize * Math.max(1, ...config.denoiserChannels) * 4;
}

function bindingLimit(): number | null {
  const info = backendInfo();
  return info?.name === 'webgpu' && info.adapter ? info.adapter.maxBindingBytes : null;
}

/** The most token rows one denoiser pass may take on this backend (Infinity without a limit). */
export function rowsWithinBinding(config: RpgConfig): number {
  const limit = bindingLimit();
  return limit === null ? Number.POSITIVE_INFINITY : Math.max(1, Math.floor(limit / bytesPerRow(config)));
}

/** Throws ConfigError when a training step's diffusion batch cannot be bound on this backend. */
export function checkTrainingFits(config: RpgConfig): void {
  const rows = rowsWithinBinding(config);
  if (config.diffusionBatch > rows) {
    const limit = bindingLimit()!;
    throw new ConfigError(
      'diffusionBatch',
      `is ${config.diffusionBatch}: on this GPU a denoiser activation may hold at most ${(limit / 2 ** 20).toFixed(0)} MiB, ${rows} token rows of ${config.tokenSize} values × ${Math.max(...config.denoiserChannels)} channels (set it to ${rows} or less)`,
    );
  }
}
