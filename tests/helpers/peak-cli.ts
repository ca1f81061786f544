// Runs `paramzoo ARGS...` in this one process for each argv in $PEAK_RUNS (a JSON array of argv
// arrays), one after another, and prints one JSON line per run on stdout: its exit code, what it
// wrote on stderr and the process's peak resident memory so far. The hostile-file tests use it to
// check exit codes and messages and to bound what the worst file cost (startup included).
import { main } from '../../engine/cli.js';

const runs = JSON.parse(process.env.PEAK_RUNS ?? '[]') as string[][];
const write = process.stderr.write.bind(process.stderr);
for (const argv of runs) {
  let stderr = '';
  process.stderr.write = ((chunk: string | Uint8Array) => {
    stderr += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    return true;
  }) as typeof process.stderr.write;
  const started = Date.now();
  let code: number;
  try {
    code = await main(argv);
  } finally {
    process.stderr.write = write;
  }
  process.stdout.write(`${JSON.stringify({ argv, code, stderr, ms: Date.now() - started, peakRssKb: process.resourceUsage().maxRSS })}\n`);
}
