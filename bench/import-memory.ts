// Peak memory of importing and exporting a checkpoint bigger than any one tensor: writes a ~2 GB
// safetensors file (8 × 256 MB F32 tensors, streamed: this process never holds more than one
// 16 MB chunk), then runs `paramzoo import` and `paramzoo export` (safetensors and pth) on it in a
// temp data folder, each as its own CLI process, and prints each process's peak RSS against the
// largest tensor. Goal: peak ≤ 1.2 × largest tensor + the CLI's own footprint (the `zoo list` row).
// Asserts nothing; deletes every file it wrote.
//
//   node --import tsx bench/import-memory.ts [--tensors 8] [--tensor-mb 256] [--keep]
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { encodeHeader } from '../engine/formats/safetensors.js';

const { values } = parseArgs({
  options: {
    tensors: { type: 'string', default: '8' },
    'tensor-mb': { type: 'string', default: '256' },
    keep: { type: 'boolean', default: false },
  },
});
const TENSORS = Number(values.tensors);
const TENSOR_BYTES = Number(values['tensor-mb']) * 1024 * 1024;
const CHUNK_BYTES = 16 * 1024 * 1024;
const ROOT = resolve('.');
const CLI = join(ROOT, 'bin', 'paramzoo.js');
/** Loaded before the CLI: writes the process's peak RSS (bytes) to $PEAK_RSS_FILE when it exits. */
const REPORT_PEAK = `data:text/javascript,${encodeURIComponent(
  "import { writeFileSync } from 'node:fs'; process.on('exit', () => writeFileSync(process.env.PEAK_RSS_FILE, String(process.resourceUsage().maxRSS * 1024)));",
)}`;

/** Writes the checkpoint chunk by chunk; returns the sha256 of its bytes. */
async function writeCheckpoint(path: string): Promise<string> {
  const hash = createHash('sha256');
  const file = await open(path, 'wx');
  try {
    let position = 0;
    const put = async (bytes: Uint8Array) => {
      hash.update(bytes);
      for (let done = 0; done < bytes.byteLength; ) {
        const { bytesWritten } = await file.write(bytes, done, bytes.byteLength - done, position + done);
        done += bytesWritten;
      }
      position += bytes.byteLength;
    };
    const names = Array.from({ length: TENSORS }, (_, i) => `blocks.${i}.weight`);
    // the engine's own header layout, so an unchanged round trip keeps the sha256
    const shape = [TENSOR_BYTES / 4 / 1024, 1024];
    await put(
      encodeHeader(
        names.map((name) => ({ name, dtype: 'F32', shape, byteLength: TENSOR_BYTES })),
        {},
      ),
    );
    const chunk = new Float32Array(CHUNK_BYTES / 4);
    for (let t = 0; t < TENSORS; t++) {
      for (let c = 0; c < TENSOR_BYTES / CHUNK_BYTES; c++) {
        // Different values in every chunk, so no two tensors (or chunks) are alike.
        for (let i = 0; i < chunk.length; i++) chunk[i] = Math.sin(i * 0.001 + t * 7 + c * 0.37);
        await put(new Uint8Array(chunk.buffer));
      }
    }
    await file.sync();
  } finally {
    await file.close();
  }
  return hash.digest('hex');
}

interface Run {
  peakBytes: number;
  seconds: number;
  json: Record<string, unknown>;
}

function paramzoo(data: string, args: string[]): Run {
  const peakFile = join(data, '..', `peak-${Date.now()}`);
  const start = process.hrtime.bigint();
  const result = spawnSync(process.execPath, ['--import', REPORT_PEAK, CLI, '--data', data, '--json', ...args], {
    encoding: 'utf8',
    env: { ...process.env, PARAMZOO_FROM_SOURCE: '1', PEAK_RSS_FILE: peakFile },
    maxBuffer: 64 * 1024 * 1024,
  });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (result.status !== 0) throw new Error(`paramzoo ${args.join(' ')} failed (${result.status}):\n${result.stderr}`);
  const peakBytes = Number(readFileSync(peakFile, 'utf8'));
  rmSync(peakFile);
  return { peakBytes, seconds, json: JSON.parse(result.stdout) as Record<string, unknown> };
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'paramzoo-import-memory-'));
  const data = join(work, 'data');
  try {
    const source = join(work, 'big.safetensors');
    const sourceSha = await writeCheckpoint(source);
    const fileBytes = statSync(source).size;
    console.log(`import-memory: ${TENSORS} × ${mib(TENSOR_BYTES)} F32 tensors, file ${mib(fileBytes)}; node ${process.version}`);

    const idle = paramzoo(data, ['zoo', 'create', 'big']);
    const imported = paramzoo(data, ['import', 'big', source]);
    const id = (imported.json.imported as Array<{ id: string }>)[0]!.id;
    const exports = (['safetensors', 'pth'] as const).map((format) => {
      const out = join(work, `export.${format}`);
      const run = paramzoo(data, ['export', id, '--out', out, '--format', format]);
      const sha = String(run.json.sha256);
      rmSync(out, { force: true });
      return { format, run, sha };
    });

    const rows: Array<[string, Run, string]> = [
      ['zoo create (the CLI itself)', idle, ''],
      ['import', imported, ''],
      ...exports.map(({ format, run, sha }): [string, Run, string] => [
        `export ${format}`,
        run,
        format === 'safetensors' ? (sha === sourceSha ? 'byte-identical to the source' : 'DIFFERS from the source') : '',
      ]),
    ];
    console.log('\n| command | peak RSS | largest tensor | peak ÷ largest | (peak − CLI) ÷ largest | seconds | |');
    console.log('| --- | --- | --- | --- | --- | --- | --- |');
    for (const [name, run, note] of rows) {
      console.log(
        `| ${name} | ${mib(run.peakBytes)} | ${mib(TENSOR_BYTES)} | ${(run.peakBytes / TENSOR_BYTES).toFixed(2)} | ${((run.peakBytes - idle.peakBytes) / TENSOR_BYTES).toFixed(2)} | ${run.seconds.toFixed(1)} | ${note} |`,
      );
    }
    console.log(
      JSON.stringify({
        tensors: TENSORS,
        tensorBytes: TENSOR_BYTES,
        fileBytes,
        peakBytes: Object.fromEntries(rows.map(([name, run]) => [name, run.peakBytes])),
        seconds: Object.fromEntries(rows.map(([name, run]) => [name, Number(run.seconds.toFixed(1))])),
      }),
    );
  } finally {
    if (values.keep) console.log(`kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
}

await main();
