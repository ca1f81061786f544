// The typed surface the renderer sees as `window.paramzoo`. Types only.
import type { EngineEvent, ParamsOf, RequestName, ResultOf } from '../engine/protocol.js';

export interface DialogRequest {
  kind: 'open-file' | 'open-folder' | 'save';
  title: string;
  defaultPath?: string;
  filters?: { name: string; extensions: string[] }[];
}

export interface ParamZooApi {
  request<N extends RequestName>(method: N, params: ParamsOf<N>): Promise<ResultOf<N>>;
  /** returns the function that unsubscribes */
  subscribe(listener: (event: EngineEvent) => void): () => void;
  /** native file pickers; resolves with the chosen paths (empty when cancelled) */
  choosePaths(request: DialogRequest): Promise<string[]>;
}
