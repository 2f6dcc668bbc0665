//! `chorus.scale` (notes/000 §3 S3; Chorus §4: "tens of thousands of small cells over multiple
//! tens of km²"): the layered tree at control level on networks from 100 to 30,000 nodes at a
//! fixed density, the root at the centre. Per size: how many nodes synchronize, how deep the
//! tree grows, the coherence error by depth, and that the tree holds; P2, every synchronized
//! node's mean frequency against the root over `freq_average_periods` from `freq_lock_periods`
//! after the start (|Δψ|/(2π·span)); P6, the change of relative phase over one period (the NCO
//! extrapolates between 5 ms updates), RMS over nodes and the measured last quarter; T4, at the
//! end, every listening node's margin of its parent layer over the other layers on its set
//! (reuse only occurs in trees deeper than S = 8 layers, which `chorus.layers`'s areas do not
//! reach). Wall time and memory are
//! measured outside the experiment (criterion bench `chorus_scale`, whole-command timings), so the
//! metrics stay bit-identical across thread counts.
//!
//! Shadowing is i.i.d. per link here: a correlated field at 13 m decorrelation over 75 km² would
//! need ~10⁸ grid cells ([`crate::geometry::shadowing`] caps the field); `chorus.layers` uses the
//! correlated model on smaller areas.

use super::super::{key, Context, ExperimentConfig, Outcome, RunError};
use super::layers::reuse_margins_db;
use crate::geometry::shadowing::Shadowing;
use crate::report::{Figure, Origin, Style, Table};
use crate::scenario::{Check, FieldError};
use crate::sync::layered_tree::engine::{check_tree, Engine, EngineParams};
use crate::sync::layered_tree::network::NetworkSpec;
use crate::sync::layered_tree::protocol::Role;
use crate::units::{rad_to_deg, wrap_phase};
use serde::{Deserialize, Serialize};
use std::f64::consts::TAU;

/// Configuration of `chorus.scale`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Network sizes (expected node counts; the area scales to keep the density).
    pub sizes: Vec<usize>,
    /// Node density (per km²).
    pub density_per_km2: f64,
    /// Per-link log-normal shadowing std (dB), i.i.d.
    pub shadowing_db: f64,
    /// Per-RE SNR the robust controller is designed for (dB).
    pub design_snr_db: f64,
    /// Sync periods simulated per size (the last quarter is measured).
    pub periods: usize,
    /// Coherence interval Δ (periods).
    pub coherence_periods: usize,
    /// Check the tree invariant every this many periods (0: never).
    pub check_every: usize,
    /// P2: the frequency error against the root is measured `freq_lock_periods` after the
    /// start (every node starts then), averaged over the following `freq_average_periods`.
    pub freq_lock_periods: usize,
    pub freq_average_periods: usize,
    /// T4: the reuse margin required at every listening node (dB; notes/000: 15–20).
    pub reuse_margin_db: f64,
}

impl ExperimentConfig for Config {
    fn full() -> Self {
        Config {
            sizes: vec![100, 300, 1000, 3000, 10_000, 30_000],
            density_per_km2: 400.0,
            shadowing_db: 7.82,
            design_snr_db: 3.0,
            periods: 2_000,
            coherence_periods: 4,
            check_every: 10,
            freq_lock_periods: 200,
            freq_average_periods: 20,
            reuse_margin_db: 15.0,
        }
    }

    fn quick() -> Self {
        Config {
            sizes: vec![100, 300, 1000],
            periods: 400,
            ..Self::full()
        }
    }

    fn validate(&self) -> Result<(), FieldError> {
        let c = Check { prefix: "config" };
        c.count("sizes", self.sizes.len(), 1, 64)?;
        for (i, &s) in self.sizes.iter().enumerate() {
            c.count(&format!("sizes[{i}]"), s, 2, 1_000_000)?;
        }
        c.range("density_per_km2", self.density_per_km2, 1.0, 1e5, "per km²")?;
        c.range("shadowing_db", self.shadowing_db, 0.0, 20.0, "dB")?;
        c.range("design_snr_db", self.design_snr_db, -30.0, 60.0, "dB")?;
        c.count("periods", self.periods, 40, 10_000_000)?;
        c.count("coherence_periods", self.coherence_periods, 1, 1000)?;
        c.count("check_every", self.check_every, 0, 1_000_000)?;
        c.count(
            "freq_average_periods",
            self.freq_average_periods,
            1,
            1_000_000,
        )?;
        c.range("reuse_margin_db", self.reuse_margin_db, 0.0, 60.0, "dB")?;
        let end = self.freq_lock_periods + self.freq_average_periods;
        if end > self.periods {
            return Err(FieldError::new(
                "config.freq_lock_periods",
                format!(
                    "{} + freq_average_periods {} = {end} > periods {}: the frequency \
                     measurement must end within the run",
                    self.freq_lock_periods, self.freq_average_periods, self.periods
                ),
            ));
        }
        Ok(())
    }

