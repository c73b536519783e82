/** Child process for the lock tests: `open DIR` tries to open and prints the outcome; `hold DIR` opens and waits. */
import { WAL } from "@tsraft/wal";

const [cmd, dir] = process.argv.slice(2);
try {
  const w = await WAL.open(dir!, { index: 0, term: 0 });
  await w.readAll();
  if (cmd === "hold") {
    process.stdout.write("held\n");
    setInterval(() => undefined, 1000);
  } else {
    process.stdout.write("opened\n");
    await w.close();
  }
} catch (e) {
  process.stdout.write(`${(e as { code?: string }).code ?? String(e)} ${(e as Error).message}\n`);
}
