//! `chorus.depth-scaling` (notes/000 §3 P3, P5, appendix): how a node's phase noise grows with
//! its depth in the tree, for each controller.
//!
//! * Analytic: white measurement noise injected at every hop passes through that hop's closed
//!   loop and every loop below it, so the variance at depth L is r·Σ_{l=1..L} ‖G^l‖²
//!   ([`cascade_noise_gains`]). A loop with peaking p dB compounds it: the appendix's PI at
//!   ζ = 0.707 (2.2 dB) reaches ≈ 26× the one-hop variance at L = 8 and ≈ 1000× at L = 16; a
//!   loop with ~0.1 dB of peaking (the robust design) stays about linear.
//! * Monte Carlo on the control-level engine: a chain of nodes (each hears only its neighbours)
//!   with ideal oscillators and static links, so the only noise is the measurement's; the
//!   variance of θ_L − θ_root after convergence against the analytic value, per controller.
//! * A fat tree (P5, reported, not asserted): `width` nodes per layer, each hearing every node of
//!   the adjacent layers at 1/width of the chain's SNR (the same total power), through the RE
//!   level's frequency-selective links ([`Fidelity::ControlSelective`]): a node's parents'
//!   errors partly average out. (With flat links, destructive composite sums amplify them.)

use super::super::{key, par_indexed, Context, ExperimentConfig, Outcome, RunError};
use crate::analysis::control::cascade_noise_gains;
use crate::estimation::phase_control::{ControllerParams, KalmanParams, PiParams, RelativeWander};
use crate::radio::oscillator::OscillatorSpec;
use crate::report::{Figure, Origin, Scale, Style, Table};
use crate::rng::SeedTree;
use crate::scenario::{Check, FieldError};
use crate::sync::layered_tree::engine::{
    Audible, CoarseCfo, Engine, EngineParams, Fidelity, Topology,
};
use crate::sync::layered_tree::protocol::Role;
use crate::units::{db_to_lin, rad_to_deg, wrap_phase};
use serde::{Deserialize, Serialize};
use std::f64::consts::TAU;

/// Configuration of `chorus.depth-scaling`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Deepest layer analysed (analytic).
    pub max_depth: usize,
    /// Deepest layer simulated (Monte Carlo chain).
    pub mc_depth: usize,
    /// The underdamped PI control case (appendix: ζ = 0.707, ωnT = 0.05).
    pub pi_zeta: f64,
    pub pi_omega_n_t: f64,
    /// Per-RE SNR of every hop (dB); also the robust and Kalman design SNR.
    pub snr_db: f64,
    /// REs per measurement M.
    pub res_per_set: usize,
    /// Periods before measuring (joins and acquisition), and periods measured.
    pub warmup_periods: usize,
    pub periods: usize,
    /// Independent chains per controller.
    pub runs: usize,
    /// Nodes per layer of the fat tree.
    pub fat_width: usize,
}

impl ExperimentConfig for Config {
    fn full() -> Self {
        Config {
            max_depth: 32,
            mc_depth: 16,
            pi_zeta: 0.707,
            pi_omega_n_t: 0.05,
            snr_db: 20.0,
            res_per_set: 150,
            warmup_periods: 2_000,
            periods: 12_000,
            runs: 8,
            fat_width: 3,
        }
    }

    fn quick() -> Self {
        Config {
            mc_depth: 8,
            periods: 4_000,
            runs: 4,
            ..Self::full()
        }
    }

    fn validate(&self) -> Result<(), FieldError> {
        let c = Check { prefix: "config" };
        c.count("max_depth", self.max_depth, 8, 256)?;
        c.count("mc_depth", self.mc_depth, 1, self.max_depth)?;
        c.range("pi_zeta", self.pi_zeta, 0.1, 50.0, "")?;
        c.range("pi_omega_n_t", self.pi_omega_n_t, 1e-4, 1.0, "rad/period")?;
        c.range("snr_db", self.snr_db, -20.0, 60.0, "dB")?;
        c.count("res_per_set", self.res_per_set, 1, 100_000)?;
        c.count("warmup_periods", self.warmup_periods, 100, 10_000_000)?;
        c.count("periods", self.periods, 100, 10_000_000)?;
        c.count("runs", self.runs, 1, 10_000)?;
        c.count("fat_width", self.fat_width, 1, 64)
    }

