//! `airsync.zf-2x2`, `airsync.thp-4x4`, `airsync.vs-tdma`: multi-user joint transmission by
//! AirSync-synchronized APs from fed-back channel estimates (thesis §3.2, Figs. 3.6, 3.7, 3.9;
//! notes/003 §6 targets 6–8), on the testbed model of [`super::airsync_testbed`].
//!
//! Per drop: a sounding packet, the server's precoder from the estimates, and `estimation_delay_s`
//! later a data packet (precoded pilots, then 16-QAM payload) through the aged channel with every
//! secondary's AirSync residual and ICI. Each client equalizes with its pilot-based gain estimate.
//!
//! **SINR** is measured as the thesis did, from the spread of the received constellation
//! ([`crate::metrics::constellation_sinr`]; for THP the error is taken modulo τ, on the torus),
//! pooled over the payload symbols and the subcarriers of a 5 MHz sub-band (`sinr_band_hz`): the
//! thesis' scatter diagrams pool its 5 MHz data band, and pooling dmimo's whole 16.6 MHz band
//! would weight in the deeper fades a 3× wider band sees (that variant is reported too). The
//! thesis reports one placement; dmimo reports the distribution over drops, sub-bands and users
//! and compares medians (and says at which percentile the thesis' values sit). **Shannon rates**
//! follow the thesis' arithmetic: log2(1 + SINR) per user from the measured SINR (its 9.96, 18.27
//! and 26 bps/Hz), averaged over the sub-bands; rates from the per-subcarrier constellation SINRs
//! are reported alongside.
//!
//! **Power**: in `zf-2x2` and `thp-4x4` every AP has the same power P (the testbed's link budget
//! at P); the precoders share M·P by water-filling across the streams per subcarrier (eq. 2.4),
//! and the point-to-point baseline is each drop's best single link at P, measured the same way.
//! The thesis' "32 dB" for that link is inconsistent with its 9.96 bps/Hz, which is
//! log2(1 + 10^3.0) (notes §8 item 7): dmimo takes 30 dB as the testbed's link SNR
//! (`snr_ref_db`, every link's mean with the default equal-mean links), measures each drop's best
//! link itself (≈ 29 dB from its constellation, 9.5 bps/Hz), and also reports the gain over the
//! thesis' 9.96.
//!
//! In `vs-tdma` (Fig. 3.9) every scheme has the same *total* power, and the x-axis is the
//! receiver's CNR of an isotropic broadcast at that power (each AP sending half of it): every
//! drop keeps its geometry and gets the noise for which its two clients' CNRs average, in dB, the
//! x-axis value. TDMA serves one user at a time from its closest AP (with
//! [`Deployment::EqualLinks`]: the AP with the strongest channel), half the time each, at that
//! AP's own power — half the total: every AP has its own power amplifier, as the point-to-point
//! baselines of `zf-2x2`/`thp-4x4`, and the broadcast that defines the CNR uses both at that
//! power (TDMA with the whole total power on one AP is reported too); THP is
//! the 2×2 precoder of `thp-4x4` at half the power per AP; BIA (notes §1.5) is the sum rate of
//! eq. 2.11 on per-subcarrier channels of the two antenna modes, with the secondary's residual
//! phase change across the 3-slot frame added as noise to the difference observation.

use super::super::{par_indexed, Context, ExperimentConfig, Outcome, RunError};
use super::airsync_testbed::{
    numerical, percentile, Beams, Deployment, Drop, Errors, Model, Received, Testbed,
};
use crate::linalg::cn01;
use crate::metrics::Cdf;
use crate::precoding::linear::zf;
use crate::precoding::power::water_fill;
use crate::precoding::thp::{modulo, shaping_loss_bits, Thp, TAU};
use crate::radio::qam::Qam;
use crate::report::{Figure, Origin, Style, Table};
use crate::rng::{SeedTree, SimRng};
use crate::scenario::{Check, FieldError};
use crate::units::{cis, db_to_lin, lin_to_db, C64};
use faer::Mat;
use rand::Rng;
use serde::{Deserialize, Serialize};

/// The thesis' best point-to-point rate (bps/Hz), log2(1 + 10^3.0) (§3.2; notes §8 item 7).
const PAPER_P2P_BPS_PER_HZ: f64 = 9.96;

/// Configuration of `airsync.zf-2x2` and `airsync.thp-4x4`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MuConfig {
    /// Drops (random spots).
    pub drops: usize,
    /// Width of the band over which a client's constellation is pooled for its SINR (Hz): the
    /// thesis' 5 MHz data band (§3.1), so that the measurement sees the frequency selectivity the
    /// thesis' did; the whole 16.6 MHz band is reported too.
    pub sinr_band_hz: f64,
    pub testbed: Testbed,
}

impl MuConfig {
    fn validate(&self, m: usize) -> Result<(), FieldError> {
        let c = Check { prefix: "config" };
        c.count("drops", self.drops, 1, 10_000_000)?;
        c.range("sinr_band_hz", self.sinr_band_hz, 312.5e3, 20e6, "Hz")?;
        self.testbed.validate(m)
    }

    fn model(&self, m: usize) -> Model {
        Model::testbed(&self.testbed, m, m)
    }
}

/// `airsync.zf-2x2`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Zf2x2Config(pub MuConfig);

