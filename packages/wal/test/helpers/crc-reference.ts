/**
 * CRC-32C by its definition, one bit at a time (reflected polynomial 0x82F63B78): the reference
 * the tests hold every fast implementation to. `crc` chains as Go's `crc32.Update`.
 * @returns the CRC of `b` after `crc`, unsigned.
 */
export function crc32cReference(crc: number, b: Uint8Array): number {
  let c = ~crc >>> 0;
  for (const x of b) {
    c ^= x;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return ~c >>> 0;
}
