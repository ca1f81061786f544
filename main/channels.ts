// The IPC channels between preload and main (imports nothing: the sandboxed preload bundles it).
export const CHANNELS = {
  /** preload → main: send me a port to the engine (answered on enginePort) */
  connect: 'paramzoo:connect',
  /** main → preload: a MessagePort to the engine */
  enginePort: 'paramzoo:engine-port',
  /** main → preload: the engine process ended; requests in flight will never be answered */
  engineLost: 'paramzoo:engine-lost',
  /** main → preload: the engine could not be restarted */
  engineFailed: 'paramzoo:engine-failed',
  /** main → preload: a menu command (import, export) */
  menu: 'paramzoo:menu',
  dialog: 'paramzoo:dialog',
  showInFolder: 'paramzoo:show-in-folder',
} as const;
