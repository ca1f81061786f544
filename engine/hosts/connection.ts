// One client of the engine, whatever carries its messages (a WebSocket, an Electron MessagePort):
// the host hands over what arrived, the connection answers through `send` and forwards every
// engine event to it. Hosts only move bytes; the contract lives here once.
import type { ClientMessage, EngineErrorInfo, ServerMessage } from '../protocol.js';
import { EngineError } from '../errors.js';
import { errorInfo } from '../jobs.js';
import type { EngineService } from '../service.js';
import { receiveUploadChunk } from '../service-app.js';
import { checkParams } from '../params.js';

export type Send = (message: ServerMessage) => void;

export interface Connection {
  /** answers one message as it arrived (already decoded); resolves once the answer was sent */
  receive(message: unknown): Promise<void>;
  /** the same for a text frame: JSON that does not parse is answered as a malformed message */
  receiveText(text: string): Promise<void>;
  /** a binary frame: an upload chunk (engine/uploads.ts); a bad one marks its upload failed */
  receiveBinary(frame: Buffer): Promise<void>;
  /** stops the events and drops answers still being computed; idempotent */
  close(): void;
}

/** The id a malformed message is answered with when it carries no usable id of its own (clients count from 1). */
export const NO_ID = -1;

export function createConnection(service: EngineService, send: Send): Connection {
  let open = true;
  const deliver = (message: ServerMessage): void => {
    if (!open) return;
    try {
      send(message);
    } catch (error) {
      // A result the transport cannot carry (not JSON, not cloneable) is a bug; the caller still gets an answer.
      if ('id' in message && message.ok) {
        deliver({ id: message.id, ok: false, error: errorInfo(error) });
        return;
      }
      console.error('paramzoo: a message could not be sent to a client:', error instanceof Error ? error.message : error);
    }
  };
  const unsubscribe = service.subscribe((event) => deliver({ event }));

  const receive = async (message: unknown): Promise<void> => {
    if (!open) return;
    const checked = checkClientMessage(message);
    if ('error' in checked) {
      deliver({ id: checked.id, ok: false, error: checked.error });
      return;
    }
    const { id, method, params } = checked.message;
    try {
      // Checked at the boundary: a bad parameter is a typed answer, never a handler's crash.
      const result = await service.request(method, checkParams(method, params ?? {}) as never);
      deliver({ id, ok: true, result });
    } catch (error) {
      if (!(error instanceof EngineError)) console.error(`paramzoo: request '${method}' failed with a bug:`, error);
      deliver({ id, ok: false, error: errorInfo(error) });
    }
  };

  return {
    receive,
    receiveText(text) {
      let message: unknown;
      try {
        message = JSON.parse(text);
      } catch {
        deliver({ id: NO_ID, ok: false, error: malformed('it is not JSON') });
        return Promise.resolve();
      }
      return receive(message);
    },
    receiveBinary(frame) {
      if (open) {
        try {
          receiveUploadChunk(service, frame);
        } catch (error) {
          console.error('paramzoo: an upload chunk could not be written:', error instanceof Error ? error.message : error);
        }
      }
      return Promise.resolve();
    },
    close() {
      if (!open) return;
      open = false;
      unsubscribe();
    },
  };
}

type Checked = { message: ClientMessage } | { id: number; error: EngineErrorInfo };

/** A request is `{id: integer, method: string, params?: object}`; anything else is answered, never thrown. */
function checkClientMessage(message: unknown): Checked {
  if (typeof message !== 'object' || message === null || Array.isArray(message)) {
    return { id: NO_ID, error: malformed('it is not an object {id, method, params}') };
  }
  const { id, method, params } = message as Record<string, unknown>;
  if (typeof id !== 'number' || !Number.isSafeInteger(id)) {
    return { id: NO_ID, error: malformed("its 'id' is not an integer") };
  }
  if (typeof method !== 'string' || method.length === 0) {
    return { id, error: malformed("its 'method' is not a request name") };
  }
  if (params !== undefined && params !== null && (typeof params !== 'object' || Array.isArray(params))) {
    return { id, error: malformed(`the params of '${method}' are not an object`) };
  }
  return { message: { id, method: method as ClientMessage['method'], params } };
}

function malformed(what: string): EngineErrorInfo {
  return new EngineError('bad_message', `the engine received a malformed message: ${what}`, {
    hint: 'send {"id": 1, "method": "engine.info", "params": {}} as described in engine/protocol.ts',
  }).toInfo();
}
