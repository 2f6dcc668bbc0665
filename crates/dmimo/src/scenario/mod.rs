//! Scenario files: the TOML a user writes, read raw and resolved into one immutable [`Scenario`].
//!
//! ```toml
//! experiment = "thesis.precoder-rates"   # what to run (`dmimo list` shows the ids)
//! seed = 7                               # optional, default 1
//! size = "full"                          # optional: "full" (default) or "quick"
//!
//! [config]                               # optional overrides of the experiment's configuration
//! snr_db = [0.0, 10.0, 20.0, 30.0]
//! realizations = 500
//! ```
//!
//! Unknown or misspelled fields anywhere are errors, as are out-of-range values; every error names
//! the file, the field and what is allowed.

use crate::experiments::{self, Entry};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// A problem with an input: which file, which field, what is wrong and what is allowed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{file}: {problem}")]
pub struct ScenarioError {
    /// The file (or `<built-in>` for a reproduction's own configuration).
    pub file: String,
    pub problem: Problem,
}

/// The problem inside a file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Problem {
    #[error("cannot read: {0}")]
    Unreadable(String),
    #[error("{0}")]
    Syntax(String),
    #[error("field `{field}`: {message}")]
    Field { field: String, message: String },
}

impl ScenarioError {
    pub fn field(file: &str, field: &str, message: impl Into<String>) -> Self {
        ScenarioError {
            file: file.into(),
            problem: Problem::Field {
                field: field.into(),
                message: message.into(),
            },
        }
    }
}

/// The size of an experiment: the paper's full configuration, or the quick one for tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, serde::Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Size {
    #[default]
    Full,
    Quick,
}

/// The raw file, exactly as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioFile {
    experiment: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    seed: Option<u64>,
    #[serde(default)]
    size: Size,
    #[serde(default)]
    config: Option<toml::Table>,
}

/// A resolved scenario: which experiment, with which seed, size and configuration overrides.
/// The overrides are checked against the experiment's typed configuration by
/// [`Scenario::check`] (and again when it runs), so every error surfaces before any output exists.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub path: PathBuf,
    pub entry: &'static Entry,
    pub description: Option<String>,
    pub seed: u64,
    pub size: Size,
    pub overrides: Option<toml::Table>,
}

/// The default master seed of a run.
pub const DEFAULT_SEED: u64 = 1;

impl Scenario {
    /// Reads and resolves a scenario file.
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ScenarioError {
            file: file.clone(),
            problem: Problem::Unreadable(e.to_string()),
        })?;
        Self::parse(&text, path)
    }

    /// Resolves a scenario from its text (`path` names it in errors).
    pub fn parse(text: &str, path: &Path) -> Result<Scenario, ScenarioError> {
        let file = path.display().to_string();
        let raw: ScenarioFile = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
            let msg = e.message().trim_end().replace('\n', " ");
            ScenarioError {
                file: file.clone(),
                problem: Problem::Syntax(match line {
                    Some(l) => format!("line {l}: {msg}"),
                    None => msg,
                }),
            }
        })?;
        let entry = experiments::find(&raw.experiment).ok_or_else(|| {
            ScenarioError::field(
                &file,
                "experiment",
                format!(
                    "unknown experiment `{}`; allowed: {}",
                    raw.experiment,
                    experiments::ids().join(", ")
                ),
            )
        })?;
        let scenario = Scenario {
            path: path.to_path_buf(),
            entry,
            description: raw.description,
            seed: raw.seed.unwrap_or(DEFAULT_SEED),
            size: raw.size,
            overrides: raw.config,
        };
        scenario.check()?;
        Ok(scenario)
    }

    /// Resolves the experiment's configuration with the overrides, without running anything.
    pub fn check(&self) -> Result<(), ScenarioError> {
        (self.entry.check)(self.size, self.overrides.as_ref())
            .map_err(|e| e.in_file(&self.path.display().to_string()))
    }
}

/// Checks a value against a range; the error says which field and what is allowed.
pub struct Check<'a> {
    /// Prefix of the field path, e.g. `config`.
    pub prefix: &'a str,
}

/// A field error before the file is known (filled in by [`FieldError::in_file`]).
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn in_file(self, file: &str) -> ScenarioError {
        ScenarioError::field(file, &self.field, self.message)
    }
}

