//! `thesis.cfo-null-collapse`: a 2×2 ZF precoder computed at the start of a 1 ms slot, transmitted
//! through oscillators that keep turning (thesis §2.2, eqs. 2.13–2.14; notes/003 §6 target 2).
//!
//! Each drop draws a 2×2 multipath channel on the 52 subcarriers of an 802.11-like numerology and
//! one oscillator per AP and per user (static offset, thermal frequency walk, Wiener phase noise,
//! random initial phase). The precoder is ZF on the effective channel H̃(n, 0) — a perfect estimate
//! at the slot start. For every OFDM symbol of the slot the oscillators advance and the leakage of
//! each stream at the other user is measured on H̃(n, t) = Φ(n, t)H(n)Ψ(n, t), as a receiver would:
//! with measurement noise at a fixed floor below the contributions' power. Scenarios share the
//! channel and oscillator random streams (common random numbers); they differ only in AP 1's static
//! offset relative to AP 2: the uncompensated CFO, a fixed residual after compensation, or a
//! residual drawn per drop uniformly within the compensation's accuracy.

use super::super::{key, par_indexed, Context, ExperimentConfig, Outcome, RunError};
use crate::channel::fading::{mimo_ofdm_channel, PowerDelayProfile};
use crate::channel::impairment::Impairment;
use crate::linalg::cn01;
use crate::precoding::{eval::coherent_sum_ratio, linear::zf};
use crate::radio::ofdm::Numerology;
use crate::radio::oscillator::{Oscillator, OscillatorParams, OscillatorSpec};
use crate::report::{Figure, Origin, Style, Table};
use crate::scenario::{Check, FieldError};
use crate::units::{db_to_lin, lin_to_db};
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::f64::consts::TAU;

/// Configuration of `thesis.cfo-null-collapse`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Slot length over which the precoder is reused (s).
    pub slot_s: f64,
    /// Uncompensated relative CFO between the two APs (Hz); WARP boards: ≈ 3.75 kHz (Fig. 4.1).
    pub relative_cfo_hz: f64,
    /// Residual relative CFOs after compensation (Hz), each fixed in every drop.
    pub residual_cfo_hz: Vec<f64>,
    /// A compensation accurate to ±this (Hz): the residual is drawn per drop uniformly in
    /// [−x, x] (Table 4.1's "CFO precision 10 Hz" read as a bound).
    pub residual_uniform_hz: f64,
    /// Thermal frequency random walk of every oscillator (Hz²/s); default [`OscillatorSpec::WARP`].
    pub freq_walk_hz2_per_s: f64,
    /// 3 dB linewidth of every oscillator's Wiener phase noise (Hz); WARP's is "quite small".
    pub linewidth_hz: f64,
    /// Measurement noise floor relative to the contributions' power (dB).
    pub floor_db: f64,
    /// Independent drops (channels and oscillators).
    pub drops: usize,
    /// Taps of the exponential power-delay profile.
    pub pdp_taps: usize,
}

impl ExperimentConfig for Config {
    fn full() -> Self {
        Config {
            slot_s: 1e-3,
            relative_cfo_hz: 3750.0,
            residual_cfo_hz: vec![0.0, 2.0, 5.0, 7.0, 10.0, 15.0, 20.0],
            residual_uniform_hz: 10.0,
            freq_walk_hz2_per_s: OscillatorSpec::WARP.freq_walk_hz2_per_s,
            linewidth_hz: OscillatorSpec::WARP.linewidth_hz,
            floor_db: -45.0,
            drops: 100,
            pdp_taps: 4,
        }
    }

    fn quick() -> Self {
        Config {
            drops: 40,
            ..Self::full()
        }
    }

    fn validate(&self) -> Result<(), FieldError> {
        let c = Check { prefix: "config" };
        c.range("slot_s", self.slot_s, 1e-5, 0.1, "s")?;
        c.range("relative_cfo_hz", self.relative_cfo_hz, 0.0, 1e5, "Hz")?;
        c.each("residual_cfo_hz", &self.residual_cfo_hz, 1, 0.0, 1e4, "Hz")?;
        c.increasing("residual_cfo_hz", &self.residual_cfo_hz)?;
        c.range(
            "residual_uniform_hz",
            self.residual_uniform_hz,
            0.0,
            1e4,
            "Hz",
        )?;
        c.range(
            "freq_walk_hz2_per_s",
            self.freq_walk_hz2_per_s,
            0.0,
            1e8,
            "Hz²/s",
        )?;
        c.range("linewidth_hz", self.linewidth_hz, 0.0, 1e4, "Hz")?;
        c.range("floor_db", self.floor_db, -150.0, 0.0, "dB")?;
        c.count("drops", self.drops, 1, 100_000)?;
        c.count("pdp_taps", self.pdp_taps, 1, 16)
    }

