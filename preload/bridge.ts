// The engine side of window.paramzoo: requests and events over the MessagePort main hands out,
// with what happens when the engine process dies in between. No electron import, so it runs (and
// is tested) under Node with node:worker_threads' MessageChannel.
//
// Failures reach the page as plain objects {code, message, hint?, file?}: contextBridge copies a
// plain object across worlds whole, but turns an Error into a bare Error (its code, hint and file lost).
import type { ClientMessage, EngineErrorInfo, EngineEvent, JobInfo, ServerMessage } from '../engine/protocol.js';

/** The DOM MessagePort of the preload's world, typed by its shape (the project's lib has no DOM). */
export interface BridgePort {
  onmessage: ((message: { data: ServerMessage }) => void) | null;
  postMessage(message: ClientMessage): void;
  start(): void;
  close(): void;
}

export interface Bridge {
  request(method: string, params: unknown): Promise<unknown>;
  subscribe(listener: (event: EngineEvent) => void): () => void;
  /** a port from main: the first one, or one to an engine restarted after a loss */
  attach(port: BridgePort): void;
  /** the engine process ended: requests in flight are rejected with `error`; new ones wait for the next port */
  lost(error: RequestFailure): void;
  /** the engine will not come back: everything waiting, and every later request, is rejected with `error` */
  failed(error: RequestFailure): void;
}

/** How a request fails: the engine's error, or the host's when the engine process went away. */
export type RequestFailure = Omit<EngineErrorInfo, 'code'> & { code: EngineErrorInfo['code'] | HostErrorCode };
/** 'engine_lost': the engine process ended before answering (it is restarted); 'engine_failed': it could not be restarted */
export type HostErrorCode = 'engine_lost' | 'engine_failed';

type Waiter = { resolve: (value: unknown) => void; reject: (error: RequestFailure) => void };

/** Only the contract's fields, whatever else the object carries (a structured clone may hold more). */
export function plainError(error: { code?: unknown; message?: unknown; hint?: unknown; file?: unknown; fields?: unknown }): RequestFailure {
  const info: RequestFailure = {
    code: (typeof error.code === 'string' ? error.code : 'internal') as RequestFailure['code'],
    message: typeof error.message === 'string' ? error.message : String(error.message),
  };
  if (typeof error.hint === 'string') info.hint = error.hint;
  if (typeof error.file === 'string') info.file = error.file;
  if (Array.isArray(error.fields) && error.fields.every((f) => typeof f === 'string')) info.fields = [...(error.fields as string[])];
  return info;
}

const ENDED: JobInfo['status'][] = ['failed', 'cancelled', 'interrupted'];

export function createBridge(): Bridge {
  const listeners = new Set<(event: EngineEvent) => void>();
  /** requests sent on the current port, by id */
  let pending = new Map<number, Waiter>();
  /** requests waiting for a port */
  const queued: { message: ClientMessage; waiter: Waiter }[] = [];
  /** jobs seen queued or running: after a restart the page is told what became of them */
  const activeJobs = new Set<string>();
  let port: BridgePort | null = null;
  let failure: RequestFailure | null = null;
  let resyncNeeded = false;
  let nextId = 1;

  const emit = (event: EngineEvent): void => {
    if (event.type === 'job.progress') {
      if (event.job.status === 'queued' || event.job.status === 'running') activeJobs.add(event.job.id);
      else activeJobs.delete(event.job.id);
    } else if (event.type === 'job.finished' || event.type === 'job.failed') {
      activeJobs.delete(event.job.id);
    }
    for (const listener of listeners) listener(event);
  };

  const send = (message: ClientMessage, waiter: Waiter): void => {
    if (failure) {
      waiter.reject(failure);
      return;
    }
    if (!port) {
      queued.push({ message, waiter });
      return;
    }
    pending.set(message.id, waiter);
    port.postMessage(message);
  };

  const rejectPending = (error: RequestFailure): void => {
    const waiting = pending;
    pending = new Map();
    for (const waiter of waiting.values()) waiter.reject(error);
  };

  const request = (method: string, params: unknown): Promise<unknown> =>
    new Promise((resolve, reject) => send({ id: nextId++, method: method as ClientMessage['method'], params }, { resolve, reject }));

  /** After a restart: the jobs the page saw running ended with the old engine (the new one found them interrupted). */
  const resync = async (): Promise<void> => {
    if (activeJobs.size === 0) return emit({ type: 'catalog.changed', what: 'runs' });
    let jobs: JobInfo[];
    try {
      jobs = (await request('job.list', {})) as JobInfo[];
    } catch {
      return;
    }
    for (const job of jobs) {
      if (!activeJobs.has(job.id)) continue;
      if (job.status === 'succeeded') emit({ type: 'job.finished', job, result: job.result });
      else if (ENDED.includes(job.status)) emit({ type: 'job.failed', job });
      else emit({ type: 'job.progress', job });
    }
    emit({ type: 'catalog.changed', what: 'runs' });
  };

  const lost = (error: RequestFailure): void => {
    if (port) {
      port.onmessage = null;
      port.close();
    }
    port = null;
    resyncNeeded = true;
    rejectPending(plainError(error));
  };

  return {
    request,
    lost,
    subscribe(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    attach(next) {
      if (port) {
        port.onmessage = null;
        port.close();
        rejectPending({ code: 'engine_lost', message: 'the engine was restarted before it answered', hint: 'try again' });
      }
      port = next;
      failure = null;
      next.onmessage = ({ data }) => {
        if ('event' in data) return emit(data.event);
        const waiter = pending.get(data.id);
        if (!waiter) return;
        pending.delete(data.id);
        if (data.ok) waiter.resolve(data.result);
        else waiter.reject(plainError(data.error));
      };
      next.start();
      for (const { message, waiter } of queued.splice(0)) send(message, waiter);
      if (resyncNeeded) {
        resyncNeeded = false;
        void resync();
      }
    },
    failed(error) {
      lost(error);
      failure = plainError(error);
      for (const { waiter } of queued.splice(0)) waiter.reject(failure);
    },
  };
}