impl Check<'_> {
    fn name(&self, field: &str) -> String {
        if self.prefix.is_empty() {
            field.to_string()
        } else {
            format!("{}.{}", self.prefix, field)
        }
    }

    /// `lo ≤ value ≤ hi` and finite.
    pub fn range(
        &self,
        field: &str,
        value: f64,
        lo: f64,
        hi: f64,
        unit: &str,
    ) -> Result<(), FieldError> {
        if value.is_finite() && value >= lo && value <= hi {
            Ok(())
        } else {
            Err(FieldError::new(
                self.name(field),
                format!(
                    "got {value}; allowed: a finite number from {lo} to {hi}{}",
                    unit_suffix(unit)
                ),
            ))
        }
    }

    /// Every element within the range, and at least `min_len` elements.
    pub fn each(
        &self,
        field: &str,
        values: &[f64],
        min_len: usize,
        lo: f64,
        hi: f64,
        unit: &str,
    ) -> Result<(), FieldError> {
        if values.len() < min_len {
            return Err(FieldError::new(
                self.name(field),
                format!("has {} values; allowed: at least {min_len}", values.len()),
            ));
        }
        for (i, v) in values.iter().enumerate() {
            self.range(&format!("{field}[{i}]"), *v, lo, hi, unit)?;
        }
        Ok(())
    }

    /// Values strictly increasing.
    pub fn increasing(&self, field: &str, values: &[f64]) -> Result<(), FieldError> {
        match values.windows(2).position(|w| w[1] <= w[0]) {
            None => Ok(()),
            Some(i) => Err(FieldError::new(
                self.name(field),
                format!(
                    "values must increase; [{}] = {} is not above [{}] = {}",
                    i + 1,
                    values[i + 1],
                    i,
                    values[i]
                ),
            )),
        }
    }

    /// An integer count within a range.
    pub fn count(&self, field: &str, value: usize, lo: usize, hi: usize) -> Result<(), FieldError> {
        if (lo..=hi).contains(&value) {
            Ok(())
        } else {
            Err(FieldError::new(
                self.name(field),
                format!("got {value}; allowed: an integer from {lo} to {hi}"),
            ))
        }
    }
}

fn unit_suffix(unit: &str) -> String {
    if unit.is_empty() {
        String::new()
    } else {
        format!(" ({unit})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Scenario, ScenarioError> {
        Scenario::parse(text, Path::new("s.toml"))
    }

    #[test]
    fn a_valid_scenario_resolves() {
        let s = parse("experiment = \"thesis.precoder-rates\"\nseed = 9\nsize = \"quick\"\n[config]\nrealizations = 10\n").unwrap();
        assert_eq!(
            (s.entry.id, s.seed, s.size),
            ("thesis.precoder-rates", 9, Size::Quick)
        );
    }

    #[test]
    fn misspelled_top_level_field() {
        let e = parse("experiment = \"thesis.precoder-rates\"\nsed = 9\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("s.toml: line 2: unknown field `sed`") && e.contains("seed"),
            "{e}"
        );
        assert_eq!(e.lines().count(), 1);
    }

    #[test]
    fn misspelled_config_field() {
        let e = parse("experiment = \"thesis.precoder-rates\"\n[config]\nsnr_dbb = [1.0]\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("unknown field `snr_dbb`") && e.contains("snr_db"),
            "{e}"
        );
    }

    #[test]
    fn out_of_range_and_nan() {
        let e = parse("experiment = \"thesis.precoder-rates\"\n[config]\nsnr_db = [0.0, nan]\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("config.snr_db[1]") && e.contains("NaN") && e.contains("allowed"),
            "{e}"
        );
        let e = parse("experiment = \"thesis.precoder-rates\"\n[config]\nrealizations = 0\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("config.realizations") && e.contains("allowed"),
            "{e}"
        );
    }

    #[test]
    fn unknown_experiment_lists_the_allowed_ids() {
        let e = parse("experiment = \"thesis.nope\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("field `experiment`") && e.contains("thesis.null-leakage"),
            "{e}"
        );
    }

    #[test]
    fn missing_file() {
        let e = Scenario::load(Path::new("/nonexistent/x.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("/nonexistent/x.toml") && e.contains("cannot read"),
            "{e}"
        );
    }
}
