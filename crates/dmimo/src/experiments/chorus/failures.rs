//! `chorus.failures` (Chorus §5.2, Fig. 2; notes/000 §1.6, §3 R1–R6 and T3): what node
//! failures, root failures, node additions and link blockages do to the layered tree at control
//! level ([`Engine`], robust controller), each fault applied through a
//! [`crate::sync::layered_tree::faults`] schedule.
//!
//! **Scenarios.**
//!
//! * **R1, non-orphaning failure** (random small-cell drop): after the warm-up, kill the regular
//!   node with the most descendants among those whose every child keeps its parent layer's SINR
//!   ≥ θ − H without it (the children have other parents in the layer).
//! * **R2, orphaning failure** (same drops): kill the regular node with the most descendants
//!   among those that leave at least one child below θ − H (an orphan).
//! * **R3, Fig. 2(a)** (hand-built): A is the root on layers 0 and 1, B a root candidate
//!   listening on 0 and transmitting on 1, `fig2_regular_nodes` regular nodes N hearing A and B,
//!   `fig2_descendants` regular nodes M under them (each hears two N). Regular nodes may not
//!   listen below layer 1 ([`ProtocolParams::min_parent_layer`]). Kill A (B must free-run as
//!   the root, N and M keep their layers and sync); separately kill B (N continue on A).
//! * **R4, Fig. 2(b)** (hand-built, notes' reconstructed wiring): A on layers 0–2, B listening on 0 and
//!   transmitting on 1–2, C listening on 1 and transmitting on 2, N listening on 2. All six
//!   ordered pairs of {A, B, C} are killed one after the other, `observe_s` apart.
//! * **R5, node addition** (random drops): a seeded random node is off from the start and added
//!   after the warm-up; it must join at the layer predicted from the composite SINRs it sees
//!   (T1: 1 + the lowest usable layer ≥ θ) and the existing nodes must not lose their layers.
//! * **R6, link blockage** (random drops): block, both ways, the strongest parent link of the
//!   regular node with the most descendants among those that keep their parent layer above
//!   θ − H without it; clear it `blockage_s` later. Only that node's subtree may move.
//! * **Custom**: if `faults` is not empty, that schedule runs on the random drops for
//!   `custom_duration_s` (in every scenario of a drop the root is then the node nearest the
//!   centre among those the schedule does not name), and every group of faults that fall in the same
//!   period is analysed as below (`custom_g<i>_*` metrics).
//!
//! **Measurements** (notes/000 §4.3). ψ_n = θ_n − θ_ref (the reference is the root, or the
//! surviving root node of Fig. 2), e_n(t, Δ) = wrap(ψ_n(t) − ψ_n(t − Δ)) with Δ =
//! `coherence_periods`. Each fault run has a **twin**: the same seeds without the fault (or
//! without the faults from this one on), so up to the fault both are bit-identical and every
//! difference after it is the fault's doing (common random numbers) — until the twin loses lock
//! somewhere on its own: from then on the twin is no counterfactual and the comparisons stop
//! (`*_twin_valid_periods_min`). Per fault, over the window until the next fault or
//! `observe_s`:
//!
//! * *layer changes*: Lost, Joined and Moved events of nodes that held a layer before the fault
//!   (Lost alone: *losses*); *detection*: periods from the fault to the first reaction anywhere
//!   (a protocol LossSuspected/Lost/Holdover event, or a measurement the controller gated,
//!   re-baselined or lost lock on);
//! * *affected nodes*: surviving nodes that kept their layer, other than the reference, whose ψ
//!   differs from the twin's at any time in the window (the fault's descendants);
//! * *max disturbance*: the largest |e_n(t, Δ) − e_n^twin(t, Δ)| over affected nodes and runs
//!   during the transient — the first max(N, recovery) periods after the fault (degrees): the
//!   change in relative phase over Δ that the fault caused while the nodes recover. After the
//!   transient the difference measures two noise realizations (a node tracking a different
//!   composite sees different link wander), not the fault; its peak over the whole window is
//!   reported as `*_max_disturbance_window_deg`;
//! * *recovery*: with S the RMS of e_n over the `baseline_s` before the fault and E(t) the RMS of
//!   e_n at time t (pooled over affected nodes and runs, and over the last Δ periods), the
//!   periods from the fault until E stays within `recovery_factor`·S to the window's end (0 if
//!   it never leaves it);
//! * *outside deviation* (R1, R6): the largest |ψ_n − ψ_n^twin| at nodes outside the fault's
//!   subtree (at the fault: the killed node's or blocked receiver's listens-to descendants);
//! * *lock losses*: controller re-acquisitions at surviving nodes in the window; the twins give
//!   the rate without faults (`spontaneous_lock_losses_per_node_minute_*`).
//!
//! Every step of every run (twins included) is checked with [`check_tree`] (T3): per scenario
//! within its windows (`*_tree_violations`) and over everything (`tree_violations`).
//!
//! The disturbance's transient window and the twin's validity were defined after the first run
//! (which had measured the whole window against twins that lost lock on their own); X and N did
//! not change.
//!
//! **Thresholds** (notes/000 §3: "calibrate"), fixed in the configuration before any result was
//! seen: X = `max_disturbance_deg` = 10° (twice the 5° RMS coherence target of
//! `chorus.phase-vs-snr`), N = `max_recovery_periods` = 20 periods (100 ms, the notes'
//! example), the loss window D and the join dwell from the protocol (3 and 4 periods).

use super::super::{par_indexed, Context, ExperimentConfig, Outcome, RunError};
use crate::estimation::phase_control::ControllerParams;
use crate::geometry::{Deployment, Point};
use crate::report::{Figure, Origin, Style, Table};
use crate::rng::SeedTree;
use crate::scenario::{Check, FieldError};
use crate::sync::layered_tree::engine::{
    check_tree, Audible, ControllerStats, Engine, EngineParams, Topology,
};
use crate::sync::layered_tree::faults::{validate_faults, Fault, FaultRunner};
use crate::sync::layered_tree::network::NetworkSpec;
use crate::sync::layered_tree::protocol::{Event, Layer, NodeState, ProtocolParams, Role};
use crate::units::{db_to_lin, lin_to_db, rad_to_deg, wrap_phase};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// Configuration of `chorus.failures`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Runs per scenario: drops of the random deployment (R1, R2, R5, R6, custom), noise
    /// realizations of the Fig. 2 topologies (R3, R4).
    pub runs: usize,
    /// The layering protocol (θ, H, D = `loss_periods`, dwell = `join_dwell`); the Fig. 2
    /// scenarios set `min_parent_layer` themselves, the random deployment needs 0.
    pub protocol: ProtocolParams,
    /// Per-RE SNR the robust controller is designed for in the random deployment (dB).
    pub design_snr_db: f64,
    /// The random small-cell deployment (root: the node nearest the centre).
    pub network: NetworkSpec,
    /// Per-RE SNR of every link of the Fig. 2 topologies, and their controllers' design SNR (dB).
    pub fig2_link_snr_db: f64,
    /// Regular nodes N listening to the Fig. 2 root chain.
    pub fig2_regular_nodes: usize,
    /// Regular nodes M one layer below N (each hears two N).
    pub fig2_descendants: usize,
    /// Time before the first fault (s): joins, acquisition, lock.
    pub warmup_s: f64,
    /// Window observed after each fault (s); also the gap between the two kills of R4.
    pub observe_s: f64,
    /// Window before a fault over which the steady-state coherence error S is measured (s).
    pub baseline_s: f64,
    /// Coherence interval Δ (periods).
    pub coherence_periods: usize,
    /// Recovered once the coherence error is within this factor of its steady state (notes:
    /// 1.5).
    pub recovery_factor: f64,
    /// X: the largest disturbance of relative phase over Δ a fault may cause (degrees).
    pub max_disturbance_deg: f64,
    /// N: the recovery time allowed (periods).
    pub max_recovery_periods: usize,
    /// How long the R6 blockage lasts (s).
    pub blockage_s: f64,
    /// A user's fault schedule, run on the random deployment (empty: none).
    #[serde(default)]
    pub faults: Vec<Fault>,
    /// Length of the custom runs (s).
    pub custom_duration_s: f64,
}

impl ExperimentConfig for Config {
    fn full() -> Self {
        Config {
            runs: 20,
            protocol: ProtocolParams::default(),
            design_snr_db: 3.0,
            network: NetworkSpec {
                deployment: Deployment::Binomial { count: 40 },
                ..NetworkSpec::small_cells(20.0, 1500.0, 1500.0)
            },
            fig2_link_snr_db: 15.0,
            fig2_regular_nodes: 4,
            fig2_descendants: 4,
            warmup_s: 3.0,
            observe_s: 2.0,
            baseline_s: 1.0,
            coherence_periods: 4,
            recovery_factor: 1.5,
            max_disturbance_deg: 10.0,
            max_recovery_periods: 20,
            blockage_s: 1.0,
            faults: Vec::new(),
            custom_duration_s: 8.0,
        }
    }

    fn quick() -> Self {
        Config {
            runs: 4,
            ..Self::full()
        }
    }

