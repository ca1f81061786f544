// A setting the chosen sampler ignores is refused, not silently dropped: DDPM takes every
// diffusion step, with its own noise and no clipping, so samplerSteps, eta and clipDenoised given
// with it are errors, in the generator config (train, generator.validate) and in generate's params.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SamplerSettingError } from '../engine/rpg/config.js';
import { resolveConfig } from '../engine/rpg/presets.js';
import { runGenerate } from '../engine/pipeline/generate.js';
import type { JobContext } from '../engine/jobs.js';

test('the generator config refuses DDIM-only settings given with DDPM', () => {
  for (const setting of ['samplerSteps', 'eta', 'clipDenoised'] as const) {
    assert.throws(
      () => resolveConfig({ preset: 'tiny', overrides: { sampler: 'ddpm', [setting]: 10 } }),
      (e: unknown) =>
        e instanceof SamplerSettingError && e.code === 'sampler_setting' && e.message.startsWith(`'${setting}' does not apply to the ddpm sampler`) && e.fields?.includes(setting) === true,
      setting,
    );
  }
  // the preset's own values are not the user's: DDPM alone is fine, and DDIM takes them all
  assert.equal(resolveConfig({ preset: 'tiny', overrides: { sampler: 'ddpm' } }).sampler, 'ddpm');
  assert.equal(resolveConfig({ preset: 'tiny', overrides: { sampler: 'ddim', samplerSteps: 20, eta: 0 } }).samplerSteps, 20);
});

test("generate's params refuse samplerSteps with DDPM before anything runs", async () => {
  const untouched = new Proxy({}, { get: () => assert.fail('the catalog was used') });
  await assert.rejects(
    runGenerate(untouched as never, untouched as never, { run: 'run_1', sampler: 'ddpm', samplerSteps: 30 }, untouched as unknown as JobContext),
    (e: unknown) => e instanceof SamplerSettingError && e.message.startsWith("'samplerSteps' does not apply to the ddpm sampler"),
  );
});
