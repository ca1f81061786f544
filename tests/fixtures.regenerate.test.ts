// tests/fixtures/make-fixtures.py regenerates the checkpoint fixtures: the same files, the same tensor
// names, dtypes and shapes as the committed set, and ParamZoo reads every regenerated file as the
// regenerated expected.json says (values differ from the committed set: its seeds are lost).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { EngineError } from '../engine/errors.js';
import { inspectCheckpoint } from '../engine/formats/index.js';
import { PROJECT_ROOT } from './helpers/cli.js';
import { close, FIXTURES, TORCH_TO_DTYPE, type ExpectedFixture } from './helpers/fixtures.js';
import { tempDir } from './helpers/tmp.js';
import { SYSTEM_PYTHON, skipWithoutTorch } from './helpers/torch.js';

function files(root: string, dir = root): string[] {
  return readdirSync(dir)
    .flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? files(root, path) : [relative(root, path)];
    })
    .sort();
}

test('make-fixtures.py regenerates every fixture, and ParamZoo reads each as its expected.json says', { skip: skipWithoutTorch() }, async () => {
  const out = tempDir();
  execFileSync(SYSTEM_PYTHON, [join(PROJECT_ROOT, 'tests', 'fixtures', 'make-fixtures.py'), out], {
    stdio: ['ignore', 'ignore', 'pipe'],
    timeout: 120_000,
    env: { ...process.env, OMP_NUM_THREADS: '1' },
  });
  assert.deepEqual(
    files(out),
    files(FIXTURES).filter((f) => f !== 'README.md'),
    'the same files',
  );

  const committed = JSON.parse(readFileSync(join(FIXTURES, 'expected.json'), 'utf8')) as Record<string, unknown>;
  const regenerated = JSON.parse(readFileSync(join(out, 'expected.json'), 'utf8')) as Record<string, unknown>;
  assert.deepEqual(Object.keys(regenerated).sort(), Object.keys(committed).sort(), 'the same fixtures');
  assert.deepEqual(regenerated.bad, committed.bad);
  const layout = (fixture: ExpectedFixture) => Object.fromEntries(Object.entries(fixture.tensors).map(([name, t]) => [name, [t.dtype, t.shape]]));
  for (const key of Object.keys(committed).filter((k) => k !== 'bad')) {
    const want = regenerated[key] as ExpectedFixture;
    assert.equal(want.kind, (committed[key] as ExpectedFixture).kind, key);
    assert.deepEqual(layout(want), layout(committed[key] as ExpectedFixture), `${key}: names, dtypes, shapes`);
    const got = await inspectCheckpoint(join(out, key));
    assert.deepEqual(Object.keys(got.tensors).sort(), Object.keys(want.tensors).sort(), key);
    for (const [name, t] of Object.entries(want.tensors)) {
      const tensor = got.tensors[name]!;
      assert.equal(tensor.dtype, TORCH_TO_DTYPE[t.dtype], `${key} ${name}`);
      assert.deepEqual(tensor.shape, t.shape, `${key} ${name}`);
      assert.ok(close(tensor.sum, t.sum), `${key} ${name}: sum ${tensor.sum} vs ${t.sum}`);
      assert.deepEqual(tensor.first.length, t.first.length, `${key} ${name}`);
      tensor.first.forEach((v, i) => {
        assert.ok(close(v, t.first[i]!), `${key} ${name}: first[${i}] ${v} vs ${t.first[i]}`);
      });
    }
  }
  for (const file of Object.keys(regenerated.bad as object)) {
    await assert.rejects(inspectCheckpoint(join(out, 'bad', file)), EngineError, `bad/${file} is refused`);
  }
});
