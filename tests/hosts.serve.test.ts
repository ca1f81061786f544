// `paramzoo serve` as a user runs it: a real child process, a real WebSocket client, real HTTP.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { WebSocket } from 'ws';
import type { EngineEvent, ImportResult, JobInfo, ServerMessage, ZooSummary } from '../engine/protocol.js';
import { createEngineService } from '../engine/service.js';
import { startWebServer, websocketProtocols } from '../engine/hosts/web-server.js';
import { PROJECT_ROOT } from './helpers/cli.js';
import { FIXTURES } from './helpers/fixtures.js';
import { torchZip, writeBytes } from './helpers/hostile.js';
import { tempDir } from './helpers/tmp.js';

type Answer = Extract<ServerMessage, { id: number }>;

interface Served {
  child: ChildProcess;
  url: URL;
  exited: Promise<number | null>;
  stderr: () => string;
}

/** Starts `paramzoo serve --port 0 --data DIR` and resolves once it printed the address to open. */
function startServe(dataDir: string): Promise<Served> {
  const child = spawn(process.execPath, [join(PROJECT_ROOT, 'bin', 'paramzoo.js'), 'serve', '--port', '0', '--data', dataDir], {
    cwd: PROJECT_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`paramzoo serve printed no address in 30 s:\n${stdout}\n${stderr}`)), 30_000);
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      const found = /^open (http:\/\/\S+)$/m.exec(stdout);
      if (found) {
        clearTimeout(timer);
        resolve({ child, url: new URL(found[1]!), exited, stderr: () => stderr });
      }
    });
    void exited.then((code) => reject(new Error(`paramzoo serve exited ${code} before printing an address:\n${stdout}\n${stderr}`)));
  });
}

/** A browser tab's side of the socket. */
class SocketClient {
  readonly events: EngineEvent[] = [];
  readonly answers: Answer[] = [];
  private nextId = 1;
  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as ServerMessage;
      if ('event' in message) this.events.push(message.event);
      else this.answers.push(message);
    });
  }

  static open(url: string, token: string): Promise<SocketClient> {
    const socket = new WebSocket(url, websocketProtocols(token));
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve(new SocketClient(socket)));
      socket.once('error', reject);
    });
  }

  async sendRaw(text: string, id: number): Promise<Answer> {
    this.socket.send(text);
    return this.until(() => this.answers.find((a) => a.id === id));
  }

  request(method: string, params: unknown): Promise<Answer> {
    const id = this.nextId++;
    return this.sendRaw(JSON.stringify({ id, method, params }), id);
  }

  async until<T>(found: () => T | undefined, timeoutMs = 20_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (let value = found(); ; value = found()) {
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error('no such message arrived in time');
      await new Promise((wake) => setTimeout(wake, 20));
    }
  }
}

/** How a WebSocket handshake ends: 'open', or the HTTP status it was refused with. */
function handshake(url: string, protocols: string[] = [], headers: Record<string, string> = {}, origin?: string): Promise<'open' | number> {
  const socket = new WebSocket(url, protocols, { headers, ...(origin ? { origin } : {}) });
  return new Promise((resolve, reject) => {
    socket.once('open', () => {
      socket.close();
      resolve('open');
    });
    socket.once('unexpected-response', (_request, response) => {
      resolve(response.statusCode ?? 0);
      socket.terminate();
    });
    socket.once('error', (error) => {
      if (!/Unexpected server response/.test(error.message)) reject(error);
    });
  });
}

/** A GET with the path sent exactly as given (fetch would normalise ../ away). */
function rawGet(port: number, path: string): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path }, (response) => {
      let body = '';
      response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, type: String(response.headers['content-type']), body }));
    }).on('error', reject);
  });
}

function rawGetWithHost(port: number, path: string, host: string): Promise<{ status: number }> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path, headers: { Host: host } }, (response) => {
      response.resume();
      response.on('end', () => resolve({ status: response.statusCode ?? 0 }));
    }).on('error', reject);
  });
}

let served: Served;
const dataDir = tempDir();

before(async () => {
  served = await startServe(dataDir);
});
after(() => {
  // Only when a test failed before the SIGTERM test stopped it.
  if (served && served.child.exitCode === null && served.child.signalCode === null) served.child.kill('SIGKILL');
});

