//! Published targets and their evaluation.
//!
//! Each source system keeps its targets in a `targets.toml` next to its experiments:
//!
//! ```toml
//! [[target]]
//! experiment = "thesis.null-leakage"
//! metric = "leakage_db_theta_1deg"     # a key of the experiment's metrics
//! paper = -38.2                         # the published (or derived) value
//! compare = "within"                    # within: |m − paper| ≤ tol; at-most: m ≤ paper + tol;
//!                                       # at-least: m ≥ paper − tol
//! tolerance = 0.1
//! quick_tolerance = 0.3                 # optional, for the --quick size (fewer samples)
//! provenance = "derived"                # text (stated in the source) | reconstructed | derived
//! source = "notes/003 §1.8: 1 − cos θ at θ = 1°"
//! ```

use crate::report::Metrics;
use serde::{Deserialize, Serialize};

/// How a measured value is compared with the published one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Compare {
    Within,
    AtMost,
    AtLeast,
}

/// Where a published value comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Provenance {
    /// Stated in the source's text.
    Text,
    /// Reconstructed from garbled source text (notes label `[R]`).
    Reconstructed,
    /// Derived by calculation from the source's model (notes label `[D]`).
    Derived,
}

/// One target as stored.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    pub experiment: String,
    pub metric: String,
    pub paper: f64,
    pub compare: Compare,
    pub tolerance: f64,
    #[serde(default)]
    pub quick_tolerance: Option<f64>,
    pub provenance: Provenance,
    pub source: String,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetsFile {
    target: Vec<Target>,
}

/// A target as reported in `results.json`.
#[derive(Clone, Debug, Serialize)]
pub struct TargetResult {
    pub metric: String,
    pub paper: f64,
    /// NaN (written as null) when the experiment did not produce the metric.
    pub measured: f64,
    pub tolerance: f64,
    pub pass: bool,
    pub note: String,
}

/// Parses a targets file.
///
/// # Panics
/// If the built-in file is malformed (a unit test parses every one).
pub fn parse(toml_text: &str) -> Vec<Target> {
    toml::from_str::<TargetsFile>(toml_text)
        .expect("built-in targets.toml is well-formed")
        .target
}

/// Evaluates the targets of `experiment` against measured metrics.
pub fn evaluate(
    experiment: &str,
    toml_text: &str,
    metrics: &Metrics,
    quick: bool,
) -> Vec<TargetResult> {
    parse(toml_text)
        .into_iter()
        .filter(|t| t.experiment == experiment)
        .map(|t| {
            let tolerance = if quick {
                t.quick_tolerance.unwrap_or(t.tolerance)
            } else {
                t.tolerance
            };
            let measured = metrics.get(&t.metric).copied().unwrap_or(f64::NAN);
            let pass = measured.is_finite()
                && match t.compare {
                    Compare::Within => (measured - t.paper).abs() <= tolerance,
                    Compare::AtMost => measured <= t.paper + tolerance,
                    Compare::AtLeast => measured >= t.paper - tolerance,
                };
            let rule = match t.compare {
                Compare::Within => format!("pass if |measured − paper| ≤ {tolerance}"),
                Compare::AtMost => format!("pass if measured ≤ {}", t.paper + tolerance),
                Compare::AtLeast => format!("pass if measured ≥ {}", t.paper - tolerance),
            };
            let prov = match t.provenance {
                Provenance::Text => "text",
                Provenance::Reconstructed => "reconstructed",
                Provenance::Derived => "derived",
            };
            let mut note = format!("[{prov}] {}; {rule}", t.source);
            if !measured.is_finite() {
                note.push_str("; NOT MEASURED");
            }
            if let Some(n) = &t.note {
                note.push_str("; ");
                note.push_str(n);
            }
            TargetResult {
                metric: t.metric,
                paper: t.paper,
                measured,
                tolerance,
                pass,
                note,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_target_parses_and_names_a_registered_experiment() {
        for e in crate::experiments::all() {
            let ts = parse(e.targets_toml);
            assert!(
                ts.iter().any(|t| t.experiment == e.id),
                "{} has no targets",
                e.id
            );
            for t in ts {
                assert!(
                    crate::experiments::find(&t.experiment).is_some(),
                    "unknown experiment {}",
                    t.experiment
                );
                assert!(t.tolerance >= 0.0 && t.quick_tolerance.unwrap_or(0.0) >= 0.0);
            }
        }
    }

    #[test]
    fn comparisons() {
        let text = r#"
[[target]]
experiment = "x"
metric = "a"
paper = 1.0
compare = "within"
tolerance = 0.1
quick_tolerance = 0.5
provenance = "text"
source = "s"
[[target]]
experiment = "x"
metric = "b"
paper = -30.0
compare = "at-most"
tolerance = 0.0
provenance = "derived"
source = "s"
[[target]]
experiment = "x"
metric = "missing"
paper = 0.0
compare = "at-least"
tolerance = 0.0
provenance = "derived"
source = "s"
"#;
        let mut m = Metrics::new();
        m.insert("a".into(), 1.3);
        m.insert("b".into(), -31.0);
        let r = evaluate("x", text, &m, false);
        assert_eq!(
            r.iter().map(|t| t.pass).collect::<Vec<_>>(),
            vec![false, true, false]
        );
        assert!(r[2].note.contains("NOT MEASURED") && r[2].measured.is_nan());
        assert!(evaluate("x", text, &m, true)[0].pass);
    }
}
