// The application menu as data. main.ts hands it to Menu.buildFromTemplate; the shape is the part
// of Electron's MenuItemConstructorOptions this menu uses.

export interface MenuItemSpec {
  label?: string;
  role?:
    | 'appMenu'
    | 'about'
    | 'services'
    | 'hide'
    | 'hideOthers'
    | 'unhide'
    | 'quit'
    | 'close'
    | 'undo'
    | 'redo'
    | 'cut'
    | 'copy'
    | 'paste'
    | 'selectAll'
    | 'reload'
    | 'forceReload'
    | 'toggleDevTools'
    | 'resetZoom'
    | 'zoomIn'
    | 'zoomOut'
    | 'togglefullscreen'
    | 'minimize'
    | 'zoom'
    | 'front'
    | 'windowMenu'
    | 'editMenu'
    | 'fileMenu'
    | 'viewMenu'
    | 'help';
  type?: 'separator' | 'submenu' | 'normal';
  accelerator?: string;
  click?: () => void;
  submenu?: MenuItemSpec[];
}

export interface MenuCommands {
  /** Ctrl/Cmd+O: import checkpoints into a zoo */
  importCheckpoints(): void;
  /** Ctrl/Cmd+E: export a model */
  exportModel(): void;
  /** Help > Reveal log: today's log file in the system file manager */
  revealLog(): void;
  revealDataFolder(): void;
  /** the project's page in the system browser */
  openHomepage(): void;
}

export interface MenuOptions {
  platform: NodeJS.Platform;
  appName: string;
  /** developer tools only in a development run (not in a packaged app) */
  devTools: boolean;
}

export const SHORTCUTS = { importCheckpoints: 'CmdOrCtrl+O', exportModel: 'CmdOrCtrl+E' } as const;

const separator: MenuItemSpec = { type: 'separator' };

export function menuTemplate(options: MenuOptions, commands: MenuCommands): MenuItemSpec[] {
  const mac = options.platform === 'darwin';
  const file: MenuItemSpec = {
    label: '&File',
    submenu: [
      { label: 'Import Checkpoints…', accelerator: SHORTCUTS.importCheckpoints, click: () => commands.importCheckpoints() },
      { label: 'Export Model…', accelerator: SHORTCUTS.exportModel, click: () => commands.exportModel() },
      separator,
      mac ? { role: 'close' } : { role: 'quit' },
    ],
  };
  const view: MenuItemSpec = {
    label: '&View',
    submenu: [
      { role: 'reload' },
      ...(options.devTools ? [{ role: 'toggleDevTools' } as MenuItemSpec] : []),
      separator,
      { role: 'resetZoom' },
      { role: 'zoomIn' },
      { role: 'zoomOut' },
      separator,
      { role: 'togglefullscreen' },
    ],
  };
  const help: MenuItemSpec = {
    role: 'help',
    label: '&Help',
    submenu: [
      { label: 'Reveal Log', click: () => commands.revealLog() },
      { label: 'Reveal Data Folder', click: () => commands.revealDataFolder() },
      separator,
      { label: `${options.appName} on the Web`, click: () => commands.openHomepage() },
    ],
  };
  return [
    ...(mac
      ? [
          {
            label: options.appName,
            submenu: [{ role: 'about' }, separator, { role: 'services' }, separator, { role: 'hide' }, { role: 'hideOthers' }, { role: 'unhide' }, separator, { role: 'quit' }],
          } as MenuItemSpec,
        ]
      : []),
    file,
    { role: 'editMenu', label: '&Edit' },
    view,
    { role: 'windowMenu', label: '&Window' },
    help,
  ];
}
