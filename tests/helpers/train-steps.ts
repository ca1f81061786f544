// Child process for tests/backend.threads.test.ts: trains a small generator for a few steps on the
// wasm backend with PARAMZOO_THREADS threads and prints what the backend used, the losses and the
// generator's weights after training (as one JSON line), so runs with different thread counts compare.
import { createHash } from 'node:crypto';
import { initBackend } from '../../engine/backend.js';
import { resolveConfig } from '../../engine/rpg/presets.js';
import { trainGenerator } from '../../engine/rpg/trainer.js';
import { syntheticZoo } from './synthetic-zoo.js';

const info = await initBackend('wasm');
const size = 64;
const input = syntheticZoo(4, 6, size);
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
