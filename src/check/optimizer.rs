//! The optimizer and the groups: the optimizer call with its options, each group's fields, and the
//! groups' options once the optimizer's values are known.

use super::{Checker, Item, Value};
use crate::ast::{self, Span};
use crate::config::{GroupConfig, Hyperparams, OptimizerKind, OptionName, OptionValueKind};
use crate::diagnostic::text::did_you_mean;
use crate::diagnostic::{Code, Diagnostic};
use std::collections::HashMap;

impl Checker {
    pub(super) fn optimizer_call(&mut self, call: &ast::Call) -> Option<Hyperparams> {
        let name = call.name.name.as_str();
        let Some(kind) = OptimizerKind::from_name(name) else {
            let names: Vec<&str> = OptimizerKind::ALL.iter().map(|k| k.name()).collect();
            let help = match did_you_mean(name, names.iter().copied()) {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!("optimizers are: {}", names.join(", ")),
            };
            self.error(
                Diagnostic::error(
                    Code::UnknownOptimizer,
                    call.name.span,
                    format!("there is no optimizer `{name}`"),
                )
                .with_label("unknown optimizer")
                .with_help(help),
            );
            return None;
        };
        let (options, positional) = kind.options();
        let names: &'static [&'static str] = option_names(kind);
        let errors_before = self.error_count();
        let b = self.bind(call, kind.name(), names, positional, 0, false);
        let pytorch = Hyperparams::defaults(kind);
        let mut hp = pytorch;
        for option in options {
            if let Some(e) = b.get(option.name()) {
                if let Some(v) = self.option_value(*option, e) {
                    // `lr` stays even at its default: PyTorch's SGD requires it.
                    if *option != OptionName::Lr && v == option_value_of(&pytorch, *option) {
                        let span = call
                            .args
                            .iter()
                            .find(|a| a.value.span == e.span)
                            .map_or(e.span, ast::Arg::span);
                        self.diags.push(
                            Diagnostic::warning(
                                Code::RedundantOption,
                                span,
                                format!(
                                    "`{} = {}` is already {}'s default",
                                    option.name(),
                                    v,
                                    kind.torch_name()
                                ),
                            )
                            .with_label("PyTorch's default")
                            .with_help("remove it"),
                        );
                    }
                    apply_option(&mut hp, *option, v);
                }
            }
        }
        // Options set in the call (not groups) are checked here against PyTorch's own rules.
        self.validate_hyperparams(kind, &hp, &|o| {
            b.get(o.name()).map(|e| e.span).unwrap_or(call.span)
        });
        (self.error_count() == errors_before).then_some(hp)
    }

    pub(super) fn validate_hyperparams(
        &mut self,
        kind: OptimizerKind,
        hp: &Hyperparams,
        span_of: &dyn Fn(OptionName) -> Span,
    ) {
        for problem in crate::optim::validate(kind, hp) {
            self.error(
                Diagnostic::error(Code::OutOfRange, span_of(problem.option), problem.message)
                    .with_label(format!("invalid `{}`", problem.option.name()))
                    .with_help(problem.help),
            );
        }
    }

    pub(super) fn option_value(
        &mut self,
        option: OptionName,
        e: &ast::Expr,
    ) -> Option<OptionValue> {
        let v = self.arg_value(e)?;
        match option.value_kind() {
            OptionValueKind::Number => {
                let n = self.as_number(v, e.span)?;
                if !n.is_finite() {
                    self.error(
                        Diagnostic::error(
                            Code::OutOfRange,
                            e.span,
                            format!("`{}` is {n}", option.name()),
                        )
                        .with_label("not a finite number")
                        .with_help(format!("give `{}` a finite value", option.name())),
                    );
                    return None;
                }
                Some(OptionValue::Number(n))
            }
            OptionValueKind::Bool => Some(OptionValue::Bool(self.as_bool(v, e.span)?)),
            OptionValueKind::Pair => match v {
                Value::Tuple(items) | Value::List(items) if items.len() == 2 => {
                    let mut it = items.into_iter();
                    let (a, b) = (it.next()?, it.next()?);
                    let a = self.as_number(a.value, a.span);
                    let b = self.as_number(b.value, b.span);
                    Some(OptionValue::Pair(a?, b?))
                }
                other => {
                    self.type_error(
                        &other,
                        e.span,
                        "a pair of numbers",
                        Some(format!("write e.g. `{} = (0.9, 0.999)`", option.name())),
                    );
                    None
                }
            },
        }
    }

    pub(super) fn group(
        &mut self,
        name: &ast::Ident,
        fields: &[ast::Field],
    ) -> (GroupConfig, Vec<(OptionName, OptionValue, Span)>) {
        let mut seen: HashMap<&str, Span> = HashMap::new();
        let mut params: Option<Vec<String>> = None;
        let mut schedule = None;
        let mut overrides = Vec::new();
        for field in fields {
            let key = field.key.name.as_str();
            if let Some(first) = seen.get(key) {
                self.error(
                    Diagnostic::error(
                        Code::DuplicateField,
                        field.key.span,
                        format!("`{key}` is set twice in group `{}`", name.name),
                    )
                    .with_label("set again here")
                    .with_related(*first, "first set here")
                    .with_help(format!("remove one of the two values of `{key}`")),
                );
                continue;
            }
            seen.insert(key, field.key.span);
            match key {
                "params" => {
                    params = self.patterns(&field.value).map(|patterns| {
                        let spans = patterns.iter().map(|(_, span)| *span).collect();
                        self.group_patterns
                            .push((self.groups_checked, name.span, spans));
                        patterns.into_iter().map(|(p, _)| p).collect()
                    })
                }
                "schedule" => schedule = self.schedule_value(&field.value),
                _ => {
                    let option = OptionName::from_name(key);
                    let allowed = self.optimizer.map(|k| k.options().0);
                    match (option, allowed) {
                        (Some(o), Some(allowed)) if allowed.contains(&o) => {
                            if let Some(v) = self.option_value(o, &field.value) {
                                overrides.push((o, v, field.key.span.to(field.value.span)));
                            }
                        }
                        (Some(o), None) => {
                            // Unknown optimizer: still check the value's type.
                            let _ = self.option_value(o, &field.value);
                        }
                        _ => self.unknown_field(name, &field.key, option),
                    }
                }
            }
        }
        if params.is_none() && !seen.contains_key("params") {
            self.error(
                Diagnostic::error(
                    Code::MissingParams,
                    name.span,
                    format!("group `{}` has no `params`", name.name),
                )
                .with_label("which parameters belong here?")
                .with_help(format!(
                    "add `params = \"{}.*\"` (a glob over parameter names) to the group",
                    name.name
                )),
            );
        }
        self.groups_checked += 1;
        (
            GroupConfig {
                name: name.name.clone(),
                params: params.unwrap_or_default(),
                options: Hyperparams::defaults(self.optimizer.unwrap_or(OptimizerKind::Sgd)),
                schedule,
            },
            overrides,
        )
    }

    pub(super) fn unknown_field(
        &mut self,
        group: &ast::Ident,
        key: &ast::Ident,
        option: Option<OptionName>,
    ) {
        let kind = self.optimizer;
        let allowed: Vec<&str> = kind
            .map(|k| k.options().0.iter().map(|o| o.name()).collect())
            .unwrap_or_default();
        let help = match option {
            Some(o) => {
                let owners: Vec<&str> = OptimizerKind::ALL
                    .iter()
                    .filter(|k| k.options().0.contains(&o))
                    .map(|k| k.name())
                    .collect();
                let owners = match owners.split_last() {
                    Some((last, [])) => last.to_string(),
                    Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
                    None => String::new(),
                };
                let mut help = format!(
                    "`{}` is an option of {owners}, not of {}",
                    o.name(),
                    kind.map(|k| k.name()).unwrap_or("this optimizer")
                );
                if o == OptionName::Momentum && kind.is_some_and(OptimizerKind::has_betas) {
                    help.push_str("; its momentum is `betas[0]`, e.g. `betas = (0.9, 0.999)`");
                }
                help
            }
            None => match did_you_mean(
                &key.name,
                allowed.iter().copied().chain(["params", "schedule"]),
            ) {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!(
                    "a group takes `params`, `schedule` and the optimizer's options: {}",
                    allowed.join(", ")
                ),
            },
        };
        self.error(
            Diagnostic::error(
                Code::UnknownOption,
                key.span,
                format!(
                    "`{}` is not a field of group `{}`{}",
                    key.name,
                    group.name,
                    kind.map(|k| format!(" (the optimizer is {})", k.name()))
                        .unwrap_or_default()
                ),
            )
            .with_label("unknown field")
            .with_help(help),
        );
    }

    pub(super) fn patterns(&mut self, e: &ast::Expr) -> Option<Vec<(String, Span)>> {
        let v = self.arg_value(e)?;
        let items = match v {
            Value::Str(s) => vec![Item {
                value: Value::Str(s),
                span: e.span,
            }],
            Value::List(items) => items,
            other => {
                self.type_error(
                    &other,
                    e.span,
                    "a pattern string or a list of them",
                    Some("write e.g. `params = \"encoder.*\"` or `params = [\"*.bias\", \"*.norm.*\"]`".into()),
                );
                return None;
            }
        };
        if items.is_empty() {
            self.error(
                Diagnostic::error(Code::MissingParams, e.span, "`params` is an empty list")
                    .with_label("matches nothing")
                    .with_help("list at least one pattern, e.g. `params = [\"head.*\"]`"),
            );
            return None;
        }
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            match item.value {
                Value::Str(s) => out.push((s, item.span)),
                other => self.type_error(
                    &other,
                    item.span,
                    "a pattern string",
                    Some("patterns are quoted, e.g. \"encoder.*\"".into()),
                ),
            }
        }
        Some(out)
    }

    /// Gives every group the optimizer's values with its own options on top (warning about an
    /// option set to the value it inherits anyway), or makes the one default group.
    pub(super) fn finish_groups(
        &mut self,
        groups: &mut Vec<GroupConfig>,
        overrides: Vec<Vec<(OptionName, OptionValue, Span)>>,
        defaults: Hyperparams,
    ) {
        if groups.is_empty() {
            groups.push(GroupConfig {
                name: "default".into(),
                params: vec!["*".into()],
                options: defaults,
                schedule: None,
            });
        } else {
            for (group, opts) in groups.iter_mut().zip(overrides) {
                group.options = defaults;
                for (option, value, span) in opts {
                    if value == option_value_of(&defaults, option) {
                        self.diags.push(
                            Diagnostic::warning(
                                Code::RedundantOption,
                                span,
                                format!(
                                    "group `{}` sets `{} = {value}`, the value it already inherits from the optimizer",
                                    group.name,
                                    option.name()
                                ),
                            )
                            .with_label("same as in `optimizer = ...`")
                            .with_help("remove it: a group inherits every option it does not set"),
                        );
                    }
                    apply_option(&mut group.options, option, value);
                }
            }
            self.lint_shadowed_groups(groups);
        }
    }
}

