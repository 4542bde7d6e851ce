/** Memory and CPU figures of a process, read from /proc. */
import { readFileSync, writeFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';

/** Resident set size figures of another process, in bytes. */
export interface MemoryReading {
  rss: number;
  /** The kernel's high-water mark (VmHWM) since the last `resetPeak()`. */
  peak: number;
}

/** Reads `/proc/<pid>/status` (Linux only). */
export function readMemory(pid: number): MemoryReading {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string): number => {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    if (!match?.[1]) throw new Error(`no ${field} in /proc/${pid}/status`);
    return Number(match[1]) * 1024;
  };
  return { rss: kib('VmRSS'), peak: kib('VmHWM') };
}

/**
 * Resets the process's VmHWM to its current RSS (`echo 5 > /proc/<pid>/clear_refs`, Linux ≥ 4.0),
 * so the next `readMemory().peak` is the true peak over a window, not a sample that could miss a
 * short spike. Returns false if the kernel refused (then only sampling is available).
 */
export function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/**
 * Watches a process's RSS over a window: call `stop()` for the growth, i.e. the peak (the kernel's
 * high-water mark where available, else the highest sample taken every `intervalMs`) minus the RSS
 * when watching began.
 */
export function watchMemory(pid: number, intervalMs = 10): { stop(): { before: number; peak: number; growth: number } } {
  const exactPeak = resetPeak(pid);
  const before = readMemory(pid).rss;
  let sampled = before;
  const timer = setInterval(() => {
    sampled = Math.max(sampled, readMemory(pid).rss);
  }, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      const now = readMemory(pid);
      const peak = Math.max(sampled, now.rss, exactPeak ? now.peak : 0);
      return { before, peak, growth: peak - before };
    },
  };
}

/** CPU time (user + system, all threads) the process has used so far, in seconds (Linux only). */
export function readCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name, which may itself contain spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of stat(5), i.e. 11 and 12 after the name; clock ticks.
  return (Number(fields[11]) + Number(fields[12])) / clockTicksPerSecond;
}

/** One thread of a process and the CPU it has used so far (user + system). */
export interface ThreadCpu {
  /** Its name (comm). Node names its main thread, libuv's pool, V8's helpers and worker threads all `node`. */
  name: string;
  /** The main thread (its tid is the pid). */
  main: boolean;
  seconds: number;
}

/** Reads `/proc/<pid>/task/<tid>/stat` for every thread of `pid`; a thread that ended meanwhile is left out. */
export async function readThreadCpu(pid: number): Promise<ThreadCpu[]> {
  const threads: ThreadCpu[] = [];
  for (const tid of await readdir(`/proc/${pid}/task`)) {
    const stat = await readFile(`/proc/${pid}/task/${tid}/stat`, 'utf8').catch(() => null);
    if (stat === null) continue;
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    threads.push({
      name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')),
      main: tid === String(pid),
      seconds: (Number(fields[11]) + Number(fields[12])) / clockTicksPerSecond,
    });
  }
  return threads;
}

/** USER_HZ: 100 on every mainstream Linux build (getconf CLK_TCK). */
const clockTicksPerSecond = 100;

/** Scheduler figures of one thread, in ms: time on a CPU, and time runnable but waiting for one. */
export interface ThreadSchedule {
  onCpuMs: number;
  runQueueWaitMs: number;
}

/**
 * Reads `/proc/<pid>/task/<tid>/schedstat` (needs schedstats, on in mainstream kernels); the
 * main thread's tid is the pid. A thread that waits long in the run queue is starved of CPU, not
 * blocked by its own work.
 */
export function readThreadSchedule(pid: number, tid = pid): ThreadSchedule {
  const [onCpu, waiting] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').trim().split(' ').map(Number);
  return { onCpuMs: (onCpu ?? Number.NaN) / 1e6, runQueueWaitMs: (waiting ?? Number.NaN) / 1e6 };
}
