// Child process for tests/backend.threads.test.ts: trains a small generator for a few steps on the
// wasm backend with PARAMZOO_THREADS threads and prints what the backend used, the losses and the
// generator's weights after training (as one JSON line), so runs with different thread counts compare.
import { createHash } from 'node:crypto';
import { initBackend } from '../../engine/backend.js';
import { resolveConfig } from '../../engine/rpg/presets.js';
import { trainGenerator, type TrainingInput } from '../../engine/rpg/trainer.js';
import { Rng } from '../../engine/rpg/random.js';

const info = await initBackend('wasm');
const rng = new Rng(3);
const tokens = 6;
const size = 64;
const base = new Float32Array(tokens * size);
rng.fillNormal(base);
const count = 4;
const input: TrainingInput = {
  shape: {
    tokenCount: tokens,
    tensorIndexOfToken: Int32Array.from({ length: tokens }, (_, i) => i >> 1),
    indexInTensorOfToken: Int32Array.from({ length: tokens }, (_, i) => i & 1),
    permutationStates: count,
    taskBits: 0,
  },
  checkpointCount: count,
  tokens: Array.from({ length: count }, () => base.map((v) => v + 0.1 * rng.normal())),
  mask: new Float32Array(tokens * size).fill(1),
  permutationStates: Array.from({ length: count }, (_, i) => i),
};
// Wide enough that XNNPACK splits its convolutions and matmuls across threads.
const config = resolveConfig({
  preset: 'tiny',
  overrides: { tokenSize: size, recurrentWidth: 64, recurrentLayers: 1, denoiserChannels: [32, 64, 32], diffusionBatch: 32, batch: 4, steps: 4, warmupSteps: 1 },
});
const result = await trainGenerator(input, config);
const hash = createHash('sha256');
for (const v of result.generator.variables) hash.update(new Uint8Array((v.dataSync() as Float32Array).slice().buffer));
const weights = hash.digest('hex');
// Exit once the line is written: the threaded build's idle workers are unref'd, but a pipe may still be draining.
process.stdout.write(`${JSON.stringify({ backend: info, losses: Array.from(result.lossCurve), weights })}\n`, () => process.exit(0));
