//! Registered experiments: one module per source system, one entry per figure or table.
//!
//! An experiment is a typed configuration ([`ExperimentConfig`]) with a full size that matches the
//! paper and a quick size for tests; running it yields an [`Outcome`] (metrics, CSV tables,
//! figures). The published values it is judged against live in a `targets.toml` next to the
//! experiment's module, with their provenance; [`run`] evaluates them into the [`Report`].

pub mod chorus;
pub mod fog;
pub mod targets;
pub mod thesis;

use crate::report::{Figure, Metrics, Table};
use crate::rng::SeedTree;
use crate::scenario::{FieldError, Size};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::time::Instant;
pub use targets::TargetResult;

/// The fidelity level an experiment runs at (DESIGN.md, "Fidelity ladder").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Level {
    Analytic,
    Abstract,
    Symbol,
    Sample,
}

/// Reports progress of long runs; the CLI shows a bar on a terminal.
pub trait Progress: Sync {
    /// A new stage with `total` steps.
    fn begin(&self, stage: &str, total: u64);
    /// `n` more steps done (called from any thread).
    fn advance(&self, n: u64);
}

/// Progress that goes nowhere.
pub struct Silent;

impl Progress for Silent {
    fn begin(&self, _: &str, _: u64) {}
    fn advance(&self, _: u64) {}
}

/// What an experiment's `run` gets.
pub struct Context<'a> {
    /// The root of this run's seed tree.
    pub seeds: SeedTree,
    pub progress: &'a dyn Progress,
}

/// What an experiment measured.
#[derive(Default)]
pub struct Outcome {
    pub metrics: Metrics,
    pub tables: Vec<Table>,
    pub figures: Vec<Figure>,
}

/// A failure of [`run`].
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The configuration (with a scenario's overrides) is invalid.
    #[error("invalid configuration: field `{}`: {}", .0.field, .0.message)]
    Config(FieldError),
    /// A numerical failure during the run (e.g. a singular channel).
    #[error("{0}")]
    Numerical(String),
}

/// An experiment's configuration: its defaults at both sizes, validation, and the run itself.
pub trait ExperimentConfig: Serialize + DeserializeOwned {
    /// The paper's configuration.
    fn full() -> Self;
    /// A reduced configuration for tests and smoke runs.
    fn quick() -> Self;
    /// Range checks; errors name the field as `config.<field>`.
    fn validate(&self) -> Result<(), FieldError>;
    /// Runs the experiment.
    fn run(&self, ctx: &Context) -> Result<Outcome, RunError>;
}

/// A registered experiment.
pub struct Entry {
    /// Stable id `<system>.<figure-or-table>`.
    pub id: &'static str,
    pub title: &'static str,
    /// The publication and the figure/section reproduced.
    pub source: &'static str,
    pub level: Level,
    /// The published targets (TOML, see [`targets`]).
    pub targets_toml: &'static str,
    /// Resolves and validates the configuration without running.
    pub check: fn(Size, Option<&toml::Table>) -> Result<(), FieldError>,
    /// The configuration at a size, as the `[config]` table of a scenario file.
    pub config_toml: fn(Size) -> String,
    run: fn(&Entry, &Request) -> Result<Report, RunError>,
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id)
    }
}

impl Entry {
    /// Builds an entry for the configuration type `C`.
    pub const fn new<C: ExperimentConfig>(
        id: &'static str,
        title: &'static str,
        source: &'static str,
        level: Level,
        targets_toml: &'static str,
    ) -> Self {
        Entry {
            id,
            title,
            source,
            level,
            targets_toml,
            check: check_typed::<C>,
            config_toml: config_toml::<C>,
            run: run_typed::<C>,
        }
    }
}

/// A request to run one experiment.
pub struct Request<'a> {
    pub seed: u64,
    pub size: Size,
    /// A scenario's `[config]` table.
    pub overrides: Option<&'a toml::Table>,
    pub progress: &'a dyn Progress,
}

/// Everything `results.json` holds, plus the tables and figures to write next to it.
#[derive(Serialize)]
pub struct Report {
    pub experiment: String,
    pub title: String,
    pub source: String,
    pub level: Level,
    pub seed: u64,
    pub quick: bool,
    pub config: serde_json::Value,
    pub metrics: Metrics,
    pub targets: Vec<TargetResult>,
    pub elapsed_s: f64,
    pub version: String,
    #[serde(skip)]
    pub tables: Vec<Table>,
    #[serde(skip)]
    pub figures: Vec<Figure>,
}

