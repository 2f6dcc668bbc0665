//! `distsync.canonical-form` (thesis Fig. 4.5, §4.3 eq. 4.11; notes/003 §3.6): does removing the
//! fitted linear phase (timing slope and phase intercept) from a channel make measurements taken
//! at different times comparable, and can it tell a changed channel from an unchanged one?
//!
//! Each channel is a 10-tap Rayleigh channel with exponentially decaying tap power on 64
//! subcarriers. Each observation of it carries a timing offset τ ~ U[−CP/5, CP/5] (a phase ramp
//! −2π c τ/N across subcarrier c) and a phase φ ~ U[0, 2π), optionally plus estimation noise.
//! The canonical form C(H̃) = H̃·e^{−j(ŝ(c − c̄) + φ̂)} uses Kay's slope and intercept (eqs. 4.5–4.6).
//! Distances are RMS wrapped phase differences over the subcarriers (rad): between two
//! observations of the same channel (different offsets) and between observations of different
//! channels.

use super::super::{key, par_indexed, Context, ExperimentConfig, Outcome, RunError};
use crate::channel::fading::PowerDelayProfile;
use crate::estimation::phase_slope::{canonical_form, kay};
use crate::linalg::cn01;
use crate::metrics::Cdf;
use crate::report::{Figure, Origin, Style, Table};
use crate::scenario::{Check, FieldError};
use crate::units::{cis, db_to_lin, wrap_phase, C64};
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::f64::consts::{PI, TAU};

/// Configuration of `distsync.canonical-form`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// FFT size = number of subcarriers observed (thesis: 64).
    pub n_fft: usize,
    /// Cyclic prefix (samples); timing offsets are uniform in ±cp/5 (thesis).
    pub cp: usize,
    /// Channel taps (thesis: 10).
    pub taps: usize,
    /// Tap power decays as exp(−l/decay_taps) (the thesis says only "decays exponentially").
    pub decay_taps: f64,
    /// Distinct channels (thesis Fig. 4.5c: 40).
    pub channels: usize,
    /// Observations (timing/phase offsets) per channel.
    pub offsets: usize,
    /// Per-subcarrier estimation SNRs (dB) evaluated besides the noiseless case (the thesis'
    /// simulation, as described, has no noise).
    pub snr_db: Vec<f64>,
}

impl ExperimentConfig for Config {
    fn full() -> Self {
        Config {
            n_fft: 64,
            cp: 16,
            taps: 10,
            decay_taps: 2.0,
            channels: 40,
            offsets: 100,
            snr_db: vec![40.0, 30.0, 20.0, 15.0, 10.0, 5.0],
        }
    }

    fn quick() -> Self {
        Config {
            offsets: 20,
            ..Self::full()
        }
    }

    fn validate(&self) -> Result<(), FieldError> {
        let c = Check { prefix: "config" };
        c.count("n_fft", self.n_fft, 4, 4096)?;
        c.count("cp", self.cp, 0, self.n_fft)?;
        c.count("taps", self.taps, 1, self.n_fft)?;
        c.range("decay_taps", self.decay_taps, 1e-3, 1e3, "taps")?;
        c.count("channels", self.channels, 2, 1000)?;
        c.count("offsets", self.offsets, 2, 100_000)?;
        c.each("snr_db", &self.snr_db, 0, -20.0, 100.0, "dB")
    }

