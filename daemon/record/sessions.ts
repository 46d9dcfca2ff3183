// Which browser session (one user) a request belongs to. A browser spreads one user's
// requests over several keep-alive connections, and the cookie is what ties them together:
// a request joins the session whose cookies it sends. Without a known cookie it stays in its
// connection's session; a new connection without one joins the last session of the same
// client (address and User-Agent), since one browser opens several connections per page.
// Cookie values are only held in memory here, never written.

export class SessionTracker {
  private next = 1;
  private readonly byConnection = new Map<string, string>();
  private readonly byCookie = new Map<string, string>();
  private readonly byClient = new Map<string, string>();

  /** The session of a request on `connection` from `client` carrying these cookie pairs ("name=value"). */
  sessionOf(connection: string, cookiePairs: string[], client = ''): string {
    const known = cookiePairs.map((c) => this.byCookie.get(c)).find(Boolean);
    let session = known ?? this.byConnection.get(connection) ?? (cookiePairs.length ? undefined : this.byClient.get(client));
    if (!session) session = String(this.next++);
    this.byConnection.set(connection, session);
    this.byClient.set(client, session);
    for (const c of cookiePairs) if (!this.byCookie.has(c)) this.byCookie.set(c, session);
    return session;
  }

  /** Cookies the server sets belong to the session of the request that got them. */
  cookiesSet(session: string, setCookieValues: string[]): void {
    for (const value of setCookieValues) {
      const pair = value.split(';')[0].trim();
      if (pair) this.byCookie.set(pair, session);
    }
  }

  forgetConnection(connection: string): void {
    this.byConnection.delete(connection);
  }
}

export function cookiePairs(header: string | undefined): string[] {
  return (header ?? '').split(';').map((p) => p.trim()).filter((p) => p.includes('='));
}
