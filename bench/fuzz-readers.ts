// Mutational fuzz of the checkpoint readers (issue 11): every file and folder under
// tests/fixtures/checkpoints is mutated (byte flips, truncations, length-field edits in the
// safetensors header, zip records and pickle opcodes, splices from other fixtures), and each case
// is opened with openCheckpoint and every tensor read, in this process. A reader may refuse a case
// only with an EngineError (typed); anything else thrown is a crash, a case over the per-case
// limit is a hang. Bounded by a case count and a time budget; prints one JSON document.
//   node --import tsx bench/fuzz-readers.ts [--cases 300] [--seconds 120] [--seed 1] [--case-ms 5000] [--out bench/out/fuzz]
// Cases that crashed or hung are kept under --out (with the mutation that made them) to be replayed.
// A watchdog thread ends the process with the figures so far if one case blocks the event loop
// for 6× the per-case limit (a synchronous hang cannot be cancelled from inside).
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { CancelledError, EngineError } from '../engine/errors.js';
import { openCheckpoint } from '../engine/formats/index.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const { values: args } = parseArgs({
  options: {
    cases: { type: 'string', default: '300' },
    seconds: { type: 'string', default: '120' },
    seed: { type: 'string', default: '1' },
    'case-ms': { type: 'string', default: '5000' },
    fixtures: { type: 'string', default: join(ROOT, 'tests', 'fixtures', 'checkpoints') },
    out: { type: 'string', default: join(ROOT, 'bench', 'out', 'fuzz') },
  },
});
const MAX_CASES = Number(args.cases);
const MAX_MS = Number(args.seconds) * 1000;
const CASE_MS = Number(args['case-ms']);
const SEED = Number(args.seed);

// --- deterministic randomness ---------------------------------------------------------------
let state = SEED >>> 0 || 1;
function rand(): number {
  // xorshift32
  state ^= state << 13;
  state >>>= 0;
  state ^= state >>> 17;
  state ^= state << 5;
  state >>>= 0;
  return state / 2 ** 32;
}
const int = (n: number) => Math.floor(rand() * n);
const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;

// --- seeds: every fixture file, and every folder fixture (one member mutated) ------------------
interface Seed {
  name: string;
  kind: 'file' | 'folder';
  path: string;
  members: string[];
}
function seeds(dir: string): Seed[] {
  const found: Seed[] = [];
  const visit = (folder: string) => {
    for (const name of readdirSync(folder).sort()) {
      const path = join(folder, name);
      if (statSync(path).isDirectory()) {
        const members = readdirSync(path)
          .filter((m) => statSync(join(path, m)).isFile())
          .sort();
        const isCheckpointFolder = members.some((m) => /^(config|adapter_config)\.json$/.test(m));
        if (isCheckpointFolder) found.push({ name: relative(dir, path), kind: 'folder', path, members });
        else visit(path);
      } else if (!/\.(md|json)$/.test(name)) {
        found.push({ name: relative(dir, path), kind: 'file', path, members: [] });
      }
    }
  };
  visit(dir);
  return found;
}

// --- mutations ------------------------------------------------------------------------------
const INTERESTING_32 = [0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff, 0x10000, 0x100000];
const INTERESTING_64 = [0n, 1n, 0x7fffffffn, 0xffffffffn, 0x100000000n, 2n ** 53n, 2n ** 63n - 1n, 2n ** 64n - 1n, 100_000_000n, 100_000_001n];
const NUMBER_TEXT = ['0', '-1', '1', '4294967296', '9007199254740993', '1e308', '99999999999999999999', '2147483648', '1.5', '-0', '[]', '"x"', 'null'];

function writeUInt(bytes: Uint8Array, at: number, width: number, value: bigint): void {
  for (let i = 0; i < width && at + i < bytes.length; i++) bytes[at + i] = Number((value >> BigInt(8 * i)) & 0xffn);
}
function interesting(width: number): bigint {
  if (width >= 8) return rand() < 0.7 ? pick(INTERESTING_64) : BigInt(int(2 ** 31)) * BigInt(int(2 ** 20));
  const base = BigInt(pick(INTERESTING_32));
  const value = rand() < 0.3 ? base + BigInt(int(64) - 32) : base;
  return value & ((1n << BigInt(8 * width)) - 1n);
}
function indexesOf(bytes: Uint8Array, pattern: number[]): number[] {
  const found: number[] = [];
  outer: for (let i = 0; i + pattern.length <= bytes.length; i++) {
    for (let j = 0; j < pattern.length; j++) if (bytes[i + j] !== pattern[j]) continue outer;
    found.push(i);
  }
  return found;
}

