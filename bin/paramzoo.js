#!/usr/bin/env node
// The engine is TypeScript run through tsx, so a checkout works without a build step.
import { register } from 'tsx/esm/api';
register();
const { main } = await import('../engine/cli.ts');
process.exitCode = await main(process.argv.slice(2));
