// Splits `paramzoo [global options] WORDS... [options] [args]` into the command and the rest,
// then parses options with node:util parseArgs (strict: unknown options are user errors).
import { parseArgs } from 'node:util';
import { EngineError } from '../errors.js';
import type { Command, OptionSpec, OptionValues } from './command.js';

export const GLOBAL_OPTIONS = {
  data: { type: 'string' },
  backend: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} satisfies OptionSpec;

export class UsageError extends EngineError {
  constructor(message: string, hint = "see 'paramzoo --help'") {
    super('usage', message, { hint });
  }
}

/** Option names (long, without dashes) that take a value, over global and all command options. */
function valueOptions(commands: readonly Command[]): Set<string> {
  const names = new Set<string>();
  for (const spec of [GLOBAL_OPTIONS, ...commands.map((c) => c.options ?? {})]) {
    for (const [name, option] of Object.entries(spec)) if (option.type === 'string') names.add(name);
  }
  return names;
}

/** Positions of the tokens that are neither options nor option values: command words, then arguments. */
function wordPositions(argv: string[], takesValue: Set<string>): number[] {
  const positions: number[] = [];
  for (let i = 0; i < argv.length; i += 1) {
    const token = argv[i]!;
    if (token === '--') break;
    if (token.startsWith('-')) {
      if (token.startsWith('--') && !token.includes('=') && takesValue.has(token.slice(2))) i += 1;
      continue;
    }
    positions.push(i);
  }
  return positions;
}

export interface ParsedCommandLine {
  command: Command | null;
  /** words that named a group without a command ('zoo'), for its help */
  group: string | null;
  positionals: string[];
  options: OptionValues;
}

export function parseCommandLine(argv: string[], commands: readonly Command[]): ParsedCommandLine {
  const positions = wordPositions(argv, valueOptions(commands));
  const words = positions.map((i) => argv[i]!);
  // The longest command name that the leading words spell.
  let command: Command | null = null;
  for (const candidate of commands) {
    const parts = candidate.name.split(' ');
    if (parts.every((part, i) => words[i] === part) && (!command || parts.length > command.name.split(' ').length)) command = candidate;
  }
  const used = command ? command.name.split(' ').length : 0;
  const rest = argv.filter((_, i) => !positions.slice(0, used).includes(i));
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options: { ...GLOBAL_OPTIONS, ...(command?.options ?? {}) }, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message.split('\n')[0]!, command ? `see 'paramzoo ${command.name} --help'` : undefined);
  }
  const group = !command && words.length > 0 && commands.some((c) => c.name.startsWith(`${words[0]} `)) ? words[0]! : null;
  return { command, group, positionals: parsed.positionals, options: parsed.values as OptionValues };
}
