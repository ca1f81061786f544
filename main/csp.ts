// The Content-Security-Policy the app:// protocol sends with every page. The renderer reaches this
// computer's engine over a MessagePort (no network at all); a remote engine only through an SSH
// tunnel, i.e. a WebSocket to a loopback address (renderer/src/lib/engine-choice.ts refuses any
// other). So nothing else may be fetched, framed or posted anywhere. The remote engine's one-time
// download links are navigations (main hands them to the system browser), not connections: no
// http: source is needed. 'unsafe-inline' for styles only: Svelte and chart.js set style attributes.

/**
 * The local ends of SSH tunnels, any port: the names engine-choice.ts accepts. No ws://[::1]:* —
 * Chromium (156) ignores an IPv6 source as invalid, so it would allow nothing; tests/ui.remote-engine.test.ts
 * checks this policy in Chromium.
 */
export const TUNNEL_SOURCES = ['ws://127.0.0.1:*', 'ws://localhost:*'];

export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self'",
  `connect-src 'self' ${TUNNEL_SOURCES.join(' ')}`,
  "worker-src 'self'",
  "manifest-src 'self'",
  "object-src 'none'",
  "frame-src 'none'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

/** Headers of every app:// answer. */
export function securityHeaders(contentType: string): Record<string, string> {
  return {
    'Content-Type': contentType,
    'Content-Security-Policy': CONTENT_SECURITY_POLICY,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Cross-Origin-Opener-Policy': 'same-origin',
  };
}
