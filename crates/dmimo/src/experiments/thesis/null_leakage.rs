//! `thesis.null-leakage`: how a relative phase error between two APs breaks a ZF null and erodes
//! coherent beamforming gain (notes/003 §1.8).
//!
//! Null leakage: 2 APs serve 2 users over an 802.11-like OFDM channel (52 subcarriers, 4-tap
//! exponential Rayleigh). ZF is computed per subcarrier from the channel; AP 1's carrier then
//! rotates by θ relative to AP 2 (H̃ = ΦHΨ) and every user's leakage from the other user's
//! stream is measured relative to the power of the two contributions. The closed form for two
//! equal contributions is 1 − cos θ; ZF makes the two contributions at an unintended user exactly
//! opposite, so every channel should follow it.
//!
//! Beamforming gain: 2 APs, 1 user, Rayleigh channels, each AP pre-equalizes so the two received
//! amplitudes are equal and phases aligned (the thesis' experiment); the relative phase error is
//! Gaussian with std σ. The gain over the incoherent sum is 1 + cos θ, mean 1 + e^(−σ²/2).

use super::super::{key, par_indexed, Context, ExperimentConfig, Outcome, RunError};
use crate::channel::fading::{mimo_ofdm_channel, PowerDelayProfile};
use crate::channel::impairment::Impairment;
use crate::linalg::complex_gaussian;
use crate::precoding::{eval::coherent_sum_ratio, linear::zf};
use crate::radio::ofdm::Numerology;
use crate::report::{Figure, Origin, Style, Table};
use crate::scenario::{Check, FieldError};
use crate::units::{deg_to_rad, lin_to_db};
use faer::Mat;
use rand::Rng;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

/// Configuration of `thesis.null-leakage`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Relative phase errors θ at which the ZF null leakage is measured (degrees).
    pub theta_deg: Vec<f64>,
    /// Standard deviations of the Gaussian relative phase error for the beamforming gain (degrees).
    pub sigma_deg: Vec<f64>,
    /// Channel drops per θ (each: 2×2 links × 52 subcarriers).
    pub drops: usize,
    /// Taps of the exponential power-delay profile.
    pub pdp_taps: usize,
    /// Phase-error draws per σ for the beamforming gain.
    pub bf_trials: usize,
}

const THETA_DEG: [f64; 10] = [0.5, 1.0, 2.0, 2.37, 3.0, 5.0, 7.5, 10.0, 15.0, 20.0];
const SIGMA_DEG: [f64; 10] = [0.0, 1.0, 2.0, 2.37, 3.0, 5.0, 7.5, 10.0, 15.0, 20.0];
/// Beamforming trials are drawn in chunks of this many, one random stream per chunk.
const BF_CHUNK: usize = 10_000;

impl ExperimentConfig for Config {
    fn full() -> Self {
        Config {
            theta_deg: THETA_DEG.to_vec(),
            sigma_deg: SIGMA_DEG.to_vec(),
            drops: 200,
            pdp_taps: 4,
            bf_trials: 1_000_000,
        }
    }

    fn quick() -> Self {
        Config {
            drops: 20,
            bf_trials: 100_000,
            ..Self::full()
        }
    }

    fn validate(&self) -> Result<(), FieldError> {
        let c = Check { prefix: "config" };
        c.each("theta_deg", &self.theta_deg, 1, 0.0, 180.0, "degrees")?;
        c.each("sigma_deg", &self.sigma_deg, 1, 0.0, 180.0, "degrees")?;
        c.count("drops", self.drops, 1, 1_000_000)?;
        c.count("pdp_taps", self.pdp_taps, 1, 16)?;
        c.count("bf_trials", self.bf_trials, 1, 1_000_000_000)
    }

