// A user's own evaluator for zoos without a built-in task (imported timm or DoRA zoos): a command
// such as `python eval.py {checkpoint}` that ParamZoo runs on one checkpoint file and that prints
// its accuracy. Nothing here goes through a shell: the command is split into argv once, by the
// rule below, and the checkpoint's path is put into the words that name `{checkpoint}`, so no path
// or file content can ever become shell syntax.
//
// Splitting rule (the whole of it):
// - words are separated by whitespace outside quotes;
// - '…' and "…" group text, spaces included, into a word; the quote characters are dropped, the
//   other kind of quote inside is kept as it is; a quoted part and unquoted text next to it join
//   into one word (`--ckpt="{checkpoint}"` is the word `--ckpt={checkpoint}`); '' is an empty word;
// - a backslash is an ordinary character (Windows paths stay as typed; there are no escapes);
// - an unclosed quote is an error, and at least one word must contain `{checkpoint}`.
//
// Reading the accuracy: the last number on the last non-empty line of stdout. A number followed by
// `%` is a percent; otherwise a number above 1 is a percent (93.1) and one of at most 1 a fraction
// (0.931 → 93.1%). So an evaluator that prints a percent of 1 or less must write the `%` sign.
import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { CancelledError, EngineError } from '../errors.js';

export const CHECKPOINT_PLACEHOLDER = '{checkpoint}';
export const DEFAULT_EVALUATOR_TIMEOUT_SECONDS = 600;
export const MAX_EVALUATOR_TIMEOUT_SECONDS = 7 * 24 * 3600;

/** What a zoo stores: the command as the user typed it, the folder it runs in, how long one checkpoint may take. */
export interface EvaluatorCommand {
  command: string;
  cwd: string;
  timeoutSeconds: number;
}

/** The command a user gave cannot be used (refused when it is set, before anything runs). */
export class EvaluatorCommandInvalidError extends EngineError {
  constructor(command: string, what: string) {
    super('evaluator_command', `evaluator command '${command}': ${what}`, {
      hint: `write the program and its arguments with ${CHECKPOINT_PLACEHOLDER} where the checkpoint's path goes, e.g. python eval.py ${CHECKPOINT_PLACEHOLDER}; quote words with spaces in '…' or "…"`,
      fields: ['command'],
    });
  }
}

export type EvaluatorFailure = 'start' | 'exit' | 'no_accuracy' | 'timeout';

/** The evaluator ran on a checkpoint and gave no accuracy: which command, which checkpoint, why, and the end of its stderr. */
export class EvaluatorCommandError extends EngineError {
  readonly command: string;
  readonly checkpoint: string;
  readonly reason: EvaluatorFailure;
  readonly exitCode: number | null;
  readonly stderrTail: string;

  constructor(input: { command: string; checkpoint: string; path: string; reason: EvaluatorFailure; detail: string; exitCode?: number | null; stderrTail?: string }) {
    const stderrTail = input.stderrTail ?? '';
    super(
      'evaluator_failed',
      `evaluator command '${input.command}' on checkpoint ${input.checkpoint} (${input.path}): ${input.detail}${stderrTail ? `; its stderr ends with:\n${stderrTail}` : '; it wrote nothing to stderr'}`,
      {
        file: input.path,
        hint:
          input.reason === 'timeout'
            ? "give the zoo's evaluator a longer 'timeoutSeconds', or make the command faster"
            : `the command must exit with code 0 and print the accuracy as the last number of its last line; export the checkpoint and run the command on it by hand to see what it needs`,
      },
    );
    this.command = input.command;
    this.checkpoint = input.checkpoint;
    this.reason = input.reason;
    this.exitCode = input.exitCode ?? null;
    this.stderrTail = stderrTail;
  }
}

/** Splits a command line into argv by the rule at the top of this file. */
export function splitCommand(command: string): string[] {
  const words: string[] = [];
  let word: string | null = null;
  let quote: '"' | "'" | null = null;
  for (const char of command) {
    if (quote) {
      if (char === quote) quote = null;
      else word += char;
    } else if (char === '"' || char === "'") {
      quote = char;
      word ??= '';
    } else if (/\s/.test(char)) {
      if (word !== null) words.push(word);
      word = null;
    } else {
      word = (word ?? '') + char;
    }
  }
  if (quote) throw new EvaluatorCommandInvalidError(command, `the quote ${quote} is not closed`);
  if (word !== null) words.push(word);
  return words;
}

