//! `fog.fig6` (fog massive MIMO §V Example 5, Fig. 6; notes/001 §2.11, §4 T4, T9): fog against
//! ideal cellular massive MIMO at N → ∞, against the user load λ_u/λ_r (λ_b = λ_r):
//!
//! * **cellular**: the analysis (35)–(40) ([`crate::analysis::cellular::analyse`]) with
//!   Q = τ_p = 40 — ASE_c and the SE of served users (no cellular Monte Carlo here: `fog.table1`
//!   validates it);
//! * **fog**: T pilot groups decouple, so the total ASE is T·A with A = λ_a·R̄ of one group at
//!   λ_u^{(t)} = λ_u/T — analysis (24) ([`crate::analysis::fog_coverage::analyse_se`]) and Monte
//!   Carlo ([`super::large_n`]) at a few loads — and the SE of served users R̄, for two R_c
//!   (R_p = R_c).
//!
//! Provenance: λ_r = λ_b = 1/(π·100²) m⁻², α = 3.75 and τ_p = 40 reconstructed; T (guess 20:
//! τ_p = T + L with L = 20), the two R_c (guess 60 and 100 m) and the load grid are guesses. The
//! fog-vs-cellular ASE ratio scales with the unknown T.

use super::super::{Context, ExperimentConfig, Outcome, RunError};
use super::large_n::{run_drops, McSettings};
use crate::analysis::cellular::{analyse, CellularParams};
use crate::analysis::fog_coverage::{analyse_se, FogSeParams};
use crate::report::{Figure, Origin, Style, Table};
use crate::scenario::{Check, FieldError};
use serde::{Deserialize, Serialize};
use std::f64::consts::PI;
use std::time::Instant;

