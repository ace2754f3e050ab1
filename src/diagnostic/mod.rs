//! Diagnostics: what every stage reports, as data, until the binary renders them.
//!
//! A [`Diagnostic`] has a stable [`Code`], a severity, a message, the span it is about with a
//! label, and a help line saying how to fix it. Stages collect every diagnostic they find
//! rather than stopping at the first.

#[doc(hidden)]
pub mod text;

use crate::ast::Span;
use crate::limits::MAX_SNIPPET_COLUMN;
use std::fmt;

/// How serious a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

macro_rules! codes {
    ($( $(#[$doc:meta])* $variant:ident => $name:literal, )*) => {
        /// The stable identity of a kind of diagnostic, printed as `optimc::<name>`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum Code {
            $( $(#[$doc])* $variant, )*
        }

        impl Code {
            /// Every code, in declaration order.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// The code's name without the `optimc::` prefix, e.g. `unknown_option`.
            pub fn name(self) -> &'static str {
                match self {
                    $( Code::$variant => $name, )*
                }
            }
        }
    };
}

codes! {
    /// The text does not follow the grammar.
    Syntax => "syntax",
    /// The file is not valid UTF-8 or contains a NUL byte.
    Encoding => "encoding",
    /// The input is larger or deeper than optimc accepts.
    TooLarge => "too_large",
    /// A name is used but never defined.
    UndefinedName => "undefined_name",
    /// A name is used before the `let` that defines it.
    UsedBeforeDefinition => "used_before_definition",
    /// A `let` or a group name is defined twice.
    DuplicateDefinition => "duplicate_definition",
    /// `optimizer = ...` appears more than once, or `schedule = ...` does.
    DuplicateStatement => "duplicate_statement",
    /// There is no `optimizer = ...` statement.
    MissingOptimizer => "missing_optimizer",
    /// An unknown optimizer name.
    UnknownOptimizer => "unknown_optimizer",
    /// An unknown schedule name.
    UnknownSchedule => "unknown_schedule",
    /// An unknown function name inside a lambda.
    UnknownFunction => "unknown_function",
    /// An argument or group field that the optimizer or schedule does not have.
    UnknownOption => "unknown_option",
    /// A bare word that is not one of the allowed enum values.
    UnknownEnumValue => "unknown_enum_value",
    /// A required argument is missing.
    MissingArgument => "missing_argument",
    /// An argument is given twice (by position and by name, or twice by name).
    DuplicateArgument => "duplicate_argument",
    /// Too many positional arguments, or a positional after a named one.
    BadArgumentOrder => "bad_argument_order",
    /// A value of the wrong type.
    TypeMismatch => "type_mismatch",
    /// A number where a whole non-negative number is required.
    NotAnInteger => "not_an_integer",
    /// A value outside the range the optimizer or schedule accepts.
    OutOfRange => "out_of_range",
    /// A per-group list whose length differs from the number of groups.
    GroupCountMismatch => "group_count_mismatch",
    /// `sequence` milestones do not number one fewer than its children.
    MilestoneCount => "milestone_count",
    /// A group without `params`.
    MissingParams => "missing_params",
    /// A group field given twice.
    DuplicateField => "duplicate_field",
    /// A combination of options PyTorch refuses (e.g. nesterov without momentum).
    InvalidCombination => "invalid_combination",
    /// A lambda has the wrong number of parameters or is used where a value is expected.
    BadLambda => "bad_lambda",
    /// A function inside a lambda called with the wrong number of arguments.
    WrongArity => "wrong_arity",
    /// A `plateau` whose metric can never lower the lr: another schedule sets the lr from scratch
    /// every epoch, or its `sequence` replaces it before its patience runs out (warning).
    MissingMetric => "missing_metric",
    /// A learning rate becomes NaN or infinite within the horizon (warning).
    NonFiniteLr => "non_finite_lr",
    /// A learning rate becomes negative within the horizon (warning).
    NegativeLr => "negative_lr",
    /// A learning rate reaches 0 and stays there until the end of the horizon (warning).
    LrStaysZero => "lr_stays_zero",
    /// A lambda's value changes more than tenfold from one epoch to the next (warning).
    LambdaJump => "lambda_jump",
    /// A `sequence` milestone replaces a child before its warmup, annealing or cycle ends (warning).
    ScheduleCutShort => "schedule_cut_short",
    /// A schedule whose own length (`t_max`, `total_steps`, `total_iters`, a warmup and its
    /// `then`, ...) differs from the run the file declares: shorter, the lr sits at its floor
    /// (or climbs back) for the rest of the run; longer, its decay never finishes (warning).
    RunLengthMismatch => "run_length_mismatch",
    /// `one_cycle` or `cyclic` chained with another schedule: they overwrite each other's lr (warning).
    ConflictingSchedules => "conflicting_schedules",
    /// Milestones not in increasing order (warning).
    UnsortedMilestones => "unsorted_milestones",
    /// A milestone listed twice (warning).
    DuplicateMilestone => "duplicate_milestone",
    /// A group whose every pattern is matched first by an earlier group: it gets no parameters (warning).
    ShadowedGroup => "shadowed_group",
    /// A `let` that nothing uses (warning).
    UnusedLet => "unused_let",
    /// An optimizer option set to PyTorch's default, or a group option set to the value it
    /// already inherits (warning).
    RedundantOption => "redundant_option",
    /// A group sets an option its optimizer reads from the optimizer's options only (Lamb's
    /// `max_grad_norm`), so the group's value has no effect (warning).
    IgnoredOption => "ignored_option",
    /// A schedule on an optimizer that reads the lr only at its first step (`rprop`), so the
    /// schedule changes nothing after it (warning).
    IgnoredSchedule => "ignored_schedule",
    /// A group's `lr` (or the optimizer's) that no lr depends on: the schedule sets every lr
    /// itself (`absolute`, `fairseq_inverse_sqrt(lr = ...)`, `nanogpt_cosine(learning_rate =
    /// ...)`, `one_cycle`, `cyclic`) (warning).
    IgnoredLr => "ignored_lr",
    /// `lr_scale` on an optimizer that reads the lr only at its first step (`rprop`): it scales
    /// only the first step size, as a smaller `lr` would (warning).
    IgnoredLrScale => "ignored_lr_scale",
    /// `warmup(start_momentum = ...)` on a group whose momentum is 0: the ramp goes down to no
    /// momentum (warning).
    WarmupMomentumToZero => "warmup_momentum_to_zero",
    /// `average = ...` names neither `swa` nor `ema`.
    UnknownAverage => "unknown_average",
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "optimc::{}", self.name())
    }
}

