// Who gets a port to the engine. The port is the engine itself (read and write any file the user
// can), so it goes only to the top frame of one of our windows while it shows the app's own page.
import { isAppPage } from './app-url.js';

/** What main knows about the frame behind an IPC message or a window it is about to re-attach. */
export interface SenderFrame {
  url: string;
  /** the frame is its window's top frame (not an iframe) */
  isMainFrame: boolean;
  /** the frame belongs to a window main created (BrowserWindow.fromWebContents found it) */
  inOwnWindow: boolean;
}

export type HandOut = { ok: true } | { ok: false; reason: string };

export function mayReceiveEnginePort(frame: SenderFrame | null): HandOut {
  if (!frame) return { ok: false, reason: 'the sender frame is gone' };
  if (!frame.inOwnWindow) return { ok: false, reason: 'not a window of this app' };
  if (!frame.isMainFrame) return { ok: false, reason: 'a subframe asked' };
  if (!isAppPage(frame.url)) return { ok: false, reason: `the window shows ${frame.url || 'no page'}, not the app's page` };
  return { ok: true };
}
