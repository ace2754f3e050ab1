//! `shadowed_group`: a group every one of whose patterns an earlier group's pattern covers, so
//! that it gets no parameters.

use crate::check::Checker;
use crate::config::GroupConfig;
use crate::diagnostic::{Code, Diagnostic};

/// How many pattern-character pairs the `shadowed_group` lint may compare in one file.
const SHADOW_BUDGET: usize = 10_000_000;

impl Checker {
    /// A parameter goes to the first group whose pattern matches it, so a group whose every
    /// pattern is covered by an earlier group's gets nothing.
    pub(in crate::check) fn lint_shadowed_groups(&mut self, groups: &[GroupConfig]) {
        let patterns: Vec<Vec<&str>> = self
            .group_patterns
            .iter()
            .map(|(g, ..)| groups[*g].params.iter().map(String::as_str).collect())
            .collect();
        let mut warnings = Vec::new();
        for shadow in shadowed_groups(&patterns, SHADOW_BUDGET).shadows {
            let (g, name_span, _) = &self.group_patterns[shadow.group];
            let name = &groups[*g];
            let (by, _, spans) = &self.group_patterns[shadow.by];
            let group = &groups[*by];
            let q = &group.params[shadow.pattern];
            let span = &spans[shadow.pattern];
            warnings.push(
                Diagnostic::warning(
                    Code::ShadowedGroup,
                    *name_span,
                    format!("group `{}` gets no parameters", name.name),
                )
                .with_label("every pattern of this group is matched by an earlier group")
                .with_related(*span, format!("`{q}` in group `{}` matches them first", group.name))
                .with_help(format!(
                    "a parameter goes to the first group that matches it: move group `{}` above group `{}`, or narrow `{q}`",
                    name.name, group.name
                )),
            );
        }
        self.diags.extend(warnings);
    }
}

/// A group all of whose patterns are covered by earlier groups' patterns: `group` gets no
/// parameters because of pattern `pattern` of group `by` (the first that covers its first pattern).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Shadow {
    group: usize,
    by: usize,
    pattern: usize,
}

/// The `shadowed_group` lint over every group's `params` patterns, in file order.
///
/// For each pattern `p` the answer is the first pattern, in file order, of an earlier group that
/// covers `p` ([`glob_covers`]). Comparing `p` with every earlier pattern would be quadratic in
/// the number of groups, so only the patterns that can cover `p` are compared: a pattern covers
/// `p` only if its literal prefix (up to its first `*` or `?`) is a prefix of `p` and its
/// literal suffix (after its last `*` or `?`) a suffix of `p`. Earlier literal prefixes are kept
/// in a trie, which yields those that are prefixes of `p` in one walk along `p`.
///
/// `budget` bounds the work as it always has: a comparison of `q` with `p` is charged
/// `(q.len() + 1) × (p.len() + 1)`, and every earlier pattern up to the first one that covers
/// `p` (all of them if none does) is charged, compared or not; once the budget runs out the
/// lint stops, without an answer for the group at hand. So the answers are exactly those of
/// comparing every pair in order, while far fewer pairs are compared.
fn shadowed_groups(groups: &[Vec<&str>], budget: usize) -> ShadowLint {
    // All patterns in file order; `charge[f]` is what comparing `p` with the patterns before
    // pattern `f` costs, divided by `p.len() + 1`.
    let mut owner: Vec<(usize, usize)> = Vec::new();
    let mut charge: Vec<usize> = vec![0];
    let mut first_of: Vec<usize> = Vec::with_capacity(groups.len());
    for (g, patterns) in groups.iter().enumerate() {
        first_of.push(owner.len());
        for (k, q) in patterns.iter().enumerate() {
            owner.push((g, k));
            let last = *charge.last().unwrap_or(&0);
            charge.push(last.saturating_add(q.len() + 1));
        }
    }
    let flat: Vec<&str> = groups.iter().flatten().copied().collect();
    let mut trie = PrefixTrie::new(flat.len());
    let mut budget = budget;
    let mut out = ShadowLint::default();
    let mut heads: Vec<u32> = Vec::new();
    for (i, patterns) in groups.iter().enumerate() {
        let earlier = first_of[i];
        let mut shadows: Vec<Option<usize>> = Vec::with_capacity(patterns.len());
        for p in patterns {
            let per_pair = p.len() + 1;
            // Candidates in file order: merge the (sorted) lists of the prefixes of `p`.
            heads.clear();
            trie.lists_along(p.as_bytes(), &mut heads);
            let mut found = None;
            let mut exhausted = false;
            while let Some((h, &f)) = heads.iter().enumerate().min_by_key(|(_, f)| **f) {
                let f = f as usize;
                if f >= earlier {
                    break;
                }
                if per_pair.saturating_mul(charge[f + 1]) > budget {
                    exhausted = true;
                    break;
                }
                heads[h] = trie.next_entry[f];
                if heads[h] == NO_ENTRY {
                    heads.swap_remove(h);
                }
                let q = flat[f];
                if !p.ends_with(literal_suffix(q)) {
                    continue;
                }
                out.compared += 1;
                if glob_covers(q, p) {
                    found = Some(f);
                    break;
                }
            }
            let cost = per_pair.saturating_mul(charge[found.map_or(earlier, |f| f + 1)]);
            if exhausted || cost > budget {
                budget = 0;
                shadows.push(None);
            } else {
                budget -= cost;
                shadows.push(found);
            }
        }
        if budget == 0 {
            break;
        }
        for (k, p) in patterns.iter().enumerate() {
            trie.insert(literal_prefix(p).as_bytes(), (first_of[i] + k) as u32);
        }
        if patterns.is_empty() || shadows.iter().any(Option::is_none) {
            continue;
        }
        if let Some(f) = shadows[0] {
            let (by, pattern) = owner[f];
            out.shadows.push(Shadow {
                group: i,
                by,
                pattern,
            });
        }
    }
    out
}

