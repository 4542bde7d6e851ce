import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { postJson, problemOf, signUpAndLogIn } from '../support/client.js';
import { startServer, type RunningServer } from '../support/server.js';

describe('accounts: sign up, log in, log out', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.cleanup());

  test('sign up returns 201 with the public user, never the password', async () => {
    const response = await postJson(server.baseUrl, '/users', { username: 'Alice_01', password: 'a long enough password' });
    assert.equal(response.status, 201);
    const body = (await response.json()) as Record<string, unknown>;
    assert.equal(body.username, 'Alice_01');
    assert.equal(typeof body.id, 'string');
    assert.doesNotMatch(JSON.stringify(body), /password|argon/i);
  });

  test('a taken username (in any letter case) is 409 USERNAME_TAKEN', async () => {
    await postJson(server.baseUrl, '/users', { username: 'bob', password: 'a long enough password' });
    const again = await postJson(server.baseUrl, '/users', { username: 'BOB', password: 'another password!' });
    assert.equal(again.status, 409);
    assert.equal((await problemOf(again)).code, 'USERNAME_TAKEN');
  });

  test('invalid sign-ups are 400 with a reason', async () => {
    for (const body of [
      { username: 'x', password: 'a long enough password' },
      { username: 'carol', password: 'short' },
      { username: 'carol' },
      { username: 'bad name', password: 'a long enough password' },
    ]) {
      const response = await postJson(server.baseUrl, '/users', body);
      assert.equal(response.status, 400, JSON.stringify(body));
      assert.equal((await problemOf(response)).code, 'VALIDATION_FAILED');
    }
    const malformed = await fetch(`${server.baseUrl}/users`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"username":' });
    assert.equal(malformed.status, 400);
    assert.equal((await problemOf(malformed)).code, 'MALFORMED_JSON');
  });

  test('log in returns a bearer token; a wrong password or unknown user is 401', async () => {
    await postJson(server.baseUrl, '/users', { username: 'dave', password: 'a long enough password' });
    const ok = await postJson(server.baseUrl, '/sessions', { username: 'dave', password: 'a long enough password' });
    assert.equal(ok.status, 201);
    const session = (await ok.json()) as { token: string; user: { username: string } };
    assert.ok(session.token.length >= 43);
    assert.equal(session.user.username, 'dave');
    for (const wrong of [
      { username: 'dave', password: 'not the password' },
      { username: 'nobody', password: 'a long enough password' },
    ]) {
      const response = await postJson(server.baseUrl, '/sessions', wrong);
      assert.equal(response.status, 401);
      assert.equal((await problemOf(response)).code, 'INVALID_CREDENTIALS');
    }
  });

  test('log out revokes the token', async () => {
    const user = await signUpAndLogIn(server.baseUrl);
    const out = await fetch(`${server.baseUrl}/sessions/current`, { method: 'DELETE', headers: user.headers });
    assert.equal(out.status, 204);
    const again = await fetch(`${server.baseUrl}/sessions/current`, { method: 'DELETE', headers: user.headers });
    assert.equal(again.status, 401);
    assert.equal((await problemOf(again)).code, 'UNAUTHENTICATED');
  });

  test('the session table holds token hashes, not tokens', async () => {
    const user = await signUpAndLogIn(server.baseUrl);
    // The token must not appear anywhere in the data dir (SQLite file, WAL) — only its SHA-256.
    const { readdir, readFile } = await import('node:fs/promises');
    for (const name of await readdir(server.dataDir)) {
      if (!name.startsWith('imagegram.sqlite')) continue;
      const bytes = await readFile(`${server.dataDir}/${name}`);
      assert.equal(bytes.includes(Buffer.from(user.token)), false, `${name} contains a raw token`);
    }
  });
});