    fn run(&self, ctx: &Context) -> Result<Outcome, RunError> {
        let total: usize = self.sizes.iter().map(|s| s * self.periods).sum();
        ctx.progress.begin("node-periods", total as u64);
        let mut out = Outcome::default();
        let mut rows = Vec::new();
        let (mut synced_pts, mut depth_pts, mut coh_pts) = (Vec::new(), Vec::new(), Vec::new());
        for (si, &size) in self.sizes.iter().enumerate() {
            let side = (size as f64 / self.density_per_km2).sqrt() * 1e3;
            let spec = NetworkSpec {
                shadowing: if self.shadowing_db > 0.0 {
                    Shadowing::Iid {
                        sigma_db: self.shadowing_db,
                    }
                } else {
                    Shadowing::None {}
                },
                ..NetworkSpec::small_cells(self.density_per_km2, side, side)
            };
            let seeds = ctx.seeds.child("size").index(si as u64);
            let net = spec
                .build(&seeds)
                .map_err(|e| RunError::Config(FieldError::new("config.sizes", e.to_string())))?;
            let n = net.points.len();
            let root = net
                .central_node()
                .ok_or_else(|| RunError::Numerical("empty deployment".into()))?;
            let mut roles = vec![Role::Regular; n];
            roles[root] = Role::Root { tx_layers: vec![0] };
            let params = EngineParams::chorus(self.design_snr_db).map_err(|e| {
                RunError::Config(FieldError::new("config.design_snr_db", e.to_string()))
            })?;
            let mut e = Engine::new(params, net.topology, roles, &seeds.child("engine"))
                .map_err(|e| RunError::Numerical(e.to_string()))?;
            let from = self.periods * 3 / 4;
            let d = self.coherence_periods;
            let mut hist: std::collections::VecDeque<Vec<f64>> = Default::default();
            let mut ms = vec![0.0; n];
            // P6: the same over one period (the NCO's extrapolation between updates)
            let mut ms1 = vec![0.0; n];
            let mut count = 0usize;
            // P2: ψ at the start and end of the frequency window, and who was synchronized
            let (f0, f1) = (
                self.freq_lock_periods,
                self.freq_lock_periods + self.freq_average_periods,
            );
            let mut psi_f0: Vec<f64> = Vec::new();
            let mut freq_hz: Vec<f64> = Vec::new();
            let mut prev_psi: Option<Vec<f64>> = None;
            let mut violations = 0usize;
            for k in 0..self.periods {
                e.step();
                if self.check_every > 0 && k % self.check_every == 0 && check_tree(&e).is_err() {
                    violations += 1;
                }
                if k + 1 == f0 || k + 1 == f1 {
                    // unwrapped ψ: phases are unwrapped (NCO and oscillator accumulate)
                    let th = e.phases();
                    let psi: Vec<f64> = th.iter().map(|t| t - th[root]).collect();
                    if k + 1 == f0 {
                        psi_f0 = psi;
                    } else {
                        let span_s = self.freq_average_periods as f64 * e.period_s();
                        let layers = e.layers();
                        freq_hz = (0..n)
                            .filter(|&i| i != root && layers[i].is_some())
                            .map(|i| (psi[i] - psi_f0[i]).abs() / (TAU * span_s))
                            .collect();
                    }
                }
                if k >= from {
                    let th = e.phases();
                    let psi: Vec<f64> = th.iter().map(|t| t - th[root]).collect();
                    if let Some(prev) = &prev_psi {
                        for ((m, p), o) in ms1.iter_mut().zip(&psi).zip(prev) {
                            *m += wrap_phase(p - o).powi(2);
                        }
                    }
                    prev_psi = Some(psi.clone());
                    if hist.len() == d {
                        let old = hist.pop_front().expect("d entries");
                        for ((m, p), o) in ms.iter_mut().zip(&psi).zip(&old) {
                            *m += wrap_phase(p - o).powi(2);
                        }
                        count += 1;
                    }
                    hist.push_back(psi);
                }
                ctx.progress.advance(n as u64);
            }
            let layers = e.layers();
            let synced = layers.iter().filter(|l| l.is_some()).count();
            let margins = reuse_margins_db(&e, &e.params().protocol);
            let reuse: Vec<f64> = margins.into_iter().filter(|&m| m < 99.0).collect();
            let below = reuse.iter().filter(|&&m| m < self.reuse_margin_db).count();
            let reuse_min = reuse.iter().copied().fold(f64::INFINITY, f64::min);
            let deepest = layers.iter().flatten().copied().max().unwrap_or(0);
            let coh: Vec<f64> = (0..n)
                .filter(|&i| i != root && layers[i].is_some())
                .map(|i| ms[i] / count.max(1) as f64)
                .collect();
            let coh_rms = rad_to_deg((coh.iter().sum::<f64>() / coh.len().max(1) as f64).sqrt());
            let steps = (self.periods - from).saturating_sub(1).max(1) as f64;
            let inter: Vec<f64> = (0..n)
                .filter(|&i| i != root && layers[i].is_some())
                .map(|i| ms1[i] / steps)
                .collect();
            let inter_rms =
                rad_to_deg((inter.iter().sum::<f64>() / inter.len().max(1) as f64).sqrt());
            freq_hz.sort_by(f64::total_cmp);
            let freq_max = freq_hz.last().copied().unwrap_or(0.0);
            let freq_p99 = freq_hz
                .get(((freq_hz.len() as f64 * 0.99).ceil() as usize).saturating_sub(1))
                .copied()
                .unwrap_or(0.0);
            let frac = synced as f64 / n as f64;
            let m = &mut out.metrics;
            m.insert(key("nodes_n", size as f64, ""), n as f64);
            m.insert(key("synchronized_fraction_n", size as f64, ""), frac);
            m.insert(key("deepest_layer_n", size as f64, ""), deepest as f64);
            m.insert(key("coherence_rms_deg_n", size as f64, ""), coh_rms);
            m.insert(key("tree_violations_n", size as f64, ""), violations as f64);
            m.insert(key("inter_update_rms_deg_n", size as f64, ""), inter_rms);
            m.insert(key("freq_error_max_hz_n", size as f64, ""), freq_max);
            m.insert(key("freq_error_p99_hz_n", size as f64, ""), freq_p99);
            // T4: listeners that hear another layer on their set, and how many of them fall
            // below the required margin
            m.insert(
                key("reuse_listeners_n", size as f64, ""),
                reuse.len() as f64,
            );
            m.insert(key("reuse_below_required_n", size as f64, ""), below as f64);
            if reuse_min.is_finite() {
                m.insert(key("reuse_margin_min_db_n", size as f64, ""), reuse_min);
            }
            rows.push(vec![
                size as f64,
                n as f64,
                side,
                frac,
                deepest as f64,
                coh_rms,
                violations as f64,
                inter_rms,
                freq_max,
                freq_p99,
            ]);
            synced_pts.push((n as f64, frac));
            depth_pts.push((n as f64, deepest as f64));
            coh_pts.push((n as f64, coh_rms));
        }
        let largest = *self.sizes.iter().max().expect("≥ 1 size");
        out.metrics.insert(
            "synchronized_fraction_largest".into(),
            out.metrics[&key("synchronized_fraction_n", largest as f64, "")],
        );
        for (name, per) in [
            ("inter_update_rms_deg_largest", "inter_update_rms_deg_n"),
            ("freq_error_max_hz_largest", "freq_error_max_hz_n"),
            ("reuse_listeners_largest", "reuse_listeners_n"),
            ("reuse_below_required_largest", "reuse_below_required_n"),
        ] {
            let v = out.metrics[&key(per, largest as f64, "")];
            out.metrics.insert(name.into(), v);
        }
        out.metrics.insert(
            "tree_violations_total".into(),
            rows.iter().map(|r| r[6]).sum(),
        );
        out.tables.push(Table {
            name: "scale".into(),
            columns: [
                "size",
                "nodes",
                "side_m",
                "synchronized_fraction",
                "deepest_layer",
                "coherence_rms_deg",
                "tree_violations",
                "inter_update_rms_deg",
                "freq_error_max_hz",
                "freq_error_p99_hz",
            ]
            .map(String::from)
            .to_vec(),
            rows,
        });
        let mut f = Figure::new(
            "depth_vs_size",
            &format!(
                "Tree depth vs network size ({} nodes/km², root at the centre)",
                self.density_per_km2
            ),
            "nodes",
            "deepest layer",
        )
        .line(
            "deepest layer",
            Origin::Measured,
            Style::LineMarkers,
            depth_pts,
        );
        f.x_scale = crate::report::Scale::Log10;
        out.figures.push(f);
        let mut f = Figure::new(
            "coherence_vs_size",
            &format!(
                "Coherence error over {} ms vs network size",
                5 * self.coherence_periods
            ),
            "nodes",
            "RMS coherence error (degrees)",
        )
        .line(
            "all synchronized nodes",
            Origin::Measured,
            Style::LineMarkers,
            coh_pts,
        );
        f.x_scale = crate::report::Scale::Log10;
        out.figures.push(f);
        let mut f = Figure::new(
            "coverage_vs_size",
            "Synchronized fraction vs network size",
            "nodes",
            "fraction synchronized",
        )
        .line(
            "Chorus layered tree",
            Origin::Measured,
            Style::LineMarkers,
            synced_pts,
        );
        f.x_scale = crate::report::Scale::Log10;
        out.figures.push(f);
        Ok(out)
    }
}
