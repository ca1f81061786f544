// Training the RPG generator: a zoo of one checkpoint is reproduced, tensors do not leak, a run
// resumed from a save continues the same loss curve, cancellation stops cleanly, bad input is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../engine/backend.js';
import { CancelledError } from '../engine/errors.js';
import { ConfigError, type RpgConfig } from '../engine/rpg/config.js';
import { resolveConfig, presetFor } from '../engine/rpg/presets.js';
import { trainGenerator, TrainingInputError, type TrainingInput } from '../engine/rpg/trainer.js';
import { generateModels } from '../engine/rpg/generate.js';
import { loadGeneratorState, STATE_METADATA_KEY, type GeneratorState } from '../engine/rpg/generator.js';
import { Rng } from '../engine/rpg/random.js';
import { cosineLearningRate } from '../engine/rpg/optimizer.js';

/** A zoo of `count` checkpoints, `tokens` tokens of `size` values; the last token half padding. */
function syntheticZoo(count: number, tokens: number, size: number, seed = 5): TrainingInput {
  const rng = new Rng(seed);
  const base = new Float32Array(tokens * size);
  rng.fillNormal(base);
  const checkpoints = Array.from({ length: count }, () => base.map((v) => v + 0.1 * rng.normal()));
  const mask = new Float32Array(tokens * size).fill(1);
  mask.fill(0, tokens * size - size / 2);
  return {
    shape: {
      tokenCount: tokens,
      tensorIndexOfToken: Int32Array.from({ length: tokens }, (_, i) => Math.floor(i / 3)),
      indexInTensorOfToken: Int32Array.from({ length: tokens }, (_, i) => i % 3),
      permutationStates: count,
      taskBits: 0,
    },
    checkpointCount: count,
    tokens: checkpoints,
    mask,
    permutationStates: Array.from({ length: count }, (_, i) => i),
  };
}

function smallConfig(overrides: Partial<RpgConfig>): RpgConfig {
  return resolveConfig({
    preset: 'tiny',
    overrides: { tokenSize: 16, recurrentWidth: 16, recurrentLayers: 1, denoiserChannels: [8, 16, 8], diffusionBatch: 16, batch: 2, lr: 3e-3, warmupSteps: 2, ...overrides },
  });
}

test('presets follow the zoo size and every field is validated by name', () => {
  assert.equal(presetFor(4_810), 'tiny');
  assert.equal(presetFor(1_000_000), 'small');
  // zoos of a built-in task with a measured preset get it, whatever their size
  assert.equal(presetFor(4_810, 'digits-mlp'), 'digits');
  assert.equal(presetFor(25_450, 'mnist-mlp'), 'mnist');
  assert.equal(presetFor(9_172, 'mnist-cnn'), 'mnist');
  assert.equal(presetFor(9_172, 'fashion-cnn'), 'mnist');
  assert.equal(presetFor(2_113, 'digits-binary'), 'binary');
  assert.equal(presetFor(4_810, null), 'tiny');
  assert.equal(resolveConfig({ parameterCount: 9_172, task: 'mnist-cnn' }).tokenSize, 1024);
  assert.equal(resolveConfig({ parameterCount: 1_000_000 }).tokenSize, 1024);
  assert.equal(resolveConfig({ parameterCount: 10_000 }).tokenSize, 256);
  assert.equal(resolveConfig({ preset: 'small', overrides: { steps: 7 } }).steps, 7);
  assert.throws(
    () => resolveConfig({ overrides: { lr: -1 } }),
    (e: unknown) => e instanceof ConfigError && /'lr'/.test(e.message),
  );
  assert.throws(
    () => resolveConfig({ overrides: { kernelSize: 4 } }),
    (e: unknown) => e instanceof ConfigError && /'kernelSize'/.test(e.message),
  );
  assert.throws(
    () => resolveConfig({ overrides: { tokenSzie: 3 } as Partial<RpgConfig> }),
    (e: unknown) => e instanceof ConfigError && /tokenSzie/.test(e.message),
  );
  assert.throws(() => resolveConfig({ preset: 'huge' }), ConfigError);
  assert.equal(cosineLearningRate(0, 100, 1, 10), 0.1);
  assert.equal(cosineLearningRate(10, 100, 1, 10), 1);
  assert.ok(cosineLearningRate(99, 100, 1, 10) < 0.001);
});

