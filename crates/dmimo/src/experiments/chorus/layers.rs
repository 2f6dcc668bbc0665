//! `chorus.layers` (Chorus §5.1; notes/000 §3 T1–T6): the layering protocol on random small-cell
//! deployments at control level.
//!
//! Per drop: a Poisson deployment ([`NetworkSpec`]), the node nearest the centre as root, every
//! node running the protocol and the robust controller. Checked:
//!
//! * **T1** after convergence every node's layer is 1 + the lowest layer whose composite SINR it
//!   hears ≥ θ — (a) against a breadth-first construction over the composite SNRs (layer k = the
//!   nodes not yet placed that hear layer k − 1's composite ≥ θ; reuse interference ignored),
//!   (b) as a fixed point of the protocol's own rules with hysteresis (no node would leave,
//!   move up or join); unreachable nodes are never reported synchronized;
//! * **T2** the last layer change happens within (deepest layer + 1) × join dwell periods;
//! * **T3** the listens-to graph is a tree of layers at every period;
//! * **T4** at every listening node, the other layers on its receive set are far below the wanted
//!   one (margin distribution), and with S = 2 sets instead of 8 the reuse hurts coherence;
//! * **T5** with per-link SNR fading (log-normal, AR(1) per 100 ms) layer changes per node and
//!   minute stay bounded with hysteresis, and are reported without;
//! * **T6** the rule table is a unit test of [`crate::sync::layered_tree::protocol`].

use super::super::{par_indexed, Context, ExperimentConfig, Outcome, RunError};
use crate::metrics::Cdf;
use crate::report::{Figure, Origin, Style, Table};
use crate::rng::SeedTree;
use crate::scenario::{Check, FieldError};
use crate::sync::layered_tree::engine::{check_tree, Engine, EngineParams, Fidelity};
use crate::sync::layered_tree::network::{Network, NetworkSpec};
use crate::sync::layered_tree::protocol::{Event, Layer, NodeState, ProtocolParams, Role};
use crate::units::{db_to_lin, lin_to_db, rad_to_deg, wrap_phase};
use rand::Rng;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

/// Configuration of `chorus.layers`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The deployment and its links.
    pub network: NetworkSpec,
    /// The protocol (θ, hysteresis, dwell times, S).
    pub protocol: ProtocolParams,
    /// Per-RE SNR the robust controller is designed for (dB).
    pub design_snr_db: f64,
    /// Drops (independent deployments).
    pub drops: usize,
    /// Periods of the static run (joins, convergence, then coherence measured over the last
    /// quarter).
    pub periods: usize,
    /// Coherence interval Δ (periods).
    pub coherence_periods: usize,
    /// Reuse margin required at every listening node (dB) for T4; notes/000: 15–20 dB.
    pub reuse_margin_db: f64,
    /// The reuse-violating variant's number of sets.
    pub violating_sets: u32,
    /// Fading of every link's SNR for T5: log-normal std (dB) and the AR(1) update interval
    /// (periods) with correlation `fading_correlation` between updates.
    pub fading_std_db: f64,
    pub fading_update_periods: usize,
    pub fading_correlation: f64,
    /// Periods of each fading run.
    pub fading_periods: usize,
}

impl ExperimentConfig for Config {
    fn full() -> Self {
        Config {
            network: NetworkSpec::small_cells(100.0, 3000.0, 3000.0),
            protocol: ProtocolParams::default(),
            design_snr_db: 3.0,
            drops: 2,
            periods: 3000,
            coherence_periods: 4,
            reuse_margin_db: 15.0,
            violating_sets: 2,
            fading_std_db: 3.0,
            fading_update_periods: 20,
            fading_correlation: 0.9,
            fading_periods: 6_000,
        }
    }

    fn quick() -> Self {
        Config {
            network: NetworkSpec::small_cells(100.0, 1500.0, 1500.0),
            drops: 1,
            periods: 1500,
            fading_periods: 2400,
            ..Self::full()
        }
    }

