// The app menu, the log file and the data folder of the desktop app, as plain functions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import { appDataDir } from '../main/data-dir.js';
import { logFileFor, logLine } from '../main/log-file.js';
import { menuTemplate, type MenuItemSpec } from '../main/menu.js';

function commands() {
  const calls: string[] = [];
  const record = (name: string) => () => void calls.push(name);
  return {
    calls,
    commands: {
      importCheckpoints: record('import'),
      exportModel: record('export'),
      revealLog: record('revealLog'),
      revealDataFolder: record('revealData'),
      openHomepage: record('homepage'),
    },
  };
}

function find(items: MenuItemSpec[], label: string): MenuItemSpec | undefined {
  for (const item of items) {
    if (item.label === label) return item;
    const inner = item.submenu && find(item.submenu, label);
    if (inner) return inner;
  }
  return undefined;
}

test('File has Import (Ctrl/Cmd+O) and Export (Ctrl/Cmd+E); Help has Reveal Log', () => {
  const { calls, commands: c } = commands();
  const menu = menuTemplate({ platform: 'linux', appName: 'ParamZoo', devTools: false }, c);
  assert.deepEqual(
    menu.map((m) => m.label),
    ['&File', '&Edit', '&View', '&Window', '&Help'],
  );
  const importItem = find(menu, 'Import Checkpoints…')!;
  const exportItem = find(menu, 'Export Model…')!;
  assert.equal(importItem.accelerator, 'CmdOrCtrl+O');
  assert.equal(exportItem.accelerator, 'CmdOrCtrl+E');
  importItem.click!();
  exportItem.click!();
  find(menu, 'Reveal Log')!.click!();
  find(menu, 'Reveal Data Folder')!.click!();
  assert.deepEqual(calls, ['import', 'export', 'revealLog', 'revealData']);
  assert.equal(find(menu, '&Help')!.role, 'help');
  assert.ok(
    menu[0]!.submenu!.some((i) => i.role === 'quit'),
    'Quit in File on Linux and Windows',
  );
});

test('macOS gets the app menu first; developer tools only in a development run', () => {
  const { commands: c } = commands();
  const mac = menuTemplate({ platform: 'darwin', appName: 'ParamZoo', devTools: true }, c);
  assert.equal(mac[0]!.label, 'ParamZoo');
  assert.ok(mac[0]!.submenu!.some((i) => i.role === 'quit'));
  assert.ok(find(mac, '&View')!.submenu!.some((i) => i.role === 'toggleDevTools'));
  const shipped = menuTemplate({ platform: 'win32', appName: 'ParamZoo', devTools: false }, c);
  assert.ok(!find(shipped, '&View')!.submenu!.some((i) => i.role === 'toggleDevTools'));
  const accelerators = JSON.stringify(shipped).match(/CmdOrCtrl\+\w/g);
  assert.deepEqual(accelerators, ['CmdOrCtrl+O', 'CmdOrCtrl+E'], "no other custom shortcut to collide with the page's Alt+N views");
});

test('one log file per local day under <data>/logs; every line says when and who', () => {
  assert.equal(logFileFor('/d', new Date(2026, 0, 5, 23, 59)), join('/d', 'logs', '2026-01-05.log'));
  assert.equal(logFileFor('/d', new Date(2026, 11, 31, 0, 0)), join('/d', 'logs', '2026-12-31.log'));
  const at = new Date(Date.UTC(2026, 0, 5, 12, 0, 0));
  assert.equal(logLine(at, 'engine', 'first\nsecond\n'), '2026-01-05T12:00:00.000Z [engine] first\n    second\n');
});

test("the app uses the CLI's data folder: $PARAMZOO_DATA, else ~/.paramzoo", async () => {
  assert.equal(appDataDir({}, '/home/u'), join('/home/u', '.paramzoo'));
  assert.equal(appDataDir({ PARAMZOO_DATA: '/srv/zoo' }, '/home/u'), '/srv/zoo');
  assert.equal(appDataDir({ PARAMZOO_DATA: '' }, '/home/u'), join('/home/u', '.paramzoo'));
  const { defaultDataDir } = await import('../engine/cli.js');
  const saved = process.env.PARAMZOO_DATA;
  try {
    for (const value of [undefined, '/srv/zoo', 'relative/zoo']) {
      if (value === undefined) delete process.env.PARAMZOO_DATA;
      else process.env.PARAMZOO_DATA = value;
      assert.equal(appDataDir(process.env, (await import('node:os')).homedir()), resolve(defaultDataDir()), String(value));
    }
  } finally {
    if (saved === undefined) delete process.env.PARAMZOO_DATA;
    else process.env.PARAMZOO_DATA = saved;
  }
});
