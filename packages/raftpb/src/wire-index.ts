/**
 * `@tsraft/raftpb/wire`: the protobuf primitives raftpb's codec is built from, for other tsraft
 * packages that encode their own small messages (the WAL's `walpb.Record`, `walpb.Snapshot`,
 * `snappb.snapshot`) with the same size-then-write encoder and strict reader.
 *
 * Decoding pattern: `const r = new Reader(buf)`; loop `while (r.pos < r.end)` over
 * `readTag(r)`, read each known field with `readUint53`/`readUint64`/`readBytes`/..., pass any
 * other tag to `skipField`; wrap the whole in `try { ... } catch (e) { throw toDecodeError(
 * "Record", e) }` so that the {@link FieldError}s the readers throw become `DecodeError`s.
 * @module
 */
export {
  MAX_SAFE,
  WIRE_VARINT,
  WIRE_FIXED64,
  WIRE_BYTES,
  WIRE_START_GROUP,
  WIRE_END_GROUP,
  WIRE_FIXED32,
  varintSize,
  varint64Size,
  checkedUint53Size,
  checkedUint64Size,
  checkedBytesSize,
  checkEnum,
  writeVarint32,
  writeVarint53,
  writeVarint64,
  writeBytes,
  Reader,
  readVarint,
  readUint53,
  readUint64,
  readBool,
  readEnum,
  readLength,
  readBytes,
  readTag,
  skipField,
} from "./wire.js";
export { FieldError, prefixField, toDecodeError, toEncodeError, DecodeError, EncodeError, MAX_DEPTH } from "./errors.js";
