/** `tsraft force-new-cluster DIR --id ID`. @module */
import { EXIT, type Command } from "./io.js";
import { forceNewCluster } from "./force-new-cluster.js";

function parseId(s: string): bigint | undefined {
  try {
    const v = /^0x[0-9a-f]+$/i.test(s) ? BigInt(s) : /^[0-9]+$/.test(s) ? BigInt(s) : undefined;
    return v === undefined || v <= 0n || v > 0xffff_ffff_ffff_ffffn ? undefined : v;
  } catch {
    return undefined;
  }
}

export const forceNewClusterCommand: Command = {
  words: ["force-new-cluster"],
  summary: "quorum-loss recovery: make a stopped member the only member of its cluster",
  help: `usage: tsraft force-new-cluster DIR --id ID [--yes]

Quorum-loss recovery, like etcd's --force-new-cluster: rewrites the data directory DIR
(wal/ and snap/ of a DiskStorage) of the stopped member ID (decimal, or hex with 0x) so that
it restarts as the only voter of its cluster, with every committed entry kept. Entries after
the commit index are dropped (they may never have been committed); conf changes that remove
every other member (and leave a joint configuration, add ID as a voter when needed) are
appended and committed by fiat. Start the member as usual afterwards; it elects itself.

Risks (read docs/OPERATING.md first):
  - writes acknowledged by the cluster but not yet known to ID as committed are lost;
  - the other members must never be started again with their old data (they would still
    believe in the old configuration): wipe them and add them back as new members;
  - do it on one member only: the most up to date survivor (highest commit index, see
    tsraft wal dump DIR/wal | grep ' state ' | tail -1).
It refuses to run without --yes.

Exit codes: 0 done; 1 failed (nothing changed unless it says so); 2 usage.`,
  async run(args, io) {
    if (args.includes("--help")) {
      io.out(forceNewClusterCommand.help);
      return EXIT.ok;
    }
    const pos: string[] = [];
    let id: bigint | undefined;
    let yes = false;
    for (let i = 0; i < args.length; i++) {
      const a = args[i]!;
      if (a === "--id") {
        id = parseId(args[++i] ?? "");
        if (id === undefined) {
          io.err("tsraft force-new-cluster: --id needs a member id (a positive 64-bit number)");
          return EXIT.usage;
        }
      } else if (a === "--yes") yes = true;
      else if (a.startsWith("--")) {
        io.err(`tsraft force-new-cluster: unknown flag ${a}`);
        return EXIT.usage;
      } else pos.push(a);
    }
    if (pos.length !== 1 || id === undefined) {
      io.err("tsraft force-new-cluster: expects DIR and --id ID");
      io.err(forceNewClusterCommand.help);
      return EXIT.usage;
    }
    if (!yes) {
      io.err("tsraft force-new-cluster: this rewrites the member's log and cannot be undone; read --help, then add --yes");
      return EXIT.usage;
    }
    const r = await forceNewCluster(pos[0]!, id);
    io.out(
      `configuration at the commit index: voters [${r.before.voters.map((v) => v.toString(16)).join(",")}] learners [${r.before.learners.map((v) => v.toString(16)).join(",")}]${r.before.joint ? " (joint)" : ""}`,
    );
    if (r.appended.length === 0) {
      io.out(`${id.toString(16)} is already the only voter: nothing written`);
      return EXIT.ok;
    }
    io.out(`dropped ${r.droppedUncommitted} uncommitted entr${r.droppedUncommitted === 1 ? "y" : "ies"}`);
    for (const a of r.appended) io.out(`appended ${a.index}: ${a.change}`);
    io.out(`new hard state: term ${r.hardState.term} commit ${r.hardState.commit}; start the member now`);
    return EXIT.ok;
  },
};
