// RPG generation cost on this machine (prints, does not assert).
// 1. Seconds to generate 10 models with DDIM 60 and DDPM 1000 for the 'tiny' zoo (~10K-param MLP,
//    39 tokens of 256) and the ~1M-param zoo ('small' preset: 981 tokens of 1024). Time per model is
//    a + b·steps (prototypes once, then one denoiser pass per step), so each case times one model at
//    two step counts, fits a and b, and extrapolates to 10 models at 60 / 1000 steps (DDPM's step
//    count is set through the schedule length T, which does not change the cost of a step). The
//    generators are untrained: cost does not depend on the weights.
// 2. Peak RSS generating a 1M- and a 10M-parameter model with one generator configuration, tokens
//    streamed chunk by chunk through the Detokenizer into a file, each case in a fresh child process.
// Usage: node --import tsx bench/rpg-generate.ts [timing|rss] [wasm|cpu] [tiny|1m (timing: one zoo only)]
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initBackend, tf, type BackendName } from '../engine/backend.js';
import type { TensorSignature } from '../engine/protocol.js';
import { Detokenizer, buildLayout, tokenPositions, type TokenLayout } from '../engine/rpg/tokenizer.js';
import { resolveConfig } from '../engine/rpg/presets.js';
import { RpgGenerator } from '../engine/rpg/generator.js';
import { generateModels } from '../engine/rpg/generate.js';
import type { RpgConfig, SamplerKind } from '../engine/rpg/config.js';
import { mlp } from './mlp-signature.js';

const ZOOS = {
  tiny: { label: '~10K-param MLP 64→128→10, tiny preset', widths: [64, 128, 10], preset: 'tiny', states: 50 },
  '1m': { label: '~1M-param MLP 784→1024→192→10, small preset (token 1024)', widths: [784, 1024, 192, 10], preset: 'small', states: 10 },
  '10m': { label: '~10M-param MLP 784→4096→1664→10, small preset', widths: [784, 4096, 1664, 10], preset: 'small', states: 10 },
} as const;
type ZooName = keyof typeof ZOOS;

function layoutOf(signature: TensorSignature[], tokenSize: number): TokenLayout {
  const stats = { checkpoints: 1, tensors: Object.fromEntries(signature.map((s) => [s.name, { mean: 0, std: 1 }])) };
  return buildLayout(signature, stats, tokenSize);
}

function generatorFor(zoo: ZooName, overrides: Partial<RpgConfig> = {}): { generator: RpgGenerator; layout: TokenLayout; parameters: number } {
  const { widths, preset, states } = ZOOS[zoo];
  const signature = mlp([...widths]);
  const config = resolveConfig({ preset, overrides });
  const layout = layoutOf(signature, config.tokenSize);
  const generator = new RpgGenerator(config, { tokenCount: layout.tokenCount, ...tokenPositions(layout), permutationStates: states, taskBits: 0 });
  const parameters = signature.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
  return { generator, layout, parameters };
}

async function secondsForOneModel(zoo: ZooName, sampler: SamplerKind, steps: number): Promise<number> {
  // DDPM runs every step of the schedule: a schedule of `steps` steps times `steps` DDPM steps.
  const { generator } = generatorFor(zoo, sampler === 'ddpm' ? { timesteps: steps, samplerSteps: Math.min(60, steps) } : {});
  try {
    const started = performance.now();
    await generateModels(generator, { count: 1, seeds: [1], sampler, steps: sampler === 'ddim' ? steps : undefined }, () => undefined);
    return (performance.now() - started) / 1000;
  } finally {
    generator.dispose();
  }
}

