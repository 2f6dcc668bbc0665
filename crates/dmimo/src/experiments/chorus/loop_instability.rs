//! `chorus.loop-instability` (Chorus §5 intro, Fig. 1; notes/000 §1.4, §3 P4, appendix): why the
//! sync topology must be a tree.
//!
//! Nodes run the type-2 PI tracker of the appendix ([`Pi`], ωnT and ζ configurable) and listen
//! to each other in a ring (2 or 3 nodes: each tracks the previous one, node 0 tracks the last),
//! or, with the same controllers, as a tree (node 0 is the root and free-runs; node i tracks node
//! i − 1). Each measurement reaches the controller after `latency` periods.
//!
//! * Analytic: the ring's characteristic polynomial Dⁿ − Nⁿ ([`ring_poles`]) has a double pole at
//!   z = 1 at any gain (the common mode integrates twice); with 2 periods of latency and a wide
//!   loop the differential mode leaves the unit circle. The tree's poles are the single loop's.
//! * Time domain: the same wirings driven by white measurement noise (ideal oscillators, so all
//!   motion is the loop's): the ring's common phase wanders without bound while the tree's
//!   error stays at the noise level; with latency a tiny initial offset grows as |p|ᵏ.

use super::super::{Context, ExperimentConfig, Outcome, RunError};
use crate::analysis::control::{ring_poles, type2_closed_loop, type2_gains};
use crate::estimation::phase_control::{PhaseController, Pi, PiParams};
use crate::report::{Figure, Origin, Scale, Style, Table};
use crate::rng::SeedTree;
use crate::scenario::{Check, FieldError};
use crate::units::{deg_to_rad, rad_to_deg};
use rand::Rng;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// Configuration of `chorus.loop-instability`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Dampings ζ analysed (appendix: 0.707 and 1).
    pub zetas: Vec<f64>,
    /// ωn·T of the narrow loop used for the noise-driven runs (appendix: 0.05).
    pub omega_n_t_narrow: f64,
    /// ωn·T of the wide loop used with latency (appendix: 0.2).
    pub omega_n_t_wide: f64,
    /// Latency of the unstable case (periods; appendix: 2).
    pub latency_periods: u32,
    /// Sync period T (s).
    pub period_s: f64,
    /// Std of every phase measurement in the noise-driven runs (degrees).
    pub measurement_std_deg: f64,
    /// Periods simulated in the noise-driven runs.
    pub periods: usize,
    /// Independent runs averaged (mean square) in the noise-driven runs.
    pub runs: usize,
}

impl ExperimentConfig for Config {
    fn full() -> Self {
        Config {
            zetas: vec![0.707, 1.0],
            omega_n_t_narrow: 0.05,
            omega_n_t_wide: 0.2,
            latency_periods: 2,
            period_s: 5e-3,
            measurement_std_deg: 1.0,
            periods: 12_000,
            runs: 64,
        }
    }

    fn quick() -> Self {
        Config {
            periods: 4_000,
            runs: 16,
            ..Self::full()
        }
    }

    fn validate(&self) -> Result<(), FieldError> {
        let c = Check { prefix: "config" };
        c.each("zetas", &self.zetas, 1, 0.05, 50.0, "")?;
        c.range(
            "omega_n_t_narrow",
            self.omega_n_t_narrow,
            1e-4,
            1.0,
            "rad/period",
        )?;
        c.range(
            "omega_n_t_wide",
            self.omega_n_t_wide,
            1e-4,
            1.0,
            "rad/period",
        )?;
        c.count("latency_periods", self.latency_periods as usize, 0, 100)?;
        c.range("period_s", self.period_s, 1e-5, 10.0, "s")?;
        c.range(
            "measurement_std_deg",
            self.measurement_std_deg,
            1e-6,
            30.0,
            "degrees",
        )?;
        c.count("periods", self.periods, 100, 10_000_000)?;
        c.count("runs", self.runs, 1, 100_000)
    }