/// A checked value for one optimizer option.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum OptionValue {
    Number(f64),
    Bool(bool),
    Pair(f64, f64),
}

fn apply_option(hp: &mut Hyperparams, option: OptionName, value: OptionValue) {
    use OptionName::*;
    match (option, value) {
        (Lr, OptionValue::Number(v)) => hp.lr = v,
        (Momentum, OptionValue::Number(v)) => hp.momentum = v,
        (Dampening, OptionValue::Number(v)) => hp.dampening = v,
        (WeightDecay, OptionValue::Number(v)) => hp.weight_decay = v,
        (Eps, OptionValue::Number(v)) => hp.eps = v,
        (Alpha, OptionValue::Number(v)) => hp.alpha = v,
        (LrDecay, OptionValue::Number(v)) => hp.lr_decay = v,
        (InitialAccumulatorValue, OptionValue::Number(v)) => hp.initial_accumulator_value = v,
        (Rho, OptionValue::Number(v)) => hp.rho = v,
        (MomentumDecay, OptionValue::Number(v)) => hp.momentum_decay = v,
        (Nesterov, OptionValue::Bool(b)) => hp.nesterov = b,
        (Maximize, OptionValue::Bool(b)) => hp.maximize = b,
        (Amsgrad, OptionValue::Bool(b)) => hp.amsgrad = b,
        (Centered, OptionValue::Bool(b)) => hp.centered = b,
        (DecoupledWeightDecay, OptionValue::Bool(b)) => hp.decoupled_weight_decay = b,
        (Betas, OptionValue::Pair(a, b)) => hp.betas = (a, b),
        // The option's kind decides the value's kind, so no other pairing is built.
        _ => {}
    }
}

