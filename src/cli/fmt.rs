//! `optimc fmt FILE... [--check]`: rewrite files in the canonical layout (see `optimc::format`).

use super::{cannot_run, output, read_file, report, INVALID, OK};
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The .optim files to format in place; `-` reads stdin and writes the result to stdout.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Write nothing; list the files that would change and exit 1 if there are any.
    #[arg(long)]
    check: bool,
}

pub fn run(args: Args) -> u8 {
    let mut code = OK;
    for path in &args.files {
        code = code.max(one(path, args.check));
    }
    code
}

fn one(path: &Path, check: bool) -> u8 {
    let stdin = path.as_os_str() == "-";
    // Formatting a symlink formats the file it points to and keeps the link (replacing the
    // link by a formatted copy would leave the real file unformatted).
    let target = match std::fs::symlink_metadata(path) {
        Ok(m) if !stdin && m.file_type().is_symlink() => match std::fs::canonicalize(path) {
            Ok(target) => target,
            Err(e) => return cannot_run(format!("cannot read {}: {e}", path.display())),
        },
        _ => path.to_path_buf(),
    };
    let bytes = if stdin {
        match super::read_bounded(std::io::stdin()) {
            Ok(buf) => buf,
            Err(e) => return cannot_run(format!("cannot read stdin: {e}")),
        }
    } else {
        match read_file(&target) {
            Ok(b) => b,
            Err(message) => return cannot_run(message),
        }
    };
    let name = if stdin {
        "<stdin>".to_string()
    } else {
        path.display().to_string()
    };
    let Ok(source) = std::str::from_utf8(&bytes) else {
        // The checker words the encoding problem.
        report(&optimc::check_bytes(&name, &bytes).1);
        return INVALID;
    };
    let formatted = match optimc::format::format_source(source) {
        Ok(text) => text,
        Err(mut diagnostics) => {
            diagnostics.file_name = name;
            report(&diagnostics);
            output::eprint(&format!(
                "optimc: {} was left unchanged: it does not parse\n",
                diagnostics.file_name
            ));
            return INVALID;
        }
    };
    if stdin {
        if check {
            if formatted != source {
                return output::print("<stdin>\n", INVALID);
            }
            return OK;
        }
        return output::print(formatted, OK);
    }
    if formatted == source {
        return OK;
    }
    if check {
        return output::print(format!("{name}\n"), INVALID);
    }
    match optimc::atomic::write(&target, formatted.as_bytes()) {
        Ok(()) => OK,
        Err(e) => cannot_run(format!("cannot write {name}: {e}")),
    }
}
