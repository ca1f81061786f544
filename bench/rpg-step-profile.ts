// Where one whole training step's time goes (tiny preset, a 24-token zoo of 30 checkpoints):
// profiled wall and kernel time per step, the kernels by name, then by name and input shapes,
// and the unprofiled wall time per step. Threads from PARAMZOO_THREADS (default: every core).
// Usage: node --import tsx bench/rpg-step-profile.ts
import { initBackend, tf } from '../engine/backend.js';
import { resolveConfig } from '../engine/rpg/presets.js';
import { trainGenerator, type TrainingInput } from '../engine/rpg/trainer.js';
import { Rng } from '../engine/rpg/random.js';
await initBackend('wasm');
const L = 24,
  S = 256,
  count = 30;
const rng = new Rng(1);
const base = new Float32Array(L * S);
rng.fillNormal(base);
const input: TrainingInput = {
  shape: {
    tokenCount: L,
    tensorIndexOfToken: Int32Array.from({ length: L }, (_, i) => i >> 3),
    indexInTensorOfToken: Int32Array.from({ length: L }, (_, i) => i & 7),
    permutationStates: 3,
    taskBits: 0,
  },
  checkpointCount: count,
  tokens: Array.from({ length: count }, () => base.map((v) => v + 0.1 * rng.normal())),
  mask: new Float32Array(L * S).fill(1),
  permutationStates: Array.from({ length: count }, (_, i) => i % 3),
};
const steps = 6;
const config = resolveConfig({ preset: 'tiny', overrides: { steps, saveEvery: 1000 } });
await trainGenerator(input, { ...config, steps: 2 });
const t0 = performance.now();
const profile = await tf.profile(async () => {
  (await trainGenerator(input, config)).generator.dispose();
});
const wall = performance.now() - t0;
const byKernel = new Map<string, [number, number]>();
let total = 0;
for (const k of profile.kernels) {
  const [ms, c] = byKernel.get(k.name) ?? [0, 0];
  byKernel.set(k.name, [ms + (k.kernelTimeMs as number), c + 1]);
  total += k.kernelTimeMs as number;
}
console.log(`wall/step ${(wall / steps).toFixed(0)} ms (profiled), kernels/step ${(total / steps).toFixed(0)} ms, kernel calls/step ${(profile.kernels.length / steps).toFixed(0)}`);
console.log(
  [...byKernel]
    .sort((a, b) => b[1][0] - a[1][0])
    .slice(0, 25)
    .map(([k, [ms, c]]) => `${k} ${(ms / steps).toFixed(1)}/${(c / steps).toFixed(0)}`)
    .join(', '),
);
const bySig = new Map<string, [number, number]>();
for (const k of profile.kernels) {
  if (!['Sum', 'Multiply', 'Identity', 'Mean', 'Add', 'Sub', 'RealDiv', 'BatchMatMul', 'Cast', 'Square'].includes(k.name)) continue;
  const key = `${k.name} ${JSON.stringify(k.inputShapes)}->${JSON.stringify(k.outputShapes)}`;
  const [ms, c] = bySig.get(key) ?? [0, 0];
  bySig.set(key, [ms + (k.kernelTimeMs as number), c + 1]);
}
console.log(
  [...bySig]
    .sort((a, b) => b[1][0] - a[1][0])
    .slice(0, 30)
    .map(([k, [ms, c]]) => `${(ms / steps).toFixed(1)}ms ×${(c / steps).toFixed(0)} ${k}`)
    .join('\n'),
);
const t1 = performance.now();
(await trainGenerator(input, config)).generator.dispose();
console.log(`unprofiled wall/step ${((performance.now() - t1) / steps).toFixed(0)} ms`);
process.exit(0);
