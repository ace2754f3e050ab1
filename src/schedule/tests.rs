//! Unit tests of the schedule runtime: the schedulers' tricky points, composition, per-group
//! instances, save/restore, and the allocation-free hot path.

use super::{Schedule, ScheduleState};
use crate::config::{
    AnnealStrategy, Config, CyclicMode, GroupConfig, Hyperparams, OptimizerKind, PerGroup,
    PlateauMode, ScaleMode, ScheduleConfig, ThresholdMode, WarmupClock, WarmupShape,
};

fn config(kind: OptimizerKind, lrs: &[f64], schedule: Option<ScheduleConfig>) -> Config {
    let defaults = Hyperparams::defaults(kind);
    Config {
        optimizer: kind,
        defaults,
        groups: lrs
            .iter()
            .enumerate()
            .map(|(i, &lr)| {
                GroupConfig::new(
                    format!("g{i}"),
                    vec![format!("g{i}.*")],
                    Hyperparams { lr, ..defaults },
                )
            })
            .collect(),
        schedule,
        run: None,
        average: None,
    }
}

fn sgd(lrs: &[f64], schedule: ScheduleConfig) -> Config {
    config(OptimizerKind::Sgd, lrs, Some(schedule))
}

/// The lrs of every group at every epoch (read, then step), as the reference loop does.
fn run(s: &mut Schedule, epochs: usize, metrics: Option<&[f64]>) -> Vec<Vec<f64>> {
    (0..epochs)
        .map(|e| {
            let lrs = s.lrs().to_vec();
            match metrics {
                Some(m) => s.step_with(m[e]),
                None => s.step().expect("no plateau without metrics"),
            }
            lrs
        })
        .collect()
}

/// Group 0's lr at every epoch.
fn trace(c: &Config, epochs: usize) -> Vec<f64> {
    run(&mut Schedule::new(c), epochs, None)
        .into_iter()
        .map(|l| l[0])
        .collect()
}

fn plateau(patience: u64) -> ScheduleConfig {
    ScheduleConfig::Plateau {
        mode: PlateauMode::Min,
        factor: 0.5,
        patience,
        threshold: 0.0,
        threshold_mode: ThresholdMode::Abs,
        cooldown: 1,
        min_lr: PerGroup::All(0.0),
        eps: 1e-12,
    }
}

fn cyclic(mode: CyclicMode, cycle_momentum: bool) -> ScheduleConfig {
    ScheduleConfig::Cyclic {
        base_lr: PerGroup::All(0.01),
        max_lr: PerGroup::All(0.11),
        step_size_up: 2.0,
        step_size_down: Some(3.0),
        mode,
        gamma: 0.9,
        scale_fn: None,
        scale_mode: ScaleMode::Cycle,
        cycle_momentum,
        base_momentum: PerGroup::All(0.8),
        max_momentum: PerGroup::All(0.9),
    }
}

fn one_cycle(total_steps: u64, three_phase: bool) -> ScheduleConfig {
    one_cycle_max(PerGroup::All(0.1), total_steps, three_phase)
}

fn one_cycle_max(max_lr: PerGroup, total_steps: u64, three_phase: bool) -> ScheduleConfig {
    ScheduleConfig::OneCycle {
        max_lr,
        total_steps,
        pct_start: 0.3,
        anneal_strategy: AnnealStrategy::Cos,
        cycle_momentum: true,
        base_momentum: PerGroup::All(0.85),
        max_momentum: PerGroup::All(0.95),
        div_factor: 25.0,
        final_div_factor: 1e4,
        three_phase,
    }
}

fn near(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * b.abs().max(1e-3)
}

#[test]
fn no_schedule_keeps_each_group_lr() {
    let c = config(OptimizerKind::Adam, &[0.1, 0.2], None);
    let mut s = Schedule::new(&c);
    let lrs = run(&mut s, 3, None);
    assert!(lrs.iter().all(|l| l == &[0.1, 0.2]));
    assert_eq!(s.epoch(), 3);
    assert!(!s.needs_metric() && !s.cycles_momentum());
    assert_eq!(s.momentum(0), None);
}

#[test]
fn multistep_repeated_milestone_decays_twice_and_order_does_not_matter() {
    let ms = |milestones: Vec<u64>| {
        sgd(
            &[1.0],
            ScheduleConfig::Multistep {
                milestones,
                gamma: 0.5,
            },
        )
    };
    let t = trace(&ms(vec![3, 1, 3]), 5);
    assert_eq!(t, [1.0, 0.5, 0.5, 0.125, 0.125]);
    assert_eq!(t, trace(&ms(vec![1, 3, 3]), 5));
}

