import { execFileSync } from 'node:child_process';

/** Debian's python3 with torch 1.13 (the pyenv `python3` on PATH has no torch). */
export const SYSTEM_PYTHON = '/usr/bin/python3';

/**
 * Runs a Python script with PyTorch available; `input` arrives as JSON on stdin (`json.load(sys.stdin)`)
 * and the script prints one JSON document, which is returned.
 */
export function runTorch<T = unknown>(script: string, input: unknown = null): T {
  const stdout = execFileSync(SYSTEM_PYTHON, ['-c', script], {
    input: JSON.stringify(input),
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, OMP_NUM_THREADS: '1' },
  });
  return JSON.parse(stdout) as T;
}
