import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { once } from 'node:events';
import type { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/**
 * Streams `source` (through `transforms`) into a new file at `path`. When it rejects, the file is
 * gone: a write stream destroyed before its file has opened still opens it (creating the file)
 * and only then closes, so the removal waits for that close. Without the wait, a body cut off in
 * its first bytes could leave an empty file behind when the removal overtook the open.
 */
export async function streamToNewFile(path: string, source: Readable, transforms: Transform[] = [], flags = 'wx'): Promise<void> {
  const sink = createWriteStream(path, { flags });
  try {
    await pipeline([source, ...transforms, sink]);
  } catch (error) {
    if (!sink.closed) await once(sink, 'close').catch(() => {});
    await rm(path, { force: true });
    throw error;
  }
}