#[test]
fn absolute_gives_every_group_the_lambdas_lr_times_its_lr_scale() {
    let f = crate::expr::Lambda::from_text("s -> 1e-3 * 0.5 ** s").unwrap();
    let mut c = sgd(&[0.1, 0.02, 7.0], ScheduleConfig::Absolute { lr_lambda: f });
    c.groups[2].lr_scale = 0.25;
    let lrs = run(&mut Schedule::new(&c), 3, None);
    for (s, at) in lrs.iter().enumerate() {
        let lr = 1e-3 * 0.5f64.powi(s as i32);
        // The groups' own lrs play no part (bit for bit: the lambda's value itself).
        assert_eq!(at[0].to_bits(), lr.to_bits(), "step {s}");
        assert_eq!(at[1].to_bits(), lr.to_bits(), "step {s}");
        assert_eq!(at[2].to_bits(), (lr * 0.25).to_bits(), "step {s}");
    }
}

#[test]
fn step_decays_on_multiples_only() {
    let t = trace(
        &sgd(
            &[1.0],
            ScheduleConfig::Step {
                step_size: 2,
                gamma: 0.5,
            },
        ),
        6,
    );
    assert_eq!(t, [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]);
}

#[test]
fn constant_multiplies_back_exactly_once_at_total_iters() {
    let c = |total_iters| {
        sgd(
            &[0.3],
            ScheduleConfig::Constant {
                factor: 0.5,
                total_iters,
            },
        )
    };
    let t = trace(&c(2), 5);
    assert_eq!(t, [0.15, 0.15, 0.3, 0.3, 0.3]);
    // PyTorch quirk: with total_iters = 0 the factor applies at epoch 0 and is never undone.
    assert_eq!(trace(&c(0), 4), [0.15; 4]);
}

#[test]
fn linear_reaches_end_factor_and_holds() {
    let t = trace(
        &sgd(
            &[0.1],
            ScheduleConfig::Linear {
                start_factor: 0.25,
                end_factor: 1.0,
                total_iters: 4,
            },
        ),
        8,
    );
    assert_eq!(t[0], 0.1 * 0.25);
    for w in t[..5].windows(2) {
        assert!(w[1] > w[0], "{t:?}");
    }
    assert!(near(t[4], 0.1), "{t:?}");
    assert!(t[4..].iter().all(|&x| x == t[4]));
}

#[test]
fn polynomial_reaches_zero_and_stays() {
    let t = trace(
        &sgd(
            &[0.1],
            ScheduleConfig::Polynomial {
                total_iters: 4,
                power: 2.0,
            },
        ),
        7,
    );
    assert_eq!(t[0], 0.1);
    assert!(near(t[2], 0.1 * 0.25), "{t:?}");
    assert_eq!(&t[4..], &[0.0; 3]);
}

#[test]
fn cosine_goes_back_up_past_t_max() {
    let (base, eta, t_max) = (0.1, 0.01, 4u64);
    let t = trace(
        &sgd(
            &[base],
            ScheduleConfig::Cosine {
                t_max,
                eta_min: eta,
            },
        ),
        17,
    );
    let closed = |e: usize| {
        eta + (base - eta) * (1.0 + (std::f64::consts::PI * e as f64 / t_max as f64).cos()) / 2.0
    };
    for (e, &lr) in t.iter().enumerate() {
        assert!(near(lr, closed(e)), "epoch {e}: {lr} vs {}", closed(e));
    }
    assert!(near(t[4], eta) && near(t[8], base) && near(t[12], eta) && near(t[16], base));
    // At e = t_max + 1 PyTorch adds the first step of the cycle instead of the ratio form.
    let step = (base - eta) * (1.0 - (std::f64::consts::PI / t_max as f64).cos()) / 2.0;
    assert_eq!(t[5], t[4] + step);
}

#[test]
fn warm_restarts_restart_at_growing_periods() {
    let t = trace(
        &sgd(
            &[0.1],
            ScheduleConfig::CosineRestarts {
                t_0: 2,
                t_mult: 2,
                eta_min: 0.0,
            },
        ),
        15,
    );
    for e in [0, 2, 6, 14] {
        assert_eq!(t[e], 0.1, "restart at {e}: {t:?}");
    }
    assert!(near(t[4], 0.05), "{t:?}");
    assert!(t[1] < 0.1 && t[5] < t[4] && t[13] < t[12]);
}

