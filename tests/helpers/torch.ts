import { execFileSync, spawnSync } from 'node:child_process';

/** Debian's python3 with torch 1.13 (the pyenv `python3` on PATH has no torch). */
export const SYSTEM_PYTHON = '/usr/bin/python3';

/** Why a test that needs PyTorch was skipped. CI installs it, so there none is skipped. */
export const TORCH_MISSING = `PyTorch not installed (${SYSTEM_PYTHON} cannot import torch): apt-get install python3-torch libopenblas0-pthread`;

let available: boolean | undefined;

/** Whether SYSTEM_PYTHON can import torch (asked once per test file). */
export function torchAvailable(): boolean {
  available ??= spawnSync(SYSTEM_PYTHON, ['-c', 'import torch'], { stdio: 'ignore', timeout: 120_000 }).status === 0;
  return available;
}

/**
 * node:test's `skip` option for every test that calls PyTorch: `test(name, { skip: skipWithoutTorch() }, fn)`.
 * false when PyTorch is there, else the one reason, TORCH_MISSING.
 */
export function skipWithoutTorch(): string | false {
  return torchAvailable() ? false : TORCH_MISSING;
}

/**
 * Runs a Python script with PyTorch available; `input` arrives as JSON on stdin (`json.load(sys.stdin)`)
 * and the script prints one JSON document, which is returned. Callers skip with skipWithoutTorch().
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
