/**
 * Caps on inbound connections: on all of them, on the unidentified ones (not through the
 * handshake yet), and on the unidentified ones from one remote address.
 * @module
 */

/** The caps; see {@link TcpTransportOptions}. */
export interface ConnectionCaps {
  maxInbound: number;
  maxPending: number;
  maxPendingPerAddress: number;
}

/**
 * Counts inbound connections against {@link ConnectionCaps}.
 * Invariant: `pending <= open`, and `pendingByAddress` sums to `pending` with no zero entries.
 */
export class ConnectionLimits {
  private readonly caps: ConnectionCaps;
  private open = 0;
  private pending = 0;
  private readonly pendingByAddress = new Map<string, number>();

  constructor(caps: ConnectionCaps) {
    this.caps = caps;
  }

  /**
   * Admits a new connection from `remote` as pending, or returns why not. An admitted
   * connection must be released exactly once ({@link release}).
   */
  admit(remote: string): string | undefined {
    if (this.open >= this.caps.maxInbound) return `${this.open} inbound connections (maxInboundConnections)`;
    if (this.pending >= this.caps.maxPending) return `${this.pending} connections in their handshake (maxPendingConnections)`;
    const n = this.pendingByAddress.get(remote) ?? 0;
    if (n >= this.caps.maxPendingPerAddress) return `${n} connections in their handshake from ${remote} (maxPendingPerAddress)`;
    this.open++;
    this.pending++;
    this.pendingByAddress.set(remote, n + 1);
    return undefined;
  }

  /** A pending connection from `remote` completed its handshake. */
  identified(remote: string): void {
    this.pending--;
    this.unpend(remote);
  }

  /** A connection closed; `pending` says whether it was still in its handshake. */
  release(remote: string, pending: boolean): void {
    this.open--;
    if (pending) {
      this.pending--;
      this.unpend(remote);
    }
  }

  /** Open and pending connections now. */
  counts(): { open: number; pending: number } {
    return { open: this.open, pending: this.pending };
  }

  private unpend(remote: string): void {
    const n = (this.pendingByAddress.get(remote) ?? 1) - 1;
    if (n <= 0) this.pendingByAddress.delete(remote);
    else this.pendingByAddress.set(remote, n);
  }
}
