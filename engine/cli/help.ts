import type { Command } from './command.js';
import { table } from './text.js';

const GLOBAL_HELP = `global options:
  --data DIR        data folder (default: $PARAMZOO_DATA, else ~/.paramzoo)
  --backend NAME    tensorflow, webgpu, wasm or cpu (for commands that compute)
  --threads N       threads those commands compute on, 1 to 64 (default: the backend's choice)
  --json            print exactly one JSON document on stdout
  -h, --help        help for a command`;

export function globalHelp(commands: readonly Command[], group: string | null = null): string {
  const shown = group ? commands.filter((c) => c.name.startsWith(`${group} `)) : commands;
  return [
    `usage: paramzoo ${group ?? 'COMMAND'} ${group ? 'COMMAND' : ''}[options]`.replace(/\s+/g, ' '),
    '',
    table(
      ['command', 'what it does'],
      shown.map((c) => [`${c.name} ${c.args}`.trim(), c.summary]),
    ),
    '',
    GLOBAL_HELP,
    '',
    "'paramzoo COMMAND --help' for one command. Exit codes: 0 success, 1 user error, 2 bug.",
  ].join('\n');
}

export function commandHelp(command: Command): string {
  return [`usage: paramzoo ${command.name} ${command.args}`.trim(), '', command.summary, '', command.help, '', GLOBAL_HELP].join('\n');
}
