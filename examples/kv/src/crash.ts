/**
 * What a member does with an unhandled rejection or an uncaught exception: every one is a bug,
 * so it is printed loudly with a fixed marker and the process exits non-zero (70), instead of
 * going on in an unknown state or dying silently. The launcher's tests fail when a member's log
 * holds the marker.
 * @module
 */

/** Printed on stderr, at the start of the line, before the process exits (see the module comment). */
export const UNHANDLED_MARKER = "UNHANDLED";

/** The exit code after an unhandled rejection or an uncaught exception (EX_SOFTWARE). */
export const UNHANDLED_EXIT_CODE = 70;

function crash(kind: string, err: unknown): never {
  const text = err instanceof Error ? (err.stack ?? err.message) : String(err);
  process.stderr.write(`${UNHANDLED_MARKER} ${kind} (a bug; exiting with code ${UNHANDLED_EXIT_CODE}): ${text}\n`);
  process.exit(UNHANDLED_EXIT_CODE);
}

/** Installs the process-wide handlers (once per process). */
export function installCrashHandlers(): void {
  process.on("unhandledRejection", (reason) => crash("promise rejection", reason));
  process.on("uncaughtException", (err) => crash("exception", err));
}
