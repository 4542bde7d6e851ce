import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isAppError } from '../errors.js';
import { linkExpiry } from './link-expiry.js';

const now = Date.UTC(2030, 0, 31, 12, 0, 0);
const year = 366 * 86_400_000;
const at = (input: { sinceNow?: string; expiresOn?: string }) => new Date(linkExpiry(input, now, year)).toISOString();

test('ISO-8601 durations count from now; months follow the calendar', () => {
  assert.equal(at({ sinceNow: 'PT1H' }), '2030-01-31T13:00:00.000Z');
  assert.equal(at({ sinceNow: 'PT90M' }), '2030-01-31T13:30:00.000Z');
  assert.equal(at({ sinceNow: 'P1DT2H30M15S' }), '2030-02-01T14:30:15.000Z');
  assert.equal(at({ sinceNow: 'P2W' }), '2030-02-14T12:00:00.000Z');
  assert.equal(at({ sinceNow: 'PT0.5H' }), '2030-01-31T12:30:00.000Z');
  assert.equal(at({ sinceNow: 'P1Y' }), '2031-01-31T12:00:00.000Z');
  // January 31st plus a month: JavaScript's calendar rolls over into March.
  assert.equal(at({ sinceNow: 'P1M' }), '2030-03-03T12:00:00.000Z');
});

test('date-times need a zone and land where they say', () => {
  assert.equal(at({ expiresOn: '2030-02-01T00:00:00Z' }), '2030-02-01T00:00:00.000Z');
  assert.equal(at({ expiresOn: '2030-02-01T01:00:00+01:00' }), '2030-02-01T00:00:00.000Z');
  assert.equal(at({ expiresOn: '2030-01-31T12:00:00.250Z' }), '2030-01-31T12:00:00.250Z');
});

test('anything else is VALIDATION_FAILED', () => {
  const invalid = [
    {},
    { sinceNow: 'PT1H', expiresOn: '2030-02-01T00:00:00Z' },
    { sinceNow: '' },
    { sinceNow: 'P' },
    { sinceNow: 'PT' },
    { sinceNow: 'T1H' },
    { sinceNow: '1H' },
    { sinceNow: '-P1D' },
    { sinceNow: 'PT0S' },
    { sinceNow: 'P1.5M' },
    { sinceNow: 'P367D' },
    { expiresOn: '2030-01-31T11:59:59Z' },
    { expiresOn: '2030-01-31T12:00:00Z' },
    { expiresOn: '2030-02-01' },
    { expiresOn: '2030-02-01T00:00:00' },
    { expiresOn: '2030-02-30T00:00:00Z' },
    { expiresOn: 'next tuesday' },
  ];
  for (const input of invalid) {
    assert.throws(
      () => linkExpiry(input, now, year),
      (error) => isAppError(error, 'VALIDATION_FAILED'),
      JSON.stringify(input),
    );
  }
});
