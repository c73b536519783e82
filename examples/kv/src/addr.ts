/**
 * Network addresses as the service takes them: `host:port`, checked before they reach the
 * transport or the log (the transport throws on an address it cannot use, and an address in a
 * committed conf change is applied on every member).
 * @module
 */

/** A parsed `host:port`. */
export interface HostPort {
  host: string;
  port: number;
}

/** Longest host name accepted (DNS: 253 characters). */
export const MAX_HOST_LENGTH = 253;

// A DNS name or an IPv4 address: letters, digits, '.', '-', '_'. No IPv6 literals (the
// transport splits at the last ':' and would pass "[::1]" to the resolver).
const HOST_RE = /^[A-Za-z0-9._-]+$/;
const PORT_RE = /^[0-9]{1,5}$/;

/**
 * Parses `host:port`: a non-empty host of at most {@link MAX_HOST_LENGTH} characters among
 * `A-Z a-z 0-9 . - _`, and a decimal port in 1..65535 (no sign, no exponent, no hex).
 * @returns undefined for anything else (never throws).
 */
export function parseHostPort(s: unknown): HostPort | undefined {
  if (typeof s !== "string") return undefined;
  const i = s.lastIndexOf(":");
  if (i <= 0) return undefined;
  const host = s.slice(0, i);
  const portText = s.slice(i + 1);
  if (host.length > MAX_HOST_LENGTH || !HOST_RE.test(host) || !PORT_RE.test(portText)) return undefined;
  const port = Number(portText);
  if (port < 1 || port > 65535) return undefined;
  return { host, port };
}

/** Whether `s` is a valid `host:port` (see {@link parseHostPort}). */
export function isHostPort(s: unknown): s is string {
  return parseHostPort(s) !== undefined;
}