    fn run(&self, ctx: &Context) -> Result<Outcome, RunError> {
        let num = |e: crate::analysis::control::ControlError| RunError::Numerical(e.to_string());
        let mut out = Outcome::default();
        let mut rows = Vec::new();
        for &zeta in &self.zetas {
            for (wnt, d) in [
                (self.omega_n_t_narrow, 0usize),
                (self.omega_n_t_wide, self.latency_periods as usize),
            ] {
                let (kp, ki) = type2_gains(zeta, wnt);
                let g = type2_closed_loop(kp, ki, d);
                for nodes in [2usize, 3] {
                    let poles = ring_poles(&g, nodes).map_err(num)?;
                    let rho = poles.iter().map(|p| p.norm()).fold(0.0, f64::max);
                    let at_one = poles.iter().filter(|p| (*p - 1.0).norm() < 1e-3).count();
                    let tree = g.spectral_radius().map_err(num)?;
                    rows.push(vec![
                        zeta,
                        wnt,
                        d as f64,
                        nodes as f64,
                        rho,
                        at_one as f64,
                        tree,
                    ]);
                    let tag = format!("zeta{}_wnt{}_d{d}_n{nodes}", zeta, wnt).replace('.', "p");
                    out.metrics.insert(format!("ring_max_pole_{tag}"), rho);
                    out.metrics
                        .insert(format!("ring_poles_at_one_{tag}"), at_one as f64);
                    out.metrics.insert(format!("tree_max_pole_{tag}"), tree);
                }
            }
        }
        out.tables.push(Table {
            name: "poles".into(),
            columns: [
                "zeta",
                "omega_n_t",
                "latency_periods",
                "ring_nodes",
                "ring_max_pole_abs",
                "ring_poles_within_1e-3_of_1",
                "tree_max_pole_abs",
            ]
            .map(String::from)
            .to_vec(),
            rows,
        });

        // noise-driven: narrow loop, no latency, 2-node ring vs 2-node tree
        let zeta = self.zetas[0];
        let sigma = deg_to_rad(self.measurement_std_deg);
        ctx.progress.begin("runs", 2 * self.runs as u64);
        let ring =
            self.mean_square_paths(ctx, "ring", zeta, self.omega_n_t_narrow, 0, sigma, true)?;
        let tree =
            self.mean_square_paths(ctx, "tree", zeta, self.omega_n_t_narrow, 0, sigma, false)?;
        let every = (self.periods / 200).max(1);
        let t = |k: usize| k as f64 * self.period_s;
        let end = self.periods - 1;
        let last_quarter = |v: &[f64]| {
            let s = &v[3 * v.len() / 4..];
            rad_to_deg((s.iter().sum::<f64>() / s.len() as f64).sqrt())
        };
        let ring_rms = last_quarter(&ring);
        let tree_rms = last_quarter(&tree);
        out.metrics
            .insert("ring_common_phase_rms_deg_last_quarter".into(), ring_rms);
        out.metrics
            .insert("tree_error_rms_deg_last_quarter".into(), tree_rms);
        out.metrics
            .insert("ring_to_tree_rms_ratio".into(), ring_rms / tree_rms);
        // unbounded: the ring's mean-square phase keeps growing (from the second half's first
        // quarter to its end); the tree's stays
        let growth = |v: &[f64]| v[end] / v[end / 2].max(1e-30);
        out.metrics
            .insert("ring_ms_growth_second_half".into(), growth(&ring));
        out.metrics
            .insert("tree_ms_growth_second_half".into(), growth(&tree));
        let mut drift = Figure::new(
            "drift",
            &format!(
                "Listening loop vs tree, PI ζ = {zeta}, ωnT = {}, {}° measurement noise",
                self.omega_n_t_narrow, self.measurement_std_deg
            ),
            "time (s)",
            "RMS phase (degrees)",
        )
        .line(
            "2-node ring: common phase vs its start",
            Origin::Measured,
            Style::Line,
            (every..self.periods)
                .step_by(every)
                .map(|k| (t(k), rad_to_deg(ring[k].sqrt())))
                .collect(),
        )
        .line(
            "tree: node 1 − root",
            Origin::Measured,
            Style::Line,
            (every..self.periods)
                .step_by(every)
                .map(|k| (t(k), rad_to_deg(tree[k].sqrt())))
                .collect(),
        );
        drift.y_scale = Scale::Log10;
        out.figures.push(drift);

        // latency: wide loop, 2-node ring from a 1 µrad offset, noise-free
        let mut growth_fig = Figure::new(
            "latency_divergence",
            &format!(
                "2-node ring with {} periods of latency, ωnT = {}: |θ₁ − θ₀| from 1 µrad",
                self.latency_periods, self.omega_n_t_wide
            ),
            "period",
            "|phase difference| (rad)",
        );
        growth_fig.y_scale = Scale::Log10;
        for &zeta in &self.zetas {
            let path = self.ring_from_offset(zeta)?;
            let (kp, ki) = type2_gains(zeta, self.omega_n_t_wide);
            let g = type2_closed_loop(kp, ki, self.latency_periods as usize);
            let rho = ring_poles(&g, 2)
                .map_err(num)?
                .iter()
                .map(|p| p.norm())
                .fold(0.0, f64::max);
            let rate = growth_rate(&path);
            let tag = format!("zeta{zeta}").replace('.', "p");
            out.metrics
                .insert(format!("ring_latency_growth_per_period_{tag}"), rate);
            out.metrics
                .insert(format!("ring_latency_pole_growth_{tag}"), rho.ln());
            growth_fig = growth_fig
                .line(
                    &format!("simulated, ζ = {zeta}"),
                    Origin::Measured,
                    Style::Line,
                    path.iter()
                        .enumerate()
                        .filter(|(_, v)| **v > 0.0)
                        .map(|(k, v)| (k as f64, *v))
                        .collect(),
                )
                .line(
                    &format!("|p|ᵏ, |p| = {rho:.4}"),
                    Origin::Theory,
                    Style::Line,
                    (0..path.len())
                        .step_by(10)
                        .map(|k| (k as f64, 1e-6 * rho.powi(k as i32)))
                        .filter(|(_, v)| *v < 10.0)
                        .collect(),
                );
        }
        out.figures.push(growth_fig);
        Ok(out)
    }
}

