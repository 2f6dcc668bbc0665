//! `distsync.sum-rate-4x4` (thesis §4.4, Figs. 4.11–4.12; notes/003 §3.5, §6 target 14): four
//! APs, each with its client nearby in an anechoic chamber, synchronized by DistSync's beacons;
//! per slot the effective channel H̃ (random phases included) is estimated from pilots with
//! noise, ZF with water-filling is computed from the estimate, and the data goes out up to 1 ms
//! later while the residual CFO and phase noise keep rotating the APs. The sum rate of the four
//! streams is compared with the average point-to-point rate (each AP alone serving its client at
//! full power) over a transmit-power sweep.
//!
//! Per drop: node positions (the layout below, jittered), free-space line-of-sight channels on the
//! 802.11 subcarriers, and the oscillators of 4 APs and 4 clients; then the sync protocol of
//! [`crate::sync::pairwise_beacons`] at sample level (by default the prototype: AP 0 beacons, the
//! other APs and all clients follow it), refreshed every 100 ms. Within each holdover interval,
//! slots at stratified random times: at t_e the estimate Ĥ(n) = H̃(n, t_e) + noise; at
//! t_d = t_e + Δ, Δ ~ U(0, 1 ms], the SINRs of ZF(Ĥ) on H̃(n, t_d) (common random numbers across
//! the power sweep: the same positions, oscillators and unit noise draws, scaled).
//!
//! AP and client timing offsets are constant within a slot, so they are part of the estimated H̃
//! and cancel; they are not modelled (DistSync predicts the timing drift from the CFO: a 10 Hz
//! residual at 2.4 GHz drifts 4 ps in 1 ms). The SINR is computed from the channel, precoder and
//! powers (what a constellation's spread measures, thesis §3.2), and the rate is Shannon's.
//!
//! Two references separate the losses: "no drift" evaluates the same precoder on H̃(n, t_e) (only
//! the estimation noise), "ideal CSI" precodes on H̃(n, t_d) itself.

use super::super::{key, par_indexed, Context, ExperimentConfig, Outcome, RunError};
use super::distsync_sync::SyncSetup;
use crate::channel::impairment::Impairment;
use crate::channel::pathloss::PathLoss;
use crate::linalg::{cn01, CMat};
use crate::metrics::Cdf;
use crate::precoding::eval::sinr_linear;
use crate::precoding::linear::zf;
use crate::precoding::power::water_fill;
use crate::radio::ofdm::Numerology;
use crate::report::{Figure, Origin, Style, Table};
use crate::scenario::{Check, FieldError};
use crate::sync::pairwise_beacons::SyncNode;
use crate::units::{cis, dbm_to_w, lin_to_db, SPEED_OF_LIGHT_M_PER_S};
use faer::Mat;
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::f64::consts::TAU;

