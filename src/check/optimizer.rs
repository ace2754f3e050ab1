//! The optimizer and the groups: the optimizer call with its options, each group's fields, and the
//! groups' options once the optimizer's values are known.

use super::{Checker, Item, Value};
use crate::ast::{self, Span};
use crate::config::{
    GroupConfig, Hyperparams, NdimRange, OptimizerKind, OptionName, OptionValue, OptionValueKind,
};
use crate::diagnostic::text::did_you_mean;
use crate::diagnostic::{Code, Diagnostic};
use std::collections::HashMap;

/// The `torch.optim` optimizers optimc does not run, written by their name (or PyTorch's): why
/// not, and what to use instead.
fn unsupported_optimizer(name: &str, span: Span) -> Option<Diagnostic> {
    let lower = name.to_ascii_lowercase();
    let (torch, why, help) = match lower.as_str() {
        "lbfgs" | "l_bfgs" => (
            "LBFGS",
            "it needs a closure",
            "`LBFGS.step(closure)` re-evaluates the loss and gradient several times within one \
             step (up to `max_iter` times, more with its line search), while optimc takes one \
             gradient per step; run `torch.optim.LBFGS` in PyTorch, or use a first-order \
             optimizer such as `adam`",
        ),
        "sparse_adam" | "sparseadam" => (
            "SparseAdam",
            "it needs sparse gradients",
            "`SparseAdam` updates only the rows present in a sparse gradient \
             (`nn.Embedding(sparse=True)`), while optimc's gradients are dense; use `adam` or \
             `adamw` with dense gradients, or run `torch.optim.SparseAdam` in PyTorch",
        ),
        _ => return None,
    };
    Some(
        Diagnostic::error(
            Code::UnknownOptimizer,
            span,
            format!("optimc does not run `{name}` (torch.optim.{torch}): {why}"),
        )
        .with_label(format!("{torch} is not supported"))
        .with_help(help),
    )
}