#[test]
fn cyclic_triangular_momentum_moves_against_lr() {
    let mut s = Schedule::new(&sgd(&[0.5], cyclic(CyclicMode::Triangular, true)));
    assert!(s.cycles_momentum());
    let mut seen = Vec::new();
    for _ in 0..11 {
        seen.push((s.lrs()[0], s.momentum(0).unwrap()));
        s.step().unwrap();
    }
    // up in 2, down in 3: period 5
    assert_eq!(seen[0], (0.01, 0.9));
    assert!(near(seen[2].0, 0.11) && near(seen[2].1, 0.8), "{seen:?}");
    assert_eq!(seen[5].0, 0.01);
    assert!(near(seen[7].0, 0.11));
    for (lr, m) in &seen {
        let frac = (lr - 0.01) / 0.1;
        assert!(near(*m, 0.9 - 0.1 * frac), "{seen:?}");
    }
}

#[test]
fn cyclic_triangular2_halves_and_exp_range_decays_per_iteration() {
    let t = trace(&sgd(&[0.5], cyclic(CyclicMode::Triangular2, false)), 13);
    assert!(near(t[2] - 0.01, 0.1) && near(t[7] - 0.01, 0.05) && near(t[12] - 0.01, 0.025));
    let t = trace(&sgd(&[0.5], cyclic(CyclicMode::ExpRange, false)), 8);
    assert!(near(t[2] - 0.01, 0.1 * 0.9f64.powi(2)), "{t:?}");
    assert!(near(t[7] - 0.01, 0.1 * 0.9f64.powi(7)), "{t:?}");
}

#[test]
fn cyclic_uses_betas_for_adam_and_momentum_for_sgd() {
    let c = config(
        OptimizerKind::Adam,
        &[0.5],
        Some(cyclic(CyclicMode::Triangular, true)),
    );
    let s = Schedule::new(&c);
    assert_eq!(s.momentum(0), Some(0.9));
    let c = config(
        OptimizerKind::Sgd,
        &[0.5],
        Some(cyclic(CyclicMode::Triangular, false)),
    );
    assert_eq!(Schedule::new(&c).momentum(0), None);
}

#[test]
fn cyclic_after_another_child_starts_from_initial_lr() {
    // PyTorch quirk: CyclicLR's initial step runs before it sets its base_lrs, so when an
    // earlier child already set `initial_lr`, epoch 0 shows that lr, not base_lr.
    let chain = ScheduleConfig::Chain {
        children: vec![
            ScheduleConfig::Constant {
                factor: 0.5,
                total_iters: 2,
            },
            cyclic(CyclicMode::Triangular, false),
        ],
    };
    let t = trace(&sgd(&[1.0], chain), 3);
    assert_eq!(t[0], 1.0);
    assert!(near(t[1], 0.01 + 0.05), "{t:?}");
}

#[test]
fn one_cycle_overwrites_lr_and_tolerates_overrun() {
    let c = config(OptimizerKind::Sgd, &[0.5], Some(one_cycle(10, false)));
    let mut s = Schedule::new(&c);
    assert_eq!(s.momentum(0), Some(0.95));
    let lrs = run(&mut s, 14, None);
    assert!(near(lrs[0][0], 0.1 / 25.0), "{lrs:?}");
    let peak = lrs.iter().map(|l| l[0]).fold(0.0, f64::max);
    assert!(near(peak, 0.1));
    assert!(near(lrs[9][0], 0.1 / 25.0 / 1e4), "{lrs:?}");
    // Past total_steps PyTorch raises; the lr is left where it was.
    assert_eq!(lrs[11], lrs[12]);
    assert_eq!(lrs[12], lrs[13]);
}

#[test]
fn one_cycle_three_phase_is_symmetric_then_annihilates() {
    let t = trace(
        &config(OptimizerKind::Sgd, &[0.5], Some(one_cycle(20, true))),
        20,
    );
    // phases end at steps 5, 10 and 19
    assert!(near(t[5], 0.1) && near(t[10], 0.004), "{t:?}");
    assert!(near(t[2], t[8]), "{t:?}");
    assert!(near(t[19], 0.004 / 1e4), "{t:?}");
}

#[test]
fn plateau_needs_a_metric_but_survives_without() {
    let c = sgd(&[1.0], plateau(1));
    let mut s = Schedule::new(&c);
    assert!(s.needs_metric());
    assert!(s.step().is_err());
    assert_eq!(s.epoch(), 0);
    for _ in 0..5 {
        s.step_counting_plateaus();
    }
    assert_eq!(s.lrs(), [1.0]);
    let t = run(&mut s, 6, Some(&[1.0, 1.0, 1.0, 1.0, 1.0, 1.0]));
    // first metric sets best; 2 bad epochs > patience 1 → halve; cooldown 1 eats one bad epoch
    let lrs: Vec<f64> = t.iter().map(|l| l[0]).collect();
    assert_eq!(lrs, [1.0, 1.0, 1.0, 0.5, 0.5, 0.5]);
    assert_eq!(s.lrs(), [0.25]);
}

