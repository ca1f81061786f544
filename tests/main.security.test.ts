// The desktop window's security rules, as plain functions: which page gets the engine port, where
// the window may navigate, what the app:// protocol serves, the CSP it sends, and the IPC checks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join, sep } from 'node:path';
import { resolveAppFile } from '../main/app-protocol.js';
import { APP_PAGE, isAppPage, navigationDecision, newWindowDecision } from '../main/app-url.js';
import { CONTENT_SECURITY_POLICY, securityHeaders } from '../main/csp.js';
import { checkDialogRequest, checkSender, checkShowInFolder } from '../main/ipc-validation.js';
import { mayReceiveEnginePort } from '../main/port-handout.js';

const own = { url: APP_PAGE, isMainFrame: true, inOwnWindow: true };

test('the engine port goes only to the top frame of our window showing the app page', () => {
  assert.deepEqual(mayReceiveEnginePort(own), { ok: true });
  assert.ok(mayReceiveEnginePort({ ...own, url: `${APP_PAGE}#/train` }).ok, 'a route of the app');
  assert.ok(mayReceiveEnginePort({ ...own, url: 'app://paramzoo/' }).ok);
  const refused: [string, Parameters<typeof mayReceiveEnginePort>[0]][] = [
    ['a remote page', { ...own, url: 'https://example.com/' }],
    ['a local file', { ...own, url: 'file:///home/u/evil.html' }],
    ['another app:// host', { ...own, url: 'app://evil/index.html' }],
    ['another file of the app', { ...own, url: 'app://paramzoo/assets/x.html' }],
    ['credentials in the url', { ...own, url: 'app://user@paramzoo/index.html' }],
    ['a subframe', { ...own, isMainFrame: false }],
    ['a window main did not create', { ...own, inOwnWindow: false }],
    ['a page still blank', { ...own, url: '' }],
    ['data: URL', { ...own, url: 'data:text/html,<p>x' }],
  ];
  for (const [what, frame] of refused) assert.equal(mayReceiveEnginePort(frame).ok, false, what);
  assert.equal(mayReceiveEnginePort(null).ok, false, 'a frame already gone');
  assert.equal(checkSender({ ...own, url: 'https://example.com/' }).ok, false, 'every IPC applies the same rule');
  assert.ok(checkSender(own).ok);
});

test('navigation: only the app page; web links go to the system browser; everything else is denied', () => {
  assert.deepEqual(navigationDecision(`${APP_PAGE}#/zoos`), { allow: true });
  assert.deepEqual(navigationDecision('https://github.com/x'), { allow: false, openExternally: 'https://github.com/x' });
  assert.deepEqual(navigationDecision('http://127.0.0.1:8370/'), { allow: false, openExternally: 'http://127.0.0.1:8370/' });
  for (const url of ['file:///etc/passwd', 'javascript:alert(1)', 'app://paramzoo/other.html', 'data:text/html,x', 'smb://host/share', 'https://u:p@example.com/', 'not a url']) {
    assert.deepEqual(navigationDecision(url), { allow: false, openExternally: null }, url);
  }
  assert.deepEqual(newWindowDecision('https://pytorch.org/'), { openExternally: 'https://pytorch.org/' });
  assert.deepEqual(newWindowDecision(APP_PAGE), { openExternally: null }, 'no second app window from the page');
  assert.deepEqual(newWindowDecision('file:///tmp/x'), { openExternally: null });
  assert.equal(isAppPage('app://paramzoo/index.html?x#/zoos'), true);
});