type Mutation = (bytes: Uint8Array, donors: Uint8Array[]) => { bytes: Uint8Array; what: string };

const flip: Mutation = (bytes) => {
  const out = bytes.slice();
  const n = 1 + int(8);
  const at: number[] = [];
  for (let i = 0; i < n && out.length > 0; i++) {
    const p = int(out.length);
    out[p] = rand() < 0.5 ? out[p]! ^ (1 << int(8)) : int(256);
    at.push(p);
  }
  return { bytes: out, what: `flip ${n} bytes at ${at.slice(0, 4).join(',')}${at.length > 4 ? ',…' : ''}` };
};

const truncate: Mutation = (bytes) => {
  const length = rand() < 0.3 ? int(Math.min(bytes.length, 256)) : int(bytes.length);
  return { bytes: bytes.slice(0, length), what: `truncate to ${length} of ${bytes.length}` };
};

const splice: Mutation = (bytes, donors) => {
  const donor = pick(donors);
  const from = int(donor.length);
  const length = Math.min(donor.length - from, 1 + int(512));
  const at = int(bytes.length + 1);
  const overwrite = rand() < 0.5;
  const piece = donor.subarray(from, from + length);
  const out = overwrite
    ? (() => {
        const o = bytes.slice();
        o.set(piece.subarray(0, Math.max(0, o.length - at)), at);
        return o;
      })()
    : Uint8Array.from([...bytes.subarray(0, at), ...piece, ...bytes.subarray(at)]);
  return { bytes: out, what: `splice ${length} donor bytes ${overwrite ? 'over' : 'into'} ${at}` };
};

/** safetensors: the u64 header length, or one number in the JSON header (the length kept right half the time) */
const safetensorsLength: Mutation = (bytes) => {
  const out = bytes.slice();
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const headerLength = out.length >= 8 ? Number(view.getBigUint64(0, true)) : 0;
  if (out.length < 8 || headerLength > out.length - 8 || rand() < 0.35) {
    const value = rand() < 0.5 ? interesting(8) : BigInt(Math.max(0, headerLength + int(33) - 16));
    writeUInt(out, 0, 8, value);
    return { bytes: out, what: `safetensors header length := ${value}` };
  }
  const header = Buffer.from(out.subarray(8, 8 + headerLength)).toString('latin1');
  const numbers = [...header.matchAll(/-?\d+/g)];
  if (numbers.length === 0) return flip(bytes, []);
  const target = pick(numbers);
  const replacement = pick(NUMBER_TEXT);
  const edited = header.slice(0, target.index) + replacement + header.slice(target.index! + target[0].length);
  const body = out.subarray(8 + headerLength);
  const keepLength = rand() < 0.5;
  const prefix = new Uint8Array(8);
  writeUInt(prefix, 0, 8, BigInt(keepLength ? edited.length : headerLength));
  return {
    bytes: Uint8Array.from([...prefix, ...Buffer.from(edited, 'latin1'), ...body]),
    what: `safetensors header number ${target[0]} at ${target.index} := ${replacement}${keepLength ? ' (length updated)' : ''}`,
  };
};