/// `airsync.thp-4x4`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Thp4x4Config(pub MuConfig);

/// Which precoder a multi-user run uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Precoder {
    /// Zero forcing with water-filling (eqs. 2.3–2.4).
    Zf,
    /// Tomlinson–Harashima (eqs. 2.5–2.9), 16-QAM inside the modulo square.
    Thp,
}

/// ZF beams per subcarrier from the estimates, water-filling `total_power` across the streams.
fn zf_beams(est: &[crate::linalg::CMat], total_power: f64) -> Result<Beams, RunError> {
    let mut w = Vec::with_capacity(est.len());
    let mut power = Vec::with_capacity(est.len());
    for h in est {
        let z = zf(h.as_ref()).map_err(numerical)?;
        power.push(water_fill(&z.lambda, total_power));
        w.push(z.v);
    }
    Ok(Beams { w, power })
}

/// THP precoders per subcarrier from the estimates, water-filling `total_power` over |L_kk|².
fn thp_beams(est: &[crate::linalg::CMat], total_power: f64) -> (Vec<Thp>, Beams) {
    let thps: Vec<Thp> = est.iter().map(|h| Thp::new(h.as_ref())).collect();
    let power = thps
        .iter()
        .map(|t| water_fill(&t.gains(), total_power))
        .collect();
    let w = thps.iter().map(|t| t.q.clone()).collect();
    (thps, Beams { w, power })
}

/// A THP data packet: 16-QAM points scaled into the modulo square (levels ±τ/8, ±3τ/8), precoded
/// sequentially with the estimated L, received through the impaired channel, divided by the
/// client's gain estimate and reduced modulo τ. The received point is u + [ŷ − u] mod τ (the
/// torus error added to the sent point).
fn receive_thp(
    model: &Model,
    drop: &Drop,
    thps: &[Thp],
    beams: &Beams,
    rng: &mut SimRng,
) -> Vec<Received> {
    let (m, k) = (beams.w[0].nrows(), beams.w[0].ncols());
    let qam = Qam::new(16).expect("16-QAM");
    // unit-energy 16-QAM levels ±a, ±3a → ±τ/8, ±3τ/8
    let scale = TAU / 8.0 / (qam.min_distance() / 2.0);
    let noise = model.impairment_noise(drop, beams);
    let ghat = model.gain_estimates(drop, beams, &noise, rng);
    let n_used = model.num.used.len();
    let mut out: Vec<Received> = (0..k).map(|_| Received::new(n_used)).collect();
    let mut g = Mat::zeros(k, k);
    let (mut u, mut uh, mut x) = (
        vec![C64::default(); k],
        vec![C64::default(); k],
        vec![C64::default(); m],
    );
    for n in 0..n_used {
        let q = &beams.power[n];
        for s in model.payload() {
            model.effective_gain(drop, &beams.w[n], n, s, &mut g);
            for ui in u.iter_mut() {
                *ui = qam.map(rng.random_range(0..16)) * scale;
            }
            thps[n].precode(&u, q, &mut uh, &mut x);
            for r in 0..k {
                let y: C64 =
                    (0..k).map(|c| g[(r, c)] * uh[c]).sum::<C64>() + cn01(rng) * noise[r].sqrt();
                if q[r] > 0.0 {
                    let z = modulo(y / ghat[n][r], TAU);
                    out[r].push(n, u[r] + modulo(z - u[r], TAU), u[r]);
                }
            }
        }
    }
    out
}

/// What one drop of `zf-2x2`/`thp-4x4` measured (SINRs linear, 0 where a stream was off).
struct MuDrop {
    /// Per user, per sub-band: the constellation SINR, full model.
    sinr: Vec<Vec<f64>>,
    /// The same without any impairment (ideal sync, estimates and channel; receiver noise only).
    sinr_ideal: Vec<Vec<f64>>,
    /// Per user: the constellation pooled over the whole 52-subcarrier band.
    sinr_band: Vec<f64>,
    /// Σ_k mean_n log2(1 + SINR_kn) from per-subcarrier SINRs (THP: minus the shaping loss).
    rate_subcarrier: f64,
    /// Best point-to-point link: SNR per sub-band, and the per-subcarrier Shannon rate.
    p2p: Vec<f64>,
    p2p_rate_subcarrier: f64,
    moments: (f64, f64, usize),
}

/// The per-user received constellations of one drop (M = K = `m`).
fn mu_receive(
    model: &Model,
    precoder: Precoder,
    m: usize,
    seeds: &SeedTree,
) -> Result<(Drop, Vec<Received>), RunError> {
    let drop = model.drop(seeds);
    let rx = mu_transmit(model, precoder, m, &drop, seeds)?;
    Ok((drop, rx))
}

/// Sounding, precoding and the data packet on a given drop.
fn mu_transmit(
    model: &Model,
    precoder: Precoder,
    m: usize,
    drop: &Drop,
    seeds: &SeedTree,
) -> Result<Vec<Received>, RunError> {
    let est = model.estimate(drop, &mut seeds.child("estimate").rng());
    let total = m as f64 * model.ap_power;
    let mut rng = seeds.child("data").rng();
    let rx = match precoder {
        Precoder::Zf => {
            let beams = zf_beams(&est, total)?;
            model.receive_linear(drop, &beams, &mut rng)
        }
        Precoder::Thp => {
            let (thps, beams) = thp_beams(&est, total);
            receive_thp(model, drop, &thps, &beams, &mut rng)
        }
    };
    Ok(rx)
}

