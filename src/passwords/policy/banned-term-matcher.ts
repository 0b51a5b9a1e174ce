import { minimumTermLength, normalizeForMatching, tenantNameTerms } from './normalize.js';

/*
 * Password Protection's matching and scoring.
 *
 * Banned terms (the global and custom lists) are matched fuzzily: a stretch of the normalised
 * password matches a term when it is within one edit of it (one character substituted, inserted
 * or deleted). Names (the user's and the tenant's) are matched exactly, as substrings. The score
 * is then the smallest number of pieces the password can be cut into, where a piece is either a
 * matched stretch or a single character: each banned term found is worth 1 point, each other
 * character 1 point.
 *
 * Two choices the published description leaves open:
 * - Overlapping matches: Rekey takes the cut with the LOWEST score (a shortest path over the
 *   password), not a greedy left-to-right or longest-first cover. That is the conservative choice:
 *   the password is judged by the most guessable way to read it.
 * - An inserted character at either END of a stretch is never absorbed into a match. A stretch
 *   like "blankf" is the term "blank" followed by the user's own "f", and Entra's worked example
 *   counts that "f" as a point ("ContoS0Bl@nkf9!" scores 5). Insertions inside the term ("blaznk")
 *   and substitutions or deletions anywhere ("blanc", "lank") do match.
 *
 * The terms are compiled once per settings version into a trie with "skip tries" at its busiest
 * nodes (see `compileBannedTerms`). Scoring walks the trie from each position of the password,
 * spending at most one edit, so the work grows with the password's length and not with the number
 * of terms: there is no term-by-term edit-distance loop.
 */

/** Where a matched term came from; lets the caller tell a custom-list failure from a global one. */
export type BannedTermSource = 'global' | 'custom' | 'tenantName' | 'userName';

const sourceBits: Readonly<Record<BannedTermSource, number>> = {
  global: 1,
  custom: 2,
  tenantName: 4,
  userName: 8,
};
const sourceOrder: readonly BannedTermSource[] = ['global', 'custom', 'tenantName', 'userName'];

/** Password Protection needs this many points to accept a password. */
export const requiredPasswordProtectionScore = 5;

/** The compiled form of the banned lists and tenant name; build it once, score many passwords. */
export interface BannedTermMatcher {
  /** Normalised fuzzy terms, indexed by trie terminals. */
  readonly terms: readonly string[];
  /** Bit set of the lists each term came from. */
  readonly termSources: Uint8Array;
  /** Normalised tenant-name terms, matched exactly. */
  readonly tenantTerms: readonly string[];
  /** The trie and its skip tries; see `compileBannedTerms`. */
  readonly trie: CompiledTrie;
}

/**
 * One array-backed forest holding the term trie (root: node 0) and its skip tries. Children of
 * node `n` are `childNodes[childStart[n] .. childStart[n + 1])`; nodes with many children also
 * get a dense row in `denseNext` for a direct look-up.
 */
export interface CompiledTrie {
  /** ASCII code -> alphabet class, -1 when no term uses the character. */
  readonly classOf: Int16Array;
  readonly classCount: number;
  readonly childStart: Int32Array;
  readonly childNodes: Int32Array;
  readonly childClasses: Int16Array;
  /** Row of a node in `denseNext` (`classCount` entries, -1 for no child), -1 when it has none. */
  readonly denseRow: Int32Array;
  readonly denseNext: Int32Array;
  /** Term index ending at each node, -1 for none. */
  readonly terminal: Int32Array;
  /** Root of the node's skip trie, -1 for none. */
  readonly skipRoot: Int32Array;
  readonly nodeCount: number;
}

export interface BannedTermLists {
  readonly globalTerms: readonly string[];
  readonly customTerms: readonly string[];
  /** The tenant's name; null or empty when tenant-name matching is off. */
  readonly tenantName?: string | null;
}

