/**
 * The arena every attack suite fights in: one real server process, a world of real objects to aim
 * at, and a recorder that sends each request with its time measured and keeps what went wrong.
 * The verdict is always the same: no 5xx, no process exit, every answer within a deadline, and
 * `/healthz` still 200 at the end.
 */
import { readFile } from 'node:fs/promises';
import type { TestContext } from 'node:test';
import fc from 'fast-check';
import { Agent, request } from 'undici';
import { startServer, type RunningServer, type StartOptions } from '../../support/server.js';
import { buildWorld, type World } from './world.js';

/** A hang detector, not a speed test: a fuzzed request is small, so anything slower means the server is stuck on it (a loaded 2-core CI machine has taken 2.1 s). */
export const answerDeadlineMs = 10_000;
/** Past this the client gives up: the request has already failed, and must not hang the suite. */
const giveUpMs = 15_000;
/** Requests in flight at once: keeps a suite with some stuck requests within its time budget. */
const inFlight = 4;

/** One HTTP request as the fuzzers describe it. */
export interface Probe {
  method: string;
  /** Path and query, already encoded as they go on the wire. */
  path: string;
  headers?: Record<string, string | string[]>;
  body?: string | Buffer;
  /** What the generator meant, for the failure report (e.g. the operation's key). */
  label: string;
}

export interface Outcome {
  status: number | null;
  ms: number;
  error?: string;
  body?: Buffer;
  headers?: Record<string, string | string[] | undefined>;
}

interface Failure {
  label: string;
  kind: string;
  repro: string;
  size: number;
}

/** Raised to stop a property run once the server process is gone: every later request would fail. */
export class ServerGone extends Error {}

export class Arena {
  tried = 0;
  serverErrors = 0;
  slow = 0;
  unanswered = 0;
  /** Requests the client library refused to send (invalid header bytes): not counted as tried. */
  unsendable = 0;
  maxMs = 0;
  private readonly failures = new Map<string, Failure>();
  private failureCount = 0;
  private readonly dispatcher = new Agent({ connections: 16, headersTimeout: giveUpMs, bodyTimeout: giveUpMs, connect: { timeout: giveUpMs } });
  private readonly startedAt = Date.now();

  private constructor(
    readonly server: RunningServer,
    readonly world: World,
    readonly openapi: OpenApi,
    readonly name: string,
  ) {}

  /** Starts a server and builds the world in it. */
  static async open(name: string, options: StartOptions = {}): Promise<Arena> {
    const server = await startServer(options);
    try {
      const world = await buildWorld(server);
      const openapi = (await (await fetch(`${server.baseUrl}/openapi.json`)).json()) as OpenApi;
      return new Arena(server, world, openapi, name);
    } catch (error) {
      await server.cleanup();
      throw error;
    }
  }

  get host(): { host: string; port: number } {
    const url = new URL(this.server.baseUrl);
    return { host: url.hostname, port: Number(url.port) };
  }

  /**
   * Generates `numRuns` probes from `arbitrary` with fast-check (reproducible from `seed`) and
   * sends them, a few at a time. Stops early if the server process exits.
   */
  async run(arbitrary: fc.Arbitrary<Probe>, seed: number, numRuns: number, prepare: (probe: Probe) => Promise<Probe> = async (p) => p): Promise<void> {
    const probes = fc.sample(arbitrary, { seed, numRuns });
    let next = 0;
    let gone = false;
    const worker = async () => {
      while (!gone && next < probes.length) {
        const probe = probes[next++]!;
        try {
          await this.send(await prepare(probe));
        } catch (error) {
          if (!(error instanceof ServerGone)) throw error;
          gone = true;
        }
      }
    };
    await Promise.all(Array.from({ length: inFlight }, worker));
  }

