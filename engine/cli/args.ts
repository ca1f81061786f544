// Splits `paramzoo [global options] WORDS... [options] [args]` into the command and the rest, with
// node:util parseArgs alone: one pass over every option any command has finds the command words,
// a second over the chosen command's options reads the values. Its tokens let every mistake be
// reported in the CLI's words: which flag, on which command.
import { parseArgs } from 'node:util';
import { EngineError } from '../errors.js';
import type { Command, OptionSpec, OptionValues } from './command.js';

export const GLOBAL_OPTIONS = {
  data: { type: 'string' },
  backend: { type: 'string' },
  threads: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} satisfies OptionSpec;

export class UsageError extends EngineError {
  constructor(message: string, hint = "see 'paramzoo --help'") {
    super('usage', message, { hint });
  }
}

/** A command's own options, its refused ones (declared so that their values are not taken for words), and the global ones. */
function optionsOf(command: Command | null): OptionSpec {
  const refused = Object.fromEntries(Object.entries(command?.refused ?? {}).map(([name, r]) => [name, { type: r.type }]));
  return { ...GLOBAL_OPTIONS, ...refused, ...(command?.options ?? {}) };
}

export interface ParsedCommandLine {
  command: Command | null;
  /** words that named a group without a command ('zoo'), for its help */
  group: string | null;
  positionals: string[];
  options: OptionValues;
}

export function parseCommandLine(argv: string[], commands: readonly Command[]): ParsedCommandLine {
  // Pass 1: the command words are the leading positionals, whatever options surround them.
  const everyOption: OptionSpec = Object.assign({}, ...commands.map(optionsOf));
  const scan = parseArgs({ args: argv, options: everyOption, strict: false, allowPositionals: true, tokens: true });
  const words = scan.tokens.filter((t) => t.kind === 'positional').map((t) => ({ value: t.value, index: t.index }));
  // The longest command name that the leading words spell.
  let command: Command | null = null;
  for (const candidate of commands) {
    const parts = candidate.name.split(' ');
    if (parts.every((part, i) => words[i]?.value === part) && (!command || parts.length > command.name.split(' ').length)) command = candidate;
  }
  const used = new Set(words.slice(0, command ? command.name.split(' ').length : 0).map((w) => w.index));
  const group = !command && words.length > 0 && commands.some((c) => c.name.startsWith(`${words[0]!.value} `)) ? words[0]!.value : null;

  // Pass 2: the chosen command's options. Without a command, only the global ones (an unknown
  // command word is reported before its options).
  const spec = optionsOf(command);
  const parsed = parseArgs({ args: argv.filter((_, i) => !used.has(i)), options: spec, strict: false, allowPositionals: true, tokens: true });
  if (command || words.length === 0) {
    for (const token of parsed.tokens) if (token.kind === 'option') checkOption(token, spec, command);
  }
  return { command, group, positionals: parsed.positionals, options: parsed.values as OptionValues };
}

interface OptionToken {
  name: string;
  rawName: string;
  value?: string;
  inlineValue?: boolean;
}

function checkOption(token: OptionToken, spec: OptionSpec, command: Command | null): void {
  const where = command ? `'paramzoo ${command.name}'` : 'paramzoo';
  const help = command ? `see 'paramzoo ${command.name} --help'` : undefined;
  const refused = command?.refused?.[token.name];
  if (refused) throw new UsageError(`${where} has no option ${token.rawName}: ${refused.why}`, refused.hint);
  const option = spec[token.name];
  if (!option) {
    const own = Object.keys(command?.options ?? {}).map((name) => `--${name}`);
    throw new UsageError(`${where} has no option ${token.rawName}`, own.length > 0 ? `its options: ${own.join(', ')}, and the global ones; ${help}` : help);
  }
  if (option.type === 'boolean' && token.inlineValue) throw new UsageError(`${token.rawName} takes no value`, help);
  if (option.type === 'string') {
    if (token.value === undefined) throw new UsageError(`${token.rawName} needs a value`, help);
    // As parseArgs' strict mode: `--seed --json` is a forgotten value, not the value '--json'.
    if (!token.inlineValue && token.value.startsWith('-')) {
      throw new UsageError(`${token.rawName} needs a value, and '${token.value}' looks like an option`, `if it is the value, write ${token.rawName}=${token.value}`);
    }
  }
}