impl std::fmt::Display for OptionValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::diagnostic::text::format_number as num;
        match self {
            OptionValue::Number(v) => f.write_str(&num(*v)),
            OptionValue::Bool(b) => write!(f, "{b}"),
            OptionValue::Pair(a, b) => write!(f, "({}, {})", num(*a), num(*b)),
        }
    }
}

/// The value `hp` holds for `option`.
fn option_value_of(hp: &Hyperparams, option: OptionName) -> OptionValue {
    use OptionName::*;
    let n = OptionValue::Number;
    match option {
        Lr => n(hp.lr),
        Momentum => n(hp.momentum),
        Dampening => n(hp.dampening),
        WeightDecay => n(hp.weight_decay),
        Eps => n(hp.eps),
        Alpha => n(hp.alpha),
        LrDecay => n(hp.lr_decay),
        InitialAccumulatorValue => n(hp.initial_accumulator_value),
        Rho => n(hp.rho),
        MomentumDecay => n(hp.momentum_decay),
        Nesterov => OptionValue::Bool(hp.nesterov),
        Maximize => OptionValue::Bool(hp.maximize),
        Amsgrad => OptionValue::Bool(hp.amsgrad),
        Centered => OptionValue::Bool(hp.centered),
        DecoupledWeightDecay => OptionValue::Bool(hp.decoupled_weight_decay),
        Betas => OptionValue::Pair(hp.betas.0, hp.betas.1),
    }
}

