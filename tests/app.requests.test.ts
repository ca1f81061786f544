// The requests the app's views use (engine/service-app.ts), through the service as every host
// reaches it: zoo edits, runs and evaluations, the generator settings the Train form is drawn
// from, uploads (binary chunks into <data>/uploads) and one-time downloads over HTTP.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExportResult, ImportResult, JobInfo, ServerMessage, UploadChunkHeader } from '../engine/protocol.js';
import { createConnection } from '../engine/hosts/connection.js';
import { createEngineService, runJob, type EngineService } from '../engine/service.js';
import { receiveUploadChunk } from '../engine/service-app.js';
import { startWebServer } from '../engine/hosts/web-server.js';
import { DEFAULT_CONFIG } from '../engine/rpg/config.js';
import { FIXTURES } from './helpers/fixtures.js';
import { tempDir } from './helpers/tmp.js';

function frame(header: UploadChunkHeader, data: Buffer): Buffer {
  const head = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(4);
  length.writeUInt32LE(head.length);
  return Buffer.concat([length, head, data]);
}

/** Sends a file as the browser does: chunks of at most `chunk` bytes, in order. */
function sendFile(service: EngineService, upload: string, file: number, bytes: Buffer, chunk = 1000): void {
  for (let offset = 0; offset < bytes.length; offset += chunk) receiveUploadChunk(service, frame({ upload, file, offset }, bytes.subarray(offset, offset + chunk)));
}

