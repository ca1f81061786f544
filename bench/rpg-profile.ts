// Where a training step's time goes: prototypes (condition + recurrent) vs denoiser, forward+backward.
// Usage: node --import tsx bench/rpg-profile.ts [tiny|small] [wasm|cpu]
import * as tf from '@tensorflow/tfjs';
import { initBackend, type BackendName } from '../engine/backend.js';
import { resolveConfig } from '../engine/rpg/presets.js';
import { RpgGenerator } from '../engine/rpg/generator.js';

async function main() {
  await initBackend((process.argv[3] ?? 'wasm') as BackendName);
  const config = resolveConfig({ preset: process.argv[2] ?? 'tiny' });
  const L = config.preset === 'small' ? 981 : 39;
  const generator = new RpgGenerator(config, {
    tokenCount: L,
    tensorIndexOfToken: Int32Array.from({ length: L }, (_, i) => i >> 4),
    indexInTensorOfToken: Int32Array.from({ length: L }, (_, i) => i & 15),
    permutationStates: 50,
    taskBits: 0,
  });
  const B = config.batch;
  const n = config.diffusionBatch;
  const S = config.tokenSize;
  const perm = Int32Array.from({ length: B }, (_, i) => i);
  const xt = tf.randomNormal([n, S]) as tf.Tensor2D;
  const time = generator.denoiser.timeInput(Array.from({ length: n }, (_, i) => i * 13));
  const protoIn = tf.randomNormal([n, config.recurrentWidth]) as tf.Tensor2D;
  const time3 = (label: string, f: () => void) => {
    f();
    const t = performance.now();
    for (let i = 0; i < 3; i++) f();
    console.log(label, ((performance.now() - t) / 3).toFixed(0), 'ms');
  };
  const condVars = [...generator.condition.variables, ...generator.recurrent.variables];
  time3('prototypes forward', () => tf.tidy(() => void generator.prototypes(perm, null).dataSync()));
  time3('prototypes forward+backward', () =>
    tf.tidy(() => {
      const { grads } = tf.variableGrads(() => tf.mean(generator.prototypes(perm, null)) as tf.Scalar, condVars);
      Object.values(grads)[0]!.dataSync();
    }),
  );
  time3('denoiser forward', () => tf.tidy(() => void generator.denoiser.forward(xt, time, protoIn).dataSync()));
  time3('denoiser forward+backward', () =>
    tf.tidy(() => {
      const { grads } = tf.variableGrads(() => tf.mean(generator.denoiser.forward(xt, time, protoIn)) as tf.Scalar, generator.denoiser.variables);
      Object.values(grads)[0]!.dataSync();
    }),
  );
  if (process.env.PROFILE) {
    // Kernel time by name (ms, count) for one forward+backward of each part.
    const report = async (label: string, f: () => void) => {
      const profile = await tf.profile(f);
      const byKernel = new Map<string, [number, number]>();
      for (const k of profile.kernels) {
        const [ms, count] = byKernel.get(k.name) ?? [0, 0];
        byKernel.set(k.name, [ms + (k.kernelTimeMs as number), count + 1]);
      }
      console.log(
        `${label}: ${[...byKernel]
          .sort((a, b) => b[1][0] - a[1][0])
          .slice(0, 16)
          .map(([k, [ms, count]]) => `${k} ${ms.toFixed(0)}/${count}`)
          .join(', ')}`,
      );
    };
    await report('denoiser kernels (ms/calls)', () =>
      tf.tidy(() => {
        const { grads } = tf.variableGrads(() => tf.mean(generator.denoiser.forward(xt, time, protoIn)) as tf.Scalar, generator.denoiser.variables);
        Object.values(grads)[0]!.dataSync();
      }),
    );
    await report('prototype kernels (ms/calls)', () =>
      tf.tidy(() => {
        const { grads } = tf.variableGrads(() => tf.mean(generator.prototypes(perm, null)) as tf.Scalar, condVars);
        Object.values(grads)[0]!.dataSync();
      }),
    );
  }
}
main();
