//! `thesis.precoder-rates`: sum rates of MR, ZF with water-filling and THP on a 4×4 i.i.d.
//! Rayleigh channel against SNR (thesis §2.1, eqs. 2.3–2.10).
//!
//! Per channel draw and SNR (noise variance 1, total transmit power = SNR):
//! - MR: unit-norm conjugate beams, equal power; rate from the exact per-stream SINR.
//! - ZF: unit-norm ZF columns, water-filling over λ_k; rate Σ log2(1 + λ_k q_k).
//! - THP: QR of H, water-filling over |L_kk|²; data uniform on the modulo square (the input the
//!   rate formula 2.10 assumes) precoded sequentially with the modulo, sent through y = Hᴴx + z,
//!   received with the modulo; each stream's SINR is measured from the symbols as
//!   E|u|² / E|e|² with e the torus error [û − u] mod τ, and the rate is
//!   Σ [log2(1 + SINR) − log2(πe/6)]⁺. The zero-forcing dirty-paper rate Σ log2(1 + |L_kk|²q_k)
//!   is its reference.

use super::super::{key, par_indexed, Context, ExperimentConfig, Outcome, RunError};
use crate::linalg::{cn01, complex_gaussian};
use crate::precoding::eval::sinr_linear;
use crate::precoding::linear::{mr, zf};
use crate::precoding::power::{equal_power, water_fill};
use crate::precoding::thp::{modulo, thp_rate_bps_per_hz, Thp, TAU};
use crate::report::{Figure, Origin, Style, Table};
use crate::scenario::{Check, FieldError};
use crate::units::{db_to_lin, lin_to_db, C64};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// Configuration of `thesis.precoder-rates`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Transmit antennas (APs), M.
    pub aps: usize,
    /// Single-antenna users, K ≤ M.
    pub users: usize,
    /// SNR points: total transmit power over the noise variance (dB), increasing.
    pub snr_db: Vec<f64>,
    /// Channel draws per SNR point.
    pub realizations: usize,
    /// THP symbols sent per stream, draw and SNR point.
    pub thp_symbols: usize,
    /// THP streams whose nominal SINR |L_kk|²q_k is below this are left out of the SINR comparison:
    /// there the modulo folds the noise, by design (dB).
    pub thp_compare_min_sinr_db: f64,
}

impl ExperimentConfig for Config {
    fn full() -> Self {
        Config {
            aps: 4,
            users: 4,
            snr_db: vec![0.0, 5.0, 10.0, 15.0, 20.0, 25.0, 30.0],
            realizations: 4000,
            thp_symbols: 512,
            thp_compare_min_sinr_db: 10.0,
        }
    }

    fn quick() -> Self {
        Config {
            realizations: 400,
            thp_symbols: 256,
            ..Self::full()
        }
    }

    fn validate(&self) -> Result<(), FieldError> {
        let c = Check { prefix: "config" };
        c.count("aps", self.aps, 1, 256)?;
        c.count("users", self.users, 1, self.aps)?;
        c.each("snr_db", &self.snr_db, 2, -30.0, 60.0, "dB")?;
        c.increasing("snr_db", &self.snr_db)?;
        c.count("realizations", self.realizations, 1, 10_000_000)?;
        c.count("thp_symbols", self.thp_symbols, 2, 1_000_000)?;
        c.range(
            "thp_compare_min_sinr_db",
            self.thp_compare_min_sinr_db,
            -10.0,
            60.0,
            "dB",
        )
    }