impl Config {
    /// Mean over runs of the squared phase at every period: for the ring, the nodes' mean phase
    /// (the common mode; ideal oscillators start at 0); for the tree, node 1 minus the root.
    #[allow(clippy::too_many_arguments)]
    fn mean_square_paths(
        &self,
        ctx: &Context,
        label: &str,
        zeta: f64,
        wnt: f64,
        latency: u32,
        sigma: f64,
        ring: bool,
    ) -> Result<Vec<f64>, RunError> {
        let paths = super::super::par_indexed(self.runs, ctx.progress, |r| {
            let seeds = ctx.seeds.child(label).index(r as u64);
            self.noise_run(&seeds, zeta, wnt, latency, sigma, ring)
        });
        let mut ms = vec![0.0; self.periods];
        for p in paths {
            let p = p?;
            for (m, v) in ms.iter_mut().zip(&p) {
                *m += v * v / self.runs as f64;
            }
        }
        Ok(ms)
    }

    fn pi(&self, zeta: f64, wnt: f64, latency: u32) -> Result<Pi, RunError> {
        Pi::new(PiParams::from_damping(self.period_s, zeta, wnt).with_latency(latency))
            .map_err(|e| RunError::Config(FieldError::new("config.zetas", e.to_string())))
    }

    /// One noise-driven run of two nodes; returns the tracked quantity per period.
    fn noise_run(
        &self,
        seeds: &SeedTree,
        zeta: f64,
        wnt: f64,
        latency: u32,
        sigma: f64,
        ring: bool,
    ) -> Result<Vec<f64>, RunError> {
        let mut ctrl = [self.pi(zeta, wnt, latency)?, self.pi(zeta, wnt, latency)?];
        let mut rng = [
            seeds.child("node").index(0).rng(),
            seeds.child("node").index(1).rng(),
        ];
        let mut queues = [VecDeque::new(), VecDeque::new()];
        let mut out = Vec::with_capacity(self.periods);
        for _ in 0..self.periods {
            let th = [
                ctrl[0].correction_at(self.period_s),
                ctrl[1].correction_at(self.period_s),
            ];
            out.push(if ring {
                0.5 * (th[0] + th[1])
            } else {
                th[1] - th[0]
            });
            for i in 0..2 {
                if !ring && i == 0 {
                    continue; // the root free-runs
                }
                let v: f64 = rng[i].sample(StandardNormal);
                queues[i].push_back(th[1 - i] - th[i] + sigma * v);
                let e = if queues[i].len() > latency as usize {
                    queues[i].pop_front()
                } else {
                    None
                };
                ctrl[i].update(e);
            }
        }
        Ok(out)
    }

    /// |θ₁ − θ₀| per period of a noise-free 2-node ring with latency, node 1 starting 1 µrad
    /// ahead, until it exceeds 1 rad.
    fn ring_from_offset(&self, zeta: f64) -> Result<Vec<f64>, RunError> {
        let d = self.latency_periods;
        let mut ctrl = [
            self.pi(zeta, self.omega_n_t_wide, d)?,
            self.pi(zeta, self.omega_n_t_wide, d)?,
        ];
        let mut queues = [VecDeque::new(), VecDeque::new()];
        let mut out = Vec::new();
        for _ in 0..self.periods {
            let th = [
                ctrl[0].correction_at(self.period_s),
                ctrl[1].correction_at(self.period_s) + 1e-6,
            ];
            let diff = (th[1] - th[0]).abs();
            out.push(diff);
            if diff > 1.0 {
                break;
            }
            for i in 0..2 {
                queues[i].push_back(th[1 - i] - th[i]);
                let e = if queues[i].len() > d as usize {
                    queues[i].pop_front()
                } else {
                    None
                };
                ctrl[i].update(e);
            }
        }
        Ok(out)
    }
}

/// Growth rate ln|p| per period: least-squares slope of the log of the RMS over sliding windows
/// of 64 periods (an envelope through the oscillation of complex poles), over the windows whose
/// RMS lies between 1e-4 and 0.3 rad: the loop is linear there and the transient has died out.
fn growth_rate(path: &[f64]) -> f64 {
    const W: usize = 64;
    let pts: Vec<(f64, f64)> = path
        .windows(W)
        .enumerate()
        .map(|(k, w)| {
            let rms = (w.iter().map(|v| v * v).sum::<f64>() / W as f64).sqrt();
            (k as f64 + W as f64 / 2.0, rms)
        })
        .filter(|(_, v)| *v > 1e-4 && *v < 0.3)
        .map(|(k, v)| (k, v.ln()))
        .collect();
    if pts.len() < 10 {
        return f64::NAN;
    }
    let n = pts.len() as f64;
    let (mx, my) = (
        pts.iter().map(|p| p.0).sum::<f64>() / n,
        pts.iter().map(|p| p.1).sum::<f64>() / n,
    );
    let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
    sxy / sxx
}
