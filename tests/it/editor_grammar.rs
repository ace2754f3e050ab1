//! `editors/optim.tmLanguage.json`: valid JSON, every regex compiles, every include resolves, and
//! the names it highlights are the language's.

use fancy_regex::Regex;
use serde_json::Value;

fn grammar() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/editors/optim.tmLanguage.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Every (key, regex) in the grammar, and every `include`.
fn walk(v: &Value, regexes: &mut Vec<(String, String)>, includes: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, x) in map {
                match (k.as_str(), x) {
                    ("match" | "begin" | "end", Value::String(s)) => {
                        regexes.push((k.clone(), s.clone()))
                    }
                    ("include", Value::String(s)) => includes.push(s.clone()),
                    _ => walk(x, regexes, includes),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|x| walk(x, regexes, includes)),
        _ => {}
    }
}

fn regex_named(g: &Value, rule: &str) -> Regex {
    Regex::new(g["repository"][rule]["match"].as_str().unwrap()).unwrap()
}

#[test]
fn every_regex_compiles_and_every_include_resolves() {
    let g = grammar();
    assert_eq!(g["scopeName"], "source.optim");
    let (mut regexes, mut includes) = (Vec::new(), Vec::new());
    walk(&g, &mut regexes, &mut includes);
    assert!(regexes.len() > 20);
    for (key, r) in &regexes {
        Regex::new(r).unwrap_or_else(|e| panic!("{key} {r:?}: {e}"));
    }
    for inc in includes {
        let name = inc.strip_prefix('#').expect("repository includes");
        assert!(
            g["repository"].get(name).is_some(),
            "#{name} is not in the repository"
        );
    }
}

#[test]
fn numbers_strings_comments_and_arrows() {
    let g = grammar();
    let number = regex_named(&g, "number");
    for n in ["30", "0.9", "1e-3", "2.5E+4", "1_000", ".5", "1.", "6e-4"] {
        let m = number.find(n).unwrap().unwrap();
        assert_eq!(m.as_str(), n, "{n}");
    }
    for not in ["layer1", "t_0", "x2"] {
        assert!(number.find(not).unwrap().is_none(), "{not}");
    }
    let comment = regex_named(&g, "comment");
    assert_eq!(
        comment.find("lr = 1e-3 # peak").unwrap().unwrap().as_str(),
        "# peak"
    );
    let escape = Regex::new(
        g["repository"]["string"]["patterns"][0]["match"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    for e in [r#"\""#, r"\\", r"\n", r"\t"] {
        assert!(escape.is_match(e).unwrap(), "{e}");
    }
    let lambda = regex_named(&g, "lambda");
    let caps = lambda
        .captures("lambda(epoch -> 0.95 ** epoch)")
        .unwrap()
        .unwrap();
    assert_eq!(&caps[1], "epoch");
    assert_eq!(&caps[2], "->");
}

#[test]
fn every_optimizer_schedule_and_function_is_highlighted() {
    let g = grammar();
    let call = |rule: &str, name: &str| {
        let text = format!("{name}(1)");
        regex_named(&g, rule)
            .find(&text)
            .unwrap()
            .is_some_and(|m| m.as_str() == name)
    };
    for kind in optimc::config::OptimizerKind::ALL {
        assert!(call("optimizer", kind.name()), "optimizer {}", kind.name());
    }
    for name in optimc::schedule::ScheduleKind::names() {
        assert!(call("schedule", name), "schedule {name}");
    }
    for name in optimc::expr::Func::NAMES {
        assert!(call("function", name), "function {name}");
    }
    assert!(!call("schedule", "steps"));
    // `run = per_step(...)`: the statement word and both steppings.
    for stepping in [optimc::Stepping::PerStep, optimc::Stepping::PerEpoch] {
        assert!(call("stepping", stepping.call_name()), "{stepping:?}");
    }
    assert!(
        g["repository"]["statement-keyword"]
            .to_string()
            .contains("optimizer|schedule|run"),
        "the `run` statement"
    );
    let keywords = g["repository"]["keyword"].to_string();
    for kw in [
        "let",
        "optimizer",
        "group",
        "schedule",
        "if",
        "then",
        "else",
        "and",
        "or",
        "not",
        "true",
        "false",
        "none",
    ] {
        assert!(keywords.contains(kw), "keyword {kw}");
    }
}
