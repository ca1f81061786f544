import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { InspectResult } from '../engine/protocol.js';
import { runAll, runCli, runCliJson } from './helpers/cli.js';
import { snapshotCatalog } from './helpers/catalog.js';
import { close, expectedFixtures, FIXTURES, TORCH_TO_DTYPE } from './helpers/fixtures.js';
import { tempDir } from './helpers/tmp.js';

const { good, bad } = expectedFixtures();

test('inspect --json reads every PyTorch fixture as expected.json says', async () => {
  const dataDir = tempDir();
  const names = Object.keys(good);
  const results = await runAll(names.map((name) => () => runCliJson<InspectResult>(['inspect', join(FIXTURES, name), '--data', dataDir])));
  for (const [i, name] of names.entries()) {
    const expected = good[name]!;
    const result = results[i]!;
    assert.equal(result.layout, expected.kind, `${name}: layout`);
    assert.deepEqual(Object.keys(result.tensors).sort(), Object.keys(expected.tensors).sort(), `${name}: tensor names`);
    for (const [tensorName, want] of Object.entries(expected.tensors)) {
      const got = result.tensors[tensorName]!;
      const where = `${name} ${tensorName}`;
      assert.equal(got.dtype, TORCH_TO_DTYPE[want.dtype], `${where}: dtype`);
      assert.deepEqual(got.shape, want.shape, `${where}: shape`);
      assert.ok(close(got.sum, want.sum), `${where}: sum ${got.sum} vs ${want.sum}`);
      assert.equal(got.first.length, want.first.length, `${where}: first values`);
      got.first.forEach((value, k) => {
        assert.ok(close(value, want.first[k]!), `${where}: first[${k}] ${value} vs ${want.first[k]}`);
      });
    }
  }
  // inspecting files never creates a catalog
  assert.deepEqual(snapshotCatalog(dataDir).blobs, []);
});

test('inspect prints a readable table without --json', async () => {
  const run = await runCli(['inspect', join(FIXTURES, 'tiny_cnn.pth'), '--data', tempDir()]);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /format pth, layout state_dict, 15 tensors/);
  assert.match(run.stdout, /^conv1\.weight\s+F32\s+\[8, 1, 3, 3\]/m);
  assert.match(run.stdout, /^bn1\.num_batches_tracked\s+I64\s+\[\]\s+3\s+3$/m);
});

test('every bad fixture is refused by inspect and by import: exit 1, the file and the problem named, catalog untouched', async () => {
  const dataDir = tempDir();
  // A catalog with something in it: one zoo with a checkpoint, one empty zoo to import into.
  await runCliJson(['zoo', 'create', 'full', '--data', dataDir]);
  await runCliJson(['import', 'full', join(FIXTURES, 'tiny_cnn.pth'), '--data', dataDir]);
  await runCliJson(['zoo', 'create', 'empty', '--data', dataDir]);
  const before = snapshotCatalog(dataDir);
  assert.equal(before.blobs.length, 1);

  // Imports alternate between the empty zoo (whose signature a first import would set) and the full one, with --json.
  const runs = await runAll(
    bad.flatMap((name, k) => [
      () => runCli(['inspect', join(FIXTURES, 'bad', name), '--data', dataDir]),
      () => runCli(k % 2 === 0 ? ['import', 'empty', join(FIXTURES, 'bad', name), '--data', dataDir] : ['import', 'full', join(FIXTURES, 'bad', name), '--data', dataDir, '--json']),
    ]),
  );
  for (const [i, run] of runs.entries()) {
    const k = Math.floor(i / 2);
    const name = bad[k]!;
    const what = `${i % 2 === 0 ? 'inspect' : k % 2 === 0 ? 'import into the empty zoo' : 'import --json into the full zoo'} ${name}`;
    assert.equal(run.code, 1, `${what}: exit code\n${run.stderr}`);
    assert.ok(run.stderr.includes(join(FIXTURES, 'bad', name)), `${what}: stderr names the file:\n${run.stderr}`);
    const error = run.stderr.split('\n').find((line) => line.startsWith('paramzoo: ')) ?? '';
    assert.match(error, new RegExp(`${name.replace('.', '\\.')}: \\w+ .{10,}`), `${what}: stderr says what is wrong:\n${run.stderr}`);
    assert.doesNotMatch(run.stderr, /internal error|\n\s+at /, `${what}: a user error, not a crash`);
    if (i % 2 === 1 && k % 2 === 1) assert.ok((JSON.parse(run.stdout) as { error: { code: string } }).error.code.length > 0, `${what}: one JSON document`);
  }
  assert.deepEqual(snapshotCatalog(dataDir), before);
});
