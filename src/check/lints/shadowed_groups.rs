//! `shadowed_group`: a group every one of whose patterns an earlier group's pattern covers, so
//! that it gets no parameters.

use crate::check::Checker;
use crate::config::GroupConfig;
use crate::diagnostic::{Code, Diagnostic};
use crate::limits::SHADOW_BUDGET;

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
/// `budget` bounds the work of the comparisons actually made (what [`glob_covers`] reports);
/// once it runs out the lint stops, without an answer for the group at hand. The answers are
/// those of comparing every pair in order.
fn shadowed_groups(groups: &[Vec<&str>], budget: usize) -> ShadowLint {
    let mut owner: Vec<(usize, usize)> = Vec::new();
    let mut first_of: Vec<usize> = Vec::with_capacity(groups.len());
    for (g, patterns) in groups.iter().enumerate() {
        first_of.push(owner.len());
        owner.extend((0..patterns.len()).map(|k| (g, k)));
    }
    let flat: Vec<&str> = groups.iter().flatten().copied().collect();
    let mut trie = PrefixTrie::new(flat.len());
    let mut budget = budget;
    let mut out = ShadowLint::default();
    let mut heads: Vec<u32> = Vec::new();
    'groups: for (i, patterns) in groups.iter().enumerate() {
        let earlier = first_of[i];
        let mut shadows: Vec<Option<usize>> = Vec::with_capacity(patterns.len());
        for p in patterns {
            // Candidates in file order: merge the (sorted) lists of the prefixes of `p`.
            heads.clear();
            trie.lists_along(p.as_bytes(), &mut heads);
            let mut found = None;
            while let Some((h, &f)) = heads.iter().enumerate().min_by_key(|(_, f)| **f) {
                let f = f as usize;
                if f >= earlier {
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
                let Some((covers, cost)) = glob_covers(q, p, budget) else {
                    break 'groups;
                };
                budget -= cost;
                if covers {
                    found = Some(f);
                    break;
                }
            }
            shadows.push(found);
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

/// Whether every name the glob `inner` matches is also matched by the glob `outer` (language
/// inclusion, exactly), and what answering cost; `None` if it would cost more than `budget`.
///
/// A quick alignment of the two patterns (each `*` of `inner` under a `*` of `outer`) proves
/// most inclusions; when it fails, a search looks for a name that `inner` matches and `outer`
/// does not, over `inner`'s positions and the sets of positions `outer` can be at. Names are
/// told apart only by which of `outer`'s literal characters each of their characters is, or
/// none of them: `outer` cannot see more. Its cost is the states it visits.
fn glob_covers(outer: &str, inner: &str, budget: usize) -> Option<(bool, usize)> {
    let q: Vec<char> = outer.chars().collect();
    let p: Vec<char> = inner.chars().collect();
    let aligned_cost = (q.len() + 1) * (p.len() + 1);
    if aligned_cost > budget {
        return None;
    }
    if glob_aligns(&q, &p) {
        return Some((true, aligned_cost));
    }
    let mut spent = aligned_cost;
    let mut classes: Vec<Option<char>> = q
        .iter()
        .filter(|c| !matches!(c, '*' | '?'))
        .map(|&c| Some(c))
        .collect();
    classes.sort_unstable();
    classes.dedup();
    // Any character that is none of `outer`'s literals.
    classes.push(None);
    let class_of = |c: char| classes.iter().find(|k| **k == Some(c)).copied().flatten();
    let words = (q.len() + 1).div_ceil(64);
    let closure = |set: &mut Vec<u64>| {
        for i in 0..q.len() {
            if set[i / 64] >> (i % 64) & 1 == 1 && q[i] == '*' {
                set[(i + 1) / 64] |= 1 << ((i + 1) % 64);
            }
        }
    };
    let step = |set: &[u64], class: Option<char>| {
        let mut out = vec![0u64; words];
        for (i, &c) in q.iter().enumerate() {
            if set[i / 64] >> (i % 64) & 1 == 0 {
                continue;
            }
            let next = match c {
                '*' => i,
                '?' => i + 1,
                c if Some(c) == class => i + 1,
                _ => continue,
            };
            out[next / 64] |= 1 << (next % 64);
        }
        closure(&mut out);
        out
    };
    let accepts = |set: &[u64]| set[q.len() / 64] >> (q.len() % 64) & 1 == 1;
    let mut start = vec![0u64; words];
    start[0] = 1;
    closure(&mut start);
    let mut seen: std::collections::HashSet<(usize, Vec<u64>)> = Default::default();
    let mut stack = vec![(0usize, start)];
    while let Some((j, set)) = stack.pop() {
        if !seen.insert((j, set.clone())) {
            continue;
        }
        spent += classes.len() * words + q.len();
        if spent > budget {
            return None;
        }
        if j == p.len() {
            if !accepts(&set) {
                return Some((false, spent));
            }
            continue;
        }
        // `set` with nothing left of `outer` can never accept again: a name is found.
        if set.iter().all(|&w| w == 0) {
            return Some((false, spent));
        }
        match p[j] {
            '*' => {
                stack.push((j + 1, set.clone()));
                for &class in &classes {
                    stack.push((j, step(&set, class)));
                }
            }
            '?' => {
                for &class in &classes {
                    stack.push((j + 1, step(&set, class)));
                }
            }
            c => stack.push((j + 1, step(&set, class_of(c)))),
        }
    }
    Some((true, spent))
}

/// Whether `outer` matches `inner` read as a name in which each `*` of `inner` can only be
/// taken by a `*` of `outer` and each `?` by a `?` or `*` (after moving every `?` before the
/// `*`s next to it, which changes neither language): a sufficient condition for inclusion.
fn glob_aligns(outer: &[char], inner: &[char]) -> bool {
    let q = normalize(outer);
    let p = normalize(inner);
    // ok[i][j]: q[i..] covers p[j..].
    let mut ok = vec![vec![false; p.len() + 1]; q.len() + 1];
    ok[q.len()][p.len()] = true;
    for i in (0..q.len()).rev() {
        for j in (0..=p.len()).rev() {
            ok[i][j] = match q[i] {
                '*' => ok[i + 1][j] || (j < p.len() && ok[i][j + 1]),
                '?' => j < p.len() && p[j] != '*' && ok[i + 1][j + 1],
                c => j < p.len() && p[j] == c && ok[i + 1][j + 1],
            };
        }
    }
    ok[0][0]
}

/// `glob` with each run of wildcards written as its `?`s followed by one `*` if it had any.
fn normalize(glob: &[char]) -> Vec<char> {
    let mut out = Vec::with_capacity(glob.len());
    let mut i = 0;
    while i < glob.len() {
        if !matches!(glob[i], '*' | '?') {
            out.push(glob[i]);
            i += 1;
            continue;
        }
        let mut star = false;
        while i < glob.len() && matches!(glob[i], '*' | '?') {
            if glob[i] == '*' {
                star = true;
            } else {
                out.push('?');
            }
            i += 1;
        }
        if star {
            out.push('*');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn covers(q: &str, p: &str) -> bool {
        glob_covers(q, p, usize::MAX).unwrap().0
    }

    #[test]
    fn glob_cover() {
        assert!(covers("*", "head.*"));
        assert!(covers("*", ""));
        assert!(covers("head.*", "head.classifier.*"));
        assert!(covers("head.*", "head.bias"));
        assert!(covers("*.bias", "head.*.bias"));
        assert!(covers("layer?.*", "layer1.weight"));
        assert!(covers("layer?.*", "layer?.weight"));
        assert!(covers("a*b", "a*b"));
        // Inclusions that no alignment of the patterns shows (issue 11 point 14).
        assert!(covers("a*?", "abb*"));
        assert!(covers("*?", "?*"));
        assert!(covers("??*", "a*b"));
        assert!(covers("*a*", "?*a"));
        assert!(!covers("head.*", "*"));
        assert!(!covers("head.*", "backbone.*"));
        assert!(!covers("layer1.*", "layer?.*"));
        assert!(!covers("?", "*"));
        assert!(!covers("*.weight", "*.bias"));
        assert!(!covers("*norm*", "*.bias"));
        assert!(!covers("??*", "a*"));
    }

    /// Every name over `alphabet` of at most `len` characters.
    fn names(alphabet: &[char], len: usize) -> Vec<String> {
        let mut all = vec![String::new()];
        let mut last = vec![String::new()];
        for _ in 0..len {
            last = last
                .iter()
                .flat_map(|n| alphabet.iter().map(move |c| format!("{n}{c}")))
                .collect();
            all.extend(last.iter().cloned());
        }
        all
    }

    /// Every glob over `a`, `b`, `*`, `?` of up to 3 characters and 60 random ones of 4, each
    /// against every other, compared with the brute-force answer: whether every name the inner
    /// glob matches (among all names of up to 8 characters over `a`, `b` and a third letter
    /// neither glob names) is matched by the outer one.
    #[test]
    fn glob_cover_is_exact() {
        use crate::optim::glob_match;
        let names = names(&['a', 'b', 'c'], 8);
        let matched = |g: &str| -> Vec<bool> { names.iter().map(|n| glob_match(g, n)).collect() };
        let included = |q: &[bool], p: &[bool]| q.iter().zip(p).all(|(q, p)| !p || *q);
        let mut globs = names_over(&['a', 'b', '*', '?'], 3);
        // A small deterministic generator (xorshift) for longer ones.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        for _ in 0..60 {
            let len = 4;
            globs.push(
                (0..len)
                    .map(|_| ['a', 'b', '*', '?', '*'][next(5) as usize])
                    .collect(),
            );
        }
        let sets: Vec<Vec<bool>> = globs.iter().map(|g| matched(g)).collect();
        let (mut inclusions, mut unaligned) = (0, 0);
        for (q, qs) in globs.iter().zip(&sets) {
            for (p, ps) in globs.iter().zip(&sets) {
                let want = included(qs, ps);
                assert_eq!(covers(q, p), want, "{q} covers {p}");
                inclusions += usize::from(want);
                let aligned = glob_aligns(
                    &q.chars().collect::<Vec<_>>(),
                    &p.chars().collect::<Vec<_>>(),
                );
                unaligned += usize::from(want && !aligned);
            }
        }
        // The cases exercise both the alignment and the search.
        assert!(inclusions > 1000, "{inclusions}");
        assert!(unaligned > 20, "{unaligned}");
    }

    fn names_over(alphabet: &[char], len: usize) -> Vec<String> {
        names(alphabet, len)
    }

    /// The `shadowed_group` lint written plainly: every pattern against every earlier pattern,
    /// in order. The indexed lint must answer the same.
    fn shadowed_groups_pairwise(groups: &[Vec<&str>]) -> Vec<Shadow> {
        let mut out = Vec::new();
        for (i, patterns) in groups.iter().enumerate() {
            let earlier = &groups[..i];
            let shadow_of = |p: &str| {
                earlier
                    .iter()
                    .enumerate()
                    .find_map(|(g, qs)| qs.iter().position(|q| covers(q, p)).map(|k| (g, k)))
            };
            let shadows: Vec<_> = patterns.iter().map(|p| shadow_of(p)).collect();
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
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        let alphabet = ["a", "b", ".", "*", "?", "é"];
        let mut found = 0;
        for _ in 0..3000 {
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
            let expected = shadowed_groups_pairwise(&groups);
            assert_eq!(
                shadowed_groups(&groups, SHADOW_BUDGET).shadows,
                expected,
                "{groups:?}"
            );
            found += expected.len();
            // A budget that runs out leaves out groups, never adds one.
            let partial = shadowed_groups(&groups, next(200) as usize).shadows;
            assert!(expected.starts_with(&partial), "{groups:?}");
        }
        assert!(found > 500, "{found}");
    }

    /// Ten thousand groups with their own literal prefixes (as in the benchmark file) compare
    /// almost no pairs of patterns, and the work budget, charged only for the comparisons
    /// made, covers the whole file: the last groups are checked too.
    #[test]
    fn the_shadow_lint_compares_only_plausible_pairs() {
        let n = 10_000;
        let mut groups: Vec<Vec<String>> = (0..n)
            .map(|g| vec![format!("model.layer{g}.*"), format!("aux.layer{g}.bias")])
            .collect();
        groups.push(vec!["model.layer5000.attn.*".to_string()]);
        groups.push(vec!["*".to_string()]);
        groups.push(vec!["aux.layer9999.bias".to_string()]);
        let groups: Vec<Vec<&str>> = groups
            .iter()
            .map(|g| g.iter().map(String::as_str).collect())
            .collect();
        let lint = shadowed_groups(&groups, SHADOW_BUDGET);
        let shadow = |group, by| Shadow {
            group,
            by,
            pattern: 0,
        };
        assert_eq!(
            lint.shadows,
            [
                shadow(n, 5000),
                Shadow {
                    group: n + 2,
                    by: 9999,
                    pattern: 1
                }
            ]
        );
        // Pairwise, that is 2 × 10^8 comparisons.
        assert!(lint.compared <= 20, "{} pairs compared", lint.compared);
        // A budget too small for the comparisons stops the lint there.
        assert_eq!(shadowed_groups(&groups, 10).shadows, []);
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
