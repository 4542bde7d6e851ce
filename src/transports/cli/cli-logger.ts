import { pino, type Logger } from 'pino';
import type { Config } from '../../config.js';

/** Logs of a one-shot command go to stderr, so stdout carries only its result. */
export function cliLogger(config: Config): Logger {
  return pino({ level: config.logLevel }, pino.destination(2));
}