test('a zoo of one checkpoint is reproduced by the trained generator', async () => {
  await initBackend('wasm');
  const zoo = syntheticZoo(1, 6, 16);
  const config = smallConfig({ steps: 700, batch: 1, diffusionBatch: 64, lr: 1e-2, warmupSteps: 20, recurrentWidth: 32 });
  const result = await trainGenerator(zoo, config);
  const target = (zoo.tokens as Float32Array[])[0]!;
  const relativeError = async (sampler: 'ddim' | 'ddpm') => {
    const generated = new Float32Array(target.length);
    await generateModels(result.generator, { count: 1, seeds: [1], permutationStates: [0], sampler }, (c) => generated.set(c.tokens, c.firstToken * 16));
    let error = 0;
    let norm = 0;
    for (let i = 0; i < target.length; i++) {
      if (!zoo.mask[i]) continue;
      error += (generated[i]! - target[i]!) ** 2;
      norm += target[i]! ** 2;
    }
    return Math.sqrt(error / norm);
  };
  const ddim = await relativeError('ddim'); // the default: 60 steps, η 0.05, x̂0 clipped to 1.2× the data range
  const ddpm = await relativeError('ddpm');
  console.log(`one-checkpoint zoo, 700 steps: final loss ${result.finalLoss.toFixed(4)}, relative L2 error of generated tokens: DDIM ${ddim.toFixed(3)}, DDPM ${ddpm.toFixed(3)}`);
  assert.ok(result.lossCurve[0]! > 4 * result.finalLoss, `loss fell from ${result.lossCurve[0]} to ${result.finalLoss}`);
  assert.ok(ddpm < 0.3, `DDPM relative L2 error ${ddpm}`);
  assert.ok(ddim < 0.35, `DDIM relative L2 error ${ddim}`);
  result.generator.dispose();
});

test('training steps do not leak tensors, and disposing the returned generator frees everything', async () => {
  await initBackend('wasm');
  const before = tf.memory().numTensors;
  const counts: number[] = [];
  const result = await trainGenerator(syntheticZoo(3, 5, 16), smallConfig({ steps: 8, saveEvery: 1 }), {
    onCheckpoint: () => void counts.push(tf.memory().numTensors),
  });
  assert.equal(counts.length, 8);
  assert.ok(
    counts.every((c) => c === counts[0]),
    `tensor count per step: ${counts.join(', ')}`,
  );
  assert.ok(tf.memory().numTensors > before, 'the returned generator is alive');
  result.generator.dispose();
  assert.equal(tf.memory().numTensors, before);
});

test('a run resumed from its save at N/2 continues the uninterrupted loss curve exactly', async () => {
  await initBackend('wasm');
  const zoo = syntheticZoo(3, 5, 16);
  const config = smallConfig({ steps: 12, saveEvery: 6 });
  const saves = new Map<number, GeneratorState>();
  const whole = await trainGenerator(zoo, config, { onCheckpoint: (state, step) => void saves.set(step, state) });
  assert.deepEqual([...saves.keys()], [6, 12]);
  const resumed = await trainGenerator(zoo, config, { resumeFrom: saves.get(6)! });
  assert.equal(resumed.lossCurve.length, 12);
  assert.deepEqual(Array.from(resumed.lossCurve), Array.from(whole.lossCurve));
  const a = whole.generator.variables.map((v) => Array.from(v.dataSync()));
  const b = resumed.generator.variables.map((v) => Array.from(v.dataSync()));
  assert.deepEqual(b, a);
  // The denoiser's BatchNorm running statistics (used when sampling) are saved and restored too.
  const buffers = (g: typeof whole.generator) => g.namedBuffers().map(([name, v]) => [name, Array.from(v.dataSync())]);
  assert.equal(whole.generator.namedBuffers().length, 6, 'running mean and variance of the 3 normed layers (8, 16, 8)');
  assert.deepEqual(buffers(resumed.generator), buffers(whole.generator));
  assert.ok(
    whole.generator.namedBuffers().some(([, v]) => v.dataSync().some((x) => x !== 0 && x !== 1)),
    'running statistics moved from their initial values',
  );
  whole.generator.dispose();
  resumed.generator.dispose();
});