/// Configuration of `fog.fig6`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// RRH (= BS) density as the radius of the mean cell (reconstructed: 100 m).
    pub rrh_cell_radius_m: f64,
    /// Loads λ_u/λ_r (increasing).
    pub loads: Vec<f64>,
    /// Loads of the fog Monte Carlo points.
    pub mc_loads: Vec<f64>,
    /// Pilot groups T of fog (guess: 20).
    pub pilot_groups: usize,
    /// Fog coverage radii (m, increasing; guess 60 and 100), R_p = R_c.
    pub r_c_values_m: Vec<f64>,
    /// Cellular orthogonal pilots τ_p = Q (reconstructed: 40).
    pub tau_p: usize,
    /// Shape of the Gamma model of the Voronoi cell area (paper's ref. \[32\]: 3.5).
    pub voronoi_shape: f64,
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
            loads: vec![2.0, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0],
            mc_loads: vec![5.0, 10.0, 20.0, 40.0],
            pilot_groups: 20,
            r_c_values_m: vec![60.0, 100.0],
            tau_p: 40,
            voronoi_shape: 3.5,
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
            mc_loads: vec![10.0, 40.0],
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
        c.each("loads", &self.loads, 2, 1e-3, 1000.0, "")?;
        c.increasing("loads", &self.loads)?;
        c.each("mc_loads", &self.mc_loads, 0, 1e-3, 1000.0, "")?;
        c.count("pilot_groups", self.pilot_groups, 1, 10_000)?;
        c.each("r_c_values_m", &self.r_c_values_m, 2, 1e-3, 1e5, "m")?;
        c.increasing("r_c_values_m", &self.r_c_values_m)?;
        c.count("tau_p", self.tau_p, 1, 10_000)?;
        c.range("voronoi_shape", self.voronoi_shape, 0.1, 100.0, "")?;
        c.range("alpha", self.alpha, 2.01, 10.0, "")?;
        c.count("n_max", self.n_max, 1, 1000)?;
        c.range("ln_z_step", self.ln_z_step, 1e-4, 0.5, "")?;
        let spacing = PI.sqrt() * self.rrh_cell_radius_m;
        let max_load = self.mc_loads.iter().cloned().fold(0.0, f64::max);
        self.mc.validate(
            "config.mc",
            self.r_c_values_m.last().copied().unwrap_or(0.0) / spacing,
            max_load / self.pilot_groups as f64,
        )
    }

    fn run(&self, ctx: &Context) -> Result<Outcome, RunError> {
        let mut out = Outcome::default();
        let lambda_r = 1.0 / (PI * self.rrh_cell_radius_m.powi(2));
        let t_groups = self.pilot_groups as f64;
        for (name, value, prov) in [
            ("rrh_cell_radius_m", self.rrh_cell_radius_m, "reconstructed"),
            ("tau_p", self.tau_p as f64, "reconstructed"),
            ("alpha", self.alpha, "reconstructed"),
            ("pilot_groups", t_groups, "guess"),
            ("mc_drops", self.mc.drops as f64, "guess"),
        ] {
            out.metrics.insert(format!("input_{name}_{prov}"), value);
        }
        for (i, &rc) in self.r_c_values_m.iter().enumerate() {
            out.metrics.insert(format!("input_r_c_{i}_m_guess"), rc);
        }
        let start = Instant::now();
        let mut rows = Vec::new();
        // per load: [cellular SE, cellular ASE, fog SE per R_c…, fog total ASE per R_c…]
        for &load in &self.loads {
            let cell = analyse(
                &CellularParams {
                    alpha: self.alpha,
                    users_per_bs: load,
                    tau_p: self.tau_p,
                    q: self.tau_p,
                    voronoi_shape: self.voronoi_shape,
                },
                lambda_r,
            )
            .map_err(|e| RunError::Numerical(e.to_string()))?;
            out.metrics
                .insert(format!("cellular_se_load{load}"), cell.se_bps_per_hz);
            out.metrics.insert(
                format!("cellular_ase_load{load}"),
                cell.ase_bps_per_hz_per_km2,
            );
            out.metrics.insert(
                format!("cellular_unserved_load{load}"),
                cell.unserved_fraction,
            );
            for &rc in &self.r_c_values_m {
                let a = analyse_se(&FogSeParams {
                    n_max: self.n_max,
                    ln_z_step: self.ln_z_step,
                    ..FogSeParams::new(load * lambda_r / t_groups, lambda_r, rc, rc, self.alpha)
                });
                let total = t_groups * a.ase_per_pilot * 1e6;
                let tag = format!("rc{rc}_load{load}");
                out.metrics
                    .insert(format!("fog_se_served_analysis_{tag}"), a.se_served);
                out.metrics
                    .insert(format!("fog_ase_total_analysis_{tag}"), total);
                out.metrics
                    .insert(format!("fog_outage_analysis_{tag}"), 1.0 - a.p_served);
                rows.push(vec![
                    load,
                    rc,
                    cell.se_bps_per_hz,
                    cell.ase_bps_per_hz_per_km2,
                    cell.unserved_fraction,
                    a.se_served,
                    total,
                    1.0 - a.p_served,
                    f64::NAN,
                    f64::NAN,
                    f64::NAN,
                ]);
            }
        }
        let analysis_s = start.elapsed().as_secs_f64();

        let start = Instant::now();
        if self.mc.drops > 0 {
            ctx.progress.begin(
                "points",
                (self.mc_loads.len() * self.r_c_values_m.len()) as u64,
            );
            for (i, &load) in self.mc_loads.iter().enumerate() {
                for (j, &rc) in self.r_c_values_m.iter().enumerate() {
                    let s = run_drops(
                        &self.mc.drop_params(
                            lambda_r,
                            load * lambda_r / t_groups,
                            rc,
                            rc,
                            self.alpha,
                        ),
                        self.mc.drops,
                        &ctx.seeds.child("mc").index(i as u64).index(j as u64),
                        &super::super::Silent,
                    );
                    ctx.progress.advance(1);
                    let tag = format!("rc{rc}_load{load}");
                    let total = t_groups * s.ase_per_pilot() * 1e6;
                    out.metrics
                        .insert(format!("fog_se_served_mc_{tag}"), s.se_served());
                    out.metrics.insert(format!("fog_ase_total_mc_{tag}"), total);
                    out.metrics
                        .insert(format!("fog_outage_mc_{tag}"), 1.0 - s.served_fraction());
                    if let Some(r) = rows.iter_mut().find(|r| r[0] == load && r[1] == rc) {
                        r[8] = s.se_served();
                        r[9] = total;
                        r[10] = 1.0 - s.served_fraction();
                    } else {
                        rows.push(vec![
                            load,
                            rc,
                            f64::NAN,
                            f64::NAN,
                            f64::NAN,
                            f64::NAN,
                            f64::NAN,
                            f64::NAN,
                            s.se_served(),
                            total,
                            1.0 - s.served_fraction(),
                        ]);
                    }
                }
            }
        }
        let mc_s = start.elapsed().as_secs_f64();

        // ---- claims (analysis) ----
        let flag = |b: bool| f64::from(u8::from(b));
        let analytic: Vec<&Vec<f64>> = rows.iter().filter(|r| r[2].is_finite()).collect();
        out.metrics.insert(
            "cellular_ase_exceeds_fog_everywhere".into(),
            flag(analytic.iter().all(|r| r[3] > r[6])),
        );
        let best_se_beats = self.loads.iter().all(|&load| {
            let best = analytic
                .iter()
                .filter(|r| r[0] == load)
                .map(|r| r[5])
                .fold(f64::NEG_INFINITY, f64::max);
            let cell = analytic
                .iter()
                .find(|r| r[0] == load)
                .map_or(f64::INFINITY, |r| r[2]);
            best > cell
        });
        out.metrics.insert(
            "fog_served_se_exceeds_cellular_best_rc".into(),
            flag(best_se_beats),
        );
        let top = *self.loads.last().expect("validated: ≥ 2 loads");
        let small = self.r_c_values_m[0];
        let large = *self.r_c_values_m.last().expect("validated");
        let ase = |rc: f64| {
            analytic
                .iter()
                .find(|r| r[0] == top && r[1] == rc)
                .map_or(f64::NAN, |r| r[6])
        };
        out.metrics.insert(
            "smaller_rc_higher_ase_at_top_load".into(),
            flag(ase(small) > ase(large)),
        );

        out.tables.push(Table {
            name: "fog_vs_cellular".into(),
            columns: [
                "load_lambda_u_over_lambda_r",
                "r_c_m",
                "cellular_se_served_bps_per_hz",
                "cellular_ase_bps_per_hz_per_km2",
                "cellular_unserved",
                "fog_se_served_analysis_bps_per_hz",
                "fog_ase_total_analysis_bps_per_hz_per_km2",
                "fog_outage_analysis",
                "fog_se_served_mc_bps_per_hz",
                "fog_ase_total_mc_bps_per_hz_per_km2",
                "fog_outage_mc",
            ]
            .map(String::from)
            .to_vec(),
            rows: rows.clone(),
        });
        out.tables.push(Table {
            name: "wall_time".into(),
            columns: vec!["analysis_s".into(), "monte_carlo_s".into()],
            rows: vec![vec![analysis_s, mc_s]],
        });
        for (name, title, y, c_cell, c_an, c_mc) in [
            ("ase_vs_load", "Total ASE", "ASE (b/s/Hz/km²)", 3, 6, 9),
            (
                "se_vs_load",
                "Mean SE of served users",
                "SE (b/s/Hz)",
                2,
                5,
                8,
            ),
        ] {
            let cell: Vec<(f64, f64)> = analytic
                .iter()
                .filter(|r| r[1] == small)
                .map(|r| (r[0], r[c_cell]))
                .collect();
            let mut fig = Figure::new(
                name,
                &format!(
                    "{title}: fog (T = {}) vs cellular (Q = τ_p = {}), N → ∞",
                    self.pilot_groups, self.tau_p
                ),
                "load λ_u/λ_r (users per RRH)",
                y,
            )
            .line(
                "cellular, analysis",
                Origin::Theory,
                Style::LineMarkers,
                cell,
            );
            for &rc in &self.r_c_values_m {
                let pick = |k: usize| -> Vec<(f64, f64)> {
                    rows.iter()
                        .filter(|r| r[1] == rc && r[k].is_finite())
                        .map(|r| (r[0], r[k]))
                        .collect()
                };
                fig = fig
                    .line(
                        &format!("fog, analysis, R_c = {rc} m"),
                        Origin::Theory,
                        Style::LineMarkers,
                        pick(c_an),
                    )
                    .line(
                        &format!("fog, Monte Carlo, R_c = {rc} m"),
                        Origin::Measured,
                        Style::Markers,
                        pick(c_mc),
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
        assert_eq!(field(&|c| c.pilot_groups = 0), "config.pilot_groups");
        assert_eq!(field(&|c| c.loads = vec![10.0, 5.0]), "config.loads");
        assert_eq!(
            field(&|c| c.r_c_values_m = vec![100.0]),
            "config.r_c_values_m"
        );
    }
}
