// Gradient of one full RPG training loss (condition → LSTM → prototypes → denoiser) on the wasm
// backend against the cpu reference, per variable. Run: node --import tsx bench/rpg-gradcheck.ts
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../engine/backend.js';
import { resolveConfig } from '../engine/rpg/presets.js';
import { RpgGenerator } from '../engine/rpg/generator.js';
import { Rng } from '../engine/rpg/random.js';
import { maskedMse } from '../engine/rpg/schedule.js';

const tokenCount = 6;
const config = resolveConfig({ preset: 'tiny', overrides: { tokenSize: 64, recurrentWidth: 32, denoiserChannels: [8, 16, 32, 16, 8], timeFeatures: 32 } });
const shape = {
  tokenCount,
  permutationStates: 3,
  taskBits: 0,
  tensorIndexOfToken: Int32Array.from({ length: tokenCount }, (_, i) => Math.floor(i / 2)),
  indexInTensorOfToken: Int32Array.from({ length: tokenCount }, (_, i) => i % 2),
};
const n = 10;
const rng = new Rng(3);
const xt = new Float32Array(n * 64);
rng.fillNormal(xt);
const noise = new Float32Array(n * 64);
rng.fillNormal(noise);
const t = Int32Array.from({ length: n }, () => rng.int(1000));
const chosen = Int32Array.from({ length: n }, (_, i) => (i * 5) % (2 * tokenCount));

async function grads(backend: 'cpu' | 'wasm'): Promise<Map<string, Float32Array>> {
  await initBackend(backend);
  const generator = new RpgGenerator(config, shape);
  const { grads } = tf.variableGrads(
    () =>
      tf.tidy(() => {
        const prototypes = tf.reshape(generator.prototypes(Int32Array.of(0, 2), null), [2 * tokenCount, config.recurrentWidth]);
        const selected = tf.gather(prototypes, tf.tensor1d(chosen, 'int32')) as tf.Tensor2D;
        const eps = generator.denoiser.forward(tf.tensor2d(xt, [n, 64]), generator.denoiser.timeInput(t), selected, 'train');
        return maskedMse(eps, tf.tensor2d(noise, [n, 64]), tf.onesLike(eps));
      }),
    generator.variables,
  );
  const out = new Map(generator.namedVariables().map(([name, v]) => [name, grads[v.name]!.dataSync() as Float32Array]));
  tf.dispose(Object.values(grads));
  generator.dispose();
  return out;
}

const reference = await grads('cpu');
const wasm = await grads('wasm');
let worst = 0;
for (const [name, g] of reference) {
  const w = wasm.get(name)!;
  let diff = 0,
    norm = 0;
  for (let i = 0; i < g.length; i++) {
    diff += (g[i]! - w[i]!) ** 2;
    norm += g[i]! ** 2;
  }
  const rel = Math.sqrt(diff / Math.max(norm, 1e-30));
  if (Math.sqrt(norm) > 1e-6) worst = Math.max(worst, rel);
  // Conv biases feeding a BatchNorm have a zero gradient (the norm removes them): compare only real ones.
  if (rel > 1e-3 && Math.sqrt(norm) > 1e-6) console.log(`${name}: relative error ${rel.toExponential(2)} (|g| ${Math.sqrt(norm).toExponential(2)})`);
}
console.log(JSON.stringify({ variables: reference.size, worstRelativeError: worst }));
