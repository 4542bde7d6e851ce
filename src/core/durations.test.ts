import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseFixedDuration } from './durations.js';

test('ISO-8601 durations and shorthands become milliseconds', () => {
  assert.equal(parseFixedDuration('PT1H'), 3_600_000);
  assert.equal(parseFixedDuration('P1D'), 86_400_000);
  assert.equal(parseFixedDuration('P1DT30M'), 86_400_000 + 1_800_000);
  assert.equal(parseFixedDuration('P2W'), 14 * 86_400_000);
  assert.equal(parseFixedDuration('PT0S'), 0);
  assert.equal(parseFixedDuration('pt90s'), 90_000);
  assert.equal(parseFixedDuration('0'), 0);
  assert.equal(parseFixedDuration('0s'), 0);
  assert.equal(parseFixedDuration('15m'), 900_000);
  assert.equal(parseFixedDuration('7d'), 7 * 86_400_000);
  assert.equal(parseFixedDuration('250ms'), 250);
});

test('calendar units, negatives and junk are refused', () => {
  for (const text of ['P1M', 'P1Y', '-PT1H', '', 'one hour', '1w', 'PT', '5', '-5s']) {
    assert.equal(parseFixedDuration(text), null, text);
  }
});
