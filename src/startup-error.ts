/**
 * A reason this process must not start that the operator fixes (a setting, another process, a
 * missing bucket): the CLI prints the message alone, without a stack trace, and exits 1. The
 * message names the cause and what to do.
 */
export class StartupError extends Error {
  override readonly name = 'StartupError';
}
