//! The `dmimo` command: reproduce published results, or run a scenario file.
//!
//! Exit status: 0 on success; 2 for bad input (arguments, scenario files) — nothing is written
//! then; 1 when a run fails; 3 with `--strict` when any target is missed.

mod output;
mod plot;

use clap::{Args, Parser, Subcommand};
use dmimo::experiments::{self, Entry, Progress, Report, Request};
use dmimo::scenario::{Scenario, Size, DEFAULT_SEED};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;

const DEFAULT_OUT: &str = "dmimo-out";
/// The default job: the foundation's reproductions at full size.
const DEFAULT_JOB: [&str; 3] = [
    "thesis.null-leakage",
    "thesis.cfo-null-collapse",
    "thesis.precoder-rates",
];

#[derive(Parser)]
#[command(
    name = "dmimo",
    version = concat!(env!("CARGO_PKG_VERSION"), " (", env!("DMIMO_GIT_REV"), ")"),
    about = "Distributed-MIMO simulation: reproduce published results or run your own scenarios.",
    after_help = "With no command, dmimo runs its default job: the thesis reproductions (null leakage, CFO null collapse, precoder rates) at full size, written to ./dmimo-out."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// List the experiments.
    List,
    /// Reproduce published results: `dmimo reproduce <id>...` or `--all`.
    Reproduce {
        /// Experiment ids (see `dmimo list`).
        ids: Vec<String>,
        /// Run every experiment.
        #[arg(long, conflicts_with = "ids")]
        all: bool,
        #[command(flatten)]
        run: RunArgs,
    },
    /// Run a scenario file.
    Run {
        /// The scenario (TOML).
        scenario: PathBuf,
        /// Override the scenario's seed.
        #[arg(long)]
        seed: Option<u64>,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Print an experiment's configuration as a scenario file to start from.
    Config {
        id: String,
        /// The quick configuration instead of the full one.
        #[arg(long)]
        quick: bool,
    },
}

#[derive(Args)]
struct RunArgs {
    /// Reduced size (tests, smoke runs).
    #[arg(long)]
    quick: bool,
    /// Master seed of the run.
    #[arg(long, default_value_t = DEFAULT_SEED)]
    seed: u64,
    #[command(flatten)]
    output: OutputArgs,
}

/// Options shared by everything that runs experiments.
#[derive(Args)]
struct OutputArgs {
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// Where result directories are written.
    #[arg(long, value_name = "DIR", default_value = DEFAULT_OUT)]
    out: PathBuf,
    /// Exit with status 3 if any target is missed.
    #[arg(long)]
    strict: bool,
}

/// A failure and the exit status it maps to.
enum Failure {
    Input(String),
    Run(String),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        None => {
            eprintln!(
                "dmimo: default job — {} (full size) → {DEFAULT_OUT}/",
                DEFAULT_JOB.join(", ")
            );
            let args = RunArgs {
                quick: false,
                seed: DEFAULT_SEED,
                output: OutputArgs {
                    threads: None,
                    out: DEFAULT_OUT.into(),
                    strict: false,
                },
            };
            reproduce(&DEFAULT_JOB.map(String::from), false, &args)
        }
        Some(Command::List) => {
            list();
            Ok(true)
        }
        Some(Command::Reproduce { ids, all, run }) => reproduce(&ids, all, &run),
        Some(Command::Run {
            scenario,
            seed,
            output,
        }) => run_scenario(&scenario, seed, &output),
        Some(Command::Config { id, quick }) => print_config(&id, quick),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(3),
        Err(Failure::Input(m)) => {
            eprintln!("error: {m}");
            ExitCode::from(2)
        }
        Err(Failure::Run(m)) => {
            eprintln!("error: {m}");
            ExitCode::from(1)
        }
    }
}

fn list() {
    let w = experiments::all()
        .iter()
        .map(|e| e.id.len())
        .max()
        .unwrap_or(0);
    for e in experiments::all() {
        println!(
            "{:<w$}  {:<8}  {}",
            e.id,
            format!("{:?}", e.level).to_lowercase(),
            e.title
        );
    }
}

fn print_config(id: &str, quick: bool) -> Result<bool, Failure> {
    let entry = find(id)?;
    let size = if quick { Size::Quick } else { Size::Full };
    println!(
        "# {} — {}\n# source: {}\nexperiment = \"{}\"\nseed = {DEFAULT_SEED}\nsize = \"{}\"\n",
        entry.id,
        entry.title,
        entry.source,
        entry.id,
        if quick { "quick" } else { "full" }
    );
    print!("{}", (entry.config_toml)(size));
    Ok(true)
}

