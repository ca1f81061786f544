// Uploads under attack (issue 11, DESIGN.md Storage): a client that holds the token sends hostile
// upload paths ('..', absolute, drive and UNC names, control characters), lies about sizes, floods
// the quota and plants links. Everything goes through a connection, as the WebSocket and Electron
// hosts hand messages over. Every refusal is a typed error (never `internal`), and nothing is ever
// written outside <data>/uploads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import type { EngineErrorInfo, JobInfo, ServerMessage, UploadChunkHeader } from '../engine/protocol.js';
import { createConnection } from '../engine/hosts/connection.js';
import { createEngineService, type EngineService } from '../engine/service.js';
import { FIXTURES } from './helpers/fixtures.js';
import { tempDir } from './helpers/tmp.js';

// The upload area reads its quota when the service first uses it: 1 MB here.
const QUOTA = 1_000_000;
process.env.PARAMZOO_UPLOAD_QUOTA = String(QUOTA);

class RequestError extends Error {
  constructor(readonly info: EngineErrorInfo) {
    super(info.message);
  }
}

/** One client of the engine, exactly as a host drives it (engine/hosts/connection.ts). */
function client(service: EngineService) {
  let nextId = 1;
  const waiting = new Map<number, (message: ServerMessage) => void>();
  const connection = createConnection(service, (message) => {
    if ('id' in message) {
      waiting.get(message.id)?.(message);
      waiting.delete(message.id);
    }
  });
  return {
    // biome-ignore lint/suspicious/noExplicitAny: callers name the result type they expect, as the engine's own client does
    async request<T = any>(method: string, params: unknown): Promise<T> {
      const id = nextId++;
      const answer = new Promise<ServerMessage>((resolve) => waiting.set(id, resolve));
      await connection.receive({ id, method, params });
      const message = (await answer) as { ok: boolean; result?: T; error?: EngineErrorInfo };
      if (message.ok) return message.result as T;
      throw new RequestError(message.error!);
    },
    chunk(header: UploadChunkHeader | Record<string, unknown>, data: Buffer): Promise<void> {
      const head = Buffer.from(JSON.stringify(header));
      const length = Buffer.alloc(4);
      length.writeUInt32LE(head.length);
      return connection.receiveBinary(Buffer.concat([length, head, data]));
    },
    close: () => connection.close(),
  };
}
type Client = ReturnType<typeof client>;

async function refused(promise: Promise<unknown>, what: string): Promise<EngineErrorInfo> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof RequestError, `${what}: ${String(error)}`);
    assert.ok(['upload', 'bad_request'].includes(error.info.code), `${what}: answered ${error.info.code}: ${error.info.message}`);
    return error.info;
  }
  assert.fail(`${what} was accepted`);
}