test('serve prints a loopback address with a token, and a request round-trips over the socket', async () => {
  assert.equal(served.url.hostname, '127.0.0.1');
  assert.match(served.url.searchParams.get('token') ?? '', /^[A-Za-z0-9_-]{40,}$/);
  const client = await SocketClient.open(`ws://${served.url.host}/ws`, served.url.searchParams.get('token')!);
  try {
    const created = await client.request('zoo.create', { name: 'cnn' });
    assert.ok(created.ok, JSON.stringify(created));
    assert.equal((created.result as ZooSummary).name, 'cnn');
    const listed = await client.request('zoo.list', {});
    assert.ok(listed.ok);
    assert.deepEqual(
      (listed.result as ZooSummary[]).map((z) => [z.name, z.checkpointCount]),
      [['cnn', 0]],
    );
    await client.until(() => client.events.find((e) => e.type === 'catalog.changed' && e.what === 'zoos'));

    const refused = await client.request('zoo.create', { name: 'cnn' });
    assert.ok(!refused.ok);
    assert.equal(refused.error.code, 'zoo_exists');
    const garbage = await client.sendRaw('{"id": 1, "method":', -1);
    assert.ok(!garbage.ok);
    assert.equal(garbage.error.code, 'bad_message');
    assert.ok((await client.request('zoo.list', {})).ok, 'the server still answers after a malformed frame');
  } finally {
    client.socket.close();
  }
});

test("an import job's progress and finished events arrive over the socket", async () => {
  const client = await SocketClient.open(`ws://${served.url.host}/ws`, served.url.searchParams.get('token')!);
  try {
    const started = await client.request('import', { zoo: 'cnn', paths: [join(FIXTURES, 'tiny_cnn.pth'), join(FIXTURES, 'tiny_cnn_legacy.pth')] });
    assert.ok(started.ok, JSON.stringify(started));
    const { job } = started.result as { job: JobInfo };
    const finished = await client.until(() => client.events.find((e) => e.type === 'job.finished' && e.job.id === job.id));
    assert.ok(finished.type === 'job.finished');
    assert.deepEqual(
      (finished.result as ImportResult).imported.map((c) => c.source),
      [join(FIXTURES, 'tiny_cnn.pth'), join(FIXTURES, 'tiny_cnn_legacy.pth')],
    );
    const progress = client.events.filter((e): e is Extract<EngineEvent, { type: 'job.progress' }> => e.type === 'job.progress' && e.job.id === job.id);
    assert.ok(progress.length >= 2, `${progress.length} progress events`);
    assert.ok(progress.some((e) => e.job.status === 'running'));
    const listed = await client.request('zoo.list', {});
    assert.ok(listed.ok);
    assert.deepEqual(
      (listed.result as ZooSummary[]).map((z) => [z.name, z.checkpointCount, z.parameterCount]),
      [['cnn', 2, 1500]],
    );
  } finally {
    client.socket.close();
  }
});

test('the token is accepted only in Sec-WebSocket-Protocol: wrong, missing or in the URL is refused with 401', async () => {
  const base = `ws://${served.url.host}/ws`;
  const token = served.url.searchParams.get('token')!;
  assert.equal(await handshake(base, websocketProtocols(`${token.slice(0, -1)}x`)), 401);
  assert.equal(await handshake(base, websocketProtocols(`${token}${token}`)), 401);
  assert.equal(await handshake(base), 401, 'no token');
  assert.equal(await handshake(`${base}?token=${token}`), 401, 'the token in the URL is not enough');
  assert.equal(await handshake(`${base}?token=${token}`, ['paramzoo']), 401, 'the engine protocol without the token');
  assert.equal(await handshake(base, [`token.${token}`]), 401, 'the token without the engine protocol');
  // The desktop app reaching a remote engine through a tunnel (Origin app://paramzoo) needs the token too.
  assert.equal(await handshake(base, ['paramzoo'], {}, 'app://paramzoo'), 401, "the desktop app's origin without the token");
  assert.equal(await handshake(base, websocketProtocols(`${token.slice(0, -1)}x`), {}, 'app://paramzoo'), 401, "the desktop app's origin with a wrong token");
  assert.equal(await handshake(`ws://${served.url.host}/`, websocketProtocols(token)), 404);
  assert.equal(await handshake(base, websocketProtocols(token)), 'open');
  assert.equal((await rawGet(Number(served.url.port), '/ws')).status, 426);
});