  /** Sends `probe`, measures it, and records a 5xx, a slow answer or no answer as a failure. */
  async send(probe: Probe): Promise<Outcome> {
    const headers = wireHeaders(probe.headers ?? {});
    // A value no client can send (control bytes) is the raw-socket suites' job, not this one's.
    if (headers === null) {
      this.unsendable++;
      return { status: null, ms: 0, error: 'unsendable' };
    }
    if (process.env.FUZZ_TRACE) process.stderr.write(`→ ${describeProbe(probe).slice(0, 200)}\n`);
    const started = performance.now();
    let outcome: Outcome;
    try {
      const response = await request(`${this.server.baseUrl}${probe.path}`, {
        method: probe.method as 'GET',
        headers,
        body: probe.body,
        dispatcher: this.dispatcher,
        // Belt and braces over the dispatcher's timeouts: a request must never hang the suite.
        signal: AbortSignal.timeout(giveUpMs),
      });
      const body = Buffer.from(await response.body.arrayBuffer());
      outcome = { status: response.statusCode, ms: performance.now() - started, body, headers: response.headers };
    } catch (error) {
      if (isClientSideRefusal(error)) {
        this.unsendable++;
        return { status: null, ms: 0, error: 'unsendable' };
      }
      outcome = { status: null, ms: performance.now() - started, error: describeError(error) };
    }
    if (process.env.FUZZ_TRACE) process.stderr.write(`← ${outcome.status ?? outcome.error} ${Math.round(outcome.ms)} ms\n`);
    this.judge(probe.label, outcome, () => describeProbe(probe), probeSize(probe));
    if (outcome.status === null && !this.alive()) throw new ServerGone(`the server process exited during ${probe.label}`);
    return outcome;
  }

  /**
   * Records the outcome of a request sent some other way (raw sockets). `answered` is false when
   * the server closed the connection or stayed silent instead of answering.
   */
  judge(label: string, outcome: Outcome, repro: () => string, size: number): void {
    this.tried++;
    this.maxMs = Math.max(this.maxMs, outcome.ms);
    let kind: string | null = null;
    if (outcome.status === null) {
      this.unanswered++;
      kind = `no answer (${outcome.error ?? 'closed'})`;
    } else if (outcome.status >= 500) {
      this.serverErrors++;
      kind = `${outcome.status}`;
    }
    if (outcome.ms > answerDeadlineMs) {
      this.slow++;
      kind = kind ?? `slow (${Math.round(outcome.ms)} ms)`;
    }
    if (kind === null) return;
    this.failureCount++;
    // One example per (route, kind): the smallest request that shows it is the best repro.
    const key = `${label} → ${kind.replace(/\d+ ms/, '…')}`;
    const known = this.failures.get(key);
    if (!known || size < known.size) {
      const detail = outcome.body && outcome.status !== null && outcome.status >= 500 ? `\n      answer: ${outcome.body.subarray(0, 200).toString()}` : '';
      this.failures.set(key, { label, kind, repro: repro() + detail, size });
    }
  }

  alive(): boolean {
    try {
      process.kill(this.server.pid, 0);
      return true;
    } catch {
      return false;
    }
  }

  /** Peak resident memory of the server process so far (VmHWM), in MiB. */
  async peakRssMiB(): Promise<number | null> {
    try {
      const status = await readFile(`/proc/${this.server.pid}/status`, 'utf8');
      const kib = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
      return kib ? Math.round(Number(kib) / 1024) : null;
    } catch {
      return null;
    }
  }

  /**
   * The verdict: prints the figures, then fails listing one minimal repro per (route, kind) when
   * anything went wrong, or when the process exited or `/healthz` is no longer 200.
   */
  async verdict(t: TestContext, seed: number | null): Promise<void> {
    const alive = this.alive();
    let health = 'not asked (process gone)';
    if (alive) {
      const answer = await this.send({ method: 'GET', path: '/healthz', label: 'GET /healthz (final)' }).catch(
        (error: unknown) => ({ status: null, error: String(error) }) as Outcome,
      );
      health = String(answer.status ?? answer.error);
    }
    const figures = {
      suite: this.name,
      seed,
      requests: this.tried,
      serverErrors: this.serverErrors,
      unanswered: this.unanswered,
      slowerThanDeadline: this.slow,
      slowestMs: Math.round(this.maxMs),
      exits: alive ? 0 : 1,
      peakRssMiB: await this.peakRssMiB(),
      seconds: Math.round((Date.now() - this.startedAt) / 100) / 10,
      healthz: health,
    };
    t.diagnostic(`figures ${JSON.stringify(figures)}`);
    console.log(`[attack] figures ${JSON.stringify(figures)}`);
    const problems: string[] = [];
    if (!alive) problems.push(`the server process exited; its last lines:\n${this.server.output.slice(-15).join('\n')}`);
    if (alive && health !== '200') problems.push(`GET /healthz answered ${health} at the end`);
    if (this.failures.size > 0) {
      const lines = [...this.failures.values()].map((f) => `  - ${f.label}: ${f.kind}\n      ${f.repro}`);
      problems.push(`${this.failureCount} failing requests of ${this.tried}, ${this.failures.size} distinct:\n${lines.join('\n')}`);
      const logged = this.server.output.filter((line) => /"level":50|"level":60/.test(line)).slice(0, 5);
      if (logged.length > 0) problems.push(`first errors the server logged:\n${logged.map((l) => l.slice(0, 600)).join('\n')}`);
    }
    if (problems.length > 0) {
      const replay = seed === null ? '' : ` Replay with FUZZ_SEED=${seed}.`;
      throw new Error(`${this.name}: ${problems.join('\n')}\n${replay}`);
    }
  }