    fn run(&self, ctx: &Context) -> Result<Outcome, RunError> {
        let num = Numerology::wifi20();
        let t_sym = num.symbol_duration_s(0);
        let n_sym = (self.slot_s / t_sym).round() as usize;
        let pdp = PowerDelayProfile::exponential(self.pdp_taps, 1.5);
        let floor = db_to_lin(self.floor_db);
        // scenario 0: uncompensated; 1..=R: one per fixed residual; last: uniform residual
        let n_scen = self.residual_cfo_hz.len() + 2;

        ctx.progress.begin("drops", self.drops as u64);
        let per_drop = par_indexed(
            self.drops,
            ctx.progress,
            |d| -> Result<Vec<Vec<f64>>, RunError> {
                let seeds = ctx.seeds.child("drop").index(d as u64);
                let hs = mimo_ofdm_channel(
                    2,
                    2,
                    &pdp,
                    num.n_fft,
                    &num.used,
                    &mut seeds.child("channel").rng(),
                );
                let uniform = self.residual_uniform_hz
                    * seeds
                        .child("uniform-residual")
                        .rng()
                        .random_range(-1.0..=1.0);
                (0..n_scen)
                    .map(|sc| {
                        let offset = match sc {
                            0 => self.relative_cfo_hz,
                            _ if sc <= self.residual_cfo_hz.len() => self.residual_cfo_hz[sc - 1],
                            _ => uniform,
                        };
                        // the same oscillator and noise streams in every scenario
                        let mut osc_rng: Vec<_> = (0..4)
                            .map(|i| seeds.child("oscillator").index(i).rng())
                            .collect();
                        let mut noise_rng = seeds.child("measurement").rng();
                        let mut oscs: Vec<Oscillator> = (0..4)
                            .map(|i| {
                                let base = if i == 0 { offset } else { 0.0 };
                                Oscillator::new(OscillatorParams {
                                    offset_hz: base,
                                    freq_walk_hz2_per_s: self.freq_walk_hz2_per_s,
                                    phase_noise_rad2_per_s: TAU * self.linewidth_hz,
                                    initial_phase_rad: osc_rng[i].random_range(0.0..TAU),
                                })
                            })
                            .collect();
                        let mut trace = Vec::with_capacity(n_sym);
                        let mut precoders = Vec::new();
                        for s in 0..n_sym {
                            let t = s as f64 * t_sym;
                            for (o, r) in oscs.iter_mut().zip(osc_rng.iter_mut()) {
                                o.advance_to(t, r);
                            }
                            let mut imp = Impairment::ideal(2, 2);
                            imp.ap_phase_rad = vec![oscs[0].phase_rad(), oscs[1].phase_rad()];
                            imp.ue_phase_rad = vec![oscs[2].phase_rad(), oscs[3].phase_rad()];
                            let hts: Vec<_> = hs
                                .iter()
                                .zip(&num.used)
                                .map(|(h, &n)| {
                                    imp.apply(h.as_ref(), n, num.subcarrier_spacing_hz())
                                })
                                .collect();
                            if s == 0 {
                                precoders = hts
                                    .iter()
                                    .map(|h| zf(h.as_ref()).map(|z| z.v))
                                    .collect::<Result<_, _>>()
                                    .map_err(|e| RunError::Numerical(e.to_string()))?;
                            }
                            let mut sum = 0.0;
                            for (ht, v) in hts.iter().zip(&precoders) {
                                for (k, j) in [(0, 1), (1, 0)] {
                                    // measured leakage: the coherent sum plus measurement noise at the floor
                                    sum += coherent_sum_ratio(ht.as_ref(), v.as_ref(), k, j)
                                        + floor * cn01(&mut noise_rng).norm_sqr();
                                }
                            }
                            trace.push(sum / (2 * hts.len()) as f64);
                        }
                        Ok(trace)
                    })
                    .collect()
            },
        );
        let per_drop: Vec<Vec<Vec<f64>>> = per_drop.into_iter().collect::<Result<_, _>>()?;
        // mean over drops, per scenario and symbol (linear), then dB
        let traces: Vec<Vec<f64>> = (0..n_scen)
            .map(|sc| {
                (0..n_sym)
                    .map(|s| {
                        lin_to_db(
                            per_drop.iter().map(|d| d[sc][s]).sum::<f64>() / self.drops as f64,
                        )
                    })
                    .collect()
            })
            .collect();
        let times_us: Vec<f64> = (0..n_sym).map(|s| s as f64 * t_sym * 1e6).collect();

        let mut out = Outcome::default();
        let unc = &traces[0];
        out.metrics.insert(
            "uncompensated_peak_leakage_db".into(),
            unc.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        );
        out.metrics.insert(
            "floor_db".into(),
            traces[1..]
                .iter()
                .map(|t| t[0])
                .fold(f64::INFINITY, f64::min),
        );
        if let Some(i) = unc.iter().position(|&l| l >= 0.0) {
            out.metrics
                .insert("uncompensated_time_to_0db_us".into(), times_us[i]);
        }
        let peaks = peak_times(&times_us, unc);
        if peaks.len() >= 2 {
            out.metrics.insert(
                "uncompensated_period_us".into(),
                (peaks[peaks.len() - 1] - peaks[0]) / (peaks.len() - 1) as f64,
            );
        }
        let mut summary_rows = Vec::new();
        let (mut max_pts, mut mean_pts) = (Vec::new(), Vec::new());
        let max_mean = |trace: &[f64]| {
            let max = trace.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            (
                max,
                lin_to_db(trace.iter().map(|&l| db_to_lin(l)).sum::<f64>() / trace.len() as f64),
            )
        };
        for (r, trace) in self.residual_cfo_hz.iter().zip(&traces[1..]) {
            let (max, mean) = max_mean(trace);
            out.metrics
                .insert(key("max_leakage_db_residual", *r, "hz"), max);
            out.metrics
                .insert(key("mean_leakage_db_residual", *r, "hz"), mean);
            summary_rows.push(vec![*r, max, mean]);
            max_pts.push((*r, max));
            mean_pts.push((*r, mean));
        }
        let uniform_trace = &traces[n_scen - 1];
        let (max, mean) = max_mean(uniform_trace);
        out.metrics.insert(
            key(
                "max_leakage_db_residual_uniform",
                self.residual_uniform_hz,
                "hz",
            ),
            max,
        );
        out.metrics.insert(
            key(
                "mean_leakage_db_residual_uniform",
                self.residual_uniform_hz,
                "hz",
            ),
            mean,
        );
        if let Some(f) = crossing(&max_pts, -30.0) {
            out.metrics
                .insert("residual_cfo_for_minus30db_hz".into(), f);
        }

        let mut columns = vec![
            "time_us".to_string(),
            "uncompensated_leakage_db".to_string(),
        ];
        columns.extend(
            self.residual_cfo_hz
                .iter()
                .map(|r| format!("residual_{r}hz_leakage_db")),
        );
        columns.push(format!(
            "residual_uniform_{}hz_leakage_db",
            self.residual_uniform_hz
        ));
        let rows = (0..n_sym)
            .map(|s| {
                std::iter::once(times_us[s])
                    .chain(traces.iter().map(|t| t[s]))
                    .collect()
            })
            .collect();
        out.tables.push(Table {
            name: "leakage_vs_time".into(),
            columns,
            rows,
        });
        out.tables.push(Table {
            name: "leakage_vs_residual_cfo".into(),
            columns: vec![
                "residual_cfo_hz".into(),
                "max_leakage_db".into(),
                "mean_leakage_db".into(),
            ],
            rows: summary_rows,
        });

        // E[1 − cos θ(t)] for θ = 2πΔf·t plus the two APs' independent Gaussian phase noise and
        // integrated frequency walk: 1 − cos(2πΔf·t)·e^(−σ²(t)/2), σ²(t) = 2(2πβt + (2π)²q t³/3)
        let expected = |f: f64, t_s: f64| {
            let var = 2.0
                * (TAU * self.linewidth_hz * t_s
                    + TAU * TAU * self.freq_walk_hz2_per_s * t_s.powi(3) / 3.0);
            lin_to_db(1.0 - (TAU * f * t_s).cos() * (-var / 2.0).exp() + floor)
        };
        let theory = |f: f64| -> Vec<(f64, f64)> {
            times_us
                .iter()
                .map(|&t| (t, expected(f, t * 1e-6)))
                .collect()
        };
        let mut fig = Figure::new(
            "leakage_vs_time",
            "2×2 ZF null leakage over a slot (precoder from t = 0)",
            "time since precoding (µs)",
            "null leakage (dB)",
        )
        .line(
            &format!("uncompensated, {} Hz", self.relative_cfo_hz),
            Origin::Measured,
            Style::Line,
            times_us.iter().copied().zip(unc.iter().copied()).collect(),
        )
        .line(
            "expected: 1 − cos(2πΔf t)·e^(−σ²/2) + floor",
            Origin::Theory,
            Style::Line,
            theory(self.relative_cfo_hz),
        );
        for (r, trace) in self.residual_cfo_hz.iter().zip(&traces[1..]) {
            if [0.0, 10.0, 20.0].contains(r) {
                fig = fig.line(
                    &format!("residual {r} Hz"),
                    Origin::Measured,
                    Style::Line,
                    times_us
                        .iter()
                        .copied()
                        .zip(trace.iter().copied())
                        .collect(),
                );
            }
        }
        fig = fig.line(
            &format!("residual uniform in ±{} Hz", self.residual_uniform_hz),
            Origin::Measured,
            Style::Line,
            times_us
                .iter()
                .copied()
                .zip(uniform_trace.iter().copied())
                .collect(),
        );
        fig = fig.line(
            "issue target: −30 dB",
            Origin::Paper,
            Style::Line,
            vec![(0.0, -30.0), (self.slot_s * 1e6, -30.0)],
        );
        out.figures.push(fig);
        let th_max: Vec<(f64, f64)> = (0..=100)
            .map(|i| {
                let f = self.residual_cfo_hz.last().unwrap() * i as f64 / 100.0;
                (f, expected(f, (n_sym - 1) as f64 * t_sym))
            })
            .collect();
        out.figures.push(
            Figure::new(
                "leakage_vs_residual_cfo",
                "Worst and mean null leakage over a 1 ms slot vs residual CFO",
                "residual relative CFO (Hz)",
                "null leakage (dB)",
            )
            .line(
                "max over slot",
                Origin::Measured,
                Style::LineMarkers,
                max_pts,
            )
            .line(
                "mean over slot",
                Origin::Measured,
                Style::LineMarkers,
                mean_pts,
            )
            .line(
                "expected at the slot end (incl. phase noise, walk, floor)",
                Origin::Theory,
                Style::Line,
                th_max,
            )
            .line(
                "issue target at 10 Hz: < −30 dB",
                Origin::Paper,
                Style::Markers,
                vec![(10.0, -30.0)],
            ),
        );
        Ok(out)
    }
}

