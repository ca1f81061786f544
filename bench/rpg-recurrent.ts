// ms per forward + backward of each recurrent model at width 256, 2 layers, for a 21-token
// sequence (the 4,810-parameter MLP zoo of RPG.md) and a 1024-token one.
// Usage: node --import tsx bench/rpg-recurrent.ts [wasm|cpu] [batch]
import { initBackend, tf, type BackendName } from '../engine/backend.js';
import { RECURRENT_KINDS, createRecurrent } from '../engine/rpg/recurrent/index.js';

const backend = (process.argv[2] ?? 'wasm') as BackendName;
const batch = Number(process.argv[3] ?? 8);
const kinds = (process.argv[4]?.split(',') ?? RECURRENT_KINDS) as typeof RECURRENT_KINDS;
const lengths = process.argv[5]?.split(',').map(Number) ?? [21, 1024];
const width = 256;
await initBackend(backend);

function step(model: ReturnType<typeof createRecurrent>, x: tf.Tensor3D): void {
  const { value, grads } = tf.variableGrads(() => tf.mean(tf.square(model.forward(x))) as tf.Scalar, model.variables);
  value.dataSync();
  tf.dispose([value, ...Object.values(grads)]);
}

for (const kind of kinds) {
  const model = createRecurrent(kind, { width, layers: 2 }, 0);
  const params = model.variables.reduce((n, v) => n + v.size, 0);
  for (const length of lengths) {
    const x = tf.randomNormal([batch, length, width]) as tf.Tensor3D;
    step(model, x); // warm-up: kernel set-up and allocations
    const repeats = length > 100 ? 2 : 5;
    const start = performance.now();
    for (let i = 0; i < repeats; i++) step(model, x);
    const ms = (performance.now() - start) / repeats;
    console.log(JSON.stringify({ backend: tf.getBackend(), kind, params, batch, tokens: length, width, msPerForwardBackward: Math.round(ms) }));
    x.dispose();
  }
  for (const v of model.variables) v.dispose();
}
