// Generation: seeded samplers are deterministic, chunking (the inference mode) does not change the
// result, prototypes are computed once per model, chunks arrive in order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../engine/backend.js';
import { resolveConfig } from '../engine/rpg/presets.js';
import { RpgGenerator } from '../engine/rpg/generator.js';
import { generateModels, GenerateError, type GenerateOptions, type TokenChunk } from '../engine/rpg/generate.js';
import { ddimTimesteps } from '../engine/rpg/samplers.js';

const TOKEN_SIZE = 16;
const TOKENS = 7;

function smallGenerator(): RpgGenerator {
  const config = resolveConfig({
    preset: 'tiny',
    overrides: { tokenSize: TOKEN_SIZE, recurrentWidth: 16, recurrentLayers: 1, denoiserChannels: [8, 16, 8], seed: 3, chunkTokens: 3, timesteps: 200 },
  });
  return new RpgGenerator(config, {
    tokenCount: TOKENS,
    tensorIndexOfToken: Int32Array.from([0, 0, 0, 1, 2, 2, 2]),
    indexInTensorOfToken: Int32Array.from([0, 1, 2, 0, 0, 1, 2]),
    permutationStates: 4,
    taskBits: 0,
  });
}

async function run(generator: RpgGenerator, options: GenerateOptions): Promise<{ tokens: Float32Array[]; chunks: TokenChunk[] }> {
  const tokens = Array.from({ length: options.count }, () => new Float32Array(TOKENS * TOKEN_SIZE));
  const chunks: TokenChunk[] = [];
  await generateModels(generator, options, (chunk) => {
    chunks.push(chunk);
    tokens[chunk.model]!.set(chunk.tokens, chunk.firstToken * TOKEN_SIZE);
  });
  return { tokens, chunks };
}

test('DDIM steps run from T−1 down to 0', () => {
  const steps = ddimTimesteps(1000, 60); // the reference setting
  assert.equal(steps.length, 60);
  assert.equal(steps[0], 999);
  assert.equal(steps.at(-1), 0);
  assert.ok(steps.every((t, i) => i === 0 || t < steps[i - 1]!));
});

test('DDIM and DDPM are each deterministic per seed, different seeds differ, and the two samplers give different tokens', async () => {
  await initBackend('wasm');
  const generator = smallGenerator();
  const tokens: Record<string, Float32Array[]> = {};
  for (const sampler of ['ddim', 'ddpm'] as const) {
    const options: GenerateOptions = { count: 2, seeds: [11, 12], sampler, steps: sampler === 'ddim' ? 20 : 200 };
    const first = await run(generator, options);
    const second = await run(generator, options);
    assert.deepEqual(first.tokens, second.tokens, `${sampler}: same seeds, same tokens`);
    assert.notDeepEqual(first.tokens[0], first.tokens[1], `${sampler}: different seeds differ`);
    for (const model of first.tokens) assert.ok(model.every(Number.isFinite), `${sampler}: finite tokens`);
    tokens[sampler] = first.tokens;
  }
  // Not the same sampler under two names: the same seed gives different tokens under DDIM and DDPM.
  for (let m = 0; m < 2; m++) {
    const diff = Math.max(...tokens.ddim![m]!.map((v, i) => Math.abs(v - tokens.ddpm![m]![i]!)));
    assert.ok(diff > 1e-3, `model ${m}: DDIM and DDPM differ by at most ${diff}`);
  }
  generator.dispose();
});

test('sequential, partial and full modes give the same model; chunks arrive in order; prototypes once per model', async () => {
  await initBackend('wasm');
  const generator = smallGenerator();
  let prototypeCalls = 0;
  const original = generator.prototypes.bind(generator);
  generator.prototypes = (states, tasks) => {
    prototypeCalls++;
    return original(states, tasks);
  };
  const results: Record<string, Awaited<ReturnType<typeof run>>> = {};
  for (const mode of ['sequential', 'partial', 'full'] as const) {
    prototypeCalls = 0;
    results[mode] = await run(generator, { count: 2, seeds: [5, 6], permutationStates: [1, 3], steps: 10, mode });
    assert.equal(prototypeCalls, 2, `${mode}: prototypes computed once per model`);
  }
  assert.deepEqual(
    results.sequential!.chunks.map((c) => c.tokenCount),
    [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
  );
  assert.deepEqual(
    results.partial!.chunks.map((c) => [c.model, c.firstToken, c.tokenCount]),
    [
      [0, 0, 3],
      [0, 3, 3],
      [0, 6, 1],
      [1, 0, 3],
      [1, 3, 3],
      [1, 6, 1],
    ],
  );
  assert.deepEqual(
    results.full!.chunks.map((c) => c.last),
    [true, true],
  );
  assert.deepEqual(
    results.full!.chunks.map((c) => c.permutationState),
    [1, 3],
  );
  for (const mode of ['sequential', 'partial'] as const) {
    for (let m = 0; m < 2; m++) {
      const a = results[mode]!.tokens[m]!;
      const b = results.full!.tokens[m]!;
      const diff = Math.max(...a.map((v, i) => Math.abs(v - b[i]!)));
      assert.ok(diff < 1e-4, `${mode} differs from full by ${diff}`);
    }
  }
  generator.dispose();
});

test('bad generation settings are refused with the setting named, and nothing leaks', async () => {
  await initBackend('wasm');
  const generator = smallGenerator();
  const before = tf.memory().numTensors;
  await assert.rejects(run(generator, { count: 1, steps: 5000 }), (e: unknown) => e instanceof GenerateError && /steps/.test(e.message));
  await assert.rejects(run(generator, { count: 1, permutationStates: [9], steps: 2 }), (e: unknown) => e instanceof GenerateError && /permutationStates/.test(e.message));
  await run(generator, { count: 1, steps: 3 });
  assert.equal(tf.memory().numTensors, before);
  generator.dispose();
});