const asciiPrintable = /^[\x20-\x7e]+$/;
/**
 * Nodes at these depths get a skip trie. They have the most children (the root has one per
 * character in use), so replacing "try every child" with two straight walks is where the time
 * goes; deeper nodes have one or two children and are cheaper to branch over.
 */
const skipTrieDepths = 2;
/** Nodes with at least this many children get a dense look-up row. */
const denseFanOut = 6;

interface TrieBuilder {
  readonly children: Array<Map<number, number>>;
  readonly terminal: number[];
  readonly skipRoot: number[];
}

function addNode(builder: TrieBuilder): number {
  builder.children.push(new Map());
  builder.terminal.push(-1);
  builder.skipRoot.push(-1);
  return builder.children.length - 1;
}

function childOrNew(builder: TrieBuilder, node: number, cls: number): number {
  const edges = builder.children[node];
  const existing = edges?.get(cls);
  if (existing !== undefined) return existing;
  const child = addNode(builder);
  edges?.set(cls, child);
  return child;
}

function insertPath(builder: TrieBuilder, from: number, classes: readonly number[], termIndex: number): void {
  let node = from;
  for (const cls of classes) node = childOrNew(builder, node, cls);
  // Two terms can share a path in a skip trie ("abcd" and "axcd" both leave "cd" after their
  // second character); the first keeps the node. Either is a true match, so only the report differs.
  if (builder.terminal[node] === -1) builder.terminal[node] = termIndex;
}

/**
 * Compiles the banned lists and tenant name into a matcher. Terms are trimmed and normalised;
 * terms shorter than 4 characters, and terms with characters a password cannot hold (anything but
 * printable ASCII), are left out because they could never match a valid password.
 *
 * The trie holds every term. Each node N at depth d < 2 also gets a "skip trie": the rest of every
 * term through N with the term's next character left out. A substitution or deletion of that
 * character is then one straight walk of the skip trie (from the next password character, or from
 * this one) instead of a walk down each of N's children.
 *
 * @example
 * const matcher = compileBannedTerms({ globalTerms: globalBannedTerms, customTerms: ['contoso'] });
 * scorePassword('ContoS0Bl@nkf9!', matcher, []).score; // 5
 */
export function compileBannedTerms(lists: BannedTermLists): BannedTermMatcher {
  const sourcesByTerm = new Map<string, number>();
  const add = (raw: string, bit: number): void => {
    const trimmed = raw.trim();
    if (trimmed.length < minimumTermLength || !asciiPrintable.test(trimmed)) return;
    const term = normalizeForMatching(trimmed);
    sourcesByTerm.set(term, (sourcesByTerm.get(term) ?? 0) | bit);
  };
  for (const term of lists.globalTerms) add(term, sourceBits.global);
  for (const term of lists.customTerms) add(term, sourceBits.custom);
  const terms = [...sourcesByTerm.keys()];

  const classOf = new Int16Array(128).fill(-1);
  let classCount = 0;
  const classSequences = terms.map((term) =>
    [...term].map((char) => {
      const code = char.charCodeAt(0);
      if (classOf[code] === -1) {
        classOf[code] = classCount;
        classCount += 1;
      }
      return classOf[code] ?? -1;
    }),
  );

  const builder: TrieBuilder = { children: [], terminal: [], skipRoot: [] };
  addNode(builder);
  classSequences.forEach((classes, termIndex) => {
    let node = 0;
    classes.forEach((cls, depth) => {
      if (depth < skipTrieDepths) {
        let skip = builder.skipRoot[node] ?? -1;
        if (skip === -1) {
          skip = addNode(builder);
          builder.skipRoot[node] = skip;
        }
        insertPath(builder, skip, classes.slice(depth + 1), termIndex);
      }
      node = childOrNew(builder, node, cls);
    });
    if (builder.terminal[node] === -1) builder.terminal[node] = termIndex;
  });

  const nodeCount = builder.children.length;
  const childStart = new Int32Array(nodeCount + 1);
  const childNodes = new Int32Array(Math.max(nodeCount - 1, 0));
  const childClasses = new Int16Array(childNodes.length);
  const denseRow = new Int32Array(nodeCount).fill(-1);
  let rows = 0;
  let offset = 0;
  builder.children.forEach((edges, node) => {
    childStart[node] = offset;
    if (edges.size >= denseFanOut) {
      denseRow[node] = rows;
      rows += 1;
    }
    for (const [cls, child] of edges) {
      childNodes[offset] = child;
      childClasses[offset] = cls;
      offset += 1;
    }
  });
  childStart[nodeCount] = offset;
  const denseNext = new Int32Array(rows * classCount).fill(-1);
  builder.children.forEach((edges, node) => {
    const row = denseRow[node] ?? -1;
    if (row >= 0) for (const [cls, child] of edges) denseNext[row * classCount + cls] = child;
  });

  const termSources = new Uint8Array(terms.length);
  terms.forEach((term, index) => {
    termSources[index] = sourcesByTerm.get(term) ?? 0;
  });

  return {
    terms,
    termSources,
    tenantTerms: tenantNameTerms(lists.tenantName),
    trie: {
      classOf,
      classCount,
      childStart,
      childNodes: childNodes.subarray(0, offset),
      childClasses: childClasses.subarray(0, offset),
      denseRow,
      denseNext,
      terminal: Int32Array.from(builder.terminal),
      skipRoot: Int32Array.from(builder.skipRoot),
      nodeCount,
    },
  };
}

