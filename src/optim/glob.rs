//! Parameter-name patterns: `*` matches any run of characters (dots too), `?` exactly one
//! character, everything else itself. There is no escape: a pattern cannot match a literal `*`
//! or `?` except through the wildcards.

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

#[cfg(test)]
mod tests {
    use super::glob_match;

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