/// Times of the local maxima of a trace (in dB), refined by a parabola through each peak and its
/// neighbours (sub-sample accuracy).
/// Only maxima within 3 dB of the global one count, so noise ripples on the flanks are ignored.
fn peak_times(t: &[f64], y: &[f64]) -> Vec<f64> {
    let dt = t.get(1).map_or(0.0, |t1| t1 - t[0]);
    let top = y.iter().copied().fold(f64::NEG_INFINITY, f64::max) - 3.0;
    (1..y.len().saturating_sub(1))
        .filter(|&i| y[i] >= top && y[i] > y[i - 1] && y[i] >= y[i + 1])
        .map(|i| {
            let (a, b, c) = (y[i - 1], y[i], y[i + 1]);
            let den = a - 2.0 * b + c;
            let off = if den.abs() > 1e-15 {
                0.5 * (a - c) / den
            } else {
                0.0
            };
            t[i] + off * dt
        })
        .collect()
}

/// The x at which a piecewise-linear curve (x ascending) first rises through `level`.
fn crossing(pts: &[(f64, f64)], level: f64) -> Option<f64> {
    pts.windows(2)
        .find(|w| w[0].1 < level && w[1].1 >= level)
        .map(|w| {
            let ((x0, y0), (x1, y1)) = (w[0], w[1]);
            x0 + (level - y0) * (x1 - x0) / (y1 - y0)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peak_refinement_finds_the_vertex() {
        let t: Vec<f64> = (0..50).map(|i| i as f64).collect();
        let y: Vec<f64> = t.iter().map(|x| -(x - 20.3f64).powi(2)).collect();
        let p = peak_times(&t, &y);
        assert_eq!(p.len(), 1);
        assert!((p[0] - 20.3).abs() < 1e-9);
        assert_eq!(crossing(&[(0.0, -40.0), (10.0, -20.0)], -30.0), Some(5.0));
    }
}