test('app:// serves files of the built renderer only', () => {
  const root = join('/opt', 'ParamZoo', 'renderer', 'dist');
  assert.deepEqual(resolveAppFile(root, 'app://paramzoo/'), { path: join(root, 'index.html'), contentType: 'text/html; charset=utf-8' });
  assert.deepEqual(resolveAppFile(root, 'app://paramzoo/assets/index-abc.js?x=1#y'), { path: join(root, 'assets', 'index-abc.js'), contentType: 'text/javascript; charset=utf-8' });
  assert.equal(resolveAppFile(root, 'app://paramzoo/assets/a%20b.css')?.path, join(root, 'assets', 'a b.css'));
  // A plain '..' is folded by URL parsing and stays inside the root; encoded ones are refused.
  assert.equal(resolveAppFile(root, 'app://paramzoo/../../package.json')?.path, join(root, 'package.json'));
  assert.equal(resolveAppFile(root, 'app://paramzoo/%2e%2e/package.json')?.path, join(root, 'package.json'));
  for (const url of [
    'app://paramzoo/assets/%2e%2e%2f%2e%2e%2f%2e%2e%2fpackage.json',
    'app://paramzoo/..%5c..%5cpackage.json',
    'app://paramzoo/a%00.js',
    'app://paramzoo/%E0%A4%A',
    'app://other/index.html',
    'file:///etc/passwd',
  ]) {
    assert.equal(resolveAppFile(root, url), null, url);
  }
  assert.equal(resolveAppFile(root, 'app://paramzoo/index.html', 'POST'), null, 'GET and HEAD only');
  assert.ok(resolveAppFile(root, 'app://paramzoo/index.html', 'HEAD'));
});

test("the CSP allows the app's own scripts and nothing from anywhere else", () => {
  const directives = new Map(CONTENT_SECURITY_POLICY.split('; ').map((d) => [d.split(' ')[0]!, d.split(' ').slice(1)]));
  assert.deepEqual(directives.get('default-src'), ["'none'"]);
  assert.deepEqual(directives.get('script-src'), ["'self'"], 'no inline or eval script');
  assert.deepEqual(directives.get('object-src'), ["'none'"]);
  assert.deepEqual(directives.get('frame-ancestors'), ["'none'"]);
  assert.deepEqual(directives.get('base-uri'), ["'none'"]);
  assert.deepEqual(directives.get('form-action'), ["'none'"]);
  for (const [name, sources] of directives) {
    for (const source of sources) assert.ok(!/^(\*|https?:|wss?:|'unsafe-eval')$/.test(source), `${name} allows ${source}`);
  }
  // A remote engine is reached through an SSH tunnel only: WebSockets to a loopback name, any port, and nothing else.
  assert.deepEqual(directives.get('connect-src'), ["'self'", 'ws://127.0.0.1:*', 'ws://localhost:*']);
  for (const [name, sources] of directives) {
    if (name !== 'connect-src') for (const source of sources) assert.ok(!/^(https?|wss?):/.test(source), `${name} allows ${source}`);
  }
  assert.equal(securityHeaders('text/html')['Content-Security-Policy'], CONTENT_SECURITY_POLICY);
  assert.equal(securityHeaders('text/html')['X-Content-Type-Options'], 'nosniff');
});

test('dialog requests and show-in-folder paths are checked, never coerced', () => {
  assert.deepEqual(checkDialogRequest({ kind: 'save', title: 'Export model', defaultPath: '/home/u/m.safetensors' }), {
    ok: true,
    value: { kind: 'save', title: 'Export model', defaultPath: '/home/u/m.safetensors' },
  });
  assert.deepEqual(checkDialogRequest({ kind: 'open-file', title: 'Import', filters: [{ name: 'Checkpoints', extensions: ['pth', 'safetensors'] }] }).ok, true);
  const bad: [unknown, RegExp][] = [
    [null, /object/],
    [[], /object/],
    [{ kind: 'open-anything', title: 'x' }, /kind/],
    [{ kind: 'save' }, /title/],
    [{ kind: 'save', title: 'x'.repeat(201) }, /title/],
    [{ kind: 'save', title: 'x', defaultPath: 42 }, /defaultPath/],
    [{ kind: 'save', title: 'x', properties: ['openFile'] }, /unknown dialog option 'properties'/],
    [{ kind: 'open-file', title: 'x', filters: [{ name: 'n', extensions: ['../x'] }] }, /filter/],
    [{ kind: 'open-file', title: 'x', filters: 'pth' }, /filters/],
  ];
  for (const [value, reason] of bad) {
    const checked = checkDialogRequest(value);
    assert.equal(checked.ok, false, JSON.stringify(value));
    if (!checked.ok) assert.match(checked.reason, reason);
  }
  assert.deepEqual(checkShowInFolder(join(sep, 'tmp', 'm.safetensors')), { ok: true, value: join(sep, 'tmp', 'm.safetensors') });
  for (const value of ['relative/m.pth', '', 3, null, '/tmp/a\0b']) assert.equal(checkShowInFolder(value).ok, false, String(value));
});