    fn run(&self, ctx: &Context) -> Result<Outcome, RunError> {
        let cases: Vec<Option<f64>> = std::iter::once(None)
            .chain(self.snr_db.iter().map(|&s| Some(s)))
            .collect();
        ctx.progress
            .begin("channels × SNR", (self.channels * cases.len()) as u64);
        let stats: Vec<Stats> = cases
            .iter()
            .enumerate()
            .map(|(i, snr)| self.evaluate(ctx, *snr, i))
            .collect();
        let mut out = Outcome::default();
        let noiseless = &stats[0];
        let m = &mut out.metrics;
        m.insert(
            "raw_same_channel_median_rad".into(),
            noiseless.raw_same.percentile(50.0),
        );
        m.insert(
            "canonical_same_channel_median_rad".into(),
            noiseless.can_same.percentile(50.0),
        );
        m.insert(
            "canonical_different_channel_median_rad".into(),
            noiseless.can_diff.percentile(50.0),
        );
        m.insert("collapse_ratio".into(), noiseless.collapse_ratio());
        m.insert(
            "change_miss_rate_at_5pct_false_alarm".into(),
            noiseless.miss_rate(),
        );
        let mut rows = Vec::new();
        let (mut miss_pts, mut collapse_pts) = (Vec::new(), Vec::new());
        for (snr, st) in self.snr_db.iter().zip(&stats[1..]) {
            m.insert(key("collapse_ratio_snr", *snr, "db"), st.collapse_ratio());
            m.insert(key("change_miss_rate_snr", *snr, "db"), st.miss_rate());
            rows.push(vec![
                *snr,
                st.can_same.percentile(50.0),
                st.can_diff.percentile(50.0),
                st.collapse_ratio(),
                st.miss_rate(),
            ]);
            miss_pts.push((*snr, st.miss_rate()));
            collapse_pts.push((*snr, st.collapse_ratio()));
        }
        let nc = self.channels;
        out.tables.push(Table {
            name: "canonical_distance_matrix".into(),
            columns: std::iter::once("channel".to_string())
                .chain((0..nc).map(|j| format!("ch{j}_rad")))
                .collect(),
            rows: noiseless
                .matrix
                .iter()
                .enumerate()
                .map(|(i, row)| {
                    std::iter::once(i as f64)
                        .chain(row.iter().copied())
                        .collect()
                })
                .collect(),
        });
        out.tables.push(Table {
            name: "distance_cdfs".into(),
            columns: vec![
                "percentile".into(),
                "raw_same_rad".into(),
                "canonical_same_rad".into(),
                "canonical_different_rad".into(),
            ],
            rows: (0..=100)
                .map(|p| {
                    let p = p as f64;
                    vec![
                        p,
                        noiseless.raw_same.percentile(p),
                        noiseless.can_same.percentile(p),
                        noiseless.can_diff.percentile(p),
                    ]
                })
                .collect(),
        });
        out.tables.push(Table {
            name: "vs_snr".into(),
            columns: vec![
                "snr_db".into(),
                "canonical_same_median_rad".into(),
                "canonical_different_median_rad".into(),
                "collapse_ratio".into(),
                "change_miss_rate".into(),
            ],
            rows,
        });
        for (name, title, canonical) in [
            (
                "phases_raw",
                "Fig. 4.5a: channel phase under random timing and phase offsets",
                false,
            ),
            (
                "phases_canonical",
                "Fig. 4.5b: the same observations in canonical form",
                true,
            ),
        ] {
            let mut fig = Figure::new(name, title, "subcarrier", "phase (rad)").y_range(-PI, PI);
            for (r, obs) in noiseless.example.iter().enumerate() {
                let obs = if canonical { &obs.1 } else { &obs.0 };
                let label = if r == 0 {
                    format!(
                        "channel 1, {} offset draws (noiseless)",
                        noiseless.example.len()
                    )
                } else {
                    String::new()
                };
                fig = fig.line(
                    &label,
                    Origin::Measured,
                    Style::Line,
                    obs.iter()
                        .enumerate()
                        .map(|(c, v)| (c as f64, v.arg()))
                        .collect(),
                );
            }
            out.figures.push(fig);
        }
        let mut fig = Figure::new(
            "distances",
            "Fig. 4.5c: distances between canonical phase vectors",
            "RMS phase distance (rad)",
            "CDF",
        )
        .line(
            "same channel, raw (noiseless)",
            Origin::Measured,
            Style::Step,
            noiseless.raw_same.points(400),
        )
        .line(
            "same channel, canonical (noiseless)",
            Origin::Measured,
            Style::Step,
            noiseless.can_same.points(400),
        )
        .line(
            "different channels, canonical (noiseless)",
            Origin::Measured,
            Style::Step,
            noiseless.can_diff.points(400),
        );
        if let Some((snr, st)) = self
            .snr_db
            .iter()
            .zip(&stats[1..])
            .find(|(s, _)| **s <= 10.0)
        {
            fig = fig
                .line(
                    &format!("same channel, canonical, {snr} dB"),
                    Origin::Measured,
                    Style::Step,
                    st.can_same.points(400),
                )
                .line(
                    &format!("different channels, canonical, {snr} dB"),
                    Origin::Measured,
                    Style::Step,
                    st.can_diff.points(400),
                );
        }
        out.figures.push(fig);
        if !miss_pts.is_empty() {
            out.figures.push(
                Figure::new(
                    "vs_snr",
                    "Can the canonical form detect a channel change?",
                    "estimation SNR per subcarrier (dB)",
                    "fraction",
                )
                .line(
                    "changed channels missed at 5% false alarm",
                    Origin::Measured,
                    Style::LineMarkers,
                    miss_pts,
                )
                .line(
                    "same-channel / raw distance (collapse ratio)",
                    Origin::Measured,
                    Style::LineMarkers,
                    collapse_pts,
                )
                .y_range(0.0, 1.0),
            );
        }
        Ok(out)
    }
}