    fn run(&self, ctx: &Context) -> Result<Outcome, RunError> {
        let base = EngineParams::chorus(self.snr_db)
            .map_err(|e| RunError::Config(FieldError::new("config.snr_db", e.to_string())))?;
        let period_s = 5e-3;
        let r = 1.0 / (2.0 * self.res_per_set as f64 * db_to_lin(self.snr_db));
        let osc = base.oscillator;
        let wander = RelativeWander {
            phase_noise_rad2_per_s: 2.0 * TAU * osc.linewidth_hz,
            freq_walk_hz2_per_s: 2.0 * osc.freq_walk_hz2_per_s,
        };
        let controllers: Vec<(&str, ControllerParams)> = vec![
            (
                "pi",
                ControllerParams::Pi(PiParams::from_damping(
                    period_s,
                    self.pi_zeta,
                    self.pi_omega_n_t,
                )),
            ),
            (
                "kalman",
                ControllerParams::Kalman(KalmanParams::new(period_s, wander, r)),
            ),
            ("robust", base.controller),
        ];
        let mut out = Outcome::default();
        let m = &mut out.metrics;
        let mut analytic_rows = vec![vec![0.0; 1 + controllers.len()]; self.max_depth];
        let mut gains_fig = Figure::new(
            "variance_vs_depth",
            "Phase-noise variance at depth L relative to one hop (white measurement noise)",
            "depth L (hops from the root)",
            "variance / one-hop variance",
        );
        gains_fig.y_scale = Scale::Log10;
        gains_fig.x_scale = Scale::Log10;
        let mut analytic: Vec<Vec<f64>> = Vec::new();
        for (ci, (name, c)) in controllers.iter().enumerate() {
            let g = c
                .build()
                .map_err(|e| RunError::Numerical(e.to_string()))?
                .closed_loop();
            let gains = cascade_noise_gains(&g, self.max_depth)
                .map_err(|e| RunError::Numerical(e.to_string()))?;
            let mut cum = Vec::with_capacity(gains.len());
            let mut s = 0.0;
            for v in &gains {
                s += v;
                cum.push(s);
            }
            let rel: Vec<f64> = cum.iter().map(|v| v / cum[0]).collect();
            for (l, v) in rel.iter().enumerate() {
                analytic_rows[l][0] = (l + 1) as f64;
                analytic_rows[l][ci + 1] = *v;
            }
            let peaking = g.peaking_db();
            m.insert(format!("{name}_peaking_db"), peaking);
            for l in [2usize, 4, 8, 16, 32] {
                if l <= self.max_depth {
                    m.insert(format!("{name}_cascade_gain_l{l}"), rel[l - 1]);
                }
            }
            m.insert(
                format!("{name}_cascade_gain_over_depth_max"),
                rel.iter()
                    .enumerate()
                    .map(|(l, v)| v / (l + 1) as f64)
                    .fold(0.0, f64::max),
            );
            gains_fig = gains_fig.line(
                &format!("{name} ({peaking:.2} dB peaking)"),
                Origin::Theory,
                Style::Line,
                rel.iter()
                    .enumerate()
                    .map(|(l, v)| ((l + 1) as f64, *v))
                    .collect(),
            );
            analytic.push(cum.iter().map(|v| v * r).collect());
        }
        gains_fig = gains_fig
            .line(
                "notes/000 appendix: PI ζ = 0.707",
                Origin::Paper,
                Style::Markers,
                vec![
                    (2.0, 1.9),
                    (4.0, 4.9),
                    (8.0, 26.0),
                    (16.0, 984.0),
                    (32.0, 2.5e6),
                ],
            )
            .line(
                "linear growth (L)",
                Origin::Theory,
                Style::Line,
                vec![(1.0, 1.0), (self.max_depth as f64, self.max_depth as f64)],
            );
        out.tables.push(Table {
            name: "analytic_variance_gain".into(),
            columns: std::iter::once("depth".to_string())
                .chain(controllers.iter().map(|(n, _)| format!("{n}_gain")))
                .collect(),
            rows: analytic_rows,
        });

        // Monte Carlo: chains (and fat trees) at control level
        let quiet = EngineParams {
            oscillator: OscillatorSpec {
                max_offset_ppm: 0.0,
                freq_walk_hz2_per_s: 0.0,
                linewidth_hz: 0.0,
            },
            link_phase_rad2_per_s: 0.0,
            coarse_cfo: CoarseCfo::TwoSymbol {
                spacing_s: crate::sync::layered_tree::engine::LTE_ACQUISITION_SPACING_S,
                std_override_hz: Some(0.0),
            },
            res_per_set: self.res_per_set,
            ..base.clone()
        };
        let jobs: Vec<(usize, usize)> = (0..controllers.len())
            .flat_map(|c| (0..self.runs).map(move |r| (c, r)))
            .collect();
        ctx.progress.begin("chains", (jobs.len() * 2) as u64);
        let var_per_job = par_indexed(jobs.len() * 2, ctx.progress, |j| {
            let (c, run) = jobs[j % jobs.len()];
            let width = if j < jobs.len() { 1 } else { self.fat_width };
            let params = EngineParams {
                controller: controllers[c].1,
                // chains: flat links, so every hop has exactly the design SNR (the analytic
                // cascade's); fat trees: the default frequency-selective links
                fidelity: if width == 1 {
                    Fidelity::Control
                } else {
                    base.fidelity.clone()
                },
                ..quiet.clone()
            };
            self.chain_variance(
                params,
                width,
                &ctx.seeds
                    .child(controllers[c].0)
                    .child("width")
                    .index(width as u64)
                    .index(run as u64),
            )
        });
        let mut mc_rows = Vec::new();
        let mut mc_fig = Figure::new(
            "chain_monte_carlo",
            &format!(
                "Phase std at depth L: control-level chain at {} dB per RE (markers) vs analytic (lines)",
                self.snr_db
            ),
            "depth L",
            "std of θ_L − θ_root (degrees)",
        );
        for (ci, (name, _)) in controllers.iter().enumerate() {
            let avg = |width_block: usize| -> Result<Vec<f64>, RunError> {
                let mut acc = vec![0.0; self.mc_depth];
                for run in 0..self.runs {
                    let v = var_per_job[width_block * jobs.len() + ci * self.runs + run]
                        .as_ref()
                        .map_err(|e| RunError::Numerical(e.to_string()))?;
                    for (a, x) in acc.iter_mut().zip(v) {
                        *a += x / self.runs as f64;
                    }
                }
                Ok(acc)
            };
            let chain = avg(0)?;
            let fat = avg(1)?;
            for l in 0..self.mc_depth {
                let ana = analytic[ci][l];
                mc_rows.push(vec![ci as f64, (l + 1) as f64, chain[l], fat[l], ana]);
            }
            for l in [4usize, 8, 16] {
                if l <= self.mc_depth {
                    m.insert(
                        format!("{name}_mc_over_analytic_l{l}"),
                        chain[l - 1] / analytic[ci][l - 1],
                    );
                    m.insert(
                        format!("{name}_fat_over_chain_l{l}"),
                        fat[l - 1] / chain[l - 1],
                    );
                }
            }
            m.insert(
                key(
                    &format!("{name}_mc_std_deg_depth"),
                    self.mc_depth as f64,
                    "",
                ),
                rad_to_deg(chain[self.mc_depth - 1].sqrt()),
            );
            mc_fig = mc_fig
                .line(
                    &format!("{name}: chain, simulated"),
                    Origin::Measured,
                    Style::Markers,
                    chain
                        .iter()
                        .enumerate()
                        .map(|(l, v)| ((l + 1) as f64, rad_to_deg(v.sqrt())))
                        .collect(),
                )
                .line(
                    &format!("{name}: analytic"),
                    Origin::Theory,
                    Style::Line,
                    (0..self.mc_depth)
                        .map(|l| ((l + 1) as f64, rad_to_deg(analytic[ci][l].sqrt())))
                        .collect(),
                )
                .line(
                    &format!("{name}: fat tree ({} per layer)", self.fat_width),
                    Origin::Measured,
                    Style::Markers,
                    fat.iter()
                        .enumerate()
                        .map(|(l, v)| ((l + 1) as f64, rad_to_deg(v.sqrt())))
                        .collect(),
                );
        }
        mc_fig.y_scale = Scale::Log10;
        out.tables.push(Table {
            name: "monte_carlo_variance".into(),
            columns: [
                "controller_index(0=pi,1=kalman,2=robust)",
                "depth",
                "chain_var_rad2",
                "fat_tree_var_rad2",
                "analytic_var_rad2",
            ]
            .map(String::from)
            .to_vec(),
            rows: mc_rows,
        });
        out.figures.push(gains_fig);
        out.figures.push(mc_fig);
        Ok(out)
    }
}