fn subcarrier_rate(rx: &Received, shaping: bool) -> f64 {
    let loss = if shaping { shaping_loss_bits() } else { 0.0 };
    let s = rx.subcarrier_sinr();
    s.iter()
        .map(|&x| {
            if x > 0.0 {
                ((1.0 + x).log2() - loss).max(0.0)
            } else {
                0.0
            }
        })
        .sum::<f64>()
        / s.len() as f64
}

fn mu_drop(
    model: &Model,
    precoder: Precoder,
    m: usize,
    block: usize,
    seeds: &SeedTree,
) -> Result<MuDrop, RunError> {
    let (drop, rx) = mu_receive(model, precoder, m, seeds)?;
    let (_, rx_ideal) = mu_receive(&model.with_errors(Errors::None), precoder, m, seeds)?;
    let shaping = precoder == Precoder::Thp;
    let clients: Vec<usize> = (0..m).collect();
    let (i, j) = model.best_link(&drop.transmit, &clients, model.ap_power);
    let p2p = model.point_to_point(
        &drop.transmit,
        i,
        j,
        model.ap_power,
        &mut seeds.child("p2p").rng(),
    );
    Ok(MuDrop {
        sinr: rx.iter().map(|r| r.block_sinr(block)).collect(),
        sinr_ideal: rx_ideal.iter().map(|r| r.block_sinr(block)).collect(),
        sinr_band: rx.iter().map(Received::pooled_sinr).collect(),
        rate_subcarrier: rx.iter().map(|r| subcarrier_rate(r, shaping)).sum(),
        p2p: p2p.block_sinr(block),
        p2p_rate_subcarrier: subcarrier_rate(&p2p, false),
        moments: model.residual_moments(&drop),
    })
}

fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

fn shannon(sinr: f64) -> f64 {
    (1.0 + sinr).log2()
}

/// The thesis' Shannon arithmetic on sub-band SINRs: mean over sub-bands of log2(1 + SINR).
fn block_rate(sinr: &[f64]) -> f64 {
    mean(&sinr.iter().map(|&s| shannon(s)).collect::<Vec<f64>>())
}

/// The dB values of the sub-bands where the stream was on.
fn active_db(sinr: &[f64]) -> Vec<f64> {
    sinr.iter()
        .filter(|&&s| s > 0.0)
        .map(|&s| lin_to_db(s))
        .collect()
}

