// Activity → time blocks. Pure: the clock and the events are passed in.

export interface Activity {
  /** Epoch milliseconds. */
  at: number;
  branch: string;
  file?: string;
}

export interface Block {
  start: number;
  end: number;
  branch: string;
  /** Distinct files touched in the block. */
  files: string[];
  /** Still open: its last activity is less than the idle limit ago. */
  open?: boolean;
  /** Time of its last activity. */
  last: number;
}

export interface BlockOptions {
  idleMs: number;
  paddingMs: number;
  /** Pauses, as [from, to) ranges; `to` undefined while paused. Activity inside counts for nothing. */
  paused?: Array<{ from: number; to?: number }>;
}

const MINUTE = 60_000;

export function blockOptions(config: { idle_minutes?: number; padding_minutes?: number } | undefined): BlockOptions {
  return { idleMs: (config?.idle_minutes ?? 5) * MINUTE, paddingMs: (config?.padding_minutes ?? 1) * MINUTE };
}

/**
 * Groups activity into blocks. A block runs from its first activity minus the padding
 * to its last activity plus the padding; it ends when no activity follows within the
 * idle limit, and it is split where the branch changes. Blocks never overlap: a block
 * that would start inside the previous one's padding starts where that one ends, so the
 * total is the exact union of the padded windows.
 */
export function toBlocks(activity: Activity[], options: BlockOptions, now: number): Block[] {
  const events = activity
    .filter((a) => !isPaused(a.at, options.paused))
    .sort((a, b) => a.at - b.at);
  const blocks: Block[] = [];
  let current: (Omit<Block, 'files'> & { fileSet: Set<string> }) | undefined;
  const close = () => {
    if (!current) return;
    const { fileSet, ...block } = current;
    blocks.push({ ...block, files: [...fileSet].sort() });
    current = undefined;
  };
  for (const a of events) {
    if (current && a.at - current.last <= options.idleMs && a.branch === current.branch) {
      current.last = a.at;
      current.end = padEnd(a.at, options);
      if (a.file) current.fileSet.add(a.file);
      continue;
    }
    let start = a.at - options.paddingMs;
    if (current) {
      if (a.branch !== current.branch && a.at - current.last <= options.idleMs) {
        // A branch switch mid-work: the old block ends where the new one begins.
        current.end = Math.min(current.end, a.at);
        start = current.end;
      }
      start = Math.max(start, current.end);
      close();
    } else if (blocks.length) {
      start = Math.max(start, blocks[blocks.length - 1].end);
    }
    current = { start, end: padEnd(a.at, options), last: a.at, branch: a.branch, fileSet: new Set(a.file ? [a.file] : []) };
  }
  if (current) {
    const open = now - current.last <= options.idleMs && !isPaused(now, options.paused);
    current.open = open || undefined;
    if (open) current.end = Math.min(current.end, Math.max(now, current.start));
    close();
  }
  // A pause cuts the block it falls into.
  for (const b of blocks) {
    for (const p of options.paused ?? []) {
      if (p.from > b.start && p.from < b.end) b.end = p.from;
    }
  }
  return blocks.filter((b) => b.end > b.start);

  function padEnd(at: number, o: BlockOptions): number {
    return at + o.paddingMs;
  }
}

function isPaused(at: number, paused: BlockOptions['paused']): boolean {
  return !!paused?.some((p) => at >= p.from && (p.to === undefined || at < p.to));
}

/** The part of each block after `through` (already cemented), dropping what is left empty. */
export function after(blocks: Block[], through: number): Block[] {
  return blocks
    .filter((b) => b.end > through)
    .map((b) => ({ ...b, start: Math.max(b.start, through) }));
}

export function seconds(blocks: Array<{ start: number; end: number }>): number {
  return blocks.reduce((sum, b) => sum + Math.max(0, b.end - b.start), 0) / 1000;
}

/** Seconds of the blocks that fall between `from` and `to`. */
export function secondsWithin(blocks: Array<{ start: number; end: number }>, from: number, to: number): number {
  return seconds(blocks.map((b) => ({ start: Math.max(b.start, from), end: Math.min(b.end, to) })));
}
