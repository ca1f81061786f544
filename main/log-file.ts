// The desktop app's log: one file per day in <data>/logs/, what main and the engine process print.
import { join } from 'node:path';

/** <data>/logs/YYYY-MM-DD.log, in local time (the day the user lived through). */
export function logFileFor(dataDir: string, date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return join(dataDir, 'logs', `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}.log`);
}

/** One log line: ISO time, source, text; multi-line text is indented so every line stays attributable. */
export function logLine(date: Date, source: string, text: string): string {
  return `${date.toISOString()} [${source}] ${text.replace(/\s+$/, '').replace(/\n/g, '\n    ')}\n`;
}
