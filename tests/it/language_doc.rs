//! `docs/LANGUAGE.md` is current: its tables of schedules and optimizers are the registries
//! (`optimc::schedule::KINDS`, `optimc::config::OptimizerKind`) written out, and every `optim`
//! code block in it checks. After adding a kind or an optimizer, rewrite the tables with
//! `OPTIMC_BLESS=1 cargo test --test it language_doc`.

use optimc::config::{Hyperparams, OptimizerKind};
use optimc::diagnostic::text::format_number;
use optimc::schedule::{KindInfo, Param, ParamDefault, ParamType, KINDS};

const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/LANGUAGE.md");

/// A parameter as a call writes it: `gamma = 0.1`, `step_size` (required), `[total_steps]`
/// (optional, no default: PyTorch's `None`).
fn signature_param(p: &Param, required: bool) -> String {
    let default = match (p.default, p.ty) {
        (ParamDefault::Number(v), _) => Some(format_number(v)),
        (ParamDefault::Whole(v), _) => Some(v.to_string()),
        (ParamDefault::Bool(b), _) => Some(b.to_string()),
        (ParamDefault::Word(i), ParamType::Word(choices)) => Some(choices[i].to_string()),
        _ => None,
    };
    match default {
        _ if required => p.name.to_string(),
        Some(d) => format!("{} = {d}", p.name),
        None => format!("[{}]", p.name),
    }
}

/// What a parameter takes, in words.
fn takes(p: &Param) -> String {
    let ty = match p.ty {
        ParamType::Number => "number".to_string(),
        ParamType::Whole => "whole number".to_string(),
        ParamType::Bool => "`true` or `false`".to_string(),
        ParamType::Word(choices) => choices
            .iter()
            .map(|c| format!("`{c}`"))
            .collect::<Vec<_>>()
            .join(" or "),
        ParamType::PerGroup => "number, or a list with one per group".to_string(),
        ParamType::Lambda => "a lambda (`x -> expr`)".to_string(),
        ParamType::WholeList => "list of whole numbers".to_string(),
        ParamType::Schedule => "a schedule".to_string(),
    };
    match p.range {
        Some(r) => format!("`{}`: {ty}, {}", p.name, r.expected()),
        None => format!("`{}`: {ty}", p.name),
    }
}

fn schedule_row(k: &KindInfo) -> String {
    let mut args: Vec<String> = Vec::new();
    if k.variadic {
        args.push("s1, s2, ...".to_string());
    }
    args.extend(
        k.params
            .iter()
            .enumerate()
            .map(|(i, p)| signature_param(p, i < k.required)),
    );
    let takes: Vec<String> = k.params.iter().map(takes).collect();
    format!(
        "| `{}({})` | `{}` | {} |",
        k.name,
        args.join(", "),
        k.torch,
        takes.join("; ").replace('|', "\\|")
    )
}

fn schedules_table() -> String {
    let mut out = String::from("| schedule and defaults | PyTorch | parameters |\n|---|---|---|\n");
    for k in KINDS {
        out.push_str(&schedule_row(k));
        out.push('\n');
    }
    out
}

fn optimizers_table() -> String {
    let mut out = String::from("| optimizer and defaults | Python class |\n|---|---|\n");
    for kind in OptimizerKind::ALL {
        let (options, keyword_only) = kind.options();
        let defaults = Hyperparams::defaults(kind);
        let mut args: Vec<String> = Vec::new();
        for (i, option) in options.iter().enumerate() {
            if i == keyword_only {
                args.push("*".to_string());
            }
            args.push(format!("{} = {}", option.name(), defaults.get(*option)));
        }
        out.push_str(&format!(
            "| `{}({})` | `{}.{}` |\n",
            kind.name(),
            args.join(", "),
            kind.python_module(),
            kind.torch_name()
        ));
    }
    out
}

/// Where the text between `<!-- generated: NAME -->` and `<!-- end generated: NAME -->` is.
fn section(doc: &str, name: &str) -> (usize, usize) {
    let begin = format!("<!-- generated: {name} -->\n");
    let end = format!("<!-- end generated: {name} -->");
    let start = doc
        .find(&begin)
        .unwrap_or_else(|| panic!("no `{begin}` in {PATH}"))
        + begin.len();
    let stop = doc[start..]
        .find(&end)
        .unwrap_or_else(|| panic!("no `{end}` in {PATH}"))
        + start;
    (start, stop)
}

#[test]
fn the_tables_are_the_registries() {
    let mut doc = std::fs::read_to_string(PATH).unwrap();
    let original = doc.clone();
    for (name, table) in [
        ("schedules", schedules_table()),
        ("optimizers", optimizers_table()),
    ] {
        let (start, stop) = section(&doc, name);
        doc.replace_range(start..stop, &table);
    }
    if doc == original {
        return;
    }
    if std::env::var_os("OPTIMC_BLESS").is_some() {
        std::fs::write(PATH, &doc).unwrap();
    } else {
        panic!(
            "docs/LANGUAGE.md's tables are out of date with the registries: run \
             `OPTIMC_BLESS=1 cargo test --test it language_doc` and commit the result"
        );
    }
}

/// Every ```optim block of the reference checks without errors (warnings are fine); a block
/// fenced ```optim-error is one the reference shows being refused, and must not check.
#[test]
fn every_example_in_the_reference_checks() {
    let doc = std::fs::read_to_string(PATH).unwrap();
    let mut blocks = 0;
    let mut rest = doc.as_str();
    while let Some(at) = rest.find("```optim") {
        let after = &rest[at + 3..];
        let line_end = after.find('\n').unwrap();
        let fence = &after[..line_end];
        let body_end = after[line_end..].find("```").unwrap() + line_end;
        let body = &after[line_end + 1..body_end];
        let (config, diagnostics) = optimc::check_source("LANGUAGE.md", body);
        match fence {
            "optim" => assert!(config.is_some(), "{diagnostics}\n{body}"),
            "optim-error" => assert!(config.is_none(), "checks, but should not:\n{body}"),
            other => panic!("unknown fence `{other}`"),
        }
        blocks += 1;
        rest = &after[body_end + 3..];
    }
    assert!(blocks >= 10, "only {blocks} examples");
}