test('a handshake from another Origin, or with a Host that is not a loopback name, is refused with 403 before any request runs', async () => {
  const base = `ws://${served.url.host}/ws`;
  const port = served.url.port;
  const protocols = websocketProtocols(served.url.searchParams.get('token')!);
  // The page's own origin (whichever loopback name the browser used) and the desktop app's scheme.
  assert.equal(await handshake(base, protocols, {}, `http://${served.url.host}`), 'open');
  assert.equal(await handshake(base, protocols, { Host: `localhost:${port}` }, `http://localhost:${port}`), 'open');
  assert.equal(await handshake(base, protocols, {}, 'app://paramzoo'), 'open');
  // Another site, another port on this machine, https, a null origin.
  for (const origin of ['http://evil.example', `http://127.0.0.1:${Number(port) + 1}`, `https://${served.url.host}`, 'null', `http://${served.url.host}.evil.example`]) {
    assert.equal(await handshake(base, protocols, {}, origin), 403, origin);
  }
  // DNS rebinding: a name that resolves here but is not a loopback name; the origin matching it does not help.
  assert.equal(await handshake(base, protocols, { Host: `rebind.example:${port}` }, `http://rebind.example:${port}`), 403);
  assert.equal(await handshake(base, protocols, { Host: `10.0.0.5:${port}` }), 403);
  assert.equal((await rawGetWithHost(Number(port), '/', `rebind.example:${port}`)).status, 403, 'HTTP too');
  // Nothing ran: no zoo was created by any of these.
  const client = await SocketClient.open(base, served.url.searchParams.get('token')!);
  try {
    const listed = await client.request('zoo.list', {});
    assert.ok(listed.ok);
    assert.deepEqual(
      (listed.result as ZooSummary[]).map((z) => z.name),
      ['cnn'],
    );
  } finally {
    client.socket.close();
  }
});

test('a hostile checkpoint imported by one client fails alone: the server keeps answering every other client', async () => {
  // 140 million NONE opcodes, deflated into a 136 KB .pth: it crashed Node (2.8 GB) before the readers had budgets.
  const file = writeBytes(join(dataDir, 'none_flood.pth'), torchZip(new Uint8Array(140_000_003).fill(0x4e), {}, { deflatePickle: true }));
  const token = served.url.searchParams.get('token')!;
  const [attacker, bystander] = await Promise.all([SocketClient.open(`ws://${served.url.host}/ws`, token), SocketClient.open(`ws://${served.url.host}/ws`, token)]);
  try {
    assert.ok((await attacker.request('zoo.create', { name: 'hostile' })).ok);
    const started = await attacker.request('import', { zoo: 'hostile', paths: [file] });
    assert.ok(started.ok, JSON.stringify(started));
    const { job } = started.result as { job: JobInfo };
    const info = await bystander.request('engine.info', {});
    assert.ok(info.ok, 'the other client is answered while the hostile import runs');
    const failed = await attacker.until(() => attacker.events.find((e) => e.type === 'job.failed' && e.job.id === job.id));
    assert.ok(failed.type === 'job.failed');
    assert.equal(failed.job.error?.code, 'read_limit_exceeded');
    assert.match(failed.job.error?.message ?? '', /none_flood\.pth/);
    const listed = await bystander.request('zoo.list', {});
    assert.ok(listed.ok, 'still answering after the failed import');
    assert.deepEqual((listed.result as ZooSummary[]).find((z) => z.name === 'hostile')?.checkpointCount, 0);
    assert.equal(served.child.exitCode, null, 'paramzoo serve is still running');
  } finally {
    attacker.socket.close();
    bystander.socket.close();
  }
});

test('the HTTP root serves the built UI, or a page that says it is not built, without the token', async () => {
  const response = await fetch(new URL('/', served.url));
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^text\/html/);
  const body = await response.text();
  const builtIndex = join(PROJECT_ROOT, 'renderer', 'dist', 'index.html');
  if (existsSync(builtIndex)) {
    assert.equal(body, readFileSync(builtIndex, 'utf8'));
  } else {
    assert.match(body, /UI is not built yet/);
    assert.match(body, /renderer\/dist/);
  }
  assert.ok(!body.includes(served.url.searchParams.get('token')!), 'the page does not give the token away');
});

