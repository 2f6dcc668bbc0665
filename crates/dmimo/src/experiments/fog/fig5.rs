//! `fog.fig5` (fog massive MIMO §V Example 4, Fig. 5; notes/001 §2.10, §4 T8): outage
//! probability and ASE per pilot against the per-pilot load λ_u^{(t)}/λ_r, for three coverage
//! radii, R_p = R_c, N → ∞:
//!
//! * **analysis**: outage = 1 − P_a from (17)–(18), A = λ_a·R̄ from (24)
//!   ([`crate::analysis::fog_coverage::analyse_se`]), on a log grid of loads, and the load that
//!   maximizes A (golden-section search in ln load): the "sweet spot", reported as the mean
//!   number of co-pilot users per coverage disk λ_u^{(t)}πR_c² there;
//! * **Monte Carlo** ([`super::large_n`]) at a few loads.
//!
//! Provenance: λ_r = 1/(π·100²) m⁻² (text, Example 2; assumed for §V), α = 3.75 reconstructed;
//! the three R_c (guess 60, 80, 100 m), the load axis (its symbol is stripped; λ_u^{(t)}/λ_r
//! here, λ_u/λ_r = T times it) and the simulation set-up are guesses.

use super::super::{Context, ExperimentConfig, Outcome, RunError};
use super::large_n::{run_drops, DropStats, McSettings};
use crate::analysis::fog_coverage::{analyse_se, FogSeAnalysis, FogSeParams};
use crate::report::{Figure, Origin, Scale, Style, Table};
use crate::scenario::{Check, FieldError};
use serde::{Deserialize, Serialize};
use std::f64::consts::PI;
use std::time::Instant;

/// Configuration of `fog.fig5`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// RRH density as the radius of the mean cell (text, Example 2: 100 m).
    pub rrh_cell_radius_m: f64,
    /// The three coverage radii (m, increasing; guess).
    pub r_c_values_m: Vec<f64>,
    /// Load grid λ_u^{(t)}/λ_r: from, to, points (log-spaced).
    pub load_min: f64,
    pub load_max: f64,
    pub load_points: usize,
    /// Loads of the Monte Carlo points.
    pub mc_loads: Vec<f64>,
    /// Path-loss exponent (reconstructed: 3.75).
    pub alpha: f64,
    pub n_max: usize,
    pub ln_z_step: f64,
    pub mc: McSettings,
}

impl ExperimentConfig for Config {
    fn full() -> Self {
        Config {
            rrh_cell_radius_m: 100.0,
            r_c_values_m: vec![60.0, 80.0, 100.0],
            load_min: 0.05,
            load_max: 8.0,
            load_points: 31,
            mc_loads: vec![0.1, 0.3, 1.0, 3.0],
            alpha: 3.75,
            n_max: 60,
            ln_z_step: 0.02,
            mc: McSettings {
                drops: 10,
                ..McSettings::full()
            },
        }
    }

    fn quick() -> Self {
        Config {
            load_points: 9,
            mc_loads: vec![0.3, 3.0],
            ln_z_step: 0.05,
            mc: McSettings {
                drops: 1,
                window_spacings: 20.0,
                ..McSettings::full()
            },
            ..Self::full()
        }
    }

    fn validate(&self) -> Result<(), FieldError> {
        let c = Check { prefix: "config" };
        c.range("rrh_cell_radius_m", self.rrh_cell_radius_m, 1.0, 1e5, "m")?;
        c.each("r_c_values_m", &self.r_c_values_m, 2, 1e-3, 1e5, "m")?;
        c.increasing("r_c_values_m", &self.r_c_values_m)?;
        c.range("load_min", self.load_min, 1e-3, 100.0, "")?;
        c.range("load_max", self.load_max, self.load_min * 1.01, 100.0, "")?;
        c.count("load_points", self.load_points, 3, 10_000)?;
        c.each("mc_loads", &self.mc_loads, 0, 1e-3, 100.0, "")?;
        c.range("alpha", self.alpha, 2.01, 10.0, "")?;
        c.count("n_max", self.n_max, 1, 1000)?;
        c.range("ln_z_step", self.ln_z_step, 1e-4, 0.5, "")?;
        let spacing = PI.sqrt() * self.rrh_cell_radius_m;
        let max_load = self.mc_loads.iter().cloned().fold(0.0, f64::max);
        self.mc.validate(
            "config.mc",
            self.r_c_values_m.last().copied().unwrap_or(0.0) / spacing,
            max_load,
        )
    }

