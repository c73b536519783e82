/**
 * Peer addresses: `host:port`, or `[v6]:port`.
 * @module
 */
import { TransportAddressError } from "./transport-errors.js";

/** A parsed peer address. */
export interface PeerAddress {
  /** Host name or IP address (an IPv6 address without its brackets). Never empty. */
  host: string;
  /** 1..65535. */
  port: number;
}

/**
 * Parses `host:port`: the host must be non-empty and without whitespace, the port a decimal
 * integer in 1..65535 (port 0 means "any port" to a listener, never a peer).
 * @throws {@link TransportAddressError} for anything else.
 */
export function parsePeerAddress(addr: string): PeerAddress {
  if (typeof addr !== "string") throw new TransportAddressError(String(addr), "not a string");
  const i = addr.lastIndexOf(":");
  if (i < 0) throw new TransportAddressError(addr, "no port");
  let host = addr.slice(0, i);
  const portText = addr.slice(i + 1);
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
  if (host === "") throw new TransportAddressError(addr, "empty host");
  if (/[\s/]/.test(host) || host.length > 255) throw new TransportAddressError(addr, "malformed host");
  if (!/^[0-9]{1,5}$/.test(portText)) throw new TransportAddressError(addr, "port is not a decimal number");
  const port = Number(portText);
  if (port < 1 || port > 65535) throw new TransportAddressError(addr, `port ${port} out of range`);
  return { host, port };
}