test('progress is reported, and an aborted run throws CancelledError and frees its tensors', async () => {
  await initBackend('wasm');
  const before = tf.memory().numTensors;
  const controller = new AbortController();
  const seen: number[] = [];
  await assert.rejects(
    trainGenerator(syntheticZoo(2, 5, 16), smallConfig({ steps: 1000 }), {
      signal: controller.signal,
      onProgress: (p) => {
        seen.push(p.step);
        assert.ok(Number.isFinite(p.loss) && p.lr > 0 && p.tokensPerSecond > 0 && p.etaSeconds >= 0 && p.steps === 1000);
        if (p.step >= 3) controller.abort();
      },
    }),
    CancelledError,
  );
  assert.ok(seen.length >= 1);
  assert.equal(tf.memory().numTensors, before);
});

test('inconsistent training input is refused with what is wrong', async () => {
  await initBackend('wasm');
  const before = tf.memory().numTensors;
  const zoo = syntheticZoo(2, 5, 16);
  await assert.rejects(trainGenerator({ ...zoo, mask: new Float32Array(3) }, smallConfig({ steps: 2 })), (e: unknown) => e instanceof TrainingInputError && /mask/.test(e.message));
  await assert.rejects(trainGenerator({ ...zoo, permutationStates: [0, 7] }, smallConfig({ steps: 2 })), (e: unknown) => e instanceof TrainingInputError && /permutation state 7/.test(e.message));
  await assert.rejects(trainGenerator({ ...zoo, tokens: () => new Float32Array(5) }, smallConfig({ steps: 2 })), (e: unknown) => e instanceof TrainingInputError && /gave 5/.test(e.message));
  assert.equal(tf.memory().numTensors, before);
});

test('a task-conditioned generator follows its task vector: each seen task generates near its own model, an unseen one differs from both', async () => {
  await initBackend('wasm');
  const before = tf.memory().numTensors;
  // Two tasks whose models are opposite, under one permutation state: only the task vector tells them apart.
  const zoo = syntheticZoo(2, 5, 16);
  const [own] = zoo.tokens as Float32Array[];
  const models = [own!, own!.map((v) => -v)];
  const tasks = [Float32Array.of(1, 0, 0, 1), Float32Array.of(0, 1, 1, 0)];
  const input: TrainingInput = {
    ...zoo,
    tokens: models,
    tasks,
    permutationStates: [0, 0],
    shape: { ...zoo.shape, permutationStates: 1, taskBits: 4 },
  };
  await assert.rejects(trainGenerator({ ...input, tasks: undefined }, smallConfig({ steps: 2 })), TrainingInputError);
  const result = await trainGenerator(input, smallConfig({ steps: 200, batch: 2, diffusionBatch: 64, lr: 1e-2, warmupSteps: 10 }));
  assert.equal(result.lossCurve.length, 200);
  assert.ok(result.lossCurve.every(Number.isFinite));

  const generate = async (task: Float32Array) => {
    const tokens = new Float32Array(5 * 16);
    let values = 0;
    await generateModels(result.generator, { count: 1, seeds: [1], permutationStates: [0], task, steps: 20 }, (c) => {
      tokens.set(c.tokens, c.firstToken * 16);
      values += c.tokens.length;
    });
    assert.equal(values, 5 * 16);
    assert.ok(tokens.every(Number.isFinite));
    return tokens;
  };
  const distance = (a: Float32Array, b: Float32Array) => Math.sqrt(a.reduce((sum, v, i) => sum + (zoo.mask[i] ? (v - b[i]!) ** 2 : 0), 0));
  // Same seed for both: were the task vector ignored, both would be the same tokens, and could not
  // each be nearer its own task's model.
  const generated = [await generate(tasks[0]!), await generate(tasks[1]!)];
  const distances = generated.map((tokens, i) => ({ near: distance(tokens, models[i]!), far: distance(tokens, models[1 - i]!) }));
  console.log(`task-conditioned, 200 steps: distances to own / other task's model ${distances.map((d) => `${d.near.toFixed(2)} / ${d.far.toFixed(2)}`).join(', ')}`);
  for (const [i, { near, far }] of distances.entries()) {
    assert.ok(near < 0.8 * far, `task ${i}: distance ${near.toFixed(3)} to its own model, ${far.toFixed(3)} to the other task's`);
  }
  // A task vector never seen in training still steers generation: same seed, different tokens.
  const unseen = await generate(Float32Array.of(0, 0, 1, 1));
  for (const tokens of generated) assert.ok(distance(unseen, tokens) > 1e-3, 'the unseen task vector changed nothing');
  result.generator.dispose();
  assert.equal(tf.memory().numTensors, before);
});

