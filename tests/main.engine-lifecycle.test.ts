// The engine process's life in the desktop app, under plain Node with stand-in processes: restarted
// when it dies (immediately, then with growing delays, then not at all), windows told and re-attached,
// and a quit that waits for the engine to close (killing it only after the timeout).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createEngineSupervisor, type EngineLoss, type EngineProcess } from '../main/engine-supervisor.js';
import { createRestartPolicy } from '../main/restart-policy.js';

test('restart policy: immediate, then backing off, then giving up after too many deaths in the window', () => {
  const policy = createRestartPolicy({ maxRestarts: 4, windowMs: 60_000, baseDelayMs: 500, maxDelayMs: 1_500 });
  const delays = [0, 1, 2, 3].map((i) => policy.onUnexpectedExit(1_000 + i));
  assert.deepEqual(
    delays.map((d) => d.restart && d.delayMs),
    [0, 500, 1_000, 1_500],
  );
  const fifth = policy.onUnexpectedExit(1_010);
  assert.equal(fifth.restart, false);
  if (!fifth.restart) assert.match(fifth.reason, /stopped 5 times within 60 s/);
  // Deaths older than the window are forgotten: a crash a day does not add up.
  const later = createRestartPolicy({ maxRestarts: 2, windowMs: 10_000 });
  for (let day = 0; day < 10; day++) assert.deepEqual(later.onUnexpectedExit(day * 86_400_000), { restart: true, delayMs: 0, attempt: 1 });
});

class FakeEngine implements EngineProcess {
  private exitListener: ((code: number | null) => void) | null = null;
  killed = false;
  stopRequested = false;
  constructor(readonly n: number) {}
  onExit(listener: (code: number | null) => void): void {
    this.exitListener = listener;
  }
  kill(): void {
    this.killed = true;
    this.exit(null);
  }
  exit(code: number | null): void {
    this.exitListener?.(code);
  }
}

function harness(options: { maxRestarts?: number; closesOnStop?: boolean } = {}) {
  const started: { engine: FakeEngine; restarted: boolean }[] = [];
  const losses: EngineLoss[] = [];
  const gaveUp: string[] = [];
  const timers: { callback: () => void; ms: number; cleared: boolean }[] = [];
  let forks = 0;
  const supervisor = createEngineSupervisor<FakeEngine>({
    fork: () => new FakeEngine(++forks),
    policy: createRestartPolicy({ maxRestarts: options.maxRestarts ?? 2, windowMs: 60_000, baseDelayMs: 100, maxDelayMs: 1_000 }),
    requestStop(engine) {
      engine.stopRequested = true;
      if (options.closesOnStop ?? true) queueMicrotask(() => engine.exit(0));
    },
    stopTimeoutMs: 10_000,
    onStarted: (engine, restarted) => started.push({ engine, restarted }),
    onLost: (loss) => losses.push(loss),
    onGaveUp: (reason) => gaveUp.push(reason),
    now: () => 0,
    setTimer: (callback, ms) => {
      const timer = { callback, ms, cleared: false };
      timers.push(timer);
      return timer;
    },
    clearTimer: (timer) => {
      (timer as { cleared: boolean }).cleared = true;
    },
  });
  const fire = () => {
    const timer = timers.filter((t) => !t.cleared).shift()!;
    timer.cleared = true;
    timer.callback();
    return timer.ms;
  };
  return { supervisor, started, losses, gaveUp, timers, fire };
}

test("the engine starts on the first window's request, once", () => {
  const { supervisor, started } = harness();
  assert.equal(supervisor.state, 'idle');
  const engine = supervisor.ensure();
  assert.equal(supervisor.ensure(), engine, 'a second window shares the engine');
  assert.deepEqual(
    started.map((s) => [s.engine.n, s.restarted]),
    [[1, false]],
  );
  assert.equal(supervisor.state, 'running');
});

test('a dead engine: windows told (requests in flight rejected), a new engine started, windows re-attached', () => {
  const { supervisor, started, losses, gaveUp, fire } = harness({ maxRestarts: 2 });
  supervisor.ensure()!.exit(134);
  assert.deepEqual(losses, [{ exitCode: 134, restarting: true, delayMs: 0 }]);
  assert.equal(supervisor.state, 'restarting');
  assert.equal(supervisor.ensure(), null, 'no port while the restart waits: the restart re-attaches');
  assert.equal(fire(), 0);
  assert.deepEqual(
    started.map((s) => [s.engine.n, s.restarted]),
    [
      [1, false],
      [2, true],
    ],
  );
  supervisor.current()!.exit(1);
  assert.equal(fire(), 100, 'the second restart in the window waits');
  assert.equal(started.length, 3);
  supervisor.current()!.exit(1);
  assert.equal(supervisor.state, 'failed');
  assert.equal(losses.at(-1)!.restarting, false);
  assert.equal(gaveUp.length, 1);
  assert.match(gaveUp[0]!, /not restarted again/);
  assert.equal(supervisor.ensure(), null, 'a failed engine is not started by the next window');
  assert.equal(started.length, 3);
});

test('quit asks the engine to close and waits for it; no restart after', async () => {
  const { supervisor, started, losses } = harness();
  const engine = supervisor.ensure()!;
  const stopped = supervisor.stop();
  assert.equal(engine.stopRequested, true);
  assert.equal(supervisor.state, 'stopping');
  await stopped;
  assert.equal(supervisor.state, 'stopped');
  assert.equal(engine.killed, false, 'it closed by itself');
  assert.deepEqual(losses, [], 'an asked-for exit is not a loss');
  assert.equal(started.length, 1);
  assert.equal(supervisor.stop(), stopped, 'stop is idempotent');
});

test('an engine that does not close in time is killed; a quit during a pending restart cancels it', async () => {
  const hung = harness({ closesOnStop: false });
  const engine = hung.supervisor.ensure()!;
  const stopped = hung.supervisor.stop();
  const killTimer = hung.timers.find((t) => t.ms === 10_000 && !t.cleared)!;
  killTimer.callback();
  await stopped;
  assert.equal(engine.killed, true);

  const pending = harness();
  pending.supervisor.ensure()!.exit(9);
  await pending.supervisor.stop();
  assert.ok(
    pending.timers.every((t) => t.cleared),
    'the restart timer was cleared',
  );
  assert.equal(pending.started.length, 1);
  assert.equal(pending.supervisor.state, 'stopped');
});
