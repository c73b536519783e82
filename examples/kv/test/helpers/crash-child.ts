/** A child process for the crash-handler test: installs the handlers, then fails as argv[2] says. */
import { installCrashHandlers } from "../../src/crash.js";

installCrashHandlers();
const how = process.argv[2];
if (how === "rejection") void Promise.reject(new Error("a rejection nobody handles"));
else if (how === "exception")
  setImmediate(() => {
    throw new Error("an exception nobody catches");
  });
setTimeout(() => process.exit(0), 5000);