/// Runs `zf-2x2` or `thp-4x4`.
fn run_mu(
    cfg: &MuConfig,
    precoder: Precoder,
    m: usize,
    paper_sinr_db: &[f64],
    paper_sum: f64,
    ctx: &Context,
) -> Result<Outcome, RunError> {
    let model = cfg.model(m);
    // metric names carry the precoder, so they are unique across experiments
    let prefix = if precoder == Precoder::Zf {
        "zf"
    } else {
        "thp"
    };
    let block = ((cfg.sinr_band_hz / model.df_hz).round() as usize).clamp(1, model.num.used.len());
    ctx.progress.begin("drops", cfg.drops as u64);
    let drops: Vec<MuDrop> = par_indexed(cfg.drops, ctx.progress, |d| {
        mu_drop(
            &model,
            precoder,
            m,
            block,
            &ctx.seeds.child("drop").index(d as u64),
        )
    })
    .into_iter()
    .collect::<Result<_, _>>()?;
    let mut out = Outcome::default();
    let db = |x: f64| lin_to_db(x);

    // SINR samples: every (drop, user, sub-band) where the stream was on
    let all: Vec<f64> = drops
        .iter()
        .flat_map(|d| d.sinr.iter().flat_map(|s| active_db(s)))
        .collect();
    let all_ideal: Vec<f64> = drops
        .iter()
        .flat_map(|d| d.sinr_ideal.iter().flat_map(|s| active_db(s)))
        .collect();
    let band: Vec<f64> = drops
        .iter()
        .flat_map(|d| d.sinr_band.iter().map(|&s| db(s)))
        .collect();
    out.metrics
        .insert(format!("{prefix}_sinr_median_db"), percentile(&all, 50.0));
    out.metrics
        .insert(format!("{prefix}_sinr_p10_db"), percentile(&all, 10.0));
    out.metrics
        .insert(format!("{prefix}_sinr_p90_db"), percentile(&all, 90.0));
    out.metrics.insert(
        format!("{prefix}_sinr_median_db_ideal"),
        percentile(&all_ideal, 50.0),
    );
    out.metrics.insert(
        format!("{prefix}_sinr_whole_band_median_db"),
        percentile(&band, 50.0),
    );
    out.metrics.insert(
        format!("{prefix}_subbands_per_user"),
        drops[0].sinr[0].len() as f64,
    );
    // where the thesis' placement sits in dmimo's distribution
    for (i, &p) in paper_sinr_db.iter().enumerate() {
        let below = all.iter().filter(|&&x| x < p).count() as f64 / all.len() as f64;
        out.metrics.insert(
            format!("{prefix}_paper_sinr{}_percentile", i + 1),
            100.0 * below,
        );
    }
    // each user's median over its sub-bands, ranked per drop (best first)
    let user_db = |d: &MuDrop| -> Vec<f64> {
        let mut v: Vec<f64> = d
            .sinr
            .iter()
            .map(|s| {
                let a = active_db(s);
                if a.is_empty() {
                    -10.0
                } else {
                    percentile(&a, 50.0)
                }
            })
            .collect();
        v.sort_by(|a, b| b.total_cmp(a));
        v
    };
    let ranked: Vec<Vec<f64>> = (0..m)
        .map(|r| drops.iter().map(|d| user_db(d)[r]).collect())
        .collect();
    for (r, x) in ranked.iter().enumerate() {
        out.metrics.insert(
            format!("{prefix}_sinr_rank{}_median_db", r + 1),
            percentile(x, 50.0),
        );
    }

    // rates: the thesis' arithmetic (log2(1 + measured SINR)), means over drops
    let sum_rates: Vec<f64> = drops
        .iter()
        .map(|d| d.sinr.iter().map(|s| block_rate(s)).sum())
        .collect();
    let p2p_rates: Vec<f64> = drops.iter().map(|d| block_rate(&d.p2p)).collect();
    let sum_rate = mean(&sum_rates);
    let p2p = mean(&p2p_rates);
    out.metrics
        .insert(format!("{prefix}_sum_rate_bps_per_hz"), sum_rate);
    out.metrics
        .insert(format!("{prefix}_p2p_rate_bps_per_hz"), p2p);
    out.metrics
        .insert(format!("{prefix}_gain_over_p2p"), sum_rate / p2p);
    out.metrics.insert(
        format!("{prefix}_gain_over_paper_p2p"),
        sum_rate / PAPER_P2P_BPS_PER_HZ,
    );
    let p2p_db: Vec<f64> = drops.iter().flat_map(|d| active_db(&d.p2p)).collect();
    out.metrics.insert(
        format!("{prefix}_p2p_snr_median_db"),
        percentile(&p2p_db, 50.0),
    );
    let rs = mean(
        &drops
            .iter()
            .map(|d| d.rate_subcarrier)
            .collect::<Vec<f64>>(),
    );
    let ps = mean(
        &drops
            .iter()
            .map(|d| d.p2p_rate_subcarrier)
            .collect::<Vec<f64>>(),
    );
    out.metrics
        .insert(format!("{prefix}_sum_rate_subcarrier_bps_per_hz"), rs);
    out.metrics
        .insert(format!("{prefix}_p2p_rate_subcarrier_bps_per_hz"), ps);
    out.metrics
        .insert(format!("{prefix}_gain_over_p2p_subcarrier"), rs / ps);
    let (a, b, c) = drops.iter().fold((0.0, 0.0, 0usize), |acc, d| {
        (
            acc.0 + d.moments.0,
            acc.1 + d.moments.1,
            acc.2 + d.moments.2,
        )
    });
    out.metrics.insert(
        format!("{prefix}_sync_residual_std_deg"),
        (a / c as f64).sqrt().to_degrees(),
    );
    out.metrics.insert(
        format!("{prefix}_sync_mismatch_std_deg"),
        (b / c as f64).sqrt().to_degrees(),
    );

    // tables: the per-drop values
    let mut columns = vec!["drop".to_string()];
    columns.extend((1..=m).map(|k| format!("user{k}_sinr_db")));
    columns.extend((1..=m).map(|k| format!("user{k}_sinr_whole_band_db")));
    columns.extend([
        "sum_rate_bps_per_hz".to_string(),
        "p2p_rate_bps_per_hz".to_string(),
    ]);
    let rows = drops
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let mut row = vec![i as f64];
            row.extend(d.sinr.iter().map(|s| {
                let a = active_db(s);
                if a.is_empty() {
                    f64::NAN
                } else {
                    percentile(&a, 50.0)
                }
            }));
            row.extend(d.sinr_band.iter().map(|&s| db(s)));
            row.push(sum_rates[i]);
            row.push(p2p_rates[i]);
            row
        })
        .collect();
    out.tables.push(Table {
        name: "per_drop".into(),
        columns,
        rows,
    });
    out.tables.push(Table {
        name: "sinr_cdf".into(),
        columns: vec![
            "cdf".into(),
            "sinr_db".into(),
            "sinr_ideal_db".into(),
            "sinr_whole_band_db".into(),
        ],
        rows: (0..=100)
            .map(|i| {
                let p = i as f64;
                vec![
                    p / 100.0,
                    percentile(&all, p),
                    percentile(&all_ideal, p),
                    percentile(&band, p),
                ]
            })
            .collect(),
    });

    // figure: CDFs of the ranked SINRs with the thesis' values
    let name = if precoder == Precoder::Zf {
        "ZF"
    } else {
        "THP"
    };
    let mut fig = Figure::new(
        "sinr_cdf",
        &format!("{m}×{m} {name} from fed-back estimates (AirSync): per-user SINR over drops"),
        "SINR from the constellation spread, 5 MHz sub-bands (dB)",
        "CDF",
    );
    for (r, x) in ranked.iter().enumerate() {
        fig = fig.line(
            &format!("dmimo: user ranked {} in its drop", r + 1),
            Origin::Measured,
            Style::Step,
            Cdf::new(x.clone()).points(300),
        );
    }
    fig = fig
        .line(
            "dmimo: all users, constellation over the whole 16.6 MHz band",
            Origin::Measured,
            Style::Step,
            Cdf::new(band.clone()).points(300),
        )
        .line(
            "dmimo: all users, no impairment",
            Origin::Theory,
            Style::Step,
            Cdf::new(all_ideal.clone()).points(300),
        );
    let mut sorted_paper = paper_sinr_db.to_vec();
    sorted_paper.sort_by(|a, b| b.total_cmp(a));
    fig = fig.line(
        "thesis: one placement (drawn at CDF 0.5)",
        Origin::Paper,
        Style::Markers,
        sorted_paper.iter().map(|&s| (s, 0.5)).collect(),
    );
    out.figures.push(fig);
    out.figures.push(
        Figure::new(
            "rates",
            &format!("{m}×{m} {name}: Shannon sum rate vs best point-to-point link"),
            "rate, Σ log2(1 + SINR) (bit/s/Hz)",
            "CDF over drops",
        )
        .line(
            "dmimo: sum rate",
            Origin::Measured,
            Style::Step,
            Cdf::new(sum_rates.clone()).points(300),
        )
        .line(
            "dmimo: best point-to-point link",
            Origin::Measured,
            Style::Step,
            Cdf::new(p2p_rates.clone()).points(300),
        )
        .line(
            &format!("thesis: sum {paper_sum}"),
            Origin::Paper,
            Style::LineMarkers,
            vec![(paper_sum, 0.0), (paper_sum, 1.0)],
        )
        .line(
            "thesis: point-to-point 9.96",
            Origin::Paper,
            Style::LineMarkers,
            vec![(PAPER_P2P_BPS_PER_HZ, 0.0), (PAPER_P2P_BPS_PER_HZ, 1.0)],
        ),
    );

    // the scatter diagram (thesis Figs. 3.6–3.7) of one 5 MHz sub-band of the drop whose mean
    // user SINR is the median
    let mean_db: Vec<f64> = drops.iter().map(|d| mean(&user_db(d))).collect();
    let med = percentile(&mean_db, 50.0);
    let pick = (0..drops.len())
        .min_by(|&a, &b| {
            (mean_db[a] - med)
                .abs()
                .total_cmp(&(mean_db[b] - med).abs())
        })
        .unwrap_or(0);
    let (_, rx) = mu_receive(
        &model,
        precoder,
        m,
        &ctx.seeds.child("drop").index(pick as u64),
    )?;
    let sub = (rx[0].z.len() / block).saturating_sub(1).min(1);
    let mut scatter = Figure::new(
        "constellations",
        &format!(
            "{m}×{m} {name}: received 16-QAM, one 5 MHz sub-band of a median drop (drop {pick}), users side by side"
        ),
        "in-phase (offset per user)",
        "quadrature",
    );
    let offset = if precoder == Precoder::Zf {
        3.0
    } else {
        TAU * 1.25
    };
    for (k, r) in rx.iter().enumerate() {
        let dx = offset * (k as f64 - (m as f64 - 1.0) / 2.0);
        let part = Received {
            z: r.z[sub * block..(sub + 1) * block].to_vec(),
            u: r.u[sub * block..(sub + 1) * block].to_vec(),
        };
        scatter = scatter.line(
            &format!("user {}: {:.1} dB", k + 1, db(part.pooled_sinr())),
            Origin::Measured,
            Style::Markers,
            part.scatter(1200)
                .into_iter()
                .map(|(x, y)| (x + dx, y))
                .collect(),
        );
    }
    out.figures.push(scatter);
    Ok(out)
}

