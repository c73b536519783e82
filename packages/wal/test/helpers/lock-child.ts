/**
 * Child process for the lock tests: `open DIR` tries to open and prints the outcome; `hold DIR`
 * opens and waits; `lockfile DIR` tries the lock-file fallback of the lock directly.
 */
import { WAL } from "@tsraft/wal";
import { lockDir } from "../../src/lock.js";

const [cmd, dir] = process.argv.slice(2);
try {
  if (cmd === "lockfile") {
    const lock = await lockDir(dir!, "file");
    process.stdout.write("locked\n");
    await lock.release();
  } else {
    const w = await WAL.open(dir!, { index: 0, term: 0 });
    await w.readAll();
    if (cmd === "hold") {
      process.stdout.write("held\n");
      setInterval(() => undefined, 1000);
    } else {
      process.stdout.write("opened\n");
      await w.close();
    }
  }
} catch (e) {
  process.stdout.write(`${(e as { code?: string }).code ?? String(e)} ${(e as Error).message}\n`);
}
