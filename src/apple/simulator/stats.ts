/** Latencies in a growing buffer: a long run with a large fleet keeps hundreds of thousands. */
export class Latencies {
  private data = new Float64Array(1024);
  count = 0;
  add(ms: number): void {
    if (this.count === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.count++] = ms;
  }
  values(): Float64Array {
    return this.data.slice(0, this.count);
  }
  /** Quantiles (0..1) by nearest rank; NaN when empty. */
  quantiles(...qs: number[]): number[] {
    const sorted = this.data.slice(0, this.count).sort();
    return qs.map((q) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]! : NaN));
  }
}

/** Counts by name, printed largest first. */
export class Tally {
  private counts = new Map<string, number>();
  total = 0;
  add(name: string, n = 1): void {
    this.counts.set(name, (this.counts.get(name) ?? 0) + n);
    this.total += n;
  }
  get(name: string): number {
    return this.counts.get(name) ?? 0;
  }
  entries(): Array<[string, number]> {
    return [...this.counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  }
  format(): string {
    return this.entries()
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
  }
}