async function timing(only?: string): Promise<void> {
  const probes: Record<'tiny' | '1m', [number, number]> = { tiny: [10, 60], '1m': [1, 3] };
  for (const zoo of (['tiny', '1m'] as const).filter((z) => !only || z === only)) {
    const { generator, layout, parameters } = generatorFor(zoo);
    console.log(
      `\n== ${ZOOS[zoo].label}: ${parameters} parameters, ${layout.tokenCount} tokens of ${generator.config.tokenSize}, denoiser [${generator.config.denoiserChannels.join(', ')}], ${generator.config.recurrent}, ${generator.config.inferenceMode} mode (chunks of ${generator.config.chunkTokens})`,
    );
    generator.dispose();
    await secondsForOneModel(zoo, 'ddim', 1); // warm-up: kernels, XNNPACK operators
    const [k1, k2] = probes[zoo];
    for (const sampler of ['ddim', 'ddpm'] as const) {
      const t1 = await secondsForOneModel(zoo, sampler, k1);
      const t2 = await secondsForOneModel(zoo, sampler, k2);
      const perStep = (t2 - t1) / (k2 - k1);
      const fixed = Math.max(0, t1 - k1 * perStep);
      const target = sampler === 'ddim' ? 60 : 1000;
      const measured = k2 === target ? ` (one model at ${target} steps measured: ${t2.toFixed(2)} s)` : '';
      console.log(
        `${sampler.toUpperCase()} ${target}: 10 models ≈ ${(10 * (fixed + target * perStep)).toFixed(1)} s — from one model at ${k1} steps ${t1.toFixed(2)} s and ${k2} steps ${t2.toFixed(2)} s: ${(perStep * 1000).toFixed(0)} ms/step + ${fixed.toFixed(2)} s per model${measured}`,
      );
    }
  }
}

/** Child: generate one model of `zoo`, streaming each chunk through the Detokenizer into a file. */
async function rssChild(zoo: ZooName, steps: number): Promise<void> {
  const { generator, layout, parameters } = generatorFor(zoo);
  const dir = mkdtempSync(join(tmpdir(), 'rpg-generate-'));
  const fd = openSync(join(dir, 'model.bin'), 'w');
  let written = 0;
  const started = performance.now();
  try {
    const detokenizer = new Detokenizer(layout, new Map());
    await generateModels(generator, { count: 1, seeds: [1], sampler: 'ddim', steps }, (chunk) => {
      for (const tensor of detokenizer.push(chunk.tokens)) written += writeSync(fd, tensor.data);
      if (chunk.last) for (const tensor of detokenizer.finish()) written += writeSync(fd, tensor.data);
    });
  } finally {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
    generator.dispose();
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(JSON.stringify({ zoo, parameters, tokens: layout.tokenCount, written, seconds, maxRssMiB: process.resourceUsage().maxRSS / 1024, wasmHeapMiB: tf.memory().numBytes / 2 ** 20 }));
}

function rss(backend: string): void {
  const self = fileURLToPath(import.meta.url);
  const results: Record<string, { parameters: number; maxRssMiB: number; seconds: number; tokens: number }> = {};
  for (const zoo of ['1m', '10m'] as const) {
    const child = spawnSync(process.execPath, ['--import', 'tsx', self, 'rss-child', backend, zoo, '1'], { encoding: 'utf8', maxBuffer: 1 << 20 });
    const line = child.stdout.split('\n').find((l) => l.startsWith('{'));
    if (child.status !== 0 || !line) throw new Error(`child for ${zoo} failed (${child.status}): ${child.stderr.slice(-2000)}`);
    results[zoo] = JSON.parse(line);
    const r = results[zoo]!;
    console.log(`${ZOOS[zoo].label}: ${r.parameters} parameters (${r.tokens} tokens), 1 DDIM step: peak RSS ${r.maxRssMiB.toFixed(0)} MiB (${r.seconds.toFixed(1)} s)`);
  }
  console.log(`peak RSS ratio 10M / 1M: ${(results['10m']!.maxRssMiB / results['1m']!.maxRssMiB).toFixed(2)} (goal < 1.3)`);
}

async function main(): Promise<void> {
  const mode = process.argv[2] ?? 'all';
  const backend = (process.argv[3] ?? 'wasm') as BackendName;
  if (mode === 'rss-child') {
    await initBackend(backend);
    await rssChild(process.argv[4] as ZooName, Number(process.argv[5] ?? 1));
    return;
  }
  const info = await initBackend(backend);
  console.log(`backend ${info.name}, tfjs ${tf.version.tfjs}`);
  if (mode === 'all' || mode === 'timing') await timing(process.argv[4]);
  if (mode === 'all' || mode === 'rss') {
    console.log('\n== peak RSS, one generator configuration (small preset), fresh child process per case');
    rss(backend);
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
