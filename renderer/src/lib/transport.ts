// How the renderer reaches the engine, picked once at start (engine-choice.ts): Electron's preload
// (`window.paramzoo`) when present, unless the user chose a remote engine there; else a WebSocket to
// the `paramzoo serve` that served this page. All give the same typed object; the views never know
// which one they use, only what it can do (capabilities).
import type { ClientMessage, EngineErrorInfo, EngineEvent, ParamsOf, RequestName, ResultOf, ServerMessage, UploadChunkHeader } from '../../../engine/protocol';
import { checkRemoteAddress, chooseEngine } from './engine-choice';
import type { Capabilities, PreloadLike } from './host';

export type { Capabilities } from './host';

export interface DialogRequest {
  kind: 'open-file' | 'open-folder' | 'save';
  title: string;
  defaultPath?: string;
  filters?: { name: string; extensions: string[] }[];
}

export interface Engine {
  request<N extends RequestName>(method: N, params: ParamsOf<N>): Promise<ResultOf<N>>;
  subscribe(listener: (event: EngineEvent) => void): () => void;
  /** connection state changes: 'open' | 'closed' | 'refused' */
  onState(listener: (state: ConnectionState) => void): () => void;
  sendBinary(frame: ArrayBuffer): Promise<void>;
  /** present when capabilities.nativePaths: the chosen paths, empty when cancelled */
  choosePaths?(request: DialogRequest): Promise<string[]>;
  /** present when capabilities.showInFolder */
  showInFolder?(path: string): Promise<void>;
  /** present when capabilities.droppedPaths: a dropped file's (or folder's) path, '' when it has none */
  pathForFile?(file: File): string;
  capabilities: Capabilities;
  /** which engine this is, for the status bar */
  source: EngineSource;
  /** where one-time download links (download.ticket's url) are resolved */
  httpBase: string;
}

export interface EngineSource {
  /** this computer's engine in the desktop app, the page's own server, or a remote engine through a tunnel */
  kind: 'app' | 'served' | 'remote';
  /** the remote engine's HOST:PORT */
  label?: string;
  /** in the desktop app, where the user may switch between this computer's engine and a remote one */
  switchable: boolean;
  /** a stored remote address refused at start (this computer's engine is used instead), and why */
  refusedRemote?: string;
}

export type ConnectionState = 'connecting' | 'open' | 'closed' | 'refused';

/** An engine error as the page sees it: code, message, hint and file kept. */
export class EngineRequestError extends Error {
  readonly code: string;
  readonly hint?: string;
  readonly file?: string;
  /** the request fields the error is about, so a form can mark them */
  readonly fields?: string[];
  constructor(info: EngineErrorInfo) {
    super(info.message);
    this.code = info.code;
    if (info.hint) this.hint = info.hint;
    if (info.file) this.file = info.file;
    if (info.fields) this.fields = info.fields;
  }
}

/** window.paramzoo (preload/api.ts), typed here without importing the preload's code */
interface PreloadApi extends PreloadLike {
  request(method: string, params: unknown): Promise<unknown>;
  subscribe(listener: (event: EngineEvent) => void): () => void;
  choosePaths?(request: DialogRequest): Promise<string[]>;
  showInFolder?(path: string): Promise<void>;
  pathForFile?(file: File): string;
}

const TOKEN_KEY = 'paramzoo.token';

/**
 * The token: from the address the server printed (?token=…), read once and removed from the address
 * bar (history.replaceState), kept for this tab only (sessionStorage) so a reload reconnects.
 */
