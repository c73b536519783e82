/**
 * @tsraft/node/testing: the per-node fault switches of RaftNode (planted bugs that ordering
 * tests and the whole-stack simulator must catch). Never set them outside a test.
 * @module
 */
export { setKnobs } from "../testing-knobs.js";
export type { RaftNodeKnobs } from "../testing-knobs.js";