/** argv of a valid command: refuses an empty one, and one without `{checkpoint}`. */
export function evaluatorArgv(command: string): string[] {
  const argv = splitCommand(command);
  if (argv.length === 0 || argv[0] === '') throw new EvaluatorCommandInvalidError(command, 'it names no program to run');
  if (!argv.some((word) => word.includes(CHECKPOINT_PLACEHOLDER))) {
    throw new EvaluatorCommandInvalidError(command, `no word contains ${CHECKPOINT_PLACEHOLDER}, so the program would not know which checkpoint to test`);
  }
  return argv;
}

/**
 * A zoo's evaluator from a request's fields, checked before it is stored: a command that splits,
 * names a program and `{checkpoint}`; an absolute, existing folder to run in (default `defaultCwd`);
 * a whole number of seconds per checkpoint.
 */
export function checkedEvaluator(input: { command: string; cwd?: string; timeoutSeconds?: number }, defaultCwd: string): EvaluatorCommand {
  evaluatorArgv(input.command);
  const cwd = input.cwd ?? defaultCwd;
  if (typeof cwd !== 'string' || !isAbsolute(cwd) || !statSync(cwd, { throwIfNoEntry: false })?.isDirectory()) {
    throw new EngineError('evaluator_command', `the evaluator's folder 'cwd' ${JSON.stringify(cwd)} is not an absolute path of an existing folder`, {
      hint: "give the folder the command's relative paths (e.g. eval.py) are relative to",
      fields: ['cwd'],
    });
  }
  const timeoutSeconds = input.timeoutSeconds ?? DEFAULT_EVALUATOR_TIMEOUT_SECONDS;
  if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 1 || timeoutSeconds > MAX_EVALUATOR_TIMEOUT_SECONDS) {
    throw new EngineError('evaluator_command', `the evaluator's 'timeoutSeconds' ${String(timeoutSeconds)} must be a whole number of seconds from 1 to ${MAX_EVALUATOR_TIMEOUT_SECONDS}`, {
      hint: `the longest one checkpoint's evaluation may take; default ${DEFAULT_EVALUATOR_TIMEOUT_SECONDS}`,
      fields: ['timeoutSeconds'],
    });
  }
  return { command: input.command, cwd, timeoutSeconds };
}

/** argv with the checkpoint's path in place of every `{checkpoint}` (each word stays one argument). */
export function argvFor(argv: readonly string[], path: string): string[] {
  return argv.map((word) => word.split(CHECKPOINT_PLACEHOLDER).join(path));
}

const NUMBER = /[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?(\s*%)?/g;

/**
 * The accuracy in percent from an evaluator's stdout (rule at the top of this file), or a reason
 * it has none. Accuracies outside 0…100 % are refused rather than guessed at.
 */
export function parseAccuracy(stdout: string): { accuracy: number } | { error: string } {
  const lines = stdout
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.length > 0);
  const last = lines[lines.length - 1];
  if (last === undefined) return { error: 'it printed nothing on stdout' };
  const numbers = [...last.matchAll(NUMBER)];
  const found = numbers[numbers.length - 1];
  if (!found) return { error: `its last line '${clip(last, 200)}' holds no number` };
  const value = Number(found[0].replace('%', '').trim());
  const percent = found[1] !== undefined || value > 1 ? value : value * 100;
  if (!Number.isFinite(percent) || percent < 0 || percent > 100) {
    return { error: `its last line '${clip(last, 200)}' ends with ${found[0].trim()}, which is not an accuracy (a fraction 0…1 or a percent up to 100)` };
  }
  return { accuracy: percent };
}

const clip = (text: string, max: number): string => (text.length <= max ? text : `…${text.slice(text.length - max)}`);

