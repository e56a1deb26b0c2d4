// Differences between two texts, for the history's comparison of revisions. Myers' O(ND)
// algorithm ("An O(ND) Difference Algorithm and Its Variations", 1986) over tokens: the
// shortest edit script, so what is shown as changed is as little as can be. Tested from Go in a
// real browser (http/desk_test.go, TestDeskDiffInBrowser) against an LCS computed in Go.

/** Beyond this many differing tokens the texts are shown as replaced whole: the search costs
 * O(D²) memory, and a comparison that different is not read token by token anyway. */
const MAX_EDITS = 4000;

/**
 * The shortest edit script from a to b (arrays of strings compared with ===), as runs
 * [{op: '=' | '-' | '+', tokens: [...]}]: '=' in both, '-' only in a, '+' only in b.
 * Joining the '=' and '-' runs gives a back; the '=' and '+' runs give b.
 */
export function diffTokens(a, b) {
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length, endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) { endA--; endB--; }

  const edits = [];
  for (let i = 0; i < start; i++) edits.push(['=', a[i]]);
  edits.push(...middle(a.slice(start, endA), b.slice(start, endB)));
  for (let i = endA; i < a.length; i++) edits.push(['=', a[i]]);

  // Between two equal runs, every deletion is shown before every insertion: one change reads
  // as "this was replaced by that", not as interleaved fragments.
  const runs = [];
  let del = [], ins = [];
  const flush = () => {
    if (del.length) runs.push({ op: '-', tokens: del });
    if (ins.length) runs.push({ op: '+', tokens: ins });
    del = []; ins = [];
  };
  for (const [op, token] of edits) {
    if (op === '-') { del.push(token); continue; }
    if (op === '+') { ins.push(token); continue; }
    flush();
    const last = runs[runs.length - 1];
    if (last && last.op === '=') last.tokens.push(token);
    else runs.push({ op: '=', tokens: [token] });
  }
  flush();
  return runs;
}

// middle is Myers' forward search with a trace, then the walk back. trace[d] holds V as it was
// before step d, for diagonals -d-1 … d+1 (at index k + d + 1).
function middle(a, b) {
  const n = a.length, m = b.length;
  if (n === 0) return b.map((t) => ['+', t]);
  if (m === 0) return a.map((t) => ['-', t]);
  const max = Math.min(n + m, MAX_EDITS);
  const off = max + 1;
  const v = new Int32Array(2 * max + 3);
  const trace = [];
  let found = false;
  for (let d = 0; d <= max && !found; d++) {
    trace.push(v.slice(off - d - 1, off + d + 2));
    for (let k = -d; k <= d; k += 2) {
      let x = (k === -d || (k !== d && v[off + k - 1] < v[off + k + 1])) ? v[off + k + 1] : v[off + k - 1] + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) { x++; y++; }
      v[off + k] = x;
      if (x >= n && y >= m) { found = true; break; }
    }
  }
  if (!found) return [...a.map((t) => ['-', t]), ...b.map((t) => ['+', t])];

  const out = [];
  let x = n, y = m;
  for (let d = trace.length - 1; d >= 0; d--) {
    const t = trace[d];
    const at = (k) => t[k + d + 1];
    const k = x - y;
    const prevK = (k === -d || (k !== d && at(k - 1) < at(k + 1))) ? k + 1 : k - 1;
    const prevX = at(prevK), prevY = prevX - prevK;
    while (x > prevX && y > prevY) { out.push(['=', a[x - 1]]); x--; y--; }
    if (d > 0) {
      if (x === prevX) out.push(['+', b[prevY]]);
      else out.push(['-', a[prevX]]);
    }
    x = prevX; y = prevY;
  }
  return out.reverse();
}

/** Words, runs of spaces and single punctuation marks, in order: joined, the text again. */
export function words(text) {
  return (text || '').match(/\s+|[\p{L}\p{N}\p{M}_'’-]+|[^\s\p{L}\p{N}\p{M}_'’-]/gu) || [];
}

/** Lines, each with its line break: joined, the text again. */
export function lines(text) {
  return (text || '').match(/[^\n]*\n|[^\n]+$/g) || [];
}

/** The word-by-word difference between two texts, as runs [{op, text}]. */
export function diffWords(a, b) {
  return diffTokens(words(a), words(b)).map((r) => ({ op: r.op, text: r.tokens.join('') }));
}

/** The line-by-line difference between two texts, as runs [{op, text}]. */
export function diffLines(a, b) {
  return diffTokens(lines(a), lines(b)).map((r) => ({ op: r.op, text: r.tokens.join('') }));
}