async function finished(c: Client, job: JobInfo): Promise<JobInfo> {
  for (;;) {
    const now = await c.request<JobInfo>('job.get', { id: job.id });
    if (now.status !== 'queued' && now.status !== 'running') return now;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Every path under `root` (lstat: links are listed, not followed). */
function walk(root: string, out = new Set<string>()): Set<string> {
  for (const name of readdirSync(root)) {
    const path = join(root, name);
    out.add(path);
    if (lstatSync(path).isDirectory()) walk(path, out);
  }
  return out;
}

/** A data folder inside a sandbox with a sibling folder a `..` would reach. */
function sandbox() {
  const root = tempDir();
  const dataDir = join(root, 'data');
  mkdirSync(join(root, 'outside'));
  const service = createEngineService({ dataDir });
  return { root, dataDir, uploads: join(dataDir, 'uploads'), service };
}

/** Asserts that what appeared under `root` since `before` lies inside <data>/uploads (the catalog's own files aside). */
function assertOnlyUploadsWritten(root: string, dataDir: string, before: Set<string>, what: string): void {
  const uploads = join(dataDir, 'uploads');
  const created = [...walk(root)].filter((path) => !before.has(path)).filter((path) => !(path.startsWith(join(dataDir, 'catalog.sqlite')) || path === uploads || path.startsWith(uploads + sep)));
  assert.deepEqual(
    created.map((p) => relative(root, p)),
    [],
    `${what}: written outside <data>/uploads`,
  );
}

const HOSTILE_PATHS: string[] = [
  '..',
  '../x.pth',
  '../outside/x.pth',
  'a/../../outside/x.pth',
  'a/..',
  'a/b/../../../outside/x.pth',
  '/etc/passwd',
  '/tmp/paramzoo-upload-escape.pth',
  '//server/share/x.pth',
  'C:/x.pth',
  'C:x.pth',
  'c:\\x.pth',
  '\\\\server\\share\\x.pth',
  'a\\..\\..\\outside\\x.pth',
  '..\\outside\\x.pth',
  '.',
  './x.pth',
  'a/./b.pth',
  'a//b.pth',
  'a/',
  '/',
  '',
  'a\0b.pth',
  '../\0',
  'a/\x1b[31mred/b.pth',
  'line\nbreak.pth',
  'x'.repeat(5000),
  `${'d/'.repeat(3000)}x.pth`,
];

test('hostile upload paths are refused with typed errors; nothing is written outside <data>/uploads', async () => {
  const { root, dataDir, uploads, service } = sandbox();
  const c = client(service);
  try {
    await c.request('zoo.create', { name: 'z' });
    const before = walk(root);
    for (const path of HOSTILE_PATHS) {
      await refused(c.request('upload.begin', { files: [{ path, size: 1 }] }), JSON.stringify(path));
      // one hostile name among good ones refuses the whole upload, before anything is created
      await refused(
        c.request('upload.begin', {
          files: [
            { path: 'good/a.pth', size: 1 },
            { path, size: 1 },
          ],
        }),
        `${JSON.stringify(path)} among good names`,
      );
    }
    // not strings, not objects: refused at the boundary
    for (const files of [[{ path: 5, size: 1 }], [{ path: ['..', 'x'], size: 1 }], [{ path: { toString: '..' }, size: 1 }], ['../x.pth'], [null], '../x.pth']) {
      await refused(c.request('upload.begin', { files }), JSON.stringify(files));
    }
    assert.deepEqual(existsSync(uploads) ? readdirSync(uploads) : [], [], 'a refused upload leaves no folder');
    assert.equal(existsSync('/tmp/paramzoo-upload-escape.pth'), false);
    assertOnlyUploadsWritten(root, dataDir, before, 'refused uploads');

    // Odd but plain names are accepted, and stay inside the upload's folder as regular files.
    const odd = ['%2e%2e/x.pth', '~/x.pth', '…/x.pth', '．．/x.pth', 'x.pth ', ' ..a', '...', 'link -> ..', '$HOME/x.pth'];
    const begun = await c.request<{ upload: string }>('upload.begin', { files: odd.map((path) => ({ path, size: 1 })) });
    const dir = join(uploads, begun.upload);
    for (const i of odd.keys()) await c.chunk({ upload: begun.upload, file: i, offset: 0 }, Buffer.from('x'));
    const inside = [...walk(dir)];
    for (const path of odd) assert.ok(inside.includes(join(dir, ...path.split('/'))), `${JSON.stringify(path)} stored inside the upload`);
    for (const path of inside) assert.ok(!lstatSync(path).isSymbolicLink(), `${path} is a link`);
    assertOnlyUploadsWritten(root, dataDir, before, 'odd names');
    await c.request('upload.cancel', { upload: begun.upload });
    assert.equal(existsSync(dir), false, 'cancel removes the upload');
  } finally {
    c.close();
    await service.close();
  }
});

test("hostile chunks: out of range, out of order, beyond the announced size, foreign uploads: typed refusals, no byte past a file's size", async () => {
  const { root, dataDir, uploads, service } = sandbox();
  const c = client(service);
  try {
    await c.request('zoo.create', { name: 'z' });
    const before = walk(root);
    const { upload } = await c.request<{ upload: string }>('upload.begin', { files: [{ path: 'a.pth', size: 10 }] });
    const file = join(uploads, upload, 'a.pth');
    // Frames that name no upload of ours, or that do not parse, are dropped.
    for (const header of [
      { upload: '__proto__', file: 0, offset: 0 },
      { upload: '../..', file: 0, offset: 0 },
      { upload: 'nope', file: 0, offset: 0 },
    ]) {
      await c.chunk(header, Buffer.alloc(100, 1));
    }
    await c.chunk({ upload, file: 0, offset: 0 }, Buffer.from('0123456789'));
    assert.equal(statSync(file).size, 10);
    // More bytes than announced: refused, the file keeps its size.
    await c.chunk({ upload, file: 0, offset: 10 }, Buffer.alloc(1000, 7));
    assert.equal(statSync(file).size, 10);
    const info = await refused(c.request('upload.import', { upload, zoo: 'z' }), 'an upload that got too many bytes');
    assert.match(info.message, /more bytes than its announced 10/);
    assert.equal(existsSync(join(uploads, upload)), false, 'a refused import removes its upload');

    // File indexes that are no file of the upload (array properties included), offsets that skip.
    for (const [file, offset] of [
      [1, 0],
      [-1, 0],
      ['length', 1],
      ['__proto__', 0],
      ['constructor', 0],
      [0.5, 0],
      [0, 5],
      [0, -1],
      [0, 1e20],
    ] as const) {
      const begun = await c.request<{ upload: string }>('upload.begin', { files: [{ path: 'b.pth', size: 3 }] });
      await c.chunk({ upload: begun.upload, file, offset }, Buffer.from('abc'));
      const target = join(uploads, begun.upload, 'b.pth');
      assert.equal(statSync(target).size, 0, `file ${String(file)} offset ${offset}: nothing written`);
      await refused(c.request('upload.import', { upload: begun.upload, zoo: 'z' }), `file ${String(file)} offset ${offset}`);
    }
    // Sizes that lie the other way: fewer bytes than announced.
    const short = await c.request<{ upload: string }>('upload.begin', { files: [{ path: 'c.pth', size: 10 }] });
    await c.chunk({ upload: short.upload, file: 0, offset: 0 }, Buffer.from('01234'));
    assert.match((await refused(c.request('upload.import', { upload: short.upload, zoo: 'z' }), 'a short upload')).message, /has 5 of 10 bytes/);
    assertOnlyUploadsWritten(root, dataDir, before, 'hostile chunks');
    assert.deepEqual(readdirSync(uploads), []);
  } finally {
    c.close();
    await service.close();
  }
});

test('over quota: one upload or all in flight together above the quota is refused before any byte is stored', async () => {
  const { uploads, service } = sandbox();
  const c = client(service);
  try {
    for (const files of [
      [{ path: 'huge.pth', size: QUOTA + 1 }],
      [{ path: 'max.pth', size: Number.MAX_SAFE_INTEGER }],
      Array.from({ length: 11 }, (_, i) => ({ path: `part${i}.pth`, size: 100_000 })),
      [
        { path: 'a.pth', size: QUOTA },
        { path: 'b.pth', size: 1 },
      ],
      Array.from({ length: 10_001 }, (_, i) => ({ path: `f${i}`, size: 0 })),
    ]) {
      const info = await refused(c.request('upload.begin', { files }), `${files.length} files of ${files[0]!.size} bytes`);
      assert.match(info.message, /quota|1 to 10000 files/);
    }
    assert.deepEqual(existsSync(uploads) ? readdirSync(uploads) : [], []);

    // In flight together: 600 kB, then another 600 kB is refused until the first is cancelled.
    const first = await c.request<{ upload: string }>('upload.begin', { files: [{ path: 'a.pth', size: 600_000 }] });
    const info = await refused(c.request('upload.begin', { files: [{ path: 'b.pth', size: 600_000 }] }), 'a second upload over the quota');
    assert.match(info.message, /quota \(1000000 bytes, 600000 in use\)/);
    await c.request('upload.cancel', { upload: first.upload });
    const second = await c.request<{ upload: string }>('upload.begin', { files: [{ path: 'b.pth', size: 600_000 }] });
    // Bytes on disk never exceed what was announced, so never the quota.
    for (let offset = 0; offset < 700_000; offset += 100_000) await c.chunk({ upload: second.upload, file: 0, offset }, Buffer.alloc(100_000, 1));
    const stored = [...walk(uploads)].filter((p) => lstatSync(p).isFile()).reduce((sum, p) => sum + statSync(p).size, 0);
    assert.ok(stored <= QUOTA, `${stored} bytes stored`);
    await refused(c.request('upload.import', { upload: second.upload, zoo: 'z' }), 'an upload sent past its size');
  } finally {
    c.close();
    await service.close();
  }
});

test('links: the engine creates every upload file itself (none is a link); a link planted in an upload folder is refused at import, never read', async () => {
  const { root, uploads, service } = sandbox();
  const c = client(service);
  const secret = join(root, 'outside', 'secret.json');
  writeFileSync(secret, JSON.stringify({ peft_type: 'LORA', secret: 'PARAMZOO_UPLOAD_SECRET_51c2' }));
  try {
    await c.request('zoo.create', { name: 'dora' });
    const peft = join(FIXTURES, 'dora_tiny_llama');
    const names = readdirSync(peft);
    const begun = await c.request<{ upload: string }>('upload.begin', { files: names.map((name) => ({ path: `adapter/${name}`, size: statSync(join(peft, name)).size })) });
    for (const [i, name] of names.entries()) await c.chunk({ upload: begun.upload, file: i, offset: 0 }, readFileSync(join(peft, name)));
    const dir = join(uploads, begun.upload);
    for (const path of walk(dir)) assert.ok(!lstatSync(path).isSymbolicLink(), `${path} is a link`);

    // Another local process swaps the config for a link out of the folder before the import.
    const config = join(dir, 'adapter', 'adapter_config.json');
    rmSync(config);
    symlinkSync(secret, config);
    const { job } = await c.request<{ job: JobInfo }>('upload.import', { upload: begun.upload, zoo: 'dora' });
    const done = await finished(c, job);
    assert.equal(done.status, 'failed');
    assert.notEqual(done.error!.code, 'internal', done.error!.message);
    assert.match(done.error!.message, /adapter_config\.json.*is a link to .*outside the checkpoint folder/);
    assert.ok(!JSON.stringify(done).includes('PARAMZOO_UPLOAD_SECRET_51c2'), 'the linked file was read');
    assert.deepEqual((await c.request<{ checkpoints: unknown[] }>('zoo.show', { name: 'dora' })).checkpoints, []);
    assert.equal(existsSync(dir), false, 'the upload is removed after the failed import');
    assert.ok(existsSync(secret), 'the link target is untouched');
  } finally {
    c.close();
    await service.close();
  }
});

// A hole these tests found (fixed in engine/uploads.ts, 1e6f998): a name of at most 255 characters
// can be more than 255 bytes (NAME_MAX) in UTF-8, and a long path plus the data folder can pass
// PATH_MAX; begin() then failed with a raw ENAMETOOLONG (answered `internal`, naming the engine's
// own folders) and left the upload's folder behind until the engine restarted.
test('names too long for the file system (bytes, not characters) are refused as typed upload errors, leaving no folder', async () => {
  const { uploads, service } = sandbox();
  const c = client(service);
  try {
    for (const path of [`${'é'.repeat(200)}.pth`, `${'€'.repeat(100)}/x.pth`, `${`${'d'.repeat(250)}/`.repeat(16)}x.pth`]) {
      const info = await refused(
        c.request('upload.begin', {
          files: [
            { path: 'first.pth', size: 1 },
            { path, size: 1 },
          ],
        }),
        `${path.length}-character name`,
      );
      assert.equal(info.code, 'upload');
      assert.ok(!info.message.includes(uploads), "the message names the engine's own folders");
    }
    assert.deepEqual(existsSync(uploads) ? readdirSync(uploads) : [], [], 'no folder is left behind');
  } finally {
    c.close();
    await service.close();
  }
});