/** The last `max` characters of a stream, kept as it arrives (a chatty evaluator does not fill memory). */
class Tail {
  private text = '';
  constructor(private readonly max: number) {}
  add(chunk: string): void {
    this.text += chunk;
    if (this.text.length > 2 * this.max) this.text = this.text.slice(this.text.length - this.max);
  }
  value(): string {
    return this.text.length > this.max ? this.text.slice(this.text.length - this.max) : this.text;
  }
}

const STDOUT_TAIL = 64 * 1024;
const STDERR_TAIL = 2000;
/** after SIGTERM, how long a command may take to exit before it is killed */
const KILL_GRACE_MS = 2000;

export interface RunEvaluatorInput {
  evaluator: EvaluatorCommand;
  /** the checkpoint's id, for messages */
  checkpoint: string;
  /** the checkpoint file (or folder) the command is given */
  path: string;
  /** aborting kills the command (and what it started, on POSIX) and rejects with CancelledError */
  signal?: AbortSignal;
}

/** Runs the evaluator on one checkpoint; resolves with its accuracy in percent, else rejects with EvaluatorCommandError. */
export function runEvaluator(input: RunEvaluatorInput): Promise<number> {
  const { evaluator, checkpoint, path, signal } = input;
  const argv = argvFor(evaluatorArgv(evaluator.command), path);
  const fail = (reason: EvaluatorFailure, detail: string, extra: { exitCode?: number | null; stderrTail?: string } = {}) =>
    new EvaluatorCommandError({ command: evaluator.command, checkpoint, path, reason, detail, ...extra });
  if (signal?.aborted) return Promise.reject(new CancelledError(`evaluating checkpoint ${checkpoint}`));

  return new Promise<number>((resolve, reject) => {
    // Its own process group on POSIX, so that cancelling also ends what the command started (a shell script's python).
    const group = process.platform !== 'win32';
    const child = spawn(argv[0]!, argv.slice(1), { cwd: evaluator.cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: group, windowsHide: true });
    const stdout = new Tail(STDOUT_TAIL);
    const stderr = new Tail(STDERR_TAIL);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => stdout.add(chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => stderr.add(chunk));

    let stopped: 'timeout' | 'cancelled' | null = null;
    let killTimer: NodeJS.Timeout | undefined;
    const kill = (sig: NodeJS.Signals) => {
      try {
        if (group && child.pid !== undefined) process.kill(-child.pid, sig);
        else child.kill(sig);
      } catch {
        // already gone
      }
    };
    const stop = (why: 'timeout' | 'cancelled') => {
      if (stopped) return;
      stopped = why;
      kill('SIGTERM');
      killTimer = setTimeout(() => kill('SIGKILL'), KILL_GRACE_MS);
    };
    const timer = setTimeout(() => stop('timeout'), evaluator.timeoutSeconds * 1000);
    const onAbort = () => stop('cancelled');
    signal?.addEventListener('abort', onAbort, { once: true });
    const finish = () => {
      clearTimeout(timer);
      clearTimeout(killTimer);
      signal?.removeEventListener('abort', onAbort);
    };

    child.on('error', (error: NodeJS.ErrnoException) => {
      finish();
      const detail = error.code === 'ENOENT' ? `the program '${argv[0]}' was not found (run in ${evaluator.cwd})` : `the program '${argv[0]}' could not be started: ${error.message}`;
      reject(fail('start', detail));
    });
    // 'close': the process exited and its output is all read.
    child.on('close', (code, sig) => {
      finish();
      // The command's group may still hold children that ignored the first signal: end them too.
      if (stopped && group) kill('SIGKILL');
      const stderrTail = stderr.value().trimEnd();
      if (stopped === 'cancelled') return reject(new CancelledError(`evaluating checkpoint ${checkpoint}`));
      if (stopped === 'timeout') return reject(fail('timeout', `it did not finish within ${evaluator.timeoutSeconds} s and was stopped`, { stderrTail }));
      if (code !== 0) return reject(fail('exit', code === null ? `it was killed by ${sig}` : `it exited with code ${code}`, { exitCode: code, stderrTail }));
      const parsed = parseAccuracy(stdout.value());
      if ('error' in parsed) return reject(fail('no_accuracy', `it gave no accuracy: ${parsed.error}`, { exitCode: 0, stderrTail }));
      resolve(parsed.accuracy);
    });
  });
}
