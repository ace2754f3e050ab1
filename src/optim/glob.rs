//! Parameter-name patterns: `*` matches any run of characters (dots too), `?` exactly one
//! character, everything else itself. There is no escape: a pattern cannot match a literal `*`
//! or `?` except through the wildcards.

use std::collections::HashMap;

/// Whether `name` matches the glob `pattern` as a whole.
///
/// Runs in O(len(pattern) × len(name)) at worst (greedy star with one backtrack point).
///
/// ```
/// use optimc::optim::glob_match;
/// assert!(glob_match("base.*", "base.layer1.weight"));
/// assert!(glob_match("*.bias", "classifier.bias"));
/// assert!(glob_match("layer?.weight", "layer3.weight"));
/// assert!(!glob_match("base.*", "classifier.weight"));
/// ```
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let s: Vec<char> = name.chars().collect();
    matches_chars(&p, &s)
}

/// [`glob_match`] over the patterns' and names' characters.
fn matches_chars(p: &[char], s: &[char]) -> bool {
    let (mut pi, mut si) = (0, 0);
    // The last `*` seen and the name position it is currently made to stop at.
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, si));
                pi += 1;
            }
            Some(&c) if c == '?' || c == s[si] => {
                pi += 1;
                si += 1;
            }
            _ => match star {
                Some((sp, ss)) => {
                    // Let the star swallow one more character and retry after it.
                    pi = sp + 1;
                    si = ss + 1;
                    star = Some((sp, ss + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Finds, for a parameter name, the FIRST group (in declaration order) one of whose patterns
/// matches it, as if every group's patterns were tried in turn with [`glob_match`], but in
/// time near-linear in the number of groups and names for the patterns people write: exact
/// names (`classifier.bias`), literal prefixes (`base.layer1.*`, `*`) and literal suffixes
/// (`*.bias`) are looked up in hash maps, by each of the name's prefix and suffix lengths that
/// some pattern has. Only the other patterns (`layer?.*`, `a*b`) are tried one by one, and only
/// those of groups before the best match found so far.
///
/// ```
/// use optimc::optim::GroupMatcher;
/// let groups = [vec!["*.bias".to_string()], vec!["base.*".to_string()], vec!["*".to_string()]];
/// let matcher = GroupMatcher::new(groups.iter().map(|g| g.as_slice()));
/// assert_eq!(matcher.first_match("base.bias"), Some(0));
/// assert_eq!(matcher.first_match("base.weight"), Some(1));
/// assert_eq!(matcher.first_match("head.weight"), Some(2));
/// ```
#[derive(Clone, Debug, Default)]
pub struct GroupMatcher {
    /// Exact names: the groups with each, ascending.
    exact: HashMap<String, Vec<usize>>,
    /// `prefix*`: the groups with each prefix, ascending.
    prefixes: HashMap<String, Vec<usize>>,
    /// The distinct lengths (bytes) of `prefixes`' keys, ascending.
    prefix_lens: Vec<usize>,
    /// `*suffix`: the groups with each suffix, ascending.
    suffixes: HashMap<String, Vec<usize>>,
    /// The distinct lengths (bytes) of `suffixes`' keys, ascending.
    suffix_lens: Vec<usize>,
    /// Every other pattern (as characters), with its group, in group order.
    general: Vec<(usize, Vec<char>)>,
}

/// How a pattern can be looked up.
enum Shape<'a> {
    Exact(&'a str),
    Prefix(&'a str),
    Suffix(&'a str),
    General,
}

fn shape(pattern: &str) -> Shape<'_> {
    let wild = |s: &str| s.contains(['*', '?']);
    if !wild(pattern) {
        Shape::Exact(pattern)
    } else if let Some(prefix) = pattern.strip_suffix('*').filter(|p| !wild(p)) {
        Shape::Prefix(prefix)
    } else if let Some(suffix) = pattern.strip_prefix('*').filter(|s| !wild(s)) {
        Shape::Suffix(suffix)
    } else {
        Shape::General
    }
}

impl GroupMatcher {
    /// The matcher for groups given as their `params` patterns, in declaration order.
    pub fn new<'a>(groups: impl IntoIterator<Item = &'a [String]>) -> GroupMatcher {
        let mut m = GroupMatcher::default();
        for (group, patterns) in groups.into_iter().enumerate() {
            for pattern in patterns {
                // Every group with the pattern, in order: a group that turns a parameter away
                // (`exclude`, `where`) hands it to the next ([`first_match_from`]).
                let push = |groups: &mut Vec<usize>| {
                    if groups.last() != Some(&group) {
                        groups.push(group);
                    }
                };
                match shape(pattern) {
                    Shape::Exact(name) => push(m.exact.entry(name.to_string()).or_default()),
                    Shape::Prefix(prefix) => {
                        push(m.prefixes.entry(prefix.to_string()).or_default())
                    }
                    Shape::Suffix(suffix) => {
                        push(m.suffixes.entry(suffix.to_string()).or_default())
                    }
                    Shape::General => m.general.push((group, pattern.chars().collect())),
                }
            }
        }
        m.prefix_lens = distinct_lens(m.prefixes.keys());
        m.suffix_lens = distinct_lens(m.suffixes.keys());
        m
    }

    /// The index of the first group with a pattern matching `name`, if any.
    pub fn first_match(&self, name: &str) -> Option<usize> {
        self.first_match_counting(name, &mut 0)
    }

    /// [`first_match`](Self::first_match), adding to `work` the hash-map lookups it made and
    /// the patterns it tried one by one: the deterministic measure `tests/it/group_matching.rs`
    /// holds near-linear (trying every group for every name would count groups × names).
    #[doc(hidden)]
    pub fn first_match_counting(&self, name: &str, work: &mut usize) -> Option<usize> {
        self.first_match_from_counting(name, 0, work)
    }

    /// The index of the first group at or after `from` with a pattern matching `name`: where a
    /// parameter goes when the groups before `from` turned it away (`exclude`, `where`).
    pub fn first_match_from(&self, name: &str, from: usize) -> Option<usize> {
        self.first_match_from_counting(name, from, &mut 0)
    }

    /// [`first_match_from`](Self::first_match_from), counting work as
    /// [`first_match_counting`](Self::first_match_counting) does.
    #[doc(hidden)]
    pub fn first_match_from_counting(
        &self,
        name: &str,
        from: usize,
        work: &mut usize,
    ) -> Option<usize> {
        *work += 1;
        // The first group at or after `from` in an ascending list.
        let at_or_after = |groups: &Vec<usize>| match groups.first() {
            Some(&g) if g >= from => Some(g),
            _ => groups.get(groups.partition_point(|&g| g < from)).copied(),
        };
        let mut best = self.exact.get(name).and_then(at_or_after);
        let mut consider = |found: Option<&Vec<usize>>| {
            *work += 1;
            if let Some(g) = found.and_then(at_or_after) {
                best = Some(best.map_or(g, |b| b.min(g)));
            }
        };
        for &len in self.prefix_lens.iter().take_while(|&&l| l <= name.len()) {
            if name.is_char_boundary(len) {
                consider(self.prefixes.get(&name[..len]));
            }
        }
        for &len in self.suffix_lens.iter().take_while(|&&l| l <= name.len()) {
            let start = name.len() - len;
            if name.is_char_boundary(start) {
                consider(self.suffixes.get(&name[start..]));
            }
        }
        let start = self.general.partition_point(|(g, _)| *g < from);
        let mut candidates = self.general[start..]
            .iter()
            .take_while(|(g, _)| best.is_none_or(|b| *g < b))
            .peekable();
        if candidates.peek().is_none() {
            return best;
        }
        let chars: Vec<char> = name.chars().collect();
        candidates
            .find(|(_, p)| {
                *work += 1;
                matches_chars(p, &chars)
            })
            .map(|&(g, _)| g)
            .or(best)
    }
}

fn distinct_lens<'a>(keys: impl Iterator<Item = &'a String>) -> Vec<usize> {
    let mut lens: Vec<usize> = keys.map(String::len).collect();
    lens.sort_unstable();
    lens.dedup();
    lens
}

#[cfg(test)]
mod tests {
    use super::{glob_match, GroupMatcher};

    /// What [`GroupMatcher`] must agree with: every group's patterns tried in turn.
    fn naive(groups: &[Vec<String>], name: &str) -> Option<usize> {
        groups
            .iter()
            .position(|g| g.iter().any(|p| glob_match(p, name)))
    }

    #[test]
    fn group_matcher_agrees_with_trying_every_pattern() {
        // Small random patterns and names over an alphabet with a two-byte character, so
        // every shape (exact, prefix, suffix, general, repeated, empty) and char boundaries
        // come up.
        let seed = std::cell::Cell::new(0x2545_f491_4f6c_dd1du64);
        let next = |n: u64| {
            let mut x = seed.get();
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            seed.set(x);
            (x % n) as usize
        };
        let pattern_chars = ['a', 'b', '.', 'é', '*', '*', '?'];
        let name_chars = ['a', 'b', '.', 'é'];
        for _ in 0..3000 {
            let word = |chars: &[char], max: u64| -> String {
                (0..next(max))
                    .map(|_| chars[next(chars.len() as u64)])
                    .collect()
            };
            let groups: Vec<Vec<String>> = (0..1 + next(5))
                .map(|_| (0..next(3)).map(|_| word(&pattern_chars, 5)).collect())
                .collect();
            let matcher = GroupMatcher::new(groups.iter().map(Vec::as_slice));
            for _ in 0..20 {
                let name = word(&name_chars, 6);
                assert_eq!(
                    matcher.first_match(&name),
                    naive(&groups, &name),
                    "{name:?} in {groups:?}"
                );
                let from = next(groups.len() as u64 + 1);
                assert_eq!(
                    matcher.first_match_from(&name, from),
                    naive(&groups[from..], &name).map(|g| g + from),
                    "{name:?} from {from} in {groups:?}"
                );
            }
        }
    }

    #[test]
    fn literals_and_wildcards() {
        assert!(glob_match("", ""));
        assert!(!glob_match("", "a"));
        assert!(glob_match("*", ""));
        assert!(glob_match("*", "anything.at.all"));
        assert!(glob_match("base", "base"));
        assert!(!glob_match("base", "base.weight"));
        assert!(!glob_match("base.weight", "base"));
        assert!(glob_match("base.*", "base.weight"));
        assert!(glob_match("base.*", "base."));
        assert!(!glob_match("base.*", "base"));
        assert!(!glob_match("base.*", "xbase.weight"));
        assert!(glob_match("*.weight", "a.b.c.weight"));
        assert!(!glob_match("*.weight", "a.b.c.weight2"));
        assert!(glob_match("a*b*c", "a__b__b__c"));
        assert!(!glob_match("a*b*c", "a__c__b"));
        assert!(glob_match("**", "x"));
        assert!(glob_match("*a*", "bab"));
        assert!(!glob_match("*a*", "bbb"));
    }

    #[test]
    fn question_mark_is_one_character() {
        assert!(glob_match("layer?.w", "layer1.w"));
        assert!(!glob_match("layer?.w", "layer12.w"));
        assert!(!glob_match("layer?.w", "layer.w"));
        assert!(glob_match("??", "é!"));
        assert!(!glob_match("?", "éé"));
        assert!(glob_match("a?c", "a.c"));
    }

    #[test]
    fn star_backtracks() {
        assert!(glob_match("*ab", "aaab"));
        assert!(glob_match("*aab", "aaab"));
        assert!(glob_match("a*a*a", "aaa"));
        assert!(!glob_match("a*a*a*a", "aaa"));
        assert!(glob_match("*.?", "x.y.z"));
        // Pathological input stays fast (greedy single-backtrack matcher).
        let name = "a".repeat(200);
        assert!(!glob_match(&format!("{}b", "*a".repeat(20)), &name));
    }

    #[test]
    fn wildcards_in_the_name_are_literal_characters() {
        assert!(glob_match("a*", "a*"));
        assert!(glob_match("a?", "a*"));
        assert!(!glob_match("a.b", "a*b"));
    }
}
