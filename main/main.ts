// Electron main process: windows, menus, dialogs, lifecycle, and the engine's utility process.
// Thin on purpose: everything behind it is tested through the Node engine and the browser build.
import { app, BrowserWindow, dialog, ipcMain, MessageChannelMain, utilityProcess, type UtilityProcess } from 'electron';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { homedir } from 'node:os';
import type { DialogRequest } from '../preload/api.js';

const here = dirname(fileURLToPath(import.meta.url));
let engine: UtilityProcess | null = null;

function startEngine(): UtilityProcess {
  const child = utilityProcess.fork(join(here, '../engine/hosts/electron-worker.js'), [], {
    serviceName: 'ParamZoo engine',
    // One data folder for the app, the CLI and the server (DESIGN.md Storage): $PARAMZOO_DATA, else ~/.paramzoo.
    env: { ...process.env, PARAMZOO_DATA: process.env.PARAMZOO_DATA || join(homedir(), '.paramzoo') },
  });
  child.on('exit', (code) => {
    if (engine === child) engine = null;
    if (code !== 0) console.error(`engine exited with code ${code}`);
  });
  return child;
}

/** Gives a window its own port straight to the engine; main never relays engine traffic. */
function connectWindowToEngine(window: BrowserWindow): void {
  engine ??= startEngine();
  const { port1, port2 } = new MessageChannelMain();
  engine.postMessage({ type: 'connect' }, [port1]);
  window.webContents.postMessage('paramzoo:engine-port', null, [port2]);
}

function createWindow(): void {
  const window = new BrowserWindow({
    width: 1280,
    height: 820,
    title: 'ParamZoo',
    webPreferences: {
      preload: join(here, '../preload/preload.cjs'),
      sandbox: true,
      contextIsolation: true,
      nodeIntegration: false,
    },
  });
  window.webContents.on('did-finish-load', () => connectWindowToEngine(window));
  void window.loadFile(join(here, '../../renderer/dist/index.html'));
}

ipcMain.handle('paramzoo:dialog', async (event, request: DialogRequest) => {
  const window = BrowserWindow.fromWebContents(event.sender) ?? undefined;
  const properties: Electron.OpenDialogOptions['properties'] =
    request.kind === 'open-folder' ? ['openDirectory', 'multiSelections'] : ['openFile', 'multiSelections'];
  if (request.kind === 'save') {
    const result = await dialog.showSaveDialog(window!, { title: request.title, defaultPath: request.defaultPath });
    return result.canceled ? [] : [result.filePath];
  }
  const result = await dialog.showOpenDialog(window!, { title: request.title, properties, filters: request.filters });
  return result.canceled ? [] : result.filePaths;
});

app.whenReady().then(() => {
  createWindow();
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) createWindow();
  });
});

app.on('window-all-closed', () => {
  engine?.kill();
  if (process.platform !== 'darwin') app.quit();
});
