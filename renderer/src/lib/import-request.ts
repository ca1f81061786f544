// Ctrl/Cmd+O (and File > Import…, which the preload replays as that key) asks the Zoos view to open
// its picker. The view may not be mounted yet when the key arrives: the request waits for it.

let handler: (() => void) | null = null;
let pending = false;

export function requestImport(): void {
  if (handler) handler();
  else pending = true;
}

/** The Zoos view's picker; returns the function that unregisters it. */
export function onImportRequest(open: () => void): () => void {
  handler = open;
  if (pending) {
    pending = false;
    open();
  }
  return () => {
    if (handler === open) handler = null;
  };
}
