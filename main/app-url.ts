// Where the app's own page lives and what the window may do with other addresses.
// The renderer is served from a custom scheme (app://paramzoo/), never file://, so "the app's own
// page" is one origin that no downloaded file or remote site can ever have.

export const APP_SCHEME = 'app';
export const APP_HOST = 'paramzoo';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;
export const APP_PAGE = `${APP_ORIGIN}/index.html`;

function parse(url: string): URL | null {
  try {
    return new URL(url);
  } catch {
    return null;
  }
}

/** The renderer's own page (any hash or query: the views route by hash). */
export function isAppPage(url: string): boolean {
  const parsed = parse(url);
  return (
    parsed !== null &&
    parsed.protocol === `${APP_SCHEME}:` &&
    parsed.host === APP_HOST &&
    (parsed.pathname === '/' || parsed.pathname === '/index.html') &&
    parsed.username === '' &&
    parsed.password === ''
  );
}

/** Addresses handed to the system browser: web pages only (never file:, javascript:, custom schemes). */
export function isExternalLink(url: string): boolean {
  const parsed = parse(url);
  return parsed !== null && (parsed.protocol === 'https:' || parsed.protocol === 'http:') && parsed.username === '' && parsed.password === '';
}

export type NavigationDecision = { allow: true } | { allow: false; openExternally: string | null };

/**
 * A navigation of the window (link, location change, redirect): only to the app's own page (a
 * reload or a route change); a web link opens in the system browser instead; anything else is denied.
 */
export function navigationDecision(url: string): NavigationDecision {
  if (isAppPage(url)) return { allow: true };
  return { allow: false, openExternally: isExternalLink(url) ? url : null };
}

/** window.open / target=_blank: never a new Electron window; web links go to the system browser. */
export function newWindowDecision(url: string): { openExternally: string | null } {
  return { openExternally: isExternalLink(url) ? url : null };
}
