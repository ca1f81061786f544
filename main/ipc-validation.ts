// Every IPC message from a page is checked here before main acts on it: the sender (the app's own
// page, as for the engine port) and the shape of what it sent. A bad message is refused, never coerced.
import { isAbsolute } from 'node:path';
import type { DialogRequest } from '../preload/api.js';
import { mayReceiveEnginePort, type SenderFrame } from './port-handout.js';

export type Checked<T> = { ok: true; value: T } | { ok: false; reason: string };

const MAX_TEXT = 200;
const MAX_PATH = 4096;

function isShortText(value: unknown, max = MAX_TEXT): value is string {
  return typeof value === 'string' && value.length <= max && !value.includes('\0');
}

export function checkSender(frame: SenderFrame | null): Checked<null> {
  const handOut = mayReceiveEnginePort(frame);
  return handOut.ok ? { ok: true, value: null } : { ok: false, reason: `IPC refused: ${handOut.reason}` };
}

export function checkDialogRequest(value: unknown): Checked<DialogRequest> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, reason: 'a dialog request is an object' };
  const { kind, title, defaultPath, filters, ...rest } = value as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) return { ok: false, reason: `unknown dialog option '${unknown[0]}'` };
  if (kind !== 'open-file' && kind !== 'open-folder' && kind !== 'save') return { ok: false, reason: "kind is 'open-file', 'open-folder' or 'save'" };
  if (!isShortText(title)) return { ok: false, reason: `title is a string of at most ${MAX_TEXT} characters` };
  const request: DialogRequest = { kind, title };
  if (defaultPath !== undefined) {
    if (!isShortText(defaultPath, MAX_PATH)) return { ok: false, reason: `defaultPath is a string of at most ${MAX_PATH} characters` };
    request.defaultPath = defaultPath;
  }
  if (filters !== undefined) {
    if (!Array.isArray(filters) || filters.length > 20) return { ok: false, reason: 'filters is a list of at most 20 {name, extensions}' };
    const checked: { name: string; extensions: string[] }[] = [];
    for (const filter of filters as unknown[]) {
      const f = filter as { name?: unknown; extensions?: unknown } | null;
      if (
        typeof f !== 'object' ||
        f === null ||
        !isShortText(f.name) ||
        !Array.isArray(f.extensions) ||
        f.extensions.length > 50 ||
        !f.extensions.every((e) => isShortText(e, 32) && /^[\w*.-]+$/.test(e))
      ) {
        return { ok: false, reason: 'each filter is {name: string, extensions: string[]} (extensions like "pth" or "*")' };
      }
      checked.push({ name: f.name, extensions: [...(f.extensions as string[])] });
    }
    request.filters = checked;
  }
  return { ok: true, value: request };
}

/** "Show in folder" takes an absolute path (one the engine reported, e.g. an export). */
export function checkShowInFolder(value: unknown): Checked<string> {
  if (!isShortText(value, MAX_PATH) || value === '') return { ok: false, reason: 'the path is a non-empty string' };
  if (!isAbsolute(value)) return { ok: false, reason: `'${value}' is not an absolute path` };
  return { ok: true, value };
}