#[test]
fn plateau_in_chain_composes_with_exponential() {
    let chain = ScheduleConfig::Chain {
        children: vec![ScheduleConfig::Exponential { gamma: 0.5 }, plateau(0)],
    };
    let mut s = Schedule::new(&sgd(&[1.0], chain));
    let t = run(&mut s, 4, Some(&[1.0, 2.0, 0.5, 0.5]));
    let lrs: Vec<f64> = t.iter().map(|l| l[0]).collect();
    // epoch 1 step: ×0.5 then plateau sees a bad epoch (patience 0) → ×0.5 again
    assert_eq!(lrs, [1.0, 0.5, 0.125, 0.0625]);
}

#[test]
fn sequence_child_takes_over_from_initial_lr() {
    let seq = ScheduleConfig::Sequence {
        children: vec![
            ScheduleConfig::Linear {
                start_factor: 0.5,
                end_factor: 1.0,
                total_iters: 10,
            },
            ScheduleConfig::Exponential { gamma: 0.5 },
        ],
        milestones: vec![3],
    };
    let t = trace(&sgd(&[0.8], seq), 6);
    assert_eq!(t[0], 0.4);
    assert!(t[1] > 0.4 && t[2] > t[1] && t[2] < 0.8);
    assert_eq!(&t[3..], &[0.8, 0.4, 0.2]);
}

#[test]
fn sequence_with_plateau_child_restarts_it_from_initial_lr() {
    let seq = ScheduleConfig::Sequence {
        children: vec![ScheduleConfig::Exponential { gamma: 0.5 }, plateau(0)],
        milestones: vec![2],
    };
    let mut s = Schedule::new(&sgd(&[1.0], seq));
    let t = run(&mut s, 6, Some(&[9.0, 9.0, 1.0, 1.0, 1.0, 1.0]));
    let lrs: Vec<f64> = t.iter().map(|l| l[0]).collect();
    // the metric of the takeover step (epoch 1) is not seen by the plateau
    assert_eq!(lrs, [1.0, 0.5, 1.0, 1.0, 0.5, 0.5]);
}

#[test]
fn groups_with_own_schedules_get_own_instances() {
    let mut c = sgd(
        &[1.0, 1.0, 1.0],
        one_cycle_max(PerGroup::Each(vec![0.1, 0.2, 0.3]), 10, false),
    );
    c.groups[1].schedule = Some(ScheduleConfig::Step {
        step_size: 1,
        gamma: 0.5,
    });
    let mut s = Schedule::new(&c);
    assert!(near(s.lrs()[0], 0.1 / 25.0) && near(s.lrs()[2], 0.3 / 25.0));
    assert_eq!(s.lrs()[1], 1.0);
    assert_eq!(
        (s.momentum(0), s.momentum(1), s.momentum(2)),
        (Some(0.95), None, Some(0.95))
    );
    s.step().unwrap();
    assert_eq!(s.lrs()[1], 0.5);
    assert!(near(s.lrs()[2] / s.lrs()[0], 3.0));
}

fn resume_is_bit_identical(c: &Config, metrics: Option<&[f64]>, k: usize, epochs: usize) {
    let mut whole = Schedule::new(c);
    let full = run(&mut whole, epochs, metrics);

    let mut first = Schedule::new(c);
    let head = run(&mut first, k, metrics);
    let json = serde_json::to_string(&first.state()).unwrap();
    let state: ScheduleState = serde_json::from_str(&json).unwrap();
    assert_eq!(state, first.state(), "JSON round trip of the state");

    let mut resumed = Schedule::new(c);
    run(&mut resumed, 1, metrics); // perturb, to see restore overwrite it
    resumed.restore(&state).unwrap();
    assert_eq!(resumed.epoch(), k as u64);
    let tail = run(&mut resumed, epochs - k, metrics.map(|m| &m[k..]));
    let joined: Vec<Vec<u64>> = head
        .iter()
        .chain(&tail)
        .map(|l| l.iter().map(|x| x.to_bits()).collect())
        .collect();
    let expected: Vec<Vec<u64>> = full
        .iter()
        .map(|l| l.iter().map(|x| x.to_bits()).collect())
        .collect();
    assert_eq!(joined, expected);
}

#[test]
fn save_restore_plateau() {
    let metrics: Vec<f64> = (0..30).map(|e| 1.0 / (1.0 + (e % 7) as f64)).collect();
    let c = sgd(&[0.1, 0.05], plateau(1));
    for k in [0, 1, 5, 13, 29] {
        resume_is_bit_identical(&c, Some(&metrics), k, 30);
    }
}

