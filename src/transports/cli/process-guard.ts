import type { Logger } from 'pino';

/** The part of `process` the guard listens on (a fake in tests). */
export interface FaultSource {
  on(event: 'uncaughtException', listener: (error: Error, origin: string) => void): unknown;
  on(event: 'unhandledRejection', listener: (reason: unknown) => void): unknown;
  off(event: 'uncaughtException', listener: (error: Error, origin: string) => void): unknown;
  off(event: 'unhandledRejection', listener: (reason: unknown) => void): unknown;
}

export type FaultKind = 'uncaught_exception' | 'unhandled_rejection';

/**
 * Keeps a serving process alive through an uncaught exception or unhandled rejection: the fault
 * is logged (with the error) and counted, and the process goes on serving. Returns a function
 * removing the guard.
 *
 * Why survive: a fault escaping one request (a stream's 'error' nobody listened for, a promise a
 * library forgot to handle) would otherwise exit the process and cut every other upload in flight
 * — one crafted request could take the whole server down, over and over. Node warns that state
 * after such a fault may be inconsistent; what we hold across requests lives in the database and
 * on disk, which transactions and staging files keep consistent, and an orchestrator can still
 * restart on the logged faults or on failing /readyz. Install it only once the server listens:
 * a fault during start-up must still end the process with exit code 1.
 */
export function guardServingProcess(source: FaultSource, logger: Logger, onFault: (kind: FaultKind) => void = () => {}): () => void {
  const uncaught = (error: Error, origin: string) => {
    report('uncaught_exception', error, { origin });
  };
  const unhandled = (reason: unknown) => {
    report('unhandled_rejection', reason, {});
  };
  const report = (kind: FaultKind, error: unknown, context: Record<string, unknown>) => {
    try {
      onFault(kind);
      logger.error({ err: error, kind, ...context }, `${kind === 'uncaught_exception' ? 'uncaught exception' : 'unhandled rejection'} survived; still serving`);
    } catch {
      // Logging must not throw out of the handler: that would be a second, fatal fault.
    }
  };
  source.on('uncaughtException', uncaught);
  source.on('unhandledRejection', unhandled);
  return () => {
    source.off('uncaughtException', uncaught);
    source.off('unhandledRejection', unhandled);
  };
}
