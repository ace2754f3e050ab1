//! Parsing: source text → [`crate::ast::File`], with pest.
