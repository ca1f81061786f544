// When the engine process dies unasked, it is started again: at once the first time, then with a
// growing delay, and not at all once it has died `maxRestarts` times within `windowMs` (a crash at
// every start — a broken install, a corrupt catalog — must not spin forever).

export interface RestartPolicyOptions {
  /** restarts allowed within the window */
  maxRestarts: number;
  windowMs: number;
  /** the first restart in the window is immediate, the next wait baseDelayMs, 2·baseDelayMs, … at most maxDelayMs */
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicyOptions = { maxRestarts: 5, windowMs: 60_000, baseDelayMs: 500, maxDelayMs: 8_000 };

export type RestartDecision = { restart: true; delayMs: number; attempt: number } | { restart: false; reason: string };

export interface RestartPolicy {
  /** the engine exited at `now` (ms) without being asked to */
  onUnexpectedExit(now: number): RestartDecision;
}

export function createRestartPolicy(options: Partial<RestartPolicyOptions> = {}): RestartPolicy {
  const { maxRestarts, windowMs, baseDelayMs, maxDelayMs } = { ...DEFAULT_RESTART_POLICY, ...options };
  let exits: number[] = [];
  return {
    onUnexpectedExit(now) {
      exits = exits.filter((t) => now - t < windowMs);
      exits.push(now);
      const attempt = exits.length;
      if (attempt > maxRestarts) {
        return { restart: false, reason: `the engine stopped ${attempt} times within ${Math.round(windowMs / 1000)} s; it is not restarted again` };
      }
      const delayMs = attempt === 1 ? 0 : Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 2));
      return { restart: true, delayMs, attempt };
    },
  };
}
