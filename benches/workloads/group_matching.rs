//! The group-matching workload, shared by `benches/group_matching.rs` (speed) and
//! `tests/it/group_matching.rs` (correctness), so both measure the same configuration.

use optimc::config::GroupConfig;
use optimc::Config;

pub const N: usize = 20_000;

/// `N` groups of the common shapes (exact names, literal prefixes, literal suffixes, and a few
/// general patterns), then a catch-all; group `i`'s patterns match name `i` and no earlier
/// group's do, so first-match has to look past `i` groups for it.
pub fn big_config() -> Config {
    let mut config = Config::from_source("big.optim", "optimizer = sgd(lr = 0.1)").unwrap();
    let options = config.groups[0].options;
    let group = |i: usize, params: Vec<String>| GroupConfig::new(format!("g{i}"), params, options);
    config.groups = (0..N)
        .map(|i| {
            let params = match i % 4 {
                0 => vec![format!("block{i}.weight"), format!("block{i}.bias")],
                1 => vec![format!("block{i}.*")],
                2 => vec![format!("*.w{i}")],
                _ if i % 1000 == 3 => vec![format!("block{i}.?eight")],
                _ => vec![format!("block{i}.weight")],
            };
            group(i, params)
        })
        .chain([group(N, vec!["*".to_string()])])
        .collect();
    config
}

pub fn name(i: usize) -> String {
    if i % 4 == 2 {
        format!("block{i}.w{i}")
    } else {
        format!("block{i}.weight")
    }
}