/// Configuration of `distsync.sum-rate-4x4`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Oscillators and protocol (the prototype: AP 0 beacons, everyone else follows).
    pub sync: SyncSetup,
    /// AP positions (m). Fig. 4.6 (a 1 m scale bar, positions not given): the corners of a 2 m
    /// square, a layout that fits an anechoic chamber a few metres across.
    pub ap_positions_m: Vec<[f64; 2]>,
    /// Client positions (m), one per AP, in the same order: "four access points having each a
    /// receiver nearby" — 0.5 m from its AP toward the square's centre. Cross links are then
    /// 1.7–2.3 m long, 10–13 dB below the direct one in free space.
    pub user_positions_m: Vec<[f64; 2]>,
    /// Every node's position is shifted per drop by a uniform offset in ±this (m) in x and y
    /// (the thesis placed the hosts "at various positions"; > λ = 12.5 cm, so the line-of-sight
    /// phases are independent across drops).
    pub position_jitter_m: f64,
    /// Transmit power of each AP's radio (dBm): −29…10 dBm in 3 dB steps (Fig. 4.12). In
    /// multi-user mode every AP transmits, so the sum-power budget of ZF's water-filling is
    /// M·P (thesis eq. 2.4; the per-AP load is reported, not enforced); point-to-point, one AP
    /// transmits P. The sync beacons are not part of the sweep: they keep `sync.link_snr_db`.
    pub tx_power_dbm: Vec<f64>,
    /// Effective receiver noise floor (dBm) over the 20 MHz band. The thesis gives no link
    /// budget; this is set so that the direct link's SNR at the top of the sweep (10 dBm,
    /// 0.5 m: −24 dBm received) is 30 dB, the point-to-point SNR of the same WARP radios
    /// (9.96 bps/Hz, §3.2; notes/003 §8 item 7), which also keeps the sum rates within Fig. 4.12's
    /// 0–35 bps/Hz axis. It is 42 dB above kTBF (−96 dBm at NF 5 dB): it stands for the radios'
    /// effective floor (transmit EVM, AGC'd receiver, attenuation), not thermal noise.
    pub noise_floor_dbm: f64,
    /// OFDM pilot symbols per client per slot, on every subcarrier: one ("one OFDM
    /// symbol/client", §4.3). The per-subcarrier least-squares estimate (as the prototype's
    /// per-subcarrier 16-bit coefficients, §4.4) has an error variance equal to the noise over
    /// the received pilot energy.
    pub pilot_symbols: usize,
    /// Power of the pilots the effective channel is estimated from (dBm); absent = the swept
    /// transmit power. The prototype sounded the downlink, so its pilots left the APs at the
    /// swept power (§4.4); uplink pilots from clients whose radios use the same setting are
    /// equivalent by reciprocity (the thesis assumes reciprocity up to a constant per-node
    /// factor, calibrated out). A fixed value models clients that always send pilots at that
    /// power.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pilot_power_dbm: Option<f64>,
    /// Data follows the estimation by a delay uniform in (0, this] (s): "up to one millisecond
    /// later" (§4.4).
    pub max_delay_s: f64,
    /// Evaluate every this-th of the 52 used subcarriers (line-of-sight channels in a chamber
    /// are nearly flat; the estimation noise is independent per subcarrier).
    pub subcarrier_stride: usize,
    /// Independent drops (positions and oscillators).
    pub drops: usize,
    /// Sync slots per drop (100 ms each).
    pub refreshes: usize,
    /// Estimation/data slots per holdover interval, at stratified random times.
    pub slots_per_interval: usize,
}

impl ExperimentConfig for Config {
    fn full() -> Self {
        let aps = vec![[0.0, 0.0], [2.0, 0.0], [2.0, 2.0], [0.0, 2.0]];
        let d = 0.5 * std::f64::consts::FRAC_1_SQRT_2;
        let users = aps
            .iter()
            .map(|[x, y]: &[f64; 2]| {
                [
                    x + if *x < 1.0 { d } else { -d },
                    y + if *y < 1.0 { d } else { -d },
                ]
            })
            .collect();
        Config {
            sync: SyncSetup::warp_prototype(),
            ap_positions_m: aps,
            user_positions_m: users,
            position_jitter_m: 0.1,
            tx_power_dbm: (0..14).map(|i| -29.0 + 3.0 * i as f64).collect(),
            noise_floor_dbm: -54.0,
            pilot_symbols: 1,
            pilot_power_dbm: None,
            max_delay_s: 1e-3,
            subcarrier_stride: 4,
            drops: 100,
            refreshes: 10,
            slots_per_interval: 2,
        }
    }

    fn quick() -> Self {
        Config {
            drops: 24,
            refreshes: 2,
            ..Self::full()
        }
    }

    fn validate(&self) -> Result<(), FieldError> {
        self.sync.validate()?;
        let c = Check { prefix: "config" };
        let m = self.ap_positions_m.len();
        c.count("ap_positions_m", m, 1, 64)?;
        c.count("user_positions_m", self.user_positions_m.len(), 1, m)?;
        for (name, pos) in [
            ("ap_positions_m", &self.ap_positions_m),
            ("user_positions_m", &self.user_positions_m),
        ] {
            for (i, p) in pos.iter().enumerate() {
                c.range(&format!("{name}[{i}][0]"), p[0], -1e3, 1e3, "m")?;
                c.range(&format!("{name}[{i}][1]"), p[1], -1e3, 1e3, "m")?;
            }
        }
        c.range("position_jitter_m", self.position_jitter_m, 0.0, 10.0, "m")?;
        c.each("tx_power_dbm", &self.tx_power_dbm, 1, -60.0, 40.0, "dBm")?;
        c.increasing("tx_power_dbm", &self.tx_power_dbm)?;
        c.range("noise_floor_dbm", self.noise_floor_dbm, -180.0, 0.0, "dBm")?;
        c.count("pilot_symbols", self.pilot_symbols, 1, 64)?;
        if let Some(p) = self.pilot_power_dbm {
            c.range("pilot_power_dbm", p, -60.0, 40.0, "dBm")?;
        }
        c.count("subcarrier_stride", self.subcarrier_stride, 1, 52)?;
        c.count("drops", self.drops, 1, 100_000)?;
        c.count("refreshes", self.refreshes, 1, 10_000)?;
        c.count("slots_per_interval", self.slots_per_interval, 1, 1000)?;
        let room =
            (self.sync.refresh_interval_s - self.sync.sync_slot_s) / self.slots_per_interval as f64;
        c.range("max_delay_s", self.max_delay_s, 1e-6, 0.9 * room, "s")
    }

