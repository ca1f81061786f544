// Hostile files (issue 11): each is built here exactly as reported, refused with a typed error that
// names the file and the read limit, through the real CLI (exit 1, never a crash), within a
// stated peak memory. Legitimate fixtures all read within the default limits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, openSync, closeSync, ftruncateSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EngineError, CancelledError } from '../engine/errors.js';
import { openCheckpoint, inspectCheckpoint, DEFAULT_LIMITS, ReadLimitError } from '../engine/formats/index.js';
import { BASE_CALLABLES, unpickle } from '../engine/formats/pickle.js';
import { ZipReader } from '../engine/formats/zip.js';
import { PROJECT_ROOT } from './helpers/cli.js';
import { expectedFixtures, FIXTURES } from './helpers/fixtures.js';
import { buildZip, PickleBuilder, safetensorsFile, stateDictPickle, torchZip, writeBytes, zeroBomb } from './helpers/hostile.js';
import { tempDir } from './helpers/tmp.js';

const dir = tempDir('paramzoo-hostile-');
/** what one hostile file may cost the CLI process, everything included (node + tsx alone is ~100 MB) */
const PEAK_RSS_BOUND_MB = 450;

function refusedWith(limit: string | RegExp, file: string) {
  return (error: unknown) => {
    assert.ok(error instanceof EngineError, `not an EngineError: ${String((error as Error)?.stack ?? error)}`);
    assert.ok(error.message.includes(file), `message does not name ${file}: ${error.message}`);
    if (typeof limit === 'string') {
      assert.ok(error instanceof ReadLimitError, `not a ReadLimitError: ${error.message}`);
      assert.equal(error.limit, limit, error.message);
      assert.match(error.message, new RegExp(`read limit ${limit}`));
    } else assert.match(error.message, limit);
    return true;
  };
}

async function refuses(path: string, limit: string | RegExp): Promise<void> {
  await assert.rejects(
    async () => {
      const opened = await openCheckpoint(path);
      try {
        for (const tensor of opened.tensors) await tensor.read();
      } finally {
        await opened.close();
      }
    },
    refusedWith(limit, path),
  );
}

// ---- the files, as the issue reports them ------------------------------------------------------

const files: Record<string, { path: string; limit: string | RegExp }> = {};

function hostile(name: string, bytes: Uint8Array, limit: string | RegExp): string {
  const path = writeBytes(join(dir, name), bytes);
  files[name] = { path, limit };
  return path;
}

// 140 million NONE opcodes, deflated: a 136 KB .pth
const noneFlood = (() => {
  const pickle = Buffer.alloc(140_000_003, 0x4e);
  pickle[0] = 0x80;
  pickle[1] = 0x02;
  pickle[pickle.length - 1] = 0x2e;
  return hostile('none_flood.pth', torchZip(pickle, {}, { deflatePickle: true }), 'decodedRatio');
})();

// one 400 KB LONG4 (quadratic big-integer decoding)
const hugeLong = (() => {
  const p = new PickleBuilder().op(0x8b).u32(400_000).raw(new Uint8Array(400_000).fill(0x7f)).stop();
  return hostile('huge_long.pth', torchZip(p.bytes()), 'pickleIntBytes');
})();

// a 1 MB compressed storage inflating to 2.2 GB, read by many tensors
const inflateBomb = (() => {
  const bomb = zeroBomb(2200);
  const tensors = Array.from({ length: 8 }, (_, i) => ({ name: `t${i}`, key: '0', numel: 2200 * 262144, offset: i, shape: [4], stride: [1] }));
  return hostile(
    'inflate_bomb.pth',
    buildZip([
      { name: 'archive/data.pkl', data: stateDictPickle(tensors) },
      { name: 'archive/data/0', data: new Uint8Array(), compressed: bomb },
    ]),
    'decodedRatio',
  );
})();

// a 1 KB file whose stride-0 views expand to hundreds of MB
const strideZero = (() => {
  const tensors = Array.from({ length: 16 }, (_, i) => ({ name: `v${i}`, key: '0', numel: 1, shape: [1 << 24], stride: [0] }));
  return hostile('stride_zero.pth', torchZip(stateDictPickle(tensors), { 0: new Uint8Array(4) }), 'tensorRatio');
})();