#[test]
fn save_restore_cyclic() {
    let c = config(
        OptimizerKind::Adam,
        &[0.1, 0.05],
        Some(cyclic(CyclicMode::Triangular2, true)),
    );
    for k in [0, 3, 7, 19] {
        resume_is_bit_identical(&c, None, k, 20);
    }
}

#[test]
fn save_restore_sequence() {
    let seq = ScheduleConfig::Sequence {
        children: vec![
            ScheduleConfig::Linear {
                start_factor: 0.1,
                end_factor: 1.0,
                total_iters: 5,
            },
            ScheduleConfig::CosineRestarts {
                t_0: 3,
                t_mult: 2,
                eta_min: 0.001,
            },
            ScheduleConfig::Cosine {
                t_max: 7,
                eta_min: 0.0,
            },
        ],
        milestones: vec![5, 14],
    };
    let c = sgd(&[0.1, 0.02], seq);
    for k in [0, 4, 5, 6, 13, 14, 20] {
        resume_is_bit_identical(&c, None, k, 25);
    }
}

/// The schedulers whose step keeps a remainder, a milestone position or the previous cosine
/// from one epoch to the next resume exactly, whether the state is restored just before, at or
/// after the epoch where the lr changes (the kept values are checked against the epoch).
#[test]
fn save_restore_incremental_kinds() {
    let kinds = [
        ScheduleConfig::Step {
            step_size: 3,
            gamma: 0.5,
        },
        ScheduleConfig::Multistep {
            milestones: vec![2, 5, 5, 9],
            gamma: 0.3,
        },
        ScheduleConfig::Constant {
            factor: 0.25,
            total_iters: 4,
        },
        ScheduleConfig::Exponential { gamma: 0.9 },
        ScheduleConfig::Cosine {
            t_max: 4,
            eta_min: 0.001,
        },
        ScheduleConfig::Polynomial {
            total_iters: 6,
            power: 1.5,
        },
    ];
    for kind in kinds {
        let c = sgd(&[0.1, 0.02], kind);
        for k in [0, 1, 2, 3, 4, 5, 6, 9, 10, 13] {
            resume_is_bit_identical(&c, None, k, 16);
        }
    }
}

#[test]
fn restore_refuses_other_structures_and_leaves_schedule_alone() {
    let a = sgd(&[0.1, 0.05], plateau(1));
    let b = sgd(&[0.1, 0.05], ScheduleConfig::Exponential { gamma: 0.9 });
    let three = sgd(&[0.1, 0.05, 0.01], plateau(1));
    let mut s = Schedule::new(&b);
    s.step().unwrap();
    let before = s.state();

    let err = s.restore(&Schedule::new(&a).state()).unwrap_err();
    assert!(err.to_string().contains("ReduceLROnPlateau"), "{err}");
    assert!(err.to_string().contains("ExponentialLR"), "{err}");
    let err = s.restore(&Schedule::new(&three).state()).unwrap_err();
    assert!(err.to_string().contains("3 parameter groups"), "{err}");
    assert_eq!(s.state(), before);

    let mut per_group = b.clone();
    per_group.groups[1].schedule = Some(ScheduleConfig::Exponential { gamma: 0.9 });
    let err = s.restore(&Schedule::new(&per_group).state()).unwrap_err();
    assert!(err.to_string().contains("schedule instances"), "{err}");
    assert_eq!(s.state(), before);

    // Same shapes, but the instances drive different groups.
    let mut own_0 = b.clone();
    own_0.groups[0].schedule = Some(ScheduleConfig::Exponential { gamma: 0.9 });
    let mut s = Schedule::new(&per_group);
    let err = s.restore(&Schedule::new(&own_0).state()).unwrap_err();
    assert!(err.to_string().contains("drives groups"), "{err}");
}

fn warmup(
    steps: u64,
    then: ScheduleConfig,
    clock: WarmupClock,
    start_lr: Option<PerGroup>,
) -> ScheduleConfig {
    ScheduleConfig::Warmup {
        steps,
        then: Box::new(then),
        start_factor: 0.0,
        start_lr,
        shape: WarmupShape::Linear,
        clock,
        then_every: 1,
        start_momentum: None,
    }
}

fn multistep(milestones: &[u64]) -> ScheduleConfig {
    ScheduleConfig::Multistep {
        milestones: milestones.to_vec(),
        gamma: 0.5,
    }
}

fn cosine(t_max: u64) -> ScheduleConfig {
    ScheduleConfig::Cosine {
        t_max,
        eta_min: 0.0,
    }
}

