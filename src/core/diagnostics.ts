/**
 * User-facing errors as values: a code, the file, the JSON path, what was expected, and a hint.
 * The CLI prints them on one line without a stack trace and exits 2. Internal invariant failures stay
 * plain Errors (they are bugs, and keep their stack).
 */
export class UserError extends Error {
  readonly code: string;
  readonly file?: string;
  readonly jsonPath?: string;
  readonly hint?: string;
  constructor(code: string, message: string, opts: { file?: string; path?: string; hint?: string } = {}) {
    super(message);
    this.name = 'UserError';
    this.code = code;
    this.file = opts.file;
    this.jsonPath = opts.path;
    this.hint = opts.hint;
  }
  /** One line: `error E_CODE: file: $.path: message (hint: ...)` */
  format(): string {
    const where = [this.file, this.jsonPath].filter(Boolean).join(': ');
    return `error ${this.code}: ${where ? where + ': ' : ''}${this.message}${this.hint ? ` (hint: ${this.hint})` : ''}`;
  }
}

export function isUserError(e: unknown): e is UserError {
  return e instanceof UserError;
}

/** Levenshtein distance, for "did you mean". */
export function editDistance(a: string, b: string): number {
  const m = a.length, n = b.length;
  let prev = new Array(n + 1).fill(0).map((_, j) => j);
  for (let i = 1; i <= m; i++) {
    const cur = [i];
    for (let j = 1; j <= n; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[n];
}

/** Closest candidate within a small distance, or undefined. */
export function didYouMean(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined, bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) { bestD = d; best = c; }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

export function didYouMeanHint(word: string, candidates: readonly string[]): string {
  const m = didYouMean(word, candidates);
  return m ? `did you mean '${m}'? expected one of: ${candidates.join(', ')}` : `expected one of: ${candidates.join(', ')}`;
}

/**
 * A table looked up by user-given names (built-in workloads, conventions, presets...): a frozen object with
 * no prototype, so a name such as 'toString', 'constructor' or '__proto__' is simply not found (`in`,
 * indexing and Object.keys see only the entries) instead of reaching an Object.prototype member.
 */
export function byName<T>(entries: Record<string, T>): Readonly<Record<string, T>> {
  return Object.freeze(Object.assign(Object.create(null) as Record<string, T>, entries));
}
