// Pure text helpers that keep credentials out of logs and messages (used by src/io/ and by the pure
// modules alike, so that src/python/ needs no IO import to redact a URL).

/** Shows a URL without credentials (user:password@ is never logged). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.username || u.password) {
      u.username = u.username ? '***' : '';
      u.password = u.password ? '***' : '';
    }
    return u.href;
  } catch {
    return url.replace(/\/\/[^/@\s]*@/, '//***@');
  }
}