    fn run(&self, ctx: &Context) -> Result<Outcome, RunError> {
        let (m, k) = (self.ap_positions_m.len(), self.user_positions_m.len());
        let num = Numerology::wifi20();
        let spacing = num.subcarrier_spacing_hz();
        let subcarriers: Vec<i32> = num
            .used
            .iter()
            .copied()
            .step_by(self.subcarrier_stride)
            .collect();
        // clients follow AP 0's beacons (the prototype's single source)
        let protocol =
            self.sync
                .protocol(self.sync.mode, m, vec![0; k], ctx.seeds.child("beacon"))?;
        let powers_w: Vec<f64> = self.tx_power_dbm.iter().map(|&p| dbm_to_w(p)).collect();
        let n_p = powers_w.len();
        let noise_w = dbm_to_w(self.noise_floor_dbm);
        let pl = PathLoss::FreeSpace {
            carrier_hz: self.sync.carrier_hz,
        };
        ctx.progress.begin("drops", self.drops as u64);
        let per_drop = par_indexed(self.drops, ctx.progress, |d| -> Result<Acc, RunError> {
            let seeds = ctx.seeds.child("drop").index(d as u64);
            let mut prng = seeds.child("positions").rng();
            let mut jitter = |p: &[f64; 2]| {
                let j = self.position_jitter_m;
                [
                    p[0] + j * prng.random_range(-1.0..=1.0),
                    p[1] + j * prng.random_range(-1.0..=1.0),
                ]
            };
            let aps: Vec<[f64; 2]> = self.ap_positions_m.iter().map(&mut jitter).collect();
            let users: Vec<[f64; 2]> = self.user_positions_m.iter().map(&mut jitter).collect();
            // H(n)[i, k] = conj(physical AP i → client k coefficient) / √N0 (dmimo's y = Hᴴx)
            let h: Vec<CMat> = subcarriers
                .iter()
                .map(|&n| {
                    let f = self.sync.carrier_hz + n as f64 * spacing;
                    Mat::from_fn(m, k, |i, kk| {
                        let dist = ((aps[i][0] - users[kk][0]).powi(2)
                            + (aps[i][1] - users[kk][1]).powi(2))
                        .sqrt()
                        .max(0.05);
                        let amp = (pl.gain(dist) / noise_w).sqrt();
                        (cis(-TAU * f * dist / SPEED_OF_LIGHT_M_PER_S) * amp).conj()
                    })
                })
                .collect();
            let mut nodes = self.sync.nodes(m + k, seeds.child("oscillator"));
            let mut acc = Acc::new(n_p, k);
            acc.drops = 1;
            for i in 0..m.min(k) {
                acc.direct_gain += h[0][(i, i)].norm_sqr() / m.min(k) as f64;
            }
            for r in 0..self.refreshes {
                let t0 = r as f64 * self.sync.refresh_interval_s;
                let report = protocol
                    .refresh(
                        &mut nodes,
                        t0,
                        &mut seeds.child("beacons").index(r as u64).rng(),
                    )
                    .map_err(|e| RunError::Numerical(e.to_string()))?;
                let w = (t0 + self.sync.refresh_interval_s - report.end_s)
                    / self.slots_per_interval as f64;
                let mut trng = seeds.child("times").index(r as u64).rng();
                for s in 0..self.slots_per_interval {
                    let t_e = report.end_s
                        + s as f64 * w
                        + trng.random_range(0.0..1.0) * (w - self.max_delay_s);
                    let t_d = t_e + self.max_delay_s * (1.0 - trng.random_range(0.0..1.0));
                    let imp_e = impairment(&mut nodes, m, k, t_e);
                    let imp_d = impairment(&mut nodes, m, k, t_d);
                    let mut noise = seeds
                        .child("estimation")
                        .index((r * self.slots_per_interval + s) as u64)
                        .rng();
                    self.slot(
                        &h,
                        &subcarriers,
                        spacing,
                        (&imp_e, &imp_d),
                        &powers_w,
                        &mut noise,
                        &mut acc,
                    )?;
                }
            }
            Ok(acc)
        });
        let mut total = Acc::new(n_p, k);
        for a in per_drop {
            total.add(&a?);
        }
        self.report(total, m)
    }
}