test('a generator saved before lstmResidual existed loads in the residual LSTM form it was trained with', async () => {
  await initBackend('wasm');
  const result = await trainGenerator(syntheticZoo(2, 3, 16), smallConfig({ steps: 2, lstmResidual: true }));
  const meta = JSON.parse(result.state.metadata[STATE_METADATA_KEY]!) as { config: Partial<RpgConfig> };
  delete meta.config.lstmResidual; // as written by earlier versions
  const old: GeneratorState = { tensors: result.state.tensors, metadata: { [STATE_METADATA_KEY]: JSON.stringify(meta) } };
  const { generator } = loadGeneratorState(old);
  assert.equal(generator.config.lstmResidual, true);
  assert.equal(generator.variables.length, result.generator.variables.length);
  // A new run defaults to the torch.nn.LSTM-style stack, which has no norms.
  assert.equal(smallConfig({}).lstmResidual, false);
  assert.throws(
    () => smallConfig({ lstmResidual: 'yes' as unknown as boolean }),
    (e: unknown) => e instanceof ConfigError && /lstmResidual/.test(e.message),
  );
  generator.dispose();
  result.generator.dispose();
});

test('a quality check that says stop ends training at its step, saved; checks run every checkEvery steps and at the end', async () => {
  await initBackend('wasm');
  const zoo = syntheticZoo(3, 5, 16);
  const checked: number[] = [];
  const saved: number[] = [];
  const stopped = await trainGenerator(zoo, smallConfig({ steps: 20, saveEvery: 8, checkEvery: 3 }), {
    onCheckpoint: (_state, step) => void saved.push(step),
    onCheck: async (_generator, step) => {
      checked.push(step);
      return step === 9;
    },
  });
  assert.deepEqual(checked, [3, 6, 9]);
  assert.deepEqual(saved, [8, 9], 'the stopping step is saved even off the save interval');
  assert.equal(stopped.steps, 9);
  assert.equal(stopped.stoppedEarly, true);
  assert.equal(stopped.lossCurve.length, 9);
  stopped.generator.dispose();

  const all: number[] = [];
  const whole = await trainGenerator(zoo, smallConfig({ steps: 10, saveEvery: 8, checkEvery: 4 }), {
    onCheck: async (_g, step) => {
      all.push(step);
      return false;
    },
  });
  assert.deepEqual(all, [4, 8, 10], 'the last step is always checked');
  assert.equal(whole.stoppedEarly, false);
  whole.generator.dispose();
});
