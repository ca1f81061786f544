// The WebGPU backend (Dawn's Node binding) against the cpu and wasm backends: gradients, the first
// training losses, trained weights and generated tokens for a fixed seed, within stated tolerances;
// its kernel-limit shim; GPU memory given back after each job; and a software adapter is never
// chosen unasked. On CI the adapter is Mesa's lavapipe (.ci/run installs it): a correctness check,
// not a speed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backendInfo, initBackend, releaseJobMemory, tf } from '../engine/backend.js';
import { gpuBytesAllocated } from '../engine/backend/webgpu.js';
import { Denoiser, type DenoiserConfig } from '../engine/rpg/denoiser.js';
import { Rng } from '../engine/rpg/random.js';
import { resolveConfig } from '../engine/rpg/presets.js';
import { trainGenerator } from '../engine/rpg/trainer.js';
import { syntheticZoo } from './helpers/synthetic-zoo.js';
import { generateModels } from '../engine/rpg/generate.js';
import { loadGeneratorState, type GeneratorState, type RpgGenerator } from '../engine/rpg/generator.js';
import { CancelledError } from '../engine/errors.js';
import { ConfigError } from '../engine/rpg/config.js';
import { rowsWithinBinding } from '../engine/rpg/gpu-limits.js';
import { webgpuAdapter, webgpuSkip } from './helpers/backends.js';

const skip = webgpuSkip;

// Tolerances, stated: float32 on different kernels (GPU reductions sum in another order).
/** gradients, relative to the largest gradient of the model (per tensor would divide by zero: a conv bias before BatchNorm has none) */
const GRADIENT_TOLERANCE = 1e-5;
/** training losses of the first steps, absolute (losses ≈ 1) */
const LOSS_TOLERANCE = 1e-4;
/** trained weights after those steps, absolute (Adam steps of lr 3e-3) */
const WEIGHT_TOLERANCE = 1e-4;
/** generated tokens (DDIM 20 steps, x̂0 clipped), absolute, on values of scale ≈ 1 */
const TOKEN_TOLERANCE = 1e-3;

const config = resolveConfig({
  preset: 'tiny',
  overrides: { tokenSize: 32, recurrentWidth: 32, recurrentLayers: 1, denoiserChannels: [16, 32, 16], timeFeatures: 32, diffusionBatch: 16, batch: 4, steps: 6, warmupSteps: 1, lr: 3e-3 },
});

function maxAbsDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let most = 0;
  for (let i = 0; i < a.length; i++) most = Math.max(most, Math.abs(a[i]! - b[i]!));
  return most;
}

async function denoiserGradients(): Promise<Float32Array[]> {
  const denoiserConfig: DenoiserConfig = { tokenSize: 32, prototypeWidth: 24, channels: [16, 32, 16], kernelSize: 7, timeFeatures: 32, timeHidden: 0, conditionRank: 0, norm: 'batch' };
  const denoiser = new Denoiser(denoiserConfig, new Rng(5));
  const rng = new Rng(6);
  const n = 12;
  const [xt, noise, proto] = [n * 32, n * 32, n * 24].map((size) => {
    const values = new Float32Array(size);
    rng.fillNormal(values);
    return values;
  });
  const grads = tf.tidy(() => {
    const { grads } = tf.variableGrads(() => {
      const out = denoiser.forward(tf.tensor2d(xt!, [n, 32]), denoiser.timeInput(Array.from({ length: n }, (_, i) => i * 83)), tf.tensor2d(proto!, [n, 24]), 'train');
      return tf.mean(tf.square(tf.sub(out, tf.tensor2d(noise!, [n, 32])))) as tf.Scalar;
    }, denoiser.variables);
    return denoiser.variables.map((v) => grads[v.name]!);
  });
  const values = await Promise.all(grads.map(async (g) => (await g.data()) as Float32Array));
  tf.dispose(grads);
  denoiser.dispose();
  return values;
}

