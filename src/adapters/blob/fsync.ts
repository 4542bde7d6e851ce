import { open } from 'node:fs/promises';

/** fsyncs a file so its bytes survive a power cut, not only a crash. */
export async function fsyncFile(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * fsyncs a directory so a rename or link inside it is durable: on Linux a new directory entry is
 * only guaranteed on disk once the directory itself is synced (see fsync(2), "Calling fsync() does
 * not necessarily ensure that the entry in the directory containing the file has also reached disk").
 */
export async function fsyncDirectory(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