    fn validate(&self) -> Result<(), FieldError> {
        self.network.validate("config.network")?;
        self.protocol.validate("config.protocol")?;
        let c = Check { prefix: "config" };
        c.range("design_snr_db", self.design_snr_db, -30.0, 60.0, "dB")?;
        c.count("drops", self.drops, 1, 10_000)?;
        c.count("periods", self.periods, 100, 10_000_000)?;
        c.count("coherence_periods", self.coherence_periods, 1, 1000)?;
        c.range("reuse_margin_db", self.reuse_margin_db, 0.0, 60.0, "dB")?;
        c.count("violating_sets", self.violating_sets as usize, 2, 64)?;
        c.range("fading_std_db", self.fading_std_db, 0.0, 20.0, "dB")?;
        c.count(
            "fading_update_periods",
            self.fading_update_periods,
            1,
            100_000,
        )?;
        c.range(
            "fading_correlation",
            self.fading_correlation,
            0.0,
            0.9999,
            "",
        )?;
        c.count("fading_periods", self.fading_periods, 100, 10_000_000)
    }

    fn run(&self, ctx: &Context) -> Result<Outcome, RunError> {
        // jobs per drop: static S = 8, static S = violating, fading H, fading H = 0
        let kinds = 4;
        ctx.progress.begin("runs", (self.drops * kinds) as u64);
        let results = par_indexed(self.drops * kinds, ctx.progress, |j| {
            let (drop, kind) = (j / kinds, j % kinds);
            let seeds = ctx.seeds.child("drop").index(drop as u64);
            let net = self
                .network
                .build(&seeds)
                .map_err(|e| RunError::Config(FieldError::new("config.network", e.to_string())))?;
            match kind {
                0 => self.static_run(&net, self.protocol, &seeds.child("static")),
                1 => self.static_run(
                    &net,
                    ProtocolParams {
                        n_sets: self.violating_sets,
                        ..self.protocol
                    },
                    &seeds.child("violating"),
                ),
                2 => self.fading_run(&net, self.protocol, &seeds.child("fading")),
                _ => self.fading_run(
                    &net,
                    ProtocolParams {
                        hysteresis_db: 0.0,
                        ..self.protocol
                    },
                    &seeds.child("fading-no-hysteresis"),
                ),
            }
        });
        let mut runs: Vec<RunStats> = Vec::with_capacity(results.len());
        for r in results {
            runs.push(r?);
        }
        let pick = |kind: usize| runs.iter().skip(kind).step_by(kinds);
        let mean = |v: Vec<f64>| v.iter().sum::<f64>() / v.len() as f64;
        let mut out = Outcome::default();
        let m = &mut out.metrics;
        let st: Vec<&RunStats> = pick(0).collect();
        m.insert(
            "nodes_mean".into(),
            mean(st.iter().map(|r| r.nodes as f64).collect()),
        );
        m.insert(
            "synchronized_fraction".into(),
            mean(
                st.iter()
                    .map(|r| r.synced as f64 / r.nodes as f64)
                    .collect(),
            ),
        );
        m.insert(
            "deepest_layer_max".into(),
            st.iter().map(|r| r.deepest as f64).fold(0.0, f64::max),
        );
        m.insert(
            "bfs_layer_match_fraction".into(),
            mean(st.iter().map(|r| r.bfs_match).collect()),
        );
        m.insert(
            "fixed_point_fraction".into(),
            st.iter().map(|r| r.fixed_point).fold(1.0, f64::min),
        );
        m.insert(
            "falsely_synchronized".into(),
            st.iter().map(|r| r.false_sync as f64).sum(),
        );
        m.insert(
            "convergence_over_bound_max".into(),
            st.iter()
                .map(|r| r.convergence_period as f64 / r.bound_periods as f64)
                .fold(0.0, f64::max),
        );
        m.insert(
            "tree_violations".into(),
            runs.iter().map(|r| r.tree_violations as f64).sum(),
        );
        let margins: Vec<f64> = st.iter().flat_map(|r| r.reuse_margins_db.clone()).collect();
        let margin_cdf = Cdf::new(margins.clone());
        m.insert("reuse_margin_p5_db".into(), margin_cdf.percentile(5.0));
        m.insert(
            "reuse_margin_below_required_fraction".into(),
            margins
                .iter()
                .filter(|&&x| x < self.reuse_margin_db)
                .count() as f64
                / margins.len().max(1) as f64,
        );
        let coh = mean(st.iter().map(|r| r.coherence_rms_deg).collect());
        let coh_bad = mean(pick(1).map(|r| r.coherence_rms_deg).collect());
        m.insert("coherence_rms_deg".into(), coh);
        m.insert("coherence_rms_deg_violating_sets".into(), coh_bad);
        m.insert("violating_over_nominal_coherence".into(), coh_bad / coh);
        let per_min = |r: &RunStats| {
            r.layer_changes as f64 / r.nodes as f64 / (r.periods as f64 * 5e-3 / 60.0)
        };
        m.insert(
            "fading_layer_changes_per_node_minute".into(),
            mean(pick(2).map(per_min).collect()),
        );
        let (with_h, without_h) = (
            mean(pick(2).map(per_min).collect()),
            mean(pick(3).map(per_min).collect()),
        );
        m.insert("fading_layer_changes_per_node_minute".into(), with_h);
        m.insert(
            "fading_layer_changes_per_node_minute_no_hysteresis".into(),
            without_h,
        );
        m.insert(
            "hysteresis_flapping_reduction".into(),
            without_h / with_h.max(1e-9),
        );
        m.insert(
            "reuse_listeners".into(),
            st.iter()
                .map(|r| r.reuse_margins_db.iter().filter(|&&x| x < 99.0).count() as f64)
                .sum(),
        );

        // coherence error vs layer (all static drops)
        let mut by_layer: Vec<(f64, f64)> = Vec::new();
        let deepest = st
            .iter()
            .map(|r| r.coherence_by_layer.len())
            .max()
            .unwrap_or(0);
        let mut rows = Vec::new();
        for l in 1..deepest {
            let (mut s2, mut n) = (0.0, 0usize);
            for r in &st {
                if let Some(&(ms, count)) = r.coherence_by_layer.get(l) {
                    s2 += ms * count as f64;
                    n += count;
                }
            }
            if n > 0 {
                let v = rad_to_deg((s2 / n as f64).sqrt());
                by_layer.push((l as f64, v));
                rows.push(vec![l as f64, n as f64, v]);
            }
        }
        out.tables.push(Table {
            name: "coherence_by_layer".into(),
            columns: ["layer", "nodes", "coherence_rms_deg"]
                .map(String::from)
                .to_vec(),
            rows,
        });
        out.figures.push(
            Figure::new(
                "coherence_by_layer",
                &format!(
                    "Coherence error over {} ms by layer (robust controller, θ = {} dB)",
                    5 * self.coherence_periods,
                    self.protocol.threshold_db
                ),
                "layer",
                "RMS coherence error (degrees)",
            )
            .line("S = 8 sets", Origin::Measured, Style::LineMarkers, by_layer),
        );
        let first = st.first().expect("≥ 1 drop");
        out.tables.push(Table {
            name: "layers_first_drop".into(),
            columns: [
                "x_m",
                "y_m",
                "layer(-1=unsynchronized)",
                "bfs_layer(-1=unreachable)",
            ]
            .map(String::from)
            .to_vec(),
            rows: first.positions.clone(),
        });
        let mut fig = Figure::new(
            "layer_map",
            "Layers of the first drop (root at the centre)",
            "x (m)",
            "y (m)",
        );
        let max_layer = first
            .positions
            .iter()
            .map(|r| r[2] as i64)
            .max()
            .unwrap_or(0);
        for l in -1..=max_layer {
            let pts: Vec<(f64, f64)> = first
                .positions
                .iter()
                .filter(|r| r[2] as i64 == l)
                .map(|r| (r[0], r[1]))
                .collect();
            if !pts.is_empty() {
                let label = if l < 0 {
                    "unsynchronized".to_string()
                } else {
                    format!("layer {l}")
                };
                fig = fig.line(&label, Origin::Measured, Style::Markers, pts);
            }
        }
        out.figures.push(fig);
        out.figures.push(
            Figure::new(
                "reuse_margin_cdf",
                "Wanted parent layer over other layers on the same set, at every listening node",
                "reuse margin (dB)",
                "CDF",
            )
            .line(
                "S = 8",
                Origin::Measured,
                Style::Step,
                margin_cdf.points(200),
            ),
        );
        Ok(out)
    }
}