/// A warmup from 0 before a schedule is transformers' warmup, to the bit: `lr * step / steps`,
/// then the schedule from its step 0.
#[test]
fn warmup_after_is_transformers_warmup_bit_for_bit() {
    let ours = warmup(
        10,
        ScheduleConfig::WarmupLinear {
            warmup: 0,
            total: 90,
        },
        WarmupClock::After,
        None,
    );
    let theirs = ScheduleConfig::WarmupLinear {
        warmup: 10,
        total: 100,
    };
    let (a, b) = (sgd(&[0.1, 0.3], ours), sgd(&[0.1, 0.3], theirs));
    assert_eq!(
        run(&mut Schedule::new(&a), 120, None),
        run(&mut Schedule::new(&b), 120, None)
    );
}

/// The three clocks over the same multistep: `after` shifts its milestones by the warmup,
/// `overlap` and `follow` keep them; `follow` heads for each step's lr, `overlap` for step
/// `steps`'s.
#[test]
fn warmup_clocks() {
    let lrs = |clock, then| trace(&sgd(&[1.0], warmup(4, then, clock, None)), 12);
    let after = lrs(WarmupClock::After, multistep(&[6]));
    assert_eq!(
        after,
        [0.0, 0.25, 0.5, 0.75, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.5]
    );
    let overlap = lrs(WarmupClock::Overlap, multistep(&[2]));
    assert_eq!(
        overlap,
        [0.0, 0.125, 0.25, 0.375, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]
    );
    let follow = lrs(WarmupClock::Follow, multistep(&[2]));
    assert_eq!(
        follow,
        [0.0, 0.25, 0.25, 0.375, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]
    );
    // From an absolute lr per group, down as well as up; `then_every` slows `then`'s clock.
    let mut per_group = warmup(
        4,
        multistep(&[1]),
        WarmupClock::Follow,
        Some(PerGroup::Each(vec![2.0, 0.0])),
    );
    if let ScheduleConfig::Warmup { then_every, .. } = &mut per_group {
        *then_every = 3;
    }
    let got = run(&mut Schedule::new(&sgd(&[1.0, 1.0], per_group)), 7, None);
    let expected = [
        [2.0, 0.0],
        [1.75, 0.25],
        [1.5, 0.5],
        [0.875, 0.375],
        [0.5, 0.5],
        [0.5, 0.5],
        [0.5, 0.5],
    ];
    assert_eq!(got, expected);
}

#[test]
fn save_restore_warmup_mid_warmup_and_after() {
    for clock in [
        WarmupClock::After,
        WarmupClock::Overlap,
        WarmupClock::Follow,
    ] {
        let c = sgd(
            &[0.1, 0.2],
            warmup(6, cosine(20), clock, Some(PerGroup::Each(vec![0.3, 0.0]))),
        );
        resume_is_bit_identical(&c, None, 3, 30);
        resume_is_bit_identical(&c, None, 9, 30);
    }
}

/// A warmup as a later child of `sequence` restarts when it takes over: from 0 to the
/// group's initial lr again.
#[test]
fn warmup_inside_sequence_restarts_at_its_milestone() {
    let seq = ScheduleConfig::Sequence {
        children: vec![
            ScheduleConfig::Constant {
                factor: 0.5,
                total_iters: 100,
            },
            warmup(2, multistep(&[3]), WarmupClock::After, None),
        ],
        milestones: vec![3],
    };
    assert_eq!(
        trace(&sgd(&[1.0], seq), 10),
        [0.5, 0.5, 0.5, 0.0, 0.5, 1.0, 1.0, 1.0, 0.5, 0.5]
    );
}

/// `w` (a warmup) with `start_momentum`.
fn warming_momentum(mut w: ScheduleConfig) -> ScheduleConfig {
    if let ScheduleConfig::Warmup { start_momentum, .. } = &mut w {
        *start_momentum = Some(PerGroup::Each(vec![0.5, 0.6]));
    }
    w
}

/// A file's schedule, checked.
fn checked(source: &str) -> Config {
    Config::from_source("t.optim", source).unwrap()
}

/// Every group's lr and momentum (`None` where not scheduled) at every epoch, as bits.
fn lrs_and_momenta(s: &mut Schedule, epochs: usize) -> Vec<Vec<Option<u64>>> {
    (0..epochs)
        .map(|_| {
            let n = s.lrs().len();
            let row = (0..n)
                .map(|g| Some(s.lrs()[g].to_bits()))
                .chain((0..n).map(|g| s.momentum(g).map(f64::to_bits)))
                .collect();
            s.step().unwrap();
            row
        })
        .collect()
}

/// Group `g`'s momentum at every epoch.
fn momenta(c: &Config, g: usize, epochs: usize) -> Vec<f64> {
    let mut s = Schedule::new(c);
    (0..epochs)
        .map(|_| {
            let m = s.momentum(g).expect("the schedule sets momentum");
            s.step().unwrap();
            m
        })
        .collect()
}

