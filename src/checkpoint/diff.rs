//! What changed between the configuration a state file was saved with and another one, in
//! words: [`Checkpoint::diff`](super::Checkpoint::diff) and [`ConfigDiff`].

use crate::config::{AverageConfig, Config, GroupConfig, NdimRange, OptionName, Run};
use crate::diagnostic::text::format_number;
use crate::schedule::ScheduleConfig;
use serde_json::Value;
use std::fmt;

/// The differences between the configuration a [`Checkpoint`](super::Checkpoint) was saved
/// with and another, one sentence each, and (after
/// [`Trainer::load_changed`](crate::Trainer::load_changed)) what became of the state.
///
/// ```text
/// group head: lr 0.001 -> 0.0005
/// schedule cosine: t_max 100 -> 200
/// new group `emb` (params "emb.*")
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConfigDiff {
    /// Each difference in the configuration, e.g. `group head: lr 0.001 -> 0.0005`.
    pub changes: Vec<String>,
    /// Why the saved state cannot continue under the new configuration (another optimizer),
    /// or `None`.
    pub refused: Option<String>,
    /// What [`Trainer::load_changed`](crate::Trainer::load_changed) did with the state: a
    /// parameter that starts fresh, a schedule replayed to the saved epoch, ... (empty from
    /// [`Checkpoint::diff`](super::Checkpoint::diff)).
    pub notes: Vec<String>,
}

impl ConfigDiff {
    /// Whether the configurations are the same.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
}

/// One line per change, then one per note.
impl fmt::Display for ConfigDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.changes.is_empty() {
            writeln!(f, "the configuration is unchanged")?;
        }
        for c in &self.changes {
            writeln!(f, "{c}")?;
        }
        if let Some(r) = &self.refused {
            writeln!(f, "refused: {r}")?;
        }
        for n in &self.notes {
            writeln!(f, "{n}")?;
        }
        Ok(())
    }
}

/// The differences from `old` to `new`.
pub(crate) fn diff(old: &Config, new: &Config) -> ConfigDiff {
    let mut out = ConfigDiff::default();
    let changes = &mut out.changes;
    if old.optimizer != new.optimizer {
        changes.push(format!(
            "optimizer {} -> {}",
            old.optimizer.name(),
            new.optimizer.name()
        ));
        out.refused = Some(format!(
            "the state of {} ({}) means nothing to {}",
            old.optimizer.torch_name(),
            old.optimizer.name(),
            new.optimizer.torch_name()
        ));
    }
    for o in OptionName::ALL {
        let (a, b) = (old.defaults.get(o), new.defaults.get(o));
        if a != b {
            changes.push(format!("optimizer: {} {a} -> {b}", o.name()));
        }
    }
    let find = |groups: &[GroupConfig], name: &str| groups.iter().position(|g| g.name == name);
    for g in &new.groups {
        let Some(i) = find(&old.groups, &g.name) else {
            changes.push(format!(
                "new group `{}` (params {})",
                g.name,
                patterns(&g.params)
            ));
            continue;
        };
        let was = &old.groups[i];
        if was.params != g.params {
            changes.push(format!(
                "group {}: params {} -> {}",
                g.name,
                patterns(&was.params),
                patterns(&g.params)
            ));
        }
        if was.exclude != g.exclude {
            changes.push(format!(
                "group {}: exclude {} -> {}",
                g.name,
                optional_patterns(&was.exclude),
                optional_patterns(&g.exclude)
            ));
        }
        if was.ndim != g.ndim {
            changes.push(format!(
                "group {}: where {} -> {}",
                g.name,
                ndim(was.ndim),
                ndim(g.ndim)
            ));
        }
        if was.lr_scale != g.lr_scale {
            changes.push(format!(
                "group {}: lr_scale {} -> {}",
                g.name,
                format_number(was.lr_scale),
                format_number(g.lr_scale)
            ));
        }
        for o in OptionName::ALL {
            let (a, b) = (was.options.get(o), g.options.get(o));
            // A change inherited from the optimizer's own options is said once, above.
            let inherited = a == old.defaults.get(o) && b == new.defaults.get(o);
            if a != b && !inherited {
                changes.push(format!("group {}: {} {a} -> {b}", g.name, o.name()));
            }
        }
        let label = format!("group {} schedule", g.name);
        schedule(&label, was.schedule.as_ref(), g.schedule.as_ref(), changes);
    }
    for g in &old.groups {
        if find(&new.groups, &g.name).is_none() {
            changes.push(format!("group `{}` removed", g.name));
        }
    }
    let common = |of: &[GroupConfig], other: &[GroupConfig]| -> Vec<String> {
        of.iter()
            .filter(|g| find(other, &g.name).is_some())
            .map(|g| g.name.clone())
            .collect()
    };
    let (before, after) = (
        common(&old.groups, &new.groups),
        common(&new.groups, &old.groups),
    );
    if before != after {
        changes.push(format!(
            "groups reordered: {} -> {} (a parameter joins the first group that matches it)",
            before.join(", "),
            after.join(", ")
        ));
    }
    schedule(
        "schedule",
        old.schedule.as_ref(),
        new.schedule.as_ref(),
        changes,
    );
    let average = |a: &Option<AverageConfig>| a.as_ref().and_then(|a| serde_json::to_value(a).ok());
    match (average(&old.average), average(&new.average)) {
        (None, None) => {}
        (None, Some(b)) => changes.push(format!("average added: {}", kind_name(&b))),
        (Some(a), None) => changes.push(format!("average removed (was {})", kind_name(&a))),
        (Some(a), Some(b)) => values("average", &a, &b, changes),
    }
    if old.run != new.run {
        let run = |r: Option<&Run>| r.map_or("none".to_string(), Run::to_string);
        changes.push(format!(
            "run {} -> {}",
            run(old.run.as_ref()),
            run(new.run.as_ref())
        ));
    }
    out
}