/// The impairment (AP and client residual phases) at time t.
fn impairment(nodes: &mut [SyncNode], m: usize, k: usize, t: f64) -> Impairment {
    for n in nodes.iter_mut() {
        n.advance_to(t);
    }
    let mut imp = Impairment::ideal(m, k);
    imp.ap_phase_rad = (0..m).map(|i| nodes[i].residual_phase_rad()).collect();
    imp.ue_phase_rad = (0..k).map(|j| nodes[m + j].residual_phase_rad()).collect();
    imp
}

/// Sums over slots and subcarriers.
struct Acc {
    /// Per power: sums of the rate per subcarrier (bps/Hz) of MU with drift, MU without drift,
    /// MU with ideal CSI, and the mean point-to-point rate.
    mu: Vec<f64>,
    mu_no_drift: Vec<f64>,
    mu_ideal: Vec<f64>,
    p2p: Vec<f64>,
    /// Per power: the most loaded AP's power over the per-AP power P, in dB, per evaluation.
    ap_excess_db: Vec<Vec<f64>>,
    /// Per client: SINR (dB) at the largest power, per evaluation.
    sinr_top_db: Vec<Vec<f64>>,
    count: usize,
    /// Mean direct-link gain over noise (1/W), per drop (summed).
    direct_gain: f64,
    drops: usize,
}

impl Acc {
    fn new(n_p: usize, k: usize) -> Self {
        Acc {
            mu: vec![0.0; n_p],
            mu_no_drift: vec![0.0; n_p],
            mu_ideal: vec![0.0; n_p],
            p2p: vec![0.0; n_p],
            ap_excess_db: vec![Vec::new(); n_p],
            sinr_top_db: vec![Vec::new(); k],
            count: 0,
            direct_gain: 0.0,
            drops: 0,
        }
    }

    fn add(&mut self, o: &Acc) {
        for (a, b) in [
            (&mut self.mu, &o.mu),
            (&mut self.mu_no_drift, &o.mu_no_drift),
            (&mut self.mu_ideal, &o.mu_ideal),
            (&mut self.p2p, &o.p2p),
        ] {
            a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
        }
        for (a, b) in self.ap_excess_db.iter_mut().zip(&o.ap_excess_db) {
            a.extend_from_slice(b);
        }
        for (a, b) in self.sinr_top_db.iter_mut().zip(&o.sinr_top_db) {
            a.extend_from_slice(b);
        }
        self.count += o.count;
        self.direct_gain += o.direct_gain;
        self.drops += o.drops;
    }
}

fn sum_rate(sinr: &[f64]) -> f64 {
    sinr.iter().map(|s| (1.0 + s).log2()).sum()
}

