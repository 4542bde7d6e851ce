/**
 * Load generators for the feed bench: autocannon at a fixed `overallRate` (a paced load, not flat out), a
 * paced open-loop generator for the same rate, and autocannon flat out for throughput.
 *
 * Why two fixed-rate generators: autocannon 9 does not pace. Each connection sends its share of a
 * second back to back as fast as responses come, then idles until its 1 s timer fires, and every
 * connection's timer starts together — so "1,000 req/s" arrives as a burst of 1,000 requests with
 * `connections` in flight at the top of each second, and the p99 is how long that burst takes to
 * drain. (Its coordinated-omission correction, on by default, assumes an interval of
 * ceil(1 / rate) = 1 ms instead of 1000 / rate ms, so it adds samples that were never sent; we
 * report its figure but compute ours from the raw per-response latencies.) The paced generator
 * sends one request every 1/rate s whether or not earlier ones have answered.
 */
import autocannon, { type AutocannonRequest } from 'autocannon';
import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { max, percentile } from '../stats.js';

/** One request to send: the generators call `next()` for each. */
export interface RequestSpec {
  method: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

/** What the client saw over one load phase. */
export interface LoadResult {
  seconds: number;
  /** Responses received per second (any status). */
  rate: number;
  completed: number;
  /** Latency percentiles over every response, in ms. */
  p50: number;
  p99: number;
  max: number;
  /** Connection errors and timeouts (paced: requests still unanswered 5 s after the phase, then aborted). */
  errors: number;
  non2xx: number;
  /** Most responses in any 100 ms window, as a rate: how bursty the load really was. */
  peakRate: number;
  /** autocannon's own p99 (2xx only, with its coordinated-omission correction); NaN for the paced generator. */
  autocannonP99: number;
  /** Paced only: p99 of how late requests left this process after they were due (not in their latency); NaN for autocannon. */
  sendLagP99: number;
}

/** A fixed rate with autocannon's `overallRate`, `next()` choosing each request. */
export async function autocannonAtRate(origin: string, next: () => RequestSpec, rate: number, seconds: number, connections = 50): Promise<LoadResult> {
  const latencies: number[] = [];
  const finishedAt: number[] = [];
  let non2xx = 0;
  const setupRequest = (request: AutocannonRequest): AutocannonRequest => {
    const { method, path, headers, body } = next();
    // Only defined fields: an explicit `body: undefined` would replace autocannon's empty default.
    return { ...request, method, path, ...(headers && { headers: { ...request.headers, ...headers } }), ...(body !== undefined && { body }) };
  };
  const instance = autocannon({
    url: origin,
    connections: Math.min(connections, rate),
    overallRate: rate,
    duration: seconds,
    requests: [{ setupRequest }],
  });
  instance.on('response', (_client, statusCode, _bytes, responseTime) => {
    latencies.push(responseTime);
    finishedAt.push(performance.now());
    if (statusCode < 200 || statusCode > 299) non2xx += 1;
  });
  const result = await instance;
  return { ...summarise(latencies, finishedAt, result.duration, result.errors, non2xx), autocannonP99: result.latency.p99 };
}

/** How long the paced generator waits for stragglers after its last request was due. */
const graceSeconds = 5;

/**
 * Open loop: request k is due at start + k/rate and is sent then, however many are still in
 * flight (undici queues beyond `connections`, and that wait counts). Its latency runs from when
 * this process sent it: the generator never waits for the server before sending, so there is no
 * coordinated omission to correct, and its own lateness (it shares the 2 cores) is reported
 * apart as `sendLagP99` instead of being charged to the server. Requests
 * still unanswered `graceSeconds` after the phase are aborted and counted as errors, so a server
 * that cannot keep up costs the run 5 s, not the whole backlog.
 */
export async function pacedAtRate(origin: string, next: () => RequestSpec, rate: number, seconds: number, connections = 50): Promise<LoadResult> {
  const pool = new Pool(origin, { connections, pipelining: 1 });
  const latencies: number[] = [];
  const finishedAt: number[] = [];
  const inFlight = new Set<Promise<void>>();
  const sendLags: number[] = [];
  let errors = 0;
  let non2xx = 0;
  const total = Math.round(rate * seconds);
  const start = performance.now();
  const stragglers = new AbortController();
  // Every request listens on the one signal.
  setMaxListeners(0, stragglers.signal);
  const send = (dueAt: number): void => {
    const sentAt = performance.now();
    sendLags.push(sentAt - dueAt);
    const spec = next();
    const request: Promise<void> = pool
      .request({ method: spec.method, path: spec.path, headers: spec.headers, body: spec.body, signal: stragglers.signal })
      .then(async (response) => {
        await response.body.dump();
        const now = performance.now();
        latencies.push(now - sentAt);
        finishedAt.push(now);
        if (response.statusCode < 200 || response.statusCode > 299) non2xx += 1;
      })
      .catch(() => {
        errors += 1;
      })
      .finally(() => inFlight.delete(request));
    inFlight.add(request);
  };
  for (let sent = 0; sent < total; ) {
    const now = performance.now();
    while (sent < total && start + (sent * 1000) / rate <= now) send(start + (sent++ * 1000) / rate);
    // setTimeout(1) wakes every ~1.1 ms: requests due meanwhile go out together in the next tick.
    await sleep(1);
  }
  const deadline = setTimeout(() => stragglers.abort(), graceSeconds * 1000);
  await Promise.all(inFlight);
  clearTimeout(deadline);
  await pool.close();
  return { ...summarise(latencies, finishedAt, (performance.now() - start) / 1000, errors, non2xx), sendLagP99: percentile(sendLags, 99) };
}

/** Requests per second autocannon gets through with `connections` in flight and no rate limit. */
export async function autocannonFlatOut(
  origin: string,
  path: string,
  seconds: number,
  connections = 10,
  headers?: Record<string, string>,
): Promise<{ rate: number; errors: number; non2xx: number }> {
  const result = await autocannon({ url: `${origin}${path}`, connections, duration: seconds, ...(headers && { headers }) });
  return { rate: result.requests.total / result.duration, errors: result.errors, non2xx: result.non2xx };
}

function summarise(latencies: number[], finishedAt: number[], seconds: number, errors: number, non2xx: number): LoadResult {
  return {
    seconds,
    rate: latencies.length / seconds,
    completed: latencies.length,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: max(latencies),
    errors,
    non2xx,
    peakRate: peakRate(finishedAt, 100),
    autocannonP99: Number.NaN,
    sendLagP99: Number.NaN,
  };
}

/** The most events in any `windowMs` window (a sliding window over sorted times), per second. */
function peakRate(times: number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  for (let end = 0, begin = 0; end < sorted.length; end++) {
    while (sorted[end]! - sorted[begin]! >= windowMs) begin++;
    most = Math.max(most, end - begin + 1);
  }
  return (most * 1000) / windowMs;
}