/// The option names of `kind` as a static list, in PyTorch's positional order.
fn option_names(kind: OptimizerKind) -> &'static [&'static str] {
    match kind {
        OptimizerKind::Sgd => &[
            "lr",
            "momentum",
            "dampening",
            "weight_decay",
            "nesterov",
            "maximize",
        ],
        OptimizerKind::Adam => &[
            "lr",
            "betas",
            "eps",
            "weight_decay",
            "amsgrad",
            "maximize",
            "decoupled_weight_decay",
        ],
        OptimizerKind::AdamW => &["lr", "betas", "eps", "weight_decay", "amsgrad", "maximize"],
        OptimizerKind::RmsProp => &[
            "lr",
            "alpha",
            "eps",
            "weight_decay",
            "momentum",
            "centered",
            "maximize",
        ],
        OptimizerKind::Adagrad => &[
            "lr",
            "lr_decay",
            "weight_decay",
            "initial_accumulator_value",
            "eps",
            "maximize",
        ],
        OptimizerKind::Adadelta => &["lr", "rho", "eps", "weight_decay", "maximize"],
        OptimizerKind::Adamax => &["lr", "betas", "eps", "weight_decay", "maximize"],
        OptimizerKind::NAdam => &[
            "lr",
            "betas",
            "eps",
            "weight_decay",
            "momentum_decay",
            "decoupled_weight_decay",
            "maximize",
        ],
        OptimizerKind::RAdam => &[
            "lr",
            "betas",
            "eps",
            "weight_decay",
            "decoupled_weight_decay",
            "maximize",
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn option_names_follow_the_kind_table() {
        for kind in OptimizerKind::ALL {
            let names: Vec<&str> = kind.options().0.iter().map(|o| o.name()).collect();
            assert_eq!(names, option_names(kind), "{kind:?}");
        }
    }
}
