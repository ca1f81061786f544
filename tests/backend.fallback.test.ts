// Backend choice: asking for TensorFlow (tfjs-node) where it is not installed is a typed user error
// naming what failed; with no preference the engine falls back to wasm and says why.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { backendInfo, initBackend } from '../engine/backend.js';
import { EngineError } from '../engine/errors.js';
import { webgpuAdapter } from './helpers/backends.js';

const require = createRequire(import.meta.url);
const installed = (pkg: string): boolean => {
  try {
    require.resolve(pkg);
    return true;
  } catch {
    return false;
  }
};
const tfjsNode = installed('@tensorflow/tfjs-node-gpu') || installed('@tensorflow/tfjs-node');
const skip = tfjsNode && 'tfjs-node is installed here: the tensorflow backend may load';

test("asking for 'tensorflow' without tfjs-node is EngineError backend_unavailable, naming both packages", { skip }, async () => {
  await assert.rejects(initBackend('tensorflow'), (error: unknown) => {
    assert.ok(error instanceof EngineError, `not an EngineError: ${String(error)}`);
    assert.equal(error.code, 'backend_unavailable');
    assert.match(error.message, /backend 'tensorflow' cannot be used here/);
    assert.match(error.message, /@tensorflow\/tfjs-node-gpu is not usable here/);
    assert.match(error.message, /@tensorflow\/tfjs-node is not usable here/);
    assert.match(error.hint ?? '', /wasm/);
    return true;
  });
  assert.equal(backendInfo(), null, 'a refused choice selects nothing');
});

const hardwareGpu = !!webgpuAdapter && !webgpuAdapter.software && 'a hardware WebGPU adapter is here: webgpu comes before wasm';

test('with no preference the engine falls back to wasm, with a note for each package it could not use and for WebGPU', { skip: skip || hardwareGpu }, async () => {
  const info = await initBackend();
  assert.equal(info.name, 'wasm');
  assert.equal(info.notes.length, 3, info.notes.join('; '));
  assert.match(info.notes[2]!, /^webgpu: /);
  assert.deepEqual(backendInfo(), info);
  assert.equal(await initBackend(), info, 'chosen once per process');
  assert.equal((await initBackend('cpu')).name, 'cpu', 'an explicit choice switches');
});
