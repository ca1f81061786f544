// Option values of the pipeline commands, parsed into what the job requests take.
import { EngineError } from '../../errors.js';
import type { CommandContext } from '../command.js';

export function numberOption(ctx: CommandContext, name: string, kind: 'whole' | 'number' = 'whole'): number | undefined {
  const text = ctx.options[name];
  if (text === undefined) return undefined;
  const value = Number(text);
  if (typeof text !== 'string' || text.trim() === '' || !Number.isFinite(value) || (kind === 'whole' && (!Number.isInteger(value) || value < 0))) {
    throw new EngineError('bad_option', `--${name} must be ${kind === 'whole' ? 'a whole number ≥ 0' : 'a number'}, not '${String(text)}'`, {
      hint: `e.g. --${name} ${kind === 'whole' ? '10' : '0.001'}`,
    });
  }
  return value;
}

export function stringOption(ctx: CommandContext, name: string): string | undefined {
  const value = ctx.options[name];
  return typeof value === 'string' ? value : undefined;
}

/** `--condition 0101010101` (or 0,1,0,1,…) → [0,1,0,1,…]. */
export function parseCondition(text: string): number[] {
  const bits = text.includes(',') ? text.split(',').map((b) => b.trim()) : [...text.trim()];
  if (bits.length === 0 || bits.some((b) => b !== '0' && b !== '1')) {
    throw new EngineError('bad_option', `--condition must be a string of 0s and 1s (one per class), not '${text}'`, { hint: 'e.g. --condition 0101010101' });
  }
  return bits.map(Number);
}

/** `--set key=value` (repeatable): JSON values (numbers, [16,32,16], true), comma lists of numbers, or plain strings. */
export function parseSettings(entries: string[]): Record<string, unknown> {
  const settings: Record<string, unknown> = {};
  for (const entry of entries) {
    const at = entry.indexOf('=');
    if (at <= 0) throw new EngineError('bad_option', `--set takes key=value, not '${entry}'`, { hint: 'e.g. --set lr=0.0005 --set denoiserChannels=16,32,16' });
    const key = entry.slice(0, at).trim();
    const text = entry.slice(at + 1).trim();
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      const parts = text.split(',');
      value = parts.length > 1 && parts.every((p) => p.trim() !== '' && Number.isFinite(Number(p))) ? parts.map(Number) : text;
    }
    settings[key] = value;
  }
  return settings;
}

/** --backend and --threads, for the params of a job that computes. */
export function backendParam(ctx: CommandContext): { backend?: string; threads?: number } {
  return { ...(ctx.backend ? { backend: ctx.backend } : {}), ...(ctx.threads !== undefined ? { threads: ctx.threads } : {}) };
}

export const pct = (value: number | null | undefined): string => (value === null || value === undefined ? '—' : `${value.toFixed(2)}%`);