/// All registered experiments, in listing order.
pub fn all() -> &'static [&'static Entry] {
    static ALL: std::sync::LazyLock<Vec<&'static Entry>> = std::sync::LazyLock::new(|| {
        thesis::ENTRIES
            .iter()
            .chain(chorus::ENTRIES)
            .chain(fog::ENTRIES)
            .collect()
    });
    &ALL
}

/// The experiment with this id.
pub fn find(id: &str) -> Option<&'static Entry> {
    all().iter().find(|e| e.id == id).copied()
}

/// All ids.
pub fn ids() -> Vec<&'static str> {
    all().iter().map(|e| e.id).collect()
}

/// Runs one experiment: resolves its configuration, runs it, evaluates its targets.
pub fn run(entry: &Entry, request: &Request) -> Result<Report, RunError> {
    (entry.run)(entry, request)
}

/// The configuration of `C` at `size` with a scenario's overrides merged in (unknown fields are
/// rejected by `C`'s `deny_unknown_fields`), validated.
pub fn resolve<C: ExperimentConfig>(
    size: Size,
    overrides: Option<&toml::Table>,
) -> Result<C, FieldError> {
    let base = match size {
        Size::Full => C::full(),
        Size::Quick => C::quick(),
    };
    let config = match overrides {
        None => base,
        Some(ov) => {
            let mut table = toml::Table::try_from(&base)
                .expect("experiment configurations serialize to TOML tables");
            merge(&mut table, ov);
            table
                .try_into::<C>()
                .map_err(|e| FieldError::new("config", e.message().trim_end().to_string()))?
        }
    };
    config.validate()?;
    Ok(config)
}

fn merge(base: &mut toml::Table, overrides: &toml::Table) {
    for (k, v) in overrides {
        match (base.get_mut(k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            _ => {
                base.insert(k.clone(), v.clone());
            }
        }
    }
}

fn config_toml<C: ExperimentConfig>(size: Size) -> String {
    /// Wrapped so nested tables come out as `[config.x]`, ready to paste into a scenario.
    #[derive(Serialize)]
    struct Wrapped<T> {
        config: T,
    }
    let config = match size {
        Size::Full => C::full(),
        Size::Quick => C::quick(),
    };
    toml::to_string(&Wrapped { config }).expect("experiment configurations serialize to TOML")
}

fn check_typed<C: ExperimentConfig>(
    size: Size,
    overrides: Option<&toml::Table>,
) -> Result<(), FieldError> {
    resolve::<C>(size, overrides).map(|_| ())
}

fn run_typed<C: ExperimentConfig>(entry: &Entry, req: &Request) -> Result<Report, RunError> {
    let config: C = resolve(req.size, req.overrides).map_err(RunError::Config)?;
    let start = Instant::now();
    let ctx = Context {
        seeds: SeedTree::new(req.seed).child(entry.id),
        progress: req.progress,
    };
    let outcome = config.run(&ctx)?;
    let quick = req.size == Size::Quick;
    let targets = targets::evaluate(entry.id, entry.targets_toml, &outcome.metrics, quick);
    Ok(Report {
        experiment: entry.id.into(),
        title: entry.title.into(),
        source: entry.source.into(),
        level: entry.level,
        seed: req.seed,
        quick,
        config: serde_json::to_value(&config).expect("configurations serialize"),
        metrics: outcome.metrics,
        targets,
        elapsed_s: start.elapsed().as_secs_f64(),
        version: crate::VERSION.into(),
        tables: outcome.tables,
        figures: outcome.figures,
    })
}

/// Tests: the field that validation names when `change` spoils a config of quick size.
///
/// # Panics
/// If the changed config is accepted.
#[cfg(test)]
pub(crate) fn invalid_field<C: ExperimentConfig>(change: &dyn Fn(&mut C)) -> String {
    let mut c = C::quick();
    change(&mut c);
    c.validate().expect_err("the change must be rejected").field
}

/// Runs `f(i)` for i in 0..n on the rayon pool, advancing `progress` by one per item, and returns
/// the results in index order (so a reduction over them is independent of the thread count).
pub fn par_indexed<T: Send>(
    n: usize,
    progress: &dyn Progress,
    f: impl Fn(usize) -> T + Sync + Send,
) -> Vec<T> {
    use rayon::prelude::*;
    (0..n)
        .into_par_iter()
        .map(|i| {
            let r = f(i);
            progress.advance(1);
            r
        })
        .collect()
}

/// A metric key with a number in it: `key("leakage_db_theta", 2.37, "deg")` → `leakage_db_theta_2.37deg`.
pub fn key(prefix: &str, value: f64, unit: &str) -> String {
    format!("{prefix}_{value}{unit}")
}