/// `none`, one pattern, or a list: an `exclude` as a sentence shows it.
fn optional_patterns(p: &[String]) -> String {
    if p.is_empty() {
        "none".to_string()
    } else {
        patterns(p)
    }
}

/// A `where` condition as the file writes it, or `none` (every parameter).
fn ndim(range: NdimRange) -> String {
    if range.is_any() {
        "none".to_string()
    } else {
        range.to_source()
    }
}

fn patterns(p: &[String]) -> String {
    let quoted: Vec<String> = p.iter().map(|p| format!("\"{p}\"")).collect();
    if quoted.len() == 1 {
        quoted[0].clone()
    } else {
        format!("[{}]", quoted.join(", "))
    }
}

fn schedule(
    label: &str,
    old: Option<&ScheduleConfig>,
    new: Option<&ScheduleConfig>,
    out: &mut Vec<String>,
) {
    match (old, new) {
        (None, None) => {}
        (None, Some(b)) => out.push(format!("{label} added: {}", kind_name(&json(b)))),
        (Some(a), None) => out.push(format!("{label} removed (was {})", kind_name(&json(a)))),
        (Some(a), Some(b)) => values(label, &json(a), &json(b), out),
    }
}

fn json(s: &ScheduleConfig) -> Value {
    serde_json::to_value(s).unwrap_or(Value::Null)
}

fn kind_name(v: &Value) -> String {
    v.get("kind")
        .and_then(Value::as_str)
        .unwrap_or("schedule")
        .to_string()
}