export function takeToken(): string | null {
  const url = new URL(window.location.href);
  const fromUrl = url.searchParams.get('token');
  if (fromUrl) {
    sessionStorage.setItem(TOKEN_KEY, fromUrl);
    url.searchParams.delete('token');
    history.replaceState(history.state, '', url.pathname + url.search + url.hash);
    return fromUrl;
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

/** The remote engine the desktop app uses instead of its own (checkRemoteAddress's address), per app install. */
const REMOTE_KEY = 'paramzoo.remoteEngine';

export function connect(): Engine {
  const preload = (window as unknown as { paramzoo?: PreloadApi }).paramzoo;
  const choice = chooseEngine({ preload, storedRemote: preload ? localStorage.getItem(REMOTE_KEY) : null, pageUrl: window.location.href, pageToken: takeToken });
  if (choice.kind === 'app') return electronEngine(preload!, choice.capabilities, choice.refusedRemote);
  if (choice.kind === 'remote') {
    const { remote } = choice;
    return websocketEngine(remote.socketUrl, remote.token, remote.httpBase, choice.capabilities, { kind: 'remote', label: remote.label, switchable: true });
  }
  return websocketEngine(choice.socketUrl, choice.token, choice.httpBase, choice.capabilities, { kind: 'served', switchable: false });
}

/** Stores a remote engine's address and reconnects (the page reloads); the reason when the address is refused. */
export function useRemoteEngine(address: string): string | null {
  const checked = checkRemoteAddress(address);
  if (!checked.ok) return checked.reason;
  localStorage.setItem(REMOTE_KEY, checked.remote.address);
  window.location.reload();
  return null;
}

/** Back to this computer's engine (the page reloads). */
export function useThisComputersEngine(): void {
  localStorage.removeItem(REMOTE_KEY);
  window.location.reload();
}

function electronEngine(api: PreloadApi, capabilities: Capabilities, refusedRemote: string | undefined): Engine {
  const engine: Engine = {
    async request(method, params) {
      try {
        return (await api.request(method, params)) as never;
      } catch (error) {
        const e = error as Partial<EngineErrorInfo> & { message: string };
        throw new EngineRequestError({
          code: e.code ?? 'error',
          message: e.message,
          ...(e.hint ? { hint: e.hint } : {}),
          ...(e.file ? { file: e.file } : {}),
          ...(e.fields ? { fields: e.fields } : {}),
        });
      }
    },
    subscribe: (listener) => api.subscribe(listener),
    onState(listener) {
      listener('open');
      return () => undefined;
    },
    sendBinary: () => Promise.reject(new Error('the desktop app passes paths, not uploads')),
    capabilities,
    source: { kind: 'app', switchable: true, ...(refusedRemote ? { refusedRemote } : {}) },
    httpBase: window.location.href,
  };
  // Only what the preload offers; the views check capabilities before calling these.
  if (capabilities.nativePaths) engine.choosePaths = (request) => api.choosePaths!(request);
  if (capabilities.showInFolder) engine.showInFolder = (path) => api.showInFolder!(path);
  if (capabilities.droppedPaths) engine.pathForFile = (file) => api.pathForFile!(file);
  return engine;
}

function websocketEngine(socketUrl: string, token: string | null, httpBase: string, capabilities: Capabilities, source: EngineSource): Engine {
  const remote = source.kind === 'remote';
  const refusedHint = remote
    ? `check the SSH tunnel (ssh -L) and that paramzoo serve still runs on the remote machine; if it restarted, paste its new address`
    : 'open the address paramzoo serve printed';
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  const listeners = new Set<(event: EngineEvent) => void>();
  const stateListeners = new Set<(state: ConnectionState) => void>();
  let state: ConnectionState = 'connecting';
  let opened: Promise<WebSocket> | null = null;
  let nextId = 1;
  let everOpened = false;

  const setState = (next: ConnectionState): void => {
    state = next;
    for (const listener of stateListeners) listener(next);
  };

  const open = (): Promise<WebSocket> => {
    if (opened) return opened;
    opened = new Promise((resolve, reject) => {
      if (!token) {
        setState('refused');
        reject(new EngineRequestError({ code: 'no_token', message: 'this page was opened without the engine token', hint: 'open the address paramzoo serve printed (with ?token=…)' }));
        return;
      }
      const ws = new WebSocket(socketUrl, ['paramzoo', `token.${token}`]);
      ws.binaryType = 'arraybuffer';
      ws.onopen = () => {
        everOpened = true;
        setState('open');
        resolve(ws);
      };
      ws.onmessage = (message) => {
        const data = JSON.parse(String(message.data)) as ServerMessage;
        if ('event' in data) {
          for (const listener of listeners) listener(data.event);
          return;
        }
        const waiter = pending.get(data.id);
        if (!waiter) return;
        pending.delete(data.id);
        if (data.ok) waiter.resolve(data.result);
        else waiter.reject(new EngineRequestError(data.error));
      };
      ws.onclose = () => {
        opened = null;
        for (const [, waiter] of pending)
          waiter.reject(
            new EngineRequestError({
              code: 'disconnected',
              message: 'the connection to the engine closed',
              hint: remote ? 'check the SSH tunnel and that paramzoo serve still runs on the remote machine' : 'check that paramzoo serve is still running, then reload',
            }),
          );
        pending.clear();
        // A handshake refused by the server never opened: the token or origin was wrong.
        setState(everOpened ? 'closed' : 'refused');
        reject(
          new EngineRequestError({
            code: everOpened ? 'disconnected' : 'refused',
            message: everOpened ? 'the connection to the engine closed' : remote ? `the remote engine at ${source.label} refused the app or could not be reached` : 'the engine refused this page',
            hint: refusedHint,
          }),
        );
        if (everOpened) setTimeout(() => void open().catch(() => undefined), 1500);
      };
    });
    return opened;
  };
  void open().catch(() => undefined);

  return {
    async request(method, params) {
      const ws = await open();
      const message: ClientMessage = { id: nextId++, method, params };
      return new Promise((resolve, reject) => {
        pending.set(message.id, { resolve: resolve as (value: unknown) => void, reject });
        ws.send(JSON.stringify(message));
      });
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    onState(listener) {
      stateListeners.add(listener);
      listener(state);
      return () => stateListeners.delete(listener);
    },
    async sendBinary(frame) {
      const ws = await open();
      // Flow control: let the socket drain before queueing more than a few MiB.
      while (ws.bufferedAmount > 4 * 1024 * 1024) await new Promise((r) => setTimeout(r, 10));
      ws.send(frame);
    },
    capabilities,
    source,
    httpBase,
  };
}

/** An upload chunk frame (engine/protocol.ts UploadChunkHeader). */
export function uploadFrame(header: UploadChunkHeader, data: ArrayBuffer): ArrayBuffer {
  const head = new TextEncoder().encode(JSON.stringify(header));
  const frame = new Uint8Array(4 + head.length + data.byteLength);
  new DataView(frame.buffer).setUint32(0, head.length, true);
  frame.set(head, 4);
  frame.set(new Uint8Array(data), 4 + head.length);
  return frame.buffer;
}