/** zip: a size, count or offset field of a local header, central directory record, (zip64) end record */
const zipField: Mutation = (bytes) => {
  const records: Array<[string, number[], Array<[number, number]>]> = [
    [
      'local header',
      [0x50, 0x4b, 0x03, 0x04],
      [
        [18, 4],
        [22, 4],
        [26, 2],
        [28, 2],
        [8, 2],
      ],
    ],
    [
      'central record',
      [0x50, 0x4b, 0x01, 0x02],
      [
        [20, 4],
        [24, 4],
        [28, 2],
        [30, 2],
        [32, 2],
        [42, 4],
        [10, 2],
      ],
    ],
    [
      'end record',
      [0x50, 0x4b, 0x05, 0x06],
      [
        [8, 2],
        [10, 2],
        [12, 4],
        [16, 4],
        [20, 2],
      ],
    ],
    [
      'zip64 end record',
      [0x50, 0x4b, 0x06, 0x06],
      [
        [24, 8],
        [32, 8],
        [40, 8],
        [48, 8],
      ],
    ],
    ['zip64 locator', [0x50, 0x4b, 0x06, 0x07], [[8, 8]]],
  ];
  const present = records.map(([name, sig, fields]) => [name, indexesOf(bytes, sig), fields] as const).filter(([, at]) => at.length > 0);
  if (present.length === 0) return flip(bytes, []);
  const [name, at, fields] = pick(present);
  const start = pick(at);
  const [offset, width] = pick(fields);
  const out = bytes.slice();
  const value = interesting(width);
  writeUInt(out, start + offset, width, value);
  return { bytes: out, what: `zip ${name} at ${start} field +${offset} (${width} bytes) := ${value}` };
};

/** pickle: the operand of an opcode that carries a length, an integer or a memo index */
const pickleOperand: Mutation = (bytes) => {
  const opcodes: Array<[number, number, string]> = [
    [0x58, 4, 'BINUNICODE'],
    [0x8c, 1, 'SHORT_BINUNICODE'],
    [0x42, 4, 'BINBYTES'],
    [0x43, 1, 'SHORT_BINBYTES'],
    [0x54, 4, 'BINSTRING'],
    [0x55, 1, 'SHORT_BINSTRING'],
    [0x4a, 4, 'BININT'],
    [0x4b, 1, 'BININT1'],
    [0x4d, 2, 'BININT2'],
    [0x8a, 1, 'LONG1'],
    [0x8b, 4, 'LONG4'],
    [0x95, 8, 'FRAME'],
    [0x71, 1, 'BINPUT'],
    [0x72, 4, 'LONG_BINPUT'],
    [0x68, 1, 'BINGET'],
    [0x6a, 4, 'LONG_BINGET'],
  ];
  // Guess at opcodes: any byte with an opcode's value; most guesses land in real pickle streams of small files.
  const candidates: Array<[number, number, string]> = [];
  for (let i = 0; i < bytes.length - 1; i++) {
    const hit = opcodes.find(([code]) => code === bytes[i]);
    if (hit) candidates.push([i, hit[1], hit[2]]);
  }
  if (candidates.length === 0) return flip(bytes, []);
  const [at, width, name] = pick(candidates);
  const out = bytes.slice();
  const value = interesting(width);
  writeUInt(out, at + 1, width, value);
  return { bytes: out, what: `pickle ${name}? at ${at} operand := ${value}` };
};

const MUTATIONS: Array<[string, Mutation, number]> = [
  ['flip', flip, 3],
  ['truncate', truncate, 2],
  ['splice', splice, 2],
  ['safetensors-length', safetensorsLength, 2],
  ['zip-field', zipField, 2],
  ['pickle-operand', pickleOperand, 2],
];
/** The mutations that fit a file: length-field edits of its own format, the generic ones for all. */
function mutationsFor(name: string): Array<[string, Mutation, number]> {
  const format = name.endsWith('.safetensors') ? 'safetensors-length' : /\.(pth|bin|tar|pt)$/.test(name) ? 'torch' : 'other';
  return MUTATIONS.filter(([kind]) => (kind !== 'safetensors-length' || format === 'safetensors-length') && (!['zip-field', 'pickle-operand'].includes(kind) || format === 'torch'));
}
function mutate(name: string, bytes: Uint8Array, donors: Uint8Array[]): { bytes: Uint8Array; what: string[]; kinds: string[] } {
  const fitting = mutationsFor(name);
  const totalWeight = fitting.reduce((sum, [, , w]) => sum + w, 0);
  let current = bytes;
  const what: string[] = [];
  const kinds: string[] = [];
  const rounds = rand() < 0.7 ? 1 : 2 + int(2);
  for (let i = 0; i < rounds; i++) {
    let r = rand() * totalWeight;
    const [kind, mutation] =
      fitting.find(([, , w]) => {
        r -= w;
        return r < 0;
      }) ?? fitting[0]!;
    const result = mutation(current, donors);
    current = result.bytes;
    what.push(result.what);
    kinds.push(kind);
  }
  return { bytes: current, what, kinds };
}

