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
}

export interface ParamZooApi {
  capabilities: Capabilities;
  request<N extends RequestName>(method: N, params: ParamsOf<N>): Promise<ResultOf<N>>;
  /** returns the function that unsubscribes */
  subscribe(listener: (event: EngineEvent) => void): () => void;
  /** native file pickers; resolves with the chosen paths (empty when cancelled) */
  choosePaths(request: DialogRequest): Promise<string[]>;
}