/// What [`shadowed_groups`] found, and how many pairs of patterns it compared.
#[derive(Debug, Default)]
struct ShadowLint {
    shadows: Vec<Shadow>,
    compared: usize,
}

/// The text a glob starts with, before its first wildcard.
fn literal_prefix(glob: &str) -> &str {
    &glob[..glob.find(['*', '?']).unwrap_or(glob.len())]
}

/// The text a glob ends with, after its last wildcard.
fn literal_suffix(glob: &str) -> &str {
    &glob[glob.rfind(['*', '?']).map_or(0, |i| i + 1)..]
}

const NO_ENTRY: u32 = u32::MAX;

/// A trie of glob literal prefixes over bytes, each node listing the patterns whose prefix ends
/// there, in the order they were inserted. Children and lists are linked lists in flat arrays:
/// no allocation per node, and at most 256 siblings to step over per byte.
struct PrefixTrie {
    nodes: Vec<TrieNode>,
    /// The next pattern in the same node's list, by pattern index.
    next_entry: Vec<u32>,
}

#[derive(Clone, Copy)]
struct TrieNode {
    child: u32,
    sibling: u32,
    byte: u8,
    first: u32,
    last: u32,
}

impl PrefixTrie {
    fn new(patterns: usize) -> Self {
        PrefixTrie {
            nodes: vec![TrieNode {
                child: NO_ENTRY,
                sibling: NO_ENTRY,
                byte: 0,
                first: NO_ENTRY,
                last: NO_ENTRY,
            }],
            next_entry: vec![NO_ENTRY; patterns],
        }
    }

    fn child(&self, node: u32, byte: u8) -> Option<u32> {
        let mut c = self.nodes[node as usize].child;
        while c != NO_ENTRY {
            let n = &self.nodes[c as usize];
            if n.byte == byte {
                return Some(c);
            }
            c = n.sibling;
        }
        None
    }

    /// Adds pattern `index` (greater than every index added before) under `prefix`.
    fn insert(&mut self, prefix: &[u8], index: u32) {
        let mut node = 0u32;
        for &b in prefix {
            node = match self.child(node, b) {
                Some(c) => c,
                None => {
                    let c = self.nodes.len() as u32;
                    let parent = &mut self.nodes[node as usize];
                    let sibling = parent.child;
                    parent.child = c;
                    self.nodes.push(TrieNode {
                        child: NO_ENTRY,
                        sibling,
                        byte: b,
                        first: NO_ENTRY,
                        last: NO_ENTRY,
                    });
                    c
                }
            };
        }
        let n = &mut self.nodes[node as usize];
        if n.first == NO_ENTRY {
            n.first = index;
        } else {
            self.next_entry[n.last as usize] = index;
        }
        n.last = index;
    }

