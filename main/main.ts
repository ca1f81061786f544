// Electron main: one window, its menu and dialogs, the app:// page, and the engine's utility
// process. Only wiring: every rule it applies is a plain function in a sibling module, tested
// under Node (tests/main.*.test.ts).
import {
  app,
  BrowserWindow,
  dialog,
  ipcMain,
  Menu,
  MessageChannelMain,
  protocol,
  session,
  shell,
  utilityProcess,
  type IpcMainEvent,
  type IpcMainInvokeEvent,
  type UtilityProcess,
  type WebContents,
} from 'electron';
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveAppFile } from './app-protocol.js';
import { APP_PAGE, APP_SCHEME, navigationDecision, newWindowDecision } from './app-url.js';
import { CHANNELS } from './channels.js';
import { securityHeaders } from './csp.js';
import { appDataDir } from './data-dir.js';
import { createEngineSupervisor, type EngineLoss, type EngineProcess } from './engine-supervisor.js';
import { checkDialogRequest, checkSender, checkShowInFolder } from './ipc-validation.js';
import { logFileFor, logLine } from './log-file.js';
import { menuTemplate } from './menu.js';
import { mayReceiveEnginePort, type SenderFrame } from './port-handout.js';
import { createRestartPolicy } from './restart-policy.js';

const here = dirname(fileURLToPath(import.meta.url));
const rendererRoot = join(here, '../../renderer/dist');
const manifest = JSON.parse(readFileSync(join(here, '../../package.json'), 'utf8')) as { homepage?: string };
const dataDir = appDataDir(process.env, homedir());
/** How long the engine may take to cancel its jobs and close the catalog at quit. */
const ENGINE_STOP_MS = 10_000;

function log(source: string, text: string): void {
  const now = new Date();
  const file = logFileFor(dataDir, now);
  try {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    appendFileSync(file, logLine(now, source, text));
  } catch (error) {
    console.error('paramzoo: cannot write the log', file, error);
  }
}

// standard + secure: a real origin (app://paramzoo) with secure-context APIs; corsEnabled: Vite's
// `<script type="module" crossorigin>` loads in CORS mode.
protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true, corsEnabled: true } }]);
app.enableSandbox();

// ---- the engine ----

type Engine = EngineProcess & { child: UtilityProcess };
/** set once the restart policy gave up: every page that asks for the engine is told so */
let engineFailure: { code: string; message: string; hint: string } | null = null;

const windows = new Set<BrowserWindow>();

function frameOf(contents: WebContents, frame = contents.mainFrame): SenderFrame | null {
  if (!frame || frame.isDestroyed()) return null;
  const window = BrowserWindow.fromWebContents(contents);
  return { url: frame.url, isMainFrame: frame === contents.mainFrame, inOwnWindow: window !== null && windows.has(window) };
}

function senderOf(event: IpcMainEvent | IpcMainInvokeEvent): SenderFrame | null {
  return event.senderFrame ? frameOf(event.sender, event.senderFrame) : null;
}