/// A secondary place a diagnostic points at.
#[derive(Clone, Debug, PartialEq)]
pub struct Label {
    pub span: Span,
    pub text: String,
}

/// One problem found in a `.optim` file.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    pub message: String,
    /// The place the problem is, and a short label for it.
    pub span: Span,
    pub label: String,
    /// How to fix it.
    pub help: Option<String>,
    /// Other places that explain the problem (e.g. the first definition of a duplicate).
    pub related: Vec<Label>,
}

impl Diagnostic {
    pub fn error(code: Code, span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            severity: Severity::Error,
            message: message.into(),
            span,
            label: String::new(),
            help: None,
            related: Vec::new(),
        }
    }

    pub fn warning(code: Code, span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, span, message)
        }
    }

    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn with_related(mut self, span: Span, text: impl Into<String>) -> Self {
        self.related.push(Label {
            span,
            text: text.into(),
        });
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Diagnostic {}

impl miette::Diagnostic for Diagnostic {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.code))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.severity {
            Severity::Warning => miette::Severity::Warning,
            Severity::Error => miette::Severity::Error,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        let primary = miette::LabeledSpan::new_primary_with_span(
            (!self.label.is_empty()).then(|| self.label.clone()),
            self.span,
        );
        let related = self
            .related
            .iter()
            .map(|l| miette::LabeledSpan::new_with_span(Some(l.text.clone()), l.span));
        Some(Box::new(std::iter::once(primary).chain(related)))
    }
}

