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
    for name in ["swa", "ema"] {
        assert!(call("average", name), "average {name}");
    }
    assert!(!call("schedule", "steps"));
    // `run = per_step(...)`: the statement word and both steppings.
    for stepping in [optimc::Stepping::PerStep, optimc::Stepping::PerEpoch] {
        assert!(call("stepping", stepping.call_name()), "{stepping:?}");
    }
    assert!(
        g["repository"]["statement-keyword"]
            .to_string()
            .contains("optimizer|schedule|run|average"),
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
        "in",
    ] {
        assert!(keywords.contains(kw), "keyword {kw}");
    }
}

/// The first of the `keyword` rule's patterns that matches all of `text`, by scope name.
fn keyword_scope(g: &Value, text: &str) -> Option<String> {
    g["repository"]["keyword"]["patterns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| {
            Regex::new(p["match"].as_str().unwrap())
                .unwrap()
                .find(text)
                .unwrap()
                .is_some_and(|m| m.start() == 0)
        })
        .map(|p| p["name"].as_str().unwrap().to_string())
}

#[test]
fn warmup_groups_and_local_values_are_highlighted() {
    let g = grammar();
    // `then` is a keyword in `if c then a`, an argument name in `warmup(then = ...)`.
    assert_eq!(
        keyword_scope(&g, "then 1").as_deref(),
        Some("keyword.control.conditional.optim")
    );
    assert_eq!(keyword_scope(&g, "then = cosine(t_max = 10)"), None);
    assert_eq!(keyword_scope(&g, "then=1"), None);
    assert_eq!(
        keyword_scope(&g, "in c * 2").as_deref(),
        Some("keyword.control.let-in.optim")
    );
    // Every word a schedule's argument takes (`shape = cosine`, `clock = overlap`), but not a
    // call of the schedule of that name, nor a name being assigned.
    let word = regex_named(&g, "enum-word");
    let whole = |text: &str, w: &str| {
        word.find(text)
            .unwrap()
            .is_some_and(|m| m.as_str() == w && m.start() == text.len() - w.len())
    };
    for kind in optimc::schedule::KINDS {
        for p in kind.params {
            if let optimc::schedule::ParamType::Word(choices) = p.ty {
                for w in choices {
                    assert!(whole(&format!("{} = {w}", p.name), w), "{}: {w}", kind.name);
                }
            }
        }
    }
    // Every schedule's argument names are argument names (`start_momentum = 0.8`, ...).
    let argument = regex_named(&g, "named-argument");
    for kind in optimc::schedule::KINDS {
        for p in kind.params {
            let text = format!("{}({} = 0.8)", kind.name, p.name);
            let caps = argument.captures(&text).unwrap().unwrap();
            assert_eq!(caps.get(1).unwrap().as_str(), p.name, "{}", kind.name);
        }
    }
    assert!(word.find("cosine(t_max = 10)").unwrap().is_none());
    assert!(word.find("linear = 3").unwrap().is_none());
    assert!(word.find("nonlinear").unwrap().is_none());
    // A group's fields, `ndim` in `where`, inside the group's braces.
    let group = &g["repository"]["group"];
    let begin = Regex::new(group["begin"].as_str().unwrap()).unwrap();
    let caps = begin.captures("group layer_0 {").unwrap().unwrap();
    assert_eq!(&caps[2], "layer_0");
    let field = regex_named(&g, "group-field");
    for f in ["params", "exclude", "where", "lr_scale", "schedule"] {
        let text = format!("{f} = 1");
        let caps = field.captures(&text).unwrap().unwrap();
        assert_eq!(caps.get(1).unwrap().as_str(), f);
    }
    assert!(field.find("params == 1").unwrap().is_none());
    assert!(regex_named(&g, "ndim")
        .is_match("where = ndim >= 2")
        .unwrap());
    let inside = group["patterns"].to_string();
    for rule in ["#group-field", "#ndim", "#expression"] {
        assert!(inside.contains(rule), "{rule} inside a group");
    }
}

/// A snippet's body with every placeholder filled in with its default (the first choice of a
/// `${1|a,b|}`), as accepting every suggestion gives.
fn expand(body: &str) -> String {
    let choice = fancy_regex::Regex::new(r"\$\{(\d+)\|([^,|]*)[^}]*\|\}").unwrap();
    let default = fancy_regex::Regex::new(r"\$\{(\d+):([^${}]*)\}").unwrap();
    let mut text = body.to_string();
    let mut values = std::collections::HashMap::new();
    loop {
        let before = text.clone();
        for re in [&choice, &default] {
            let found = re.captures(&text).unwrap().map(|c| {
                let part = |i: usize| c.get(i).unwrap();
                (
                    part(0).range(),
                    part(1).as_str().to_string(),
                    part(2).as_str().to_string(),
                )
            });
            if let Some((range, n, value)) = found {
                values.insert(n, value.clone());
                text.replace_range(range, &value);
            }
        }
        // `$n` repeats placeholder n's value.
        let mirror = fancy_regex::Regex::new(r"\$(\d+)").unwrap();
        while let Some((range, n)) = mirror.captures(&text).unwrap().map(|c| {
            let part = |i: usize| c.get(i).unwrap();
            (part(0).range(), part(1).as_str().to_string())
        }) {
            match values.get(&n).cloned() {
                Some(value) => text.replace_range(range, &value),
                None if n == "0" => text.replace_range(range, ""),
                None => break,
            }
        }
        if text == before {
            return text;
        }
    }
}

#[test]
fn every_snippet_filled_in_checks() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/editors/vscode/snippets.json");
    let snippets: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/editors/vscode/package.json"
        ))
        .unwrap(),
    )
    .unwrap();
    assert_eq!(
        manifest["contributes"]["snippets"][0]["path"],
        "./snippets.json"
    );
    let mut prefixes = Vec::new();
    for (name, snippet) in snippets.as_object().unwrap() {
        prefixes.push(snippet["prefix"].as_str().unwrap().to_string());
        assert!(snippet["description"].is_string(), "{name}");
        let body: Vec<&str> = snippet["body"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l.as_str().unwrap())
            .collect();
        let text = expand(&body.join("\n"));
        assert!(!text.contains('$'), "{name}: {text}");
        // Each snippet is one statement or one schedule; give it the rest of a file.
        let source = if text.starts_with("optimizer") {
            text.clone()
        } else if text.starts_with("group")
            || text.starts_with("run")
            || text.starts_with("average")
        {
            format!("optimizer = sgd(lr = 0.1)\n{text}\nschedule = cosine(t_max = 100)\n")
        } else {
            format!("optimizer = sgd(lr = 0.1)\nschedule = {text}\n")
        };
        let (config, diagnostics) = optimc::check_bytes(name, source.as_bytes());
        let errors: Vec<String> = diagnostics.errors().map(|d| d.message.clone()).collect();
        assert!(config.is_some(), "{name}:\n{source}\n{errors:?}");
    }
    for prefix in [
        "group", "exclude", "where", "lr_scale", "run", "warmup", "letin", "average",
    ] {
        assert!(
            prefixes.iter().any(|p| p == prefix),
            "no `{prefix}` snippet"
        );
    }
}