/// What one run measured.
#[derive(Clone, Debug, Default)]
struct RunStats {
    nodes: usize,
    synced: usize,
    deepest: Layer,
    bfs_match: f64,
    fixed_point: f64,
    false_sync: usize,
    convergence_period: usize,
    bound_periods: usize,
    tree_violations: usize,
    reuse_margins_db: Vec<f64>,
    coherence_rms_deg: f64,
    /// Per layer: (mean square coherence error, node count).
    coherence_by_layer: Vec<(f64, usize)>,
    layer_changes: usize,
    periods: usize,
    /// x, y, layer, BFS layer (first drop's map).
    positions: Vec<Vec<f64>>,
}

impl Config {
    fn engine(
        &self,
        net: &Network,
        protocol: ProtocolParams,
        seeds: &SeedTree,
    ) -> Result<(Engine, usize), RunError> {
        let root = net
            .central_node()
            .ok_or_else(|| RunError::Numerical("empty deployment".into()))?;
        let mut roles = vec![Role::Regular; net.points.len()];
        roles[root] = Role::Root { tx_layers: vec![0] };
        let params = EngineParams {
            protocol,
            // flat links: the S = 2 runs change the number of sets, which the RE grid fixes
            fidelity: Fidelity::Control,
            ..EngineParams::chorus(self.design_snr_db).map_err(|e| {
                RunError::Config(FieldError::new("config.design_snr_db", e.to_string()))
            })?
        };
        let e = Engine::new(params, net.topology.clone(), roles, seeds)
            .map_err(|e| RunError::Numerical(e.to_string()))?;
        Ok((e, root))
    }

