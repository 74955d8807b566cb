/** Longest input that is compared for a suggestion; anything longer is not a typo of a short name. */
const MAX_COMPARED_LENGTH = 64;

/**
 * The candidate closest to `value` by edit distance, when it is close enough to be a typo (at most a third of the
 * longer name's length, and at least 1), else `undefined`.
 */
export function closestName(value: string, candidates: Iterable<string>): string | undefined {
  if (value.length === 0 || value.length > MAX_COMPARED_LENGTH) return undefined;
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const allowed = Math.max(1, Math.floor(Math.max(candidate.length, value.length) / 3));
    const distance = editDistance(value.toLowerCase(), candidate.toLowerCase(), allowed);
    if (distance <= allowed && distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** `; did you mean "x"?` for a close candidate, or `""`. */
export function didYouMean(value: unknown, candidates: Iterable<string>): string {
  if (typeof value !== "string") return "";
  const match = closestName(value, candidates);
  return match === undefined ? "" : `; did you mean "${match}"?`;
}

/**
 * Edit distance counting a swap of two neighbours as one edit (optimal string alignment), giving up (returning
 * `limit + 1`) once every path is past `limit`.
 */
function editDistance(left: string, right: string, limit: number): number {
  if (Math.abs(left.length - right.length) > limit) return limit + 1;
  let beforePrevious: number[] = [];
  let previous = Array.from({ length: right.length + 1 }, (_, index) => index);
  for (let row = 1; row <= left.length; row++) {
    const current = [row];
    let rowMinimum = row;
    for (let column = 1; column <= right.length; column++) {
      const cost = left[row - 1] === right[column - 1] ? 0 : 1;
      let value = Math.min(
        (previous[column] as number) + 1,
        (current[column - 1] as number) + 1,
        (previous[column - 1] as number) + cost,
      );
      const swapped =
        row > 1 && column > 1 && left[row - 1] === right[column - 2] && left[row - 2] === right[column - 1];
      if (swapped) value = Math.min(value, (beforePrevious[column - 2] as number) + 1);
      current.push(value);
      rowMinimum = Math.min(rowMinimum, value);
    }
    if (rowMinimum > limit) return limit + 1;
    beforePrevious = previous;
    previous = current;
  }
  return previous[right.length] as number;
}