impl ExperimentConfig for Zf2x2Config {
    fn full() -> Self {
        Zf2x2Config(MuConfig {
            drops: 2000,
            sinr_band_hz: 5e6,
            testbed: Testbed::full(),
        })
    }

    fn quick() -> Self {
        Zf2x2Config(MuConfig {
            drops: 40,
            sinr_band_hz: 5e6,
            testbed: Testbed::quick(),
        })
    }

    fn validate(&self) -> Result<(), FieldError> {
        self.0.validate(2)
    }

    fn run(&self, ctx: &Context) -> Result<Outcome, RunError> {
        run_mu(&self.0, Precoder::Zf, 2, &[29.0, 26.0], 18.27, ctx)
    }
}

impl ExperimentConfig for Thp4x4Config {
    fn full() -> Self {
        Thp4x4Config(MuConfig {
            drops: 1000,
            sinr_band_hz: 5e6,
            testbed: Testbed::full(),
        })
    }

    fn quick() -> Self {
        Thp4x4Config(MuConfig {
            drops: 20,
            sinr_band_hz: 5e6,
            testbed: Testbed::quick(),
        })
    }

    fn validate(&self) -> Result<(), FieldError> {
        self.0.validate(4)
    }

    fn run(&self, ctx: &Context) -> Result<Outcome, RunError> {
        run_mu(
            &self.0,
            Precoder::Thp,
            4,
            &[16.8, 19.2, 21.4, 20.8],
            26.0,
            ctx,
        )
    }
}

// ---------------------------------------------------------------------------------------------
// airsync.vs-tdma
// ---------------------------------------------------------------------------------------------