test('a software adapter (lavapipe, SwiftShader) is never chosen unasked; a hardware one is', { skip }, async () => {
  assert.ok(webgpuAdapter, 'an adapter was found');
  // The process's first choice (this test runs first): what `paramzoo train` with no --backend picks.
  const info = await initBackend();
  if (webgpuAdapter.software) {
    assert.notEqual(info.name, 'webgpu');
    assert.ok(
      info.notes.some((note) => /software renderer/.test(note)),
      info.notes.join('; '),
    );
  } else {
    assert.equal(info.name, 'webgpu');
  }
  assert.deepEqual(backendInfo()?.adapter, webgpuAdapter, 'the adapter is part of the backend info');
});

test(`webgpu: denoiser gradients equal the cpu backend's within ${GRADIENT_TOLERANCE} of the largest gradient`, { skip }, async () => {
  await initBackend('cpu');
  const reference = await denoiserGradients();
  await initBackend('webgpu');
  const onGpu = await denoiserGradients();
  assert.equal(onGpu.length, reference.length);
  const scale = Math.max(...reference.map((g) => Math.max(...Array.from(g, Math.abs))));
  assert.ok(scale > 1e-3, `gradients of a real size (largest ${scale})`);
  for (const [i, expected] of reference.entries()) {
    const difference = maxAbsDifference(onGpu[i]!, expected) / scale;
    assert.ok(difference <= GRADIENT_TOLERANCE, `gradient ${i}: relative difference ${difference}`);
  }
});

/**
 * The generator's weights but the biases of convs that BatchNorm follows: the norm subtracts them
 * again, so their gradient is zero up to rounding, and Adam (dividing by √v) turns that rounding
 * into steps of ±lr that differ between any two backends without changing an output.
 */
async function liveWeights(generator: RpgGenerator): Promise<Map<string, Float32Array>> {
  const named = generator.namedVariables();
  const lastConv = Math.max(...named.map(([name]) => Number(/^denoiser\.conv(\d+)\./.exec(name)?.[1] ?? -1)));
  const live = named.filter(([name]) => !/^denoiser\.conv\d+\.bias$/.test(name) || name === `denoiser.conv${lastConv}.bias`);
  assert.ok(live.length < named.length && live.length > named.length / 2);
  return new Map(await Promise.all(live.map(async ([name, v]) => [name, (await v.data()) as Float32Array] as const)));
}

async function generateOne(generator: RpgGenerator): Promise<Float32Array> {
  const tokens = new Float32Array(6 * 32);
  await generateModels(generator, { count: 1, seeds: [7], permutationStates: [1], sampler: 'ddim', steps: 20 }, (chunk) => tokens.set(chunk.tokens, chunk.firstToken * 32));
  return tokens;
}

async function trainAndGenerate(): Promise<{ losses: number[]; weights: Map<string, Float32Array>; tokens: Float32Array; state: GeneratorState }> {
  const result = await trainGenerator(syntheticZoo(4, 6, 32), config);
  const weights = await liveWeights(result.generator);
  const tokens = await generateOne(result.generator);
  result.generator.dispose();
  return { losses: Array.from(result.lossCurve), weights, tokens, state: result.state };
}

test('webgpu: the first training losses, the trained weights and the generated tokens for a fixed seed match wasm', { skip }, async () => {
  await initBackend('wasm');
  const wasm = await trainAndGenerate();
  const info = await initBackend('webgpu');
  assert.equal(info.name, 'webgpu');
  assert.ok(info.adapter, 'the adapter is reported');
  const gpu = await trainAndGenerate();
  const lossDifference = maxAbsDifference(gpu.losses, wasm.losses);
  assert.ok(lossDifference <= LOSS_TOLERANCE, `losses ${gpu.losses.join(', ')} vs ${wasm.losses.join(', ')}`);
  for (const [name, weights] of gpu.weights) {
    const difference = maxAbsDifference(weights, wasm.weights.get(name)!);
    assert.ok(difference <= WEIGHT_TOLERANCE, `trained ${name} differs by up to ${difference}`);
  }
  // (Tokens of the two separately trained generators are not compared: the BatchNorm-cancelled biases
  // above reach sampling through the running means' lag, ≈ 0.06 apart after 6 steps.)

  // The same trained generator (wasm's, loaded on webgpu) generates the same tokens for the same seed.
  const { generator } = loadGeneratorState(wasm.state);
  const tokens = await generateOne(generator);
  generator.dispose();
  const tokenDifference = maxAbsDifference(tokens, wasm.tokens);
  assert.ok(tokenDifference <= TOKEN_TOLERANCE, `generated tokens differ by up to ${tokenDifference}`);
  assert.ok(tokens.some((v) => v !== 0));
});

