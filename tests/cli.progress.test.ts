// The CLI's progress display (engine/cli/progress.ts): a bar redrawn in place on a terminal, plain
// lines when stderr is a file or pipe, nothing with silence; and what a real command prints on a pipe.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { ProgressReporter, type ProgressMode } from '../engine/cli/progress.js';
import type { JobProgress } from '../engine/protocol.js';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/tmp.js';

function reporter(mode: ProgressMode): { progress: ProgressReporter; written: string[] } {
  const written: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      written.push(chunk.toString('utf8'));
      done();
    },
  });
  return { progress: new ProgressReporter(stream, mode, 'train'), written };
}

const at = (fraction: number, stage: string, etaSeconds: number | null = null): JobProgress => ({ fraction, stage, etaSeconds, metrics: {} });

test('on a terminal: one bar redrawn in place with percent, stage and ETA, at most every 100 ms unless the stage changes; finish clears it', (t) => {
  t.mock.timers.enable({ apis: ['Date'], now: 1_000_000 });
  const { progress, written } = reporter('bar');
  progress.update(at(0.5, 'step 10/20', 90));
  assert.deepEqual(written, [`\r\x1b[2Ktrain ${'█'.repeat(12)}${'░'.repeat(12)}  50% step 10/20 · ETA 1m30s`]);
  t.mock.timers.tick(50);
  progress.update(at(0.55, 'step 11/20', 80));
  assert.equal(written.length, 1, 'not redrawn within 100 ms for a count');
  progress.update(at(0.55, 'checking 3 models'));
  assert.equal(written.length, 2, 'a new stage is drawn at once');
  assert.ok(written[1]!.endsWith(' 55% checking 3 models'), written[1]);
  t.mock.timers.tick(100);
  progress.update(at(1, 'done'));
  assert.ok(written[2]!.includes('█'.repeat(24)) && written[2]!.includes('100% done'), written[2]);
  progress.finish();
  assert.equal(written.at(-1), '\r\x1b[2K');
  progress.finish();
  assert.equal(written.length, 4, 'a second finish writes nothing');
});

test('on a pipe: whole lines, a count every 2 s at most, a new stage at once; off writes nothing', (t) => {
  t.mock.timers.enable({ apis: ['Date'], now: 1_000_000 });
  const { progress, written } = reporter('lines');
  progress.update(at(0.1, 'importing 1/10'));
  progress.update(at(0.2, 'importing 2/10'));
  t.mock.timers.tick(1999);
  progress.update(at(0.3, 'importing 3/10'));
  t.mock.timers.tick(1);
  progress.update(at(0.4, 'importing 4/10', 5));
  progress.update(at(0.9, 'writing'));
  progress.finish();
  assert.deepEqual(written, ['train:  10% importing 1/10\n', 'train:  40% importing 4/10 · ETA 5s\n', 'train:  90% writing\n']);

  const silent = reporter('off');
  silent.progress.update(at(0.5, 'anything'));
  silent.progress.finish();
  assert.deepEqual(silent.written, []);
});

test('a real command on a pipe prints its progress as lines on stderr, and none with --json', async () => {
  const data = tempDir();
  const plain = await runCli(['collect', 'digits-mlp', '--zoo', 'z', '--seeds', '1', '--checkpoints', '1', '--epochs', '1', '--data', data]);
  assert.equal(plain.code, 0, plain.stderr);
  const lines = plain.stderr.split('\n').filter(Boolean);
  assert.ok(lines.length >= 2, plain.stderr);
  for (const line of lines) assert.match(line, /^collect: +\d+% /, 'every line a whole progress line, no bar codes');
  assert.ok(!plain.stderr.includes('\r'), 'nothing redrawn on a pipe');
  const json = await runCli(['collect', 'digits-mlp', '--zoo', 'y', '--seeds', '1', '--checkpoints', '1', '--epochs', '1', '--json', '--data', data]);
  assert.equal(json.code, 0, json.stderr);
  assert.equal(json.stderr, '', 'with --json on a pipe stderr stays quiet');
  assert.equal((JSON.parse(json.stdout) as { checkpoints: number }).checkpoints, 1);
});
