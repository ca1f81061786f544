// The typed surface the renderer sees as `window.paramzoo`. Types only.
import type { EngineEvent, ParamsOf, RequestName, ResultOf } from '../engine/protocol.js';

export interface DialogRequest {
  kind: 'open-file' | 'open-folder' | 'save';
  title: string;
  defaultPath?: string;
  filters?: { name: string; extensions: string[] }[];
}

/** What only the desktop app can do; the browser build does the same jobs its own way (uploads, HTTP downloads). */
export interface Capabilities {
  /** native open/save dialogs that give the engine paths on this machine */
  nativeDialogs: boolean;
  /** showInFolder: a path in the system file manager */
  showInFolder: boolean;
}

export interface ParamZooApi {
  capabilities: Capabilities;
  /**
   * One engine request. A failure rejects with a plain RequestFailure object ({code, message,
   * hint?, file?, fields?}), not an Error: contextBridge would drop an Error's extra properties. Codes beside
   * the engine's own: 'engine_lost' (the engine process ended before answering; it is restarted) and
   * 'engine_failed' (it could not be restarted).
   */
  request<N extends RequestName>(method: N, params: ParamsOf<N>): Promise<ResultOf<N>>;
  /** returns the function that unsubscribes */
  subscribe(listener: (event: EngineEvent) => void): () => void;
  /** native file pickers; resolves with the chosen paths (empty when cancelled) */
  choosePaths(request: DialogRequest): Promise<string[]>;
  /** shows the file or folder in the system file manager */
  showInFolder(path: string): Promise<void>;
  /** a dropped File's path on this machine ('' when it is no file on disk); Electron's webUtils.getPathForFile */
  pathForFile(file: File): string;
}

export type { RequestFailure } from './bridge.js';
