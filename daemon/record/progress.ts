// Artillery's console output → one progress line per reporting period. Pure.
//
// Artillery prints a block of every metric each period (10 s) and again at the end: dozens of
// lines a user has to read past to reach heavy replay's summary, which has the same figures per
// route. heavy replay keeps that output for when Artillery fails, and says this instead:
//   heavy: 20 s: 2380 requests, 0 errors so far
// (a line the VS Code command shows as its progress). The block's format is Artillery's
// "name: ....... value" lines after "Metrics for period to:"; anything else is ignored, so a
// change of format costs the progress line, never the replay.

export class ArtilleryProgress {
  private partial = '';
  private inPeriod = false;
  private done = false;
  private requests = 0;
  private errors = 0;
  private periodRequests = 0;
  private periodErrors = 0;

  constructor(private readonly started = Date.now(), private readonly now: () => number = Date.now) {}

  /** Feeds output as it arrives; returns the progress lines completed by it. */
  feed(text: string): string[] {
    const lines = (this.partial + text).split('\n');
    this.partial = lines.pop()!;
    const out: string[] = [];
    for (const raw of lines) {
      const line = raw.trim();
      if (this.done) break;
      if (/^Summary report\b/.test(line)) {
        this.end(out);
        this.done = true;
      } else if (/^Metrics for period to:/.test(line)) {
        this.end(out);
        this.inPeriod = true;
      } else if (this.inPeriod) {
        const m = /^([\w.@/-]+):\s*\.*\s*(\d+)\s*$/.exec(line);
        if (!m) continue;
        if (m[1] === 'http.requests') this.periodRequests += Number(m[2]);
        else if (m[1].startsWith('errors.')) this.periodErrors += Number(m[2]);
        else if (/^http\.codes\.5\d\d$/.test(m[1])) this.periodErrors += Number(m[2]);
      }
    }
    return out;
  }

  private end(out: string[]): void {
    if (!this.inPeriod) return;
    this.inPeriod = false;
    this.requests += this.periodRequests;
    this.errors += this.periodErrors;
    this.periodRequests = 0;
    this.periodErrors = 0;
    const seconds = Math.round((this.now() - this.started) / 1000);
    out.push(`${seconds} s: ${this.requests} requests, ${this.errors} errors so far`);
  }
}
