// Engine errors name request fields ('samplerSteps', written quoted, listed in error.fields); the
// CLI prints them as the flags that set them (--sampler-steps). A field the running command has no
// flag for (a positional, another request's field) stays as the engine wrote it.
import { GLOBAL_OPTIONS } from './args.js';
import type { Command } from './command.js';

/** Fields whose flag is not their name in kebab case. */
const FLAG_OF_FIELD: Readonly<Record<string, string>> = {
  checkpointsPerSeed: 'checkpoints',
  trainSubset: 'subset',
  graceMinutes: 'grace',
  timeoutSeconds: 'timeout',
};

export function flagOf(field: string, command: Command | null): string | null {
  const name = FLAG_OF_FIELD[field] ?? field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  return name in (command?.options ?? {}) || name in GLOBAL_OPTIONS ? `--${name}` : null;
}

/** `text` with 'field' written as --flag, and an example 'field': value as --flag value. */
export function withFlags(text: string, fields: readonly string[] | undefined, command: Command | null): string {
  if (!fields || fields.length === 0) return text;
  return text.replace(/'(\w+)'(: )?/g, (whole, field: string, example: string | undefined) => {
    const flag = fields.includes(field) ? flagOf(field, command) : null;
    if (!flag) return whole;
    return example ? `${flag} ` : flag;
  });
}