/// The differences between two schedules' JSON forms: a changed parameter by name, the
/// children of `chain` and `sequence` one by one, another kind as a whole.
fn values(label: &str, a: &Value, b: &Value, out: &mut Vec<String>) {
    if a == b {
        return;
    }
    let (ka, kb) = (kind_name(a), kind_name(b));
    let (Value::Object(ma), Value::Object(mb)) = (a, b) else {
        out.push(format!("{label}: {} -> {}", text(a), text(b)));
        return;
    };
    if ka != kb {
        out.push(format!("{label}: {ka} -> {kb}"));
        return;
    }
    let mut keys: Vec<&String> = ma.keys().chain(mb.keys()).collect();
    keys.sort();
    keys.dedup();
    for key in keys {
        if key == "kind" {
            continue;
        }
        let (x, y) = (
            ma.get(key).unwrap_or(&Value::Null),
            mb.get(key).unwrap_or(&Value::Null),
        );
        match (x, y) {
            (Value::Array(xs), Value::Array(ys)) if key == "children" && xs.len() == ys.len() => {
                for (i, (x, y)) in xs.iter().zip(ys).enumerate() {
                    values(&format!("{label} {ka} > child {i}"), x, y, out);
                }
            }
            _ if x != y => out.push(format!("{label} {ka}: {key} {} -> {}", text(x), text(y))),
            _ => {}
        }
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => "none".to_string(),
        Value::String(s) => s.clone(),
        Value::Array(xs) if xs.iter().all(|x| x.get("kind").is_some()) && !xs.is_empty() => {
            let kinds: Vec<String> = xs.iter().map(kind_name).collect();
            format!("[{}]", kinds.join(", "))
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(source: &str) -> Config {
        Config::from_source("a.optim", source).unwrap()
    }

    const BASE: &str = "optimizer = adamw(lr = 1e-3)\ngroup head { params = \"head.*\" }\ngroup rest { params = \"*\" }\nschedule = cosine(t_max = 100)\n";

    #[test]
    fn a_lowered_lr_and_a_longer_cosine_are_said_in_words() {
        let new = BASE
            .replace("\"head.*\" }", "\"head.*\", lr = 5e-4 }")
            .replace("t_max = 100", "t_max = 200");
        let d = diff(&config(BASE), &config(&new));
        assert_eq!(
            d.changes,
            [
                "group head: lr 0.001 -> 0.0005",
                "schedule cosine: t_max 100 -> 200"
            ]
        );
        assert_eq!(d.refused, None);
        assert!(diff(&config(BASE), &config(BASE)).is_empty());
    }

    #[test]
    fn groups_added_removed_and_reordered_and_the_optimizer_changed() {
        let new = "optimizer = sgd(lr = 1e-3)\ngroup emb { params = \"emb.*\" }\ngroup rest { params = \"*\" }\nschedule = step(step_size = 5)\n";
        let d = diff(&config(BASE), &config(new));
        assert!(
            d.changes.contains(&"optimizer adamw -> sgd".to_string()),
            "{d}"
        );
        assert!(
            d.changes
                .contains(&"new group `emb` (params \"emb.*\")".to_string()),
            "{d}"
        );
        assert!(
            d.changes.contains(&"group `head` removed".to_string()),
            "{d}"
        );
        assert!(
            d.changes.contains(&"schedule: cosine -> step".to_string()),
            "{d}"
        );
        assert!(d.refused.is_some_and(|r| r.contains("AdamW")));
        let swapped = "optimizer = adamw(lr = 1e-3)\ngroup rest { params = \"*\" }\ngroup head { params = \"head.*\" }\nschedule = cosine(t_max = 100)\n";
        let d = diff(&config(BASE), &config(swapped));
        assert_eq!(
            d.changes,
            ["groups reordered: head, rest -> rest, head (a parameter joins the first group that matches it)"]
        );
    }

    #[test]
    fn run_exclude_where_and_lr_scale_are_said_in_words() {
        let old = "optimizer = adamw(lr = 1e-3)\ngroup decay { params = \"*\", exclude = \"*.bias\", where = ndim >= 2 }\ngroup rest { params = \"*\", lr_scale = 0.5 }\nrun = per_epoch(epochs = 10)\n";
        let new = old
            .replace(
                "exclude = \"*.bias\", where = ndim >= 2",
                "exclude = [\"*.bias\", \"*.norm\"]",
            )
            .replace("lr_scale = 0.5", "lr_scale = 0.25")
            .replace("per_epoch(epochs = 10)", "per_step(steps = 500)");
        let d = diff(&config(old), &config(&new));
        assert_eq!(
            d.changes,
            [
                "group decay: exclude \"*.bias\" -> [\"*.bias\", \"*.norm\"]",
                "group decay: where ndim >= 2 -> none",
                "group rest: lr_scale 0.5 -> 0.25",
                "run per_epoch(epochs = 10) -> per_step(steps = 500)",
            ]
        );
        let without = old.replace("run = per_epoch(epochs = 10)\n", "");
        let d = diff(&config(old), &config(&without));
        assert_eq!(d.changes, ["run per_epoch(epochs = 10) -> none"]);
    }

    #[test]
    fn an_optimizer_option_is_said_once_and_nested_schedules_by_child() {
        let old = "optimizer = adam(lr = 1e-3, weight_decay = 0.01)\ngroup a { params = \"a.*\" }\ngroup b { params = \"*\", weight_decay = 0 }\nschedule = sequence(linear(start_factor = 0.1, total_iters = 5), cosine(t_max = 100), milestones = [5])\n";
        let new = old
            .replace("weight_decay = 0.01", "weight_decay = 0.02")
            .replace("t_max = 100", "t_max = 95");
        let d = diff(&config(old), &config(&new));
        assert_eq!(
            d.changes,
            [
                "optimizer: weight_decay 0.01 -> 0.02",
                "schedule sequence > child 1 cosine: t_max 100 -> 95"
            ]
        );
    }

    #[test]
    fn an_average_added_removed_and_changed() {
        let ema = format!("{BASE}average = ema(decay = 0.999)\n");
        assert_eq!(
            diff(&config(BASE), &config(&ema)).changes,
            ["average added: ema"]
        );
        assert_eq!(
            diff(&config(&ema), &config(BASE)).changes,
            ["average removed (was ema)"]
        );
        let slower = ema.replace("0.999", "0.9999");
        assert_eq!(
            diff(&config(&ema), &config(&slower)).changes,
            ["average ema: decay 0.999 -> 0.9999"]
        );
        let swa = format!("{BASE}average = swa(start = 10)\n");
        assert_eq!(
            diff(&config(&ema), &config(&swa)).changes,
            ["average: ema -> swa"]
        );
    }
}
