/**
 * HTTP/1.1 over a bare socket, for what no HTTP client will send: broken Content-Length and
 * chunked framing, repeated and oversized headers, bytes that are not UTF-8.
 */
import { connect, type Socket } from 'node:net';
import type { Outcome } from './arena.js';

/**
 * Writes `bytes`, then waits for the status line. Resolves with the status, or with
 * `status: null` when the server closed the connection without answering, or stayed silent for
 * `giveUpMs`. `endAfterWrite` half-closes the socket, as a client that has nothing more to send.
 */
export function rawExchange(
  target: { host: string; port: number },
  bytes: Buffer,
  options: { giveUpMs?: number; endAfterWrite?: boolean } = {},
): Promise<Outcome> {
  const giveUpMs = options.giveUpMs ?? 10_000;
  return new Promise((resolve) => {
    const started = performance.now();
    const socket = connect(target);
    let received = Buffer.alloc(0);
    let settled = false;
    const settle = (status: number | null, error?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ status, ms: performance.now() - started, error, body: received });
    };
    const timer = setTimeout(() => settle(null, `silent for ${giveUpMs / 1000} s`), giveUpMs);
    socket.on('connect', () => {
      socket.write(bytes);
      if (options.endAfterWrite) socket.end();
    });
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const line = /^HTTP\/1\.[01] (\d{3})/.exec(received.subarray(0, 64).toString('latin1'));
      if (line) settle(Number(line[1]));
      else if (received.length >= 64 || received.includes('\r\n')) settle(null, `not HTTP: ${JSON.stringify(received.subarray(0, 64).toString('latin1'))}`);
    });
    socket.on('error', (error: NodeJS.ErrnoException) => settle(null, error.code ?? error.message));
    socket.on('close', () => settle(null, 'closed without an answer'));
  });
}

/** A socket that sends a request's head one byte at a time, when told to. */
export class TricklingClient {
  private sent = 0;
  closedByServer = false;

  private constructor(
    private readonly socket: Socket,
    private readonly head: Buffer,
  ) {
    socket.on('close', () => {
      this.closedByServer = true;
    });
    socket.on('error', () => undefined);
    // The server may answer (408, 431…): whatever it says is read and dropped.
    socket.on('data', () => undefined);
  }

  static open(target: { host: string; port: number }, head: Buffer): Promise<TricklingClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(target);
      socket.once('connect', () => resolve(new TricklingClient(socket, head)));
      socket.once('error', reject);
    });
  }

  get bytesSent(): number {
    return this.sent;
  }

  /** Sends the next byte of the head, never the last: the request is never complete. */
  trickle(): void {
    if (this.closedByServer || this.sent >= this.head.length - 1) return;
    this.socket.write(this.head.subarray(this.sent, this.sent + 1));
    this.sent++;
  }

  close(): void {
    this.socket.destroy();
  }
}
