//! `chorus.phase-vs-snr` (notes/000 §3 P1, §2.4.B; Chorus §11.2 is not in the fragment): the
//! phase error of one hop against the per-RE SNR of the parent's sync signal, per controller,
//! and the SNR threshold θ* at which the error meets a target (5°).
//!
//! One root and one child at control level ([`Engine`]), small-cell oscillators
//! ([`crate::radio::oscillator::OscillatorSpec::SMALL_CELL`]), M REs per measurement. Two error
//! measures:
//!
//! * **tracking error**: θ_child − θ_root after removing its mean, with static links — compared
//!   with the loop's exact error budget ([`tracking_error_budget`]: measurement noise through G
//!   plus the oscillators' wander left by 1 − G);
//! * **coherence error** over Δ (notes/000 §4.3): wrap(ψ(t+Δ) − ψ(t)), ψ = θ_child − θ_root,
//!   with the link phase wandering as well — what a precoder computed from CSI Δ old sees. It is
//!   the error the threshold is set on.
//!
//! The robust and Kalman controllers are designed for the SNR of each point (a node knows its
//! parent layer's SNR); the PI keeps the appendix's fixed gains.

use super::super::{key, par_indexed, Context, ExperimentConfig, Outcome, RunError};
use crate::estimation::phase_control::{
    tracking_error_budget, ControllerParams, KalmanParams, PiParams, RelativeWander, Robust,
    RobustDesign,
};
use crate::report::{Figure, Origin, Style, Table};
use crate::rng::SeedTree;
use crate::scenario::{Check, FieldError};
use crate::sync::layered_tree::engine::{
    Audible, ControllerStats, Engine, EngineParams, Fidelity, Topology,
};
use crate::sync::layered_tree::protocol::{ProtocolParams, Role};
use crate::units::{db_to_lin, rad_to_deg, wrap_phase};
use serde::{Deserialize, Serialize};
use std::f64::consts::TAU;

/// Configuration of `chorus.phase-vs-snr`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Per-RE SNRs of the parent's sync signal (dB).
    pub snr_db: Vec<f64>,
    /// REs per measurement M.
    pub res_per_set: usize,
    /// Coherence interval Δ (periods of 5 ms).
    pub coherence_periods: usize,
    /// Target phase error for the threshold (degrees RMS).
    pub target_deg: f64,
    /// The PI's fixed damping and ωn·T.
    pub pi_zeta: f64,
    pub pi_omega_n_t: f64,
    /// Periods before measuring, and periods measured, per run.
    pub warmup_periods: usize,
    pub periods: usize,
    /// Independent runs per point.
    pub runs: usize,
}

impl ExperimentConfig for Config {
    fn full() -> Self {
        Config {
            snr_db: vec![
                -15.0, -12.0, -9.0, -6.0, -3.0, 0.0, 3.0, 6.0, 10.0, 15.0, 20.0, 25.0, 30.0,
            ],
            res_per_set: 150,
            coherence_periods: 4,
            target_deg: 5.0,
            pi_zeta: 0.707,
            pi_omega_n_t: 0.05,
            warmup_periods: 1_000,
            periods: 8_000,
            runs: 8,
        }
    }

    fn quick() -> Self {
        Config {
            snr_db: vec![-12.0, -6.0, 0.0, 10.0, 20.0, 30.0],
            periods: 3_000,
            runs: 3,
            ..Self::full()
        }
    }

    fn validate(&self) -> Result<(), FieldError> {
        let c = Check { prefix: "config" };
        c.each("snr_db", &self.snr_db, 2, -30.0, 60.0, "dB")?;
        c.count("res_per_set", self.res_per_set, 1, 100_000)?;
        c.count("coherence_periods", self.coherence_periods, 1, 10_000)?;
        c.range("target_deg", self.target_deg, 0.01, 90.0, "degrees")?;
        c.range("pi_zeta", self.pi_zeta, 0.1, 50.0, "")?;
        c.range("pi_omega_n_t", self.pi_omega_n_t, 1e-4, 1.0, "rad/period")?;
        c.count("warmup_periods", self.warmup_periods, 100, 10_000_000)?;
        c.count("periods", self.periods, 100, 10_000_000)?;
        c.count("runs", self.runs, 1, 10_000)
    }

