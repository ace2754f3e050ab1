//! Names: the file's `let` names (defined once, before use), the names every file knows (`pi`,
//! `tau`), and what to say about a name that is not defined.

use super::{Checker, Value};
use crate::ast::{self, Span};
use crate::diagnostic::text::did_you_mean;
use crate::diagnostic::{Code, Diagnostic};
use crate::expr::{self, Lambda, Lookup};

impl Checker {
    pub(super) fn lookup_for_lambda(&self, name: &str) -> Lookup {
        if let Some(entry) = self.lets.get(name) {
            entry.used.set(true);
        }
        self.lookup_quietly(name)
    }

    /// [`Checker::lookup_for_lambda`], without counting the name as used.
    fn lookup_quietly(&self, name: &str) -> Lookup {
        match self.lets.get(name) {
            Some(entry) if self.current_let == Some(entry.span) => Lookup::Itself(entry.span),
            Some(entry) if entry.defined => match &entry.value {
                Some(Value::Number(v)) => match entry.fault {
                    Some(fault) => Lookup::Broken(*v, fault),
                    None => Lookup::Number(*v),
                },
                Some(Value::Bool(b)) => Lookup::Bool(*b),
                Some(Value::Lambda(l)) => Lookup::Lambda(l.clone()),
                Some(Value::Str(_)) => Lookup::Other("a string"),
                Some(Value::List(_)) => Lookup::Other("a list"),
                Some(Value::Tuple(_)) => Lookup::Other("a tuple"),
                Some(Value::Schedule(..)) => Lookup::Other("a schedule"),
                // An errored `let` was reported already: its uses say nothing more.
                None => Lookup::Poisoned,
                Some(Value::Word(_)) => Lookup::Number(1.0),
            },
            Some(entry) => Lookup::Later(entry.span),
            None => Lookup::Undefined,
        }
    }

    /// Where the value of a `let` (`value`, a number that came out NaN or infinite) broke,
    /// found by the lambda compiler's folding, which computes exactly what the checker did.
    pub(super) fn fault_in(&self, value: &ast::Expr) -> Option<expr::Fault> {
        expr::constant(value, &|n| self.lookup_quietly(n))?.1
    }

    pub(super) fn compile_lambda(
        &mut self,
        param: &ast::Ident,
        body: &ast::Expr,
    ) -> Option<Lambda> {
        let mut diags = Vec::new();
        let mut budget = std::mem::take(&mut self.inline_budget);
        let lookup = |n: &str| self.lookup_for_lambda(n);
        let lambda = expr::compile_within(param, body, &lookup, &mut diags, &mut budget);
        self.inline_budget = budget;
        self.diags.extend(diags);
        lambda
    }

    pub(super) fn name(&mut self, name: &str, span: Span) -> Option<Value> {
        let entry = self.lets.get(name);
        if let Some(entry) = entry {
            entry.used.set(true);
        }
        match entry {
            Some(entry) if self.current_let == Some(entry.span) => {
                let def = entry.span;
                self.error(expr::refers_to_itself(name, span, def, false));
                return None;
            }
            // `None` for a `let` whose errors were reported: nothing more to say.
            Some(entry) if entry.defined => return entry.value.clone(),
            Some(entry) => {
                let def = entry.span;
                self.error(expr::used_before_definition(name, span, def));
                return None;
            }
            None => {}
        }
        match name {
            "pi" => Some(Value::Number(std::f64::consts::PI)),
            "tau" => Some(Value::Number(std::f64::consts::TAU)),
            _ => Some(Value::Word(name.to_string())),
        }
    }

    /// Reports an undefined name used where a value is needed.
    pub(super) fn undefined(&mut self, word: &str, span: Span) {
        let help = match word {
            "True" | "False" => format!("booleans are lower case: `{}`", word.to_ascii_lowercase()),
            "None" => "leave the argument out to get PyTorch's default (None)".to_string(),
            "math" => "math functions are called directly: `cos(x)`, not `math.cos(x)`".to_string(),
            // Past the diagnostics that will be shown, skip the search (it is linear in the
            // number of `let`s, so quadratic over a file of undefined names).
            _ if self.diags.len() >= crate::limits::MAX_DIAGNOSTICS => {
                format!("define it first with `let {word} = ...`")
            }
            _ => {
                let names: Vec<&str> = self.lets.keys().map(String::as_str).collect();
                match did_you_mean(
                    word,
                    names.iter().copied().chain(["pi", "tau", "true", "false"]),
                ) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!("define it first with `let {word} = ...`"),
                }
            }
        };
        self.error(
            Diagnostic::error(
                Code::UndefinedName,
                span,
                format!("`{word}` is not defined"),
            )
            .with_label("unknown name")
            .with_help(help),
        );
    }
}

#[cfg(test)]
mod tests {
    fn errors(source: &str) -> Vec<String> {
        let file = crate::parse::parse(source).unwrap();
        super::super::check(&file)
            .diagnostics
            .iter()
            .map(|d| d.message.clone())
            .collect()
    }

    #[test]
    fn a_let_cannot_use_itself_or_a_later_let() {
        assert_eq!(
            errors("let x = x + 1\noptimizer = sgd(lr = 0.1 * x)"),
            ["`let x` cannot refer to itself"]
        );
        assert_eq!(
            errors("let f = e -> 0.9 * f(e)\noptimizer = sgd(lr = f(2))"),
            ["`let f` cannot refer to itself"]
        );
        assert_eq!(
            errors("optimizer = sgd(lr = 0.1)\nschedule = lambda(e -> g(e))\nlet g = e -> e"),
            ["`g` is used before it is defined"]
        );
    }

    #[test]
    fn uses_of_a_let_that_failed_report_nothing_more() {
        let source = "let a = e -> e * nope\nlet b = e -> a(e) + a(e + 1)\nlet c = b(2) + a(1)\n\
                      optimizer = sgd(lr = 0.1 * c)\nschedule = lambda(e -> b(e) * a(undefined))";
        assert_eq!(
            errors(source),
            ["`nope` is not defined", "`undefined` is not defined"]
        );
    }
}