fn assert_close(got: &[f64], expected: &[f64]) {
    assert_eq!(got.len(), expected.len());
    for (k, (a, b)) in got.iter().zip(expected).enumerate() {
        assert!((a - b).abs() <= 1e-15, "step {k}: {a} != {b}\n{got:?}");
    }
}

/// `start_momentum` ramps momentum over the warmup's steps to the optimizer's, the same under
/// every clock (the clock decides only the lrs); per group; along the warmup's shape; and
/// `betas[0]` for an optimizer with betas.
#[test]
fn warmup_momentum_ramps_to_the_optimizers_and_stays() {
    for clock in ["after", "overlap", "follow"] {
        let c = checked(&format!(
            "optimizer = sgd(lr = 1, momentum = 0.9)\n\
             schedule = warmup(steps = 4, then = step(step_size = 2), start_momentum = 0.5, clock = {clock})\n"
        ));
        assert_close(
            &momenta(&c, 0, 8),
            &[0.5, 0.6, 0.7, 0.8, 0.9, 0.9, 0.9, 0.9],
        );
    }
    let c = checked(
        "optimizer = adamw(lr = 1, betas = (0.95, 0.99))\n\
         group a { params = \"a\" }\n\
         group b { params = \"b\", betas = (0.85, 0.999) }\n\
         schedule = warmup(steps = 2, then = exponential(gamma = 0.5), start_momentum = [0.75, 0.8], shape = cosine)\n",
    );
    assert_close(&momenta(&c, 0, 4), &[0.75, 0.85, 0.95, 0.95]);
    assert_close(&momenta(&c, 1, 4), &[0.8, 0.825, 0.85, 0.85]);
    let c = checked(
        "optimizer = sgd(lr = 1, momentum = 0.9)\n\
         schedule = warmup(steps = 3, then = step(step_size = 2), start_momentum = 0.5, shape = constant)\n",
    );
    assert_close(&momenta(&c, 0, 5), &[0.5, 0.5, 0.5, 0.9, 0.9]);
    // No momentum scheduled without `start_momentum`.
    let c = checked(
        "optimizer = sgd(lr = 1, momentum = 0.9)\n\
         schedule = warmup(steps = 3, then = step(step_size = 2))\n",
    );
    assert_eq!(Schedule::new(&c).momentum(0), None);
}

/// In a `sequence`, a warmup of the momentum acts only while it runs: built as a later child
/// it leaves the optimizer's momentum alone until its milestone, then warms it up again.
#[test]
fn warmup_momentum_inside_sequence() {
    let later = checked(
        "optimizer = sgd(lr = 1, momentum = 0.9)\n\
         schedule = sequence(constant(factor = 0.5, total_iters = 100), \
         warmup(steps = 2, then = step(step_size = 5), start_momentum = 0.5), milestones = [3])\n",
    );
    assert_close(&momenta(&later, 0, 7), &[0.9, 0.9, 0.9, 0.5, 0.7, 0.9, 0.9]);
    let first = checked(
        "optimizer = sgd(lr = 1, momentum = 0.9)\n\
         schedule = sequence(warmup(steps = 2, then = constant(factor = 1), start_momentum = 0.5), \
         exponential(gamma = 0.5), milestones = [4])\n",
    );
    assert_close(&momenta(&first, 0, 6), &[0.5, 0.7, 0.9, 0.9, 0.9, 0.9]);
}

/// A schedule saved in the middle of a momentum warmup (and after it) resumes bit for bit:
/// lrs and momenta.
#[test]
fn save_restore_mid_momentum_warmup() {
    for clock in ["after", "overlap", "follow"] {
        let c = checked(&format!(
            "optimizer = sgd(lr = 0.1, momentum = 0.937, nesterov = true)\n\
             group a {{ params = \"a\" }}\n\
             group b {{ params = \"b\" }}\n\
             schedule = warmup(steps = 7, then = cosine(t_max = 5), start_lr = [0.3, 0], \
             start_momentum = [0.8, 0.7], clock = {clock}, then_every = 2)\n"
        ));
        let full = lrs_and_momenta(&mut Schedule::new(&c), 20);
        for k in [3, 7, 9] {
            let mut first = Schedule::new(&c);
            let mut joined = lrs_and_momenta(&mut first, k);
            let json = serde_json::to_string(&first.state()).unwrap();
            let mut resumed = Schedule::new(&c);
            resumed.step().unwrap(); // perturb, to see restore overwrite it
            resumed
                .restore(&serde_json::from_str(&json).unwrap())
                .unwrap();
            joined.extend(lrs_and_momenta(&mut resumed, 20 - k));
            assert_eq!(joined, full, "{clock}, saved at {k}");
        }
    }
}