test('webgpu: a sum of more tensors than a shader stage may bind (AddN of 40) is computed in groups, exactly', { skip }, async () => {
  await initBackend('webgpu');
  const parts = Array.from({ length: 40 }, (_, i) => tf.fill([3, 5], i + 1));
  const sum = tf.addN(parts);
  const values = await sum.data();
  assert.ok(
    Array.from(values).every((v) => v === (40 * 41) / 2),
    Array.from(values).join(','),
  );
  tf.dispose([...parts, sum]);
});

test('webgpu: GPU memory after three jobs (one cancelled) is what it was after one', { skip }, async () => {
  await initBackend('webgpu');
  const idle = gpuBytesAllocated();
  const gpuBytesUsed = () => (tf.memory() as { numBytesInGPU?: number }).numBytesInGPU ?? 0;
  const pooledBeforeRelease: number[] = [];
  const job = async (cancelAt?: number) => {
    const controller = new AbortController();
    try {
      const result = await trainGenerator(syntheticZoo(4, 6, 32), config, {
        signal: controller.signal,
        onProgress: (p) => {
          if (cancelAt !== undefined && p.step >= cancelAt) controller.abort(new CancelledError('training'));
        },
      });
      const tokens = new Float32Array(6 * 32);
      await generateModels(result.generator, { count: 2, steps: 10 }, (chunk) => tokens.set(chunk.tokens, chunk.firstToken * 32));
      result.generator.dispose();
    } catch (error) {
      if (!(error instanceof CancelledError)) throw error;
    } finally {
      pooledBeforeRelease.push(gpuBytesAllocated()! - gpuBytesUsed());
      releaseJobMemory();
      assert.equal(gpuBytesAllocated(), gpuBytesUsed(), 'after a job the GPU holds only live tensors: the pool is emptied');
    }
  };
  const tensorsBefore = tf.memory().numTensors;
  await job();
  const afterOne = gpuBytesAllocated();
  await job(2);
  await job();
  const afterThree = gpuBytesAllocated();
  assert.equal(tf.memory().numTensors, tensorsBefore, 'no tensor outlives its job');
  assert.ok(afterOne !== null && afterThree !== null);
  assert.equal(afterThree, afterOne, `GPU bytes: idle ${idle}, after one job ${afterOne}, after three ${afterThree}`);
  assert.ok(
    pooledBeforeRelease.every((bytes) => bytes > 0),
    `each job left buffers pooled for the release to free: ${pooledBeforeRelease.join(', ')} bytes`,
  );
});

test("webgpu: a diffusion batch whose widest activation exceeds the adapter's binding limit is refused by name; generation's chunks are capped to the rows that fit", { skip }, async () => {
  const info = await initBackend('webgpu');
  const limit = info.adapter!.maxBindingBytes;
  // tokenSize 4096 × 64 channels × 4 bytes = 1 MiB per token row
  const wide = resolveConfig({ preset: 'tiny', overrides: { tokenSize: 4096, denoiserChannels: [16, 64, 16], diffusionBatch: Math.floor(limit / 2 ** 20) + 1 } });
  const rows = rowsWithinBinding(wide); // also the most tokens generation puts in one chunk
  assert.equal(rows, Math.floor(limit / 2 ** 20));
  const tensors = tf.memory().numTensors;
  await assert.rejects(trainGenerator(syntheticZoo(2, 2, 4096), wide), (error: unknown) => {
    assert.ok(error instanceof ConfigError, String(error));
    assert.match(error.message, new RegExp(`'diffusionBatch' is ${rows + 1}: .* at most ${rows} token rows|set it to ${rows} or less`));
    return true;
  });
  assert.equal(tf.memory().numTensors, tensors, 'nothing was built');
  await initBackend('wasm');
  assert.equal(rowsWithinBinding(wide), Number.POSITIVE_INFINITY, 'wasm has no binding limit');
});