    fn run(&self, ctx: &Context) -> Result<Outcome, RunError> {
        let mut out = Outcome::default();
        let lambda_r = 1.0 / (PI * self.rrh_cell_radius_m.powi(2));
        for (name, value, prov) in [
            ("rrh_cell_radius_m", self.rrh_cell_radius_m, "text"),
            ("alpha", self.alpha, "reconstructed"),
            ("mc_drops", self.mc.drops as f64, "guess"),
        ] {
            out.metrics.insert(format!("input_{name}_{prov}"), value);
        }
        for (i, &rc) in self.r_c_values_m.iter().enumerate() {
            out.metrics.insert(format!("input_r_c_{i}_m_guess"), rc);
        }
        let analyse = |load: f64, rc: f64| -> FogSeAnalysis {
            analyse_se(&FogSeParams {
                n_max: self.n_max,
                ln_z_step: self.ln_z_step,
                ..FogSeParams::new(load * lambda_r, lambda_r, rc, rc, self.alpha)
            })
        };
        let start = Instant::now();
        let ratio = (self.load_max / self.load_min).ln();
        let loads: Vec<f64> = (0..self.load_points)
            .map(|i| self.load_min * (ratio * i as f64 / (self.load_points - 1) as f64).exp())
            .collect();
        let mut rows = Vec::new();
        let mut sweet = Vec::new();
        for &rc in &self.r_c_values_m {
            for &load in &loads {
                let a = analyse(load, rc);
                rows.push(vec![
                    rc,
                    load,
                    load * lambda_r * PI * rc * rc,
                    1.0 - a.p_served,
                    a.ase_per_pilot * 1e6,
                    a.se_served,
                    f64::NAN,
                    f64::NAN,
                    f64::NAN,
                ]);
            }
            // the sweet spot: golden-section search of A over ln load
            let f = |l: f64| analyse(l.exp(), rc).ase_per_pilot;
            let g = 0.5 * (5f64.sqrt() - 1.0);
            let (mut a, mut b) = (self.load_min.ln(), self.load_max.ln());
            for _ in 0..40 {
                let (x1, x2) = (b - g * (b - a), a + g * (b - a));
                if f(x1) < f(x2) {
                    a = x1;
                } else {
                    b = x2;
                }
            }
            let best = (0.5 * (a + b)).exp();
            let at = analyse(best, rc);
            let per_disk = best * lambda_r * PI * rc * rc;
            out.metrics.insert(format!("sweet_spot_load_rc{rc}"), best);
            out.metrics
                .insert(format!("sweet_spot_users_per_disk_rc{rc}"), per_disk);
            out.metrics
                .insert(format!("outage_at_sweet_spot_rc{rc}"), 1.0 - at.p_served);
            out.metrics
                .insert(format!("ase_per_pilot_max_rc{rc}"), at.ase_per_pilot * 1e6);
            sweet.push((rc, best, 1.0 - at.p_served, at.ase_per_pilot * 1e6));
        }
        let analysis_s = start.elapsed().as_secs_f64();

        // ---- Monte Carlo ----
        let start = Instant::now();
        let mut mc_rows = Vec::new();
        if self.mc.drops > 0 {
            ctx.progress.begin(
                "points",
                (self.r_c_values_m.len() * self.mc_loads.len()) as u64,
            );
            for (i, &rc) in self.r_c_values_m.iter().enumerate() {
                for (j, &load) in self.mc_loads.iter().enumerate() {
                    let s = run_drops(
                        &self
                            .mc
                            .drop_params(lambda_r, load * lambda_r, rc, rc, self.alpha),
                        self.mc.drops,
                        &ctx.seeds.child("mc").index(i as u64).index(j as u64),
                        &super::super::Silent,
                    );
                    ctx.progress.advance(1);
                    let a = analyse(load, rc);
                    let tag = format!("rc{rc}_load{load}");
                    let outage = 1.0 - s.served_fraction();
                    out.metrics.insert(format!("outage_mc_{tag}"), outage);
                    out.metrics
                        .insert(format!("outage_analysis_{tag}"), 1.0 - a.p_served);
                    out.metrics.insert(
                        format!("ase_per_pilot_mc_{tag}"),
                        DropStats::ase_per_pilot(&s) * 1e6,
                    );
                    out.metrics.insert(
                        format!("ase_per_pilot_analysis_{tag}"),
                        a.ase_per_pilot * 1e6,
                    );
                    mc_rows.push(vec![
                        rc,
                        load,
                        load * lambda_r * PI * rc * rc,
                        1.0 - a.p_served,
                        a.ase_per_pilot * 1e6,
                        a.se_served,
                        outage,
                        s.ase_per_pilot() * 1e6,
                        s.se_served(),
                    ]);
                }
            }
        }
        let mc_s = start.elapsed().as_secs_f64();

        // ---- claims ----
        let flag = |b: bool| f64::from(u8::from(b));
        let n = loads.len();
        let outage_at = |rc_i: usize, load_i: usize| rows[rc_i * n + load_i][3];
        let last = self.r_c_values_m.len() - 1;
        // the smallest R_c has the highest outage at the lowest load and the lowest at the highest
        let cross =
            outage_at(0, 0) > outage_at(last, 0) && outage_at(0, n - 1) < outage_at(last, n - 1);
        out.metrics
            .insert("outage_curves_cross".into(), flag(cross));
        let rises_then_falls = (0..self.r_c_values_m.len()).all(|i| {
            let a: Vec<f64> = (0..n).map(|j| rows[i * n + j][4]).collect();
            let top = a
                .iter()
                .enumerate()
                .max_by(|x, y| x.1.partial_cmp(y.1).expect("finite"))
                .map(|(j, _)| j)
                .unwrap_or(0);
            top > 0 && top < n - 1
        });
        out.metrics
            .insert("ase_has_interior_maximum".into(), flag(rises_then_falls));

        let columns: Vec<String> = [
            "r_c_m",
            "load_lambda_u_group_over_lambda_r",
            "copilot_users_per_coverage_disk",
            "outage_analysis",
            "ase_per_pilot_analysis_bps_per_hz_per_km2",
            "se_served_analysis_bps_per_hz",
            "outage_mc",
            "ase_per_pilot_mc_bps_per_hz_per_km2",
            "se_served_mc_bps_per_hz",
        ]
        .map(String::from)
        .to_vec();
        out.tables.push(Table {
            name: "analysis_vs_load".into(),
            columns: columns.clone(),
            rows: rows.clone(),
        });
        out.tables.push(Table {
            name: "mc_vs_load".into(),
            columns,
            rows: mc_rows.clone(),
        });
        out.tables.push(Table {
            name: "sweet_spot".into(),
            columns: [
                "r_c_m",
                "load_at_max_ase",
                "outage_at_max_ase",
                "max_ase_per_pilot_bps_per_hz_per_km2",
            ]
            .map(String::from)
            .to_vec(),
            rows: sweet.iter().map(|&(a, b, c, d)| vec![a, b, c, d]).collect(),
        });
        out.tables.push(Table {
            name: "wall_time".into(),
            columns: vec!["analysis_s".into(), "monte_carlo_s".into()],
            rows: vec![vec![analysis_s, mc_s]],
        });
        for (name, title, y, c) in [
            (
                "outage_vs_load",
                "Outage probability",
                "P(no serving RRH)",
                [3, 6],
            ),
            (
                "ase_vs_load",
                "ASE per pilot",
                "A = λ_a·R̄ (b/s/Hz/km²)",
                [4, 7],
            ),
        ] {
            let mut fig = Figure::new(
                name,
                &format!(
                    "{title} vs per-pilot load (λ_r = 1/(π·{}²) m⁻², R_p = R_c, N → ∞)",
                    self.rrh_cell_radius_m
                ),
                "per-pilot load λ_u^(t)/λ_r",
                y,
            );
            fig.x_scale = Scale::Log10;
            for &rc in &self.r_c_values_m {
                let pick = |rs: &[Vec<f64>], k: usize| -> Vec<(f64, f64)> {
                    rs.iter()
                        .filter(|r| r[0] == rc && r[k].is_finite())
                        .map(|r| (r[1], r[k]))
                        .collect()
                };
                fig = fig
                    .line(
                        &format!("analysis, R_c = {rc} m"),
                        Origin::Theory,
                        Style::Line,
                        pick(&rows, c[0]),
                    )
                    .line(
                        &format!("Monte Carlo, R_c = {rc} m"),
                        Origin::Measured,
                        Style::Markers,
                        pick(&mc_rows, c[1]),
                    );
            }
            out.figures.push(fig);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiments::invalid_field;

    #[test]
    fn both_sizes_validate_and_bad_fields_are_named() {
        Config::full().validate().unwrap();
        Config::quick().validate().unwrap();
        let field = invalid_field::<Config>;
        assert_eq!(field(&|c| c.load_max = 0.01), "config.load_max");
        assert_eq!(
            field(&|c| c.r_c_values_m = vec![80.0, 60.0]),
            "config.r_c_values_m"
        );
        assert_eq!(field(&|c| c.load_points = 1), "config.load_points");
    }
}
