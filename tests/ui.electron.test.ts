// The desktop app's smoke test through Playwright's Electron support: one window, the app's own
// page, the engine reached through the preload (no WebSocket). It needs the Electron binary, which
// these machines cannot download (ELECTRON_SKIP_BINARY_DOWNLOAD): there it is skipped, saying so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { _electron as electron } from 'playwright-core';
import { PROJECT_ROOT } from './helpers/cli.js';
import { tempDir } from './helpers/tmp.js';

function electronBinary(): string | null {
  const pathFile = join(PROJECT_ROOT, 'node_modules', 'electron', 'path.txt');
  if (!existsSync(pathFile)) return null;
  const binary = join(PROJECT_ROOT, 'node_modules', 'electron', 'dist', readFileSync(pathFile, 'utf8').trim());
  return existsSync(binary) ? binary : null;
}

const binary = electronBinary();
const skip = binary ? false : 'no Electron binary in node_modules/electron (installed with ELECTRON_SKIP_BINARY_DOWNLOAD): the desktop smoke test did not run';

test('Electron: the window shows the app, connected to its engine through the preload', { skip }, async () => {
  // The app as `npm start` runs it: staged in build/app with better-sqlite3 rebuilt for Electron.
  const staged = spawnSync(process.execPath, [join(PROJECT_ROOT, 'scripts', 'stage-app.js'), '--rebuild'], { cwd: PROJECT_ROOT, stdio: 'inherit' });
  assert.equal(staged.status, 0, 'scripts/stage-app.js --rebuild');
  assert.ok(existsSync(join(PROJECT_ROOT, 'build', 'app', 'dist', 'main', 'main.js')));
  const app = await electron.launch({
    executablePath: binary!,
    args: [join(PROJECT_ROOT, 'build', 'app'), '--no-sandbox'],
    env: { ...process.env, PARAMZOO_DATA: tempDir('paramzoo-electron-') } as Record<string, string>,
    timeout: 60_000,
  });
  try {
    const window = await app.firstWindow();
    await window.getByRole('heading', { level: 1, name: 'Zoos' }).waitFor({ timeout: 30_000 });
    await window.getByText('open', { exact: true }).waitFor();
    assert.equal(await window.evaluate(() => typeof (globalThis as unknown as { require?: unknown }).require), 'undefined', 'no Node in the renderer');
    const page = () => window.evaluate(() => (globalThis as unknown as { location: { href: string } }).location.href.split('#')[0]);
    assert.equal(await page(), 'app://paramzoo/index.html', 'the app page, from the app:// scheme');
    // A page that navigates away is stopped, so no other page ever holds the engine port.
    await window.evaluate(() => {
      (globalThis as unknown as { location: { href: string } }).location.href = 'file:///etc/hostname';
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(await page(), 'app://paramzoo/index.html', 'navigation to file:// denied');
    await window.screenshot({ path: join(PROJECT_ROOT, 'test-output', 'ui', 'electron.png') });
  } finally {
    await app.close();
  }
});
