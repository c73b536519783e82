/**
 * How a violation report describes a node: role, cursors, durable state, and its log as runs
 * of terms.
 * @module
 */
import { NONE } from "@tsraft/raftpb";
import type { SimNode } from "./sim-node.js";

function termRuns(terms: readonly number[], first: number): string {
  const parts: string[] = [];
  let i = 0;
  while (i < terms.length) {
    let j = i;
    while (j + 1 < terms.length && terms[j + 1] === terms[i]) j++;
    parts.push(i === j ? `${first + i}@${terms[i]}` : `${first + i}-${first + j}@${terms[i]}`);
    i = j + 1;
  }
  return parts.join(" ");
}

/**
 * One line about a node: role, term, vote, leader, commit, applied (raft's / the state
 * machine's), incarnation, what its storage holds, and its log as runs of `index@term`.
 */
export function describeNode(n: SimNode): string {
  const st = n.storage;
  const hs = st.initialState().hardState;
  const durable = `disk[term ${hs.term} vote ${hs.vote} commit ${hs.commit} snap ${st.snapshot().metadata.index} log ${st.firstIndex()}..${st.lastIndex()}]`;
  const head = `node ${n.id}${n.removed ? " (removed)" : ""}`;
  const r = n.node?.raft;
  if (r === undefined) return `  ${head}: down; ${durable}`;
  const log = r.raftLog;
  const first = log.firstIndex();
  const last = log.lastIndex();
  const terms: number[] = [];
  for (let i = first; i <= last; i++) terms.push(log.zeroTermOnOutOfBounds(i));
  return (
    `  ${head}: ${r.state} term ${r.term} vote ${r.vote === NONE ? 0 : r.vote} lead ${r.lead} commit ${log.committed} applied ${log.applied}/${n.applied}` +
    ` inc ${n.incarnation} ${durable} log ${first - 1}@${log.zeroTermOnOutOfBounds(first - 1)}| ${termRuns(terms, first)}`
  );
}