fn find(id: &str) -> Result<&'static Entry, Failure> {
    experiments::find(id).ok_or_else(|| {
        Failure::Input(format!(
            "unknown experiment `{id}`; allowed: {}",
            experiments::ids().join(", ")
        ))
    })
}

fn set_threads(threads: Option<usize>) -> Result<(), Failure> {
    if let Some(n) = threads {
        if n == 0 {
            return Err(Failure::Input(
                "--threads: got 0; allowed: an integer ≥ 1".into(),
            ));
        }
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
            .map_err(|e| Failure::Run(e.to_string()))?;
    }
    Ok(())
}

fn reproduce(ids: &[String], all: bool, args: &RunArgs) -> Result<bool, Failure> {
    let entries: Vec<&'static Entry> = if all {
        experiments::all().to_vec()
    } else if ids.is_empty() {
        return Err(Failure::Input(
            "reproduce: name at least one experiment or pass --all (see `dmimo list`)".into(),
        ));
    } else {
        ids.iter().map(|id| find(id)).collect::<Result<_, _>>()?
    };
    set_threads(args.output.threads)?;
    let size = if args.quick { Size::Quick } else { Size::Full };
    let mut all_pass = true;
    for entry in entries {
        let report = run_one(entry, args.seed, size, None)?;
        all_pass &= finish(&report, &args.output.out)?;
    }
    Ok(all_pass || !args.output.strict)
}

fn run_scenario(path: &Path, seed: Option<u64>, output: &OutputArgs) -> Result<bool, Failure> {
    let scenario = Scenario::load(path).map_err(|e| Failure::Input(e.to_string()))?;
    set_threads(output.threads)?;
    if let Some(d) = &scenario.description {
        eprintln!("dmimo: {} — {d}", path.display());
    }
    let report = run_one(
        scenario.entry,
        seed.unwrap_or(scenario.seed),
        scenario.size,
        scenario.overrides.as_ref(),
    )?;
    Ok(finish(&report, &output.out)? || !output.strict)
}

fn run_one(
    entry: &Entry,
    seed: u64,
    size: Size,
    overrides: Option<&toml::Table>,
) -> Result<Report, Failure> {
    (entry.check)(size, overrides)
        .map_err(|e| Failure::Input(e.in_file("<config>").to_string()))?;
    let progress = Bar::new(entry.id);
    let request = Request {
        seed,
        size,
        overrides,
        progress: &progress,
    };
    let mut report = experiments::run(entry, &request)
        .map_err(|e| Failure::Run(format!("{}: {e}", entry.id)))?;
    progress.done();
    report.version = format!("{} ({})", report.version, env!("DMIMO_GIT_REV"));
    Ok(report)
}

/// Writes the result directory and prints the target table; true if every target passed.
fn finish(report: &Report, out: &Path) -> Result<bool, Failure> {
    let dir = output::write(report, out).map_err(Failure::Run)?;
    print!("{}", output::summary(report, &dir));
    Ok(report.targets.iter().all(|t| t.pass))
}

/// A progress bar on a terminal; nothing otherwise.
struct Bar {
    id: &'static str,
    bar: Mutex<Option<ProgressBar>>,
    enabled: bool,
}

impl Bar {
    fn new(id: &'static str) -> Self {
        Bar {
            id,
            bar: Mutex::new(None),
            enabled: std::io::stderr().is_terminal(),
        }
    }

    fn done(&self) {
        if let Some(b) = self.bar.lock().unwrap().take() {
            b.finish_and_clear();
        }
    }
}

impl Progress for Bar {
    fn begin(&self, stage: &str, total: u64) {
        if !self.enabled {
            return;
        }
        let mut slot = self.bar.lock().unwrap();
        if let Some(b) = slot.take() {
            b.finish_and_clear();
        }
        let b = ProgressBar::new(total).with_message(format!("{}: {stage}", self.id));
        b.set_style(
            ProgressStyle::with_template("{msg:40} [{bar:30}] {pos}/{len} ({eta})")
                .unwrap()
                .progress_chars("=> "),
        );
        *slot = Some(b);
    }

    fn advance(&self, n: u64) {
        if let Some(b) = self.bar.lock().unwrap().as_ref() {
            b.inc(n);
        }
    }
}