    /// The first pattern of each list whose prefix is a prefix of `text`.
    fn lists_along(&self, text: &[u8], heads: &mut Vec<u32>) {
        let mut node = 0u32;
        let mut bytes = text.iter();
        loop {
            let first = self.nodes[node as usize].first;
            if first != NO_ENTRY {
                heads.push(first);
            }
            match bytes.next().and_then(|&b| self.child(node, b)) {
                Some(c) => node = c,
                None => break,
            }
        }
    }
}

/// Whether every name the glob `inner` matches is also matched by the glob `outer`. Sound, not
/// complete: `true` is always right; some containments (rare, contrived ones) answer `false`.
fn glob_covers(outer: &str, inner: &str) -> bool {
    let q: Vec<char> = outer.chars().collect();
    let p: Vec<char> = inner.chars().collect();
    // ok[i][j]: q[i..] covers p[j..].
    let mut ok = vec![vec![false; p.len() + 1]; q.len() + 1];
    ok[q.len()][p.len()] = true;
    for i in (0..q.len()).rev() {
        for j in (0..=p.len()).rev() {
            ok[i][j] = match q[i] {
                '*' => ok[i + 1][j] || (j < p.len() && ok[i][j + 1]),
                '?' => j < p.len() && p[j] != '*' && ok[i + 1][j + 1],
                c => j < p.len() && p[j] == c && c != '?' && c != '*' && ok[i + 1][j + 1],
            };
        }
    }
    ok[0][0]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn glob_cover() {
        assert!(glob_covers("*", "head.*"));
        assert!(glob_covers("*", ""));
        assert!(glob_covers("head.*", "head.classifier.*"));
        assert!(glob_covers("head.*", "head.bias"));
        assert!(glob_covers("*.bias", "head.*.bias"));
        assert!(glob_covers("layer?.*", "layer1.weight"));
        assert!(glob_covers("layer?.*", "layer?.weight"));
        assert!(glob_covers("a*b", "a*b"));
        assert!(!glob_covers("head.*", "*"));
        assert!(!glob_covers("head.*", "backbone.*"));
        assert!(!glob_covers("layer1.*", "layer?.*"));
        assert!(!glob_covers("?", "*"));
        assert!(!glob_covers("*.weight", "*.bias"));
        assert!(!glob_covers("*norm*", "*.bias"));
    }

    /// Containment agrees with matching: whenever `glob_covers(q, p)`, every name `p` matches
    /// (here, every short name over a small alphabet) is matched by `q`.
    #[test]
    fn glob_cover_is_sound() {
        use crate::optim::glob_match;
        let patterns = [
            "*", "a*", "*b", "a?", "?b", "a*b", "ab", "?", "??", "*a*", "a", "b*a",
        ];
        let mut names = vec![String::new()];
        for len in 1..=4 {
            for i in 0..(1 << len) {
                names.push(
                    (0..len)
                        .map(|k| if i >> k & 1 == 1 { 'b' } else { 'a' })
                        .collect(),
                );
            }
        }
        for q in patterns {
            for p in patterns {
                let contained = names.iter().all(|n| !glob_match(p, n) || glob_match(q, n));
                if glob_covers(q, p) {
                    assert!(contained, "{q} said to cover {p}");
                }
            }
        }
    }

    /// The `shadowed_group` lint as it was first written: every pattern against every earlier
    /// pattern, in order, within the budget. The indexed lint must answer exactly the same.
    fn shadowed_groups_pairwise(groups: &[Vec<&str>], budget: usize) -> Vec<Shadow> {
        let budget = Cell::new(budget);
        let covers = |q: &str, p: &str| {
            let cost = (q.len() + 1).saturating_mul(p.len() + 1);
            if cost > budget.get() {
                budget.set(0);
                return None;
            }
            budget.set(budget.get() - cost);
            Some(glob_covers(q, p))
        };
        let mut out = Vec::new();
        for (i, patterns) in groups.iter().enumerate() {
            let earlier = &groups[..i];
            let shadow_of = |p: &str| {
                earlier.iter().enumerate().find_map(|(g, qs)| {
                    qs.iter()
                        .position(|q| covers(q, p).unwrap_or(false))
                        .map(|k| (g, k))
                })
            };
            let shadows: Vec<_> = patterns.iter().map(|p| shadow_of(p)).collect();
            if budget.get() == 0 {
                break;
            }
            if patterns.is_empty() || shadows.iter().any(Option::is_none) {
                continue;
            }
            if let Some((by, pattern)) = shadows[0] {
                out.push(Shadow {
                    group: i,
                    by,
                    pattern,
                });
            }
        }
        out
    }

    #[test]
    fn the_indexed_shadow_lint_answers_as_the_pairwise_one() {
        // A small deterministic generator (xorshift) over an alphabet where covers are common.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        let alphabet = ["a", "b", ".", "*", "?", "é"];
        let mut found = 0;
        let mut exhausted = 0;
        for round in 0..3000 {
            let groups: Vec<Vec<String>> = (0..1 + next(9))
                .map(|_| {
                    (0..next(4))
                        .map(|_| {
                            (0..next(7))
                                .map(|_| alphabet[next(alphabet.len() as u64) as usize])
                                .collect()
                        })
                        .collect()
                })
                .collect();
            let groups: Vec<Vec<&str>> = groups
                .iter()
                .map(|g| g.iter().map(String::as_str).collect())
                .collect();
            let budget = [0, 1, 20, 60, 150, 400, 2000, SHADOW_BUDGET][round % 8];
            let expected = shadowed_groups_pairwise(&groups, budget);
            let got = shadowed_groups(&groups, budget).shadows;
            assert_eq!(got, expected, "{groups:?} with budget {budget}");
            found += expected.len();
            let unlimited = shadowed_groups_pairwise(&groups, usize::MAX);
            exhausted += usize::from(unlimited != expected);
        }
        // The generated cases do exercise both the warnings and the budget running out.
        assert!(found > 500, "{found}");
        assert!(exhausted > 100, "{exhausted}");
    }

    /// Ten thousand groups with their own literal prefixes (as in the benchmark file) compare
    /// almost no pairs of patterns: only patterns whose prefix and suffix fit are compared.
    #[test]
    fn the_shadow_lint_compares_only_plausible_pairs() {
        let n = 10_000;
        let mut groups: Vec<Vec<String>> = (0..n)
            .map(|g| vec![format!("model.layer{g}.*"), format!("aux.layer{g}.bias")])
            .collect();
        groups.push(vec!["model.layer5000.attn.*".to_string()]);
        groups.push(vec!["*".to_string()]);
        let groups: Vec<Vec<&str>> = groups
            .iter()
            .map(|g| g.iter().map(String::as_str).collect())
            .collect();
        let lint = shadowed_groups(&groups, usize::MAX);
        assert_eq!(
            lint.shadows,
            [Shadow {
                group: n,
                by: 5000,
                pattern: 0
            }]
        );
        // Pairwise, that is 2 × 10^8 comparisons.
        assert!(lint.compared <= 10, "{} pairs compared", lint.compared);
        // With the real budget the lint gives up early, exactly where the pairwise one did.
        let small: Vec<Vec<&str>> = groups[..300].to_vec();
        assert_eq!(
            shadowed_groups(&small, SHADOW_BUDGET).shadows,
            shadowed_groups_pairwise(&small, SHADOW_BUDGET)
        );
    }

    #[test]
    fn literal_ends_of_globs() {
        assert_eq!(literal_prefix("model.layer1.*"), "model.layer1.");
        assert_eq!(literal_prefix("a?b*"), "a");
        assert_eq!(literal_prefix("*"), "");
        assert_eq!(literal_prefix("head.bias"), "head.bias");
        assert_eq!(literal_suffix("*.bias"), ".bias");
        assert_eq!(literal_suffix("a*b?c"), "c");
        assert_eq!(literal_suffix("a*"), "");
        assert_eq!(literal_suffix("head.bias"), "head.bias");
    }
}
