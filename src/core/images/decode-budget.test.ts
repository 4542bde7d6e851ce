import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isAppError } from '../errors.js';
import { DecodeBudget } from './decode-budget.js';

/** A decode the test finishes by hand: resolves or fails when told, records when it started. */
function manualDecode(log: string[], name: string): { run: () => Promise<string>; finish: () => void; fail: () => void } {
  let finish!: () => void;
  let fail!: () => void;
  const done = new Promise<string>((resolve, reject) => {
    finish = () => resolve(name);
    fail = () => reject(new Error(`${name} failed`));
  });
  return {
    run: () => {
      log.push(`start ${name}`);
      return done;
    },
    finish,
    fail,
  };
}

/** Lets every settled promise's callbacks run (no timers: the budget itself never waits on time). */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('DecodeBudget', () => {
  test('runs decodes at once while their bytes fit, and makes the next wait until bytes are released', async () => {
    const budget = new DecodeBudget({ bytes: 100, concurrency: 10 });
    const log: string[] = [];
    const [a, b, c] = ['a', 'b', 'c'].map((name) => manualDecode(log, name));
    const runs = [budget.run(40, 'a', a!.run), budget.run(50, 'b', b!.run), budget.run(30, 'c', c!.run)];
    await settle();
    assert.deepEqual(log, ['start a', 'start b']);
    assert.equal(budget.waiting, 1);
    assert.equal(budget.availableBytes, 10);
    a!.finish();
    await settle();
    assert.deepEqual(log, ['start a', 'start b', 'start c']);
    b!.finish();
    c!.finish();
    assert.deepEqual(await Promise.all(runs), ['a', 'b', 'c']);
    assert.equal(budget.availableBytes, 100);
  });

  test('is first in, first out: a small decode does not overtake a large one waiting ahead of it', async () => {
    const budget = new DecodeBudget({ bytes: 100, concurrency: 10 });
    const log: string[] = [];
    const [held, large, small] = ['held', 'large', 'small'].map((name) => manualDecode(log, name));
    const runs = [budget.run(60, 'held', held!.run), budget.run(80, 'large', large!.run), budget.run(10, 'small', small!.run)];
    await settle();
    // 40 bytes are free and `small` needs 10, but `large` is first in line.
    assert.deepEqual(log, ['start held']);
    held!.finish();
    await settle();
    assert.deepEqual(log, ['start held', 'start large', 'start small']);
    large!.finish();
    small!.finish();
    await Promise.all(runs);
  });

  test('a failed decode gives its bytes back, and the failure reaches the caller', async () => {
    const budget = new DecodeBudget({ bytes: 100, concurrency: 10 });
    const log: string[] = [];
    const [failing, next] = ['failing', 'next'].map((name) => manualDecode(log, name));
    const failed = budget.run(100, 'failing', failing!.run);
    const waiting = budget.run(100, 'next', next!.run);
    await settle();
    assert.deepEqual(log, ['start failing']);
    failing!.fail();
    await assert.rejects(failed, /failing failed/);
    await settle();
    assert.deepEqual(log, ['start failing', 'start next']);
    next!.finish();
    await waiting;
    assert.equal(budget.availableBytes, 100);
  });

  test('a decode that throws before returning a promise also gives its bytes back', async () => {
    const budget = new DecodeBudget({ bytes: 10, concurrency: 1 });
    await assert.rejects(
      budget.run(10, 'sync', () => {
        throw new Error('thrown at once');
      }),
      /thrown at once/,
    );
    assert.equal(await budget.run(10, 'after', async () => 'ran'), 'ran');
  });

  test('refuses a decode larger than the whole budget at once, as IMAGE_DIMENSIONS_TOO_LARGE, without queueing it', async () => {
    const budget = new DecodeBudget({ bytes: 64 * 2 ** 20, concurrency: 2 });
    let ran = false;
    await assert.rejects(
      budget.run(400 * 2 ** 20, 'this 10000×10000 BMP', async () => {
        ran = true;
      }),
      (error: unknown) => {
        assert.ok(isAppError(error));
        assert.equal(error.code, 'IMAGE_DIMENSIONS_TOO_LARGE');
        assert.match(error.message, /10000×10000 BMP.*400 MiB.*64 MiB/);
        return true;
      },
    );
    assert.equal(ran, false);
    assert.equal(budget.waiting, 0);
    // Exactly the whole budget is allowed: it runs alone.
    assert.equal(await budget.run(64 * 2 ** 20, 'all of it', async () => 'ran'), 'ran');
  });

  test('bounds decodes in flight by count too, however small they are', async () => {
    const budget = new DecodeBudget({ bytes: 1000, concurrency: 2 });
    const log: string[] = [];
    const decodes = ['a', 'b', 'c'].map((name) => manualDecode(log, name));
    const runs = decodes.map((decode, i) => budget.run(0, String(i), decode.run));
    await settle();
    assert.deepEqual(log, ['start a', 'start b']);
    decodes[1]!.finish();
    await settle();
    assert.deepEqual(log, ['start a', 'start b', 'start c']);
    decodes[0]!.finish();
    decodes[2]!.finish();
    await Promise.all(runs);
  });

  test('a share released twice is given back once', async () => {
    const budget = new DecodeBudget({ bytes: 100, concurrency: 5 });
    const share = await budget.acquire(60);
    share.release();
    share.release();
    assert.equal(budget.availableBytes, 100);
  });
});