// a 1 MB pickle copying a 100 000-item list again and again with the allowed list()
const listCopies = (() => {
  const p = new PickleBuilder();
  p.global('builtins', 'list');
  const listGlobal = p.put();
  p.op(0x5d);
  const items = p.put();
  p.mark();
  for (let i = 0; i < 100_000; i++) p.op(0x4e);
  p.op(0x65); // APPENDS
  while (p.bytes().length < 1_000_000) {
    for (let i = 0; i < 1000; i++) p.get(listGlobal).get(items).op(0x85).reduce().op(0x30);
  }
  return hostile('list_copies.pth', torchZip(p.stop().bytes()), 'pickleHeapRatio');
})();

// an 89 MB safetensors header of 1.5 million empty tensors
const manyTensors = (() => {
  const parts: string[] = [];
  for (let i = 0; i < 1_500_000; i++) parts.push(`"tensor.${i}":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}`);
  return hostile('many_tensors.safetensors', safetensorsFile(`{${parts.join(',')}}`), 'tensorCount');
})();

// deeply nested lists (bottom-up), a million MARKs, and a top-down nesting trick
const deepLists = (() => {
  const p = new PickleBuilder().global('collections', 'OrderedDict').emptyTuple().reduce().str('x');
  for (let i = 0; i < 1_000_000; i++) p.op(0x5d);
  for (let i = 0; i < 999_999; i++) p.op(0x61);
  return hostile('deep_lists.pth', torchZip(p.op(0x73).stop().bytes()), 'pickleDepth');
})();
const deepMarks = (() => {
  const p = new PickleBuilder();
  for (let i = 0; i < 1_000_000; i++) p.op(0x28);
  return hostile('deep_marks.pth', torchZip(p.op(0x4e).stop().bytes()), 'pickleDepth');
})();
const topDown = (() => {
  // lists L0..Ln memoised; L(i+1) appended to L(i) in order, after L(i) is already inside L(i-1)
  const p = new PickleBuilder();
  const n = 10_000;
  const memo: number[] = [];
  for (let i = 0; i < n; i++) {
    p.op(0x5d);
    memo.push(p.put());
    p.op(0x30);
  }
  for (let i = 0; i + 1 < n; i++)
    p.get(memo[i]!)
      .get(memo[i + 1]!)
      .op(0x61, 0x30);
  return hostile('top_down.pth', torchZip(p.get(memo[0]!).stop().bytes()), /changes a container after placing it inside another/);
})();

// storage classes named like Object.prototype's own properties
const constructorClass = hostile(
  'constructor_storage.pth',
  torchZip(stateDictPickle([{ name: 'w', storageClass: 'constructor', key: '0', numel: 1, shape: [1], stride: [1] }]), { 0: new Uint8Array(4) }),
  /storage 0 has type torch\.constructor/,
);
const protoClass = hostile(
  'proto_storage.pth',
  torchZip(stateDictPickle([{ name: 'w', storageClass: '__proto__', key: '0', numel: 1, shape: [1], stride: [1] }]), { 0: new Uint8Array(4) }),
  /storage 0 has type torch\.__proto__/,
);

// a stored zip record claiming more bytes than it holds (PyTorch refuses it), duplicate names and keys
const goodPickle = stateDictPickle([{ name: 'w', key: '0', numel: 2, shape: [2], stride: [1] }]);
const storedLie = hostile(
  'stored_lie.pth',
  buildZip([
    { name: 'archive/data.pkl', data: stateDictPickle([{ name: 'w', key: '0', numel: 1024, shape: [1024], stride: [1] }]) },
    { name: 'archive/data/0', data: new Uint8Array(8), claimedSize: 4096 },
    { name: 'archive/version', data: Buffer.from('3\n') },
  ]),
  /stored \(uncompressed\) with 8 bytes but claims 4096/,
);
const duplicateNames = hostile(
  'duplicate_names.pth',
  buildZip([
    { name: 'archive/data.pkl', data: goodPickle },
    { name: 'archive/data/0', data: new Uint8Array(8) },
    { name: 'archive/data/0', data: new Uint8Array(8).fill(1) },
  ]),
  /two entries named archive\/data\/0/,
);
const duplicateKeys = hostile(
  'duplicate_keys.pth',
  torchZip(
    (() => {
      const p = new PickleBuilder().global('collections', 'OrderedDict').emptyTuple().reduce().mark();
      p.str('w').tensor('FloatStorage', '0', 2, 0, [2], [1]);
      p.str('w').tensor('FloatStorage', '0', 2, 0, [1], [1]);
      return p.setitems().stop().bytes();
    })(),
    { 0: new Uint8Array(8) },
  ),
  /sets dict key "w" twice/,
);
const duplicateHeader = hostile(
  'duplicate_keys.safetensors',
  safetensorsFile('{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', new Uint8Array(4)),
  /names "w" twice/,
);

