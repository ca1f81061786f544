// Building a generator (or any of its recurrent models) and disposing it leaves tf.memory() as it
// was: the tensors that initialise variables are freed where the variables are made.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../engine/backend.js';
import { resolveConfig } from '../engine/rpg/presets.js';
import { RpgGenerator } from '../engine/rpg/generator.js';
import { createRecurrent, RECURRENT_KINDS } from '../engine/rpg/recurrent/index.js';

const SHAPE = {
  tokenCount: 5,
  tensorIndexOfToken: Int32Array.from([0, 0, 1, 2, 2]),
  indexInTensorOfToken: Int32Array.from([0, 1, 0, 0, 1]),
  permutationStates: 3,
  taskBits: 2,
};

for (const kind of RECURRENT_KINDS) {
  test(`${kind}: a recurrent model holds only its variables, and disposing them frees everything`, async () => {
    await initBackend('wasm');
    const before = tf.memory().numTensors;
    const model = createRecurrent(kind, { width: 16, layers: 2, dState: 8, heads: 2 }, 1);
    assert.equal(tf.memory().numTensors, before + model.variables.length);
    tf.dispose(model.variables);
    assert.equal(tf.memory().numTensors, before);
  });

  test(`${kind}: building and disposing an RpgGenerator leaves tf.memory() as it was`, async () => {
    await initBackend('wasm');
    const config = resolveConfig({ preset: 'tiny', overrides: { recurrent: kind, tokenSize: 16, recurrentWidth: 16, recurrentLayers: 1, dState: 8, denoiserChannels: [8, 16, 8] } });
    const before = tf.memory().numTensors;
    const generator = new RpgGenerator(config, SHAPE);
    assert.equal(tf.memory().numTensors, before + generator.variables.length + generator.namedBuffers().length + 1, 'alive: the variables, the BatchNorm running statistics and the position table');
    generator.dispose();
    assert.equal(tf.memory().numTensors, before);
  });
}
