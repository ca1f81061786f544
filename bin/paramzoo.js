#!/usr/bin/env node
// Starts the CLI from the compiled engine (dist/engine, built by scripts/engine-build.js, which
// `npm ci` runs) when it was built from the sources as they are now; otherwise from the TypeScript
// sources through tsx, so a checkout being edited works without a build step and never runs stale
// code. PARAMZOO_FROM_SOURCE=1 always runs the sources.
import { compiledCli } from '../scripts/engine-build.js';

let entry = process.env.PARAMZOO_FROM_SOURCE === '1' ? null : compiledCli();
if (!entry) {
  const { register } = await import('tsx/esm/api');
  register();
  entry = new URL('../engine/cli.ts', import.meta.url).href;
}
const { main } = await import(entry);
process.exitCode = await main(process.argv.slice(2));