// a hub folder whose config.json is 540 MB (sparse: no disk used)
const bigConfig = (() => {
  const folder = join(dir, 'big_config_hub');
  mkdirSync(folder);
  writeFileSync(join(folder, 'model.safetensors'), readFileSync(join(FIXTURES, 'timm_hub_tiny_cnn', 'model.safetensors')));
  const fd = openSync(join(folder, 'config.json'), 'w');
  ftruncateSync(fd, 540 * 1024 * 1024);
  closeSync(fd);
  files.big_config_hub = { path: folder, limit: /config\.json: is 566231040 bytes.*read limit configBytes/ };
  return folder;
})();

// ---- in-process: typed errors, before the allocation ---------------------------------------------

test('140 million NONE opcodes in a 136 KB file: refused before data.pkl is inflated', async () => {
  await refuses(noneFlood, 'decodedRatio');
});

test('a 400 KB LONG is refused before it is decoded; big integers decode in linear time', async () => {
  await refuses(hugeLong, 'pickleIntBytes');
  const text = new PickleBuilder(0)
    .raw(Buffer.from(`L${'9'.repeat(1_000_000)}L\n.`))
    .bytes()
    .subarray(2);
  assert.throws(() => unpickle(text, { source: 'long.pkl', callables: BASE_CALLABLES }), refusedWith('pickleIntBytes', 'long.pkl'));
  // the largest allowed integer still decodes (two's complement, little-endian)
  const bytes = new Uint8Array(DEFAULT_LIMITS.pickleIntBytes).fill(0xff);
  const p = new PickleBuilder().op(0x8b).u32(bytes.length).raw(bytes).stop().bytes();
  assert.equal(unpickle(p, { source: 'ok.pkl', callables: BASE_CALLABLES }).value, -1);
});

test('a 1 MB storage inflating to 2.2 GB is refused without inflating; a deflated storage is inflated once, not per tensor', async () => {
  const before = ZipReader.inflations;
  await refuses(inflateBomb, 'decodedRatio');
  assert.equal(ZipReader.inflations, before, 'nothing was inflated');

  const values = new Float32Array(4096).map((_, i) => i);
  const tensors = Array.from({ length: 64 }, (_, i) => ({ name: `t${i}`, key: '0', numel: 4096, offset: i * 64, shape: [64], stride: [1] }));
  const path = writeBytes(join(dir, 'deflated_ok.pth'), torchZip(stateDictPickle(tensors), { 0: new Uint8Array(values.buffer) }, { deflateStorages: true }));
  const opened = await openCheckpoint(path);
  const start = ZipReader.inflations;
  for (const [i, tensor] of opened.tensors.entries()) {
    const bytes = await tensor.read();
    assert.equal(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4)[0], i * 64);
  }
  await opened.close();
  assert.equal(ZipReader.inflations - start, 1, 'one inflation for 64 tensors');
});

test('stride-0 views of a 1 KB file are capped in total, not only per view', async () => {
  await refuses(strideZero, 'tensorRatio');
});

test('list() copying a list again and again is refused by the pickle heap budget', async () => {
  await refuses(listCopies, 'pickleHeapRatio');
});

test('1.5 M empty tensors in an 89 MB safetensors header are refused before JSON.parse, in bounded time', async () => {
  const started = Date.now();
  await refuses(manyTensors, 'tensorCount');
  assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
  // the limit is a stated default: one tensor more than allowed is refused, the count itself accepted
  const parts = Array.from({ length: 11 }, (_, i) => `"t${i}":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}`);
  const small = writeBytes(join(dir, 'eleven.safetensors'), safetensorsFile(`{${parts.join(',')}}`));
  await assert.rejects(openCheckpoint(small, { limits: { tensorCount: 10 } }), refusedWith('tensorCount', small));
  await (await openCheckpoint(small, { limits: { tensorCount: 11 } })).close();
});