#[test]
fn stepping_and_reading_do_not_allocate() {
    let seq = ScheduleConfig::Sequence {
        children: vec![
            ScheduleConfig::Chain {
                children: vec![cyclic(CyclicMode::ExpRange, true), plateau(0)],
            },
            one_cycle(8, true),
            ScheduleConfig::Multistep {
                milestones: vec![20, 22, 22],
                gamma: 0.5,
            },
            warmup(3, cosine(5), WarmupClock::Follow, None),
            warming_momentum(warmup(3, cosine(5), WarmupClock::After, None)),
            // The library schedules that set the lr themselves (absolute.rs).
            ScheduleConfig::TimmCosine {
                t_initial: 3,
                lr_min: 1e-3,
                cycle_mul: 2.0,
                cycle_decay: 0.5,
                cycle_limit: 3,
                warmup_t: 2,
                warmup_lr_init: 1e-4,
                warmup_prefix: true,
                k_decay: 1.5,
            },
            ScheduleConfig::TimmWsd {
                t_initial: 6,
                decay_t: 3,
                lr_min: 1e-3,
                stable_fn: crate::config::TimmStableFn::Rsqrt,
                stable_timescale: None,
                stable_power: 0.5,
                decay_fn: crate::config::TimmDecayFn::Exp,
                decay_power: 0.5,
                decay_ratio: 0.1,
                warmup_t: 2,
                warmup_lr_init: 0.0,
            },
            ScheduleConfig::NanogptCosine {
                warmup_iters: 2,
                lr_decay_iters: 6,
                min_lr: 1e-3,
                learning_rate: None,
            },
        ],
        milestones: vec![6, 14, 24, 30, 34, 40, 50],
    };
    let mut s = Schedule::new(&sgd(&[0.1, 0.2], seq));
    let before = alloc_count::get();
    let mut sum = 0.0;
    for e in 0..60 {
        sum += s.lrs().iter().sum::<f64>() + s.momentum(1).unwrap_or(0.0);
        if e % 2 == 0 {
            s.step_with(e as f64);
        } else {
            s.step_counting_plateaus();
        }
    }
    assert_eq!(alloc_count::get(), before, "step/lrs allocated");
    assert!(sum.is_finite());
    // The counter does see allocations.
    let _ = s.state();
    assert!(alloc_count::get() > before);
}

/// Counts this thread's heap allocations (for the allocation-free hot-path test).
mod alloc_count {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    struct Counting;

    thread_local! {
        static COUNT: Cell<u64> = const { Cell::new(0) };
    }

    // SAFETY: forwards to the system allocator; only counts.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            let _ = COUNT.try_with(|c| c.set(c.get() + 1));
            unsafe { System.alloc(layout) }
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            unsafe { System.dealloc(ptr, layout) }
        }
        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            let _ = COUNT.try_with(|c| c.set(c.get() + 1));
            unsafe { System.realloc(ptr, layout, new_size) }
        }
    }

    #[global_allocator]
    static GLOBAL: Counting = Counting;

    pub fn get() -> u64 {
        COUNT.with(Cell::get)
    }
}

/// `lr_scale` multiplies every lr the schedule writes (timm's `value * group["lr_scale"]`):
/// the schedule itself runs on the unscaled lr, so a chainable one does not compound it, and
/// set_lr and restore keep the product current.
#[test]
fn lr_scale_multiplies_every_lr_the_schedule_writes() {
    let mut config = sgd(
        &[0.1, 0.1],
        ScheduleConfig::Step {
            step_size: 1,
            gamma: 0.5,
        },
    );
    config.groups[0].lr_scale = 0.75;
    let mut s = Schedule::new(&config);
    let trace = run(&mut s, 3, None);
    let plain = [0.1, 0.1 * 0.5, 0.1 * 0.5 * 0.5];
    for (e, lrs) in trace.iter().enumerate() {
        assert_eq!(lrs[0], plain[e] * 0.75, "epoch {e}");
        assert_eq!(lrs[1], plain[e], "epoch {e}");
    }
    let saved = s.state();
    s.set_lr(0, 0.2).unwrap();
    assert_eq!(s.lrs()[0], 0.2 * 0.75);
    s.restore(&saved).unwrap();
    assert_eq!(s.lrs()[0], 0.1 * 0.5 * 0.5 * 0.5 * 0.75);
    // No schedule at all: the constant lr is scaled too.
    let mut constant = config.clone();
    constant.schedule = None;
    assert_eq!(Schedule::new(&constant).lrs(), [0.1 * 0.75, 0.1]);
}