    fn run(&self, ctx: &Context) -> Result<Outcome, RunError> {
        let mut out = Outcome::default();
        let num = Numerology::wifi20();
        let pdp = PowerDelayProfile::exponential(self.pdp_taps, 1.5);
        let channel_seeds = ctx.seeds.child("channel");

        // --- null leakage vs θ: the same channel drops (common random numbers) for every θ
        ctx.progress.begin("null leakage", self.drops as u64);
        let per_drop: Vec<Vec<f64>> = par_indexed(self.drops, ctx.progress, |d| {
            let mut rng = channel_seeds.index(d as u64).rng();
            let hs = mimo_ofdm_channel(2, 2, &pdp, num.n_fft, &num.used, &mut rng);
            let common_phase: f64 = rng.random_range(0.0..std::f64::consts::TAU);
            let zfs: Vec<_> = hs
                .iter()
                .map(|h| zf(h.as_ref()))
                .collect::<Result<_, _>>()?;
            Ok::<_, crate::linalg::LinalgError>(
                self.theta_deg
                    .iter()
                    .map(|&t| {
                        let mut imp = Impairment::ideal(2, 2);
                        imp.ap_phase_rad = vec![common_phase + deg_to_rad(t), common_phase];
                        let mut sum = 0.0;
                        for ((h, z), &n) in hs.iter().zip(&zfs).zip(&num.used) {
                            let ht = imp.apply(h.as_ref(), n, num.subcarrier_spacing_hz());
                            sum += coherent_sum_ratio(ht.as_ref(), z.v.as_ref(), 0, 1)
                                + coherent_sum_ratio(ht.as_ref(), z.v.as_ref(), 1, 0);
                        }
                        sum / (2 * hs.len()) as f64
                    })
                    .collect(),
            )
        })
        .into_iter()
        .collect::<Result<_, _>>()
        .map_err(|e| RunError::Numerical(e.to_string()))?;
        let mut leak_rows = Vec::new();
        let mut measured = Vec::new();
        for (ti, &t) in self.theta_deg.iter().enumerate() {
            let mean = per_drop.iter().map(|d| d[ti]).sum::<f64>() / self.drops as f64;
            let th = 1.0 - deg_to_rad(t).cos();
            out.metrics
                .insert(key("leakage_db_theta", t, "deg"), lin_to_db(mean));
            leak_rows.push(vec![t, lin_to_db(mean), lin_to_db(th)]);
            measured.push((t, lin_to_db(mean)));
        }
        out.tables.push(Table {
            name: "null_leakage".into(),
            columns: vec![
                "theta_deg".into(),
                "leakage_db".into(),
                "theory_1_minus_cos_db".into(),
            ],
            rows: leak_rows,
        });
        let fine: Vec<(f64, f64)> = (1..=200)
            .map(|i| {
                let t = 0.1 * i as f64;
                (t, lin_to_db(1.0 - deg_to_rad(t).cos()))
            })
            .collect();
        out.figures.push(
            Figure::new(
                "null_leakage",
                "Two-AP ZF null leakage vs relative phase error",
                "relative phase error θ (degrees)",
                "null leakage (dB of the contributions' power)",
            )
            .line(
                "dmimo (ZF on 2×2 multipath, 52 subcarriers)",
                Origin::Measured,
                Style::Markers,
                measured,
            )
            .line("1 − cos θ", Origin::Theory, Style::Line, fine)
            .line(
                "notes/003 §1.8 values",
                Origin::Paper,
                Style::Markers,
                vec![(1.0, -38.2), (2.37, -30.7), (5.0, -24.2), (10.0, -18.2)],
            ),
        );

        // --- coherent beamforming gain vs σ
        let chunks = self.bf_trials.div_ceil(BF_CHUNK);
        ctx.progress
            .begin("beamforming gain", (chunks * self.sigma_deg.len()) as u64);
        let bf_seeds = ctx.seeds.child("bf");
        let mut bf_rows = Vec::new();
        let (mut bf_meas, mut bf_theory) = (Vec::new(), Vec::new());
        for (si, &sigma) in self.sigma_deg.iter().enumerate() {
            let sums = par_indexed(chunks, ctx.progress, |c| {
                let mut rng = bf_seeds.index(si as u64).index(c as u64).rng();
                let n = BF_CHUNK.min(self.bf_trials - c * BF_CHUNK);
                let mut sum = 0.0;
                for _ in 0..n {
                    let h = complex_gaussian(2, 1, &mut rng);
                    // pre-equalize: v_i ∝ h_i/|h_i|², so both contributions conj(h_i)v_i are equal
                    let mut v = Mat::from_fn(2, 1, |i, _| h[(i, 0)] / h[(i, 0)].norm_sqr());
                    let norm = (v[(0, 0)].norm_sqr() + v[(1, 0)].norm_sqr()).sqrt();
                    v.col_mut(0).iter_mut().for_each(|x| *x /= norm);
                    let theta: f64 = rng.sample::<f64, _>(StandardNormal) * deg_to_rad(sigma);
                    let mut imp = Impairment::ideal(2, 1);
                    imp.ap_phase_rad[0] = theta;
                    let ht = imp.apply(h.as_ref(), 0, 0.0);
                    sum += coherent_sum_ratio(ht.as_ref(), v.as_ref(), 0, 0);
                }
                sum
            });
            let gain = sums.iter().sum::<f64>() / self.bf_trials as f64;
            let th = 1.0 + (-deg_to_rad(sigma).powi(2) / 2.0).exp();
            out.metrics
                .insert(key("bf_gain_db_sigma", sigma, "deg"), lin_to_db(gain));
            bf_rows.push(vec![sigma, lin_to_db(gain), lin_to_db(th)]);
            bf_meas.push((sigma, lin_to_db(gain)));
            bf_theory.push((sigma, lin_to_db(th)));
        }
        out.tables.push(Table {
            name: "bf_gain".into(),
            columns: vec![
                "sigma_deg".into(),
                "gain_db".into(),
                "theory_1_plus_exp_db".into(),
            ],
            rows: bf_rows,
        });
        out.figures.push(
            Figure::new(
                "bf_gain",
                "Two-AP coherent beamforming gain vs Gaussian phase error",
                "phase-error std σ (degrees)",
                "gain over incoherent sum (dB)",
            )
            .line(
                "dmimo (Monte Carlo)",
                Origin::Measured,
                Style::Markers,
                bf_meas,
            )
            .line("1 + exp(−σ²/2)", Origin::Theory, Style::Line, bf_theory)
            .line(
                "thesis: 3.01 dB ideal; 3.008 dB at 2.37° (notes/003 §1.8)",
                Origin::Paper,
                Style::Markers,
                vec![(0.0, 3.01), (2.37, 3.008)],
            ),
        );
        Ok(out)
    }
}
