// Training loop of the RPG generator, in plain sight: pick checkpoints, run the recurrent model
// over the whole sequence, pick `diffusionBatch` tokens each with its own t, ε-prediction loss on
// those (padding masked), backward through denoiser and prototypes, clip, AdamW, cosine lr.
// Every random draw comes from one seeded Rng whose state is saved, so a run resumed from its
// last save continues the same loss curve.
import { tf } from '../tf.js';
import { CancelledError, EngineError } from '../errors.js';
import type { RpgConfig } from './config.js';
import { checkTrainingFits } from './gpu-limits.js';
import { RpgGenerator, float32Data, loadGeneratorState, saveGeneratorState, type GeneratorParts, type GeneratorShape, type GeneratorState } from './generator.js';
import { AdamW, cosineLearningRate } from './optimizer.js';
import { Rng } from './random.js';
import { addNoise, linearSchedule, maskedMse } from './schedule.js';

export interface TrainingInput {
  /** token positions and condition sizes of the zoo's layout */
  shape: GeneratorShape;
  checkpointCount: number;
  /** tokens of checkpoint i, [tokenCount·tokenSize]; a callback lets zoos larger than memory stream */
  tokens: Float32Array[] | ((index: number) => Float32Array | Promise<Float32Array>);
  /** 1 where a token position holds a parameter, 0 on padding: [tokenCount·tokenSize] */
  mask: Float32Array;
  /** permutation state of each checkpoint */
  permutationStates: ArrayLike<number>;
  /** task vector of each checkpoint ([taskBits]) when the generator is task-conditioned */
  tasks?: Float32Array[];
}

export interface TrainingProgress {
  step: number;
  steps: number;
  loss: number;
  lr: number;
  tokensPerSecond: number;
  etaSeconds: number;
}

export interface TrainingHooks {
  onProgress?: (progress: TrainingProgress) => void;
  signal?: AbortSignal;
  /** called every `saveEvery` steps and at the end; the caller persists the state */
  onCheckpoint?: (state: GeneratorState, step: number) => void | Promise<void>;
  /** a state saved by onCheckpoint: training continues from it with its own config */
  resumeFrom?: GeneratorState;
  /** with resumeFrom: train to this step instead of the saved config's (continuing a finished run) */
  steps?: number;
  /**
   * a quality check of the generator as it trains: called every `checkEvery` steps and at the
   * last step (when checkEvery > 0), after that step's save. Resolving true stops training at
   * this step (saved first). It must not change the generator: training continues unchanged.
   */
  onCheck?: (generator: RpgGenerator, step: number) => Promise<boolean>;
  /** stand-ins for the condition/recurrent parts (tests) */
  parts?: GeneratorParts;
}

export interface TrainingResult {
  /** the trained generator; the caller disposes it */
  generator: RpgGenerator;
  state: GeneratorState;
  config: RpgConfig;
  /** the step training ended at: config.steps, or the check that stopped it */
  steps: number;
  /** true when a quality check stopped training before config.steps */
  stoppedEarly: boolean;
  finalLoss: number;
  lossCurve: Float32Array;
  /** training time per step, quality checks left out */
  secondsPerStep: number;
  /** time the quality checks took */
  checkSeconds: number;
}

export class TrainingInputError extends EngineError {
  constructor(problem: string) {
    super('training_input', `cannot train the generator: ${problem}`, { hint: 'rebuild the zoo tokens (every checkpoint must match the zoo signature)' });
  }
}

const PROGRESS_INTERVAL_MS = 250;

function validateInput(input: TrainingInput, config: RpgConfig): void {
  checkTrainingFits(config);
  const values = input.shape.tokenCount * config.tokenSize;
  if (input.checkpointCount < 1) throw new TrainingInputError('the zoo has no checkpoints');
  if (input.mask.length !== values) throw new TrainingInputError(`the mask has ${input.mask.length} values, the layout needs ${values}`);
  if (input.permutationStates.length !== input.checkpointCount) {
    throw new TrainingInputError(`${input.permutationStates.length} permutation states for ${input.checkpointCount} checkpoints`);
  }
  for (let i = 0; i < input.checkpointCount; i++) {
    const p = input.permutationStates[i]!;
    if (!Number.isInteger(p) || p < 0 || p >= input.shape.permutationStates) {
      throw new TrainingInputError(`checkpoint ${i} has permutation state ${p}, outside 0…${input.shape.permutationStates - 1}`);
    }
  }
  if (Array.isArray(input.tokens) && input.tokens.length !== input.checkpointCount) {
    throw new TrainingInputError(`${input.tokens.length} token arrays for ${input.checkpointCount} checkpoints`);
  }
  if (input.shape.taskBits > 0 && (!input.tasks || input.tasks.length !== input.checkpointCount || input.tasks.some((t) => t.length !== input.shape.taskBits))) {
    throw new TrainingInputError(`the generator is task-conditioned: every checkpoint needs a task vector of ${input.shape.taskBits} values`);
  }
}