/// Distances measured at one estimation SNR.
struct Stats {
    raw_same: Cdf,
    can_same: Cdf,
    can_diff: Cdf,
    /// Mean canonical distance between channels i and j (diagonal: two offsets of one channel).
    matrix: Vec<Vec<f64>>,
    /// Raw and canonical observations of channel 1, for the phase plots.
    example: Vec<(Vec<C64>, Vec<C64>)>,
}

impl Stats {
    /// Median same-channel distance after canonicalization over before.
    fn collapse_ratio(&self) -> f64 {
        self.can_same.percentile(50.0) / self.raw_same.percentile(50.0)
    }

    /// How often a changed channel looks no further away than an unchanged one does at its 95th
    /// percentile: the miss rate of a change detector with a 5% false-alarm rate.
    fn miss_rate(&self) -> f64 {
        self.can_diff.at(self.can_same.percentile(95.0))
    }
}

impl Config {
    /// Observes every channel under `offsets` offset draws (the same channels and offsets for every
    /// SNR: common random numbers; the noise has its own stream per case) and measures distances.
    fn evaluate(&self, ctx: &Context, snr_db: Option<f64>, case: usize) -> Stats {
        let (n, nc, no) = (self.n_fft, self.channels, self.offsets);
        let pdp = PowerDelayProfile::exponential(self.taps, self.decay_taps);
        let noise_std = snr_db.map(|s| db_to_lin(-s).sqrt());
        let max_tau = self.cp as f64 / 5.0;
        // observations[i][r] = (raw, canonical) for channel i under offset draw r
        let observations: Vec<Vec<(Vec<C64>, Vec<C64>)>> = par_indexed(nc, ctx.progress, |i| {
            let seeds = ctx.seeds.child("channel").index(i as u64);
            let taps = pdp.draw(&mut seeds.child("taps").rng());
            let h: Vec<C64> = (0..n)
                .map(|c| pdp.frequency_response(&taps, n, c as i32))
                .collect();
            let mut rng = seeds.child("offsets").rng();
            let mut noise = seeds.child("noise").index(case as u64).rng();
            (0..no)
                .map(|_| {
                    let tau = rng.random_range(-max_tau..=max_tau);
                    let phi = rng.random_range(0.0..TAU);
                    let raw: Vec<C64> = h
                        .iter()
                        .enumerate()
                        .map(|(c, hc)| {
                            let y = hc * cis(phi - TAU * c as f64 * tau / n as f64);
                            noise_std.map_or(y, |s| y + cn01(&mut noise) * s)
                        })
                        .collect();
                    let canonical = canonical_form(&raw, &kay(&raw));
                    (raw, canonical)
                })
                .collect()
        });
        // same channel: consecutive draws; different channels: draw r of each
        let same = |canonical: bool| -> Vec<f64> {
            observations
                .iter()
                .flat_map(|o| {
                    (0..no - 1).map(move |r| {
                        if canonical {
                            distance(&o[r].1, &o[r + 1].1)
                        } else {
                            distance(&o[r].0, &o[r + 1].0)
                        }
                    })
                })
                .collect()
        };
        let mut matrix = vec![vec![0.0; nc]; nc];
        let mut can_diff = Vec::new();
        for i in 0..nc {
            for j in 0..nc {
                let d: Vec<f64> = (0..no)
                    .map(|r| {
                        let r2 = if i == j { (r + 1) % no } else { r };
                        distance(&observations[i][r].1, &observations[j][r2].1)
                    })
                    .collect();
                matrix[i][j] = d.iter().sum::<f64>() / no as f64;
                if i < j {
                    can_diff.extend(d);
                }
            }
        }
        Stats {
            raw_same: Cdf::new(same(false)),
            can_same: Cdf::new(same(true)),
            can_diff: Cdf::new(can_diff),
            matrix,
            example: observations[0].iter().take(30).cloned().collect(),
        }
    }
}

/// RMS wrapped phase difference between two vectors (rad).
fn distance(a: &[C64], b: &[C64]) -> f64 {
    (a.iter()
        .zip(b)
        .map(|(x, y)| wrap_phase(x.arg() - y.arg()).powi(2))
        .sum::<f64>()
        / a.len() as f64)
        .sqrt()
}
