//! Checking: [`crate::ast::File`] → [`crate::config::Config`], reporting every error found.
