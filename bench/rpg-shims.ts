// Wasm kernel timings with and without engine/backend/shims.ts (prints, does not assert).
// Usage: node --import tsx bench/rpg-shims.ts
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmShims } from '../engine/backend/shims.js';

function time(label: string, f: () => tf.Tensor | tf.Tensor[]): void {
  try {
    tf.dispose(f());
    const started = performance.now();
    for (let i = 0; i < 3; i++) {
      const out = f();
      (Array.isArray(out) ? out[0]! : out).dataSync();
      tf.dispose(out);
    }
    console.log(`${label}: ${((performance.now() - started) / 3).toFixed(1)} ms`);
  } catch (error) {
    console.log(`${label}: fails (${String((error as Error).message).split('\n')[0]})`);
  }
}

async function main() {
  await tf.setBackend('wasm');
  const big = tf.randomNormal([64, 64, 1024]);
  const x = tf.randomNormal([64, 1, 256, 128]) as tf.Tensor4D;
  const w = tf.randomNormal([1, 7, 128, 128]) as tf.Tensor4D;
  const dy = tf.randomNormal([64, 1, 256, 128]) as tf.Tensor4D;
  const a = tf.randomNormal([16384, 448]);
  const b = tf.randomNormal([448, 128]);
  const cases = (tag: string) => {
    time(`${tag} slice 1/64 of [64,64,1024]`, () => tf.slice(big, [3, 0, 0], [1, 64, 1024]));
    time(`${tag} unstack [64,64,1024] on axis 1`, () => tf.unstack(big, 1));
    time(`${tag} conv2d forward [64,1,256,128]*[1,7,128,128]`, () => tf.conv2d(x, w, 1, 'same'));
    time(`${tag} conv2d gradients (input and filter)`, () => tf.grads((xx: tf.Tensor, ww: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, 1, 'same'), dy)))([x, w]));
    time(`${tag} matMul [16384,448]x[448,128] gradients`, () => tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.matMul(p, q)))([a, b]));
  };
  cases('stock');
  registerWasmShims();
  cases('shims');
}

main();
