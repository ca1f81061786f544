// A job's ETA is estimated at the rate it has advanced since it first moved, so a resumed run (which
// starts at 67%) is not promised its remaining third in seconds, and setup time is not a rate.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EtaEstimator } from '../engine/timing.js';

function clock(): { now: () => number; advance: (seconds: number) => void } {
  let t = 1_000_000;
  return { now: () => t, advance: (seconds) => (t += seconds * 1000) };
}

test('a run resumed at 2/3: 10% more in 60 s leaves ≈ 140 s for the last 23% (not the ≈ 30 s an estimate from the start gives)', () => {
  const time = clock();
  const eta = new EtaEstimator(time.now);
  assert.equal(eta.estimate(0), null, 'starting: no rate yet');
  time.advance(20); // restoring the saved run
  eta.estimate(2 / 3); // first progress: the baseline
  time.advance(60);
  const left = eta.estimate(2 / 3 + 0.1)!;
  assert.ok(Math.abs(left - (60 * (1 - 2 / 3 - 0.1)) / 0.1) < 1e-9, `${left}`);
  assert.ok(left > 130, `${left} s`);
});

test('a fresh job: the rate since its first progress; nothing before 1% and half a second', () => {
  const time = clock();
  const eta = new EtaEstimator(time.now);
  eta.estimate(0);
  time.advance(5); // loading data, no progress
  eta.estimate(0.001);
  time.advance(0.2);
  assert.equal(eta.estimate(0.005), null, 'under 1%');
  time.advance(9.8);
  assert.ok(Math.abs(eta.estimate(0.101)! - (10 * 0.899) / 0.1) < 1e-9, 'from the first progress, not from the start 5 s earlier');
  time.advance(90);
  assert.equal(eta.estimate(1), 0);
});

test('a job that reported a share at once and went quiet gets an estimate from its start, growing while it stays quiet', () => {
  const time = clock();
  const eta = new EtaEstimator(time.now);
  assert.equal(eta.estimate(0.25), null, 'under half a second');
  time.advance(1);
  assert.equal(eta.estimate(0.25), 3);
  time.advance(1);
  assert.equal(eta.estimate(0.25), 6);
});
