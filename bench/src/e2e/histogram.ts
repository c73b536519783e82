/**
 * LatencyHistogram: latencies in log-spaced buckets, 1% wide, from 1 µs to about 2.8 hours,
 * so that a point of any length and any request rate takes the same 16 KiB (bounded memory),
 * and a percentile is read back within 1% of the exact value.
 * @module
 */

/** Bucket i holds latencies in [GROWTH^i, GROWTH^(i+1)) microseconds. */
const GROWTH = 1.01;
const LOG_GROWTH = Math.log(GROWTH);
const BUCKETS = 2048; // 1.01^2048 µs ≈ 7e8 µs ≈ 11.5 min; larger values go to the last bucket

/** See the module comment. Record in milliseconds; read percentiles in milliseconds. */
export class LatencyHistogram {
  private readonly counts = new Float64Array(BUCKETS);
  /** Number of recorded values. */
  count = 0;
  /** Sum of recorded values (ms), for the mean. */
  sum = 0;
  /** Largest recorded value (ms), exact. */
  max = 0;

  /** Records one latency of `ms` milliseconds (values under 1 µs count as 1 µs). */
  record(ms: number): void {
    const us = ms * 1000;
    let i = us <= 1 ? 0 : Math.floor(Math.log(us) / LOG_GROWTH);
    if (i >= BUCKETS) i = BUCKETS - 1;
    this.counts[i]! += 1;
    this.count++;
    this.sum += ms;
    if (ms > this.max) this.max = ms;
  }

  /** Adds every value of `other` to this histogram. */
  merge(other: LatencyHistogram): void {
    for (let i = 0; i < BUCKETS; i++) this.counts[i]! += other.counts[i]!;
    this.count += other.count;
    this.sum += other.sum;
    if (other.max > this.max) this.max = other.max;
  }

  /** Forgets every value. */
  reset(): void {
    this.counts.fill(0);
    this.count = 0;
    this.sum = 0;
    this.max = 0;
  }

  /**
   * The q-quantile (0 < q <= 1) in milliseconds: the geometric middle of the bucket that holds
   * the value of rank ceil(q * count), capped at the exact maximum; the maximum itself for the
   * last rank. NaN when empty.
   */
  quantile(q: number): number {
    if (this.count === 0) return NaN;
    const rank = Math.max(1, Math.ceil(q * this.count));
    if (rank >= this.count) return this.max;
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(this.max, GROWTH ** (i + 0.5) / 1000);
    }
    return this.max;
  }

  /** Mean latency in milliseconds (NaN when empty). */
  mean(): number {
    return this.count === 0 ? NaN : this.sum / this.count;
  }
}
