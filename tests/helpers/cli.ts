import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = fileURLToPath(new URL('../../bin/paramzoo.js', import.meta.url));

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `paramzoo ARGS...` as a user would: a separate node process, from the project root (or `cwd`). */
export function runCli(args: string[], options: { env?: Record<string, string>; cwd?: string } = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: options.cwd ?? PROJECT_ROOT,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Runs the command with --json, asserts exit 0 and returns the parsed document. */
export async function runCliJson<T = unknown>(args: string[], options: { cwd?: string } = {}): Promise<T> {
  const run = await runCli([...args, '--json'], options);
  if (run.code !== 0) throw new Error(`paramzoo ${args.join(' ')} exited ${run.code}\n${run.stderr}`);
  try {
    return JSON.parse(run.stdout) as T;
  } catch {
    throw new Error(`paramzoo ${args.join(' ')} --json printed more than one JSON document:\n${run.stdout}`);
  }
}

/** Runs up to `concurrency` commands at once (the machine has 2 cores), results in order. */
export async function runAll<T>(tasks: (() => Promise<T>)[], concurrency = 2): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, tasks.length) }, worker));
  return results;
}