async function loadTokens(input: TrainingInput, index: number, expected: number): Promise<Float32Array> {
  const tokens = Array.isArray(input.tokens) ? input.tokens[index]! : await input.tokens(index);
  if (tokens.length !== expected) throw new TrainingInputError(`checkpoint ${index} gave ${tokens.length} token values, the layout has ${expected}`);
  return tokens;
}

/** Largest |value| at unmasked positions. */
function valueRange(tokens: Float32Array, mask: Float32Array): number {
  let range = 0;
  for (let i = 0; i < tokens.length; i++) {
    if (mask[i] === 0) continue;
    const v = Math.abs(tokens[i]!);
    if (v > range) range = v;
  }
  if (!Number.isFinite(range)) throw new TrainingInputError('a checkpoint has non-finite token values');
  return range;
}

export async function trainGenerator(input: TrainingInput, requestedConfig: RpgConfig, hooks: TrainingHooks = {}): Promise<TrainingResult> {
  let generator: RpgGenerator;
  let rng: Rng;
  let startStep = 0;
  const lossCurve: number[] = [];
  let optimizer: AdamW;
  if (hooks.resumeFrom) {
    const loaded = loadGeneratorState(hooks.resumeFrom, hooks.parts, hooks.steps !== undefined ? { steps: hooks.steps } : {});
    generator = loaded.generator;
    optimizer = new AdamW(generator.variables, { weightDecay: generator.config.weightDecay, clipNorm: generator.config.clipNorm });
    try {
      optimizer.loadState(loaded.find, loaded.meta.optimizerIterations);
    } catch (error) {
      optimizer.dispose();
      generator.dispose();
      throw error;
    }
    rng = Rng.fromState(loaded.meta.rng);
    startStep = loaded.meta.step;
    lossCurve.push(...(loaded.find('train.loss_curve') ?? []));
  } else {
    generator = new RpgGenerator(requestedConfig, input.shape, hooks.parts);
    optimizer = new AdamW(generator.variables, { weightDecay: requestedConfig.weightDecay, clipNorm: requestedConfig.clipNorm });
    rng = new Rng(requestedConfig.seed * 4);
  }
  const config = generator.config;
  const cleanup = () => {
    optimizer.dispose();
    generator.dispose();
  };
  try {
    validateInput(input, config);
  } catch (error) {
    cleanup();
    throw error;
  }

  const size = config.tokenSize;
  const tokenCount = input.shape.tokenCount;
  const schedule = linearSchedule(config.timesteps, config.betaStart, config.betaEnd);
  const variables = generator.variables;
  const started = performance.now();
  let lastProgress = -Infinity;
  let stepSecondsAverage = 0;
  let endStep = config.steps;
  /** time spent in quality checks, left out of secondsPerStep */
  let checkSeconds = 0;
  const makeState = async (step: number) =>
    saveGeneratorState(generator, {
      step,
      rng: rng.state(),
      optimizerIterations: optimizer.iterations,
      extraTensors: [...(await optimizer.stateTensors()), float32Data('train.loss_curve', Float32Array.from(lossCurve), [lossCurve.length])],
    });

  try {
    for (let step = startStep; step < config.steps; step++) {
      if (hooks.signal?.aborted) throw new CancelledError('training');
      const stepStart = performance.now();
      // Draws, in a fixed order: checkpoints, tokens, times, noise.
      const batch = Math.min(config.batch, input.checkpointCount);
      const picks = rng.sampleWithoutReplacement(input.checkpointCount, batch);
      const rows = batch * tokenCount;
      // A zoo smaller than a diffusion batch gives its tokens several times, each with its own t.
      const n = config.diffusionBatch;
      const chosen = n <= rows ? rng.sampleWithoutReplacement(rows, n) : Int32Array.from({ length: n }, () => rng.int(rows));
      const t = new Int32Array(n);
      for (let i = 0; i < n; i++) t[i] = rng.int(config.timesteps);
      const noise = new Float32Array(n * size);
      rng.fillNormal(noise);

      const checkpointTokens: Float32Array[] = [];
      for (const index of picks) {
        const tokens = await loadTokens(input, index, tokenCount * size);
        generator.valueRange = Math.max(generator.valueRange, valueRange(tokens, input.mask));
        checkpointTokens.push(tokens);
      }
      const x0 = new Float32Array(n * size);
      const mask = new Float32Array(n * size);
      for (let i = 0; i < n; i++) {
        const b = Math.floor(chosen[i]! / tokenCount);
        const token = chosen[i]! % tokenCount;
        x0.set(checkpointTokens[b]!.subarray(token * size, (token + 1) * size), i * size);
        mask.set(input.mask.subarray(token * size, (token + 1) * size), i * size);
      }
      const xt = new Float32Array(n * size);
      addNoise(schedule, x0, noise, t, size, xt);
      const permutation = Int32Array.from(picks, (i) => input.permutationStates[i]!);
      let tasks: Float32Array | null = null;
      if (input.shape.taskBits > 0 && input.tasks) {
        tasks = new Float32Array(batch * input.shape.taskBits);
        for (const [b, index] of picks.entries()) tasks.set(input.tasks[index]!, b * input.shape.taskBits);
      }

      const lr = cosineLearningRate(step, config.steps, config.lr, config.warmupSteps);
      const lossTensor = tf.tidy(() => {
        const xtT = tf.tensor2d(xt, [n, size]);
        const noiseT = tf.tensor2d(noise, [n, size]);
        const maskT = tf.tensor2d(mask, [n, size]);
        const timeT = generator.denoiser.timeInput(t);
        const chosenT = tf.tensor1d(chosen, 'int32');
        const { value, grads } = tf.variableGrads(() => {
          const prototypes = tf.reshape(generator.prototypes(permutation, tasks), [rows, config.recurrentWidth]);
          const selected = tf.gather(prototypes, chosenT) as tf.Tensor2D;
          return maskedMse(generator.denoiser.forward(xtT, timeT, selected, 'train'), noiseT, maskT);
        }, variables);
        const ordered = variables.map((v) => grads[v.name] ?? tf.zerosLike(v));
        optimizer.step(ordered, lr).dispose();
        generator.denoiser.commitBatchStatistics();
        return value;
      });
      const loss = (await lossTensor.data())[0]!;
      lossTensor.dispose();
      if (!Number.isFinite(loss)) throw new EngineError('training_diverged', `the generator's loss became ${loss} at step ${step + 1}`, { hint: 'lower lr (e.g. halve it) and train again' });
      lossCurve.push(loss);

      const now = performance.now();
      const stepSeconds = (now - stepStart) / 1000;
      stepSecondsAverage = step === startStep ? stepSeconds : 0.9 * stepSecondsAverage + 0.1 * stepSeconds;
      const done = step + 1;
      if (hooks.onProgress && (now - lastProgress >= PROGRESS_INTERVAL_MS || done === config.steps)) {
        lastProgress = now;
        hooks.onProgress({
          step: done,
          steps: config.steps,
          loss,
          lr,
          tokensPerSecond: n / Math.max(stepSecondsAverage, 1e-9),
          etaSeconds: (config.steps - done) * stepSecondsAverage,
        });
      }
      const saved = done % config.saveEvery === 0 || done === config.steps;
      if (hooks.onCheckpoint && saved) await hooks.onCheckpoint(await makeState(done), done);
      if (hooks.onCheck && config.checkEvery > 0 && (done % config.checkEvery === 0 || done === config.steps)) {
        const checkStarted = performance.now();
        const stop = await hooks.onCheck(generator, done);
        checkSeconds += (performance.now() - checkStarted) / 1000;
        if (stop && done < config.steps) {
          if (hooks.onCheckpoint && !saved) await hooks.onCheckpoint(await makeState(done), done);
          endStep = done;
          break;
        }
      }
    }
  } catch (error) {
    cleanup();
    throw error;
  }
  const state = await makeState(endStep);
  optimizer.dispose();
  const ran = endStep - startStep;
  return {
    generator,
    state,
    config,
    steps: endStep,
    stoppedEarly: endStep < config.steps,
    finalLoss: lossCurve[lossCurve.length - 1] ?? Number.NaN,
    lossCurve: Float32Array.from(lossCurve),
    secondsPerStep: ran > 0 ? ((performance.now() - started) / 1000 - checkSeconds) / ran : 0,
    checkSeconds,
  };
}
