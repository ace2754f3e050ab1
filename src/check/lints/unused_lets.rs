//! `unused_let`: a `let` name nothing refers to.

use crate::ast::Span;
use crate::check::Checker;
use crate::diagnostic::{Code, Diagnostic};

impl Checker {
    pub(in crate::check) fn lint_unused_lets(&mut self) {
        let mut unused: Vec<(&String, Span)> = self
            .lets
            .iter()
            .filter(|(_, e)| e.defined && !e.used.get())
            .map(|(name, e)| (name, e.span))
            .collect();
        unused.sort_by_key(|(_, span)| span.start);
        let warnings: Vec<Diagnostic> = unused
            .into_iter()
            .map(|(name, span)| {
                Diagnostic::warning(Code::UnusedLet, span, format!("`{name}` is never used"))
                    .with_label("defined here, used nowhere")
                    .with_help(format!(
                        "remove `let {name} = ...`, or use it where you meant to (a typo in a later name?)"
                    ))
            })
            .collect();
        self.diags.extend(warnings);
    }
}
