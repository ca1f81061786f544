// What the page's host can do, decided from `window.paramzoo` alone. Plain TypeScript with no DOM or
// Node types, so the choice is tested under Node (tests/ui.host.test.ts).

export interface Capabilities {
  transport: 'electron' | 'websocket';
  /** native open/save dialogs whose paths the engine reads and writes (Electron) */
  nativePaths: boolean;
  /** a dropped file's path on this machine (Electron's webUtils.getPathForFile) */
  droppedPaths: boolean;
  /** a path shown in the system file manager */
  showInFolder: boolean;
  /** binary upload frames (the WebSocket transport; the browser build imports this way) */
  uploads: boolean;
}

/** window.paramzoo as the page may find it: fields are checked, never trusted to exist. */
export interface PreloadLike {
  capabilities?: { nativeDialogs?: boolean; showInFolder?: boolean };
  choosePaths?: unknown;
  showInFolder?: unknown;
  pathForFile?: unknown;
}

export function capabilitiesOf(preload: PreloadLike | undefined): Capabilities {
  if (!preload) return { transport: 'websocket', nativePaths: false, droppedPaths: false, showInFolder: false, uploads: true };
  const announced = preload.capabilities ?? {};
  const nativePaths = announced.nativeDialogs !== false && typeof preload.choosePaths === 'function';
  return {
    transport: 'electron',
    nativePaths,
    droppedPaths: nativePaths && typeof preload.pathForFile === 'function',
    showInFolder: announced.showInFolder !== false && typeof preload.showInFolder === 'function',
    // The preload carries requests and events only; it has no binary channel for uploads.
    uploads: false,
  };
}

/** How Import gets checkpoints to the engine: its paths, an upload, or not at all. */
export function importMode(caps: Capabilities): 'paths' | 'upload' | 'none' {
  if (caps.nativePaths) return 'paths';
  return caps.uploads ? 'upload' : 'none';
}

/** How Export delivers the file: a save dialog's path, or an HTTP download. */
export function exportMode(caps: Capabilities): 'save-dialog' | 'download' {
  return caps.nativePaths ? 'save-dialog' : 'download';
}

/**
 * The paths of dropped files and folders, in drop order without repeats; null when none has one
 * (e.g. an item dragged from a web page, which is no file on disk).
 */
export function droppedPaths<F>(files: Iterable<F>, pathForFile: (file: F) => string): string[] | null {
  const paths: string[] = [];
  for (const file of files) {
    let path = '';
    try {
      path = pathForFile(file);
    } catch {
      // not a file on disk
    }
    if (path && !paths.includes(path)) paths.push(path);
  }
  return paths.length > 0 ? paths : null;
}
