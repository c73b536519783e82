// Runs etcd-io/raft's confchange scripts (../shared/vectors/etcd-testdata/confchange/*.txt)
// against Changer. Commands: `simple`, `enter-joint [autoleave=true]`, `leave-joint`, with the
// changes as input (`v1 l2 r3 u4`). Each file starts from an empty tracker (maxInflight 10);
// the last index is 0 for the first command and grows by one after every command, as in
// etcd's harness. Output: the configuration and the progress map, or the error.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { ConfChangeError } from "../../raft/src/errors.js";
import { Changer, type ChangeResult } from "../../raft/src/confchange/confchange.js";
import { confChangesFromString } from "../../raft/src/confchange/convert.js";
import { ProgressTracker, describeConfig } from "../../raft/src/tracker/tracker.js";
import { argValue, formatMismatches, runDatadriven, sharedVectorsPath, type TestCase } from "./harness/datadriven.js";

const dir = sharedVectorsPath("etcd-testdata", "confchange");
const PREFIX = "raft: invalid configuration change: ";

/** The message of a ConfChangeError without its package prefix (etcd prints the bare error). */
function bareMessage(err: unknown): string {
  if (!(err instanceof ConfChangeError)) throw err;
  return err.message.startsWith(PREFIX) ? err.message.slice(PREFIX.length) : err.message;
}

function makeHandler(): (tc: TestCase) => string {
  const tr = new ProgressTracker(10);
  let lastIndex = 0;
  return (tc) => {
    try {
      const ccs = confChangesFromString(tc.input);
      const c = new Changer(tr, lastIndex);
      let r: ChangeResult;
      switch (tc.cmd) {
        case "simple":
          r = c.simple(ccs);
          break;
        case "enter-joint": {
          const al = argValue(tc, "autoleave");
          r = c.enterJoint(al === "true", ccs);
          break;
        }
        case "leave-joint":
          if (ccs.length > 0) return "this command takes no input\n";
          r = c.leaveJoint();
          break;
        default:
          return "unknown command";
      }
      tr.config = r.config;
      tr.progress = r.progress;
      return `${describeConfig(tr.config)}\n${tr.progress.toString()}`;
    } catch (err) {
      return bareMessage(err) + "\n";
    } finally {
      lastIndex++;
    }
  };
}

describe("etcd confchange datadriven scripts", () => {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(".txt"))
    .sort();
  test("the scripts are there", () => assert.ok(files.length >= 9, `expected etcd confchange scripts in ${dir}`));
  for (const f of files) {
    test(f, (t) => {
      const r = runDatadriven(join(dir, f), makeHandler());
      t.diagnostic(`${f}: ${r.matched}/${r.total} stanzas match`);
      assert.equal(r.matched, r.total, formatMismatches(r));
    });
  }
});