    fn run(&self, ctx: &Context) -> Result<Outcome, RunError> {
        let (m, k, n_snr) = (self.aps, self.users, self.snr_db.len());
        let min_sinr = db_to_lin(self.thp_compare_min_sinr_db);
        ctx.progress
            .begin("channel draws", self.realizations as u64);
        let draws = par_indexed(
            self.realizations,
            ctx.progress,
            |r| -> Result<Vec<Rates>, RunError> {
                let seeds = ctx.seeds.child("draw").index(r as u64);
                let h = complex_gaussian(m, k, &mut seeds.child("channel").rng());
                let v_mr = mr(h.as_ref());
                let zf = zf(h.as_ref()).map_err(|e| RunError::Numerical(e.to_string()))?;
                let thp = Thp::new(h.as_ref());
                let g = thp.gains();
                self.snr_db
                    .iter()
                    .enumerate()
                    .map(|(si, &snr_db)| {
                        let p = db_to_lin(snr_db);
                        let mr_rate =
                            sinr_linear(h.as_ref(), v_mr.as_ref(), &equal_power(k, p), 1.0)
                                .iter()
                                .map(|s| (1.0 + s).log2())
                                .sum();
                        let q_zf = water_fill(&zf.lambda, p);
                        let zf_rate = sinr_linear(h.as_ref(), zf.v.as_ref(), &q_zf, 1.0)
                            .iter()
                            .map(|s| (1.0 + s).log2())
                            .sum();
                        let q = water_fill(&g, p);
                        let zfdp_rate = g.iter().zip(&q).map(|(g, q)| (1.0 + g * q).log2()).sum();
                        let measured = simulate_thp(
                            &thp,
                            &h,
                            &q,
                            self.thp_symbols,
                            &mut seeds.child("thp").index(si as u64).rng(),
                        );
                        let deviations = (0..k)
                            .filter(|&i| q[i] > 0.0 && g[i] * q[i] >= min_sinr)
                            .map(|i| lin_to_db(measured[i] / (g[i] * q[i])))
                            .collect();
                        let active: Vec<f64> = (0..k)
                            .filter(|&i| q[i] > 0.0)
                            .map(|i| measured[i])
                            .collect();
                        Ok(Rates {
                            mr: mr_rate,
                            zf: zf_rate,
                            zfdp: zfdp_rate,
                            thp: thp_rate_bps_per_hz(&active),
                            thp_deviation_db: deviations,
                        })
                    })
                    .collect()
            },
        );
        let draws: Vec<Vec<Rates>> = draws.into_iter().collect::<Result<_, _>>()?;

        let n = self.realizations as f64;
        let mean =
            |f: &dyn Fn(&Rates) -> f64, si: usize| draws.iter().map(|d| f(&d[si])).sum::<f64>() / n;
        let mut out = Outcome::default();
        let mut rows = Vec::new();
        let mut lines: [Vec<(f64, f64)>; 5] = Default::default();
        // the signed deviation of largest magnitude over the SNR points compared
        let mut max_dev: f64 = 0.0;
        for (si, &snr) in self.snr_db.iter().enumerate() {
            let (r_mr, r_zf, r_zfdp, r_thp) = (
                mean(&|r| r.mr, si),
                mean(&|r| r.zf, si),
                mean(&|r| r.zfdp, si),
                mean(&|r| r.thp, si),
            );
            let devs: Vec<f64> = draws
                .iter()
                .flat_map(|d| d[si].thp_deviation_db.iter().copied())
                .collect();
            let dev = if devs.len() < MIN_THP_STREAMS {
                f64::NAN
            } else {
                devs.iter().sum::<f64>() / devs.len() as f64
            };
            if dev.is_finite() && dev.abs() > max_dev.abs() {
                max_dev = dev;
            }
            for (name, v) in [("mr", r_mr), ("zf", r_zf), ("zfdp", r_zfdp), ("thp", r_thp)] {
                out.metrics.insert(
                    key(&format!("sum_rate_{name}_bps_per_hz_snr"), snr, "db"),
                    v,
                );
            }
            rows.push(vec![snr, r_mr, r_zf, r_thp, r_zfdp, dev]);
            for (l, v) in lines.iter_mut().zip([r_mr, r_zf, r_thp, r_zfdp, dev]) {
                if v.is_finite() {
                    l.push((snr, v));
                }
            }
        }
        let (a, b) = (n_snr - 2, n_snr - 1);
        let span = self.snr_db[b] - self.snr_db[a];
        let (sa, sb) = (self.snr_db[a], self.snr_db[b]);
        for (name, i) in [("mr", 0), ("zf", 1)] {
            let slope = (lines[i][b].1 - lines[i][a].1) / span;
            out.metrics
                .insert(format!("{name}_slope_bps_per_hz_per_db_{sa}_{sb}"), slope);
        }
        out.metrics.insert(
            "thp_sinr_max_deviation_db".into(),
            if lines[4].is_empty() {
                f64::NAN
            } else {
                max_dev
            },
        );
        out.metrics.insert(
            key("thp_shaping_gap_bps_per_hz", sb, "db"),
            lines[3][b].1 - lines[2][b].1,
        );

        out.tables.push(Table {
            name: "sum_rates".into(),
            columns: vec![
                "snr_db".into(),
                "mr_bps_per_hz".into(),
                "zf_waterfilling_bps_per_hz".into(),
                "thp_measured_bps_per_hz".into(),
                "zf_dirty_paper_bps_per_hz".into(),
                "thp_sinr_deviation_db".into(),
            ],
            rows,
        });
        let [l_mr, l_zf, l_thp, l_zfdp, l_dev] = lines;
        let asym: Vec<(f64, f64)> = self
            .snr_db
            .iter()
            .map(|&s| (s, k.min(m) as f64 * db_to_lin(s).log2()))
            .collect();
        out.figures.push(
            Figure::new(
                "sum_rates",
                &format!("{m}×{k} i.i.d. Rayleigh: sum rate vs SNR"),
                "SNR (dB)",
                "sum rate (bit/s/Hz)",
            )
            .line(
                "MR (equal power)",
                Origin::Measured,
                Style::LineMarkers,
                l_mr,
            )
            .line(
                "ZF + water-filling",
                Origin::Measured,
                Style::LineMarkers,
                l_zf,
            )
            .line(
                "THP (simulated on symbols)",
                Origin::Measured,
                Style::LineMarkers,
                l_thp,
            )
            .line(
                "ZF dirty paper (THP without shaping loss)",
                Origin::Theory,
                Style::Line,
                l_zfdp,
            )
            .line(
                &format!("{} log2(SNR)", k.min(m)),
                Origin::Theory,
                Style::Line,
                asym,
            ),
        );
        out.figures.push(
            Figure::new(
                "thp_sinr_deviation",
                "THP: measured SINR vs |L_kk|²q_k",
                "SNR (dB)",
                "measured − nominal SINR (dB)",
            )
            .line(
                &format!(
                    "streams with |L_kk|²q_k ≥ {} dB",
                    self.thp_compare_min_sinr_db
                ),
                Origin::Measured,
                Style::LineMarkers,
                l_dev,
            )
            .line(
                "±0.2 dB",
                Origin::Paper,
                Style::Line,
                vec![(sa.min(self.snr_db[0]), 0.2), (sb, 0.2)],
            )
            .line(
                "",
                Origin::Paper,
                Style::Line,
                vec![(self.snr_db[0], -0.2), (sb, -0.2)],
            )
            .y_range(-1.0, 1.0),
        );
        Ok(out)
    }
}

