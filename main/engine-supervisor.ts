// Keeps one engine process alive: starts it on demand, restarts it by the restart policy when it
// dies unasked, and on quit asks it to close (jobs cancelled, catalog closed) before killing it.
// Electron's utilityProcess is injected, so this runs (and is tested) under plain Node.
import type { RestartPolicy } from './restart-policy.js';

/** The part of a utility process the supervisor uses. */
export interface EngineProcess {
  /** registers the listener for the process's end (exit code, null when unknown) */
  onExit(listener: (code: number | null) => void): void;
  kill(): void;
}

export interface EngineLoss {
  /** the exit code of the process that ended */
  exitCode: number | null;
  /** a new engine is on its way (after `delayMs`) */
  restarting: boolean;
  delayMs: number;
}

export interface SupervisorOptions<P extends EngineProcess> {
  fork(): P;
  policy: RestartPolicy;
  /** asks a process to close cleanly (Electron: postMessage({type: 'stop'})) */
  requestStop(process: P): void;
  /** how long a close may take before the process is killed */
  stopTimeoutMs: number;
  /** a process started; `restarted` when it replaces one that died (windows must be re-attached) */
  onStarted(process: P, restarted: boolean): void;
  /** the running process ended unasked: requests in flight on its ports will never be answered */
  onLost(loss: EngineLoss): void;
  /** the policy refused another restart */
  onGaveUp(reason: string): void;
  now?: () => number;
  setTimer?: (callback: () => void, ms: number) => unknown;
  clearTimer?: (timer: unknown) => void;
}

export interface EngineSupervisor<P> {
  /** the running engine, started now when there is none (null while a restart waits, after giving up or stopping) */
  ensure(): P | null;
  current(): P | null;
  /** resolves once the process has exited (asked, then killed after stopTimeoutMs); no restart after this */
  stop(): Promise<void>;
  readonly state: 'idle' | 'running' | 'restarting' | 'failed' | 'stopping' | 'stopped';
}

export function createEngineSupervisor<P extends EngineProcess>(options: SupervisorOptions<P>): EngineSupervisor<P> {
  const now = options.now ?? Date.now;
  const setTimer = options.setTimer ?? ((callback, ms) => setTimeout(callback, ms));
  const clearTimer = options.clearTimer ?? ((timer) => clearTimeout(timer as ReturnType<typeof setTimeout>));
  let state: EngineSupervisor<P>['state'] = 'idle';
  let process: P | null = null;
  let restartTimer: unknown = null;
  let stopped: Promise<void> | null = null;
  let exited: (() => void) | null = null;

  const launch = (restarted: boolean): P => {
    const child = options.fork();
    process = child;
    state = 'running';
    child.onExit((code) => {
      if (process !== child) return;
      process = null;
      if (state === 'stopping') {
        exited?.();
        return;
      }
      const decision = options.policy.onUnexpectedExit(now());
      if (!decision.restart) {
        state = 'failed';
        options.onLost({ exitCode: code, restarting: false, delayMs: 0 });
        options.onGaveUp(decision.reason);
        return;
      }
      state = 'restarting';
      options.onLost({ exitCode: code, restarting: true, delayMs: decision.delayMs });
      restartTimer = setTimer(() => {
        restartTimer = null;
        if (state === 'restarting') launch(true);
      }, decision.delayMs);
    });
    options.onStarted(child, restarted);
    return child;
  };

  return {
    get state() {
      return state;
    },
    ensure() {
      if (state === 'idle') return launch(false);
      return process;
    },
    current: () => process,
    stop() {
      if (stopped) return stopped;
      const wasRunning = process;
      state = 'stopping';
      if (restartTimer !== null) clearTimer(restartTimer);
      restartTimer = null;
      stopped = new Promise<void>((resolve) => {
        if (!wasRunning) {
          state = 'stopped';
          resolve();
          return;
        }
        const killTimer = setTimer(() => wasRunning.kill(), options.stopTimeoutMs);
        exited = () => {
          clearTimer(killTimer);
          state = 'stopped';
          resolve();
        };
        options.requestStop(wasRunning);
      });
      return stopped;
    },
  };
}