impl Config {
    /// One estimation/data slot on every evaluated subcarrier and every power.
    #[allow(clippy::too_many_arguments)]
    fn slot(
        &self,
        h: &[CMat],
        subcarriers: &[i32],
        spacing: f64,
        (imp_e, imp_d): (&Impairment, &Impairment),
        powers_w: &[f64],
        noise: &mut crate::rng::SimRng,
        acc: &mut Acc,
    ) -> Result<(), RunError> {
        let (m, k) = (h[0].nrows(), h[0].ncols());
        let top = powers_w.len() - 1;
        let numerical = |e: crate::linalg::LinalgError| RunError::Numerical(e.to_string());
        for (hn, &n) in h.iter().zip(subcarriers) {
            let h_e = imp_e.apply(hn.as_ref(), n, spacing);
            let h_d = imp_d.apply(hn.as_ref(), n, spacing);
            // unit estimation noise, scaled per power (common random numbers)
            let e = Mat::from_fn(m, k, |_, _| cn01(noise));
            let ideal = zf(h_d.as_ref()).map_err(numerical)?;
            for (pi, &p) in powers_w.iter().enumerate() {
                let pilot_w = self.pilot_power_dbm.map_or(p, dbm_to_w);
                let scale = 1.0 / (pilot_w * self.pilot_symbols as f64).sqrt();
                let h_hat = Mat::from_fn(m, k, |i, j| h_e[(i, j)] + e[(i, j)] * scale);
                let z = zf(h_hat.as_ref()).map_err(numerical)?;
                let q = water_fill(&z.lambda, m as f64 * p);
                let sinr = sinr_linear(h_d.as_ref(), z.v.as_ref(), &q, 1.0);
                acc.mu[pi] += sum_rate(&sinr);
                acc.mu_no_drift[pi] += sum_rate(&sinr_linear(h_e.as_ref(), z.v.as_ref(), &q, 1.0));
                let q_ideal = water_fill(&ideal.lambda, m as f64 * p);
                acc.mu_ideal[pi] +=
                    sum_rate(&sinr_linear(h_d.as_ref(), ideal.v.as_ref(), &q_ideal, 1.0));
                let p2p: f64 = (0..m.min(k))
                    .map(|i| (1.0 + p * h_d[(i, i)].norm_sqr()).log2())
                    .sum::<f64>()
                    / m.min(k) as f64;
                acc.p2p[pi] += p2p;
                let load = (0..m)
                    .map(|i| (0..k).map(|j| q[j] * z.v[(i, j)].norm_sqr()).sum::<f64>())
                    .fold(0.0, f64::max);
                acc.ap_excess_db[pi].push(lin_to_db(load / p));
                if pi == top {
                    for (j, s) in sinr.iter().enumerate() {
                        acc.sinr_top_db[j].push(lin_to_db(s.max(1e-12)));
                    }
                }
            }
            acc.count += 1;
        }
        Ok(())
    }