impl Config {
    /// Variance of θ_L − θ_root at depths 1..=mc_depth of one run: layers of `width` nodes, each
    /// hearing every node of the adjacent layers at (SNR / width) per RE; the depth-L value is
    /// averaged over the layer's nodes.
    fn chain_variance(
        &self,
        params: EngineParams,
        width: usize,
        seeds: &SeedTree,
    ) -> Result<Vec<f64>, String> {
        let depth = self.mc_depth;
        // node 0 = root; layer l ≥ 1 holds nodes 1 + (l−1)·width … l·width
        let n = 1 + depth * width;
        let layer_of = |i: usize| if i == 0 { 0 } else { 1 + (i - 1) / width };
        let snr = db_to_lin(self.snr_db) / width as f64;
        let audible: Vec<Vec<Audible>> = (0..n)
            .map(|i| {
                (0..n)
                    .filter(|&j| j != i && layer_of(i).abs_diff(layer_of(j)) == 1)
                    .map(|j| Audible {
                        from: j as u32,
                        // the root transmits at the full layer power
                        snr: if j == 0 { snr * width as f64 } else { snr },
                    })
                    .collect()
            })
            .collect();
        let roles = std::iter::once(Role::Root { tx_layers: vec![0] })
            .chain(std::iter::repeat_n(Role::Regular, n - 1))
            .collect();
        let mut e =
            Engine::new(params, Topology { audible }, roles, seeds).map_err(|e| e.to_string())?;
        for _ in 0..self.warmup_periods {
            e.step();
        }
        for (i, l) in e.layers().iter().enumerate() {
            if *l != Some(layer_of(i) as u32) {
                return Err(format!("node {i} in layer {l:?}, expected {}", layer_of(i)));
            }
        }
        let mut sum = vec![0.0; n];
        let mut sum2 = vec![0.0; n];
        let mut first: Vec<f64> = Vec::new();
        for k in 0..self.periods {
            e.step();
            let th = e.phases();
            if k == 0 {
                first = (0..n).map(|i| th[i] - th[0]).collect();
            }
            for i in 1..n {
                // unwrapped relative to the first sample (the baseline offsets are constant)
                let x = first[i] + wrap_phase(th[i] - th[0] - first[i]);
                sum[i] += x;
                sum2[i] += x * x;
            }
        }
        let p = self.periods as f64;
        let mut var = vec![0.0; depth];
        for i in 1..n {
            let v = sum2[i] / p - (sum[i] / p).powi(2);
            var[layer_of(i) - 1] += v / width as f64;
        }
        Ok(var)
    }
}