/** The outcome of scoring one password; holds matched terms, never the password. */
export interface PasswordProtectionScore {
  readonly score: number;
  readonly required: typeof requiredPasswordProtectionScore;
  /** Distinct terms (normalised) in the lowest-scoring reading, in password order. */
  readonly matchedTerms: string[];
  /** The lists the matched terms came from, without duplicates. */
  readonly matchedSources: BannedTermSource[];
}

/**
 * Scores a password under Password Protection: 1 point per banned term or name found, 1 point per
 * remaining character, over the reading with the lowest score. `userNameTerms` are the user's
 * normalised name parts (see `userNameTerms` in normalize.ts), matched exactly like the tenant name.
 */
export function scorePassword(
  password: string,
  matcher: BannedTermMatcher,
  userNameTerms: readonly string[],
): PasswordProtectionScore {
  const text = normalizeForMatching(password);
  const n = text.length;
  const {
    classOf,
    classCount,
    childStart,
    childNodes,
    childClasses,
    denseRow,
    denseNext,
    terminal,
    skipRoot,
  } = matcher.trie;
  const classes = new Int16Array(n);
  for (let i = 0; i < n; i += 1) {
    const code = text.charCodeAt(i);
    classes[i] = code < 128 ? (classOf[code] ?? -1) : -1;
  }
  const exactTerms: Array<{ readonly term: string; readonly source: BannedTermSource }> = [
    ...matcher.tenantTerms.map((term) => ({ term, source: 'tenantName' as const })),
    ...userNameTerms.map((term) => ({ term, source: 'userName' as const })),
  ];

  // best[i]: the lowest score of text[i..n). Filled right to left, so every match found from
  // position i can use the score of the rest, already known.
  const best = new Int32Array(n + 1);
  const choiceEnd = new Int32Array(n);
  // >= 0: a fuzzy term index; <= -2: exact term -(k + 2); -1: a single character.
  const choiceTerm = new Int32Array(n);
  let start = 0;
  let bestScore = 0;
  let bestEnd = 0;
  let bestTerm = -1;
  let bestEdits = 0;

  const offer = (end: number, term: number, edits: number): void => {
    const score = 1 + (best[end] ?? 0);
    // Ties prefer a term over a single character (so the term is reported), then fewer edits,
    // then the longer stretch: only the report changes, never the score.
    const better =
      score < bestScore ||
      (score === bestScore &&
        (bestTerm === -1 || edits < bestEdits || (edits === bestEdits && end > bestEnd)));
    if (better) {
      bestScore = score;
      bestEnd = end;
      bestTerm = term;
      bestEdits = edits;
    }
  };

  const childOf = (node: number, cls: number): number => {
    if (cls < 0) return -1;
    const row = denseRow[node] ?? -1;
    if (row >= 0) return denseNext[row * classCount + cls] ?? -1;
    const last = childStart[node + 1] ?? 0;
    for (let k = childStart[node] ?? 0; k < last; k += 1) {
      if (childClasses[k] === cls) return childNodes[k] ?? -1;
    }
    return -1;
  };

  // After the one edit is spent: follow the password exactly, offering each term that ends.
  const walkAfterEdit = (from: number, fromPos: number): void => {
    let node = from;
    let pos = fromPos;
    for (;;) {
      const term = terminal[node] ?? -1;
      if (term >= 0 && pos > start) offer(pos, term, 1);
      if (pos >= n) return;
      node = childOf(node, classes[pos] ?? -1);
      if (node < 0) return;
      pos += 1;
    }
  };

  // The password so far (text[start..pos)) spells the path to `node` exactly; try every way to
  // spend the one edit here, then go on exactly.
  const visit = (node: number, pos: number): void => {
    const term = terminal[node] ?? -1;
    if (term >= 0 && pos > start) offer(pos, term, 0);
    const cls = pos < n ? (classes[pos] ?? -1) : -1;
    if (pos < n) {
      const next = childOf(node, cls);
      if (next >= 0) visit(next, pos + 1);
    }
    const skip = skipRoot[node] ?? -1;
    if (skip >= 0) {
      // Substitution (the password has another character where the term has its next one) and
      // deletion (the password lacks the term's next character), via the skip trie.
      if (pos < n) walkAfterEdit(skip, pos + 1);
      walkAfterEdit(skip, pos);
    } else {
      const last = childStart[node + 1] ?? 0;
      for (let k = childStart[node] ?? 0; k < last; k += 1) {
        const child = childNodes[k] ?? 0;
        if (pos < n && childClasses[k] !== cls) walkAfterEdit(child, pos + 1);
        walkAfterEdit(child, pos);
      }
    }
    // Insertion inside the term only: not before its first character (node 0), and the character
    // after the inserted one must continue the term, so a match never ends on an inserted one.
    if (node !== 0 && pos + 1 < n) {
      const next = childOf(node, classes[pos + 1] ?? -1);
      if (next >= 0) walkAfterEdit(next, pos + 2);
    }
  };

  for (start = n - 1; start >= 0; start -= 1) {
    bestScore = 1 + (best[start + 1] ?? 0);
    bestEnd = start + 1;
    bestTerm = -1;
    bestEdits = 0;
    visit(0, start);
    for (let k = 0; k < exactTerms.length; k += 1) {
      const term = exactTerms[k]?.term ?? '';
      if (text.startsWith(term, start)) offer(start + term.length, -(k + 2), 0);
    }
    best[start] = bestScore;
    choiceEnd[start] = bestEnd;
    choiceTerm[start] = bestTerm;
  }

  const matchedTerms: string[] = [];
  let sources = 0;
  for (let pos = 0; pos < n; pos = choiceEnd[pos] ?? n) {
    const choice = choiceTerm[pos] ?? -1;
    if (choice === -1) continue;
    const exact = choice <= -2 ? exactTerms[-choice - 2] : undefined;
    const term = exact?.term ?? matcher.terms[choice] ?? '';
    sources |= exact ? sourceBits[exact.source] : (matcher.termSources[choice] ?? 0);
    if (!matchedTerms.includes(term)) matchedTerms.push(term);
  }
  return {
    score: best[0] ?? 0,
    required: requiredPasswordProtectionScore,
    matchedTerms,
    matchedSources: sourceOrder.filter((source) => (sources & sourceBits[source]) !== 0),
  };
}
