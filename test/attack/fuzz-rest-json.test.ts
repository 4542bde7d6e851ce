/**
 * Every operation of `/openapi.json`, fuzzed from its own schemas: path parameters (real ids and
 * garbage), query strings, declared headers, JSON bodies (valid, at the edges, wrong, broken) and
 * bodies a route does not expect, under every kind of credentials.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { Arena, fuzzRuns, fuzzSeed, operationsOf, type Probe } from './support/arena.js';
import { probeFor, routeGenerators, undeclaredOperations } from './support/routes.js';

describe('fuzzing every REST route from the route table', () => {
  let arena: Arena;
  before(async () => {
    arena = await Arena.open('fuzz-rest-json');
  });
  after(async () => {
    await arena?.close();
  });

  test('every operation in /openapi.json has a generator (new routes are fuzzed by default)', () => {
    const declared = operationsOf(arena.openapi).map((op) => op.key);
    const missing = declared.filter((key) => !routeGenerators[key]);
    assert.deepEqual(missing, [], `add these operations to routeGenerators in test/attack/support/routes.ts`);
    // And every path parameter has real ids to aim at, not only garbage.
    for (const { key, path } of operationsOf(arena.openapi)) {
      const names = [...path.matchAll(/\{(\w+)\}/g)].map((match) => match[1]!);
      const ids = routeGenerators[key]!.ids?.(arena.world) ?? {};
      for (const name of names) assert.ok((ids[name] ?? []).length > 0, `${key}: no real ids for {${name}}`);
    }
  });

  test('no 5xx, no exit, every answer within 10 s', async (t) => {
    const { world } = arena;
    const images = [world.png, world.png.subarray(0, 40), Buffer.from('not an image at all'), Buffer.alloc(0)];
    const operations = [
      ...operationsOf(arena.openapi),
      ...undeclaredOperations.map((key) => {
        const [method, path] = key.split(' ') as [string, string];
        return { key, method, path, operation: {} };
      }),
    ];
    const probes = fc.oneof(...operations.map(({ key, path, method, operation }) => probeFor(key, path, method, operation, world, images)));
    const seed = fuzzSeed(20_260_601);
    await arena.run(probes, seed, fuzzRuns(1_200), withOwnSession);
    await arena.verdict(t, seed);
  });

  /** Logging out with alice's shared token would sign her out of every later probe: use a fresh one. */
  async function withOwnSession(probe: Probe): Promise<Probe> {
    const { alice } = arena.world;
    if (!probe.label.startsWith('DELETE /sessions/current') || probe.headers?.authorization !== `Bearer ${alice.token}`) return probe;
    return { ...probe, headers: { ...probe.headers, authorization: `Bearer ${await arena.world.freshToken()}` } };
  }
});
