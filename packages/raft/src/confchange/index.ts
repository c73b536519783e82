/**
 * Membership changes: computing new configurations (simple or joint), restoring one from a
 * ConfState, and helpers over conf change messages. Imports quorum/, tracker/, raftpb and
 * ../errors.js only.
 * @module
 */
export { Changer, checkInvariants } from "./confchange.js";
export type { ChangerBase, ChangeResult } from "./confchange.js";
export { restore } from "./restore.js";
export {
  isConfChangeV2,
  asV2,
  enterJoint,
  leaveJoint,
  confChangesFromString,
  confChangesToString,
  describeConfChanges,
} from "./convert.js";
