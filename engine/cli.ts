// `paramzoo`: every job the app can run, on the same engine service, in-process.
// Exit codes: 0 success, 1 user error (an EngineError: message and hint on stderr), 2 bug (stack).
import { homedir } from 'node:os';
import { join } from 'node:path';
import { BACKEND_NAMES, type BackendName } from './protocol.js';
import { EngineError } from './errors.js';
import type { EngineService } from './service.js';
import { parseCommandLine, UsageError } from './cli/args.js';
import type { Command, CommandContext } from './cli/command.js';
import { COMMANDS } from './cli/commands.js';
import { withFlags } from './cli/fields.js';
import { commandHelp, globalHelp } from './cli/help.js';
import { ProgressReporter } from './cli/progress.js';
import { terminalSafe } from './cli/text.js';

const MAX_THREADS = 64;

export function defaultDataDir(): string {
  return process.env.PARAMZOO_DATA || join(homedir(), '.paramzoo');
}

export async function main(argv: string[]): Promise<number> {
  let json = argv.includes('--json');
  const engine: { service?: EngineService } = {};
  let command: Command | null = null;
  try {
    const parsed = parseCommandLine(argv, COMMANDS);
    json = parsed.options.json === true;
    command = parsed.command;
    if (!command) {
      if (parsed.options.help) {
        process.stdout.write(`${globalHelp(COMMANDS, parsed.group)}\n`);
        return 0;
      }
      const word = parsed.positionals[0];
      process.stderr.write(`${globalHelp(COMMANDS, parsed.group)}\n\n`);
      throw new UsageError(word && !parsed.group ? `unknown command '${word}'` : parsed.group ? `'paramzoo ${parsed.group}' needs a command` : 'no command given');
    }
    if (parsed.options.help) {
      process.stdout.write(`${commandHelp(command)}\n`);
      return 0;
    }
    const { min, max } = command.positionals;
    if (parsed.positionals.length < min || parsed.positionals.length > max) {
      throw new UsageError(
        `'paramzoo ${command.name}' takes ${command.args || 'no arguments'}; got ${parsed.positionals.length === 0 ? 'none' : parsed.positionals.join(' ')}`,
        `see 'paramzoo ${command.name} --help'`,
      );
    }
    const backend = parsed.options.backend;
    if (backend !== undefined && !BACKEND_NAMES.includes(backend as BackendName)) {
      throw new UsageError(`--backend must be one of ${BACKEND_NAMES.join(', ')}, not '${String(backend)}'`);
    }
    const threads = parseThreads(parsed.options.threads);
    // The engine (catalog, formats, jobs) loads once a command runs: help and usage errors print without it.
    const { createEngineService, runJob } = await import('./service.js');
    const dataDir = typeof parsed.options.data === 'string' ? parsed.options.data : defaultDataDir();
    let printed = false;
    const ctx: CommandContext = {
      positionals: parsed.positionals,
      options: parsed.options,
      json,
      dataDir,
      backend: backend as BackendName | undefined,
      threads,
      service: () => (engine.service ??= createEngineService({ dataDir })),
      print(value, text) {
        if (printed) throw new Error('a command printed two results');
        printed = true;
        process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${terminalSafe(text())}\n`);
      },
      async runJob(method, params) {
        const mode = process.stderr.isTTY ? 'bar' : json ? 'off' : 'lines';
        const reporter = new ProgressReporter(process.stderr, mode, method);
        // Ctrl-C cancels the job cleanly (the catalog stays consistent); a second one kills as usual.
        const cancel = () => {
          reporter.finish();
          process.stderr.write('paramzoo: cancelling (Ctrl-C again to kill)\n');
          engine.service?.jobs.cancelAll();
        };
        process.once('SIGINT', cancel);
        try {
          return await runJob(ctx.service(), method, params, (progress) => reporter.update(progress));
        } finally {
          process.off('SIGINT', cancel);
          reporter.finish();
        }
      },
    };
    await command.run(ctx);
    return 0;
  } catch (error) {
    if (error instanceof EngineError) {
      // The engine names request fields; here they are the flags that set them.
      const message = withFlags(error.message, error.fields, command);
      const hint = error.hint === undefined ? undefined : withFlags(error.hint, error.fields, command);
      process.stderr.write(terminalSafe(`paramzoo: ${message}\n${hint ? `hint: ${hint}\n` : ''}`));
      if (json) process.stdout.write(`${JSON.stringify({ error: error.toInfo() }, null, 2)}\n`);
      return 1;
    }
    process.stderr.write(`paramzoo: internal error (a bug in ParamZoo; please report it with this trace)\n${error instanceof Error ? error.stack : String(error)}\n`);
    return 2;
  } finally {
    await engine.service?.close();
  }
}

function parseThreads(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const threads = typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : NaN;
  if (!(threads >= 1 && threads <= MAX_THREADS)) {
    throw new UsageError(`--threads must be a whole number from 1 to ${MAX_THREADS}, not '${String(value)}'`, 'e.g. --threads 4');
  }
  return threads;
}