  async close(): Promise<void> {
    await this.dispatcher.close().catch(() => undefined);
    await this.server.cleanup();
  }
}

/** The slice of the OpenAPI document the fuzzers read. */
export interface OpenApi {
  paths: Record<string, Record<string, OpenApiOperation>>;
}
export interface OpenApiOperation {
  parameters?: { in: 'path' | 'query' | 'header'; name: string; required?: boolean; schema?: JsonSchema }[];
  requestBody?: { content: Record<string, { schema?: JsonSchema }> };
  security?: Record<string, string[]>[];
}
export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  allOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  default?: unknown;
  format?: string;
}

/** Every operation of the document, as `METHOD /path` with its OpenAPI description. */
export function operationsOf(openapi: OpenApi): { key: string; method: string; path: string; operation: OpenApiOperation }[] {
  return Object.entries(openapi.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]) => ({ key: `${method.toUpperCase()} ${path}`, method: method.toUpperCase(), path, operation })),
  );
}

/**
 * The seed of a run: FUZZ_SEED when set (`random` for a fresh one), else the suite's fixed seed,
 * so a failure seen once is seen again.
 */
export function fuzzSeed(fixed: number): number {
  const wanted = process.env.FUZZ_SEED;
  if (wanted === 'random') return Math.floor(Math.random() * 2 ** 31);
  return wanted ? Number(wanted) : fixed;
}

/** How many generated requests a property runs: FUZZ_RUNS scales every suite (1 = as written). */
export function fuzzRuns(base: number): number {
  const scale = Number(process.env.FUZZ_RUNS_SCALE ?? 1);
  return Math.max(1, Math.round(base * (Number.isFinite(scale) && scale > 0 ? scale : 1)));
}

/**
 * Header values as their bytes go on the wire: text is sent as UTF-8 (what clients do) read back
 * as latin1 (what HTTP/1.1 carries). Null when a value holds bytes no HTTP client sends.
 */
function wireHeaders(headers: Record<string, string | string[]>): Record<string, string | string[]> | null {
  const wire = (value: string) => Buffer.from(value, 'utf8').toString('latin1');
  const entries = Object.entries(headers).map(([name, value]) => [name, Array.isArray(value) ? value.map(wire) : wire(value)] as const);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it looks for.
  const invalid = entries.some(([, value]) => [value].flat().some((v) => /[\x00-\x08\x0a-\x1f\x7f]/.test(v)));
  return invalid ? null : Object.fromEntries(entries);
}

function isClientSideRefusal(error: unknown): boolean {
  const code = (error as { code?: string }).code;
  return (
    code === 'UND_ERR_INVALID_ARG' ||
    code === 'ERR_INVALID_CHAR' ||
    code === 'ERR_INVALID_ARG_TYPE' ||
    code === 'ERR_INVALID_HTTP_TOKEN' ||
    code === 'UND_ERR_NOT_SUPPORTED'
  );
}

function describeError(error: unknown): string {
  const { code, message, name } = error as { code?: string; message?: string; name?: string };
  if (name === 'TimeoutError' || name === 'AbortError') return `gave up after ${giveUpMs / 1000} s`;
  return code ?? message ?? String(error);
}

function probeSize(probe: Probe): number {
  return probe.path.length + JSON.stringify(probe.headers ?? {}).length + (probe.body?.length ?? 0);
}

/** A request written out so it can be replayed by hand (bodies cut to 300 bytes). */
export function describeProbe(probe: Probe): string {
  const body = probe.body === undefined ? '' : ` body(${probe.body.length} B)=${JSON.stringify(Buffer.from(probe.body).subarray(0, 300).toString('latin1'))}`;
  return `${probe.method} ${probe.path.length > 300 ? `${probe.path.slice(0, 300)}…(${probe.path.length} chars)` : probe.path} headers=${JSON.stringify(probe.headers ?? {}).slice(0, 400)}${body}`;
}
