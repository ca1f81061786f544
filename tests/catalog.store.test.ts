import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openCatalog } from '../engine/catalog/db.js';
import { MIGRATIONS, migrate } from '../engine/catalog/migrations.js';
import { createZoo, listZoos } from '../engine/catalog/zoos.js';
import { insertCheckpoint, listCheckpoints } from '../engine/catalog/checkpoints.js';
import { newId } from '../engine/catalog/ids.js';
import { BlobStore } from '../engine/blobs.js';
import { EngineError } from '../engine/errors.js';
import { listFiles } from './helpers/catalog.js';
import { tempDir } from './helpers/tmp.js';

const TABLES = ['blob_holds', 'checkpoints', 'evaluations', 'generated_models', 'jobs', 'run_checks', 'runs', 'zoos'];

function tablesOf(db: Database.Database): string[] {
  return (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`).all() as { name: string }[]).map((r) => r.name);
}

function addCheckpoint(db: Database.Database, zooId: number, sha256 = 'a'.repeat(64)): string {
  const id = newId('checkpoint');
  insertCheckpoint(db, {
    id,
    zooId,
    source: '/somewhere/model.pth',
    sha256,
    format: 'pth',
    layout: 'state_dict',
    signature: [{ name: 'w', dtype: 'F32', shape: [2] }],
    permutationState: 0,
    condition: null,
    metadata: {},
  });
  return id;
}

test('a new catalog is created at the latest schema, in WAL mode, synchronous FULL, with foreign keys on', () => {
  const dataDir = tempDir();
  const catalog = openCatalog(dataDir);
  try {
    assert.equal(catalog.db.pragma('user_version', { simple: true }), MIGRATIONS.length);
    assert.equal(catalog.db.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(catalog.db.pragma('foreign_keys', { simple: true }), 1);
    // durability as the README states it: every commit's WAL is fsynced (FULL = 2)
    assert.equal(catalog.db.pragma('synchronous', { simple: true }), 2);
    assert.deepEqual(tablesOf(catalog.db), TABLES);
  } finally {
    catalog.close();
  }
  // WAL is a property of the file: a plain second connection sees it too.
  const plain = new Database(join(dataDir, 'catalog.sqlite'));
  assert.equal(plain.pragma('journal_mode', { simple: true }), 'wal');
  plain.close();
});

test('a catalog written by an older version is migrated and keeps its rows', () => {
  const dataDir = tempDir();
  const old = new Database(join(dataDir, 'catalog.sqlite'));
  old.pragma('foreign_keys = ON');
  migrate(old, MIGRATIONS.slice(0, 1));
  assert.equal(old.pragma('user_version', { simple: true }), 1);
  const zoo = createZoo(old, 'legacy');
  const checkpointId = addCheckpoint(old, zoo.id);
  old.close();

  const catalog = openCatalog(dataDir);
  try {
    assert.equal(catalog.db.pragma('user_version', { simple: true }), MIGRATIONS.length);
    assert.deepEqual(tablesOf(catalog.db), TABLES);
    assert.deepEqual(
      listZoos(catalog.db).map((z) => [z.name, z.checkpointCount]),
      [['legacy', 1]],
    );
    assert.equal(listCheckpoints(catalog.db, zoo.id)[0]!.id, checkpointId);
    // the new tables work against the old rows
    catalog.db.prepare(`INSERT INTO runs (id, zoo_id, config, backend, status, created_at, updated_at) VALUES ('run_1', ?, '{}', 'cpu', 'queued', 'now', 'now')`).run(zoo.id);
  } finally {
    catalog.close();
  }
});

test('a failing migration leaves the catalog at the version before it', () => {
  const db = new Database(':memory:');
  const broken = [MIGRATIONS[0]!, 'CREATE TABLE half_done (x INTEGER); INSERT INTO no_such_table VALUES (1);'];
  assert.throws(() => migrate(db, broken), /no such table/);
  assert.equal(db.pragma('user_version', { simple: true }), 1);
  assert.ok(!tablesOf(db).includes('half_done'));
  db.close();
});

test('a catalog from a newer ParamZoo is refused with a clear error', () => {
  const dataDir = tempDir();
  const db = new Database(join(dataDir, 'catalog.sqlite'));
  db.pragma(`user_version = ${MIGRATIONS.length + 5}`);
  db.close();
  assert.throws(
    () => openCatalog(dataDir),
    (error: unknown) => {
      assert.ok(error instanceof EngineError);
      assert.equal(error.code, 'catalog_too_new');
      assert.match(error.message, /catalog\.sqlite/);
      return true;
    },
  );
});

test('foreign keys are enforced: no checkpoint without its zoo, deleting a zoo removes its checkpoints', () => {
  const catalog = openCatalog(tempDir());
  try {
    assert.throws(() => addCheckpoint(catalog.db, 999), /FOREIGN KEY constraint failed/);
    const zoo = createZoo(catalog.db, 'z');
    addCheckpoint(catalog.db, zoo.id);
    catalog.db.prepare('DELETE FROM zoos WHERE id = ?').run(zoo.id);
    assert.equal((catalog.db.prepare('SELECT COUNT(*) AS n FROM checkpoints').get() as { n: number }).n, 0);
  } finally {
    catalog.close();
  }
});

test('zoo names are validated and unique', () => {
  const catalog = openCatalog(tempDir());
  try {
    createZoo(catalog.db, 'mnist-cnn_v1.2');
    assert.throws(() => createZoo(catalog.db, 'mnist-cnn_v1.2'), { code: 'zoo_exists' });
    assert.throws(() => createZoo(catalog.db, '../evil'), { code: 'bad_zoo_name' });
    assert.throws(() => createZoo(catalog.db, ''), { code: 'bad_zoo_name' });
  } finally {
    catalog.close();
  }
});

test('blobs are stored under their sha256, idempotently, from bytes, files or streams', async () => {
  const root = join(tempDir(), 'blobs');
  const blobs = new BlobStore(root);
  const bytes = new TextEncoder().encode('some tensor bytes');
  const expected = createHash('sha256').update(bytes).digest('hex');

  const first = await blobs.putReporting(bytes);
  assert.deepEqual(first, { sha256: expected, created: true });
  assert.equal(blobs.path(expected), join(root, expected.slice(0, 2), expected));
  assert.deepEqual(readFileSync(blobs.path(expected)), Buffer.from(bytes));
  assert.ok(blobs.has(expected));

  assert.deepEqual(await blobs.putReporting(bytes), { sha256: expected, created: false });
  const file = join(tempDir(), 'copy.bin');
  writeFileSync(file, bytes);
  assert.equal(await blobs.put(file), expected);
  async function* chunks() {
    yield bytes.subarray(0, 5);
    yield bytes.subarray(5);
  }
  assert.equal(await blobs.put(chunks()), expected);
  assert.deepEqual(listFiles(root), [join(expected.slice(0, 2), expected)]);
  assert.ok(!blobs.has('0'.repeat(64)));
});

test('a blob write that fails part-way leaves no file under a real name and no temp', async () => {
  const root = join(tempDir(), 'blobs');
  const blobs = new BlobStore(root);
  async function* failingSource() {
    yield new Uint8Array(4096).fill(7);
    throw new Error('disk pulled out');
  }
  await assert.rejects(blobs.put(failingSource()), /disk pulled out/);
  await assert.rejects(blobs.put(join(root, 'no-such-file')), /ENOENT/);
  assert.deepEqual(listFiles(root), []);
});
