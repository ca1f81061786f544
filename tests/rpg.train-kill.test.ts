// A training process killed with SIGKILL resumes from its last save (written as safetensors by the
// caller, as the engine does) and continues the loss curve of an uninterrupted run exactly.
// This file is also the child: with PARAMZOO_KILL_CHILD set it trains and saves instead of testing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initBackend } from '../engine/backend.js';
import { read, write } from '../engine/formats/safetensors.js';
import type { TensorData } from '../engine/formats/types.js';
import { resolveConfig } from '../engine/rpg/presets.js';
import { trainGenerator, type TrainingInput } from '../engine/rpg/trainer.js';
import type { GeneratorState } from '../engine/rpg/generator.js';
import { Rng } from '../engine/rpg/random.js';

const STEPS = 150;
const SAVE_EVERY = 5;
const config = resolveConfig({
  preset: 'tiny',
  overrides: { tokenSize: 16, recurrentWidth: 16, recurrentLayers: 1, denoiserChannels: [8, 16, 8], diffusionBatch: 16, batch: 2, steps: STEPS, saveEvery: SAVE_EVERY, lr: 3e-3, seed: 9 },
});

function zoo(): TrainingInput {
  const rng = new Rng(21);
  const tokens = Array.from({ length: 3 }, () => {
    const t = new Float32Array(5 * 16);
    rng.fillNormal(t);
    return t;
  });
  return {
    shape: { tokenCount: 5, tensorIndexOfToken: Int32Array.from([0, 0, 1, 1, 2]), indexInTensorOfToken: Int32Array.from([0, 1, 0, 1, 0]), permutationStates: 3, taskBits: 0 },
    checkpointCount: 3,
    tokens: (i) => tokens[i]!, // a loader, as for zoos larger than memory
    mask: new Float32Array(5 * 16).fill(1),
    permutationStates: [0, 1, 2],
  };
}

async function saveState(path: string, state: GeneratorState): Promise<void> {
  await write(path, state.tensors, state.metadata);
}

async function loadState(path: string): Promise<GeneratorState> {
  const opened = await read(path);
  try {
    const tensors: TensorData[] = [];
    for (const t of opened.tensors) tensors.push({ name: t.name, dtype: t.dtype, shape: t.shape, data: await t.read() });
    return { tensors, metadata: opened.metadata };
  } finally {
    await opened.close();
  }
}

async function child(path: string): Promise<void> {
  await initBackend('wasm');
  await trainGenerator(zoo(), config, {
    onCheckpoint: async (state, step) => {
      await saveState(path, state);
      process.stdout.write(`saved ${step}\n`);
    },
  });
  process.stdout.write('finished\n');
}

if (process.env.PARAMZOO_KILL_CHILD) {
  child(process.env.PARAMZOO_KILL_CHILD).catch((error) => {
    console.error(error);
    process.exit(2);
  });
} else {
  test('a run killed with SIGKILL resumes from its last save with the uninterrupted loss curve', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'paramzoo-kill-'));
    try {
      const path = join(dir, 'run.safetensors');
      const proc = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
        env: { ...process.env, PARAMZOO_KILL_CHILD: path },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let lastSaved = 0;
      let finished = false;
      const exited = new Promise<NodeJS.Signals | null>((resolve) => proc.on('exit', (_code, signal) => resolve(signal)));
      proc.stdout.setEncoding('utf8').on('data', (text: string) => {
        for (const line of text.split('\n')) {
          const saved = /^saved (\d+)$/.exec(line);
          if (saved) lastSaved = Number(saved[1]);
          if (line === 'finished') finished = true;
          if (lastSaved >= 3 * SAVE_EVERY && proc.exitCode === null && !proc.killed) proc.kill('SIGKILL');
        }
      });
      assert.equal(await exited, 'SIGKILL');
      assert.ok(!finished && lastSaved >= 3 * SAVE_EVERY && lastSaved < STEPS, `killed after save ${lastSaved}`);

      await initBackend('wasm');
      const state = await loadState(path);
      const resumed = await trainGenerator(zoo(), config, { resumeFrom: state });
      const whole = await trainGenerator(zoo(), config);
      assert.equal(resumed.lossCurve.length, STEPS);
      assert.deepEqual(Array.from(resumed.lossCurve), Array.from(whole.lossCurve));
      resumed.generator.dispose();
      whole.generator.dispose();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