    fn static_run(
        &self,
        net: &Network,
        protocol: ProtocolParams,
        seeds: &SeedTree,
    ) -> Result<RunStats, RunError> {
        let (mut e, root) = self.engine(net, protocol, seeds)?;
        let n = e.len();
        let mut st = RunStats {
            nodes: n,
            periods: self.periods,
            ..RunStats::default()
        };
        let d = self.coherence_periods;
        let measure_from = self.periods * 3 / 4;
        let mut hist: Vec<Vec<f64>> = Vec::new();
        let mut ms = vec![0.0; n];
        let mut count = 0usize;
        for k in 0..self.periods {
            e.step();
            if check_tree(&e).is_err() {
                st.tree_violations += 1;
            }
            if e.events()
                .iter()
                .any(|(_, ev)| matches!(ev, Event::Joined(_) | Event::Moved(..) | Event::Lost(_)))
            {
                st.convergence_period = k + 1;
                st.layer_changes += e
                    .events()
                    .iter()
                    .filter(|(_, ev)| {
                        matches!(ev, Event::Joined(_) | Event::Moved(..) | Event::Lost(_))
                    })
                    .count();
            }
            if k >= measure_from {
                let th = e.phases();
                let psi: Vec<f64> = (0..n).map(|i| th[i] - th[root]).collect();
                if hist.len() == d {
                    let old = hist.remove(0);
                    for i in 0..n {
                        ms[i] += wrap_phase(psi[i] - old[i]).powi(2);
                    }
                    count += 1;
                }
                hist.push(psi);
            }
        }
        let layers = e.layers();
        st.synced = layers.iter().filter(|l| l.is_some()).count();
        st.deepest = layers.iter().flatten().copied().max().unwrap_or(0);
        st.bound_periods = (st.deepest as usize + 1) * protocol.join_dwell as usize;
        // T1 (a): breadth-first over composite SNRs
        let theta = db_to_lin(protocol.threshold_db);
        let mut bfs: Vec<Option<Layer>> = vec![None; n];
        bfs[root] = Some(0);
        let mut k: Layer = 1;
        loop {
            let next: Vec<usize> = (0..n)
                .filter(|&i| bfs[i].is_none())
                .filter(|&i| {
                    let p: f64 = net.topology.audible[i]
                        .iter()
                        .filter(|a| bfs[a.from as usize] == Some(k - 1))
                        .map(|a| a.snr)
                        .sum();
                    p >= theta
                })
                .collect();
            if next.is_empty() || k > protocol.max_layer {
                break;
            }
            for &i in &next {
                bfs[i] = Some(k);
            }
            k += 1;
        }
        st.bfs_match = (0..n).filter(|&i| bfs[i] == layers[i]).count() as f64 / n as f64;
        st.false_sync = (0..n)
            .filter(|&i| layers[i].is_some() && bfs[i].is_none())
            .count();
        // T1 (b): fixed point of the rules with hysteresis
        let low = db_to_lin(protocol.threshold_db - protocol.hysteresis_db);
        let high = db_to_lin(protocol.threshold_db + protocol.hysteresis_db);
        let mut ok = 0;
        for i in 0..n {
            let obs = e.observation(i).unwrap_or_default();
            let good = match e.protocol(i).state {
                NodeState::Joined { layer, .. } => {
                    obs.sinr(layer - 1) >= low
                        && !obs.layers.iter().any(|&(l, s)| l + 1 < layer && s >= high)
                }
                NodeState::Scanning { .. } => obs.lowest_above(theta).is_none(),
                _ => true,
            };
            ok += good as usize;
        }
        st.fixed_point = ok as f64 / n as f64;
        // T4: reuse margins at listening nodes
        st.reuse_margins_db = reuse_margins_db(&e, &protocol);
        // coherence
        let mut by_layer = vec![(0.0, 0usize); st.deepest as usize + 1];
        let mut total = (0.0, 0usize);
        for i in 0..n {
            if let Some(l) = layers[i] {
                if i != root && count > 0 {
                    let v = ms[i] / count as f64;
                    by_layer[l as usize].0 += v;
                    by_layer[l as usize].1 += 1;
                    total.0 += v;
                    total.1 += 1;
                }
            }
        }
        for b in &mut by_layer {
            if b.1 > 0 {
                b.0 /= b.1 as f64;
            }
        }
        st.coherence_by_layer = by_layer;
        st.coherence_rms_deg = rad_to_deg((total.0 / total.1.max(1) as f64).sqrt());
        st.positions = (0..n)
            .map(|i| {
                vec![
                    net.points[i].x,
                    net.points[i].y,
                    layers[i].map_or(-1.0, |l| l as f64),
                    bfs[i].map_or(-1.0, |l| l as f64),
                ]
            })
            .collect();
        Ok(st)
    }