async function finished(service: EngineService, job: JobInfo): Promise<JobInfo> {
  for (;;) {
    const now = await service.request('job.get', { id: job.id });
    if (now.status !== 'queued' && now.status !== 'running') return now;
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('generator settings: every config field described with its default; presets complete; validation names the setting', async () => {
  const service = createEngineService({ dataDir: tempDir() });
  try {
    const settings = await service.request('generator.settings', {});
    assert.deepEqual(
      settings.fields.map((f) => f.name).sort(),
      Object.keys(DEFAULT_CONFIG)
        .filter((k) => k !== 'preset')
        .sort(),
    );
    for (const field of settings.fields) assert.deepEqual(field.default, DEFAULT_CONFIG[field.name as keyof typeof DEFAULT_CONFIG], field.name);
    for (const field of settings.fields) assert.notEqual(field.help, field.name, `setting '${field.name}' has a help line`);
    assert.deepEqual(settings.fields.find((f) => f.name === 'recurrent')?.choices, ['lstm', 'mamba', 'transformer']);
    assert.equal(settings.fields.find((f) => f.name === 'denoiserChannels')?.type, 'integer-list');
    assert.equal(settings.fields.find((f) => f.name === 'lr')?.type, 'number');
    assert.deepEqual(
      settings.presets.map((p) => p.name),
      ['tiny', 'digits', 'binary', 'mnist', 'tiny-slim', 'small', 'medium', 'large'],
    );
    assert.equal(settings.presets.find((p) => p.name === 'mnist')?.config.tokenSize, 1024);
    assert.deepEqual(settings.presets.find((p) => p.name === 'tiny-slim')?.config.denoiserChannels, [16, 32, 64, 32, 16]);

    // a zoo of a built-in task with a measured preset gets it as the default ("auto" in the app)
    await service.request('zoo.create', { name: 'fashion', task: 'fashion-cnn' });
    assert.equal((await service.request('generator.validate', { zoo: 'fashion' })).config.preset, 'mnist');
    const valid = await service.request('generator.validate', { preset: 'tiny-slim', set: { steps: 30, denoiserChannels: [8, 8] } });
    assert.equal(valid.config.steps, 30);
    assert.equal(valid.config.preset, 'tiny-slim');
    await assert.rejects(service.request('generator.validate', { set: { kernelSize: 4 } }), { code: 'config', message: /kernelSize.*odd/ });
    await assert.rejects(service.request('generator.validate', { set: { nope: 1 } }), { code: 'config', message: /'nope' does not exist/ });
    await assert.rejects(service.request('generator.validate', { preset: 'huge' }), { code: 'config', message: /not one of tiny/ });
    assert.ok((await service.request('task.list', {})).some((t) => t.id === 'digits-mlp' && t.dataset === 'digits' && t.defaults.seeds! > 0));
  } finally {
    await service.close();
  }
});

test('zoos: rename keeps the checkpoints, deleting checkpoints and zoos removes rows, unknown names are typed errors', async () => {
  const service = createEngineService({ dataDir: tempDir() });
  try {
    await service.request('zoo.create', { name: 'cnn' });
    const imported = (await runJob(service, 'import', { zoo: 'cnn', paths: [join(FIXTURES, 'tiny_cnn.pth'), join(FIXTURES, 'tiny_cnn_legacy.pth')] })) as ImportResult;
    // Statistics pooled over both checkpoints; bn1.num_batches_tracked is an I64 scalar per checkpoint.
    const stats = await service.request('zoo.stats', { name: 'cnn' });
    assert.equal(stats.checkpoints, 2);
    assert.equal(stats.tensors.length, 15);
    assert.equal(stats.tensors[0]!.name, 'conv1.weight');
    const inspected = await service.request('inspect', { path: join(FIXTURES, 'tiny_cnn.pth') });
    const legacy = await service.request('inspect', { path: join(FIXTURES, 'tiny_cnn_legacy.pth') });
    const conv = stats.tensors[0]!;
    const expectedMean = (inspected.tensors['conv1.weight']!.sum + legacy.tensors['conv1.weight']!.sum) / 144;
    assert.ok(Math.abs(conv.mean - expectedMean) < 1e-6, `${conv.mean} vs ${expectedMean}`);
    assert.ok(conv.min < conv.mean && conv.mean < conv.max && conv.std > 0);
    assert.equal(await service.request('zoo.stats', { name: 'cnn' }), stats, 'cached while the zoo is unchanged');
    const usage = await service.request('zoo.usage', {});
    assert.deepEqual(usage.cnn?.formats, ['pth']);
    const blobBytes = (await service.request('zoo.show', { name: 'cnn' })).checkpoints
      .map((c) => c.sha256)
      .filter((sha, i, all) => all.indexOf(sha) === i)
      .reduce((sum, sha) => sum + readFileSync(service.blobs.path(sha)).length, 0);
    assert.equal(usage.cnn?.bytes, blobBytes);
    const renamed = await service.request('zoo.rename', { name: 'cnn', to: 'tiny-cnn' });
    assert.deepEqual([renamed.name, renamed.checkpointCount, renamed.parameterCount], ['tiny-cnn', 2, 1500]);
    await assert.rejects(service.request('zoo.rename', { name: 'cnn', to: 'x' }), { code: 'zoo_not_found' });
    await service.request('zoo.create', { name: 'other' });
    await assert.rejects(service.request('zoo.rename', { name: 'other', to: 'tiny-cnn' }), { code: 'zoo_exists' });
    await assert.rejects(service.request('zoo.rename', { name: 'other', to: '../x' }), { code: 'bad_zoo_name' });

    assert.deepEqual(await service.request('checkpoint.delete', { ids: [imported.imported[0]!.id] }), { deleted: 1 });
    assert.equal((await service.request('zoo.show', { name: 'tiny-cnn' })).checkpoints.length, 1);
    await assert.rejects(service.request('checkpoint.delete', { ids: ['ck_0000000000000000'] }), { code: 'checkpoint_not_found' });
    assert.deepEqual(await service.request('zoo.delete', { name: 'tiny-cnn' }), { deleted: 'tiny-cnn' });
    // Deleting removed rows only; "free space" deletes the blobs nothing references any more.
    const stored = (await service.blobs.list()).length;
    assert.ok(stored >= 1);
    const preview = await service.request('storage.gc', { dryRun: true, graceMinutes: 0 });
    assert.ok(preview.removed === stored && preview.bytesFreed > 0, JSON.stringify(preview));
    const freed = await service.request('storage.gc', { graceMinutes: 0 });
    assert.deepEqual(freed, preview);
    assert.deepEqual(await service.request('storage.gc', { graceMinutes: 0 }), { removed: 0, bytesFreed: 0, kept: 0, blobs: [], tempsRemoved: 0 });
    assert.deepEqual(await service.blobs.list(), []);
    await assert.rejects(service.request('storage.gc', { graceMinutes: -1 }), { code: 'bad_request' });
    assert.deepEqual(
      (await service.request('zoo.list', {})).map((z) => z.name),
      ['other'],
    );
    assert.equal((service.catalog().db.prepare('SELECT COUNT(*) AS n FROM checkpoints').get() as { n: number }).n, 0);
    assert.deepEqual(await service.request('run.list', {}), []);
    assert.deepEqual(await service.request('evaluation.list', {}), []);
    await assert.rejects(service.request('run.show', { id: 'run_0000000000000000' }), { code: 'run_not_found' });
    await assert.rejects(service.request('evaluation.get', { id: 'ev_0000000000000000' }), { code: 'evaluation_not_found' });
    // Params of the wrong type are answered with a typed error naming the parameter.
    const bad: [string, unknown, RegExp][] = [
      ['run.list', { zoo: 3 }, /'zoo'/],
      ['model.list', { run: [] }, /'run'/],
      ['run.show', {}, /'id'/],
      ['zoo.rename', { name: 'other' }, /'to'/],
      ['checkpoint.delete', { ids: 'ck_1' }, /'ids'/],
      ['generator.validate', { set: [1] }, /'set'/],
      ['upload.import', { upload: 'u', zoo: 'z', condition: [2] }, /'condition'/],
      ['download.export', { id: 'ck_1', format: 'onnx' }, /'format'/],
    ];
    for (const [method, params, message] of bad) {
      await assert.rejects(service.request(method as 'run.list', params as never), { code: 'bad_request', message }, method);
    }
  } finally {
    await service.close();
  }
});

test('uploads: paths are plain relative names, sizes within the quota; a complete upload imports and is removed', async () => {
  const dataDir = tempDir();
  const service = createEngineService({ dataDir });
  try {
    const bad: [unknown, RegExp][] = [
      [[{ path: '../x.pth', size: 1 }], /not a plain name/],
      [[{ path: '/etc/passwd', size: 1 }], /not a relative path/],
      [[{ path: 'C:/x.pth', size: 1 }], /not a relative path/],
      [[{ path: 'a\\b.pth', size: 1 }], /not a relative path/],
      [[{ path: 'a//b.pth', size: 1 }], /not a plain name/],
      [[{ path: 'a/./b.pth', size: 1 }], /not a plain name/],
      [
        [
          { path: 'a.pth', size: 1 },
          { path: 'a.pth', size: 1 },
        ],
        /listed twice/,
      ],
      [
        [
          { path: 'a', size: 1 },
          { path: 'a/b', size: 1 },
        ],
        /clash/,
      ],
      [[{ path: 'a.pth', size: -1 }], /no valid size/],
      [[{ path: 'huge.pth', size: 64 * 1024 ** 4 }], /quota/],
      [[], /1 to/],
    ];
    for (const [files, message] of bad) await assert.rejects(service.request('upload.begin', { files: files as never }), { code: 'upload', message }, JSON.stringify(files));

    // A folder (kept with its relative paths) and a file.
    const peft = join(FIXTURES, 'dora_tiny_llama');
    const peftFiles = readdirSync(peft);
    await service.request('zoo.create', { name: 'cnn' });
    const cnn = readFileSync(join(FIXTURES, 'tiny_cnn.pth'));
    const begun = await service.request('upload.begin', { files: [{ path: 'tiny_cnn.pth', size: cnn.length }] });
    assert.equal(begun.maxChunkBytes, 1 << 20);
    // An import that fails names the file as chosen, in the event and in the recorded job.
    const fp16 = readFileSync(join(FIXTURES, 'tiny_cnn_fp16.pth'));
    const wrong = await service.request('upload.begin', { files: [{ path: 'tiny_cnn_fp16.pth', size: fp16.length }] });
    sendFile(service, wrong.upload, 0, fp16);
    await service.request('zoo.create', { name: 'first' });
    await runJob(service, 'import', { zoo: 'first', paths: [join(FIXTURES, 'tiny_cnn.pth')] });
    const failed = await finished(service, (await service.request('upload.import', { upload: wrong.upload, zoo: 'first' })).job);
    assert.equal(failed.status, 'failed');
    assert.match(failed.error!.message, /^tiny_cnn_fp16\.pth does not fit zoo 'first'/);
    assert.ok(!failed.error!.message.includes(join(dataDir, 'uploads')), failed.error!.message);

    // Incomplete: refused, and the upload is gone.
    sendFile(service, begun.upload, 0, cnn.subarray(0, 1000));
    await assert.rejects(service.request('upload.import', { upload: begun.upload, zoo: 'cnn' }), { code: 'upload', message: /has 1000 of/ });
    await assert.rejects(service.request('upload.import', { upload: begun.upload, zoo: 'cnn' }), { code: 'upload', message: /no upload/ });

    // Out of order: refused.
    const again = await service.request('upload.begin', { files: [{ path: 'tiny_cnn.pth', size: cnn.length }] });
    receiveUploadChunk(service, frame({ upload: again.upload, file: 0, offset: 1000 }, cnn.subarray(1000, 2000)));
    await assert.rejects(service.request('upload.import', { upload: again.upload, zoo: 'cnn' }), { code: 'upload', message: /out of order/ });

    const good = await service.request('upload.begin', { files: [{ path: 'tiny_cnn.pth', size: cnn.length }] });
    sendFile(service, good.upload, 0, cnn);
    const { job } = await service.request('upload.import', { upload: good.upload, zoo: 'cnn' });
    const done = await finished(service, job);
    assert.equal(done.status, 'succeeded', JSON.stringify(done.error));
    assert.equal((done.result as ImportResult).imported.length, 1);
    assert.deepEqual(
      (await service.request('zoo.show', { name: 'cnn' })).checkpoints.map((c) => c.source),
      ['upload:tiny_cnn.pth'],
      'the source is the name the user chose',
    );
    assert.deepEqual(readdirSync(join(dataDir, 'uploads')), [], 'the upload was removed after the import');

    await service.request('zoo.create', { name: 'dora' });
    const folder = await service.request('upload.begin', { files: peftFiles.map((name) => ({ path: `adapter/${name}`, size: readFileSync(join(peft, name)).length })) });
    peftFiles.forEach((name, i) => {
      sendFile(service, folder.upload, i, readFileSync(join(peft, name)), 4096);
    });
    const peftJob = await finished(service, (await service.request('upload.import', { upload: folder.upload, zoo: 'dora' })).job);
    assert.equal(peftJob.status, 'succeeded', JSON.stringify(peftJob.error));
    const dora = await service.request('zoo.show', { name: 'dora' });
    assert.deepEqual(
      dora.checkpoints.map((c) => [c.format, c.layout, c.source]),
      [['peft', 'peft_adapter', 'upload:adapter']],
    );
  } finally {
    await service.close();
  }
});

test('downloads: an export into the downloads folder, fetched once over HTTP with a one-time ticket, equal to the stored model', async () => {
  const dataDir = tempDir();
  // Leftovers of an engine that died (pid 999999 is not running; our own pid's folder stays).
  for (const folder of ['uploads/999999-abc/x', 'downloads/999999-def', `downloads/${process.pid}-mine`]) mkdirSync(join(dataDir, folder), { recursive: true });
  const service = createEngineService({ dataDir });
  const server = await startWebServer({ service, port: 0, uiDir: tempDir() });
  assert.deepEqual(readdirSync(join(dataDir, 'uploads')), []);
  assert.deepEqual(readdirSync(join(dataDir, 'downloads')), [`${process.pid}-mine`]);
  try {
    await service.request('zoo.create', { name: 'cnn' });
    const imported = (await runJob(service, 'import', { zoo: 'cnn', paths: [join(FIXTURES, 'tiny_cnn.pth')] })) as ImportResult;
    const id = imported.imported[0]!.id;
    const { job } = await service.request('download.export', { id, format: 'safetensors' });
    const done = await finished(service, job);
    assert.equal(done.status, 'succeeded', JSON.stringify(done.error));
    const result = done.result as ExportResult;
    assert.ok(result.path.startsWith(join(dataDir, 'downloads')), result.path);

    const ticket = await service.request('download.ticket', { job: job.id });
    assert.equal(ticket.name, 'tiny_cnn.safetensors');
    const response = await fetch(`http://127.0.0.1:${server.port}/${ticket.url}`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-disposition') ?? '', /attachment; filename="tiny_cnn.safetensors"/);
    const bytes = Buffer.from(await response.arrayBuffer());
    assert.equal(bytes.length, ticket.size);
    assert.equal(createHash('sha256').update(bytes).digest('hex'), result.sha256);
    assert.equal((await fetch(`http://127.0.0.1:${server.port}/${ticket.url}`)).status, 404, 'a ticket works once');
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(!existsSync(result.path), 'the exported file is removed once sent');
    assert.equal((await fetch(`http://127.0.0.1:${server.port}/download/${'A'.repeat(32)}`)).status, 404);

    await assert.rejects(service.request('download.ticket', { job: imported.imported[0]!.id }), { code: 'no_download' });
    const exportElsewhere = (await service.request('export', { id, out: join(tempDir(), 'x.safetensors') })).job;
    await finished(service, exportElsewhere);
    await assert.rejects(service.request('download.ticket', { job: exportElsewhere.id }), { code: 'no_download' }, 'only files in the downloads folder');
    await assert.rejects(service.request('download.export', { id, format: 'peft' }), { code: 'bad_option' });
  } finally {
    await server.close();
    await service.close();
  }
});

test('every message is checked at the boundary: wrong types and unknown parameters are typed errors naming them', async () => {
  const service = createEngineService({ dataDir: tempDir() });
  const answers: ServerMessage[] = [];
  const connection = createConnection(service, (message) => answers.push(message));
  const ask = async (method: string, params: unknown) => {
    const id = answers.length + 1000;
    await connection.receive({ id, method, params });
    return answers.find((a): a is Extract<ServerMessage, { id: number }> => 'id' in a && a.id === id)!;
  };
  try {
    const cases: [string, unknown, RegExp][] = [
      ['zoo.create', { name: 7 }, /'name' must be a non-empty string, got 7/],
      ['zoo.create', { name: 'a', tsak: 'digits-mlp' }, /no parameter 'tsak'/],
      ['zoo.list', { extra: 1 }, /no parameter 'extra'/],
      ['collect', { task: 'digits-mlp', zoo: 'd', seeds: 1.5 }, /'seeds' must be an integer, got 1.5/],
      ['generate', { run: 'run_1', sampler: 'euler' }, /'sampler' must be one of ddpm, ddim/],
      ['train', { zoo: 'z', set: [1] }, /'set' must be an object/],
      ['import', { zoo: 'z', paths: ['a', 3] }, /'paths\[1\]' must be a non-empty string/],
      ['upload.begin', { files: [{ path: 'a', size: '10' }] }, /'files\[0\].size' must be an integer/],
      ['export', { id: 'ck_1', out: '/tmp/x', force: 'yes' }, /'force' must be true or false/],
    ];
    for (const [method, params, message] of cases) {
      const answer = await ask(method, params);
      assert.ok(!answer.ok, `${method} ${JSON.stringify(params)} was accepted`);
      assert.equal(answer.error.code, 'bad_request', method);
      assert.match(answer.error.message, message);
    }
    assert.deepEqual(await service.request('zoo.list', {}), [], 'nothing ran');
    const fine = await ask('zoo.create', { name: 'ok' });
    assert.ok(fine.ok, JSON.stringify(fine));
  } finally {
    connection.close();
    await service.close();
  }
});
