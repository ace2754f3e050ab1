//! Parsing: source text → [`crate::ast::File`], with pest.

use crate::ast;
use crate::diagnostic::Diagnostic;

/// Parses a lone expression (temporary until the parser lands).
pub fn parse_expr(source: &str) -> Result<ast::Expr, Vec<Diagnostic>> {
    let _ = source;
    Err(Vec::new())
}
