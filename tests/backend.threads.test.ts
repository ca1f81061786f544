// The wasm backend computes on every core (XNNPACK's threaded build, made to load in Node by
// engine/backend/wasm-threads.ts) and gives the same numbers whatever the thread count: a run
// resumed with another thread count continues exactly, and a seed means one result on a machine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { threadedWasmProblem } from '../engine/backend/wasm-threads.js';

interface Run {
  backend: { name: string; threads?: number; notes: string[] };
  losses: number[];
  weights: string;
}

function train(threads: number): Run {
  const stdout = execFileSync(process.execPath, ['--import', 'tsx', 'tests/helpers/train-steps.ts'], {
    encoding: 'utf8',
    env: { ...process.env, PARAMZOO_THREADS: String(threads) },
    maxBuffer: 1 << 28,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return JSON.parse(stdout.trim().split('\n').pop()!) as Run;
}

test('the installed tfjs-backend-wasm is the one the threaded loader was written against', () => {
  assert.equal(threadedWasmProblem(), null);
});

test('wasm on 1, 2 and 3 threads: the threads asked for are used, and losses and weights are bit-identical', () => {
  const runs = [1, 2, 3].map(train);
  assert.deepEqual(
    runs.map((r) => [r.backend.name, r.backend.threads]),
    [
      ['wasm', 1],
      ['wasm', 2],
      ['wasm', 3],
    ],
  );
  assert.ok(
    runs.every((r) => r.backend.notes.length === 0),
    JSON.stringify(runs.map((r) => r.backend.notes)),
  );
  assert.equal(runs[0]!.losses.length, 4);
  assert.ok(runs[0]!.losses.every((l) => Number.isFinite(l) && l > 0));
  for (const run of runs.slice(1)) {
    assert.deepEqual(run.losses, runs[0]!.losses);
    assert.equal(run.weights, runs[0]!.weights);
  }
});

test('a thread count beyond the pool is capped with a note, a bad one is refused by name', () => {
  const capped = train(12);
  assert.equal(capped.backend.threads, 8);
  assert.match(capped.backend.notes.join(' '), /at most 8 threads/);
  assert.throws(() => train(0), /threads must be a positive integer/);
});

test('a process that computed on the threaded build exits by itself (the pool threads do not hold it)', () => {
  const script =
    "const { initBackend, tf } = await import('./engine/backend.ts'); const info = await initBackend('wasm', { threads: 2 });" +
    " tf.conv1d(tf.ones([8, 64, 16]), tf.ones([7, 16, 32]), 1, 'same').dataSync(); console.log(info.threads);";
  const stdout = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 60_000,
    killSignal: 'SIGKILL',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  assert.equal(stdout.trim(), '2');
});
