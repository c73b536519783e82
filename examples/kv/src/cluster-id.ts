/**
 * What a data directory belongs to: the member id and the cluster id, kept in the WAL's
 * metadata record (written once, when the WAL is created) in etcd's own layout, the protobuf
 * `etcdserverpb.Metadata {uint64 NodeID = 1; uint64 ClusterID = 2}`, so etcd's tools show it.
 *
 * The cluster id is computed when a cluster is bootstrapped, from `--cluster-token` and the
 * initial members (their ids and raft addresses), as etcd derives its cluster ID from
 * `--initial-cluster-token` and the initial cluster: two clusters started with different
 * members, or with different tokens, get different ids. A member that joins later is handed
 * the id (`--cluster-id`, shown by GET /status). On every later start the id comes from the
 * data directory, never from flags. The transport carries it in every hello, so a member
 * whose data directory belongs to another cluster is refused by the peers it reaches.
 * @module
 */
import { createHash } from "node:crypto";
import type { MemberAddr } from "./command.js";
import { ConfigError } from "./errors.js";

/** The default of `--cluster-token`. */
export const DEFAULT_CLUSTER_TOKEN = "tsraft-kv";

/** What a data directory belongs to. */
export interface DataIdentity {
  /** The member whose data it is. */
  memberId: bigint;
  /** The cluster the member belongs to (a uint64). */
  clusterId: bigint;
}

const U64 = (1n << 64n) - 1n;

/**
 * The id of a cluster bootstrapped with `token` and the initial `members`: the first 8 bytes
 * (big-endian) of SHA-256 over a label, the token and the members sorted by id, each as
 * `id=raftAddr`. The order of `--cluster` does not matter, the HTTP addresses do not count.
 */
export function computeClusterId(token: string, members: ReadonlyMap<bigint, MemberAddr>): bigint {
  const list = [...members].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([id, a]) => `${id}=${a.raft}`);
  const h = createHash("sha256").update("tsraft-kv cluster id v1\0").update(token).update("\0").update(list.join(",")).digest();
  return h.readBigUInt64BE(0);
}

/** A cluster id as the transport's hello and GET /status carry it: 16 lower-case hex digits. */
export function formatClusterId(id: bigint): string {
  return id.toString(16).padStart(16, "0");
}

/** Parses what {@link formatClusterId} writes (1 to 16 hex digits); `undefined` otherwise. */
export function parseClusterId(text: string): bigint | undefined {
  return /^[0-9a-fA-F]{1,16}$/.test(text) ? BigInt(`0x${text}`) : undefined;
}

function putVarint(out: number[], v: bigint): void {
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
}

/** The WAL metadata bytes of `identity` (both fields always written, in field order). */
export function encodeDataIdentity(identity: DataIdentity): Uint8Array {
  const out: number[] = [];
  out.push(0x08); // field 1, varint
  putVarint(out, identity.memberId & U64);
  out.push(0x10); // field 2, varint
  putVarint(out, identity.clusterId & U64);
  return Uint8Array.from(out);
}

/**
 * Decodes WAL metadata written by {@link encodeDataIdentity} (or by etcd). Strict: fields 1
 * and 2 as varints, each at most once and at most 64 bits, nothing else.
 * @returns `undefined` for bytes that are not such a record.
 */
export function decodeDataIdentity(b: Uint8Array): DataIdentity | undefined {
  const got = new Map<number, bigint>();
  let i = 0;
  while (i < b.length) {
    const tag = b[i++]!;
    if (tag !== 0x08 && tag !== 0x10) return undefined;
    let v = 0n;
    let shift = 0n;
    for (;;) {
      if (i >= b.length || shift > 63n) return undefined;
      const c = b[i++]!;
      v |= BigInt(c & 0x7f) << shift;
      shift += 7n;
      if ((c & 0x80) === 0) break;
    }
    if (v > U64 || got.has(tag)) return undefined;
    got.set(tag, v);
  }
  const memberId = got.get(0x08);
  const clusterId = got.get(0x10);
  return memberId === undefined || clusterId === undefined ? undefined : { memberId, clusterId };
}

/**
 * Checks that the data directory's identity (its WAL metadata) is this member's, and that
 * `--cluster-id`, if given, agrees with it.
 * @returns the identity.
 * @throws {@link ConfigError} for a directory without a readable identity (made by an earlier
 *   version), one of another member, or one of another cluster than `--cluster-id` names.
 */
export function checkDataIdentity(dataDir: string, metadata: Uint8Array | undefined, memberId: bigint, clusterIdFlag: bigint | undefined): DataIdentity {
  const found = metadata === undefined ? undefined : decodeDataIdentity(metadata);
  if (found === undefined) {
    throw new ConfigError(
      `data directory ${dataDir} holds no member and cluster id (its WAL was made by an earlier version of tsraft-kv): move it away and start the member with an empty one`,
    );
  }
  if (found.memberId !== memberId) {
    throw new ConfigError(`data directory ${dataDir} belongs to member ${found.memberId}, not to --id ${memberId}`);
  }
  if (clusterIdFlag !== undefined && clusterIdFlag !== found.clusterId) {
    throw new ConfigError(
      `data directory ${dataDir} belongs to cluster ${formatClusterId(found.clusterId)}, not to --cluster-id ${formatClusterId(clusterIdFlag)}`,
    );
  }
  return found;
}