/// Configuration of `airsync.vs-tdma`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VsTdmaConfig {
    /// Receiver CNR points (dB): the mean SNR of an isotropic broadcast at the common total power;
    /// Fig. 3.9's x-axis, 15–30 dB.
    pub cnr_db: Vec<f64>,
    /// Drops, each evaluated at every CNR (common random numbers).
    pub drops: usize,
    /// Band over which the SINR panel pools a client's constellation (Hz), as in `zf-2x2`.
    pub sinr_band_hz: f64,
    pub testbed: Testbed,
}

impl ExperimentConfig for VsTdmaConfig {
    fn full() -> Self {
        VsTdmaConfig {
            cnr_db: vec![15.0, 17.5, 20.0, 22.5, 25.0, 27.5, 30.0],
            drops: 500,
            sinr_band_hz: 5e6,
            testbed: Testbed::full(),
        }
    }

    fn quick() -> Self {
        VsTdmaConfig {
            cnr_db: vec![15.0, 20.0, 25.0, 30.0],
            drops: 12,
            sinr_band_hz: 5e6,
            testbed: Testbed::quick(),
        }
    }

    fn validate(&self) -> Result<(), FieldError> {
        let c = Check { prefix: "config" };
        c.each("cnr_db", &self.cnr_db, 1, -10.0, 80.0, "dB")?;
        c.increasing("cnr_db", &self.cnr_db)?;
        c.count("drops", self.drops, 1, 1_000_000)?;
        c.range("sinr_band_hz", self.sinr_band_hz, 312.5e3, 20e6, "Hz")?;
        self.testbed.validate(2)?;
        if self.testbed.payload_symbols < 3 {
            return Err(FieldError::new(
                "config.testbed.payload_symbols",
                "BIA needs at least one 3-symbol frame: allowed at least 3",
            ));
        }
        Ok(())
    }

