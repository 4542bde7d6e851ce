/**
 * multipart/form-data bodies written by hand (RFC 7578), so the framing itself can be bent:
 * boundaries, line endings, headers and the closing delimiter are all the generator's to choose.
 */
import fc from 'fast-check';
import { anyString } from './generators.js';

export interface Part {
  /** Raw header lines of the part, e.g. `Content-Disposition: form-data; name="image"; filename="a.png"`. */
  headers: string[];
  body: Buffer;
}

export interface Framing {
  boundary: string;
  /** The boundary announced in Content-Type (usually the same). */
  announced: string | null;
  newline: '\r\n' | '\n';
  preamble: string;
  /** Whether the closing `--boundary--` is written. */
  closed: boolean;
  epilogue: string;
  /** Cut the encoded body to this fraction of its length (1 = whole). */
  keep: number;
}

export const wellFormed = (boundary = 'fuzzboundary7MA4YWxk'): Framing => ({
  boundary,
  announced: boundary,
  newline: '\r\n',
  preamble: '',
  closed: true,
  epilogue: '',
  keep: 1,
});

export function encodeMultipart(parts: Part[], framing: Framing): { body: Buffer; contentType: string } {
  const nl = framing.newline;
  const chunks: Buffer[] = [Buffer.from(framing.preamble)];
  for (const part of parts) {
    chunks.push(Buffer.from(`--${framing.boundary}${nl}${part.headers.map((h) => `${h}${nl}`).join('')}${nl}`, 'latin1'), part.body, Buffer.from(nl));
  }
  if (framing.closed) chunks.push(Buffer.from(`--${framing.boundary}--${nl}${framing.epilogue}`));
  const whole = Buffer.concat(chunks);
  const body = framing.keep >= 1 ? whole : whole.subarray(0, Math.floor(whole.length * framing.keep));
  const contentType = framing.announced === null ? 'multipart/form-data' : `multipart/form-data; boundary=${framing.announced}`;
  return { body, contentType };
}

/** A file part named `name`. */
export function filePart(name: string, filename: string, type: string, body: Buffer): Part {
  return { headers: [`Content-Disposition: form-data; name="${name}"; filename="${filename}"`, `Content-Type: ${type}`], body };
}

/** A text field. */
export function fieldPart(name: string, value: string): Part {
  return { headers: [`Content-Disposition: form-data; name="${name}"`], body: Buffer.from(value) };
}

/** Framing from well-formed to badly broken. */
export const framingArb: fc.Arbitrary<Framing> = fc
  .record({
    boundary: fc.oneof(
      { weight: 4, arbitrary: fc.constant('fuzzboundary7MA4YWxk') },
      {
        weight: 1,
        arbitrary: fc.constantFrom('a', '-', '--', ' ', 'x'.repeat(70), 'x'.repeat(71), 'x'.repeat(5_000), 'ä€', '"quoted"', 'a b', 'a\tb', 'bound;ary=x'),
      },
      { weight: 1, arbitrary: fc.stringMatching(/^[0-9A-Za-z'()+_,./:=?-]{1,70}$/) },
    ),
    announced: fc.oneof(
      { weight: 6, arbitrary: fc.constant('same') },
      { weight: 1, arbitrary: fc.constant(null) },
      { weight: 1, arbitrary: fc.constantFrom('other', '', '""', '"fuzzboundary7MA4YWxk"', 'x'.repeat(300)) },
    ),
    newline: fc.oneof({ weight: 5, arbitrary: fc.constant('\r\n' as const) }, { weight: 1, arbitrary: fc.constant('\n' as const) }),
    preamble: fc.oneof({ weight: 5, arbitrary: fc.constant('') }, { weight: 1, arbitrary: fc.constantFrom('preamble\r\n', '\r\n', '--\r\n', '\r\n\r\n\r\n') }),
    closed: fc.oneof({ weight: 5, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
    epilogue: fc.oneof(
      { weight: 5, arbitrary: fc.constant('') },
      { weight: 1, arbitrary: fc.constantFrom('epilogue', '--fuzzboundary7MA4YWxk\r\n', '\r\n\r\n') },
    ),
    keep: fc.oneof({ weight: 6, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.double({ min: 0, max: 1, noNaN: true }) }),
  })
  .map((framing) => ({ ...framing, announced: framing.announced === 'same' ? framing.boundary : framing.announced }));

/** Part headers from proper to broken: missing disposition, odd quoting, huge names, encodings. */
export function partHeadersArb(name: fc.Arbitrary<string>, defaultType: string): fc.Arbitrary<string[]> {
  const proper = fc
    .tuple(name, fc.oneof(fc.constantFrom('photo.png', 'a.jpg', ''), anyString))
    .map(([n, f]) => [`Content-Disposition: form-data; name="${n}"; filename="${f.replace(/[\r\n"]/g, '_')}"`, `Content-Type: ${defaultType}`]);
  const broken = fc.constantFrom<string[]>(
    [],
    ['Content-Type: image/png'],
    ['Content-Disposition: form-data'],
    ['Content-Disposition: form-data; name=image; filename=a.png'],
    ['Content-Disposition: form-data; name="image"; filename*=UTF-8\'\'%E2%82%AC.png'],
    ['Content-Disposition: form-data; name="image"; filename*=UTF-8\'\'%ZZ'],
    ['Content-Disposition: attachment; name="image"; filename="a.png"'],
    ['Content-Disposition: form-data; name="image"; filename="a.png"', 'Content-Type: '],
    ['Content-Disposition: form-data; name="image"; filename="a.png"', 'Content-Transfer-Encoding: base64'],
    ['Content-Disposition: form-data; name="image"; filename="a.png"', `X-Long: ${'h'.repeat(20_000)}`],
    [`Content-Disposition: form-data; name="${'n'.repeat(10_000)}"; filename="a.png"`],
    ['Content-Disposition: form-data; name="image"; name="caption"; filename="a.png"'],
    ['Content-Disposition: form-data; name="__proto__"'],
    ['Content-Disposition: form-data; name="constructor"; filename="a.png"'],
    ['Content-Disposition: form-data; name="image"; filename="\u00ff\u00fe.png"'],
    ['no colon here'],
    [': empty name'],
  );
  return fc.oneof({ weight: 4, arbitrary: proper }, { weight: 1, arbitrary: broken });
}