// --- watchdog: a blocked event loop cannot time itself out ------------------------------------
const shared = new Int32Array(new SharedArrayBuffer(4 * 8));
// [0] case start (ms since bench start, -1 idle) [1] cases tried [2] typed [3] ok [4] crashes [5] hangs
const benchStart = Date.now();
const watchdog = new Worker(
  `
  const { workerData } = require('node:worker_threads');
  const s = workerData.shared;
  setInterval(() => {
    const started = Atomics.load(s, 0);
    if (started < 0 || Date.now() - workerData.benchStart - started < workerData.limit) return;
    // The main thread is blocked: write straight to fd 1 (a worker's stdout goes through the main
    // thread), keep the case, and end the whole process (process.exit here would end this thread only).
    const fs = require('node:fs');
    const current = JSON.parse(fs.readFileSync(workerData.currentFile, 'utf8'));
    const kept = require('node:path').join(workerData.out, 'hang-case' + current.case + '-' + require('node:path').basename(current.path));
    try { fs.cpSync(current.path, kept, { recursive: true }); current.kept = kept; } catch {}
    fs.writeSync(1, JSON.stringify({ aborted: 'a case blocked the event loop for ' + workerData.limit + ' ms', currentCase: current,
      casesTried: Atomics.load(s, 1), typedErrors: Atomics.load(s, 2), readOk: Atomics.load(s, 3), crashes: Atomics.load(s, 4), hangs: Atomics.load(s, 5) + 1,
      peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024) }, null, 2) + '\\n');
    process.kill(process.pid, 'SIGTERM');
  }, 250);
`,
  { eval: true, workerData: { shared, benchStart, limit: CASE_MS * 6, currentFile: join(args.out, 'current-case.json'), out: args.out } },
);
watchdog.unref();

// --- the run ----------------------------------------------------------------------------------
interface Failure {
  case: number;
  seed: string;
  mutations: string[];
  kept: string;
  message: string;
  ms?: number;
}

async function readCase(path: string): Promise<{ outcome: 'ok' | 'typed' | 'crash'; error?: unknown; code?: string; tensors: number; bytes: number }> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new CancelledError('the fuzz case')), CASE_MS);
  let tensors = 0;
  let bytes = 0;
  try {
    const opened = await openCheckpoint(path, { signal: controller.signal });
    try {
      for (const tensor of opened.tensors) {
        if (controller.signal.aborted) throw controller.signal.reason;
        bytes += (await tensor.read()).byteLength;
        tensors += 1;
      }
    } finally {
      await opened.close();
    }
    return { outcome: 'ok', tensors, bytes };
  } catch (error) {
    if (error instanceof EngineError) return { outcome: 'typed', error, code: error.code, tensors, bytes };
    return { outcome: 'crash', error, tensors, bytes };
  } finally {
    clearTimeout(timer);
  }
}