const supervisor = createEngineSupervisor<Engine>({
  fork() {
    const child = utilityProcess.fork(join(here, '../engine/hosts/electron-worker.js'), [], {
      serviceName: 'ParamZoo engine',
      stdio: 'pipe',
      env: { ...process.env, PARAMZOO_DATA: dataDir },
    });
    child.stdout?.on('data', (chunk: Buffer) => log('engine', chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => log('engine', chunk.toString()));
    log('main', 'engine started');
    return { child, onExit: (listener) => child.on('exit', listener), kill: () => void child.kill() };
  },
  policy: createRestartPolicy(),
  requestStop: (engine) => engine.child.postMessage({ type: 'stop' }),
  stopTimeoutMs: ENGINE_STOP_MS,
  onStarted(_engine, restarted) {
    if (!restarted) return;
    // Windows showing the app get a port to the new engine; their pages re-read the jobs it found interrupted.
    for (const window of windows) {
      if (mayReceiveEnginePort(frameOf(window.webContents)).ok) connectToEngine(window.webContents);
    }
  },
  onLost(loss: EngineLoss) {
    log('main', `the engine exited with code ${loss.exitCode}${loss.restarting ? `; restarting in ${loss.delayMs} ms` : ''}`);
    const error = {
      code: 'engine_lost',
      message: `the engine process ended (exit code ${loss.exitCode}) before it answered; its running jobs are marked interrupted`,
      hint: loss.restarting ? 'it is being restarted: try again in a moment' : 'see Help > Reveal Log',
    };
    for (const window of windows) window.webContents.send(CHANNELS.engineLost, error);
  },
  onGaveUp(reason) {
    log('main', reason);
    const error = { code: 'engine_failed', message: reason, hint: `restart ParamZoo; the log says why (${logFileFor(dataDir, new Date())})` };
    engineFailure = error;
    for (const window of windows) window.webContents.send(CHANNELS.engineFailed, error);
    dialog.showErrorBox('ParamZoo: the engine stopped', `${reason}.\n\n${error.hint}`);
  },
});

/** A fresh port to the engine for this page; main never relays engine traffic itself. */
function connectToEngine(contents: WebContents): void {
  const engine = supervisor.ensure();
  if (engineFailure) {
    contents.send(CHANNELS.engineFailed, engineFailure);
    return;
  }
  if (!engine) return; // a restart is on its way: it re-attaches every window
  const { port1, port2 } = new MessageChannelMain();
  engine.child.postMessage({ type: 'connect' }, [port1]);
  contents.postMessage(CHANNELS.enginePort, null, [port2]);
}

// ---- IPC: every message's sender is checked (the app's own page in one of our windows) ----

function refuse(event: IpcMainEvent | IpcMainInvokeEvent): string | null {
  const check = checkSender(senderOf(event));
  if (check.ok) return null;
  log('main', `${check.reason} (${event.senderFrame?.url ?? 'no frame'})`);
  return check.reason;
}

ipcMain.on(CHANNELS.connect, (event) => {
  if (refuse(event) === null) connectToEngine(event.sender);
});

ipcMain.handle(CHANNELS.dialog, async (event, value: unknown) => {
  const refused = refuse(event);
  if (refused) throw new Error(refused);
  const checked = checkDialogRequest(value);
  if (!checked.ok) throw new Error(checked.reason);
  const request = checked.value;
  const window = BrowserWindow.fromWebContents(event.sender);
  if (!window) return [];
  if (request.kind === 'save') {
    // The system asks before replacing a file (Linux only with this flag), so the page exports with force.
    const result = await dialog.showSaveDialog(window, {
      title: request.title,
      properties: ['showOverwriteConfirmation'],
      ...(request.defaultPath ? { defaultPath: request.defaultPath } : {}),
    });
    return result.canceled || !result.filePath ? [] : [result.filePath];
  }
  const result = await dialog.showOpenDialog(window, {
    title: request.title,
    properties: request.kind === 'open-folder' ? ['openDirectory', 'multiSelections'] : ['openFile', 'multiSelections'],
    ...(request.defaultPath ? { defaultPath: request.defaultPath } : {}),
    ...(request.filters ? { filters: request.filters } : {}),
  });
  return result.canceled ? [] : result.filePaths;
});

ipcMain.handle(CHANNELS.showInFolder, (event, value: unknown) => {
  const refused = refuse(event);
  if (refused) throw new Error(refused);
  const checked = checkShowInFolder(value);
  if (!checked.ok) throw new Error(checked.reason);
  shell.showItemInFolder(checked.value);
});

// ---- windows: navigation, new windows, permissions ----

app.on('web-contents-created', (_event, contents) => {
  const guard = (event: Electron.Event, url: string): void => {
    const decision = navigationDecision(url);
    if (decision.allow) return;
    event.preventDefault();
    if (decision.openExternally) void shell.openExternal(decision.openExternally);
    else log('main', `navigation to ${url} denied`);
  };
  contents.on('will-navigate', (event) => guard(event, event.url));
  contents.on('will-redirect', (event) => guard(event, event.url));
  contents.on('will-frame-navigate', (event) => {
    if (!event.isMainFrame) guard(event, event.url);
  });
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(({ url }) => {
    const decision = newWindowDecision(url);
    if (decision.openExternally) void shell.openExternal(decision.openExternally);
    return { action: 'deny' };
  });
});

function createWindow(): BrowserWindow {
  const window = new BrowserWindow({
    width: 1280,
    height: 820,
    title: 'ParamZoo',
    show: false,
    webPreferences: {
      preload: join(here, '../preload/preload.cjs'),
      sandbox: true,
      contextIsolation: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webviewTag: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      navigateOnDragDrop: false,
      spellcheck: false,
    },
  });
  windows.add(window);
  window.on('closed', () => windows.delete(window));
  window.once('ready-to-show', () => window.show());
  void window.loadURL(APP_PAGE);
  return window;
}

function focusedContents(): WebContents | null {
  const window = BrowserWindow.getFocusedWindow() ?? [...windows][0];
  return window && windows.has(window) ? window.webContents : null;
}

function revealLog(): void {
  const file = logFileFor(dataDir, new Date());
  log('main', 'Reveal Log');
  shell.showItemInFolder(file);
}

function installMenu(): void {
  const template = menuTemplate(
    { platform: process.platform, appName: app.name, devTools: !app.isPackaged },
    {
      importCheckpoints: () => focusedContents()?.send(CHANNELS.menu, 'import'),
      exportModel: () => focusedContents()?.send(CHANNELS.menu, 'export'),
      revealLog,
      revealDataFolder: () => void shell.openPath(dataDir),
      openHomepage: () => manifest.homepage && void shell.openExternal(manifest.homepage),
    },
  );
  Menu.setApplicationMenu(Menu.buildFromTemplate(template));
}

// ---- lifecycle ----

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  app.on('second-instance', () => {
    const window = [...windows][0];
    if (!window) return void createWindow();
    if (window.isMinimized()) window.restore();
    window.focus();
  });

  app.whenReady().then(
    () => {
      log('main', `ParamZoo ${app.getVersion()} (Electron ${process.versions.electron}), data folder ${dataDir}`);
      // No page may use the camera, notifications, geolocation, …: nothing of the app needs them.
      session.defaultSession.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
      session.defaultSession.setPermissionCheckHandler(() => false);
      protocol.handle(APP_SCHEME, async (request) => {
        const file = resolveAppFile(rendererRoot, request.url, request.method);
        const notFound = () => new Response('not found', { status: 404, headers: securityHeaders('text/plain; charset=utf-8') });
        if (!file) return notFound();
        try {
          const body = request.method === 'HEAD' ? null : await readFile(file.path);
          return new Response(body, { headers: securityHeaders(file.contentType) });
        } catch {
          return notFound();
        }
      });
      installMenu();
      createWindow();
      app.on('activate', () => {
        if (windows.size === 0) createWindow();
      });
    },
    (error: unknown) => {
      log('main', `start failed: ${String(error)}`);
      app.exit(2);
    },
  );

  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });

  // Quit waits for the engine: its jobs are cancelled and the catalog closed, so nothing is left 'running'.
  let engineClosed = false;
  app.on('before-quit', (event) => {
    if (engineClosed) return;
    event.preventDefault();
    void supervisor.stop().then(() => {
      engineClosed = true;
      log('main', 'engine closed; quitting');
      app.quit();
    });
  });
}
