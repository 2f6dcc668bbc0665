//! `airsync.bf-gain` and `airsync.null-leakage`: two APs (the master and one AirSync secondary)
//! send one tone each to one client, from the client's fed-back channel estimates, either aligned
//! (coherent beamforming) or opposed (a zero-forcing null) — thesis §3.2, the beamforming-gain
//! experiment and Fig. 3.5; notes/003 §6 targets 4–5.
//!
//! Per drop (random spots in an office, [`super::airsync_testbed`]): a sounding packet gives the
//! server Ĥ_1(n), Ĥ_2(n); `estimation_delay_s` later each AP sends on subcarrier n a tone
//! x_i = ±1/conj(Ĥ_i(n)), so that the two contributions the estimates predict at the client have
//! equal amplitude and equal (beamforming) or opposite (null) phase. The contributions that arrive
//! are c_i = conj(H_i(n))·e^{jε_i(n,t)}·x_i with the aged channel and the secondary's AirSync
//! residual ε over the packet's payload symbols. Per (drop, subcarrier):
//!
//! * beamforming gain G = Σ_t |c_1 + c_2|² / Σ_t (|c_1|² + |c_2|²) — the beamformed power over the
//!   sum of the individual ones (3.01 dB for a perfect alignment);
//! * null leakage L = Σ_t |c_1 − c_2|² / Σ_t (|c_1|² + |c_2|²) (with x_2 negated) — the residual
//!   "of the total transmitted power" (the power the two contributions would deliver alone).
//!
//! For the same errors G + L = 2 (parallelogram law), so the mean gain is 10·log10(2 − E\[L\]):
//! the thesis' 2.98 dB implies E\[L\] = −18.6 dB, inconsistent with its own −24.46 dB mean null
//! leakage (which implies 3.0025 dB). Both experiments report that relation.
//!
//! A tone concentrates an AP's power in one bin, 17 dB above the per-subcarrier SNR of the
//! sounding, and is observed over the whole payload, so the client's noise in the measurement is
//! below −45 dB and is not modelled; a single tone has no inter-carrier interference (the
//! sounding's ICI is in the estimates).
//!
//! Every sample is also computed with only the sync error (noiseless estimates of a channel that
//! does not age) and with only the channel-side errors (perfect sync), on the same random numbers,
//! to show where the leakage comes from.

use super::super::{par_indexed, Context, ExperimentConfig, Outcome, RunError};
use super::airsync_testbed::{percentile, Errors, Model, Testbed};
use crate::metrics::Cdf;
use crate::report::{Figure, Origin, Style, Table};
use crate::rng::SeedTree;
use crate::scenario::{Check, FieldError};
use crate::units::{cis, db_to_lin, lin_to_db, C64};
use serde::{Deserialize, Serialize};

/// Configuration of `airsync.bf-gain` and `airsync.null-leakage`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToneConfig {
    /// Drops (random spots), each measured on all 52 subcarriers.
    pub drops: usize,
    pub testbed: Testbed,
}

/// `airsync.bf-gain`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BfGainConfig(pub ToneConfig);

/// `airsync.null-leakage`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NullLeakageConfig(pub ToneConfig);

impl ToneConfig {
    fn full() -> Self {
        ToneConfig {
            drops: 2000,
            testbed: Testbed::full(),
        }
    }

    fn quick() -> Self {
        ToneConfig {
            drops: 60,
            testbed: Testbed::quick(),
        }
    }

    fn validate(&self) -> Result<(), FieldError> {
        let c = Check { prefix: "config" };
        c.count("drops", self.drops, 1, 10_000_000)?;
        self.testbed.validate(2)
    }

    fn model(&self) -> Model {
        Model::testbed(&self.testbed, 2, 1)
    }

    /// Per drop and error set (All, SyncOnly, ChannelOnly): (gain, leakage) per subcarrier, and
    /// the residual-phase moments of the full model.
    fn run_drops(&self, ctx: &Context) -> Vec<DropResult> {
        let model = self.model();
        let variants = [
            model.clone(),
            model.with_errors(Errors::SyncOnly),
            model.with_errors(Errors::ChannelOnly),
        ];
        ctx.progress.begin("drops", self.drops as u64);
        par_indexed(self.drops, ctx.progress, |d| {
            let seeds = ctx.seeds.child("drop").index(d as u64);
            let samples = variants.iter().map(|m| tone_drop(m, &seeds)).collect();
            let drop = model.drop(&seeds);
            DropResult {
                samples,
                moments: model.residual_moments(&drop),
            }
        })
    }
}

struct DropResult {
    /// Per error set, per subcarrier: (gain, leakage), linear.
    samples: Vec<Vec<(f64, f64)>>,
    moments: (f64, f64, usize),
}

