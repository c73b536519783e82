/**
 * Making messages: raftpb's {@link newMessage}, the one factory every package uses (one field
 * order, one hidden class). Re-exported here so that raft.ts and the per-role handlers it
 * imports (election.ts, membership.ts, step-*.ts) keep importing it from a leaf module.
 * @module
 */
export { newMessage } from "@tsraft/raftpb";
