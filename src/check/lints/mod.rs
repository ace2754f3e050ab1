//! Lints: warnings about files that work but probably do not do what was meant. Each lint is
//! its own file.

mod ignored_lr;
mod milestones;
mod rprop_schedule;
mod shadowed_groups;
mod unused_lets;
mod warmup_momentum;