/// Several diagnostics about one source file: what the library returns when it refuses a file.
#[derive(Clone, Debug)]
pub struct Diagnostics {
    pub file_name: String,
    pub source: String,
    pub items: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn has_errors(&self) -> bool {
        self.items.iter().any(Diagnostic::is_error)
    }

    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items.iter().filter(|d| d.is_error())
    }

    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items.iter().filter(|d| !d.is_error())
    }

    /// Renders every diagnostic as text, with the source line, a caret and the help line.
    /// `color` picks ANSI colours; tests and non-terminals use `false`.
    pub fn render(&self, color: bool, width: usize) -> String {
        let theme = if color {
            miette::GraphicalTheme::unicode()
        } else {
            miette::GraphicalTheme::unicode_nocolor()
        };
        let handler = miette::GraphicalReportHandler::new_themed(theme)
            .with_width(width)
            .with_links(false);
        let mut out = String::new();
        let source: std::sync::Arc<str> = self.source.as_str().into();
        let lines = LineStarts::new(&self.source);
        for item in &self.items {
            if self.too_wide(&lines, item) {
                self.render_without_snippet(&lines, &mut out, item);
                continue;
            }
            let report = Rendered {
                diagnostic: item,
                source: miette::NamedSource::new(&self.file_name, source.clone()),
            };
            // Writing into a String cannot fail.
            let _ = handler.render_report(&mut out, &report);
        }
        out
    }

    /// Whether a span of `d` is on a line so long (generated files) that showing the line would
    /// be slow and useless; miette cannot draw labels past column 65535 at all.
    fn too_wide(&self, lines: &LineStarts, d: &Diagnostic) -> bool {
        std::iter::once(d.span)
            .chain(d.related.iter().map(|l| l.span))
            .any(|span| {
                let (line, start) = lines.start_of(span.start);
                let end = lines.end_of(line, self.source.len());
                end.saturating_sub(start) > MAX_SNIPPET_COLUMN
            })
    }

    /// The 1-based line and column (in characters) of a byte offset.
    fn line_column(&self, lines: &LineStarts, offset: usize) -> (usize, usize) {
        let mut offset = offset.min(self.source.len());
        while !self.source.is_char_boundary(offset) {
            offset -= 1;
        }
        let (line, start) = lines.start_of(offset);
        (line, self.source[start..offset].chars().count() + 1)
    }

    /// The plain form of a diagnostic whose line is too long to show.
    fn render_without_snippet(&self, lines: &LineStarts, out: &mut String, d: &Diagnostic) {
        use std::fmt::Write;
        let (line, column) = self.line_column(lines, d.span.start);
        let mark = if d.is_error() { '×' } else { '⚠' };
        let _ = writeln!(out, "{}\n\n  {mark} {}", d.code, d.message);
        let _ = writeln!(out, "   ╭─[{}:{line}:{column}]", self.file_name);
        let _ = writeln!(out, "   │ {} (line {line} is too long to show)", d.label);
        for r in &d.related {
            let (line, column) = self.line_column(lines, r.span.start);
            let _ = writeln!(out, "   │ {line}:{column}: {}", r.text);
        }
        let _ = writeln!(out, "   ╰────");
        if let Some(help) = &d.help {
            let _ = writeln!(out, "  help: {help}");
        }
    }
}

/// The byte offset at which every line starts, to find a line without rescanning the text.
struct LineStarts(Vec<usize>);

impl LineStarts {
    fn new(source: &str) -> Self {
        let breaks = source.match_indices('\n').map(|(i, _)| i + 1);
        LineStarts(std::iter::once(0).chain(breaks).collect())
    }

    /// The offset where 1-based `line` ends (its newline, or the end of the text).
    fn end_of(&self, line: usize, len: usize) -> usize {
        self.0.get(line).map_or(len, |next| next - 1)
    }

    /// The 1-based line holding byte `offset`, and the offset where that line starts.
    fn start_of(&self, offset: usize) -> (usize, usize) {
        let line = self.0.partition_point(|&s| s <= offset).max(1);
        (line, self.0[line - 1])
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(false, 100))
    }
}

impl std::error::Error for Diagnostics {}

/// The message (`Display`) is already the whole rendering, snippets and help included, so
/// nothing else is reported: a `miette` handler shows it as it is.
impl miette::Diagnostic for Diagnostics {}

/// A diagnostic paired with its source, for miette's renderer.
struct Rendered<'a> {
    diagnostic: &'a Diagnostic,
    source: miette::NamedSource<std::sync::Arc<str>>,
}

impl fmt::Debug for Rendered<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.diagnostic, f)
    }
}

impl fmt::Display for Rendered<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.diagnostic, f)
    }
}

impl std::error::Error for Rendered<'_> {}

impl miette::Diagnostic for Rendered<'_> {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        miette::Diagnostic::code(self.diagnostic)
    }
    fn severity(&self) -> Option<miette::Severity> {
        miette::Diagnostic::severity(self.diagnostic)
    }
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        miette::Diagnostic::help(self.diagnostic)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        miette::Diagnostic::labels(self.diagnostic)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }
}
