// RPG training speed on this machine (prints, does not assert): ms per step and denoised tokens/s
// for the 'tiny' preset on a zoo of 50 checkpoints of a ~10K-parameter MLP, and for the preset of
// a ~1M-parameter zoo (token 1024). Usage: node --import tsx bench/rpg-train.ts [wasm|cpu] [steps] [tiny|slim|1m]
import * as tf from '@tensorflow/tfjs';
import { initBackend, type BackendName } from '../engine/backend.js';
import type { TensorSignature } from '../engine/protocol.js';
import { ZooStatsAccumulator, buildLayout, tokenize, tokenPositions, tokenMask } from '../engine/rpg/tokenizer.js';
import { presetFor, resolveConfig } from '../engine/rpg/presets.js';
import { trainGenerator } from '../engine/rpg/trainer.js';
import { generateModels } from '../engine/rpg/generate.js';
import { Rng } from '../engine/rpg/random.js';
import { mlp } from './mlp-signature.js';

/** `count` checkpoints: one random base + small per-checkpoint noise, tokenized lazily. */
function syntheticZoo(signature: TensorSignature[], count: number, preset: string | undefined, overrides: Record<string, number>) {
  const checkpoint = (i: number) => {
    const rng = new Rng(1000 + i);
    const base = new Rng(7);
    return new Map(
      signature.map((s) => {
        const values = new Float32Array(s.shape.reduce((a, b) => a * b, 1));
        for (let k = 0; k < values.length; k++) values[k] = 0.05 * base.normal() + 0.005 * rng.normal();
        return [s.name, values] as const;
      }),
    );
  };
  const stats = new ZooStatsAccumulator(signature);
  for (let i = 0; i < Math.min(count, 5); i++) stats.add(checkpoint(i));
  const parameters = signature.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
  const config = resolveConfig({ preset, parameterCount: parameters, overrides });
  const layout = buildLayout(signature, stats.result(), config.tokenSize);
  const positions = tokenPositions(layout);
  const cache = new Map<number, Float32Array>();
  return {
    parameters,
    config,
    layout,
    input: {
      shape: { tokenCount: layout.tokenCount, ...positions, permutationStates: count, taskBits: 0 },
      checkpointCount: count,
      tokens: (i: number) => {
        let t = cache.get(i);
        if (!t) {
          t = tokenize(layout, checkpoint(i)).tokens;
          cache.set(i, t);
        }
        return t;
      },
      mask: tokenMask(layout),
      permutationStates: Array.from({ length: count }, (_, i) => i),
    },
  };
}

async function measure(label: string, signature: TensorSignature[], count: number, steps: number, preset?: string) {
  const zoo = syntheticZoo(signature, count, preset, { steps, saveEvery: 1_000_000 });
  // Warm the token cache so the timing is the training step, not the synthetic data.
  for (let i = 0; i < count; i++) zoo.input.tokens(i);
  console.log(
    `\n== ${label}: ${zoo.parameters} parameters, preset ${zoo.config.preset} (auto: ${presetFor(zoo.parameters)}), ${zoo.layout.tokenCount} tokens of ${zoo.config.tokenSize}, ${count} checkpoints`,
  );
  console.log(JSON.stringify(zoo.config));
  // Steady-state time per step from progress events (the first step includes kernel warm-up).
  const marks: Array<[number, number]> = [];
  const result = await trainGenerator(zoo.input, zoo.config, { onProgress: (p) => void marks.push([p.step, performance.now()]) });
  const [firstStep, firstTime] = marks[0]!;
  const [lastStep, lastTime] = marks[marks.length - 1]!;
  const steady = lastStep > firstStep ? (lastTime - firstTime) / (lastStep - firstStep) / 1000 : result.secondsPerStep;
  const counts = result.generator.parameterCounts();
  console.log(`generator parameters: condition ${counts.condition}, recurrent ${counts.recurrent}, denoiser ${counts.denoiser}`);
  console.log(
    `${(steady * 1000).toFixed(0)} ms/step after the first (mean incl. first ${(result.secondsPerStep * 1000).toFixed(0)} ms over ${steps} steps), ${(zoo.config.diffusionBatch / steady).toFixed(0)} denoised tokens/s, final loss ${result.finalLoss.toFixed(4)}`,
  );
  const started = performance.now();
  await generateModels(result.generator, { count: 1, seeds: [1], steps: 60 }, () => undefined);
  console.log(`generate one model, DDIM 60 steps, partial mode: ${((performance.now() - started) / 1000).toFixed(2)} s`);
  result.generator.dispose();
}

async function main() {
  const backend = (process.argv[2] ?? 'wasm') as BackendName;
  const steps = Number(process.argv[3] ?? 10);
  const info = await initBackend(backend);
  console.log(`backend ${info.name}, tfjs ${tf.version.tfjs}`);
  const only = process.argv[4]; // 'tiny' | 'slim' | '1m' to run one case
  if (!only || only === 'tiny') await measure('tiny zoo (MLP 64→128→10)', mlp([64, 128, 10]), 50, steps);
  if (!only || only === 'slim') await measure('tiny zoo, tiny-slim preset', mlp([64, 128, 10]), 50, steps, 'tiny-slim');
  if (!only || only === '1m') await measure('~1M-parameter zoo (MLP 784→1024→192→10)', mlp([784, 1024, 192, 10]), 10, Math.max(2, Math.floor(steps / 3)));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
