// How long a training run will take on this machine, stated before it starts (the fidelity
// issue, item 2). A step is modelled as a fixed overhead plus its FLOPs at a rate, both measured
// on the project's reference machine; the runs this data folder has already trained on the same
// backend scale that model to this machine (the median of measured ÷ modelled seconds per step).
// Two configs measured on the reference machine give the model: the quick demo's slim generator
// (0.9 GFLOP, 0.10 s/step) and the 'tiny' preset on digits (15.2 GFLOP, 0.58 s/step), wasm on
// both cores: 0.07 s + FLOPs / 30 GFLOP/s fits both within 5%.
import type Database from 'better-sqlite3';
import type { TrainingEstimate } from '../protocol.js';
import { recentRunSpeeds } from '../catalog/run-speeds.js';
import type { RpgConfig } from '../rpg/config.js';
import { median } from '../zoo/accuracy.js';
import { generateModelFlops, trainStepFlops } from '../rpg/cost.js';

const REFERENCE_OVERHEAD_SECONDS = 0.07;
const REFERENCE_FLOPS_PER_SECOND = 30e9;

/**
 * Mamba's selective scan runs token by token: the 'small' preset (Mamba, 981 tokens, batch 4) measured
 * 2.06 s/step against 1.15 s from its FLOPs, ≈ 0.23 ms more per token of a checkpoint per 2 layers.
 */
const REFERENCE_MAMBA_SECONDS_PER_TOKEN_LAYER = 1.15e-4;

export function referenceStepSeconds(stepFlops: number, scanTokens = 0): number {
  return REFERENCE_OVERHEAD_SECONDS + stepFlops / REFERENCE_FLOPS_PER_SECOND + scanTokens * REFERENCE_MAMBA_SECONDS_PER_TOKEN_LAYER;
}

/** Token rows a step pushes through Mamba scans (0 for the other recurrent kinds). */
function scanTokens(config: RpgConfig, zoo: { tokenCount: number; checkpoints: number }): number {
  return config.recurrent === 'mamba' ? Math.min(config.batch, zoo.checkpoints) * zoo.tokenCount * config.recurrentLayers : 0;
}

/** `fromStep`: a resumed run's saved step (only the steps left are counted). */
/** `zoo.heldOutCheckModels`: models each quality check generates beyond checkModels (held-out task vectors of a task-conditioned zoo). */
export function estimateTraining(
  db: Database.Database,
  backend: string,
  config: RpgConfig,
  zoo: { tokenCount: number; checkpoints: number; heldOutCheckModels?: number },
  fromStep = 0,
): TrainingEstimate {
  const stepFlops = trainStepFlops(config, zoo.tokenCount, zoo.checkpoints);
  const measured = recentRunSpeeds(db, backend);
  // Earlier runs are compared by their FLOPs only (their scan share is not stored): a Mamba run
  // calibrates an LSTM estimate slightly high, which errs on the side of a user's patience.
  const scale = measured.length > 0 ? median(measured.map((m) => m.secondsPerStep / referenceStepSeconds(m.stepFlops))) : 1;
  const secondsPerStep = scale * referenceStepSeconds(stepFlops, scanTokens(config, zoo));
  const steps = Math.max(0, config.steps - fromStep);
  const checks = config.checkEvery > 0 ? Math.floor(steps / config.checkEvery) + 1 : 0;
  const modelsPerCheck = config.checkModels + (zoo.heldOutCheckModels ?? 0);
  const checkSeconds = (checks * modelsPerCheck * scale * generateModelFlops(config, zoo.tokenCount)) / REFERENCE_FLOPS_PER_SECOND;
  return {
    steps,
    secondsPerStep,
    seconds: steps * secondsPerStep + checkSeconds,
    stepFlops,
    basis:
      measured.length > 0
        ? `scaled by ${measured.length} earlier run${measured.length > 1 ? 's' : ''} on this machine (${backend})`
        : 'the reference 2-core machine (no run measured on this machine yet)',
  };
}

/** "≈ 12 min" — a rough duration, rounded to what an estimate can promise. */
export function roughDuration(seconds: number): string {
  if (seconds < 90) return `≈ ${Math.max(1, Math.round(seconds / 10) * 10)} s`;
  if (seconds < 90 * 60) return `≈ ${Math.round(seconds / 60)} min`;
  return `≈ ${(seconds / 3600).toFixed(1)} h`;
}
