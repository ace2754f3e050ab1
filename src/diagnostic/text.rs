//! Words and numbers in messages: the likely intended name for a typo, and the ways optimc
//! writes a number for a person. A leaf module (it uses nothing else of optimc), so that every
//! stage can share it; not part of the API.
//!
//! The number formats differ on purpose, each for its place:
//!
//! | function | for | `0.1 + 0.2` | `1e-4 / 3` |
//! | --- | --- | --- | --- |
//! | [`format_number`] | values as written or computed (messages, exports, traces) | `0.30000000000000004` | `3.3333333333333335e-5` |
//! | [`rounded`] | computed values in help lines (6 significant digits) | `0.3` | `3.33333e-5` |
//! | [`approx`] | values in analysis warnings (3 significant digits) | `0.3` | `3.33e-5` |
//! | [`short`] | plot tick labels (4 significant digits, `e` notation outside 1e-3..1e5) | `0.3` | `3.33e-5` |
//! | [`write_number`] | numbers inside a lambda's text | `0.30000000000000004` | `3.3333333333333335e-5` |

use std::fmt;

/// The closest candidate to `name`, if one is close enough to be a likely typo.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let lower = name.to_ascii_lowercase();
    let mut best: Option<(f64, &str)> = None;
    for c in candidates {
        if c == name {
            continue;
        }
        let score = if c.eq_ignore_ascii_case(name) || c.replace('_', "") == lower.replace('_', "")
        {
            2.0
        } else if c.len() >= 3 && (lower.starts_with(c) || c.starts_with(lower.as_str())) {
            1.5
        } else {
            let distance = strsim::levenshtein(&lower, c);
            let limit = (name.len().max(c.len()) / 3).max(1);
            if distance > limit {
                continue;
            }
            strsim::jaro_winkler(&lower, c)
        };
        if best.is_none_or(|(s, _)| score > s) {
            best = Some((score, c));
        }
    }
    best.map(|(_, c)| c)
}

/// Writes a number as a person would: whole numbers without a fraction, others in their
/// shortest round-tripping form (`0.1`, `1e-8`).
pub fn format_number(v: f64) -> String {
    if v.is_finite() && v == v.trunc() && v.abs() < 1e16 {
        format!("{}", v as i64)
    } else {
        format!("{v:?}")
    }
}

/// `v` to 6 significant digits, as a person would write it (`0.01`, not `0.010000000000000002`).
pub fn rounded(v: f64) -> String {
    let short: f64 = format!("{v:.5e}").parse().unwrap_or(v);
    format_number(short)
}

/// `v` to 3 significant digits.
pub fn approx(v: f64) -> String {
    let short: f64 = format!("{v:.2e}").parse().unwrap_or(v);
    format_number(short)
}

/// A tick label: at most 4 significant digits, scientific notation for small and large values.
pub fn short(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let magnitude = v.abs().log10().floor();
    if !(-3.0..5.0).contains(&magnitude) {
        let text = format!("{v:.2e}");
        // 1.00e-4 → 1e-4, 2.50e-5 → 2.5e-5
        let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
        let mantissa = mantissa.trim_end_matches('0').trim_end_matches('.');
        return format!("{mantissa}e{exponent}");
    }
    let decimals = (3.0 - magnitude).max(0.0) as usize;
    let text = format!("{v:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// A number in a lambda's text: as [`format_number`], but whole numbers from 1e15 on keep
/// Rust's `Debug` form (`1000000000000000.0`), as lambdas have always been printed.
pub fn write_number(f: &mut fmt::Formatter<'_>, v: f64) -> fmt::Result {
    if v.is_finite() && v == v.trunc() && v.abs() < 1e15 {
        write!(f, "{}", v as i64)
    } else {
        write!(f, "{v:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        assert_eq!(did_you_mean("gama", ["gamma", "step_size"]), Some("gamma"));
        assert_eq!(did_you_mean("T_max", ["t_max", "eta_min"]), Some("t_max"));
        assert_eq!(did_you_mean("SGD", ["sgd", "adam"]), Some("sgd"));
        assert_eq!(did_you_mean("xyz", ["gamma"]), None);
    }

    #[test]
    fn short_labels() {
        assert_eq!(short(0.001), "0.001");
        assert_eq!(short(0.00012345), "1.23e-4");
        assert_eq!(short(30.0), "30");
        assert_eq!(short(0.95), "0.95");
        assert_eq!(short(1e-7), "1e-7");
    }

    /// The table in the module documentation.
    #[test]
    fn the_formats_side_by_side() {
        let (a, b) = (0.1 + 0.2, 1e-4 / 3.0);
        assert_eq!(format_number(a), "0.30000000000000004");
        assert_eq!(format_number(b), "3.3333333333333335e-5");
        assert_eq!(
            (rounded(a), rounded(b)),
            ("0.3".into(), "3.33333e-5".into())
        );
        assert_eq!((approx(a), approx(b)), ("0.3".into(), "3.33e-5".into()));
        assert_eq!((short(a), short(b)), ("0.3".into(), "3.33e-5".into()));
        assert_eq!(format_number(1e15), "1000000000000000");
        struct Lambda(f64);
        impl fmt::Display for Lambda {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write_number(f, self.0)
            }
        }
        assert_eq!(Lambda(1e15).to_string(), "1000000000000000.0");
        assert_eq!(Lambda(a).to_string(), "0.30000000000000004");
    }
}
