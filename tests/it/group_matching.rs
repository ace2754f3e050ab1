//! Matching parameters to groups scales with groups + parameters, not their product (issue 11
//! point 13): 20,000 groups and 20,000 names used to take 35 s (release) trying every group's
//! patterns for every name. The test counts the matcher's work (hash-map lookups and patterns
//! tried one by one) rather than timing it, so it neither flakes on a busy machine nor passes a
//! quadratic matcher on a fast one; benches/group_matching.rs times the same workload.

use optimc::optim::{GroupMatcher, Optimizer};

#[path = "../../benches/workloads/group_matching.rs"]
mod workload;
use workload::{big_config, name, N};

/// Work allowed per group and per name: a few lookups per distinct prefix and suffix length
/// (about 5 each here), and the 20 general patterns (`block{i}.?eight`) of groups before a
/// name's own.
const WORK_PER_ITEM: usize = 32;

#[test]
fn twenty_thousand_groups_and_names_match_in_linear_work() {
    let config = big_config();
    let names: Vec<String> = (0..N).map(name).chain(["extra".to_string()]).collect();
    let matcher = GroupMatcher::new(config.groups.iter().map(|g| g.params.as_slice()));
    let mut work = 0;
    for (i, n) in names.iter().enumerate() {
        assert_eq!(matcher.first_match_counting(n, &mut work), Some(i), "{n}");
    }
    let bound = WORK_PER_ITEM * (config.groups.len() + names.len());
    assert!(
        work <= bound,
        "matching {} names to {} groups took {work} steps, more than {bound}",
        names.len(),
        config.groups.len()
    );
    // Trying every group in turn until the first match tries i + 1 groups for name i: the
    // bound is far below that, so a quadratic matcher fails here.
    let every_group_in_turn: usize = (1..=names.len()).sum();
    assert!(
        bound * 100 < every_group_in_turn,
        "{bound} vs {every_group_in_turn}"
    );
    // What `Optimizer::new` (and so `Trainer::new` and `replay`) does with the same matcher.
    let params: Vec<(&str, usize)> = names.iter().map(|n| (n.as_str(), 1)).collect();
    let optimizer = Optimizer::new(&config, &params).unwrap();
    for (i, p) in optimizer.state().params.iter().enumerate() {
        assert_eq!(p.group, i, "{} joined group {}", p.name, p.group);
    }
}
