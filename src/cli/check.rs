//! `optimc check FILE... [--format human|json] [--deny-warnings] [--horizon N]`

use super::{cannot_run, output, read_file, report, CANNOT_RUN, INVALID, OK};
use optimc::analysis;
use optimc::limits::MAX_HORIZON;
use optimc::{Diagnostic, Diagnostics};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The .optim files to check.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// How to print diagnostics: for people (stderr) or as JSON for editors and CI (stdout).
    #[arg(long, value_enum, default_value_t = DiagnosticFormat::Human)]
    format: DiagnosticFormat,
    /// Treat warnings as errors (exit code 1).
    #[arg(long)]
    deny_warnings: bool,
    /// How many epochs the numeric analysis simulates (at most 1000000). Default: the run the
    /// file declares (`run = ...`), else enough to cover every milestone, period and total in
    /// the file, and at least 100.
    #[arg(long, value_name = "EPOCHS", value_parser = clap::value_parser!(u64).range(1..=MAX_HORIZON))]
    horizon: Option<u64>,
    /// Print nothing for a file that checks: no `ok: FILE` line (diagnostics are still printed).
    #[arg(short, long)]
    quiet: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum DiagnosticFormat {
    Human,
    Json,
}

pub fn run(args: Args) -> u8 {
    let mut code = OK;
    let mut json_items = Vec::new();
    for path in &args.files {
        let bytes = match read_file(path) {
            Ok(b) => b,
            Err(message) => {
                code = code.max(cannot_run(message));
                continue;
            }
        };
        let options = analysis::Options {
            horizon: args.horizon,
        };
        let (config, diagnostics) =
            optimc::check_bytes_with(&path.display().to_string(), &bytes, &options);
        match args.format {
            DiagnosticFormat::Human => report(&diagnostics),
            DiagnosticFormat::Json => {
                json_items.extend(diagnostics.items.iter().map(|d| to_json(&diagnostics, d)))
            }
        }
        let warnings = diagnostics.warnings().count();
        if config.is_none() || (args.deny_warnings && warnings > 0) {
            code = code.max(INVALID);
        } else if args.format == DiagnosticFormat::Human && !args.quiet {
            // One line per file that checks, so that a run over many files says which passed
            // (the diagnostics above it are on stderr).
            let partly = config.as_ref().and_then(|c| partly_analysed(c, &options));
            code = output::print(ok_line(&path.display().to_string(), warnings, partly), code);
        }
        optimc::drop_in_background(config, bytes.len());
    }
    if args.format == DiagnosticFormat::Json {
        let mut text = serde_json::to_string_pretty(&json_items).unwrap_or_default();
        text.push('\n');
        code = output::print(text, code);
    }
    debug_assert!(code <= CANNOT_RUN);
    code
}

/// For a declared run longer than the analysis runs ([`analysis::horizon`]: at most
/// `MAX_HORIZON` steps), what the `ok` line says about it.
fn partly_analysed(config: &optimc::Config, options: &analysis::Options) -> Option<String> {
    let length = config.run_length()?;
    let horizon = analysis::horizon(config, options);
    (options.horizon.is_none() && horizon < length).then(|| {
        format!(
            "analysed the first {horizon} of the run's {length} {}s",
            config.stepping().unit()
        )
    })
}

/// `ok: FILE`, and how many warnings it has, if any, and what part of a long run was analysed.
fn ok_line(file: &str, warnings: usize, partly: Option<String>) -> String {
    let warnings = match warnings {
        0 => None,
        1 => Some("1 warning".to_string()),
        n => Some(format!("{n} warnings")),
    };
    let notes: Vec<String> = warnings.into_iter().chain(partly).collect();
    if notes.is_empty() {
        format!("ok: {file}\n")
    } else {
        format!("ok: {file} ({})\n", notes.join("; "))
    }
}

/// One diagnostic as JSON: code, severity, message, file, 1-based line and column (and where
/// the span ends), byte span, label, help, and the related places with their labels.
fn to_json(file: &Diagnostics, d: &Diagnostic) -> serde_json::Value {
    let (line, column) = line_column(&file.source, d.span.start);
    let (end_line, end_column) = line_column(&file.source, d.span.end);
    let related: Vec<serde_json::Value> = d
        .related
        .iter()
        .map(|r| {
            let (line, column) = line_column(&file.source, r.span.start);
            serde_json::json!({
                "line": line,
                "column": column,
                "span": { "start": r.span.start, "end": r.span.end },
                "label": r.text,
            })
        })
        .collect();
    serde_json::json!({
        "code": d.code.to_string(),
        "severity": d.severity,
        "message": d.message,
        "file": file.file_name,
        "line": line,
        "column": column,
        "end_line": end_line,
        "end_column": end_column,
        "span": { "start": d.span.start, "end": d.span.end },
        "label": d.label,
        "help": d.help,
        "related": related,
    })
}

/// The 1-based line and column (in characters) of a byte offset.
fn line_column(source: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(source.len());
    while !source.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &source[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::{line_column, ok_line};

    #[test]
    fn a_file_that_checks_gets_one_line() {
        assert_eq!(ok_line("a.optim", 0, None), "ok: a.optim\n");
        assert_eq!(ok_line("a.optim", 1, None), "ok: a.optim (1 warning)\n");
        assert_eq!(ok_line("a.optim", 3, None), "ok: a.optim (3 warnings)\n");
        let partly = || Some("analysed the first 10 of the run's 20 steps".to_string());
        assert_eq!(
            ok_line("a.optim", 0, partly()),
            "ok: a.optim (analysed the first 10 of the run's 20 steps)\n"
        );
        assert_eq!(
            ok_line("a.optim", 2, partly()),
            "ok: a.optim (2 warnings; analysed the first 10 of the run's 20 steps)\n"
        );
    }

    #[test]
    fn lines_and_columns_are_one_based() {
        let s = "ab\ncdé f\n";
        assert_eq!(line_column(s, 0), (1, 1));
        assert_eq!(line_column(s, 3), (2, 1));
        assert_eq!(line_column(s, 8), (2, 5));
        assert_eq!(line_column(s, 100), (3, 1));
    }
}
