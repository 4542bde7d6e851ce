/**
 * What the bench's CPU-profiling scripts share: waiting for the profiled server to serve, and
 * reading the main thread's `.cpuprofile` it wrote on exit.
 */
import type { ChildProcess } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** One node of a V8 CPU profile's call tree. */
export interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

/** A V8 CPU profile as `--cpu-prof` writes it. */
export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Resolves once `origin` answers /healthz; throws if `child` exits first. */
export async function waitUntilServing(child: ChildProcess, origin: string): Promise<void> {
  for (;;) {
    if (child.exitCode !== null) throw new Error('the server exited before serving');
    const ok = await fetch(`${origin}/healthz`).then(
      (response) => response.ok,
      () => false,
    );
    if (ok) return;
    await sleep(100);
  }
}

/** The main thread's profile in `dir` (the lowest thread number: tsx's loader thread writes one too). */
export async function readMainThreadProfile(dir: string): Promise<{ file: string; profile: CpuProfile }> {
  const name = (await readdir(dir)).filter((entry) => entry.endsWith('.cpuprofile')).sort()[0];
  if (!name) throw new Error(`no profile in ${dir}`);
  const file = join(dir, name);
  return { file, profile: JSON.parse(await readFile(file, 'utf8')) as CpuProfile };
}

/** Prints the `top` functions of `profile` by self time, as a markdown table. */
export function printSelfTime(file: string, profile: CpuProfile, projectRoot: string, top: number): void {
  const self = new Map<string, number>();
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  for (const id of profile.samples) {
    const { callFrame } = byId.get(id)!;
    const where = `${callFrame.functionName || '(anonymous)'} ${callFrame.url.replace(/^.*node_modules\//, '').replace(`file://${projectRoot}`, '')}:${callFrame.lineNumber + 1}`;
    self.set(where, (self.get(where) ?? 0) + 1);
  }
  const total = profile.samples.length;
  console.log(`profile: ${file}\n\n| self % | function |\n|---|---|`);
  for (const [where, count] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`| ${((100 * count) / total).toFixed(1)} | \`${where}\` |`);
}