async function main(): Promise<void> {
  mkdirSync(args.out, { recursive: true });
  const work = mkdtempSync(join(tmpdir(), 'paramzoo-fuzz-'));
  const all = seeds(args.fixtures);
  const donors = all.flatMap((s) => (s.kind === 'file' ? [s.path] : s.members.map((m) => join(s.path, m)))).map((p) => new Uint8Array(readFileSync(p)));
  const counts = { casesTried: 0, typedErrors: 0, readOk: 0 };
  const crashes: Failure[] = [];
  const hangs: Failure[] = [];
  const byMutation: Record<string, { cases: number; typed: number; ok: number; crash: number; hang: number }> = {};
  const typedCodes: Record<string, number> = {};
  let slowest = { ms: 0, case: -1, seed: '', mutations: [] as string[] };
  let peakRssKb = process.resourceUsage().maxRSS;
  let peakSetBy: { case: number; seed: string; mutations: string[]; rssMiB: number } | null = null;
  const started = Date.now();
  try {
    for (let n = 0; n < MAX_CASES && Date.now() - started < MAX_MS; n++) {
      const seed = all[n % all.length]!;
      // the case: a mutated copy of the file, or of the folder with one member mutated
      const caseDir = join(work, `case${n}`);
      mkdirSync(caseDir);
      let target: string;
      let mutated: { bytes: Uint8Array; what: string[]; kinds: string[] };
      let member = basename(seed.path);
      if (seed.kind === 'file') {
        target = join(caseDir, basename(seed.path));
        mutated = mutate(seed.path, new Uint8Array(readFileSync(seed.path)), donors);
        writeFileSync(target, mutated.bytes);
      } else {
        target = join(caseDir, basename(seed.path));
        mkdirSync(target);
        member = pick(seed.members);
        for (const m of seed.members) copyFileSync(join(seed.path, m), join(target, m));
        mutated = mutate(member, new Uint8Array(readFileSync(join(seed.path, member))), donors);
        writeFileSync(join(target, member), mutated.bytes);
      }
      const label = { case: n, seed: seed.kind === 'file' ? seed.name : `${seed.name}/${member}`, mutations: mutated.what };
      writeFileSync(join(args.out, 'current-case.json'), JSON.stringify({ ...label, path: target }));
      Atomics.store(shared, 0, Date.now() - benchStart);
      const t0 = performance.now();
      const result = await readCase(target);
      const ms = performance.now() - t0;
      Atomics.store(shared, 0, -1);

      counts.casesTried += 1;
      Atomics.store(shared, 1, counts.casesTried);
      const hang = ms > CASE_MS;
      const keep = () => {
        const kept = join(args.out, `case${n}-${basename(seed.path)}`);
        rmSync(kept, { recursive: true, force: true });
        if (seed.kind === 'file') copyFileSync(target, kept);
        else {
          mkdirSync(kept);
          for (const m of seed.members) copyFileSync(join(target, m), join(kept, m));
        }
        writeFileSync(`${kept}.json`, JSON.stringify(label, null, 2));
        return kept;
      };
      for (const kind of new Set(mutated.kinds)) byMutation[kind] ??= { cases: 0, typed: 0, ok: 0, crash: 0, hang: 0 };
      const tally = (field: 'typed' | 'ok' | 'crash' | 'hang') => {
        for (const kind of new Set(mutated.kinds)) {
          byMutation[kind]!.cases += 1;
          byMutation[kind]![field] += 1;
        }
      };
      if (hang) {
        hangs.push({ ...label, kept: keep(), ms: Math.round(ms), message: result.error instanceof Error ? result.error.message.slice(0, 300) : result.outcome });
        Atomics.store(shared, 5, hangs.length);
        tally('hang');
      } else if (result.outcome === 'crash') {
        const error = result.error as Error;
        crashes.push({ ...label, kept: keep(), message: `${error?.constructor?.name ?? typeof error}: ${String(error?.message ?? error).slice(0, 300)}` });
        Atomics.store(shared, 4, crashes.length);
        tally('crash');
      } else if (result.outcome === 'typed') {
        counts.typedErrors += 1;
        typedCodes[result.code!] = (typedCodes[result.code!] ?? 0) + 1;
        Atomics.store(shared, 2, counts.typedErrors);
        tally('typed');
      } else {
        counts.readOk += 1;
        Atomics.store(shared, 3, counts.readOk);
        tally('ok');
      }
      if (ms > slowest.ms) slowest = { ms, case: n, seed: label.seed, mutations: label.mutations };
      const rss = process.resourceUsage().maxRSS;
      if (rss > peakRssKb) {
        peakRssKb = rss;
        peakSetBy = { ...label, rssMiB: Math.round(rss / 1024) };
      }
      rmSync(caseDir, { recursive: true, force: true });
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const report = {
    casesTried: counts.casesTried,
    typedErrors: counts.typedErrors,
    readOk: counts.readOk,
    crashes: { count: crashes.length, first: crashes.slice(0, 5) },
    hangs: { count: hangs.length, limitMs: CASE_MS, first: hangs.slice(0, 5) },
    peakRssMiB: Math.round(peakRssKb / 1024),
    peakRaisedBy: peakSetBy,
    slowestCase: { ...slowest, ms: Math.round(slowest.ms) },
    typedErrorCodes: typedCodes,
    byMutation,
    seeds: all.length,
    seed: SEED,
    seconds: Math.round((Date.now() - started) / 100) / 10,
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  process.exitCode = crashes.length + hangs.length > 0 ? 1 : 0;
}

await main();
await watchdog.terminate();