/// One drop of the tone experiment: per used subcarrier (G, L).
fn tone_drop(model: &Model, seeds: &SeedTree) -> Vec<(f64, f64)> {
    let drop = model.drop(seeds);
    let est = model.estimate(&drop, &mut seeds.child("estimate").rng());
    (0..model.num.used.len())
        .map(|n| {
            let x = [1.0 / est[n][(0, 0)].conj(), 1.0 / est[n][(1, 0)].conj()];
            let h = &drop.transmit[n];
            let (mut bf, mut null, mut sum) = (0.0, 0.0, 0.0);
            for s in model.payload() {
                let c: Vec<C64> = (0..2)
                    .map(|i| {
                        h[(i, 0)].conj() * cis(model.residual_rad(&drop.sync_data, i, n, s)) * x[i]
                    })
                    .collect();
                bf += (c[0] + c[1]).norm_sqr();
                null += (c[0] - c[1]).norm_sqr();
                sum += c[0].norm_sqr() + c[1].norm_sqr();
            }
            (bf / sum, null / sum)
        })
        .collect()
}

/// Pools sample `which` (0 gain, 1 leakage) of error set `v` over drops.
fn pool(drops: &[DropResult], v: usize, which: usize) -> Vec<f64> {
    drops
        .iter()
        .flat_map(|d| {
            d.samples[v]
                .iter()
                .map(move |s| if which == 0 { s.0 } else { s.1 })
        })
        .collect()
}

fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

/// The sync residual's rms and the rms of its change since the sounding (degrees).
fn phase_metrics(drops: &[DropResult], out: &mut Outcome) {
    let (a, b, c) = drops.iter().fold((0.0, 0.0, 0usize), |acc, d| {
        (
            acc.0 + d.moments.0,
            acc.1 + d.moments.1,
            acc.2 + d.moments.2,
        )
    });
    out.metrics.insert(
        "sync_residual_std_deg".into(),
        (a / c as f64).sqrt().to_degrees(),
    );
    out.metrics.insert(
        "sync_mismatch_std_deg".into(),
        (b / c as f64).sqrt().to_degrees(),
    );
}

/// A vertical line at x over the CDF's [0, 1].
fn vline(x: f64) -> Vec<(f64, f64)> {
    vec![(x, 0.0), (x, 1.0)]
}

fn cdf_table(name: &str, column: &str, series: &[(&str, &[f64])]) -> Table {
    // one row per quantile level: the x of each series at F = i/200
    let cdfs: Vec<Cdf> = series.iter().map(|(_, x)| Cdf::new(x.to_vec())).collect();
    let mut columns = vec!["cdf".to_string()];
    columns.extend(series.iter().map(|(s, _)| format!("{s}_{column}")));
    let rows = (0..=200)
        .map(|i| {
            let p = i as f64 / 2.0;
            std::iter::once(p / 100.0)
                .chain(cdfs.iter().map(|c| c.percentile(p)))
                .collect()
        })
        .collect();
    Table {
        name: name.into(),
        columns,
        rows,
    }
}

impl ExperimentConfig for BfGainConfig {
    fn full() -> Self {
        BfGainConfig(ToneConfig::full())
    }

    fn quick() -> Self {
        BfGainConfig(ToneConfig::quick())
    }

    fn validate(&self) -> Result<(), FieldError> {
        self.0.validate()
    }

    fn run(&self, ctx: &Context) -> Result<Outcome, RunError> {
        let drops = self.0.run_drops(ctx);
        let mut out = Outcome::default();
        let names = ["", "_sync_only", "_channel_only"];
        let mut gains_db = Vec::new();
        for (v, name) in names.iter().enumerate() {
            let g = pool(&drops, v, 0);
            let l = pool(&drops, v, 1);
            let mg = mean(&g);
            out.metrics
                .insert(format!("bf_mean_gain_db{name}"), lin_to_db(mg));
            if v == 0 {
                out.metrics
                    .insert("gain_loss_db".into(), lin_to_db(2.0) - lin_to_db(mg));
                out.metrics.insert(
                    "mean_null_leakage_same_draws_db".into(),
                    lin_to_db(mean(&l)),
                );
                out.metrics.insert(
                    "gain_implied_by_leakage_db".into(),
                    lin_to_db(2.0 - mean(&l)),
                );
                let gd: Vec<f64> = g.iter().map(|&x| lin_to_db(x)).collect();
                out.metrics
                    .insert("median_gain_db".into(), percentile(&gd, 50.0));
                out.metrics
                    .insert("p5_gain_db".into(), percentile(&gd, 5.0));
            }
            gains_db.push(g.iter().map(|&x| lin_to_db(x)).collect::<Vec<f64>>());
        }
        phase_metrics(&drops, &mut out);
        // the gain the thesis' own mean leakage implies, for the record (not a measurement)
        out.metrics.insert(
            "paper_leakage_implied_gain_db".into(),
            lin_to_db(2.0 - db_to_lin(-24.46)),
        );

        out.tables.push(cdf_table(
            "gain_cdf",
            "gain_db",
            &[
                ("all", &gains_db[0]),
                ("sync_only", &gains_db[1]),
                ("channel_only", &gains_db[2]),
            ],
        ));
        let mg = out.metrics["bf_mean_gain_db"];
        let lo = percentile(&gains_db[0], 0.5).min(2.9);
        out.figures.push(
            Figure::new(
                "gain_cdf",
                "Two-AP coherent beamforming gain from fed-back estimates (AirSync)",
                "gain over the incoherent sum (dB)",
                "CDF",
            )
            .line(
                "dmimo: all errors",
                Origin::Measured,
                Style::Step,
                Cdf::new(gains_db[0].clone()).points(400),
            )
            .line(
                "dmimo: sync error only",
                Origin::Measured,
                Style::Step,
                Cdf::new(gains_db[1].clone()).points(400),
            )
            .line(
                "dmimo: estimation + ageing only",
                Origin::Measured,
                Style::Step,
                Cdf::new(gains_db[2].clone()).points(400),
            )
            .line(
                &format!("dmimo mean {mg:.4} dB"),
                Origin::Measured,
                Style::Line,
                vline(mg),
            )
            .line(
                "thesis: mean 2.98 dB",
                Origin::Paper,
                Style::LineMarkers,
                vline(2.98),
            )
            .line(
                "thesis: maximum 3.01 dB",
                Origin::Paper,
                Style::LineMarkers,
                vline(3.01),
            )
            .x_range(lo, 3.02),
        );
        Ok(out)
    }
}