/// An SNR point enters the THP SINR comparison only with at least this many eligible stream draws
/// (at low SNR almost no stream reaches the minimum SINR, and a mean over a handful of 0.2 dB-noisy
/// measurements says nothing).
const MIN_THP_STREAMS: usize = 100;

struct Rates {
    mr: f64,
    zf: f64,
    zfdp: f64,
    thp: f64,
    thp_deviation_db: Vec<f64>,
}

/// Sends `n` THP symbol vectors with data uniform on the modulo square through y = Hᴴx + z
/// (unit noise) and returns each stream's measured SINR E|u|²/E|[û − u] mod τ|² (0 for unused
/// streams).
fn simulate_thp(
    thp: &Thp,
    h: &crate::linalg::CMat,
    q: &[f64],
    n: usize,
    rng: &mut crate::rng::SimRng,
) -> Vec<f64> {
    let (m, k) = (h.nrows(), h.ncols());
    let (mut u, mut u_hat, mut x) = (
        vec![C64::default(); k],
        vec![C64::default(); k],
        vec![C64::default(); m],
    );
    let (mut sig, mut err) = (vec![0.0; k], vec![0.0; k]);
    for _ in 0..n {
        for ui in u.iter_mut() {
            *ui = C64::new(rng.random_range(-0.5..0.5), rng.random_range(-0.5..0.5)) * TAU;
        }
        thp.precode(&u, q, &mut u_hat, &mut x);
        for j in 0..k {
            if q[j] == 0.0 {
                continue;
            }
            let y: C64 = (0..m).map(|i| h[(i, j)].conj() * x[i]).sum::<C64>() + cn01(rng);
            let e = modulo(thp.receive(j, y, q[j]) - u[j], TAU);
            sig[j] += u[j].norm_sqr();
            err[j] += e.norm_sqr();
        }
    }
    (0..k)
        .map(|j| if q[j] > 0.0 { sig[j] / err[j] } else { 0.0 })
        .collect()
}
