// The transport-neutral connection, driven through a real node:worker_threads MessageChannel
// standing in for the Electron MessagePort that main hands the engine worker.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import type { EngineEvent, ImportResult, JobInfo, ServerMessage, ZooSummary } from '../engine/protocol.js';
import { createEngineService, type EngineService } from '../engine/service.js';
import { NO_ID } from '../engine/hosts/connection.js';
import { servePort } from '../engine/hosts/message-port.js';
import { FIXTURES } from './helpers/fixtures.js';
import { tempDir } from './helpers/tmp.js';

type Answer = Extract<ServerMessage, { id: number }>;

/** The window's side of the channel: what preload does with its port. */
class PortClient {
  readonly events: EngineEvent[] = [];
  private readonly answers: Answer[] = [];
  private readonly waiters: (() => void)[] = [];
  private nextId = 1;

  constructor(private readonly port: MessagePort) {
    port.on('message', (message: ServerMessage) => {
      if ('event' in message) this.events.push(message.event);
      else this.answers.push(message);
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  /** Sends anything (well-formed or not) and resolves with (and takes) the next answer to `id`. */
  async send(message: unknown, id: number): Promise<Answer> {
    this.port.postMessage(message);
    return this.until(() => {
      const at = this.answers.findIndex((a) => a.id === id);
      return at < 0 ? undefined : this.answers.splice(at, 1)[0];
    });
  }

  request(method: string, params: unknown): Promise<Answer> {
    const id = this.nextId++;
    return this.send({ id, method, params }, id);
  }

  async until<T>(found: () => T | undefined, timeoutMs = 10_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = found();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error('no such message arrived in time');
      await new Promise<void>((wake) => {
        this.waiters.push(wake);
        setTimeout(wake, 100);
      });
    }
  }
}

function connect(service: EngineService): { client: PortClient; window: MessagePort } {
  const { port1: engineSide, port2: windowSide } = new MessageChannel();
  servePort(service, engineSide);
  return { client: new PortClient(windowSide), window: windowSide };
}

test('requests round-trip over a MessagePort, and job and catalog events reach every connected window', async () => {
  const service = createEngineService({ dataDir: tempDir() });
  const first = connect(service);
  const second = connect(service);
  try {
    const created = await first.client.request('zoo.create', { name: 'cnn' });
    assert.equal(created.id, 1);
    assert.ok(created.ok);
    const zoo = created.result as ZooSummary;
    assert.deepEqual([zoo.name, zoo.checkpointCount, zoo.parameterCount, zoo.task], ['cnn', 0, 0, null]);
    const listed = await second.client.request('zoo.list', {});
    assert.ok(listed.ok);
    assert.deepEqual(
      (listed.result as ZooSummary[]).map((z) => z.name),
      ['cnn'],
    );

    const started = await first.client.request('import', { zoo: 'cnn', paths: [join(FIXTURES, 'tiny_cnn.pth')] });
    assert.ok(started.ok);
    const job = (started.result as { job: JobInfo }).job;
    assert.equal(job.status, 'queued');
    for (const { client } of [first, second]) {
      const finished = await client.until(() => client.events.find((e) => e.type === 'job.finished' && e.job.id === job.id));
      assert.ok(finished.type === 'job.finished');
      assert.deepEqual(
        (finished.result as ImportResult).imported.map((c) => c.source),
        [join(FIXTURES, 'tiny_cnn.pth')],
      );
      assert.equal(finished.job.status, 'succeeded');
      const progress = client.events.filter((e) => e.type === 'job.progress' && e.job.id === job.id);
      assert.ok(progress.length >= 1, 'at least one job.progress before job.finished');
      assert.ok(client.events.indexOf(progress[0]!) < client.events.indexOf(finished));
      assert.deepEqual(
        client.events.filter((e) => e.type === 'catalog.changed').map((e) => e.type === 'catalog.changed' && e.what),
        ['zoos', 'checkpoints'],
      );
    }
    const shown = await second.client.request('zoo.show', { name: 'cnn' });
    assert.ok(shown.ok);
    assert.equal((shown.result as { checkpoints: unknown[] }).checkpoints.length, 1);
  } finally {
    first.window.close();
    second.window.close();
    await service.close();
  }
});

test('engine errors arrive typed; a bug arrives as code internal without its stack', async () => {
  const service = createEngineService({ dataDir: tempDir() });
  const { client, window } = connect(service);
  try {
    const missing = await client.request('zoo.show', { name: 'nope' });
    assert.equal(missing.ok, false);
    assert.ok(!missing.ok);
    assert.equal(typeof missing.error.code, 'string');
    assert.notEqual(missing.error.code, 'internal');
    assert.match(missing.error.message, /nope/);

    const unknown = await client.request('zoo.destroy', {});
    assert.ok(!unknown.ok);
    assert.equal(unknown.error.code, 'unknown_request');

    const noName = await client.request('zoo.create', {});
    assert.ok(!noName.ok);
    assert.equal(noName.error.code, 'bad_request');

    // A handler with a bug (a plain Error, not an EngineError), as a later stage could add by mistake.
    service.handle('engine.info', () => {
      throw new TypeError("Cannot read properties of undefined (reading 'backend')");
    });
    const bug = await client.request('engine.info', {});
    assert.ok(!bug.ok);
    assert.equal(bug.error.code, 'internal');
    assert.match(bug.error.message, /reading 'backend'/);
    assert.doesNotMatch(JSON.stringify(bug.error), /\n\s+at |hosts|\.ts:\d+/, 'no stack trace crosses the wire');

    // A result the port cannot carry still gets an answer, not silence.
    service.handle('engine.info', () => ({ version: '0.1.0', dataDir: '', backend: null, later: () => 'a function' }));
    const uncloneable = await client.request('engine.info', {});
    assert.ok(!uncloneable.ok);
    assert.equal(uncloneable.error.code, 'internal');
    assert.match(uncloneable.error.message, /could not be cloned/);
  } finally {
    window.close();
    await service.close();
  }
});

test('malformed messages get a bad_message error and the connection keeps working', async () => {
  const service = createEngineService({ dataDir: tempDir() });
  const { client, window } = connect(service);
  try {
    const cases: [unknown, number][] = [
      ['zoo.list', NO_ID],
      [null, NO_ID],
      [[1, 'zoo.list'], NO_ID],
      [{ method: 'zoo.list', params: {} }, NO_ID],
      [{ id: 1.5, method: 'zoo.list', params: {} }, NO_ID],
      [{ id: 7, params: {} }, 7],
      [{ id: 8, method: 42, params: {} }, 8],
      [{ id: 9, method: 'zoo.create', params: ['cnn'] }, 9],
      [{ id: 10, method: 'zoo.create', params: 'cnn' }, 10],
    ];
    for (const [message, id] of cases) {
      const answer = await client.send(message, id);
      assert.ok(!answer.ok, JSON.stringify(message));
      assert.equal(answer.error.code, 'bad_message', JSON.stringify(message));
      assert.match(answer.error.message, /malformed message/);
    }
    assert.deepEqual((await client.request('zoo.list', {})).ok, true, 'still answering after the malformed ones');
    const zoos = await service.request('zoo.list', {});
    assert.deepEqual(zoos, [], 'nothing was created by the malformed zoo.create messages');
  } finally {
    window.close();
    await service.close();
  }
});

test('a window that goes away stops receiving events; the others keep theirs', async () => {
  const service = createEngineService({ dataDir: tempDir() });
  const { port1: engineSide, port2: windowSide } = new MessageChannel();
  const connection = servePort(service, engineSide);
  const other = connect(service);
  try {
    const closed = new Promise<void>((resolve) => engineSide.once('close', () => resolve()));
    windowSide.close();
    await closed;
    let sentAfterClose = 0;
    // The connection dropped its subscription: a request after the close is not even answered.
    const originalPost = engineSide.postMessage.bind(engineSide);
    engineSide.postMessage = (message: unknown) => {
      sentAfterClose += 1;
      originalPost(message);
    };
    await connection.receive({ id: 1, method: 'zoo.create', params: { name: 'after' } });
    const answer = await other.client.request('zoo.create', { name: 'cnn' });
    assert.ok(answer.ok);
    await other.client.until(() => other.client.events.find((e) => e.type === 'catalog.changed'));
    assert.equal(sentAfterClose, 0);
    assert.deepEqual(
      (await service.request('zoo.list', {})).map((z) => z.name),
      ['cnn'],
    );
  } finally {
    other.window.close();
    await service.close();
  }
});