    fn validate(&self) -> Result<(), FieldError> {
        let c = Check { prefix: "config" };
        c.count("runs", self.runs, 1, 10_000)?;
        self.protocol.validate("config.protocol")?;
        if self.protocol.min_parent_layer != 0 {
            return Err(FieldError::new(
                "config.protocol.min_parent_layer",
                format!(
                    "got {}; allowed: 0 (the random deployment has a single root; the Fig. 2 \
                     scenarios reserve their root layers themselves)",
                    self.protocol.min_parent_layer
                ),
            ));
        }
        c.range("design_snr_db", self.design_snr_db, -30.0, 60.0, "dB")?;
        self.network.validate("config.network")?;
        c.range("fig2_link_snr_db", self.fig2_link_snr_db, -10.0, 60.0, "dB")?;
        c.count("fig2_regular_nodes", self.fig2_regular_nodes, 2, 64)?;
        c.count("fig2_descendants", self.fig2_descendants, 0, 64)?;
        c.range("warmup_s", self.warmup_s, 0.5, 600.0, "s")?;
        c.range("observe_s", self.observe_s, 0.2, 600.0, "s")?;
        c.range("baseline_s", self.baseline_s, 0.05, 600.0, "s")?;
        c.count("coherence_periods", self.coherence_periods, 1, 100)?;
        // the baseline window, the plotted lead (5Δ) and one Δ must fit before the first fault
        let need_s = self.baseline_s + 6.0 * self.coherence_periods as f64 * 5e-3;
        if self.warmup_s < need_s {
            return Err(FieldError::new(
                "config.warmup_s",
                format!(
                    "got {}; allowed: at least baseline_s + 6·coherence_periods periods = {need_s} s",
                    self.warmup_s
                ),
            ));
        }
        c.range("recovery_factor", self.recovery_factor, 1.0, 100.0, "")?;
        c.range(
            "max_disturbance_deg",
            self.max_disturbance_deg,
            0.0,
            180.0,
            "degrees",
        )?;
        c.count(
            "max_recovery_periods",
            self.max_recovery_periods,
            0,
            1_000_000,
        )?;
        c.range("blockage_s", self.blockage_s, 0.05, 600.0, "s")?;
        c.range(
            "custom_duration_s",
            self.custom_duration_s,
            0.1,
            3600.0,
            "s",
        )?;
        validate_faults(&self.faults, "config.faults", self.custom_duration_s)?;
        if let Deployment::Binomial { count } = self.network.deployment {
            for (i, f) in self.faults.iter().enumerate() {
                for (field, node) in fault_nodes(f) {
                    if node >= count {
                        return Err(FieldError::new(
                            format!("config.faults[{i}].{field}"),
                            format!(
                                "node {node} is not in the network; allowed: 0 to {} \
                                 (config.network.deployment has {count} nodes)",
                                count.saturating_sub(1)
                            ),
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    fn run(&self, ctx: &Context) -> Result<Outcome, RunError> {
        let t = self.timing()?;
        let jobs: Vec<(JobKind, usize)> = [JobKind::Random, JobKind::Fig2a, JobKind::Fig2b]
            .into_iter()
            .flat_map(|k| (0..self.runs).map(move |r| (k, r)))
            .collect();
        ctx.progress.begin("runs", jobs.len() as u64);
        let results = par_indexed(jobs.len(), ctx.progress, |j| {
            let (kind, run) = jobs[j];
            match kind {
                JobKind::Random => self
                    .random_drop(&t, &ctx.seeds.child("drop").index(run as u64))
                    .map(|d| JobResult::Random(Box::new(d))),
                JobKind::Fig2a => self
                    .fig2a(&t, &ctx.seeds.child("fig2a").index(run as u64))
                    .map(|d| JobResult::Fig2a(Box::new(d))),
                JobKind::Fig2b => self
                    .fig2b(&t, &ctx.seeds.child("fig2b").index(run as u64))
                    .map(JobResult::Fig2b),
            }
        });
        let mut acc = Accumulated::new(self, &t);
        for r in results {
            match r? {
                JobResult::Random(d) => acc.add_random(*d),
                JobResult::Fig2a(d) => acc.add_fig2a(*d),
                JobResult::Fig2b(d) => acc.add_fig2b(d),
            }
        }
        Ok(acc.finish(self, &t))
    }
}

/// The nodes a fault names, with their field names.
fn fault_nodes(f: &Fault) -> Vec<(&'static str, usize)> {
    match f {
        Fault::Kill { node, .. } | Fault::Revive { node, .. } | Fault::Add { node, .. } => {
            vec![("node", *node)]
        }
        Fault::Blockage { from, to, .. } => vec![("from", *from), ("to", *to)],
        Fault::SnrDip { node: Some(n), .. } => vec![("node", *n)],
        _ => vec![],
    }
}

#[derive(Clone, Copy)]
enum JobKind {
    Random,
    Fig2a,
    Fig2b,
}

enum JobResult {
    Random(Box<RandomDrop>),
    Fig2a(Box<Fig2aRun>),
    Fig2b(Fig2bRun),
}

/// Periods of the run (all in sync periods).
struct Timing {
    period_s: f64,
    /// The first fault.
    fault: usize,
    /// Observation window after a fault.
    window: usize,
    /// Steady-state window before a fault.
    baseline: usize,
    /// R6 blockage length.
    blockage: usize,
    /// Custom run length.
    custom: usize,
    /// Periods shown before a fault in the time plots.
    lead: usize,
}

impl Config {
    fn timing(&self) -> Result<Timing, RunError> {
        let params = EngineParams::chorus(self.design_snr_db).map_err(|e| {
            RunError::Config(FieldError::new("config.design_snr_db", e.to_string()))
        })?;
        let period_s = match params.controller {
            ControllerParams::Pi(p) => p.period_s,
            ControllerParams::Kalman(p) => p.period_s,
            ControllerParams::Robust(p) => p.period_s,
        };
        let p = |s: f64| (s / period_s).round() as usize;
        Ok(Timing {
            period_s,
            fault: p(self.warmup_s),
            window: p(self.observe_s),
            baseline: p(self.baseline_s),
            blockage: p(self.blockage_s).max(1),
            custom: p(self.custom_duration_s),
            lead: 5 * self.coherence_periods,
        })
    }

    fn engine_params(
        &self,
        design_snr_db: f64,
        min_parent_layer: Layer,
    ) -> Result<EngineParams, RunError> {
        let base =
            EngineParams::chorus(design_snr_db).map_err(|e| RunError::Numerical(e.to_string()))?;
        Ok(EngineParams {
            protocol: ProtocolParams {
                min_parent_layer,
                ..self.protocol
            },
            ..base
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Simulation and recording
// ---------------------------------------------------------------------------------------------

/// A network to run.
struct Setup {
    params: EngineParams,
    topology: Topology,
    roles: Vec<Role>,
    positions: Option<Vec<Point>>,
}

/// What a run recorded. State index p is the start of period p, before its faults.
struct Trajectory {
    theta: Vec<Vec<f64>>,
    layers: Vec<Vec<Option<Layer>>>,
    on: Vec<Vec<bool>>,
    stats: Vec<Vec<ControllerStats>>,
    /// Events of step p.
    events: Vec<Vec<(u32, Event)>>,
    tree_violations: usize,
    /// The periods whose checks failed (after the faults or after the step).
    violation_periods: Vec<usize>,
}

impl Trajectory {
    /// Losses of lock (controller re-acquisitions) at live nodes from period `from` to the end,
    /// and the node-periods they were counted over.
    fn lock_losses_from(&self, from: usize) -> (u64, f64) {
        let end = self.theta.len() - 1;
        let n = self.theta[0].len();
        let losses = (0..n)
            .map(|i| self.stats[end][i].lock_lost - self.stats[from][i].lock_lost)
            .sum();
        let node_periods = (from..end)
            .map(|p| self.on[p].iter().filter(|&&x| x).count() as f64)
            .sum();
        (losses, node_periods)
    }

    fn has_event(&self, p: usize, n: usize, f: impl Fn(&Event) -> bool) -> bool {
        self.events[p].iter().any(|(i, e)| *i as usize == n && f(e))
    }
}

/// Runs `setup` for `periods` with `faults`; `hook(p, engine, runner)` sees the state after
/// period p's faults, before its step.
fn simulate(
    setup: &Setup,
    faults: &[Fault],
    periods: usize,
    seeds: &SeedTree,
    mut hook: impl FnMut(usize, &Engine, &FaultRunner),
) -> Result<Trajectory, RunError> {
    let mut e = Engine::new(
        setup.params.clone(),
        setup.topology.clone(),
        setup.roles.clone(),
        seeds,
    )
    .map_err(|e| RunError::Numerical(e.to_string()))?;
    let mut runner = FaultRunner::new(faults, &mut e, setup.positions.as_deref(), "config.faults")
        .map_err(RunError::Config)?;
    let n = e.len();
    let mut tr = Trajectory {
        theta: Vec::with_capacity(periods + 1),
        layers: Vec::with_capacity(periods + 1),
        on: Vec::with_capacity(periods + 1),
        stats: Vec::with_capacity(periods + 1),
        events: Vec::with_capacity(periods),
        tree_violations: 0,
        violation_periods: Vec::new(),
    };
    let record = |tr: &mut Trajectory, e: &Engine| {
        tr.theta.push(e.phases().to_vec());
        tr.layers.push(e.layers());
        tr.on.push((0..n).map(|i| e.protocol(i).is_on()).collect());
        tr.stats
            .push((0..n).map(|i| e.controller_stats(i)).collect());
    };
    let check = |tr: &mut Trajectory, e: &Engine, p: usize| {
        if check_tree(e).is_err() {
            tr.tree_violations += 1;
            tr.violation_periods.push(p);
        }
    };
    for p in 0..periods {
        record(&mut tr, &e);
        runner.apply_due(&mut e);
        check(&mut tr, &e, p);
        hook(p, &e, &runner);
        e.step();
        tr.events.push(e.events().to_vec());
        check(&mut tr, &e, p);
    }
    record(&mut tr, &e);
    Ok(tr)
}

/// Per-layer SINR (linear, sorted by layer) that node `i` observes in the engine's current
/// state — the engine's model: a layer's summed per-RE SNR over its live audible transmitters
/// (times the active link factors) over 1 + the other layers on its frequency set — with node
/// `silent` not transmitting. Separate TX/RX chains (the engine's default).
fn observe(
    e: &Engine,
    runner: Option<&FaultRunner>,
    proto: &ProtocolParams,
    i: usize,
    silent: Option<usize>,
) -> Vec<(Layer, f64)> {
    let mut power: Vec<(Layer, f64)> = Vec::new();
    for a in &e.topology().audible[i] {
        let m = a.from as usize;
        if Some(m) == silent {
            continue;
        }
        let f = runner.map_or(1.0, |r| r.link_factor(m, i));
        if f <= 0.0 {
            continue;
        }
        for &l in e.protocol(m).tx_layers() {
            match power.iter_mut().find(|x| x.0 == l) {
                Some(x) => x.1 += a.snr * f,
                None => power.push((l, a.snr * f)),
            }
        }
    }
    power.sort_by_key(|x| x.0);
    power
        .iter()
        .map(|&(l, s)| {
            let set = proto.tx_set(l);
            let reuse: f64 = power
                .iter()
                .filter(|x| x.0 != l && proto.tx_set(x.0) == set)
                .map(|x| x.1)
                .sum();
            (l, s / (1.0 + reuse))
        })
        .collect()
}

fn sinr_of(obs: &[(Layer, f64)], layer: Layer) -> f64 {
    obs.iter().find(|x| x.0 == layer).map_or(0.0, |x| x.1)
}

/// The layer a scanning node would join: 1 + the lowest usable layer with SINR ≥ θ.
fn predicted_layer(obs: &[(Layer, f64)], proto: &ProtocolParams) -> Option<Layer> {
    let theta = db_to_lin(proto.threshold_db);
    obs.iter()
        .find(|&&(l, s)| s >= theta && l >= proto.min_parent_layer && l < proto.max_layer)
        .map(|&(l, _)| l + 1)
}

/// The listens-to descendants of `root` (not itself).
fn descendants(e: &Engine, root: usize) -> Vec<bool> {
    let edges = e.listens_to();
    let mut seen = vec![false; e.len()];
    let mut stack = vec![root];
    while let Some(v) = stack.pop() {
        for &(p, c) in &edges {
            if p as usize == v && !seen[c as usize] && c as usize != root {
                seen[c as usize] = true;
                stack.push(c as usize);
            }
        }
    }
    seen
}

/// The nodes tracking `v`'s layer that hear it with a non-zero gain (its children).
fn children(e: &Engine, v: usize) -> Vec<usize> {
    let mut c: Vec<usize> = e
        .listens_to()
        .into_iter()
        .filter(|&(p, _)| p as usize == v)
        .map(|(_, c)| c as usize)
        .collect();
    c.sort_unstable();
    c.dedup();
    c
}

// ---------------------------------------------------------------------------------------------
// Analysis of one fault against its twin
// ---------------------------------------------------------------------------------------------

/// The window of one fault: [start, end), with `lead` periods before it in the time series.
#[derive(Clone, Copy)]
struct Window {
    start: usize,
    end: usize,
}

/// One fault in one run, against its twin.
#[derive(Clone, Debug, Default)]
struct EventStats {
    layer_changes: usize,
    losses: usize,
    suspected: usize,
    upgrades: usize,
    /// Nodes (held a layer before) with a layer event in the window.
    changed: Vec<bool>,
    affected: usize,
    max_dist_rad: f64,
    detection: Option<usize>,
    rebaselines: u64,
    lock_losses: u64,
    /// Failed [`check_tree`] checks in the whole fault run.
    tree_violations: usize,
    /// Periods of the window before the twin's first loss of lock (anywhere), after which the
    /// twin is no counterfactual: the comparisons stop there.
    twin_valid: usize,
    outside_dev_rad: f64,
    pre_sum: f64,
    pre_n: f64,
    /// Over [start − lead, end): Σ e² and counts at affected nodes, peak |e − e_twin|.
    post_sum: Vec<f64>,
    post_n: Vec<f64>,
    peak: Vec<f64>,
}

struct Analysis<'a> {
    f: &'a Trajectory,
    twin: &'a Trajectory,
    reference: usize,
    /// Nodes that count as descendants (e.g. the regular nodes).
    scope: &'a [bool],
    /// The fault's subtree, for the outside deviation (None: not measured).
    subtree: Option<&'a [bool]>,
    coherence: usize,
    baseline: usize,
    lead: usize,
}

impl Analysis<'_> {
    fn run(&self, w: Window) -> EventStats {
        let (f, t0, r, d) = (self.f, self.twin, self.reference, self.coherence);
        let n = f.theta[0].len();
        let psi = |tr: &Trajectory, p: usize, i: usize| tr.theta[p][i] - tr.theta[p][r];
        let coh =
            |tr: &Trajectory, p: usize, i: usize| wrap_phase(psi(tr, p, i) - psi(tr, p - d, i));
        let existing: Vec<bool> = (0..n)
            .map(|i| f.on[w.start][i] && f.layers[w.start][i].is_some())
            .collect();
        let survivor: Vec<bool> = (0..n)
            .map(|i| f.on[w.end][i] && f.on[w.end - 1][i])
            .collect();
        let mut s = EventStats {
            changed: vec![false; n],
            post_sum: vec![0.0; self.lead + w.end - w.start],
            post_n: vec![0.0; self.lead + w.end - w.start],
            peak: vec![0.0; self.lead + w.end - w.start],
            ..EventStats::default()
        };
        let is_change =
            |e: &Event| matches!(e, Event::Lost(_) | Event::Moved(..) | Event::Joined(_));
        for p in w.start..w.end {
            for &(i, ev) in &f.events[p] {
                let i = i as usize;
                if !existing[i] {
                    continue;
                }
                match ev {
                    Event::Lost(_) => s.losses += 1,
                    Event::LossSuspected => s.suspected += 1,
                    Event::Moved(a, b) if b < a => s.upgrades += 1,
                    _ => {}
                }
                if is_change(&ev) {
                    s.layer_changes += 1;
                    s.changed[i] = true;
                }
            }
            for &(i, ev) in &t0.events[p] {
                if is_change(&ev) && existing[i as usize] {
                    // a change in the twin (without the fault) breaks the comparison too
                    s.changed[i as usize] = true;
                }
            }
        }
        let candidates: Vec<usize> = (0..n)
            .filter(|&i| existing[i] && survivor[i] && self.scope[i] && !s.changed[i] && i != r)
            .collect();
        let deviates = |i: usize| {
            (w.start..=w.end).any(|p| wrap_phase(psi(f, p, i) - psi(t0, p, i)).abs() > 1e-9)
        };
        // the twin is a counterfactual until it loses lock somewhere (a spontaneous event of
        // its own, not the fault's)
        let valid_end = (w.start..w.end)
            .find(|&p| (0..n).any(|i| t0.stats[p + 1][i].lock_lost > t0.stats[p][i].lock_lost))
            .map_or(w.end, |p| p + 1);
        s.twin_valid = valid_end - w.start;
        let affected: Vec<usize> = candidates
            .iter()
            .copied()
            .filter(|&i| deviates(i))
            .collect();
        s.affected = affected.len();
        for &i in &affected {
            for p in w.start - self.baseline..w.start {
                s.pre_sum += coh(f, p, i).powi(2);
                s.pre_n += 1.0;
            }
            for p in w.start - self.lead..w.end {
                let q = p + self.lead - w.start;
                let e = coh(f, p, i);
                s.post_sum[q] += e * e;
                s.post_n[q] += 1.0;
                if p < valid_end {
                    let dist = wrap_phase(e - coh(t0, p, i)).abs();
                    s.peak[q] = s.peak[q].max(dist);
                    if p >= w.start {
                        s.max_dist_rad = s.max_dist_rad.max(dist);
                    }
                }
            }
            s.rebaselines += f.stats[w.end][i].rebaselined - f.stats[w.start][i].rebaselined;
        }
        for i in (0..n).filter(|&i| existing[i] && survivor[i] && self.scope[i]) {
            s.lock_losses += f.stats[w.end][i].lock_lost - f.stats[w.start][i].lock_lost;
        }
        if let Some(sub) = self.subtree {
            for i in (0..n).filter(|&i| existing[i] && survivor[i] && !sub[i] && i != r) {
                for p in w.start..valid_end {
                    s.outside_dev_rad = s
                        .outside_dev_rad
                        .max(wrap_phase(psi(f, p, i) - psi(t0, p, i)).abs());
                }
            }
        }
        s.tree_violations = f
            .violation_periods
            .iter()
            .filter(|&&p| (w.start..w.end).contains(&p))
            .count();
        s.detection = (w.start..w.end)
            .find(|&p| {
                (0..n).any(|i| {
                    survivor[i]
                        && (f.has_event(p, i, |e| {
                            matches!(e, Event::LossSuspected | Event::Lost(_) | Event::Holdover)
                        }) || {
                            let (a, b) = (f.stats[p][i], f.stats[p + 1][i]);
                            b.gated > a.gated
                                || b.rebaselined > a.rebaselined
                                || b.lock_lost > a.lock_lost
                        })
                })
            })
            .map(|p| p - w.start + 1);
        s
    }
}

/// Fault statistics pooled over runs.
#[derive(Clone, Debug, Default)]
struct Pool {
    runs: usize,
    layer_changes: usize,
    losses: usize,
    suspected: usize,
    upgrades: usize,
    affected: usize,
    max_dist_rad: f64,
    /// Worst (largest) detection over runs that reacted.
    detection: Option<usize>,
    rebaselines: u64,
    lock_losses: u64,
    tree_violations: usize,
    /// Shortest stretch of a window with a valid twin (periods).
    twin_valid_min: Option<usize>,
    outside_dev_rad: f64,
    pre_sum: f64,
    pre_n: f64,
    post_sum: Vec<f64>,
    post_n: Vec<f64>,
    peak: Vec<f64>,
}

impl Pool {
    fn add(&mut self, s: &EventStats) {
        self.runs += 1;
        self.layer_changes += s.layer_changes;
        self.losses += s.losses;
        self.suspected += s.suspected;
        self.upgrades += s.upgrades;
        self.affected += s.affected;
        self.max_dist_rad = self.max_dist_rad.max(s.max_dist_rad);
        if let Some(d) = s.detection {
            self.detection = Some(self.detection.map_or(d, |x| x.max(d)));
        }
        self.rebaselines += s.rebaselines;
        self.lock_losses += s.lock_losses;
        self.tree_violations += s.tree_violations;
        self.twin_valid_min = Some(
            self.twin_valid_min
                .map_or(s.twin_valid, |v| v.min(s.twin_valid)),
        );
        self.outside_dev_rad = self.outside_dev_rad.max(s.outside_dev_rad);
        self.pre_sum += s.pre_sum;
        self.pre_n += s.pre_n;
        if self.post_sum.is_empty() {
            self.post_sum = vec![0.0; s.post_sum.len()];
            self.post_n = vec![0.0; s.post_n.len()];
            self.peak = vec![0.0; s.peak.len()];
        }
        for (q, v) in s.post_sum.iter().enumerate() {
            self.post_sum[q] += v;
            self.post_n[q] += s.post_n[q];
            self.peak[q] = self.peak[q].max(s.peak[q]);
        }
    }

    /// The largest fault-caused disturbance (rad) in the transient: the first `periods` after the
    /// fault (notes/000 §3 R1: the disturbance while the node recovers, N periods allowed; a
    /// slower recovery lengthens it).
    fn transient_max(&self, lead: usize, periods: usize) -> f64 {
        self.peak
            .iter()
            .skip(lead)
            .take(periods)
            .fold(0.0, |a: f64, &b| a.max(b))
    }

    /// Steady-state RMS S (rad), the pooled RMS E(q) over the last Δ periods, and the recovery
    /// time (periods; None without runs, 0 when no node was affected: S is then NaN).
    fn recovery(
        &self,
        lead: usize,
        coherence: usize,
        factor: f64,
    ) -> (f64, Vec<f64>, Option<usize>) {
        if self.runs == 0 {
            return (f64::NAN, Vec::new(), None);
        }
        if self.pre_n == 0.0 {
            return (f64::NAN, vec![f64::NAN; self.post_sum.len()], Some(0));
        }
        let s = (self.pre_sum / self.pre_n).sqrt();
        let e: Vec<f64> = (0..self.post_sum.len())
            .map(|q| {
                let lo = q.saturating_sub(coherence - 1);
                let (a, b) = (lo..=q).fold((0.0, 0.0), |(a, b), j| {
                    (a + self.post_sum[j], b + self.post_n[j])
                });
                if b > 0.0 {
                    (a / b).sqrt()
                } else {
                    0.0
                }
            })
            .collect();
        let rec = (lead..e.len())
            .rev()
            .find(|&q| e[q] > factor * s)
            .map_or(0, |q| q - lead + 1);
        (s, e, Some(rec))
    }
}

// ---------------------------------------------------------------------------------------------
// Random small-cell drops: R1, R2, R5, R6, custom
// ---------------------------------------------------------------------------------------------

/// R2 extras of one drop.
#[derive(Default)]
struct OrphanRun {
    orphans: usize,
    /// Max over direct orphans of the periods from the fault to their Lost event (None if one
    /// never lost its layer).
    detection: Option<usize>,
    undetected: usize,
    cascade_periods: usize,
    cascade_bound: usize,
    relayer_mismatches: usize,
    unsynced_at_end: usize,
    /// Nodes per layer (index = layer, last = unsynced live nodes) per period of the window,
    /// from `lead` before the fault.
    layer_counts: Vec<Vec<usize>>,
}

/// R5 extras of one drop.
#[derive(Default)]
struct AdditionRun {
    predicted: Option<Layer>,
    joined: Option<Layer>,
    join_periods: Option<usize>,
}

#[derive(Default)]
struct RandomDrop {
    nodes: usize,
    depth: Layer,
    r1: Option<EventStats>,
    r2: Option<(EventStats, OrphanRun)>,
    r5: Option<(EventStats, AdditionRun)>,
    r6: Option<(EventStats, EventStats)>,
    custom: Vec<EventStats>,
    /// The fault-free twin's losses of lock after the warm-up, and its node-periods.
    spontaneous: (u64, f64),
    tree_violations: usize,
}

impl RandomDrop {
    fn count(&mut self, tr: &Trajectory) {
        self.tree_violations += tr.tree_violations;
    }
}

/// Victims chosen from the state at the fault (identical in the twin and the fault runs).
#[derive(Default)]
struct Victims {
    r1: Option<(usize, Vec<bool>)>,
    /// Victim, its subtree, its direct orphans.
    r2: Option<(usize, Vec<bool>, Vec<usize>)>,
    /// (parent, receiver), the receiver's subtree (with itself).
    r6: Option<((usize, usize), Vec<bool>)>,
}

impl Config {
    fn random_drop(&self, t: &Timing, seeds: &SeedTree) -> Result<RandomDrop, RunError> {
        let net = self
            .network
            .build(&seeds.child("network"))
            .map_err(|e| RunError::Config(FieldError::new("config.network", e.to_string())))?;
        let n = net.points.len();
        // the root: the node nearest the centre among those the custom schedule does not name
        let named: Vec<usize> = self
            .faults
            .iter()
            .flat_map(|f| fault_nodes(f).into_iter().map(|x| x.1))
            .collect();
        let centre = net.window.center();
        let root = (0..n)
            .filter(|i| !named.contains(i))
            .min_by(|&a, &b| {
                net.window
                    .distance(net.points[a], centre)
                    .total_cmp(&net.window.distance(net.points[b], centre))
                    .then(a.cmp(&b))
            })
            .ok_or_else(|| {
                RunError::Config(FieldError::new(
                    "config.network",
                    "no node left for the root (none drawn, or the schedule names them all)",
                ))
            })?;
        let mut roles = vec![Role::Regular; n];
        roles[root] = Role::Root { tx_layers: vec![0] };
        let setup = Setup {
            params: self.engine_params(self.design_snr_db, 0)?,
            topology: net.topology.clone(),
            roles,
            positions: Some(net.points.clone()),
        };
        let proto = setup.params.protocol;
        let low = db_to_lin(proto.threshold_db - proto.hysteresis_db);
        let run_seeds = seeds.child("engine");
        let scope: Vec<bool> = (0..n).map(|i| i != root).collect();
        let mut out = RandomDrop {
            nodes: n,
            ..RandomDrop::default()
        };
        let kf = t.fault;
        let at = kf as f64 * t.period_s;

        // the twin: no fault; victims from the state at the fault period
        let mut victims = Victims::default();
        let twin = simulate(
            &setup,
            &[],
            kf + t.blockage + t.window,
            &run_seeds,
            |p, e, _| {
                if p == kf {
                    victims = choose_victims(e, &proto, low);
                }
            },
        )?;
        out.count(&twin);
        out.spontaneous = twin.lock_losses_from(kf);
        out.depth = twin.layers[kf].iter().flatten().copied().max().unwrap_or(0);
        let analysis =
            |f: &'_ Trajectory, twin: &'_ Trajectory, sub: Option<&'_ [bool]>, w: Window| {
                Analysis {
                    f,
                    twin,
                    reference: root,
                    scope: &scope,
                    subtree: sub,
                    coherence: self.coherence_periods,
                    baseline: t.baseline,
                    lead: t.lead,
                }
                .run(w)
            };
        let w1 = Window {
            start: kf,
            end: kf + t.window,
        };

        // R1: non-orphaning kill
        if let Some((v, sub)) = &victims.r1 {
            let f = simulate(
                &setup,
                &[Fault::Kill { at_s: at, node: *v }],
                w1.end,
                &run_seeds,
                |_, _, _| {},
            )?;
            out.count(&f);
            out.r1 = Some(analysis(&f, &twin, Some(sub), w1));
        }

        // R2: orphaning kill, with the join predictions of every scanning node
        if let Some((v, _sub, orphans)) = &victims.r2 {
            let mut pred: Vec<Vec<Option<Layer>>> = vec![Vec::new(); w1.end];
            let f = simulate(
                &setup,
                &[Fault::Kill { at_s: at, node: *v }],
                w1.end,
                &run_seeds,
                |p, e, r| {
                    if p >= kf {
                        pred[p] = (0..n)
                            .map(|i| {
                                let scanning =
                                    matches!(e.protocol(i).state, NodeState::Scanning { .. });
                                if scanning {
                                    predicted_layer(&observe(e, Some(r), &proto, i, None), &proto)
                                } else {
                                    None
                                }
                            })
                            .collect();
                    }
                },
            )?;
            out.count(&f);
            let stats = analysis(&f, &twin, None, w1);
            let mut o = OrphanRun {
                orphans: orphans.len(),
                ..OrphanRun::default()
            };
            let lost_at = |i: usize| {
                (kf..w1.end).find(|&p| f.has_event(p, i, |e| matches!(e, Event::Lost(_))))
            };
            let mut det = Some(0);
            for &c in orphans {
                match lost_at(c) {
                    Some(p) => det = det.map(|d: usize| d.max(p - kf + 1)),
                    None => {
                        o.undetected += 1;
                        det = None;
                    }
                }
            }
            o.detection = det;
            let mut lost_layers: Vec<Layer> = Vec::new();
            for i in 0..n {
                let Some(lp) = lost_at(i) else { continue };
                if let Some(l) = f.layers[kf][i] {
                    lost_layers.push(l);
                }
                match (lp + 1..=w1.end).find(|&q| f.layers[q][i].is_some()) {
                    Some(q) => {
                        o.cascade_periods = o.cascade_periods.max(q - kf);
                        if pred[q - 1].get(i).copied().flatten() != f.layers[q][i] {
                            o.relayer_mismatches += 1;
                        }
                    }
                    None => {
                        o.unsynced_at_end += 1;
                        o.cascade_periods = o.cascade_periods.max(lp + 1 - kf);
                    }
                }
            }
            lost_layers.sort_unstable();
            lost_layers.dedup();
            o.cascade_bound = lost_layers.len() * (proto.loss_periods + proto.join_dwell) as usize;
            let max_layer = f.layers[kf].iter().flatten().copied().max().unwrap_or(0) as usize + 4;
            o.layer_counts = (kf - t.lead..w1.end)
                .map(|p| {
                    let mut c = vec![0usize; max_layer + 2];
                    for i in 0..n {
                        match (f.on[p][i], f.layers[p][i]) {
                            (true, Some(l)) => c[(l as usize).min(max_layer)] += 1,
                            (true, None) => c[max_layer + 1] += 1,
                            _ => {}
                        }
                    }
                    c
                })
                .collect();
            out.r2 = Some((stats, o));
        }

        // R6: blockage of one parent link, then cleared
        if let Some(((m, v), sub)) = &victims.r6 {
            let fault = Fault::Blockage {
                at_s: at,
                from: *m,
                to: *v,
                factor: 0.0,
                duration_s: Some(t.blockage as f64 * t.period_s),
                two_way: true,
            };
            let end = kf + t.blockage + t.window;
            let f = simulate(&setup, &[fault], end, &run_seeds, |_, _, _| {})?;
            out.count(&f);
            let onset = analysis(
                &f,
                &twin,
                Some(sub),
                Window {
                    start: kf,
                    end: kf + t.blockage,
                },
            );
            let clear = analysis(
                &f,
                &twin,
                Some(sub),
                Window {
                    start: kf + t.blockage,
                    end,
                },
            );
            out.r6 = Some((onset, clear));
        }

        // R5: a node off from the start joins after the warm-up
        let mut pick = seeds.child("addition").rng();
        let candidates: Vec<usize> = (0..n)
            .filter(|&i| {
                i != root
                    && net.topology.audible[i]
                        .iter()
                        .any(|a| a.snr >= db_to_lin(proto.threshold_db))
            })
            .collect();
        if !candidates.is_empty() {
            let u = candidates[pick.random_range(0..candidates.len())];
            let never = Fault::Add { at_s: 1e6, node: u };
            let twin5 = simulate(&setup, &[never], w1.end, &run_seeds, |_, _, _| {})?;
            out.count(&twin5);
            let mut add = AdditionRun::default();
            let f = simulate(
                &setup,
                &[Fault::Add { at_s: at, node: u }],
                w1.end,
                &run_seeds,
                |p, e, r| {
                    if p == kf {
                        add.predicted =
                            predicted_layer(&observe(e, Some(r), &proto, u, None), &proto);
                    }
                },
            )?;
            out.count(&f);
            let mut sc = scope.clone();
            sc[u] = false;
            let stats = Analysis {
                f: &f,
                twin: &twin5,
                reference: root,
                scope: &sc,
                subtree: None,
                coherence: self.coherence_periods,
                baseline: t.baseline,
                lead: t.lead,
            }
            .run(w1);
            if let Some(q) = (kf + 1..=w1.end).find(|&q| f.layers[q][u].is_some()) {
                add.joined = f.layers[q][u];
                add.join_periods = Some(q - kf);
            }
            out.r5 = Some((stats, add));
        }

        // custom schedule
        if !self.faults.is_empty() {
            out.custom = self.custom_run(&setup, root, t, &run_seeds, &mut out)?;
        }
        Ok(out)
    }

    fn custom_run(
        &self,
        setup: &Setup,
        root: usize,
        t: &Timing,
        seeds: &SeedTree,
        out: &mut RandomDrop,
    ) -> Result<Vec<EventStats>, RunError> {
        let n = setup.topology.len();
        let period = |f: &Fault| (f.at_s() / t.period_s - 1e-9).ceil().max(0.0) as usize;
        let mut starts: Vec<usize> = self.faults.iter().map(period).collect();
        starts.sort_unstable();
        starts.dedup();
        let end = t.custom;
        let f = simulate(setup, &self.faults, end, seeds, |_, _, _| {})?;
        out.count(&f);
        let scope = vec![true; n];
        let mut stats = Vec::new();
        for (g, &start) in starts.iter().enumerate() {
            let stop = starts.get(g + 1).copied().unwrap_or(end).min(end);
            if start < t.baseline + t.lead + self.coherence_periods || start >= stop {
                // too early to have a steady state, or beyond the run
                stats.push(EventStats::default());
                continue;
            }
            let prefix: Vec<Fault> = self
                .faults
                .iter()
                .filter_map(|x| {
                    if period(x) < start {
                        Some(x.clone())
                    } else if let Fault::Add { node, .. } = x {
                        Some(Fault::Add {
                            at_s: 1e6,
                            node: *node,
                        })
                    } else {
                        None
                    }
                })
                .collect();
            let twin = simulate(setup, &prefix, end, seeds, |_, _, _| {})?;
            out.count(&twin);
            let reference = if f.on[stop][root] && f.on[start + 1][root] {
                root
            } else {
                (0..n)
                    .filter(|&i| f.on[stop][i] && twin.on[stop][i] && f.layers[start][i].is_some())
                    .min_by_key(|&i| (f.layers[start][i], i))
                    .unwrap_or(root)
            };
            stats.push(
                Analysis {
                    f: &f,
                    twin: &twin,
                    reference,
                    scope: &scope,
                    subtree: None,
                    coherence: self.coherence_periods,
                    baseline: t.baseline,
                    lead: t.lead,
                }
                .run(Window { start, end: stop }),
            );
        }
        Ok(stats)
    }
}

/// Picks the R1, R2 and R6 victims from the state at the fault (see the module doc).
fn choose_victims(e: &Engine, proto: &ProtocolParams, low: f64) -> Victims {
    let n = e.len();
    let mut v = Victims::default();
    let mut best1 = 0usize;
    let mut best2 = 0usize;
    let mut best6 = 0usize;
    for m in 0..n {
        let p = e.protocol(m);
        if p.role != Role::Regular {
            continue;
        }
        let Some(layer) = p.layer() else { continue };
        let kids = children(e, m);
        if kids.is_empty() {
            continue;
        }
        let sub = descendants(e, m);
        let size = sub.iter().filter(|&&x| x).count();
        let orphans: Vec<usize> = kids
            .iter()
            .copied()
            .filter(|&c| sinr_of(&observe(e, None, proto, c, Some(m)), layer) < low)
            .collect();
        if orphans.is_empty() {
            if size > best1 {
                best1 = size;
                v.r1 = Some((m, sub.clone()));
            }
        } else if size > best2 {
            best2 = size;
            v.r2 = Some((m, sub.clone(), orphans));
        }
    }
    // R6: a regular node with ≥ 2 parents that keeps its parent layer above θ − H without the
    // strongest; the one with the most descendants
    for c in 0..n {
        let p = e.protocol(c);
        if p.role != Role::Regular {
            continue;
        }
        let Some(tracked) = p.tracks() else { continue };
        let parents: Vec<&Audible> = e.topology().audible[c]
            .iter()
            .filter(|a| e.protocol(a.from as usize).tx_layers().contains(&tracked))
            .collect();
        if parents.len() < 2 {
            continue;
        }
        let strongest = parents
            .iter()
            .max_by(|a, b| a.snr.total_cmp(&b.snr).then(b.from.cmp(&a.from)))
            .expect("≥ 2 parents");
        let m = strongest.from as usize;
        if sinr_of(&observe(e, None, proto, c, Some(m)), tracked) < low {
            continue;
        }
        let mut sub = descendants(e, c);
        sub[c] = true;
        let size = sub.iter().filter(|&&x| x).count();
        if size > best6 {
            best6 = size;
            v.r6 = Some(((m, c), sub));
        }
    }
    v
}

// ---------------------------------------------------------------------------------------------
// Fig. 2 topologies: R3, R4
// ---------------------------------------------------------------------------------------------

/// The Fig. 2 topologies: `chain` root nodes (A, B, C…) all hearing each other, `k` regular
/// nodes N hearing every chain node, `m` regular nodes M each hearing two N; every link both
/// ways at `snr`. Chain node j listens on layer j − 1 and transmits on layers j … chain − 1.
fn fig2_setup(chain: usize, k: usize, m: usize, snr_db: f64, params: EngineParams) -> Setup {
    let s = db_to_lin(snr_db);
    let n = chain + k + m;
    let mut audible: Vec<Vec<Audible>> = vec![Vec::new(); n];
    let mut link = |a: usize, b: usize| {
        audible[a].push(Audible {
            from: b as u32,
            snr: s,
        });
        audible[b].push(Audible {
            from: a as u32,
            snr: s,
        });
    };
    for a in 0..chain {
        for b in a + 1..chain {
            link(a, b);
        }
        for i in 0..k {
            link(a, chain + i);
        }
    }
    for j in 0..m {
        link(chain + k + j, chain + j % k);
        link(chain + k + j, chain + (j + 1) % k);
    }
    let top = chain as Layer;
    let roles = (0..n)
        .map(|i| {
            if i == 0 {
                Role::Root {
                    tx_layers: (0..top).collect(),
                }
            } else if i < chain {
                Role::RootCandidate {
                    listen: i as Layer - 1,
                    tx_layers: (i as Layer..top).collect(),
                }
            } else {
                Role::Regular
            }
        })
        .collect();
    Setup {
        params,
        topology: Topology { audible },
        roles,
        positions: None,
    }
}

struct Fig2aRun {
    spontaneous: (u64, f64),
    kill_a: EventStats,
    kill_b: EventStats,
    /// Periods from killing A to B's Holdover event.
    b_holdover: Option<usize>,
    /// Final layers of the regular nodes as expected (N in 2, M in 3) after each fault.
    layers_kept: bool,
    tree_violations: usize,
}

struct Fig2bRun {
    spontaneous: (u64, f64),
    /// Per ordered pair (first, second): the two faults' statistics.
    pairs: Vec<((usize, usize), EventStats, EventStats)>,
    /// Lowest layer-2 SINR any N node saw after the first kill (linear).
    min_parent_sinr: f64,
    /// LossSuspected/Lost events at regular nodes after the first kill.
    parent_losses: usize,
    /// Periods from a kill to a candidate's Holdover event (worst).
    holdover: Option<usize>,
    tree_violations: usize,
}

impl Config {
    fn fig2_params(&self, chain: usize) -> Result<EngineParams, RunError> {
        self.engine_params(self.fig2_link_snr_db, chain as Layer - 1)
    }

    fn fig2a(&self, t: &Timing, seeds: &SeedTree) -> Result<Fig2aRun, RunError> {
        let (k, m) = (self.fig2_regular_nodes, self.fig2_descendants);
        let setup = fig2_setup(2, k, m, self.fig2_link_snr_db, self.fig2_params(2)?);
        let n = 2 + k + m;
        let scope: Vec<bool> = (0..n).map(|i| i >= 2).collect();
        let kf = t.fault;
        let end = kf + t.window;
        let at = kf as f64 * t.period_s;
        let twin = simulate(&setup, &[], end, seeds, |_, _, _| {})?;
        let mut viol = twin.tree_violations;
        let expected = |tr: &Trajectory| {
            (2..n).all(|i| tr.layers[end][i] == Some(if i < 2 + k { 2 } else { 3 }))
                && (2..n).all(|i| tr.layers[kf][i] == Some(if i < 2 + k { 2 } else { 3 }))
        };
        let mut kept = expected(&twin);
        let mut stats = Vec::new();
        let mut b_holdover = None;
        for (victim, reference) in [(0usize, 1usize), (1, 0)] {
            let f = simulate(
                &setup,
                &[Fault::Kill {
                    at_s: at,
                    node: victim,
                }],
                end,
                seeds,
                |_, _, _| {},
            )?;
            viol += f.tree_violations;
            kept &= expected(&f);
            if victim == 0 {
                b_holdover = (kf..end)
                    .find(|&p| f.has_event(p, 1, |e| *e == Event::Holdover))
                    .map(|p| p - kf + 1);
            }
            stats.push(
                Analysis {
                    f: &f,
                    twin: &twin,
                    reference,
                    scope: &scope,
                    subtree: None,
                    coherence: self.coherence_periods,
                    baseline: t.baseline,
                    lead: t.lead,
                }
                .run(Window { start: kf, end }),
            );
        }
        let kill_b = stats.pop().expect("two runs");
        let kill_a = stats.pop().expect("two runs");
        Ok(Fig2aRun {
            spontaneous: twin.lock_losses_from(kf),
            kill_a,
            kill_b,
            b_holdover,
            layers_kept: kept,
            tree_violations: viol,
        })
    }

    fn fig2b(&self, t: &Timing, seeds: &SeedTree) -> Result<Fig2bRun, RunError> {
        let (k, m) = (self.fig2_regular_nodes, self.fig2_descendants);
        let setup = fig2_setup(3, k, m, self.fig2_link_snr_db, self.fig2_params(3)?);
        let proto = setup.params.protocol;
        let n = 3 + k + m;
        let scope: Vec<bool> = (0..n).map(|i| i >= 3).collect();
        let kf = t.fault;
        let k2 = kf + t.window;
        let end = k2 + t.window;
        let at = |p: usize| p as f64 * t.period_s;
        let kill = |node: usize, p: usize| Fault::Kill { at_s: at(p), node };
        let twin0 = simulate(&setup, &[], end, seeds, |_, _, _| {})?;
        let mut viol = twin0.tree_violations;
        let mut twins1 = Vec::new();
        for x in 0..3 {
            let tr = simulate(&setup, &[kill(x, kf)], end, seeds, |_, _, _| {})?;
            viol += tr.tree_violations;
            twins1.push(tr);
        }
        let mut out = Fig2bRun {
            spontaneous: twin0.lock_losses_from(kf),
            pairs: Vec::new(),
            min_parent_sinr: f64::INFINITY,
            parent_losses: 0,
            holdover: None,
            tree_violations: 0,
        };
        for (x, twin1) in twins1.iter().enumerate() {
            for y in (0..3).filter(|&y| y != x) {
                let z = 3 - x - y;
                let mut min_sinr = f64::INFINITY;
                let f = simulate(
                    &setup,
                    &[kill(x, kf), kill(y, k2)],
                    end,
                    seeds,
                    |p, e, r| {
                        if p >= kf {
                            for i in 3..3 + k {
                                let s = sinr_of(&observe(e, Some(r), &proto, i, None), 2);
                                min_sinr = min_sinr.min(s);
                            }
                        }
                    },
                )?;
                viol += f.tree_violations;
                out.min_parent_sinr = out.min_parent_sinr.min(min_sinr);
                for p in kf..end {
                    for &(i, ev) in &f.events[p] {
                        let i = i as usize;
                        if i >= 3 && matches!(ev, Event::LossSuspected | Event::Lost(_)) {
                            out.parent_losses += 1;
                        }
                    }
                }
                for (start, stop) in [(kf, k2), (k2, end)] {
                    if let Some(p) = (start..stop)
                        .find(|&p| (0..3).any(|c| f.has_event(p, c, |e| *e == Event::Holdover)))
                    {
                        let d = p - start + 1;
                        out.holdover = Some(out.holdover.map_or(d, |h: usize| h.max(d)));
                    }
                }
                let a = |twin: &Trajectory, w: Window| {
                    Analysis {
                        f: &f,
                        twin,
                        reference: z,
                        scope: &scope,
                        subtree: None,
                        coherence: self.coherence_periods,
                        baseline: t.baseline,
                        lead: t.lead,
                    }
                    .run(w)
                };
                let s1 = a(&twin0, Window { start: kf, end: k2 });
                let s2 = a(twin1, Window { start: k2, end });
                out.pairs.push(((x, y), s1, s2));
            }
        }
        out.tree_violations = viol;
        Ok(out)
    }
}

// ---------------------------------------------------------------------------------------------
// Reduction and report
// ---------------------------------------------------------------------------------------------

struct Accumulated {
    r1: Pool,
    r2: Pool,
    r2_orphans: usize,
    r2_detection: Option<usize>,
    r2_undetected: usize,
    r2_cascade_periods: usize,
    r2_cascade_bound: usize,
    r2_cascade_over_bound: f64,
    r2_relayer_mismatches: usize,
    r2_unsynced_at_end: usize,
    r2_layer_counts: Option<Vec<Vec<usize>>>,
    r3a: Pool,
    r3b: Pool,
    r3_b_holdover: Option<usize>,
    r3_layers_kept: bool,
    r4: Pool,
    r4_pairs: Vec<Pool>,
    r4_min_parent_sinr: f64,
    r4_parent_losses: usize,
    r4_holdover: Option<usize>,
    r5: Pool,
    r5_mismatches: usize,
    r5_join_periods: Option<usize>,
    r5_joined: usize,
    r5_unreachable: usize,
    r6_onset: Pool,
    r6_clear: Pool,
    custom: Vec<Pool>,
    spontaneous_random: (u64, f64),
    spontaneous_fig2: (u64, f64),
    drops: usize,
    nodes: usize,
    depth_max: Layer,
    tree_violations: usize,
    tree_violations_fig2a: usize,
    tree_violations_fig2b: usize,
}

fn max_opt(a: Option<usize>, b: Option<usize>) -> Option<usize> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

impl Accumulated {
    fn new(cfg: &Config, t: &Timing) -> Self {
        let groups = {
            let mut p: Vec<u64> = cfg
                .faults
                .iter()
                .map(|f| (f.at_s() / t.period_s - 1e-9).ceil().max(0.0) as u64)
                .collect();
            p.sort_unstable();
            p.dedup();
            p.len()
        };
        Accumulated {
            r1: Pool::default(),
            r2: Pool::default(),
            r2_orphans: 0,
            r2_detection: None,
            r2_undetected: 0,
            r2_cascade_periods: 0,
            r2_cascade_bound: 0,
            r2_cascade_over_bound: 0.0,
            r2_relayer_mismatches: 0,
            r2_unsynced_at_end: 0,
            r2_layer_counts: None,
            r3a: Pool::default(),
            r3b: Pool::default(),
            r3_b_holdover: None,
            r3_layers_kept: true,
            r4: Pool::default(),
            r4_pairs: vec![Pool::default(); 6],
            r4_min_parent_sinr: f64::INFINITY,
            r4_parent_losses: 0,
            r4_holdover: None,
            r5: Pool::default(),
            r5_mismatches: 0,
            r5_join_periods: None,
            r5_joined: 0,
            r5_unreachable: 0,
            r6_onset: Pool::default(),
            r6_clear: Pool::default(),
            custom: vec![Pool::default(); groups],
            spontaneous_random: (0, 0.0),
            spontaneous_fig2: (0, 0.0),
            drops: 0,
            nodes: 0,
            depth_max: 0,
            tree_violations: 0,
            tree_violations_fig2a: 0,
            tree_violations_fig2b: 0,
        }
    }

    fn add_random(&mut self, d: RandomDrop) {
        self.drops += 1;
        self.spontaneous_random.0 += d.spontaneous.0;
        self.spontaneous_random.1 += d.spontaneous.1;
        self.nodes += d.nodes;
        self.depth_max = self.depth_max.max(d.depth);
        self.tree_violations += d.tree_violations;
        if let Some(s) = &d.r1 {
            self.r1.add(s);
        }
        if let Some((s, o)) = d.r2 {
            self.r2.add(&s);
            self.r2_orphans += o.orphans;
            self.r2_undetected += o.undetected;
            self.r2_detection = max_opt(self.r2_detection, o.detection);
            self.r2_cascade_periods = self.r2_cascade_periods.max(o.cascade_periods);
            self.r2_cascade_bound = self.r2_cascade_bound.max(o.cascade_bound);
            if o.cascade_bound > 0 {
                self.r2_cascade_over_bound = self
                    .r2_cascade_over_bound
                    .max(o.cascade_periods as f64 / o.cascade_bound as f64);
            }
            self.r2_relayer_mismatches += o.relayer_mismatches;
            self.r2_unsynced_at_end += o.unsynced_at_end;
            if self.r2_layer_counts.is_none() {
                self.r2_layer_counts = Some(o.layer_counts);
            }
        }
        if let Some((s, a)) = d.r5 {
            self.r5.add(&s);
            if a.joined != a.predicted {
                self.r5_mismatches += 1;
            }
            match a.join_periods {
                Some(p) => {
                    self.r5_joined += 1;
                    self.r5_join_periods = max_opt(self.r5_join_periods, Some(p));
                }
                None => self.r5_unreachable += 1,
            }
        }
        if let Some((a, b)) = &d.r6 {
            self.r6_onset.add(a);
            self.r6_clear.add(b);
        }
        for (g, s) in d.custom.iter().enumerate() {
            if g < self.custom.len() {
                self.custom[g].add(s);
            }
        }
    }

    fn add_fig2a(&mut self, d: Fig2aRun) {
        self.tree_violations += d.tree_violations;
        self.tree_violations_fig2a += d.tree_violations;
        self.spontaneous_fig2.0 += d.spontaneous.0;
        self.spontaneous_fig2.1 += d.spontaneous.1;
        self.r3a.add(&d.kill_a);
        self.r3b.add(&d.kill_b);
        self.r3_b_holdover = max_opt(self.r3_b_holdover, d.b_holdover);
        self.r3_layers_kept &= d.layers_kept;
    }

    fn add_fig2b(&mut self, d: Fig2bRun) {
        self.tree_violations += d.tree_violations;
        self.tree_violations_fig2b += d.tree_violations;
        self.spontaneous_fig2.0 += d.spontaneous.0;
        self.spontaneous_fig2.1 += d.spontaneous.1;
        for (j, (_, s1, s2)) in d.pairs.iter().enumerate() {
            self.r4.add(s1);
            self.r4.add(s2);
            self.r4_pairs[j].add(s1);
            self.r4_pairs[j].add(s2);
        }
        self.r4_min_parent_sinr = self.r4_min_parent_sinr.min(d.min_parent_sinr);
        self.r4_parent_losses += d.parent_losses;
        self.r4_holdover = max_opt(self.r4_holdover, d.holdover);
    }

    fn finish(self, cfg: &Config, t: &Timing) -> Outcome {
        let mut out = Outcome::default();
        let lead = t.lead;
        let mut summary_rows = Vec::new();
        let mut peak_fig = Figure::new(
            "disturbance_vs_time",
            &format!(
                "Fault-caused change of relative phase over Δ = {} ms at the affected nodes (max over nodes and runs)",
                5 * cfg.coherence_periods
            ),
            "time from the fault (ms)",
            "|e_n − e_n(twin)| (degrees)",
        );
        let mut rms_fig = Figure::new(
            "coherence_vs_time",
            "Coherence error at the affected nodes relative to its steady state before the fault",
            "time from the fault (ms)",
            "E(t) / S (RMS over nodes, runs and Δ)",
        );
        let mut series_rows: Vec<Vec<f64>> = Vec::new();
        let mut scenarios: Vec<(&str, &Pool)> = vec![
            ("r1", &self.r1),
            ("r2", &self.r2),
            ("r3_kill_a", &self.r3a),
            ("r3_kill_b", &self.r3b),
            ("r4", &self.r4),
            ("r5", &self.r5),
            ("r6_onset", &self.r6_onset),
            ("r6_clear", &self.r6_clear),
        ];
        let custom_names: Vec<String> = (0..self.custom.len())
            .map(|g| format!("custom_g{g}"))
            .collect();
        for (g, p) in self.custom.iter().enumerate() {
            scenarios.push((custom_names[g].as_str(), p));
        }
        let m = &mut out.metrics;
        for (si, (name, pool)) in scenarios.iter().enumerate() {
            m.insert(format!("{name}_runs"), pool.runs as f64);
            if pool.runs == 0 {
                continue;
            }
            let (s, e, rec) = pool.recovery(lead, cfg.coherence_periods, cfg.recovery_factor);
            let transient = rec.unwrap_or(0).max(cfg.max_recovery_periods);
            let dist = pool.transient_max(lead, transient);
            m.insert(format!("{name}_layer_changes"), pool.layer_changes as f64);
            m.insert(format!("{name}_losses"), pool.losses as f64);
            m.insert(format!("{name}_loss_suspected"), pool.suspected as f64);
            m.insert(format!("{name}_upgrades"), pool.upgrades as f64);
            m.insert(
                format!("{name}_affected_nodes_per_run"),
                pool.affected as f64 / pool.runs as f64,
            );
            m.insert(format!("{name}_max_disturbance_deg"), rad_to_deg(dist));
            m.insert(
                format!("{name}_max_disturbance_window_deg"),
                rad_to_deg(pool.max_dist_rad),
            );
            m.insert(format!("{name}_rebaselines"), pool.rebaselines as f64);
            m.insert(format!("{name}_lock_losses"), pool.lock_losses as f64);
            m.insert(
                format!("{name}_tree_violations"),
                pool.tree_violations as f64,
            );
            if let Some(v) = pool.twin_valid_min {
                m.insert(format!("{name}_twin_valid_periods_min"), v as f64);
            }
            if let Some(d) = pool.detection {
                m.insert(format!("{name}_detection_periods"), d as f64);
            }
            if let Some(r) = rec {
                m.insert(format!("{name}_recovery_periods"), r as f64);
            }
            if s.is_finite() {
                m.insert(format!("{name}_steady_rms_deg"), rad_to_deg(s));
            }
            summary_rows.push(vec![
                si as f64,
                pool.runs as f64,
                pool.layer_changes as f64,
                pool.losses as f64,
                pool.affected as f64 / pool.runs as f64,
                rad_to_deg(dist),
                rec.map_or(f64::NAN, |r| r as f64),
                pool.detection.map_or(f64::NAN, |d| d as f64),
                rad_to_deg(s),
            ]);
            let time_ms = |q: usize| (q as f64 - lead as f64) * t.period_s * 1e3;
            if s.is_finite() {
                peak_fig = peak_fig.line(
                    name,
                    Origin::Measured,
                    Style::Line,
                    pool.peak
                        .iter()
                        .enumerate()
                        .map(|(q, v)| (time_ms(q), rad_to_deg(*v)))
                        .collect(),
                );
                rms_fig = rms_fig.line(
                    name,
                    Origin::Measured,
                    Style::Line,
                    e.iter()
                        .enumerate()
                        .map(|(q, v)| (time_ms(q), v / s))
                        .collect(),
                );
                for (q, v) in e.iter().enumerate() {
                    series_rows.push(vec![
                        si as f64,
                        time_ms(q),
                        rad_to_deg(pool.peak[q]),
                        rad_to_deg(*v),
                        v / s,
                    ]);
                }
            }
        }
        let horizon_ms = (t.window.max(t.blockage)) as f64 * t.period_s * 1e3;
        let lead_ms = -(lead as f64) * t.period_s * 1e3;
        peak_fig = peak_fig.line(
            &format!("X = {}°", cfg.max_disturbance_deg),
            Origin::Theory,
            Style::Line,
            vec![
                (lead_ms, cfg.max_disturbance_deg),
                (horizon_ms, cfg.max_disturbance_deg),
            ],
        );
        rms_fig = rms_fig.line(
            &format!("{}× steady state", cfg.recovery_factor),
            Origin::Theory,
            Style::Line,
            vec![
                (lead_ms, cfg.recovery_factor),
                (horizon_ms, cfg.recovery_factor),
            ],
        );

        // scenario-specific metrics
        m.insert(
            "r1_outside_max_dev_deg".into(),
            rad_to_deg(self.r1.outside_dev_rad),
        );
        m.insert("r2_orphans".into(), self.r2_orphans as f64);
        if let Some(d) = self.r2_detection {
            m.insert("r2_orphan_detection_periods_max".into(), d as f64);
        }
        m.insert("r2_orphans_undetected".into(), self.r2_undetected as f64);
        m.insert(
            "r2_cascade_periods_max".into(),
            self.r2_cascade_periods as f64,
        );
        m.insert(
            "r2_cascade_bound_periods_max".into(),
            self.r2_cascade_bound as f64,
        );
        if self.r2.runs > 0 {
            m.insert("r2_cascade_over_bound".into(), self.r2_cascade_over_bound);
        }
        m.insert(
            "r2_relayer_mismatches".into(),
            self.r2_relayer_mismatches as f64,
        );
        m.insert("r2_unsynced_at_end".into(), self.r2_unsynced_at_end as f64);
        if let Some(h) = self.r3_b_holdover {
            m.insert("r3_kill_a_holdover_detection_periods".into(), h as f64);
        }
        m.insert(
            "r3_layers_as_fig2a".into(),
            if self.r3_layers_kept { 1.0 } else { 0.0 },
        );
        if self.r4_min_parent_sinr.is_finite() {
            m.insert(
                "r4_min_parent_sinr_db".into(),
                lin_to_db(self.r4_min_parent_sinr.max(1e-30)),
            );
        }
        m.insert("r4_parent_loss_events".into(), self.r4_parent_losses as f64);
        if let Some(h) = self.r4_holdover {
            m.insert("r4_holdover_detection_periods".into(), h as f64);
        }
        let pair_names = ["ab", "ac", "ba", "bc", "ca", "cb"];
        for (j, p) in self.r4_pairs.iter().enumerate() {
            if p.runs > 0 {
                let (_, _, rec) = p.recovery(lead, cfg.coherence_periods, cfg.recovery_factor);
                let transient = rec.unwrap_or(0).max(cfg.max_recovery_periods);
                m.insert(
                    format!("r4_{}_max_disturbance_deg", pair_names[j]),
                    rad_to_deg(p.transient_max(lead, transient)),
                );
                m.insert(
                    format!("r4_{}_layer_changes", pair_names[j]),
                    p.layer_changes as f64,
                );
                m.insert(
                    format!("r4_{}_lock_losses", pair_names[j]),
                    p.lock_losses as f64,
                );
                if let Some(r) = rec {
                    m.insert(format!("r4_{}_recovery_periods", pair_names[j]), r as f64);
                }
            }
        }
        m.insert("r5_layer_mismatches".into(), self.r5_mismatches as f64);
        m.insert("r5_joined".into(), self.r5_joined as f64);
        m.insert("r5_unreachable".into(), self.r5_unreachable as f64);
        if let Some(p) = self.r5_join_periods {
            m.insert("r5_join_periods_max".into(), p as f64);
        }
        if self.r6_onset.runs > 0 {
            let (_, _, a) =
                self.r6_onset
                    .recovery(lead, cfg.coherence_periods, cfg.recovery_factor);
            let (_, _, b) =
                self.r6_clear
                    .recovery(lead, cfg.coherence_periods, cfg.recovery_factor);
            if let Some(r) = max_opt(a, b) {
                m.insert("r6_recovery_periods".into(), r as f64);
            }
            let n = cfg.max_recovery_periods;
            m.insert(
                "r6_max_disturbance_deg".into(),
                rad_to_deg(
                    self.r6_onset
                        .transient_max(lead, a.unwrap_or(0).max(n))
                        .max(self.r6_clear.transient_max(lead, b.unwrap_or(0).max(n))),
                ),
            );
            m.insert(
                "r6_outside_max_dev_deg".into(),
                rad_to_deg(
                    self.r6_onset
                        .outside_dev_rad
                        .max(self.r6_clear.outside_dev_rad),
                ),
            );
            m.insert(
                "r6_layer_changes".into(),
                (self.r6_onset.layer_changes + self.r6_clear.layer_changes) as f64,
            );
        }
        // losses of lock without any fault (the twins after the warm-up), per node-minute
        let per_minute = |(l, np): (u64, f64)| l as f64 / (np * t.period_s / 60.0).max(1e-12);
        m.insert(
            "spontaneous_lock_losses_per_node_minute_random".into(),
            per_minute(self.spontaneous_random),
        );
        m.insert(
            "spontaneous_lock_losses_per_node_minute_fig2".into(),
            per_minute(self.spontaneous_fig2),
        );
        m.insert("drops".into(), self.drops as f64);
        m.insert(
            "nodes_per_drop".into(),
            self.nodes as f64 / self.drops.max(1) as f64,
        );
        m.insert("depth_max".into(), self.depth_max as f64);
        m.insert("tree_violations".into(), self.tree_violations as f64);
        m.insert(
            "r3_tree_violations".into(),
            self.tree_violations_fig2a as f64,
        );
        m.insert(
            "r4_tree_violations".into(),
            self.tree_violations_fig2b as f64,
        );
        m.insert("threshold_x_deg".into(), cfg.max_disturbance_deg);
        m.insert(
            "threshold_n_periods".into(),
            cfg.max_recovery_periods as f64,
        );

        let names: Vec<&str> = scenarios.iter().map(|(n, _)| *n).collect();
        out.tables.push(Table {
            name: "scenarios".into(),
            columns: [
                &format!("scenario_index({})", names.join(",")) as &str,
                "runs",
                "layer_changes",
                "losses",
                "affected_nodes_per_run",
                "max_disturbance_deg",
                "recovery_periods",
                "detection_periods",
                "steady_rms_deg",
            ]
            .map(String::from)
            .to_vec(),
            rows: summary_rows,
        });
        out.tables.push(Table {
            name: "disturbance_vs_time".into(),
            columns: [
                "scenario_index",
                "time_from_fault_ms",
                "peak_disturbance_deg",
                "coherence_rms_deg",
                "coherence_rms_over_steady",
            ]
            .map(String::from)
            .to_vec(),
            rows: series_rows,
        });
        out.figures.push(peak_fig);
        out.figures.push(rms_fig);
        if let Some(counts) = &self.r2_layer_counts {
            let width = counts.first().map_or(0, |c| c.len());
            let time_ms = |q: usize| (q as f64 - lead as f64) * t.period_s * 1e3;
            let mut fig = Figure::new(
                "r2_layers_vs_time",
                "R2: nodes per layer around an orphaning failure (first drop)",
                "time from the fault (ms)",
                "nodes",
            );
            for l in 0..width {
                if counts.iter().all(|c| c[l] == 0) {
                    continue;
                }
                let label = if l + 1 == width {
                    "unsynchronized (live)".to_string()
                } else {
                    format!("layer {l}")
                };
                fig = fig.line(
                    &label,
                    Origin::Measured,
                    Style::Step,
                    counts
                        .iter()
                        .enumerate()
                        .map(|(q, c)| (time_ms(q), c[l] as f64))
                        .collect(),
                );
            }
            out.figures.push(fig);
            out.tables.push(Table {
                name: "r2_layers_vs_time".into(),
                columns: std::iter::once("time_from_fault_ms".to_string())
                    .chain((0..width).map(|l| {
                        if l + 1 == width {
                            "unsynchronized_nodes".to_string()
                        } else {
                            format!("layer_{l}_nodes")
                        }
                    }))
                    .collect(),
                rows: counts
                    .iter()
                    .enumerate()
                    .map(|(q, c)| {
                        std::iter::once(time_ms(q))
                            .chain(c.iter().map(|&x| x as f64))
                            .collect()
                    })
                    .collect(),
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_round_trips_and_rejects_bad_faults() {
        let c = Config::full();
        c.validate().unwrap();
        let text = toml::to_string(&c).unwrap();
        let back: Config = toml::from_str(&text).unwrap();
        back.validate().unwrap();
        let bad = Config {
            faults: vec![Fault::Kill {
                at_s: 1.0,
                node: 40,
            }],
            ..Config::quick()
        };
        let e = bad.validate().unwrap_err();
        assert_eq!(e.field, "config.faults[0].node");
        let late = Config {
            faults: vec![Fault::KillRoot { at_s: 9.0 }],
            ..Config::quick()
        };
        assert_eq!(late.validate().unwrap_err().field, "config.faults[0].at_s");
    }

    #[test]
    fn fig2_wiring() {
        let s = fig2_setup(3, 2, 2, 10.0, EngineParams::chorus(10.0).unwrap());
        assert_eq!(
            s.roles[..3],
            [
                Role::Root {
                    tx_layers: vec![0, 1, 2]
                },
                Role::RootCandidate {
                    listen: 0,
                    tx_layers: vec![1, 2]
                },
                Role::RootCandidate {
                    listen: 1,
                    tx_layers: vec![2]
                },
            ]
        );
        // N hear A, B, C; M hear two N
        assert_eq!(s.topology.audible[3].len(), 3 + 2);
        assert_eq!(s.topology.audible[5].len(), 2);
    }
}
/// A diagnosis, not a check (`cargo test -p dmimo --lib diagnose_ -- --ignored --nocapture`):
/// losses of lock without any fault in the Fig. 2(a) topology, with equal-power parents (as in
/// R3), with static link phases, with single parents, and with parents 10 dB apart. In the first
/// run of `chorus.failures` equal-power coherent parents whose link phases wander through
/// anti-phase made the flat composite's phase swing (1.16 losses per node-minute against 0.18
/// static, 0.026 single-parent, 0.053 unequal).
#[cfg(test)]
mod diagnosis {
    use super::*;

    #[test]
    #[ignore]
    fn diagnose_spontaneous_lock_losses() {
        let cfg = Config::quick();
        let periods = 12_000;
        for case in 0..4 {
            let mut params = cfg.fig2_params(2).unwrap();
            let setup = match case {
                0 => fig2_setup(2, 4, 4, 15.0, params),
                1 => {
                    params.link_phase_rad2_per_s = 0.0;
                    fig2_setup(2, 4, 4, 15.0, params)
                }
                2 => {
                    // single parents: A → N_i (only A), N_i → M_i
                    let mut s = fig2_setup(2, 4, 4, 15.0, params);
                    for i in 2..6 {
                        s.topology.audible[i].retain(|a| a.from != 1);
                    }
                    for j in 0..4 {
                        s.topology.audible[6 + j].retain(|a| a.from as usize == 2 + j);
                    }
                    s
                }
                _ => {
                    // unequal parents: B at 5 dB at the N, M hear N_j at 15 and N_j+1 at 5
                    let mut s = fig2_setup(2, 4, 4, 15.0, params);
                    for i in 2..10 {
                        for a in s.topology.audible[i].iter_mut() {
                            if a.from == 1 || (i >= 6 && a.from as usize == 2 + (i - 6 + 1) % 4) {
                                a.snr = db_to_lin(5.0);
                            }
                        }
                    }
                    s
                }
            };
            let mut ll = 0;
            let mut np = 0.0;
            for run in 0..4u64 {
                let tr = simulate(
                    &setup,
                    &[],
                    periods,
                    &SeedTree::new(run).child("spont"),
                    |_, _, _| {},
                )
                .unwrap();
                let (l, n) = tr.lock_losses_from(600);
                ll += l;
                np += n;
            }
            println!(
                "case {case}: lock losses {ll} per node-minute {:.3}",
                ll as f64 / (np * 5e-3 / 60.0)
            );
        }
    }
}
