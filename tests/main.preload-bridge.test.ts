// window.paramzoo's engine side (preload/bridge.ts) over a real MessageChannel: answers and events,
// errors that keep code/hint/file/fields as plain objects, and an engine that dies mid-request:
// the request is rejected (never left hanging), later ones wait for the restarted engine, and the
// page learns that its running job was interrupted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import type { ClientMessage, EngineEvent, JobInfo, ServerMessage } from '../engine/protocol.js';
import { createBridge, type BridgePort } from '../preload/bridge.js';
import { createMenuRelay } from '../preload/menu-relay.js';

/** A stand-in engine on one end of a channel; `answer` decides each reply. */
function fakeEngine(answer: (message: ClientMessage, port: MessagePort) => ServerMessage | null) {
  const { port1, port2 } = new MessageChannel();
  const seen: ClientMessage[] = [];
  port2.on('message', (message: ClientMessage) => {
    seen.push(message);
    const reply = answer(message, port2);
    if (reply) port2.postMessage(reply);
  });
  return {
    page: port1 as unknown as BridgePort,
    engine: port2,
    seen,
    close: () => {
      port1.close();
      port2.close();
    },
  };
}

const job = (status: JobInfo['status']): JobInfo => ({
  id: 'job_1',
  kind: 'train',
  status,
  progress: { fraction: 0.5, stage: 'train', etaSeconds: null, metrics: {} },
  startedAt: null,
  finishedAt: null,
  error: null,
  ownerPid: 4242,
  otherProcess: false,
});

test('requests are answered; failures arrive as plain objects with code, hint, file and fields', async () => {
  const engine = fakeEngine((m) =>
    m.method === 'zoo.list'
      ? { id: m.id, ok: true, result: [] }
      : { id: m.id, ok: false, error: { code: 'signature_mismatch', message: 'b.pth does not fit', hint: 'import into another zoo', file: '/x/b.pth', fields: ['paths'] } },
  );
  const bridge = createBridge();
  const early = bridge.request('zoo.list', {});
  bridge.attach(engine.page);
  assert.deepEqual(await early, [], 'a request made before the port arrived waits for it');
  const failure = await bridge.request('import', { zoo: 'z', paths: ['/x/b.pth'] }).then(
    () => null,
    (error: unknown) => error,
  );
  assert.ok(!(failure instanceof Error), 'not an Error: contextBridge would keep only its message');
  assert.deepEqual(failure, { code: 'signature_mismatch', message: 'b.pth does not fit', hint: 'import into another zoo', file: '/x/b.pth', fields: ['paths'] });
  engine.close();
});

test('an engine that dies mid-request: rejected at once, the next request waits for the new engine, the running job shows interrupted', async () => {
  const first = fakeEngine((m) => (m.method === 'job.list' ? { id: m.id, ok: true, result: [job('running')] } : null));
  const bridge = createBridge();
  const events: EngineEvent[] = [];
  bridge.subscribe((event) => events.push(event));
  bridge.attach(first.page);
  first.engine.postMessage({ event: { type: 'job.progress', job: job('running') } } satisfies ServerMessage);
  const hanging = bridge.request('run.show', { id: 'run_1' });
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(events.length, 1);

  bridge.lost({ code: 'engine_lost', message: 'the engine process ended (exit code 134) before it answered', hint: 'try again in a moment' });
  await assert.rejects(hanging, (error: unknown) => (error as { code: string }).code === 'engine_lost');
  const waiting = bridge.request('zoo.list', {});

  const interrupted = { ...job('interrupted'), error: { code: 'interrupted' as const, message: 'job job_1 was interrupted' } };
  const second = fakeEngine((m) => ({ id: m.id, ok: true, result: m.method === 'job.list' ? [interrupted] : ['zoo'] }));
  bridge.attach(second.page);
  assert.deepEqual(await waiting, ['zoo']);
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.deepEqual(events.slice(1), [
    { type: 'job.failed', job: interrupted },
    { type: 'catalog.changed', what: 'runs' },
  ]);
  first.close();
  second.close();
});

test('an engine that cannot be restarted: everything waiting and every later request is rejected with why', async () => {
  const bridge = createBridge();
  const waiting = bridge.request('zoo.list', {});
  bridge.failed({ code: 'engine_failed', message: 'the engine stopped 6 times within 60 s', hint: 'restart ParamZoo' });
  await assert.rejects(waiting, { code: 'engine_failed', message: 'the engine stopped 6 times within 60 s', hint: 'restart ParamZoo' });
  await assert.rejects(bridge.request('zoo.list', {}), { code: 'engine_failed' });
});

test("menu commands replay the page's own shortcut, unless the key press already reached the page", () => {
  const linux = createMenuRelay('linux');
  assert.deepEqual(linux.shortcutFor('import', 1000), { key: 'o', ctrlKey: true, metaKey: false, bubbles: true, cancelable: true });
  assert.deepEqual(createMenuRelay('darwin').shortcutFor('export', 1000), { key: 'e', ctrlKey: false, metaKey: true, bubbles: true, cancelable: true });
  linux.noteKey({ key: 'O', ctrlKey: true, metaKey: false, altKey: false }, 2000);
  assert.equal(linux.shortcutFor('import', 2100), null, 'the accelerator echo of a key press the page handled');
  assert.ok(linux.shortcutFor('import', 2600), 'a later menu click');
  assert.ok(linux.shortcutFor('export', 2100), 'another command');
  assert.equal(linux.shortcutFor('quit', 3000), null, 'unknown commands are ignored');
});