impl Checker {
    pub(super) fn optimizer_call(&mut self, call: &ast::Call) -> Option<Hyperparams> {
        let name = call.name.name.as_str();
        let Some(kind) = OptimizerKind::from_name(name) else {
            if let Some(d) = unsupported_optimizer(name, call.name.span) {
                self.error(d);
                return None;
            }
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
        let names = kind.option_names();
        let errors_before = self.error_count();
        let b = self.bind(call, kind.name(), names, positional, 0, false);
        let pytorch = Hyperparams::defaults(kind);
        let mut hp = pytorch;
        self.lr_spans.optimizer_lr = b.get("lr").map(|e| {
            call.args
                .iter()
                .find(|a| a.value.span == e.span)
                .map_or(e.span, ast::Arg::span)
        });
        for option in options {
            if let Some(e) = b.get(option.name()) {
                if let Some(v) = self.option_value(*option, e) {
                    // `lr` stays even at its default: PyTorch's SGD requires it.
                    if *option != OptionName::Lr && v == pytorch.get(*option) {
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
                    let applied = hp.set(*option, v);
                    debug_assert!(applied, "option_value gives a value of the option's kind");
                }
            }
        }
        // Options set in the call (not groups) are checked here against PyTorch's own rules.
        self.validate_hyperparams(kind, &hp, None, &|o| {
            b.get(o.name()).map(|e| e.span).unwrap_or(call.span)
        });
        (self.error_count() == errors_before).then_some(hp)
    }

    /// Reports every value PyTorch's constructor would refuse ([`crate::config::validate`]),
    /// for the optimizer's options (`group: None`) or one group's.
    fn validate_hyperparams(
        &mut self,
        kind: OptimizerKind,
        hp: &Hyperparams,
        group: Option<&str>,
        span_of: &dyn Fn(OptionName) -> Span,
    ) {
        for problem in crate::config::validate(kind, hp) {
            let label = match group {
                None => format!("invalid `{}`", problem.option.name()),
                Some(g) => format!("invalid `{}` in group `{g}`", problem.option.name()),
            };
            self.error(
                Diagnostic::error(Code::OutOfRange, span_of(problem.option), problem.message)
                    .with_label(label)
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
            OptionValueKind::MaybePair => match v {
                Value::Tuple(items) | Value::List(items) if items.len() == 2 => {
                    let mut it = items.into_iter();
                    let (a, b) = (it.next()?, it.next()?);
                    let a = self.maybe_number(option, a.value, a.span);
                    let b = self.as_number(b.value, b.span);
                    Some(OptionValue::MaybePair(a?, b?))
                }
                other => {
                    self.type_error(
                        &other,
                        e.span,
                        "a pair of numbers (the first may be `none`)",
                        Some(format!("write e.g. `{} = (none, 1e-3)`", option.name())),
                    );
                    None
                }
            },
            OptionValueKind::Triple => match v {
                Value::Tuple(items) | Value::List(items) if items.len() == 3 => {
                    let mut it = items.into_iter();
                    let (a, b, c) = (it.next()?, it.next()?, it.next()?);
                    let a = self.as_number(a.value, a.span);
                    let b = self.as_number(b.value, b.span);
                    let c = self.as_number(c.value, c.span);
                    Some(OptionValue::Triple(a?, b?, c?))
                }
                other => {
                    self.type_error(
                        &other,
                        e.span,
                        "three numbers",
                        Some(format!(
                            "write e.g. `{} = (3.4445, -4.775, 2.0315)`",
                            option.name()
                        )),
                    );
                    None
                }
            },
            OptionValueKind::Count => {
                let n = self.as_number(v, e.span)?;
                let max = crate::limits::MAX_OPTION_COUNT;
                if n.fract() != 0.0 || !(0.0..=max as f64).contains(&n) {
                    self.error(
                        Diagnostic::error(
                            Code::OutOfRange,
                            e.span,
                            format!(
                                "`{}` must be a whole number from 0 to {max}, not {}",
                                option.name(),
                                crate::diagnostic::text::format_number(n)
                            ),
                        )
                        .with_label("not a count optimc accepts")
                        .with_help(format!(
                            "give `{}` a whole number such as {}",
                            option.name(),
                            Hyperparams::HELD.get(option)
                        )),
                    );
                    return None;
                }
                Some(OptionValue::Count(n as u32))
            }
            OptionValueKind::MaybeNumber => Some(OptionValue::MaybeNumber(
                self.maybe_number(option, v, e.span)?,
            )),
            OptionValueKind::Choice => {
                let choices = option.choices();
                let quoted = || {
                    choices
                        .iter()
                        .map(|c| format!("\"{c}\""))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                match v {
                    Value::Word(w) if w == "none" => Some(OptionValue::Choice(None)),
                    Value::Str(text) => match choices.iter().find(|c| **c == text) {
                        Some(c) => Some(OptionValue::Choice(Some(c))),
                        None => {
                            let help = match did_you_mean(&text, choices.iter().copied()) {
                                Some(s) => format!("did you mean \"{s}\"?"),
                                None => {
                                    format!("`{}` is one of {} or `none`", option.name(), quoted())
                                }
                            };
                            self.error(
                                Diagnostic::error(
                                    Code::OutOfRange,
                                    e.span,
                                    format!("`{}` has no choice \"{text}\"", option.name()),
                                )
                                .with_label("unknown choice")
                                .with_help(help),
                            );
                            None
                        }
                    },
                    Value::Word(w) if choices.contains(&w.as_str()) => {
                        self.error(
                            Diagnostic::error(
                                Code::TypeMismatch,
                                e.span,
                                format!("`{}` takes a string, found the name `{w}`", option.name()),
                            )
                            .with_label("not quoted")
                            .with_help(format!("write `{} = \"{w}\"`", option.name())),
                        );
                        None
                    }
                    other => {
                        self.type_error(
                            &other,
                            e.span,
                            "a string or `none`",
                            Some(format!(
                                "`{}` is one of {} or `none`",
                                option.name(),
                                quoted()
                            )),
                        );
                        None
                    }
                }
            }
        }
    }

    /// A number, or `none` (the word) for an option PyTorch lets be `None`.
    fn maybe_number(&mut self, option: OptionName, v: Value, span: Span) -> Option<Option<f64>> {
        match v {
            Value::Word(w) if w == "none" => Some(None),
            Value::Word(w) if w == "None" => {
                self.error(
                    Diagnostic::error(
                        Code::TypeMismatch,
                        span,
                        format!("`{}` takes `none` for Python's None", option.name()),
                    )
                    .with_label("`None` is Python's spelling")
                    .with_help("write `none` (lower case), as `true` and `false` are"),
                );
                None
            }
            other => self.as_number(other, span).map(Some),
        }
    }

    pub(super) fn group(
        &mut self,
        name: &ast::Ident,
        fields: &[ast::Field],
    ) -> (GroupConfig, GroupOverrides) {
        let mut seen: HashMap<&str, Span> = HashMap::new();
        let mut params: Option<Vec<String>> = None;
        let mut schedule = None;
        let mut lr_scale = 1.0;
        let mut source = None;
        // (`exclude` and `where` let some of what `params` matches through to later groups, so
        // such a group is left out of the shadow lint: see the end.)
        let mut exclude = Vec::new();
        let mut ndim = NdimRange::default();
        let mut overrides = Vec::new();
        let (mut lr_span, mut lr_scale_span) = (None, None);
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
                "schedule" => (schedule, source) = self.schedule_value(&field.value).unzip(),
                "lr_scale" => {
                    lr_scale = self.lr_scale(&field.value).unwrap_or(1.0);
                    lr_scale_span = Some(field.key.span.to(field.value.span));
                }
                "exclude" => {
                    exclude = self
                        .patterns(&field.value)
                        .map(|ps| ps.into_iter().map(|(p, _)| p).collect())
                        .unwrap_or_default()
                }
                "where" => {
                    if self.guard_depth(&field.value) {
                        ndim = self.ndim_condition(&field.value).unwrap_or_default();
                    }
                }
                _ => match (self.optimizer, OptionName::from_name(key)) {
                    (Some(kind), option) => match kind.option(key) {
                        Some(o) => {
                            if let Some(v) = self.option_value(o, &field.value) {
                                let span = field.key.span.to(field.value.span);
                                if o == OptionName::Lr {
                                    lr_span = Some(span);
                                }
                                overrides.push((o, v, span));
                            }
                        }
                        None => self.unknown_field(name, &field.key, option),
                    },
                    (None, Some(o)) => {
                        // Unknown optimizer: still check the value's type.
                        let _ = self.option_value(o, &field.value);
                    }
                    (None, None) => self.unknown_field(name, &field.key, None),
                },
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
        if seen.contains_key("exclude") || seen.contains_key("where") {
            // Even when its `where` is refused: the shadow lint would only add noise.
            let this = self.groups_checked;
            self.group_patterns.retain(|(g, ..)| *g != this);
        }
        self.groups_checked += 1;
        self.sources.groups.push(source);
        self.lr_spans.groups.push((lr_span, lr_scale_span));
        (
            GroupConfig {
                name: name.name.clone(),
                params: params.unwrap_or_default(),
                options: Hyperparams::defaults(self.optimizer.unwrap_or(OptimizerKind::Sgd)),
                schedule,
                lr_scale,
                exclude,
                ndim,
            },
            GroupOverrides {
                name_span: name.span,
                options: overrides,
            },
        )
    }

    /// A group's `lr_scale`: a finite factor >= 0 (the lrs it scales must stay valid lrs).
    fn lr_scale(&mut self, e: &ast::Expr) -> Option<f64> {
        let v = self.arg_value(e)?;
        let scale = self.as_number(v, e.span)?;
        if scale >= 0.0 && scale.is_finite() {
            return Some(scale);
        }
        self.error(
            Diagnostic::error(
                Code::OutOfRange,
                e.span,
                format!(
                    "`lr_scale` must be a finite number >= 0, not {}",
                    crate::diagnostic::text::format_number(scale)
                ),
            )
            .with_label("must be a finite number >= 0")
            .with_help(
                "every lr the schedule writes for the group is multiplied by `lr_scale` (timm's \
                 layer-wise decay): give a factor such as `0.75 ** 3`",
            ),
        );
        None
    }

    /// A group's `where`: comparisons of `ndim` with whole numbers, joined by `and`, as the
    /// range of dimension counts they keep.
    fn ndim_condition(&mut self, e: &ast::Expr) -> Option<NdimRange> {
        use ast::{BinaryOp, ExprKind};
        let e = e.unparen();
        let is_ndim = |x: &ast::Expr| matches!(&x.unparen().kind, ExprKind::Name(n) if n == "ndim");
        let help = "write comparisons of `ndim` (the parameter's number of dimensions) with whole \
                    numbers, joined by `and`: `where = ndim >= 2`, `where = ndim == 1`";
        let ExprKind::Binary { op, lhs, rhs } = &e.kind else {
            self.error(
                Diagnostic::error(
                    Code::TypeMismatch,
                    e.span,
                    "`where` is not a condition on `ndim`",
                )
                .with_label("expected e.g. `ndim >= 2`")
                .with_help(help),
            );
            return None;
        };
        if *op == BinaryOp::And {
            let (a, b) = (self.ndim_condition(lhs), self.ndim_condition(rhs));
            let (a, b) = (a?, b?);
            let both = NdimRange {
                min: a.min.max(b.min),
                max: match (a.max, b.max) {
                    (Some(x), Some(y)) => Some(x.min(y)),
                    (x, y) => x.or(y),
                },
            };
            return self.ndim_nonempty(both, e.span);
        }
        let (op, value) = match (
            op.is_comparison() && *op != BinaryOp::Ne,
            is_ndim(lhs),
            is_ndim(rhs),
        ) {
            (true, true, false) => (*op, rhs),
            (true, false, true) => {
                let flipped = match op {
                    BinaryOp::Lt => BinaryOp::Gt,
                    BinaryOp::Le => BinaryOp::Ge,
                    BinaryOp::Gt => BinaryOp::Lt,
                    BinaryOp::Ge => BinaryOp::Le,
                    other => *other,
                };
                (flipped, lhs)
            }
            _ => {
                self.error(
                    Diagnostic::error(
                        Code::TypeMismatch,
                        e.span,
                        "`where` compares `ndim` with a number (`<`, `<=`, `>`, `>=`, `==`)",
                    )
                    .with_label("not a comparison of `ndim`")
                    .with_help(help),
                );
                return None;
            }
        };
        let v = self.eval(value)?;
        let n = self.as_whole(v, value.span, "ndim")? as usize;
        let range = match op {
            BinaryOp::Ge => NdimRange { min: n, max: None },
            BinaryOp::Gt => NdimRange {
                min: n + 1,
                max: None,
            },
            BinaryOp::Le => NdimRange {
                min: 0,
                max: Some(n),
            },
            BinaryOp::Lt if n == 0 => NdimRange {
                min: 1,
                max: Some(0),
            },
            BinaryOp::Lt => NdimRange {
                min: 0,
                max: Some(n - 1),
            },
            _ => NdimRange {
                min: n,
                max: Some(n),
            },
        };
        self.ndim_nonempty(range, e.span)
    }

    fn ndim_nonempty(&mut self, range: NdimRange, span: Span) -> Option<NdimRange> {
        if range.max.is_some_and(|max| max < range.min) {
            self.error(
                Diagnostic::error(Code::OutOfRange, span, "`where` keeps no parameter")
                    .with_label("no number of dimensions satisfies this")
                    .with_help("a parameter has 0 or more dimensions: widen the condition"),
            );
            return None;
        }
        Some(range)
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
                    .filter(|k| k.option(o.name()).is_some())
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
                allowed.iter().copied().chain(GROUP_FIELDS.iter().copied()),
            ) {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!(
                    "a group takes `params`, `exclude`, `where`, `schedule`, `lr_scale` and the optimizer's options: {}",
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
    /// option set to the value it inherits anyway) and checks the result as the optimizer's
    /// options are checked, or makes the one default group.
    pub(super) fn finish_groups(
        &mut self,
        groups: &mut Vec<GroupConfig>,
        overrides: Vec<GroupOverrides>,
        kind: OptimizerKind,
        defaults: Hyperparams,
    ) {
        if groups.is_empty() {
            groups.push(GroupConfig::catch_all(defaults));
        } else {
            for (group, own) in groups.iter_mut().zip(overrides) {
                group.options = defaults;
                for &(option, value, span) in &own.options {
                    if kind.reads_only_from_optimizer(option) {
                        self.diags.push(
                            Diagnostic::warning(
                                Code::IgnoredOption,
                                span,
                                format!(
                                    "group `{}` sets `{}`, which {} reads from the optimizer's options only",
                                    group.name,
                                    option.name(),
                                    kind.torch_name()
                                ),
                            )
                            .with_label("no effect in a group")
                            .with_help(format!(
                                "set it in `optimizer = {}(..., {} = {value})`: the gradients of every group are clipped together, with the optimizer's value",
                                kind.name(),
                                option.name()
                            )),
                        );
                    } else if value == defaults.get(option) {
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
                    let applied = group.options.set(option, value);
                    debug_assert!(applied, "option_value gives a value of the option's kind");
                }
                // PyTorch checks every group's options as it checks the constructor's. A problem
                // with an option the group sets points at it; one the group causes with options
                // it inherits (SGD's nesterov with the group's dampening) at the group's name.
                self.validate_hyperparams(kind, &group.options, Some(&group.name), &|o| {
                    own.options
                        .iter()
                        .find(|(set, ..)| *set == o)
                        .map_or(own.name_span, |&(.., span)| span)
                });
            }
            self.lint_shadowed_groups(groups);
        }
    }
}

/// The fields of a group that are not optimizer options.
pub(crate) const GROUP_FIELDS: &[&str] = &["params", "exclude", "where", "schedule", "lr_scale"];

/// A group's own options, kept until the optimizer's values are known (it may come later in
/// the file).
pub(super) struct GroupOverrides {
    /// The group's name, where a problem no option of the group's own is at fault for points.
    name_span: Span,
    /// Each option the group sets, its value, and where it is set (`lr = 0.1`).
    options: Vec<(OptionName, OptionValue, Span)>,
}
