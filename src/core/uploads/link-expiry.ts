import { parse, type Duration } from 'tinyduration';
import { AppError } from '../errors.js';

/** How an admin says when a link expires: exactly one of the two (`POST /admin/upload-links`). */
export interface LinkExpiryInput {
  /** An ISO-8601 duration from now, e.g. `PT1H`, `P7D`, `P1M`. */
  sinceNow?: string | undefined;
  /** An ISO-8601 date-time with a zone (`Z` or an offset), e.g. `2030-01-31T18:00:00Z`. */
  expiresOn?: string | undefined;
}

/** RFC 3339 date-time (the ISO-8601 profile the web uses); the zone is required so "when" is unambiguous. */
const dateTime = /^(\d{4})-(\d{2})-(\d{2})T([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i;
const hourMs = 3_600_000;

/**
 * When a link asked for at `now` expires (epoch ms). Throws VALIDATION_FAILED for a missing,
 * doubled, malformed, past or zero expiry, or one beyond `maxLifetimeMs`.
 */
export function linkExpiry(input: LinkExpiryInput, now: number, maxLifetimeMs: number): number {
  const { sinceNow, expiresOn } = input;
  if ((sinceNow === undefined) === (expiresOn === undefined)) {
    throw new AppError('VALIDATION_FAILED', 'Send exactly one of sinceNow (an ISO-8601 duration such as "PT1H") or expiresOn (an ISO-8601 date-time)');
  }
  const expiresAt = sinceNow !== undefined ? addDuration(now, parseDuration(sinceNow)) : parseDateTime(expiresOn!);
  if (expiresAt <= now) throw new AppError('VALIDATION_FAILED', 'The link would expire immediately: give a time in the future');
  if (expiresAt > now + maxLifetimeMs) {
    throw new AppError('VALIDATION_FAILED', `A link may live at most ${Math.floor(maxLifetimeMs / 86_400_000)} days`);
  }
  return expiresAt;
}

function parseDuration(text: string): Duration {
  let duration: Duration;
  try {
    duration = parse(text.trim());
  } catch {
    throw new AppError('VALIDATION_FAILED', `sinceNow must be an ISO-8601 duration such as "PT1H" or "P7D", got ${JSON.stringify(text)}`);
  }
  if (duration.negative) throw new AppError('VALIDATION_FAILED', 'sinceNow must not be negative');
  const months = (duration.years ?? 0) * 12 + (duration.months ?? 0);
  // Calendar months differ in length: a fraction of one has no single meaning.
  if (!Number.isInteger(months)) throw new AppError('VALIDATION_FAILED', 'sinceNow may not use fractional years or months');
  return duration;
}

/** Years and months step the UTC calendar (P1M from Jan 31 is Mar 2/3, like `Date` does); the rest are exact. */
function addDuration(now: number, duration: Duration): number {
  const date = new Date(now);
  const months = (duration.years ?? 0) * 12 + (duration.months ?? 0);
  if (months > 0) date.setUTCMonth(date.getUTCMonth() + months);
  const exact =
    (duration.weeks ?? 0) * 7 * 24 * hourMs +
    (duration.days ?? 0) * 24 * hourMs +
    (duration.hours ?? 0) * hourMs +
    (duration.minutes ?? 0) * 60_000 +
    (duration.seconds ?? 0) * 1000;
  return Math.round(date.getTime() + exact);
}

function parseDateTime(text: string): number {
  const match = dateTime.exec(text);
  // Date.parse rolls impossible days over (Feb 30 becomes Mar 2): check the day exists first.
  const valid = match !== null && isCalendarDate(Number(match[1]), Number(match[2]), Number(match[3]));
  const at = valid ? Date.parse(text) : Number.NaN;
  if (!Number.isFinite(at)) {
    throw new AppError('VALIDATION_FAILED', `expiresOn must be an ISO-8601 date-time with a zone, such as "2030-01-31T18:00:00Z", got ${JSON.stringify(text)}`);
  }
  return at;
}

function isCalendarDate(year: number, month: number, day: number): boolean {
  return month >= 1 && month <= 12 && day >= 1 && day === new Date(Date.UTC(year, month - 1, day)).getUTCDate();
}
