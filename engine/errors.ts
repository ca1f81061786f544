import type { EngineErrorInfo } from './protocol.js';

/**
 * An error a user can meet: a stable code, a message that names the file or setting and what is
 * wrong, and a hint saying what to do. Anything else escaping the engine is a bug (CLI exit 2).
 */
export class EngineError extends Error {
  readonly code: string;
  readonly file?: string;
  readonly hint?: string;

  constructor(code: string, message: string, options: { file?: string; hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.file = options.file;
    this.hint = options.hint;
  }

  toInfo(): EngineErrorInfo {
    const info: EngineErrorInfo = { code: this.code, message: this.message };
    if (this.file !== undefined) info.file = this.file;
    if (this.hint !== undefined) info.hint = this.hint;
    return info;
  }
}

/** Thrown when a job is cancelled; the job ends as 'cancelled', not 'failed'. */
export class CancelledError extends EngineError {
  constructor(what = 'the job') {
    super('cancelled', `${what} was cancelled`);
  }
}

export function isEngineError(error: unknown): error is EngineError {
  return error instanceof EngineError;
}
