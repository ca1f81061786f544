// The time a run will take, stated before it starts: the step model reproduces the configs it was
// measured on (reference machine, wasm, 2 threads), earlier runs in the same data folder scale it
// to this machine, and a train job records its own speed for the next estimate.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openCatalog } from '../engine/catalog/db.js';
import { createZoo } from '../engine/catalog/zoos.js';
import { insertRun } from '../engine/catalog/runs.js';
import { recordRunSpeed } from '../engine/catalog/run-speeds.js';
import { estimateTraining, referenceStepSeconds, roughDuration } from '../engine/pipeline/estimate.js';
import { resolveConfig } from '../engine/rpg/presets.js';
import { tokenCountFor, trainStepFlops } from '../engine/rpg/cost.js';
import { tempDir } from './helpers/tmp.js';

const DEMO = resolveConfig({ preset: 'digits', overrides: { checkEvery: 0 } });
const TINY = resolveConfig({ preset: 'tiny', overrides: { checkEvery: 0 } });
const DIGITS = { tokenCount: 21, checkpoints: 30 };

test('the reference step model gives the measured seconds per step of the configs it was fitted on (within 10%)', () => {
  const catalog = openCatalog(tempDir('paramzoo-estimate-'));
  try {
    const within = (actual: number, measured: number) => assert.ok(Math.abs(actual / measured - 1) < 0.1, `${actual.toFixed(3)} s vs measured ${measured}`);
    within(estimateTraining(catalog.db, 'wasm', DEMO, DIGITS).secondsPerStep, 0.1); // quick demo: train 299 s / 3000 steps
    within(estimateTraining(catalog.db, 'wasm', TINY, DIGITS).secondsPerStep, 0.577); // 'tiny' on the digits zoo
    within(estimateTraining(catalog.db, 'wasm', resolveConfig({ preset: 'small' }), { tokenCount: 981, checkpoints: 30 }).secondsPerStep, 2.057); // 'small', ~1M parameters
    const demo = estimateTraining(catalog.db, 'wasm', DEMO, DIGITS);
    assert.equal(demo.steps, 3000);
    assert.ok(Math.abs(demo.seconds - 3000 * demo.secondsPerStep) < 1e-6, 'no checks: steps × seconds per step');
    assert.match(demo.basis, /reference 2-core machine/);
    assert.equal(estimateTraining(catalog.db, 'wasm', DEMO, DIGITS, 1000).steps, 2000, 'a resumed run counts the steps left');
    const withChecks = estimateTraining(catalog.db, 'wasm', { ...DEMO, checkEvery: 500 }, DIGITS);
    assert.ok(withChecks.seconds > demo.seconds, 'quality checks add their generation time');
    // a task-conditioned zoo's checks also generate one model per held-out task vector: 3 + 20 models instead of 3
    const withHeldOut = estimateTraining(catalog.db, 'wasm', { ...DEMO, checkEvery: 500 }, { ...DIGITS, heldOutCheckModels: 20 });
    const checkOnly = (e: { seconds: number }) => e.seconds - demo.seconds;
    assert.ok(Math.abs(checkOnly(withHeldOut) / checkOnly(withChecks) - 23 / DEMO.checkModels) < 1e-9, `${checkOnly(withHeldOut)} vs ${checkOnly(withChecks)}`);
  } finally {
    catalog.close();
  }
});

test('earlier runs on this machine scale the estimate: a machine measured twice as slow gets twice the time', () => {
  const catalog = openCatalog(tempDir('paramzoo-estimate-'));
  try {
    const before = estimateTraining(catalog.db, 'wasm', TINY, DIGITS);
    const zoo = createZoo(catalog.db, 'z');
    const run = insertRun(catalog.db, { zooId: zoo.id, config: DEMO, backend: 'wasm', jobId: 'job_x' });
    const stepFlops = trainStepFlops(DEMO, 21, 30);
    recordRunSpeed(catalog.db, run, { secondsPerStep: 2 * referenceStepSeconds(stepFlops), stepFlops });
    const after = estimateTraining(catalog.db, 'wasm', TINY, DIGITS);
    assert.ok(Math.abs(after.secondsPerStep / before.secondsPerStep - 2) < 1e-9, `${after.secondsPerStep} vs ${before.secondsPerStep}`);
    assert.match(after.basis, /1 earlier run on this machine \(wasm\)/);
    assert.equal(estimateTraining(catalog.db, 'cpu', TINY, DIGITS).secondsPerStep, before.secondsPerStep, 'runs of another backend say nothing about this one');
  } finally {
    catalog.close();
  }
});

test('token counts and rough durations', () => {
  const signature = [
    { name: 'fc1.weight', dtype: 'F32' as const, shape: [32, 784] },
    { name: 'fc1.bias', dtype: 'F32' as const, shape: [32] },
    { name: 'bn.num_batches_tracked', dtype: 'I64' as const, shape: [] },
  ];
  assert.equal(tokenCountFor(signature, 1024), 25 + 1);
  assert.equal(roughDuration(42), '≈ 40 s');
  assert.equal(roughDuration(12 * 60), '≈ 12 min');
  assert.equal(roughDuration(3 * 3600), '≈ 3.0 h');
});
