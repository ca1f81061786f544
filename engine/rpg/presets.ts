// Presets chosen from the zoo's parameter count. 'tiny' is the paper's small setting (token 256,
// width 256) with the LSTM that measured better than Mamba on small zoos (RPG.md: loss 0.028 vs
// 0.065 after 2000 steps); larger zoos use longer tokens and Mamba, cheaper over long sequences.
import { ConfigError, DEFAULT_CONFIG, refuseIgnoredSamplerSettings, validateConfig, type RpgConfig } from './config.js';

// Measured on built-in task zoos (README, "What to expect"; engine/pipeline/demo.ts has the curves):
// the digits MLP (the quick demo), tokens of 256 with a slim LSTM and denoiser at lr 1e-2 …
const DIGITS: Partial<RpgConfig> = {
  preset: 'digits',
  tokenSize: 256,
  recurrentWidth: 128,
  recurrentLayers: 1,
  denoiserChannels: [16, 32, 16],
  timeFeatures: 64,
  diffusionBatch: 64,
  lr: 1e-2,
  warmupSteps: 20,
  steps: 3000,
  saveEvery: 500,
};

export const PRESETS: Readonly<Record<string, Partial<RpgConfig>>> = {
  tiny: {},
  digits: DIGITS,
  // … the digits binary heads (unseen tasks): the same recipe at lr 3e-3 and 4000 steps, the best
  // measured on held-out task vectors with the default 200 seen tasks (README, "Unseen tasks": 86.4%;
  // lr 1e-2 gave ≈ 84% at 4000 steps, 6000 steps no better; on all 1002 seen tasks lr 3e-3 gave 74.9) …
  binary: { ...DIGITS, preset: 'binary', lr: 3e-3, steps: 4000 },
  // … and MNIST's MLP and CNN: the same at tokens of 1024, which the LSTM of 128 learns where tokens of 256 did not.
  mnist: {
    preset: 'mnist',
    tokenSize: 1024,
    recurrentWidth: 128,
    recurrentLayers: 1,
    denoiserChannels: [16, 32, 16],
    timeFeatures: 64,
    diffusionBatch: 32,
    lr: 1e-2,
    warmupSteps: 20,
    steps: 6000,
    saveEvery: 500,
  },
  // The main CPU speed lever (RPG.md): a quarter of the convolution FLOPs of 'tiny'.
  'tiny-slim': { preset: 'tiny-slim', denoiserChannels: [16, 32, 64, 32, 16], diffusionBatch: 32 },
  small: {
    preset: 'small',
    tokenSize: 1024,
    recurrent: 'mamba',
    recurrentWidth: 256,
    recurrentLayers: 2,
    dState: 32,
    denoiserChannels: [32, 64, 32],
    timeHidden: 256,
    diffusionBatch: 64,
    batch: 4,
    steps: 4000,
    lr: 5e-4,
    warmupSteps: 100,
    saveEvery: 500,
  },
  medium: {
    preset: 'medium',
    tokenSize: 4096,
    recurrent: 'mamba',
    recurrentWidth: 512,
    recurrentLayers: 2,
    dState: 64,
    denoiserChannels: [64, 96, 64],
    timeHidden: 256,
    conditionRank: 256,
    diffusionBatch: 128,
    batch: 2,
    steps: 20000,
    lr: 1e-4,
    warmupSteps: 500,
    saveEvery: 1000,
    checkEvery: 2000,
  },
  large: {
    preset: 'large',
    tokenSize: 8192,
    recurrent: 'mamba',
    recurrentWidth: 1024,
    recurrentLayers: 2,
    dState: 128,
    denoiserChannels: [64, 96, 64],
    timeHidden: 256,
    conditionRank: 256,
    diffusionBatch: 256,
    batch: 2,
    steps: 50000,
    lr: 3e-5,
    warmupSteps: 1000,
    saveEvery: 2000,
    checkEvery: 5000,
  },
};

/** Built-in tasks with a preset measured on their zoos; other zoos get one by size. */
export const TASK_PRESETS: Readonly<Record<string, string>> = { 'digits-mlp': 'digits', 'digits-binary': 'binary', 'mnist-mlp': 'mnist', 'mnist-cnn': 'mnist', 'fashion-cnn': 'mnist' };

/** The preset for a zoo whose checkpoints have `parameterCount` generated values (and, where it has one, built-in task `task`). */
export function presetFor(parameterCount: number, task?: string | null): string {
  const measured = task ? TASK_PRESETS[task] : undefined;
  if (measured) return measured;
  if (parameterCount < 50_000) return 'tiny';
  if (parameterCount < 2_000_000) return 'small';
  if (parameterCount < 20_000_000) return 'medium';
  return 'large';
}

/** Preset (named, or chosen from the zoo's task and parameter count) + overrides → a complete, validated config. */
export function resolveConfig(options: { preset?: string; parameterCount?: number; task?: string | null; overrides?: Partial<RpgConfig> }): RpgConfig {
  const name = options.preset ?? presetFor(options.parameterCount ?? 0, options.task);
  const preset = PRESETS[name];
  if (!preset) throw new ConfigError('preset', `is '${name}', which is not one of ${Object.keys(PRESETS).join(', ')}`);
  const base = validateConfig({ ...preset, preset: name });
  const config = validateConfig(options.overrides ?? {}, base);
  refuseIgnoredSamplerSettings(config.sampler, options.overrides ?? {});
  return config;
}

export { DEFAULT_CONFIG };