    fn report(&self, acc: Acc, m: usize) -> Result<Outcome, RunError> {
        let n = acc.count as f64;
        let drops = acc.drops as f64;
        let mean = |v: &[f64]| v.iter().map(|x| x / n).collect::<Vec<f64>>();
        let (mu, mu_nd, mu_id, p2p) = (
            mean(&acc.mu),
            mean(&acc.mu_no_drift),
            mean(&acc.mu_ideal),
            mean(&acc.p2p),
        );
        let gain: Vec<f64> = mu.iter().zip(&p2p).map(|(a, b)| a / b).collect();
        let avg = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        let gain_of = |x: &[f64]| avg(&x.iter().zip(&p2p).map(|(a, b)| a / b).collect::<Vec<_>>());
        let direct_snr_db: Vec<f64> = self
            .tx_power_dbm
            .iter()
            .map(|&p| lin_to_db(dbm_to_w(p) * acc.direct_gain / drops))
            .collect();
        let mut out = Outcome::default();
        let mt = &mut out.metrics;
        mt.insert("mean_gain_over_sweep".into(), avg(&gain));
        mt.insert("gain_of_mean_rates".into(), avg(&mu) / avg(&p2p));
        mt.insert("no_drift_mean_gain_over_sweep".into(), gain_of(&mu_nd));
        mt.insert("ideal_csi_mean_gain_over_sweep".into(), gain_of(&mu_id));
        let top = self.tx_power_dbm.len() - 1;
        mt.insert("gain_at_max_power".into(), gain[top]);
        mt.insert("gain_at_min_power".into(), gain[0]);
        mt.insert("direct_snr_db_at_max_power".into(), direct_snr_db[top]);
        for (i, &p) in self.tx_power_dbm.iter().enumerate() {
            mt.insert(key("sum_rate_bps_per_hz", p, "dbm"), mu[i]);
            mt.insert(key("p2p_rate_bps_per_hz", p, "dbm"), p2p[i]);
            mt.insert(key("gain", p, "dbm"), gain[i]);
        }
        let excess: Vec<Cdf> = acc
            .ap_excess_db
            .iter()
            .map(|v| Cdf::new(v.clone()))
            .collect();
        mt.insert(
            "ap_power_excess_p95_db_at_max_power".into(),
            excess[top].percentile(95.0),
        );
        let sinr: Vec<Cdf> = acc
            .sinr_top_db
            .iter()
            .map(|v| Cdf::new(v.clone()))
            .collect();
        for (j, c) in sinr.iter().enumerate() {
            mt.insert(
                format!("user{j}_sinr_median_db_at_max_power"),
                c.percentile(50.0),
            );
        }
        out.tables.push(Table {
            name: "rates_vs_power".into(),
            columns: vec![
                "tx_power_dbm".into(),
                "direct_snr_db".into(),
                "p2p_bps_per_hz".into(),
                "mu_zf_bps_per_hz".into(),
                "mu_zf_no_drift_bps_per_hz".into(),
                "mu_zf_ideal_csi_bps_per_hz".into(),
                "gain".into(),
                "ap_power_excess_p95_db".into(),
            ],
            rows: (0..self.tx_power_dbm.len())
                .map(|i| {
                    vec![
                        self.tx_power_dbm[i],
                        direct_snr_db[i],
                        p2p[i],
                        mu[i],
                        mu_nd[i],
                        mu_id[i],
                        gain[i],
                        excess[i].percentile(95.0),
                    ]
                })
                .collect(),
        });
        out.tables.push(Table {
            name: "sinr_quantiles_at_max_power".into(),
            columns: std::iter::once("percentile".to_string())
                .chain((0..sinr.len()).map(|j| format!("user{j}_sinr_db")))
                .collect(),
            rows: (0..=100)
                .map(|p| {
                    std::iter::once(p as f64)
                        .chain(sinr.iter().map(|c| c.percentile(p as f64)))
                        .collect()
                })
                .collect(),
        });
        let pts = |v: &[f64]| -> Vec<(f64, f64)> {
            self.tx_power_dbm
                .iter()
                .copied()
                .zip(v.iter().copied())
                .collect()
        };
        out.figures.push(
            Figure::new(
                "sum_rate_vs_power",
                &format!("Fig. 4.12: {m}-stream ZF sum rate vs point-to-point"),
                "transmit power per AP (dBm)",
                "rate (bps/Hz)",
            )
            .line(
                "multi-user ZF (estimated H̃, drift to data)",
                Origin::Measured,
                Style::LineMarkers,
                pts(&mu),
            )
            .line(
                "multi-user ZF, no drift (estimation noise only)",
                Origin::Measured,
                Style::Line,
                pts(&mu_nd),
            )
            .line(
                "multi-user ZF, ideal CSI",
                Origin::Measured,
                Style::Line,
                pts(&mu_id),
            )
            .line(
                "point-to-point (mean over the APs)",
                Origin::Measured,
                Style::LineMarkers,
                pts(&p2p),
            )
            .line(
                "thesis: 2.65 × point-to-point",
                Origin::Paper,
                Style::Markers,
                pts(&p2p.iter().map(|r| 2.65 * r).collect::<Vec<_>>()),
            )
            .y_range(0.0, 35.0),
        );
        out.figures.push(
            Figure::new(
                "gain_vs_power",
                "Multi-user sum rate over point-to-point rate",
                "transmit power per AP (dBm)",
                "rate gain",
            )
            .line(
                "ZF (estimated H̃, drift)",
                Origin::Measured,
                Style::LineMarkers,
                pts(&gain),
            )
            .line(
                "ZF, no drift",
                Origin::Measured,
                Style::Line,
                pts(&mu_nd
                    .iter()
                    .zip(&p2p)
                    .map(|(a, b)| a / b)
                    .collect::<Vec<_>>()),
            )
            .line(
                "ZF, ideal CSI",
                Origin::Measured,
                Style::Line,
                pts(&mu_id
                    .iter()
                    .zip(&p2p)
                    .map(|(a, b)| a / b)
                    .collect::<Vec<_>>()),
            )
            .line(
                "thesis: average gain ≈ 2.65",
                Origin::Paper,
                Style::Line,
                vec![(self.tx_power_dbm[0], 2.65), (self.tx_power_dbm[top], 2.65)],
            ),
        );
        let mut fig = Figure::new(
            "sinr_cdf_max_power",
            &format!(
                "Per-client SINR at {} dBm (cf. Fig. 4.9)",
                self.tx_power_dbm[top]
            ),
            "SINR (dB)",
            "empirical CDF",
        );
        for (j, c) in sinr.iter().enumerate() {
            fig = fig.line(
                &format!("client {}", j + 1),
                Origin::Measured,
                Style::Step,
                c.points(300),
            );
        }
        out.figures.push(fig.y_range(0.0, 1.0));
        Ok(out)
    }
}
