import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.js';

test('client limits default to values a slow phone survives and a greedy client does not', () => {
  assert.deepEqual(loadConfig([], {}).clients, {
    bodyIdleTimeoutSeconds: 60,
    requestTimeoutSeconds: 3600,
    headersTimeoutSeconds: 20,
    keepAliveTimeoutSeconds: 10,
    maxConnections: 0,
    maxConcurrentUploadsPerUser: 4,
    maxConcurrentUploadsPerIp: 16,
    trustProxy: false,
    corsOrigins: [],
  });
});

test('CORS_ORIGINS is a list of origins, normalised, or * for any; anything with a path or another scheme is refused', () => {
  assert.deepEqual(loadConfig([], { CORS_ORIGINS: ' https://App.example.com , http://localhost:5173/,' }).clients.corsOrigins, [
    'https://app.example.com',
    'http://localhost:5173',
  ]);
  assert.equal(loadConfig([], { CORS_ORIGINS: '*' }).clients.corsOrigins, '*');
  for (const bad of ['app.example.com', 'https://app.example.com/path', 'ftp://x.example', 'https://user:pw@x.example', 'https://x.example/?q=1']) {
    assert.throws(
      () => loadConfig([], { CORS_ORIGINS: bad }),
      (error: unknown) => error instanceof ConfigError && /CORS_ORIGINS/.test(error.message),
      bad,
    );
  }
});

test('client limits read environment and flags; 0 turns the upload caps off', () => {
  const clients = loadConfig(['--max-concurrent-uploads-per-ip', '0'], {
    BODY_IDLE_TIMEOUT_SECONDS: '5',
    MAX_CONCURRENT_UPLOADS_PER_USER: '0',
    TRUST_PROXY: '10.0.0.0/8, 127.0.0.1',
  }).clients;
  assert.equal(clients.bodyIdleTimeoutSeconds, 5);
  assert.equal(clients.maxConcurrentUploadsPerUser, 0);
  assert.equal(clients.maxConcurrentUploadsPerIp, 0);
  assert.equal(clients.trustProxy, '10.0.0.0/8,127.0.0.1');
  assert.equal(loadConfig([], { TRUST_PROXY: 'on' }).clients.trustProxy, true);
  assert.equal(loadConfig([], { TRUST_PROXY: '2' }).clients.trustProxy, 2);
});

test('nonsense client limits are refused at start-up with a clear message', () => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ BODY_IDLE_TIMEOUT_SECONDS: '0' }, /BODY_IDLE_TIMEOUT_SECONDS must be an integer from 1/],
    [{ BODY_IDLE_TIMEOUT_SECONDS: 'Infinity' }, /BODY_IDLE_TIMEOUT_SECONDS/],
    [{ BODY_IDLE_TIMEOUT_SECONDS: '120', REQUEST_TIMEOUT_SECONDS: '60' }, /must not exceed REQUEST_TIMEOUT_SECONDS/],
    [{ HEADERS_TIMEOUT_SECONDS: '30', REQUEST_TIMEOUT_SECONDS: '20', BODY_IDLE_TIMEOUT_SECONDS: '10' }, /HEADERS_TIMEOUT_SECONDS \(30\) must not exceed/],
    [{ REQUEST_TIMEOUT_SECONDS: '7200' }, /REQUEST_TIMEOUT_SECONDS must be an integer from 1 to 3600/],
    [{ MAX_CONCURRENT_UPLOADS_PER_USER: '-1' }, /MAX_CONCURRENT_UPLOADS_PER_USER/],
    [{ TRUST_PROXY: 'everyone' }, /TRUST_PROXY must be/],
  ];
  for (const [env, message] of cases)
    assert.throws(
      () => loadConfig([], env),
      (error: unknown) => error instanceof ConfigError && message.test(error.message),
      JSON.stringify(env),
    );
});
