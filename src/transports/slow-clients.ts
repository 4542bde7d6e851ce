import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyBaseLogger, FastifyInstance, FastifyTypeProvider, RawServerDefault } from 'fastify';
import type { ClientLimitsConfig } from '../config.js';

/**
 * Node's HTTP server options for the connection-level timeouts (passed as Fastify's `http`).
 * `headersTimeout` cuts slowloris clients that never finish their headers; Node only looks every
 * `connectionsCheckingInterval`, so that is kept below it (its default, 30 s, would let a header
 * trickle run 50 s past a 20 s limit).
 */
export function connectionTimeouts(limits: ClientLimitsConfig): { headersTimeout: number; connectionsCheckingInterval: number } {
  return {
    headersTimeout: limits.headersTimeoutSeconds * 1000,
    connectionsCheckingInterval: Math.min(limits.headersTimeoutSeconds, 5) * 1000,
  };
}

/**
 * Cuts a request whose body stops arriving: while a body is being received, the connection may be
 * silent for at most `idleMs`; then it is destroyed (the client sees the connection close; its
 * upload's staging file is removed as for any broken body). Idle means no byte at all, not slow:
 * a phone trickling bytes on a poor link keeps going, bounded only by REQUEST_TIMEOUT_SECONDS.
 *
 * Node's socket timeout counts inactivity in both directions, which is exactly "no progress".
 * It is armed only for the body, not for the whole connection: once the body is in, the server
 * may think for long (queued behind other decodes) without a byte on the wire, and that is not
 * the client's fault.
 */
export function cutIdleBodies<Logger extends FastifyBaseLogger, Provider extends FastifyTypeProvider>(
  http: FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, Logger, Provider>,
  idleMs: number,
): void {
  http.addHook('onRequest', (request, _reply, done) => {
    const raw = request.raw;
    const socket = raw.socket;
    // Injected requests (light-my-request) have no real socket and no wire to fall silent.
    if (!hasBody(raw) || typeof socket?.setTimeout !== 'function' || socket.destroyed) return done();
    const onIdle = () => {
      request.log.info({ idleMs, bytesRead: socket.bytesRead }, 'request body idle too long; connection cut');
      socket.destroy();
    };
    let armed = true;
    const disarm = () => {
      if (!armed) return;
      armed = false;
      socket.off('timeout', onIdle);
      socket.off('close', disarm);
      // Back to the server's own setting (Fastify's connectionTimeout: none by default).
      if (!socket.destroyed) socket.setTimeout(http.server.timeout);
    };
    socket.setTimeout(idleMs);
    socket.on('timeout', onIdle);
    socket.once('close', disarm);
    // Only once the body is in, not when the response is sent: Node then drains an unread body
    // (a refused upload) to reuse the connection, and that drain must be bounded too.
    raw.once('end', disarm);
    done();
  });
}

function hasBody(raw: IncomingMessage): boolean {
  const length = raw.headers['content-length'];
  return raw.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}