test('SIGTERM with a connected client and a running import: the job is cancelled, the catalog consistent, exit 0', async (t) => {
  const sources = tempDir();
  const paths = Array.from({ length: 200 }, (_, i) => join(sources, `copy-${String(i).padStart(3, '0')}.pth`));
  for (const path of paths) copyFileSync(join(FIXTURES, 'tiny_cnn.pth'), path);
  const client = await SocketClient.open(`ws://${served.url.host}/ws`, served.url.searchParams.get('token')!);
  const closed = new Promise<number>((resolve) => client.socket.on('close', (code) => resolve(code)));
  const started = await client.request('import', { zoo: 'cnn', paths });
  assert.ok(started.ok);
  const { job } = started.result as { job: JobInfo };
  await client.until(() => client.events.find((e) => e.type === 'job.progress' && e.job.id === job.id && e.job.progress.stage.startsWith('importing 2/')));
  const signalledAt = Date.now();
  served.child.kill('SIGTERM');
  assert.equal(await served.exited, 0, served.stderr());
  const exitSeconds = (Date.now() - signalledAt) / 1000;
  assert.equal(await closed, 1001, 'the client is told the engine is going away');
  assert.ok(exitSeconds < 5, `exited ${exitSeconds} s after SIGTERM`);
  t.diagnostic(`exited ${exitSeconds.toFixed(2)} s after SIGTERM`);

  const db = new Database(join(dataDir, 'catalog.sqlite'), { readonly: true });
  try {
    const rows = db.prepare('SELECT id, status FROM jobs ORDER BY created_at').all() as { id: string; status: string }[];
    assert.deepEqual(rows.find((r) => r.id === job.id)?.status, 'cancelled');
    assert.ok(
      rows.every((r) => r.status !== 'running' && r.status !== 'queued'),
      JSON.stringify(rows),
    );
    assert.equal((db.prepare('SELECT COUNT(*) AS n FROM checkpoints').get() as { n: number }).n, 2, 'only the earlier import is in the catalog');
  } finally {
    db.close();
  }
});

test('static files: content types, folders, and nothing outside the UI folder', async () => {
  const root = tempDir();
  const ui = join(root, 'dist');
  mkdirSync(join(ui, 'assets'), { recursive: true });
  writeFileSync(join(ui, 'index.html'), '<!doctype html><title>ParamZoo</title>');
  writeFileSync(join(ui, 'assets', 'app.js'), 'console.log(1)');
  writeFileSync(join(ui, 'assets', 'app.css'), 'body{}');
  writeFileSync(join(ui, 'assets', 'tfjs.wasm'), Buffer.from([0, 97, 115, 109]));
  writeFileSync(join(root, 'secret.txt'), 'not for the browser');
  symlinkSync(join(root, 'secret.txt'), join(ui, 'assets', 'link.txt'));
  const service = createEngineService({ dataDir: tempDir() });
  const server = await startWebServer({ service, port: 0, uiDir: ui });
  try {
    const at = (path: string) => rawGet(server.port, path);
    assert.deepEqual(await at('/'), { status: 200, type: 'text/html; charset=utf-8', body: '<!doctype html><title>ParamZoo</title>' });
    assert.deepEqual(await at('/assets/app.js'), { status: 200, type: 'text/javascript; charset=utf-8', body: 'console.log(1)' });
    assert.equal((await at('/assets/app.css')).type, 'text/css; charset=utf-8');
    assert.equal((await at('/assets/tfjs.wasm')).type, 'application/wasm');
    assert.equal((await at('/assets/')).status, 404, 'a folder without index.html');
    assert.equal((await at('/missing.js')).status, 404);
    for (const path of ['/../secret.txt', '/assets/../../secret.txt', '/..%2fsecret.txt', '/%2e%2e/secret.txt', '/assets/link.txt', '/%00', '/%E0%A4%A']) {
      const response = await at(path);
      assert.equal(response.status, 404, path);
      assert.ok(!response.body.includes('not for the browser'), path);
    }
    const posted = await fetch(`http://127.0.0.1:${server.port}/`, { method: 'POST', body: 'x' });
    assert.equal(posted.status, 405);
  } finally {
    await server.close();
    await service.close();
  }
  await assert.rejects(startWebServer({ service, host: '0.0.0.0', port: 0, uiDir: ui }), { code: 'bad_option', message: /loopback/ });
});
