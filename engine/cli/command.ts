import type { ParseArgsConfig } from 'node:util';
import type { BackendName, ParamsOf, RequestName } from '../protocol.js';
import type { EngineService } from '../service.js';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;
export type OptionValues = Record<string, string | boolean | string[] | boolean[] | undefined>;

/** One `paramzoo` command. Adding a command = one module exporting this + one line in commands.ts. */
export interface Command {
  /** the words that select it: 'inspect', 'zoo create' */
  name: string;
  /** arguments after the name, for the usage line: 'PATH', 'NAME PATH...' */
  args: string;
  summary: string;
  /** help text after the usage line: what it does, its options */
  help: string;
  options?: OptionSpec;
  /** options it refuses with a reason, e.g. another command's flag that users reach for here */
  refused?: Record<string, { type: 'string' | 'boolean'; why: string; hint: string }>;
  positionals: { min: number; max: number };
  run(ctx: CommandContext): Promise<void>;
}

export interface CommandContext {
  positionals: string[];
  options: OptionValues;
  json: boolean;
  dataDir: string;
  backend: BackendName | undefined;
  /** --threads: what the compute jobs are asked to use, beside `backend` */
  threads: number | undefined;
  /** the engine service on the data folder, created on first use */
  service(): EngineService;
  /** prints the command's one result: `value` as JSON with --json, else `text()` */
  print(value: unknown, text: () => string): void;
  /** runs a job request, showing its progress on stderr; resolves with the job's result */
  runJob<N extends RequestName>(method: N, params: ParamsOf<N>): Promise<unknown>;
}