    fn run(&self, ctx: &Context) -> Result<Outcome, RunError> {
        let mut snrs = self.snr_db.clone();
        snrs.sort_by(f64::total_cmp);
        let base = EngineParams::chorus(10.0).map_err(num)?;
        let period_s = 5e-3;
        let osc = base.oscillator;
        let wander = RelativeWander {
            phase_noise_rad2_per_s: 2.0 * TAU * osc.linewidth_hz,
            freq_walk_hz2_per_s: 2.0 * osc.freq_walk_hz2_per_s,
        };
        let names = ["pi", "kalman", "robust"];
        // (controller, snr) → params
        let design = |ci: usize, snr: f64| -> Result<ControllerParams, RunError> {
            let r = 1.0 / (2.0 * self.res_per_set as f64 * db_to_lin(snr));
            Ok(match ci {
                0 => ControllerParams::Pi(PiParams::from_damping(
                    period_s,
                    self.pi_zeta,
                    self.pi_omega_n_t,
                )),
                1 => ControllerParams::Kalman(KalmanParams::new(period_s, wander, r)),
                _ => ControllerParams::Robust(
                    Robust::design(&RobustDesign {
                        period_s,
                        snr_db: snr,
                        m_res: self.res_per_set as u32,
                        phase_noise_rad2_per_s: wander.phase_noise_rad2_per_s,
                        freq_walk_hz2_per_s: wander.freq_walk_hz2_per_s,
                        latency_periods: 0,
                        peaking_target_db: 0.1,
                    })
                    .map_err(num)?,
                ),
            })
        };
        let jobs: Vec<(usize, usize, usize, bool)> = (0..names.len())
            .flat_map(|c| {
                (0..snrs.len()).flat_map(move |s| {
                    (0..self.runs).flat_map(move |r| [(c, s, r, false), (c, s, r, true)])
                })
            })
            .collect();
        ctx.progress.begin("runs", jobs.len() as u64);
        let results = par_indexed(jobs.len(), ctx.progress, |j| {
            let (c, s, r, wandering) = jobs[j];
            let params = EngineParams {
                // one flat hop: the per-RE SNR is exactly the swept value
                fidelity: Fidelity::Control,
                controller: design(c, snrs[s])?,
                res_per_set: self.res_per_set,
                link_phase_rad2_per_s: if wandering {
                    base.link_phase_rad2_per_s
                } else {
                    0.0
                },
                protocol: ProtocolParams {
                    threshold_db: -30.0,
                    ..base.protocol
                },
                ..base.clone()
            };
            self.one_hop(
                params,
                snrs[s],
                &ctx.seeds
                    .child(names[c])
                    .index(s as u64)
                    .index(r as u64)
                    .child(if wandering { "wander" } else { "static" }),
            )
        });
        let mut out = Outcome::default();
        let mut rows = Vec::new();
        let mut fig = Figure::new(
            "phase_error_vs_snr",
            &format!(
                "One hop: RMS phase error vs per-RE SNR (M = {}, 5 ms period)",
                self.res_per_set
            ),
            "per-RE SNR of the parent layer (dB)",
            "RMS phase error (degrees)",
        );
        let mut threshold = [f64::NAN; 3];
        for (ci, name) in names.iter().enumerate() {
            let (mut track_pts, mut coh_pts, mut budget_pts) = (Vec::new(), Vec::new(), Vec::new());
            // the coherence error for the threshold: infinite where any run locked to an alias
            let mut usable_pts = Vec::new();
            for (si, &snr) in snrs.iter().enumerate() {
                let (mut track, mut coh, mut rebase, mut lost) = (0.0, 0.0, 0u64, 0u64);
                let (mut n_track, mut n_coh, mut unlocked) = (0usize, 0usize, 0usize);
                for r in 0..self.runs {
                    for wandering in [false, true] {
                        // jobs are ordered controller, SNR, run, (static, wandering)
                        let j = ((ci * snrs.len() + si) * self.runs + r) * 2 + wandering as usize;
                        debug_assert_eq!(jobs[j], (ci, si, r, wandering));
                        let Some((t, c, st)) = *results[j]
                            .as_ref()
                            .map_err(|e| RunError::Numerical(e.to_string()))?
                        else {
                            unlocked += 1;
                            continue;
                        };
                        rebase += st.rebaselined;
                        lost += st.lock_lost;
                        if wandering {
                            coh += c;
                            n_coh += 1;
                        } else {
                            track += t;
                            n_track += 1;
                        }
                    }
                }
                // means over the frequency-locked runs (NaN if none locked)
                track /= n_track as f64;
                coh /= n_coh as f64;
                out.metrics.insert(
                    key(&format!("{name}_alias_locked_runs_snr"), snr, "db"),
                    unlocked as f64,
                );
                let params = design(ci, snr)?;
                let g = params.build().map_err(num)?.closed_loop();
                let r = 1.0 / (2.0 * self.res_per_set as f64 * db_to_lin(snr));
                let budget = tracking_error_budget(&g, period_s, r, &wander).map_err(num)?;
                let (track_deg, coh_deg, budget_deg) = (
                    rad_to_deg(track.sqrt()),
                    rad_to_deg(coh.sqrt()),
                    rad_to_deg(budget.total_rad2().sqrt()),
                );
                let m = &mut out.metrics;
                m.insert(
                    key(&format!("{name}_tracking_rms_deg_snr"), snr, "db"),
                    track_deg,
                );
                m.insert(
                    key(&format!("{name}_coherence_rms_deg_snr"), snr, "db"),
                    coh_deg,
                );
                m.insert(
                    key(&format!("{name}_tracking_over_budget_snr"), snr, "db"),
                    track / budget.total_rad2(),
                );
                m.insert(
                    key(&format!("{name}_rebaselines_snr"), snr, "db"),
                    rebase as f64,
                );
                m.insert(
                    key(&format!("{name}_lock_losses_snr"), snr, "db"),
                    lost as f64,
                );
                rows.push(vec![
                    ci as f64,
                    snr,
                    track_deg,
                    budget_deg,
                    rad_to_deg(budget.measurement_rad2.sqrt()),
                    coh_deg,
                    rad_to_deg(r.sqrt()),
                ]);
                usable_pts.push((snr, if unlocked > 0 { f64::INFINITY } else { coh_deg }));
                if n_track > 0 {
                    track_pts.push((snr, track_deg));
                }
                if n_coh > 0 {
                    coh_pts.push((snr, coh_deg));
                }
                budget_pts.push((snr, budget_deg));
            }
            // θ*: the lowest SNR from which every run is frequency-locked and the coherence error
            // stays ≤ target (linear interpolation in dB between bracketing finite points)
            let mut th = f64::NAN;
            for w in usable_pts.windows(2).rev() {
                let ((s0, e0), (s1, e1)) = (w[0], w[1]);
                if e1 > self.target_deg {
                    break;
                }
                th = if e0 <= self.target_deg {
                    s0
                } else if e0.is_finite() {
                    s0 + (e0 - self.target_deg) / (e0 - e1) * (s1 - s0)
                } else {
                    s1
                };
                if e0 > self.target_deg {
                    break;
                }
            }
            threshold[ci] = th;
            out.metrics.insert(format!("{name}_threshold_snr_db"), th);
            let max_increase = coh_pts
                .windows(2)
                .map(|w| w[1].1 / w[0].1)
                .fold(0.0, f64::max);
            out.metrics
                .insert(format!("{name}_coherence_max_step_ratio"), max_increase);
            fig = fig
                .line(
                    &format!(
                        "{name}: coherence error over {} ms",
                        5 * self.coherence_periods
                    ),
                    Origin::Measured,
                    Style::LineMarkers,
                    coh_pts,
                )
                .line(
                    &format!("{name}: tracking error (static links)"),
                    Origin::Measured,
                    Style::Markers,
                    track_pts,
                )
                .line(
                    &format!("{name}: loop error budget"),
                    Origin::Theory,
                    Style::Line,
                    budget_pts,
                );
        }
        fig = fig
            .line(
                "one measurement: 1/√(2·M·SNR)",
                Origin::Theory,
                Style::Line,
                snrs.iter()
                    .map(|&s| {
                        (
                            s,
                            rad_to_deg(
                                (1.0 / (2.0 * self.res_per_set as f64 * db_to_lin(s))).sqrt(),
                            ),
                        )
                    })
                    .collect(),
            )
            .line(
                &format!("target {}°", self.target_deg),
                Origin::Theory,
                Style::Line,
                vec![
                    (snrs[0], self.target_deg),
                    (*snrs.last().expect("≥ 2 points"), self.target_deg),
                ],
            );
        fig.y_scale = crate::report::Scale::Log10;
        out.figures.push(fig);
        out.tables.push(Table {
            name: "phase_error_vs_snr".into(),
            columns: [
                "controller_index(0=pi,1=kalman,2=robust)",
                "snr_per_re_db",
                "tracking_rms_deg",
                "budget_rms_deg",
                "budget_measurement_part_rms_deg",
                "coherence_rms_deg",
                "one_measurement_std_deg",
            ]
            .map(String::from)
            .to_vec(),
            rows,
        });
        Ok(out)
    }
}

