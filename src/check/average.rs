//! `average = swa(start = 0)` / `average = ema(decay = 0.999, start = 0)`: the running average
//! of the parameters (`torch.optim.swa_utils.AveragedModel`) that the `Trainer` keeps.

use super::Checker;
use crate::ast;
use crate::config::AverageConfig;
use crate::diagnostic::text::did_you_mean;
use crate::diagnostic::{Code, Diagnostic};

/// The averages and their parameters, in positional order.
const SWA_PARAMS: &[&str] = &["start"];
const EMA_PARAMS: &[&str] = &["decay", "start"];

impl Checker {
    pub(super) fn average_call(&mut self, call: &ast::Call) -> Option<AverageConfig> {
        let name = call.name.name.as_str();
        let params: &'static [&'static str] = match name {
            "swa" => SWA_PARAMS,
            "ema" => EMA_PARAMS,
            _ => {
                let help = match name.to_ascii_lowercase().as_str() {
                    "averagedmodel" | "averaged_model" => {
                        "`AveragedModel(model)` is `swa(start = N)`; with \
                         `multi_avg_fn = get_ema_multi_avg_fn(decay)` it is `ema(decay = ...)`"
                            .to_string()
                    }
                    _ => match did_you_mean(name, ["swa", "ema"]) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => "write `average = swa(start = N)` (the equal average of \
                                 `AveragedModel`) or `average = ema(decay = 0.999)`"
                            .to_string(),
                    },
                };
                self.error(
                    Diagnostic::error(
                        Code::UnknownAverage,
                        call.name.span,
                        format!("there is no average `{name}`"),
                    )
                    .with_label("expected `swa` or `ema`")
                    .with_help(help),
                );
                return None;
            }
        };
        for arg in &call.args {
            if let Some(n) = &arg.name {
                if n.name == "use_buffers" {
                    self.error(
                        Diagnostic::error(
                            Code::UnknownOption,
                            n.span,
                            format!("`{name}` has no argument `use_buffers`"),
                        )
                        .with_label("not applicable")
                        .with_help(
                            "optimc averages the parameters it steps; it sees no buffers \
                             (batch-norm statistics): recompute them with \
                             `torch.optim.swa_utils.update_bn` after training",
                        ),
                    );
                    return None;
                }
            }
        }
        let errors_before = self.error_count();
        let b = self.bind(call, name, params, params.len(), 0, false);
        let start = self.whole(&b, "start", 0);
        let average = match name {
            "swa" => AverageConfig::Swa { start },
            _ => {
                let decay = self.number(&b, "decay", 0.999);
                // `get_ema_multi_avg_fn`'s check.
                self.range(
                    &b,
                    "decay",
                    decay,
                    (0.0..=1.0).contains(&decay),
                    "between 0 and 1",
                );
                AverageConfig::Ema { decay, start }
            }
        };
        (self.error_count() == errors_before).then_some(average)
    }
}