    /// Every link's SNR fades log-normally (AR(1) every `fading_update_periods`); counts layer
    /// changes after the first fifth of the run.
    fn fading_run(
        &self,
        net: &Network,
        protocol: ProtocolParams,
        seeds: &SeedTree,
    ) -> Result<RunStats, RunError> {
        let (mut e, _) = self.engine(net, protocol, seeds)?;
        let n = e.len();
        let mut rng = seeds.child("fading").rng();
        let rho = self.fading_correlation;
        let mut state: Vec<Vec<f64>> = net
            .topology
            .audible
            .iter()
            .map(|l| l.iter().map(|_| 0.0).collect())
            .collect();
        let warm = self.fading_periods / 5;
        let mut st = RunStats {
            nodes: n,
            periods: self.fading_periods - warm,
            ..RunStats::default()
        };
        for k in 0..self.fading_periods {
            if k % self.fading_update_periods == 0 {
                for (to, list) in net.topology.audible.iter().enumerate() {
                    for (j, a) in list.iter().enumerate() {
                        let z: f64 = rng.sample(StandardNormal);
                        let x = &mut state[to][j];
                        *x = rho * *x + (1.0 - rho * rho).sqrt() * z;
                        e.set_link_factor(a.from as usize, to, db_to_lin(self.fading_std_db * *x));
                    }
                }
            }
            e.step();
            if check_tree(&e).is_err() {
                st.tree_violations += 1;
            }
            if k >= warm {
                st.layer_changes += e
                    .events()
                    .iter()
                    .filter(|(_, ev)| {
                        matches!(ev, Event::Joined(_) | Event::Moved(..) | Event::Lost(_))
                    })
                    .count();
            }
        }
        Ok(st)
    }
}

/// T4: at every node that tracks a layer, the tracked layer's power over the power of the other
/// layers on the same set (dB; 99 when no other layer is heard there), from the nodes' layers
/// now (a root counts at its own layer).
pub(super) fn reuse_margins_db(e: &Engine, protocol: &ProtocolParams) -> Vec<f64> {
    let layers = e.layers();
    let mut out = Vec::new();
    for (i, audible) in e.topology().audible.iter().enumerate() {
        let Some(l) = e.protocol(i).tracks() else {
            continue;
        };
        let set = protocol.tx_set(l);
        let (mut p_want, mut p_other) = (0.0, 0.0);
        for a in audible {
            if let Some(la) = layers[a.from as usize] {
                if la == l {
                    p_want += a.snr;
                } else if protocol.tx_set(la) == set {
                    p_other += a.snr;
                }
            }
        }
        out.push(if p_other > 0.0 {
            lin_to_db(p_want / p_other)
        } else {
            99.0
        });
    }
    out
}