    fn run(&self, ctx: &Context) -> Result<Outcome, RunError> {
        // total power 1: each AP sends 1/2 when both do
        let base = Model::new(&self.testbed, 2, 2, 1.0, 0.5);
        let block =
            ((self.sinr_band_hz / base.df_hz).round() as usize).clamp(1, base.num.used.len());
        ctx.progress.begin("drops", self.drops as u64);
        let drops: Vec<Vec<TdmaPoint>> = par_indexed(self.drops, ctx.progress, |d| {
            let seeds = ctx.seeds.child("drop").index(d as u64);
            let drop = base.drop(&seeds);
            // the clients' broadcast CNR at unit noise: Σ_i (1/2)·g_ik, its mean in dB
            let g = &drop.geometry.gain_db;
            let cnr0_db = (0..2)
                .map(|k| lin_to_db((0..2).map(|i| 0.5 * db_to_lin(g[i][k])).sum::<f64>()))
                .sum::<f64>()
                / 2.0;
            self.cnr_db
                .iter()
                .map(|&c| {
                    tdma_point(
                        &base.with_noise(db_to_lin(cnr0_db - c)),
                        &drop,
                        block,
                        &seeds,
                    )
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .into_iter()
        .collect::<Result<_, _>>()?;

        let mut out = Outcome::default();
        let n = self.drops as f64;
        let mut rows = Vec::new();
        let mut lines: [Vec<(f64, f64)>; 8] = Default::default();
        let (mut thp_gain, mut bia_gain) = (0.0, 0.0);
        let (mut thp_gain_whole, mut bia_gain_whole) = (0.0, 0.0);
        for (ci, &cnr) in self.cnr_db.iter().enumerate() {
            let avg =
                |f: &dyn Fn(&TdmaPoint) -> f64| drops.iter().map(|d| f(&d[ci])).sum::<f64>() / n;
            let (thp, tdma, bia) = (avg(&|p| p.thp), avg(&|p| p.tdma), avg(&|p| p.bia));
            let tdma_whole = avg(&|p| p.tdma_whole);
            let med = |f: &dyn Fn(&TdmaPoint) -> Vec<f64>| {
                percentile(
                    &drops.iter().flat_map(|d| f(&d[ci])).collect::<Vec<f64>>(),
                    50.0,
                )
            };
            let thp_sinr = med(&|p| p.thp_sinr_db.clone());
            let tdma_snr = med(&|p| p.tdma_snr_db.clone());
            thp_gain += thp / tdma;
            bia_gain += bia / tdma;
            thp_gain_whole += thp / tdma_whole;
            bia_gain_whole += bia / tdma_whole;
            rows.push(vec![
                cnr,
                tdma,
                thp,
                bia,
                thp / tdma,
                bia / tdma,
                tdma_snr,
                thp_sinr,
                tdma_whole,
            ]);
            for (l, v) in lines.iter_mut().zip([
                tdma,
                thp,
                bia,
                thp / tdma,
                bia / tdma,
                tdma_snr,
                thp_sinr,
                cnr,
            ]) {
                l.push((cnr, v));
            }
            out.metrics
                .insert(format!("thp_over_tdma_cnr_{cnr}db"), thp / tdma);
            out.metrics
                .insert(format!("bia_over_tdma_cnr_{cnr}db"), bia / tdma);
        }
        let np = self.cnr_db.len() as f64;
        out.metrics
            .insert("thp_gain_over_tdma".into(), thp_gain / np - 1.0);
        out.metrics
            .insert("bia_gain_over_tdma".into(), bia_gain / np - 1.0);
        out.metrics.insert(
            "thp_gain_over_tdma_whole_power".into(),
            thp_gain_whole / np - 1.0,
        );
        out.metrics.insert(
            "bia_gain_over_tdma_whole_power".into(),
            bia_gain_whole / np - 1.0,
        );
        // the same as a ratio of rates averaged over the CNR points
        let sum_of = |i: usize| lines[i].iter().map(|p| p.1).sum::<f64>();
        out.metrics.insert(
            "thp_gain_of_average_rate".into(),
            sum_of(1) / sum_of(0) - 1.0,
        );
        out.metrics.insert(
            "bia_gain_of_average_rate".into(),
            sum_of(2) / sum_of(0) - 1.0,
        );
        out.tables.push(Table {
            name: "sum_rates".into(),
            columns: vec![
                "cnr_db".into(),
                "tdma_bps_per_hz".into(),
                "thp_bps_per_hz".into(),
                "bia_bps_per_hz".into(),
                "thp_over_tdma".into(),
                "bia_over_tdma".into(),
                "tdma_snr_median_db".into(),
                "thp_sinr_median_db".into(),
                "tdma_whole_power_bps_per_hz".into(),
            ],
            rows,
        });
        let [l_tdma, l_thp, l_bia, g_thp, g_bia, s_tdma, s_thp, s_cnr] = lines;
        let (lo, hi) = (self.cnr_db[0], self.cnr_db[self.cnr_db.len() - 1]);
        out.figures.push(
            Figure::new(
                "sum_rates",
                "2×2: sum rate with Gaussian codes vs receiver CNR (Fig. 3.9d)",
                "receiver CNR (dB)",
                "sum rate (bit/s/Hz)",
            )
            .line(
                "TDMA (closest AP)",
                Origin::Measured,
                Style::LineMarkers,
                l_tdma,
            )
            .line("THP (AirSync)", Origin::Measured, Style::LineMarkers, l_thp)
            .line(
                "BIA (eq. 2.11)",
                Origin::Measured,
                Style::LineMarkers,
                l_bia,
            ),
        );
        out.figures.push(
            Figure::new(
                "gain_over_tdma",
                "2×2: sum rate relative to TDMA with Gaussian codes (Fig. 3.9f)",
                "receiver CNR (dB)",
                "sum rate / TDMA sum rate",
            )
            .line("THP / TDMA", Origin::Measured, Style::LineMarkers, g_thp)
            .line("BIA / TDMA", Origin::Measured, Style::LineMarkers, g_bia)
            .line(
                "thesis: THP +85% on average",
                Origin::Paper,
                Style::LineMarkers,
                vec![(lo, 1.85), (hi, 1.85)],
            )
            .line(
                "thesis: BIA +22% on average",
                Origin::Paper,
                Style::LineMarkers,
                vec![(lo, 1.22), (hi, 1.22)],
            )
            .y_range(0.0, 2.2),
        );
        out.figures.push(
            Figure::new(
                "sinr",
                "2×2: symbol SINR vs receiver CNR (Fig. 3.9a)",
                "receiver CNR (dB)",
                "median SINR from the constellation spread (dB)",
            )
            .line(
                "TDMA (closest AP)",
                Origin::Measured,
                Style::LineMarkers,
                s_tdma,
            )
            .line("THP (AirSync)", Origin::Measured, Style::LineMarkers, s_thp)
            .line("SINR = CNR", Origin::Theory, Style::Line, s_cnr),
        );
        Ok(out)
    }
}

/// One drop at one CNR: sum rates (bps/Hz, Gaussian codes) and SINRs (dB).
struct TdmaPoint {
    thp: f64,
    /// TDMA from the closest AP at that AP's own power (half the total).
    tdma: f64,
    /// TDMA with the whole total power on the one AP.
    tdma_whole: f64,
    bia: f64,
    thp_sinr_db: Vec<f64>,
    tdma_snr_db: Vec<f64>,
}

fn tdma_point(
    model: &Model,
    drop: &Drop,
    block: usize,
    seeds: &SeedTree,
) -> Result<TdmaPoint, RunError> {
    let rx = mu_transmit(model, Precoder::Thp, 2, drop, seeds)?;
    let thp = rx.iter().map(|r| subcarrier_rate(r, true)).sum();
    // TDMA: each user from its closest AP, half the time, at the AP's own power (and, for
    // comparison, with the whole total power)
    let (mut tdma, mut tdma_whole) = (0.0, 0.0);
    let mut tdma_snr_db = Vec::new();
    for j in 0..2 {
        let i = match model.tb.deployment {
            Deployment::Room => drop.geometry.closest_ap(j),
            Deployment::EqualLinks => model.best_link(&drop.transmit, &[j], 1.0).0,
        };
        let tdma_seeds = seeds.child("tdma").index(j as u64);
        let rx = model.point_to_point(&drop.transmit, i, j, model.ap_power, &mut tdma_seeds.rng());
        tdma += subcarrier_rate(&rx, false) / 2.0;
        tdma_snr_db.extend(active_db(&rx.block_sinr(block)));
        let rx = model.point_to_point(&drop.transmit, i, j, 1.0, &mut tdma_seeds.rng());
        tdma_whole += subcarrier_rate(&rx, false) / 2.0;
    }
    Ok(TdmaPoint {
        thp,
        tdma,
        tdma_whole,
        bia: bia_rate(model, drop, seeds),
        thp_sinr_db: rx
            .iter()
            .flat_map(|r| active_db(&r.block_sinr(block)))
            .collect(),
        tdma_snr_db,
    })
}

/// BIA's sum rate (eq. 2.11, M = K = 2, total power P = 1 over noise N0), mean over subcarriers.
/// Antenna mode A is the channel the other schemes use; mode B an independent fading draw on
/// the same geometry (`seeds.child("mode-b")`). User 1 forms y(t1) − y(t3) and user 2 y(t1) − y(t2)
/// to cancel the other user's symbols; the secondary's residual changes between those slots, so
/// a residual (3P/8)|h_2|²·E|e^{jε(t1)} − e^{jε(t1+lag)}|² remains, added to the difference
/// observation's noise 2N0: its column becomes h_A·√(N0/(2N0 + I)) instead of h_A/√2. The
/// receivers' own channel knowledge is taken as exact.
fn bia_rate(model: &Model, drop: &Drop, seeds: &SeedTree) -> f64 {
    let mode_b = model.channels(&drop.geometry, &seeds.child("mode-b")).1;
    let n0 = model.noise_var;
    let c = 3.0 / 8.0 / n0;
    let frames: Vec<usize> = model
        .payload()
        .step_by(3)
        .filter(|&s| s + 2 < model.data_len())
        .collect();
    let mut total = 0.0;
    for (n, hb) in mode_b.iter().enumerate() {
        for (k, lag) in [(0usize, 2usize), (1, 1)] {
            let change = frames
                .iter()
                .map(|&s| {
                    let e1 = model.residual_rad(&drop.sync_data, 1, n, s);
                    let e2 = model.residual_rad(&drop.sync_data, 1, n, s + lag);
                    (cis(e1) - cis(e2)).norm_sqr()
                })
                .sum::<f64>()
                / frames.len() as f64;
            let h = &drop.transmit[n];
            let interference = 3.0 / 8.0 * h[(1, k)].norm_sqr() * change;
            let shrink = (n0 / (2.0 * n0 + interference)).sqrt();
            let a = [h[(0, k)] * shrink, h[(1, k)] * shrink];
            let b = [hb[(0, k)], hb[(1, k)]];
            let aa = a[0].norm_sqr() + a[1].norm_sqr();
            let bb = b[0].norm_sqr() + b[1].norm_sqr();
            let ab = (a[0].conj() * b[0] + a[1].conj() * b[1]).norm_sqr();
            let det = (1.0 + c * aa) * (1.0 + c * bb) - c * c * ab;
            total += det.log2() / 3.0;
        }
    }
    total / model.num.used.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Without impairments BIA's rate (2.11) is below 2×2 THP's high-SNR slope: 4/3 DoF.
    #[test]
    fn bia_has_four_thirds_dof() {
        let tb = Testbed {
            payload_symbols: 6,
            ..Testbed::full()
        };
        let seeds = SeedTree::new(4);
        let rate = |snr_db: f64| {
            let model = Model::new(&tb, 2, 2, db_to_lin(-snr_db), 0.5).with_errors(Errors::None);
            let drop = model.drop(&seeds);
            bia_rate(&model, &drop, &seeds)
        };
        let slope = (rate(60.0) - rate(50.0)) / (10.0 * 10f64.log2() / 10.0);
        assert!((slope - 4.0 / 3.0).abs() < 0.05, "{slope}");
    }

    /// With an ideal testbed THP's measured SINR matches E|u|²·|L_kk|²q_k/N0 (noise only): the
    /// 16-QAM inside the modulo square has E|u|² = 10τ²/64 = 0.9375. The pilot-based gain estimate
    /// is made (nearly) exact with 4096 pilot symbols: its error multiplies the received point
    /// *before* the modulo, u + lattice offset + pre-cancelled interference, so for later users it
    /// costs far more than for a linear precoder.
    #[test]
    fn thp_without_impairments_reaches_the_nominal_sinr() {
        let tb = Testbed {
            payload_symbols: 200,
            rx_pilot_symbols: 4096,
            ..Testbed::full()
        };
        let model = Model::new(&tb, 4, 4, db_to_lin(-30.0), 1.0).with_errors(Errors::None);
        let seeds = SeedTree::new(9);
        let (drop, rx) = mu_receive(&model, Precoder::Thp, 4, &seeds).unwrap();
        let (thps, beams) = thp_beams(&drop.sounding, 4.0);
        for (k, r) in rx.iter().enumerate() {
            let s = r.subcarrier_sinr();
            let (mut num, mut den) = (0.0, 0.0);
            for n in 0..s.len() {
                let nominal = thps[n].gains()[k] * beams.power[n][k] / model.noise_var * 0.9375
                    / (1.0 + 1.0 / 4096.0);
                if nominal > 100.0 {
                    num += lin_to_db(s[n]) - lin_to_db(nominal);
                    den += 1.0;
                }
            }
            // 200-symbol SINR estimates: ±0.3 dB each, averaged over the subcarriers
            assert!((num / den).abs() < 0.1, "user {k}: {}", num / den);
        }
    }
}
