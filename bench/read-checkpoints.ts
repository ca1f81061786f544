// Reading big checkpoints: header-only open time, full read throughput and peak memory, against
// a plain fs.readFileSync of the same file. Writes a 100M-parameter F32 safetensors and .pth
// (25 × 4M) with ParamZoo's writers in a temp folder, measures in fresh child processes, prints
// figures (asserts nothing) and deletes the files.
//   node --import tsx bench/read-checkpoints.ts
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openCheckpoint, summarizeCheckpoint, writeCheckpoint } from '../engine/formats/index.js';
import type { TensorData } from '../engine/formats/types.js';

const TENSORS = 25;
const SHAPE = [2048, 2048]; // 4M parameters each
const GOALS = { openMs: 50, gbPerSecond: 1, rssPerFileSize: 1.2 };

type Mode = 'idle' | 'open' | 'read' | 'load' | 'summarize' | 'readFileSync';
interface Measure {
  mode: Mode;
  seconds: number;
  maxRssBytes: number;
  bytes: number;
}

async function child(mode: Mode, path: string): Promise<Measure> {
  const start = process.hrtime.bigint();
  let bytes = 0;
  if (mode === 'readFileSync') bytes = readFileSync(path).byteLength;
  else if (mode !== 'idle') {
    const opened = await openCheckpoint(path);
    if (mode === 'read') for (const tensor of opened.tensors) bytes += (await tensor.read()).byteLength;
    if (mode === 'load') {
      // every tensor kept in memory at once, as a user loading a whole model would
      const kept: Uint8Array[] = [];
      for (const tensor of opened.tensors) kept.push(await tensor.read());
      bytes = kept.reduce((sum, data) => sum + data.byteLength, 0);
    }
    if (mode === 'summarize') bytes = (await summarizeCheckpoint(opened)) && opened.tensors.reduce((sum, t) => sum + t.byteLength, 0);
    await opened.close();
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return { mode, seconds, bytes, maxRssBytes: process.resourceUsage().maxRSS * 1024 };
}

function inChild(mode: Mode, path: string): Measure {
  const script = fileURLToPath(import.meta.url);
  const out = execFileSync(process.execPath, ['--import', 'tsx', script, '--child', mode, path], { encoding: 'utf8' });
  return JSON.parse(out) as Measure;
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(0)} MB`;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'paramzoo-bench-'));
  try {
    // One shared 16 MB buffer for all 25 tensors keeps the writer's own memory small.
    const values = new Float32Array(SHAPE[0]! * SHAPE[1]!);
    for (let i = 0; i < values.length; i++) values[i] = Math.sin(i);
    const data = new Uint8Array(values.buffer);
    const tensors: TensorData[] = Array.from({ length: TENSORS }, (_, i) => ({ name: `blocks.${i}.weight`, dtype: 'F32', shape: SHAPE, data }));
    console.log(`read-checkpoints: ${TENSORS} × [${SHAPE.join(', ')}] F32 = ${((TENSORS * values.length) / 1e6).toFixed(0)}M parameters; node ${process.version}`);
    for (const format of ['safetensors', 'pth'] as const) {
      const path = join(dir, `model.${format}`);
      const writeStart = process.hrtime.bigint();
      await writeCheckpoint(format, path, tensors, {});
      const writeSeconds = Number(process.hrtime.bigint() - writeStart) / 1e9;
      const size = statSync(path).size;
      inChild('readFileSync', path); // warm the page cache
      const idle = inChild('idle', path);
      const baseline = inChild('readFileSync', path);
      const open = [inChild('open', path), inChild('open', path), inChild('open', path)].sort((a, b) => a.seconds - b.seconds)[1]!;
      const read = inChild('read', path);
      const load = inChild('load', path);
      const summarize = inChild('summarize', path);
      console.log(`\n${format}: ${mb(size)} (written in ${writeSeconds.toFixed(2)} s, ${(size / writeSeconds / 1e9).toFixed(2)} GB/s)`);
      console.log(`  header-only open        ${(open.seconds * 1000).toFixed(1)} ms (median of 3; goal ≤ ${GOALS.openMs} ms)`);
      const labels: Partial<Record<Mode, string>> = {
        read: 'read tensor by tensor',
        load: 'load all (kept)',
        summarize: 'summarize (read + sum)',
        readFileSync: 'fs.readFileSync',
      };
      for (const m of [read, load, summarize, baseline]) {
        const label = labels[m.mode]!;
        console.log(
          `  ${label.padEnd(23)} ${m.seconds.toFixed(3)} s  ${(size / m.seconds / 1e9).toFixed(2)} GB/s  peak RSS ${mb(m.maxRssBytes)} = ${(m.maxRssBytes / size).toFixed(2)}× file (${mb(m.maxRssBytes - idle.maxRssBytes)} above an idle process)`,
        );
      }
      console.log(
        `  ratios vs readFileSync: load all time ×${(load.seconds / baseline.seconds).toFixed(2)}, peak RSS ×${(load.maxRssBytes / baseline.maxRssBytes).toFixed(2)}; idle process RSS ${mb(idle.maxRssBytes)}`,
      );
      console.log(`  goals: ≥ ${GOALS.gbPerSecond} GB/s, peak RSS ≤ ${GOALS.rssPerFileSize}× file size`);
      rmSync(path);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const childAt = process.argv.indexOf('--child');
if (childAt >= 0) {
  const measure = await child(process.argv[childAt + 1] as Mode, process.argv[childAt + 2]!);
  process.stdout.write(JSON.stringify(measure));
} else {
  await main();
}
