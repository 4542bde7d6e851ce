import { createHash } from 'node:crypto';
import type { RateLimitOptions } from '@fastify/rate-limit';
import type { FastifyRequest } from 'fastify';
import { AppError } from '../../core/errors.js';
import { bearerToken } from '../request-auth.js';

/** Per-route rate limit settings (`config.rateLimit`), or false when limits are disabled. */
export type WriteRateLimit = RateLimitOptions | false;

/**
 * Writes are limited per caller and per write endpoint (@fastify/rate-limit keeps one counter
 * store per route): per session token when one is sent (a user's own budget, not shared with
 * everyone behind the same NAT), else per IP. The token is hashed so raw tokens never sit in the
 * limiter's store.
 */
export function writeRateLimit(perMinute: number): WriteRateLimit {
  if (perMinute === 0) return false;
  return {
    max: perMinute,
    timeWindow: 60_000,
    keyGenerator: (request: FastifyRequest) => {
      const token = bearerToken(request);
      return token ? `token:${createHash('sha256').update(token).digest('hex')}` : `ip:${request.ip}`;
    },
  };
}

/** Log-in attempts are limited per IP: each one costs an argon2 verify (~14 ms of CPU). */
export function loginRateLimit(perMinute: number): WriteRateLimit {
  if (perMinute === 0) return false;
  return { max: perMinute, timeWindow: 60_000, keyGenerator: (request: FastifyRequest) => `ip:${request.ip}` };
}

/** The 429 body: our problem+json, with the plugin's Retry-After header alongside. */
export function rateLimitedError(_request: FastifyRequest, context: { after: string; max: number }): AppError {
  return new AppError('RATE_LIMITED', `Rate limit of ${context.max} per minute exceeded, retry in ${context.after}`, { limit: context.max });
}
