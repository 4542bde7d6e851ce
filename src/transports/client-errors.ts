import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';

/** The answers to what Node's HTTP parser refused, by its error code. */
const answers: Record<string, { status: number; code: string; detail: string }> = {
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, code: 'REQUEST_TIMEOUT', detail: 'The request did not arrive in time' },
  HPE_HEADER_OVERFLOW: { status: 431, code: 'HEADERS_TOO_LARGE', detail: 'The request headers are too large' },
};
const malformed = { status: 400, code: 'MALFORMED_HTTP', detail: 'The request is not valid HTTP/1.1' };

/**
 * Fastify's `clientErrorHandler`: answers what Node's HTTP parser refused with a problem document
 * and `Connection: close`, then closes. Fastify's default answer omits `Connection: close`, so a
 * keep-alive client (undici's pool) may send its next request on the socket being closed and get
 * ECONNRESET instead of an answer.
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Socket): void {
  // A reset connection has nobody left to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const { status, code, detail } = answers[error.code ?? ''] ?? malformed;
  const title = STATUS_CODES[status] ?? 'Bad Request';
  const body = JSON.stringify({ type: 'about:blank', title, status, detail, code });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${title}\r\nConnection: close\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}
