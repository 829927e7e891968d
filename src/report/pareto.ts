/**
 * Pareto fronts for minimisation: a point is on the front when no other point is <= in every objective
 * and < in at least one. Exact duplicates do not dominate each other (both stay on the front).
 *
 * 2 objectives: sort by (x, y) and sweep keeping the running minimum of y: O(n log n).
 * k objectives: sort lexicographically, then compare each point only with the front found so far:
 * O(n log n + n * front size). Derivation: if a dominates b, then at the first coordinate where they differ
 * a is smaller (all of a's are <=), so a precedes b lexicographically; and a dominated dominator is itself
 * dominated by an earlier front member (transitivity). Lexicographic order avoids float ties of sums.
 */
export function dominates(a: readonly number[], b: readonly number[]): boolean {
  let strict = false;
  for (let i = 0; i < a.length; i++) {
    if (a[i] > b[i]) return false;
    if (a[i] < b[i]) strict = true;
  }
  return strict;
}

/** Indices (into `pts`) of the non-dominated points, in ascending index order. */
export function paretoFront(pts: readonly (readonly number[])[]): number[] {
  const order = pts.map((_, i) => i).sort((i, j) => {
    for (let d = 0; d < pts[i].length; d++) if (pts[i][d] !== pts[j][d]) return pts[i][d] - pts[j][d];
    return i - j;
  });
  const front: number[] = [];
  for (const i of order) if (!front.some((f) => dominates(pts[f], pts[i]))) front.push(i);
  return front.sort((a, b) => a - b);
}

/** 2-objective front, returned sorted by the first objective (ready to draw as a staircase line). */
export function paretoFront2(pts: readonly (readonly [number, number])[]): number[] {
  const order = pts.map((_, i) => i).sort((i, j) => pts[i][0] - pts[j][0] || pts[i][1] - pts[j][1] || i - j);
  const out: number[] = [];
  let bestY = Infinity, lastX = NaN, lastY = NaN;
  for (const i of order) {
    const [x, y] = pts[i];
    if (y < bestY || (x === lastX && y === lastY)) { out.push(i); if (y < bestY) { bestY = y; lastX = x; lastY = y; } }
  }
  return out;
}
