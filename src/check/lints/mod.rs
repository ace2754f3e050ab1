//! Lints: warnings about files that work but probably do not do what was meant. Each lint is
//! its own file.

mod ignored_lr;
mod milestones;
mod rprop_schedule;
mod shadowed_groups;
mod unused_lets;
mod warmup_momentum;

/// Each diagnostic of `source` as (its code, the text its span covers): what the lints' tests
/// compare.
#[cfg(test)]
fn codes(source: &str) -> Vec<(String, String)> {
    let (_, diagnostics) = crate::check_source("a.optim", source);
    diagnostics
        .items
        .iter()
        .map(|d| {
            (
                d.code.to_string(),
                source[d.span.start..d.span.end].to_string(),
            )
        })
        .collect()
}