fn num<E: std::fmt::Display>(e: E) -> RunError {
    RunError::Numerical(e.to_string())
}

impl Config {
    /// One run of a root and a child at `snr_db`: (tracking-error variance, coherence-error mean
    /// square) in rad²; None if the child's mean frequency is not within 1 Hz of the root's (at
    /// low SNR the coarse stage's residual exceeds the fine stage's ±100 Hz and the loop locks
    /// to a 200 Hz alias, which looks coherent at the 5 ms instants and nowhere else).
    fn one_hop(
        &self,
        params: EngineParams,
        snr_db: f64,
        seeds: &SeedTree,
    ) -> Result<Option<(f64, f64, ControllerStats)>, RunError> {
        let s = db_to_lin(snr_db);
        let topology = Topology {
            audible: vec![
                vec![Audible { from: 1, snr: s }],
                vec![Audible { from: 0, snr: s }],
            ],
        };
        let roles = vec![Role::Root { tx_layers: vec![0] }, Role::Regular];
        let mut e = Engine::new(params, topology, roles, seeds).map_err(num)?;
        for _ in 0..self.warmup_periods {
            e.step();
        }
        if e.layers()[1] != Some(1) {
            return Err(RunError::Numerical(format!(
                "the child did not join at {snr_db} dB"
            )));
        }
        let mut psi = Vec::with_capacity(self.periods);
        let mut df_sum = 0.0;
        let mut prev: Option<f64> = None;
        for _ in 0..self.periods {
            e.step();
            let f: Vec<f64> = e.frequencies_hz().collect();
            df_sum += f[1] - f[0];
            let th = e.phases();
            let x = th[1] - th[0];
            // unwrap along time
            let x = match prev {
                Some(p) => p + wrap_phase(x - p),
                None => x,
            };
            prev = Some(x);
            psi.push(x);
        }
        let n = psi.len() as f64;
        if (df_sum / n).abs() > 1.0 {
            return Ok(None);
        }
        let mean = psi.iter().sum::<f64>() / n;
        let var = psi.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
        let d = self.coherence_periods;
        let coh = psi
            .windows(d + 1)
            .map(|w| wrap_phase(w[d] - w[0]).powi(2))
            .sum::<f64>()
            / (psi.len() - d) as f64;
        Ok(Some((var, coh, e.controller_stats(1))))
    }
}
