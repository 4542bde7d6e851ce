// Preloaded (`node --import …/exit-with-parent.mjs?parent=<pid>`) into every Node process a test
// starts (test/support/processes.ts): when the test process dies without a chance to kill its
// children (SIGKILL, an OOM kill), the child is re-parented; it then ends itself rather than live on
// holding a port, a database and the CI machine. The parent's pid comes in the URL, not from
// process.ppid at start-up: on a loaded machine the parent may already be gone by then.
// Plain JavaScript: it loads before any TypeScript loader.
const parent = Number(new URL(import.meta.url).searchParams.get('parent'));
if (parent > 0) {
  const check = () => {
    if (process.ppid !== parent) process.kill(process.pid, 'SIGKILL');
  };
  check();
  setInterval(check, 1_000).unref();
}
