// How fast a one-checkpoint zoo is reproduced (prints relative L2 error of generated tokens).
// Usage: [S=16 L=6 DB=64 LR=3e-3 NORM=channel CH=[8,16,8]] node --import tsx bench/rpg-one-checkpoint.ts STEPS
import { initBackend } from '../engine/backend.js';
import { resolveConfig } from '../engine/rpg/presets.js';
import { trainGenerator } from '../engine/rpg/trainer.js';
import { generateModels } from '../engine/rpg/generate.js';
import { Rng } from '../engine/rpg/random.js';
async function main() {
  await initBackend('wasm');
  const S = Number(process.env.S ?? 16),
    L = Number(process.env.L ?? 6);
  const rng = new Rng(5);
  const tokens = new Float32Array(L * S);
  rng.fillNormal(tokens);
  const mask = new Float32Array(L * S).fill(1);
  mask.fill(0, L * S - S / 2);
  const steps = Number(process.argv[2] ?? 300);
  const config = resolveConfig({
    preset: 'tiny',
    overrides: {
      tokenSize: S,
      recurrentWidth: 16,
      recurrentLayers: 1,
      denoiserChannels: JSON.parse(process.env.CH ?? '[8,16,8]'),
      denoiserNorm: (process.env.NORM ?? 'channel') as 'channel',
      diffusionBatch: Number(process.env.DB ?? 64),
      batch: 1,
      steps,
      lr: Number(process.env.LR ?? 3e-3),
      warmupSteps: 20,
      saveEvery: 100000,
    },
  });
  const shape = {
    tokenCount: L,
    tensorIndexOfToken: Int32Array.from({ length: L }, (_, i) => Math.floor(i / 3)),
    indexInTensorOfToken: Int32Array.from({ length: L }, (_, i) => i % 3),
    permutationStates: 2,
    taskBits: 0,
  };
  const t0 = performance.now();
  const result = await trainGenerator({ shape, checkpointCount: 1, tokens: [tokens], mask, permutationStates: [0] }, config, {});
  const avg = (a: Float32Array) => a.reduce((x, y) => x + y, 0) / a.length;
  console.log('train s', ((performance.now() - t0) / 1000).toFixed(1), 'loss first 20', avg(result.lossCurve.slice(0, 20)).toFixed(3), 'last 50', avg(result.lossCurve.slice(-50)).toFixed(4));
  for (const sampler of ['ddim', 'ddpm'] as const) {
    const out = new Float32Array(L * S);
    await generateModels(result.generator, { count: 1, seeds: [1], permutationStates: [0], sampler, steps: 60 }, (c) => {
      out.set(c.tokens, c.firstToken * S);
    });
    let num = 0,
      den = 0;
    for (let i = 0; i < L * S; i++)
      if (mask[i]) {
        num += (out[i]! - tokens[i]!) ** 2;
        den += tokens[i]! ** 2;
      }
    console.log(sampler, 'rel L2', Math.sqrt(num / den).toFixed(4));
  }
}
main();