impl ExperimentConfig for NullLeakageConfig {
    fn full() -> Self {
        NullLeakageConfig(ToneConfig::full())
    }

    fn quick() -> Self {
        NullLeakageConfig(ToneConfig::quick())
    }

    fn validate(&self) -> Result<(), FieldError> {
        self.0.validate()
    }

    fn run(&self, ctx: &Context) -> Result<Outcome, RunError> {
        let drops = self.0.run_drops(ctx);
        let mut out = Outcome::default();
        let names = ["", "_sync_only", "_channel_only"];
        let mut leak_db = Vec::new();
        for (v, name) in names.iter().enumerate() {
            let l = pool(&drops, v, 1);
            let ld: Vec<f64> = l.iter().map(|&x| lin_to_db(x)).collect();
            out.metrics
                .insert(format!("null_mean_leakage_db{name}"), mean(&ld));
            out.metrics
                .insert(format!("leakage_of_mean_db{name}"), lin_to_db(mean(&l)));
            if v == 0 {
                for p in [10.0, 50.0, 90.0] {
                    out.metrics
                        .insert(format!("null_leakage_p{p}_db"), percentile(&ld, p));
                }
                let inside = ld.iter().filter(|&&x| (-32.0..=-20.0).contains(&x)).count();
                out.metrics.insert(
                    "fraction_within_minus32_minus20_db".into(),
                    inside as f64 / ld.len() as f64,
                );
                out.metrics
                    .insert("bf_gain_implied_db".into(), lin_to_db(2.0 - mean(&l)));
            }
            leak_db.push(ld);
        }
        phase_metrics(&drops, &mut out);

        out.tables.push(cdf_table(
            "leakage_cdf",
            "leakage_db",
            &[
                ("all", &leak_db[0]),
                ("sync_only", &leak_db[1]),
                ("channel_only", &leak_db[2]),
            ],
        ));
        let ml = out.metrics["null_mean_leakage_db"];
        out.figures.push(
            Figure::new(
                "leakage_cdf",
                "Two-AP ZF null leakage from fed-back estimates (AirSync, Fig. 3.5)",
                "leaked power (dB of the total transmitted power)",
                "CDF",
            )
            .line(
                "dmimo: all errors",
                Origin::Measured,
                Style::Step,
                Cdf::new(leak_db[0].clone()).points(400),
            )
            .line(
                "dmimo: sync error only",
                Origin::Measured,
                Style::Step,
                Cdf::new(leak_db[1].clone()).points(400),
            )
            .line(
                "dmimo: estimation + ageing only",
                Origin::Measured,
                Style::Step,
                Cdf::new(leak_db[2].clone()).points(400),
            )
            .line(
                &format!("dmimo mean {ml:.2} dB"),
                Origin::Measured,
                Style::Line,
                vline(ml),
            )
            .line(
                "thesis: mean −24.46 dB",
                Origin::Paper,
                Style::LineMarkers,
                vline(-24.46),
            )
            .line(
                "thesis: CDF spans −32…−20 dB",
                Origin::Paper,
                Style::Markers,
                vec![(-32.0, 0.0), (-20.0, 1.0)],
            )
            .x_range(-50.0, -5.0),
        );
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// G + L = 2 on every sample (parallelogram law): the beamforming gain and the null leakage
    /// of the same errors are tied.
    #[test]
    fn gain_and_leakage_are_tied() {
        let cfg = ToneConfig::quick();
        let model = cfg.model();
        for d in 0..5 {
            for (g, l) in tone_drop(&model, &SeedTree::new(3).index(d)) {
                assert!((g + l - 2.0).abs() < 1e-12, "{g} + {l}");
            }
        }
    }
}