test('deep nesting, a million MARKs and a top-down nesting trick are typed errors', async () => {
  await refuses(deepLists, 'pickleDepth');
  await refuses(deepMarks, 'pickleDepth');
  await refuses(topDown, /changes a container after placing it inside another/);
});

test('storage classes named constructor or __proto__ are refused by name', async () => {
  await refuses(constructorClass, /storage 0 has type torch\.constructor, which ParamZoo does not read/);
  await refuses(protoClass, /storage 0 has type torch\.__proto__, which ParamZoo does not read/);
});

test('a stored zip record larger than its bytes, duplicate zip names, duplicate pickle and header keys are refused', async () => {
  await refuses(storedLie, /claims 4096/);
  await refuses(duplicateNames, /two entries named/);
  await refuses(duplicateKeys, /twice/);
  await refuses(duplicateHeader, /twice/);
});

test('a 540 MB config.json is refused by size, not read', async () => {
  await assert.rejects(openCheckpoint(bigConfig), refusedWith(/read limit configBytes/, join(bigConfig, 'config.json')));
});

test('opcode budget, and a cancelled signal stops a long pickle', () => {
  const flood = new Uint8Array(200_003).fill(0x4e);
  flood[0] = 0x80;
  flood[1] = 0x02;
  flood[flood.length - 1] = 0x2e;
  assert.throws(() => unpickle(flood, { source: 'flood.pkl', callables: BASE_CALLABLES, limits: { pickleOpcodes: 100_000 } }), refusedWith('pickleOpcodes', 'flood.pkl'));
  const controller = new AbortController();
  controller.abort(new CancelledError('the test'));
  assert.throws(() => unpickle(flood, { source: 'flood.pkl', callables: BASE_CALLABLES, signal: controller.signal }), CancelledError);
});

test('every legitimate fixture reads within the default limits', async () => {
  const { good } = expectedFixtures();
  assert.ok(Object.keys(good).length >= 8);
  for (const name of Object.keys(good)) {
    const result = await inspectCheckpoint(join(FIXTURES, name));
    assert.equal(Object.keys(result.tensors).length, Object.keys(good[name]!.tensors).length, name);
  }
});

// ---- through the CLI: exit 1, file and limit named, no stack, bounded peak memory ------------------

interface PeakRun {
  argv: string[];
  code: number;
  stderr: string;
  ms: number;
  peakRssKb: number;
}

/** Runs each argv through the CLI's main() in one child process (tests/helpers/peak-cli.ts). */
function peakCli(runs: string[][]): Promise<PeakRun[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, 'tests', 'helpers', 'peak-cli.ts')], {
      cwd: PROJECT_ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, PEAK_RUNS: JSON.stringify(runs) },
    });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      const results = stdout
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as PeakRun);
      if (code !== 0 || results.length !== runs.length) reject(new Error(`the CLI process ended with ${code} after ${results.length} of ${runs.length} runs`));
      else resolve(results);
    });
  });
}

test('every hostile file: paramzoo inspect exits 1 naming the file and the limit, and the process stays under the peak memory bound', async () => {
  const data = tempDir();
  const names = Object.keys(files);
  const runs = await peakCli(names.map((name) => ['inspect', files[name]!.path, '--data', data]));
  const report: string[] = [];
  for (const [i, name] of names.entries()) {
    const { code, stderr, ms, peakRssKb } = runs[i]!;
    const { path, limit } = files[name]!;
    report.push(`${name}: exit ${code}, ${ms} ms, peak so far ${(peakRssKb / 1024).toFixed(0)} MB`);
    assert.equal(code, 1, `${name}: ${stderr}`);
    assert.ok(!stderr.includes('internal error') && !/\n\s+at /.test(stderr), `${name} printed a stack: ${stderr}`);
    assert.ok(stderr.includes(path), `${name}: the file is not named: ${stderr}`);
    if (typeof limit === 'string') assert.ok(stderr.includes(`read limit ${limit}`), `${name}: ${stderr}`);
    else assert.match(stderr, limit, name);
  }
  const peakMb = runs[runs.length - 1]!.peakRssKb / 1024;
  console.log(`hostile files through the CLI (${names.length}), one process:\n  ${report.join('\n  ')}`);
  assert.ok(peakMb < PEAK_RSS_BOUND_MB, `the CLI process peaked at ${peakMb} MB`);
});
