/**
 * True when an `If-None-Match` header names `etag` (or is `*`). The comparison is weak, as RFC 9110
 * §13.1.2 requires for If-None-Match: `W/"x"` matches `"x"`.
 */
export function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((candidate) => candidate.trim().replace(/^W\//, '') === etag);
}
