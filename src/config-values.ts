import { isAbsolute, resolve } from 'node:path';
import { parseFixedDuration } from './core/durations.js';

/** Thrown for invalid configuration; main prints the message and exits 1. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

// Checks for one configuration value each. `name` is the environment variable, which every message
// names (flags are spelled after it: `--max-upload-bytes` is MAX_UPLOAD_BYTES).

export function integer(name: string, value: string, min: number, max: number): number {
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got "${value}"`);
  }
  return parsed;
}

export function boolean(name: string, value: string): boolean {
  if (['1', 'true', 'yes', 'on'].includes(value.toLowerCase())) return true;
  if (['0', 'false', 'no', 'off'].includes(value.toLowerCase())) return false;
  throw new ConfigError(`${name} must be true or false (1/0), got "${value}"`);
}

export function duration(name: string, value: string): number {
  const parsed = parseFixedDuration(value);
  if (parsed === null) throw new ConfigError(`${name} must be an ISO-8601 duration such as PT1H or P1D (or 0s), got "${value}"`);
  return parsed;
}

/** A secret shared by every process of a deployment; short ones are guessable. */
export function secret(name: string, value: string): string {
  if (value.length < 16) throw new ConfigError(`${name} must be at least 16 characters`);
  return value;
}

export function logLevel(value: string): string {
  const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
  if (!levels.includes(value)) throw new ConfigError(`LOG_LEVEL must be one of ${levels.join(', ')}, got "${value}"`);
  return value;
}

/** Fastify's `trustProxy`: off, on (any proxy), the number of proxy hops, or the proxies' addresses. */
export function trustProxy(value: string): boolean | number | string {
  if (['0', 'false', 'no', 'off'].includes(value.toLowerCase())) return false;
  if (['true', 'yes', 'on'].includes(value.toLowerCase())) return true;
  if (/^\d{1,2}$/.test(value)) return Number(value);
  const entries = value.split(',').map((entry) => entry.trim());
  if (entries.some((entry) => !/^[0-9a-fA-F:.]+(\/\d{1,3})?$/.test(entry))) {
    throw new ConfigError(`TRUST_PROXY must be off, on, a hop count, or comma-separated IP addresses/CIDRs, got "${value}"`);
  }
  return entries.join(',');
}

/**
 * CORS_ORIGINS: `*` (any origin) or origins (`scheme://host[:port]`) joined by commas, each
 * normalised as browsers send it in `Origin` (lower-case, default port left out).
 */
export function corsOrigins(value: string): '*' | string[] {
  if (value.trim() === '*') return '*';
  return value
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')
    .map((entry) => {
      let url: URL;
      try {
        url = new URL(entry);
      } catch {
        throw new ConfigError(`CORS_ORIGINS entries must be origins like https://app.example.com, got "${entry}"`);
      }
      if (
        !['http:', 'https:'].includes(url.protocol) ||
        url.pathname !== '/' ||
        url.search !== '' ||
        url.hash !== '' ||
        url.username !== '' ||
        url.password !== ''
      ) {
        throw new ConfigError(`CORS_ORIGINS entries must be origins (http[s]://host[:port], no path), got "${entry}"`);
      }
      return url.origin;
    });
}

export function databaseUrl(value: string): string {
  if (/^postgres(ql)?:\/\//.test(value)) return value;
  if (value.startsWith('sqlite:')) return `sqlite:${resolve(value.slice('sqlite:'.length))}`;
  throw new ConfigError(`DATABASE_URL must start with postgres://, postgresql:// or sqlite:, got "${value}"`);
}

export function blobStoreUrl(value: string): string {
  if (value.startsWith('file:')) {
    const path = value.slice('file:'.length).replace(/^\/\//, '');
    return `file:${isAbsolute(path) ? path : resolve(path)}`;
  }
  if (value.startsWith('s3://')) return s3BlobStoreUrl(value);
  throw new ConfigError(`BLOB_STORE_URL must start with file: or s3://, got "${value}"`);
}

/** Checks an `s3://` blob store URL and spells out its defaults, so app.ts reads it without guessing. */
function s3BlobStoreUrl(value: string): string {
  // Never echo keys someone put in the URL into a log.
  const shown = value.replace(/^s3:\/\/[^/?#]*@/, 's3://***@');
  const invalid = (why: string) =>
    new ConfigError(
      `BLOB_STORE_URL ${why}; expected s3://<bucket>[/<prefix>]?endpoint=<http(s) URL>&region=<region>&forcePathStyle=true|false, got "${shown}"`,
    );
  if (!URL.canParse(value)) throw invalid('is not a URL');
  const url = new URL(value);
  // Bucket naming rules: https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(url.hostname)) throw invalid(`has no valid bucket name ("${url.hostname}": 3-63 of a-z 0-9 . -)`);
  if (url.username || url.password || url.port || url.hash)
    throw invalid('must not carry credentials, a port or a fragment (keys go in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)');
  const segments = url.pathname.split('/').filter((segment) => segment !== '');
  if (segments.some((segment) => !/^[A-Za-z0-9._-]+$/.test(segment) || segment === '.' || segment === '..'))
    throw invalid('has a key prefix with characters other than A-Z a-z 0-9 . _ - /');
  const unknown = [...url.searchParams.keys()].filter((name) => !['endpoint', 'region', 'forcePathStyle'].includes(name));
  if (unknown.length > 0) throw invalid(`has unknown parameters (${unknown.join(', ')})`);
  const endpoint = url.searchParams.get('endpoint') || undefined;
  const endpointUrl = endpoint !== undefined && URL.canParse(endpoint) ? new URL(endpoint) : undefined;
  if (endpoint !== undefined && !(endpointUrl && ['http:', 'https:'].includes(endpointUrl.protocol) && !endpointUrl.search && !endpointUrl.hash)) {
    throw invalid(`has an endpoint that is not an http(s) URL ("${endpoint}")`);
  }
  const region = url.searchParams.get('region') || 'us-east-1';
  if (!/^[a-z0-9-]+$/.test(region)) throw invalid(`has an invalid region ("${region}")`);
  const pathStyle = url.searchParams.get('forcePathStyle') || (endpoint !== undefined ? 'true' : 'false');
  if (pathStyle !== 'true' && pathStyle !== 'false') throw invalid(`has forcePathStyle "${pathStyle}" (true or false)`);
  const normalised = new URLSearchParams({ ...(endpoint !== undefined ? { endpoint } : {}), region, forcePathStyle: pathStyle });
  return `s3://${url.hostname}/${segments.map((segment) => `${segment}/`).join('')}?${normalised}`;
}

export function redisUrl(value: string): string {
  // Never echo a password someone put in the URL into a log.
  const shown = value.replace(/^([a-z]+:\/\/)[^/?#@]*@/, '$1***@');
  if (!/^rediss?:\/\//.test(value) || !URL.canParse(value)) throw new ConfigError(`REDIS_URL must be a redis:// or rediss:// URL, got "${shown}"`);
  return value;
}

export function redisKeyPrefix(value: string): string {
  // Plain characters only, so `redis-cli --scan --pattern '<prefix>*'` finds exactly our keys.
  if (!/^[A-Za-z0-9:._-]{1,100}$/.test(value)) throw new ConfigError(`REDIS_KEY_PREFIX must be 1-100 of A-Z a-z 0-9 : . _ -, got "${value}"`);
  return value;
}
