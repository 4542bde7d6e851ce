import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import fc from 'fast-check';
import { AppError, errorCodes, type ErrorCode } from '../../src/core/errors.js';
import { hideServerPaths, scrubDetail, toProblem } from '../../src/transports/problem.js';

const dataDir = `/srv/imagegram-${randomUUID().slice(0, 8)}/data`;
hideServerPaths(dataDir, '/mnt/blobs');

test('a decoder message quoting a staging file reaches the client without the path', () => {
  const staging = `${dataDir}/staging/${randomUUID()}.staging`;
  const problem = toProblem(new AppError('CORRUPT_IMAGE', `VipsJpeg: Premature end of input file ${staging}: bad Huffman code`));
  assert.equal(problem.status, 422);
  assert.doesNotMatch(problem.detail, /staging|srv|data/);
  assert.match(problem.detail, /VipsJpeg: Premature end of input file \[server path\]: bad Huffman code/);
});

test('a staging file name is scrubbed even when the data dir was never registered (a symlinked or relative path)', () => {
  const detail = scrubDetail(`cannot read "../other/staging/${randomUUID()}.staging" (truncated)`);
  assert.doesNotMatch(detail, /\.staging|other/);
});

test('paths outside the data dir and ordinary words stay as they are', () => {
  assert.equal(scrubDetail('GET /posts/abc does not exist'), 'GET /posts/abc does not exist');
  assert.equal(scrubDetail('the staging of a play'), 'the staging of a play');
});

test('no problem detail of any code ever contains the data dir or a staging path (property)', () => {
  const codes = Object.keys(errorCodes) as ErrorCode[];
  const serverPath = fc.oneof(
    fc.constant(dataDir),
    fc.stringMatching(/^[a-z0-9/._-]{0,40}$/).map((rest) => `${dataDir}/${rest}`),
    fc.uuid().map((id) => `${dataDir}/staging/${id}.staging`),
    fc.uuid().map((id) => `/mnt/blobs/originals/ab/${id}`),
  );
  fc.assert(
    fc.property(fc.constantFrom(...codes), fc.string(), serverPath, fc.string(), (code, before, path, after) => {
      const problem = toProblem(new AppError(code, `${before} ${path}${after.replace(/^[^\s'"),;:]+/, '')}`));
      assert.ok(!problem.detail.includes(dataDir), problem.detail);
      assert.ok(!problem.detail.includes('/mnt/blobs'), problem.detail);
      assert.ok(!/[0-9a-f-]{36}\.staging/.test(problem.detail), problem.detail);
    }),
  );
});

test('a 4xx transport error (a Fastify validation message) is scrubbed too', () => {
  const error = Object.assign(new Error(`body/path must not be ${dataDir}/secret`), { statusCode: 400, code: 'FST_ERR_VALIDATION' });
  assert.doesNotMatch(toProblem(error).detail, /srv|secret/);
});
