//! DistSync's frequency synchronization on WARP-like oscillators (thesis §4.2–4.4, Figs. 4.7 and
//! 4.8; notes/003 §3.2–3.5, §6 targets 12–13):
//!
//! * `distsync.residual-cfo` (Fig. 4.7): the residual CFO after beacon synchronization, measured
//!   as the thesis did, with a sine from each AP to a client that is itself synchronized, at random
//!   times between refreshes; and the AP-to-AP residual that Table 4.1's 10 Hz precision is about.
//! * `distsync.phase-drift` (Fig. 4.8): the change of the two APs' relative phase, seen by a
//!   client on pilots, between channel estimation and data up to 1 ms later.
//!
//! Both run the protocol of [`crate::sync::pairwise_beacons`] at sample level: every ~100 ms a
//! sync slot in which beacons (a known sequence of 4 OFDM symbols at 20 MHz, sent twice half a
//! slot apart) cross the inter-node links with AWGN, a residual timing error and both nodes'
//! oscillators; the listeners' modified Schmidl–Cox estimates are combined and every node retunes,
//! then free-runs on its correction (holdover) until the next slot. By default only AP 0 beacons,
//! as in the thesis' prototype (§4.4 footnote 3); `compare_modes` reruns the same oscillators with
//! every AP beaconing and least-squares combination.
//!
//! Every modelling choice is a field of [`SyncSetup`] (shared with `distsync.sum-rate-4x4`),
//! documented there with its source.

use super::super::{par_indexed, Context, ExperimentConfig, Outcome, RunError};
use crate::channel::fading::PowerDelayProfile;
use crate::linalg::cn01;
use crate::metrics::Cdf;
use crate::radio::ofdm::Numerology;
use crate::radio::oscillator::OscillatorSpec;
use crate::report::{Figure, Origin, Style, Table};
use crate::rng::SeedTree;
use crate::scenario::{Check, FieldError};
use crate::sync::pairwise_beacons::{
    ofdm_beacon_sequence, BeaconMode, Gauge, PairwiseBeaconSync, ProtocolSpec, SyncNode, ToneTest,
};
use crate::units::{cis, db_to_lin, rad_to_deg, wrap_phase, C64};
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::f64::consts::{PI, TAU};

/// The oscillators and the synchronization protocol, shared by the DistSync experiments.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncSetup {
    /// Carrier (Hz): WARP in the 2.4 GHz band (thesis §3.1).
    pub carrier_hz: f64,
    /// Every node's oscillator, [`OscillatorSpec::WARP`]:
    /// * static offsets uniform in ±`max_offset_ppm`: "our oscillators, which have 1.5 ppm
    ///   frequency stability" (§4.3; ±3.6 kHz at 2.4 GHz, consistent with Fig. 4.1's 3.75 kHz
    ///   between two boards).
    /// * thermal frequency random walk of every oscillator (Hz²/s). Derived from Table 4.1 (CFO
    ///   rate of change 100 Hz/s, hence a 10 Hz budget per 100 ms refresh): the relative CFO of two
    ///   boards changes over 100 ms by at most 10 Hz at the 95th percentile,
    ///   1.96·√(2·q·0.1 s) = 10 Hz ⇒ q = 130 Hz²/s. Cross-check with Fig. 4.1: the relative CFO's
    ///   expected range over 1 s is √(8/π)·√(2q) = 26 Hz, the figure's ≈ 3740–3770 Hz band.
    /// * 3 dB linewidth of every oscillator's Wiener phase noise (Hz). WARP's is "quite small"
    ///   (Fig. 2.2); a 40 MHz TCXO multiplied to 2.4 GHz has L(10 Hz) ≈ −54 dBc/Hz, a Lorentzian of
    ///   β ≈ 10⁻³ Hz; 0.01 Hz (as in `thesis.cfo-null-collapse`) is a conservative upper value.
    pub oscillator: OscillatorSpec,
    /// Sync refresh period (s): "about 10 times per second" (§4.2).
    pub refresh_interval_s: f64,
    /// Length of the sync slot's beacon period (s). "The whole estimation fits within one packet
    /// time, < 1 ms" (§4.3): 1 ms. The copies of every beacon are half a slot (D = 10 000 samples)
    /// apart whatever the number of turns, the fine estimator's range is ±1/(2D T_s) = ±1 kHz.
    pub sync_slot_s: f64,
    /// OFDM symbols (802.11 numerology, 80 samples each) in each half of the beacon sequence:
    /// 2, i.e. a sequence of 4 symbols (16 µs), "a few OFDM symbols" (§4.3).
    pub symbols_per_half: usize,
    /// Per-sample SNR of every beacon link (dB): 28.5 dB, the inter-AP pilot SNR measured with
    /// the same WARP radios (AirSync, Fig. 3.4); Ch. 4 considers inter-AP SNRs > 20 dB. In the
    /// anechoic chamber the link budget is larger, but the radios' EVM caps the effective SNR.
    pub link_snr_db: f64,
    /// Residual timing misalignment of every beacon link, uniform within ±this (s), drawn per
    /// slot: Table 4.1's 200 ns timing precision (4 samples at 20 MHz).
    pub max_timing_error_s: f64,
    /// Multipath of every beacon link: 1 = a fixed unit line-of-sight channel (the thesis
    /// measured in an anechoic chamber, §4.4); n > 1 = n Rayleigh taps at whole-sample spacing
    /// with powers ∝ e^(−l) (an indoor office), drawn once per link and run.
    pub multipath_taps: usize,
    /// Who beacons: the prototype's single source (default) or all pairs.
    pub mode: BeaconMode,
    /// What the combined offsets are relative to: AP 0 (the prototype's beacon source).
    pub gauge: Gauge,
}

impl SyncSetup {
    /// The WARP prototype of thesis §4.4 with the choices documented on the fields.
    pub fn warp_prototype() -> Self {
        SyncSetup {
            carrier_hz: 2.4e9,
            oscillator: OscillatorSpec::WARP,
            refresh_interval_s: 0.1,
            sync_slot_s: 1e-3,
            symbols_per_half: 2,
            link_snr_db: 28.5,
            max_timing_error_s: 200e-9,
            multipath_taps: 1,
            mode: BeaconMode::SingleSource,
            gauge: Gauge::Reference,
        }
    }

    /// Range checks, naming fields `config.sync.<field>`.
    pub fn validate(&self) -> Result<(), FieldError> {
        let c = Check {
            prefix: "config.sync",
        };
        c.range("carrier_hz", self.carrier_hz, 1e8, 1e11, "Hz")?;
        self.oscillator.validate("config.sync.oscillator")?;
        c.range(
            "refresh_interval_s",
            self.refresh_interval_s,
            0.01,
            10.0,
            "s",
        )?;
        c.range(
            "sync_slot_s",
            self.sync_slot_s,
            1e-5,
            0.5 * self.refresh_interval_s,
            "s",
        )?;
        c.count("symbols_per_half", self.symbols_per_half, 1, 16)?;
        c.range("link_snr_db", self.link_snr_db, -10.0, 80.0, "dB")?;
        c.range(
            "max_timing_error_s",
            self.max_timing_error_s,
            0.0,
            1e-5,
            "s",
        )?;
        c.count("multipath_taps", self.multipath_taps, 1, 16)
    }

    fn numerology() -> Numerology {
        Numerology::wifi20()
    }

    /// The protocol for M APs and clients following the given APs.
    pub fn protocol(
        &self,
        mode: BeaconMode,
        n_aps: usize,
        followers: Vec<usize>,
        seeds: SeedTree,
    ) -> Result<PairwiseBeaconSync, RunError> {
        let num = Self::numerology();
        let fs = num.sample_rate_hz;
        let sequence = ofdm_beacon_sequence(
            &num,
            self.symbols_per_half,
            &mut seeds.child("sequence").rng(),
        );
        PairwiseBeaconSync::new(
            ProtocolSpec {
                mode,
                gauge: self.gauge,
                n_aps,
                followers,
                ap_graph: None,
                link_snr: db_to_lin(self.link_snr_db),
                slot_samples: (self.sync_slot_s * fs).round() as usize,
                max_timing_error_samples: (self.max_timing_error_s * fs).round() as usize,
                sample_rate_hz: fs,
                multipath: PowerDelayProfile::exponential(self.multipath_taps, 1.0),
            },
            sequence,
        )
        .map(|mut p| {
            if self.multipath_taps > 1 {
                p.draw_channels(&mut seeds.child("beacon-channels").rng());
            }
            p
        })
        .map_err(|e| RunError::Config(FieldError::new("config.sync", e.to_string())))
    }

    /// `n` nodes with oscillators drawn from their own streams under `seeds`.
    pub fn nodes(&self, n: usize, seeds: SeedTree) -> Vec<SyncNode> {
        let spec = self.oscillator;
        (0..n)
            .map(|i| {
                let s = seeds.index(i as u64);
                let params = spec.draw(self.carrier_hz, &mut s.child("draw").rng());
                SyncNode::new(params, s.child("walk").rng())
            })
            .collect()
    }

    /// Variance (Hz²) of a listener's residual frequency relative to a single beacon source,
    /// τ seconds after the retuning: thermal CRB of the fine estimate + the two oscillators' phase
    /// noise over the spacing D, β/(πD) + their relative frequency walk since the middle of the
    /// estimate, 2q(τ + 4D/3) (the estimate averages the walk over the D between the copies,
    /// which end D before the retuning).
    pub fn residual_var_hz2(&self, protocol: &PairwiseBeaconSync, tau_s: f64) -> f64 {
        let d = protocol.spacing_s();
        protocol.crb_hz2().unwrap_or(0.0)
            + self.oscillator.linewidth_hz / (PI * d)
            + 2.0 * self.oscillator.freq_walk_hz2_per_s * (tau_s + 4.0 * d / 3.0)
    }
}

/// Standard normal CDF (Abramowitz–Stegun 7.1.26 for erf, |error| < 1.5·10⁻⁷).
fn normal_cdf(x: f64) -> f64 {
    let z = x.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * z);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erf = 1.0 - poly * (-z * z).exp();
    0.5 * (1.0 + x.signum() * erf)
}

/// The CDF of a zero-mean Gaussian mixture with the given variances (equal weights) on `xs`.
fn mixture_cdf(vars: &[f64], xs: &[f64]) -> Vec<(f64, f64)> {
    xs.iter()
        .map(|&x| {
            let f = vars.iter().map(|v| normal_cdf(x / v.sqrt())).sum::<f64>() / vars.len() as f64;
            (x, f)
        })
        .collect()
}

fn grid(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| lo + (hi - lo) * i as f64 / (n - 1) as f64)
        .collect()
}

fn std_dev(x: &[f64]) -> f64 {
    let n = x.len() as f64;
    let m = x.iter().sum::<f64>() / n;
    (x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (n - 1.0).max(1.0)).sqrt()
}

fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

/// Stratified random times in the holdover interval [start, end): one per sub-interval of
/// (end − start)/n, each leaving `busy_s` before the sub-interval's end.
fn stratified_times(start: f64, end: f64, n: usize, busy_s: f64, rng: &mut impl Rng) -> Vec<f64> {
    let w = (end - start) / n as f64;
    (0..n)
        .map(|j| start + j as f64 * w + rng.random_range(0.0..1.0) * (w - busy_s))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// distsync.residual-cfo
// ---------------------------------------------------------------------------------------------

/// Configuration of `distsync.residual-cfo`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResidualCfoConfig {
    /// Oscillators and protocol.
    pub sync: SyncSetup,
    /// APs (≥ 2): AP 0 is the beacon source / reference; the prototype of Fig. 4.7 had 2.
    pub aps: usize,
    /// Other modes run on the same oscillators and noise streams for comparison (the thesis'
    /// footnote 3 expects a second beacon source to "closely match" the single one).
    pub compare_modes: Vec<BeaconMode>,
    /// Length of the measuring sine (s): one 1 ms data slot.
    pub tone_window_s: f64,
    /// Observations of the sine over its window (integrate-and-dump blocks of the 20 Msps
    /// stream at the link SNR).
    pub tone_observations: usize,
    /// Independent realizations (oscillator draws).
    pub realizations: usize,
    /// Sync slots per realization (the first one acquires from the raw offsets).
    pub refreshes: usize,
    /// Sine measurements per holdover interval, at stratified random times.
    pub measurements_per_interval: usize,
}

impl ExperimentConfig for ResidualCfoConfig {
    fn full() -> Self {
        ResidualCfoConfig {
            sync: SyncSetup::warp_prototype(),
            aps: 2,
            compare_modes: vec![BeaconMode::AllPairs],
            tone_window_s: 1e-3,
            tone_observations: 64,
            realizations: 200,
            refreshes: 10,
            measurements_per_interval: 5,
        }
    }

    fn quick() -> Self {
        ResidualCfoConfig {
            realizations: 60,
            refreshes: 5,
            measurements_per_interval: 4,
            ..Self::full()
        }
    }

    fn validate(&self) -> Result<(), FieldError> {
        self.sync.validate()?;
        let c = Check { prefix: "config" };
        c.count("aps", self.aps, 2, 64)?;
        for (i, m) in self.compare_modes.iter().enumerate() {
            if *m == self.sync.mode || self.compare_modes[..i].contains(m) {
                return Err(FieldError::new(
                    format!("config.compare_modes[{i}]"),
                    "repeats `sync.mode` or an earlier entry; allowed: distinct other modes",
                ));
            }
        }
        c.count("tone_observations", self.tone_observations, 2, 100_000)?;
        c.count("realizations", self.realizations, 1, 1_000_000)?;
        c.count("refreshes", self.refreshes, 1, 10_000)?;
        c.count(
            "measurements_per_interval",
            self.measurements_per_interval,
            1,
            1000,
        )?;
        let room = (self.sync.refresh_interval_s - self.sync.sync_slot_s)
            / self.measurements_per_interval as f64;
        c.range("tone_window_s", self.tone_window_s, 1e-5, 0.9 * room, "s")
    }

    fn run(&self, ctx: &Context) -> Result<Outcome, RunError> {
        let modes: Vec<BeaconMode> = std::iter::once(self.sync.mode)
            .chain(self.compare_modes.iter().copied())
            .collect();
        let m = self.aps;
        let user = m;
        let protocols: Vec<PairwiseBeaconSync> = modes
            .iter()
            .map(|&mode| {
                self.sync
                    .protocol(mode, m, vec![0], ctx.seeds.child("beacon"))
            })
            .collect::<Result<_, _>>()?;
        let fs = Numerology::wifi20().sample_rate_hz;
        let block = (self.tone_window_s * fs / self.tone_observations as f64).max(1.0);
        let tone = ToneTest {
            window_s: self.tone_window_s,
            n_obs: self.tone_observations,
            obs_snr: db_to_lin(self.sync.link_snr_db) * block,
        };
        ctx.progress.begin("realizations", self.realizations as u64);
        let per_real = par_indexed(
            self.realizations,
            ctx.progress,
            |r| -> Result<Vec<ModeSamples>, RunError> {
                let seeds = ctx.seeds.child("realization").index(r as u64);
                protocols
                    .iter()
                    .map(|p| self.realization(p, &tone, seeds, user))
                    .collect()
            },
        );
        let per_real: Vec<Vec<ModeSamples>> = per_real.into_iter().collect::<Result<_, _>>()?;
        let pooled: Vec<ModeSamples> = (0..modes.len())
            .map(|k| {
                let mut acc = ModeSamples::default();
                for r in &per_real {
                    acc.extend(&r[k]);
                }
                acc
            })
            .collect();

        let mut out = Outcome::default();
        let main = &pooled[0];
        let proto = &protocols[0];
        let (src, lis, pair) = (
            Cdf::new(main.source_to_user.clone()),
            Cdf::new(main.listener_to_user.clone()),
            Cdf::new(main.pair.clone()),
        );
        let pair_abs = Cdf::new(main.pair.iter().map(|x| x.abs()).collect());
        let mt = &mut out.metrics;
        for (name, cdf, x) in [
            ("source_to_user", &src, &main.source_to_user),
            ("listener_to_user", &lis, &main.listener_to_user),
            ("ap_pair_residual", &pair, &main.pair),
        ] {
            mt.insert(format!("{name}_p2_hz"), cdf.percentile(2.0));
            mt.insert(format!("{name}_p98_hz"), cdf.percentile(98.0));
            mt.insert(format!("{name}_mean_hz"), mean(x));
            mt.insert(format!("{name}_std_hz"), std_dev(x));
        }
        mt.insert(
            "ap_pair_residual_abs_p95_hz".into(),
            pair_abs.percentile(95.0),
        );
        mt.insert(
            "ap_pair_residual_abs_p50_hz".into(),
            pair_abs.percentile(50.0),
        );
        mt.insert("unwrap_failures".into(), main.unwrap_failures as f64);
        mt.insert("pairwise_estimates".into(), main.estimates as f64);
        mt.insert("beacon_spacing_us".into(), proto.spacing_s() * 1e6);
        mt.insert(
            "beacon_fine_crb_std_hz".into(),
            proto.crb_hz2().unwrap_or(0.0).sqrt(),
        );
        mt.insert(
            "pairwise_estimate_error_std_hz".into(),
            std_dev(&main.estimate_errors),
        );
        // theory, per measurement time; single source only (the closed form assumes one estimate)
        let single = modes[0] == BeaconMode::SingleSource;
        let window = self.tone_window_s;
        let pn_tone = self.sync.oscillator.linewidth_hz / (PI * window);
        let pair_vars: Vec<f64> = main
            .tau
            .iter()
            .map(|&t| self.sync.residual_var_hz2(proto, t))
            .collect();
        // a sine measures the residual averaged over its window, plus both oscillators' phase
        // noise over it. The listening AP and the client both estimated against the source's
        // beacon: the source's phase noise and walk cancel in their difference, which carries the
        // two listeners' thermal errors (2·CRB) and their own phase noise and walks.
        let crb = proto.crb_hz2().unwrap_or(0.0);
        let src_vars: Vec<f64> = main
            .tau
            .iter()
            .map(|&t| self.sync.residual_var_hz2(proto, t + window / 2.0) + pn_tone)
            .collect();
        let tone_vars: Vec<f64> = src_vars.iter().map(|v| v + crb).collect();
        if single {
            mt.insert(
                "ap_pair_residual_std_hz_theory".into(),
                mean(&pair_vars).sqrt(),
            );
            mt.insert(
                "listener_to_user_std_hz_theory".into(),
                mean(&tone_vars).sqrt(),
            );
            mt.insert(
                "source_to_user_std_hz_theory".into(),
                mean(&src_vars).sqrt(),
            );
        }
        for (k, mode) in modes.iter().enumerate().skip(1) {
            let s = &pooled[k];
            let key = mode.key();
            let abs = Cdf::new(s.pair.iter().map(|x| x.abs()).collect());
            mt.insert(format!("{key}_ap_pair_residual_std_hz"), std_dev(&s.pair));
            mt.insert(
                format!("{key}_ap_pair_residual_abs_p95_hz"),
                abs.percentile(95.0),
            );
            mt.insert(
                format!("{key}_listener_to_user_std_hz"),
                std_dev(&s.listener_to_user),
            );
            mt.insert(
                format!("{key}_source_to_user_std_hz"),
                std_dev(&s.source_to_user),
            );
            mt.insert(format!("{key}_unwrap_failures"), s.unwrap_failures as f64);
        }

        // CSV: quantiles of every series
        let mut columns = vec![
            "percentile".to_string(),
            "source_to_user_hz".into(),
            "listener_to_user_hz".into(),
            "ap_pair_residual_hz".into(),
        ];
        let mut cdfs = vec![src.clone(), lis.clone(), pair.clone()];
        for (k, mode) in modes.iter().enumerate().skip(1) {
            let key = mode.key();
            columns.push(format!("{key}_source_to_user_hz"));
            columns.push(format!("{key}_listener_to_user_hz"));
            columns.push(format!("{key}_ap_pair_residual_hz"));
            cdfs.push(Cdf::new(pooled[k].source_to_user.clone()));
            cdfs.push(Cdf::new(pooled[k].listener_to_user.clone()));
            cdfs.push(Cdf::new(pooled[k].pair.clone()));
        }
        out.tables.push(Table {
            name: "residual_cfo_quantiles".into(),
            columns,
            rows: (0..=100)
                .map(|p| {
                    std::iter::once(p as f64)
                        .chain(cdfs.iter().map(|c| c.percentile(p as f64)))
                        .collect()
                })
                .collect(),
        });

        // residual vs time since the retuning
        let bins = 10;
        let span = self.sync.refresh_interval_s - proto.period_s();
        let mut rows = Vec::new();
        let (mut rms_pts, mut th_pts) = (Vec::new(), Vec::new());
        for b in 0..bins {
            let (lo, hi) = (
                span * b as f64 / bins as f64,
                span * (b + 1) as f64 / bins as f64,
            );
            let sel: Vec<f64> = main
                .tau
                .iter()
                .zip(main.pair.chunks(m - 1))
                .filter(|(t, _)| **t >= lo && **t < hi)
                .flat_map(|(_, p)| p.iter().copied())
                .collect();
            if sel.is_empty() {
                continue;
            }
            let mid = 0.5 * (lo + hi);
            let rms = (sel.iter().map(|x| x * x).sum::<f64>() / sel.len() as f64).sqrt();
            let th = self.sync.residual_var_hz2(proto, mid).sqrt();
            rows.push(vec![mid * 1e3, rms, th, sel.len() as f64]);
            rms_pts.push((mid * 1e3, rms));
            th_pts.push((mid * 1e3, th));
        }
        out.tables.push(Table {
            name: "residual_vs_time_since_sync".into(),
            columns: vec![
                "time_since_sync_ms".into(),
                "ap_pair_residual_rms_hz".into(),
                "theory_rms_hz".into(),
                "samples".into(),
            ],
            rows,
        });

        let xs = grid(-40.0, 40.0, 161);
        let mut fig = Figure::new(
            "residual_cfo_cdf",
            "Fig. 4.7: residual CFO after DistSync (sine from AP to a synchronized client)",
            "residual CFO (Hz)",
            "empirical CDF",
        )
        .line(
            "AP transmitting the beacon → client",
            Origin::Measured,
            Style::Step,
            src.points(400),
        )
        .line(
            "AP listening to the beacon → client",
            Origin::Measured,
            Style::Step,
            lis.points(400),
        )
        .line(
            "listening AP vs beacon AP (true residual)",
            Origin::Measured,
            Style::Step,
            pair.points(400),
        );
        if single {
            fig = fig
                .line(
                    "theory: AP pair (CRB + phase noise + walk)",
                    Origin::Theory,
                    Style::Line,
                    mixture_cdf(&pair_vars, &xs),
                )
                .line(
                    "theory: listening AP → client",
                    Origin::Theory,
                    Style::Line,
                    mixture_cdf(&tone_vars, &xs),
                );
        }
        for (k, mode) in modes.iter().enumerate().skip(1) {
            fig = fig.line(
                &format!("{}: listening AP → client", mode.key().replace('_', " ")),
                Origin::Measured,
                Style::Step,
                Cdf::new(pooled[k].listener_to_user.clone()).points(400),
            );
        }
        fig = fig
            .line(
                "thesis Fig. 4.7: CDFs span −20…30 Hz",
                Origin::Paper,
                Style::Markers,
                vec![(-20.0, 0.0), (30.0, 1.0)],
            )
            .x_range(-40.0, 40.0)
            .y_range(0.0, 1.0);
        out.figures.push(fig);
        out.figures.push(
            Figure::new(
                "residual_vs_time_since_sync",
                "AP-pair residual CFO vs time since the last sync slot (holdover)",
                "time since retuning (ms)",
                "RMS residual CFO (Hz)",
            )
            .line("measured", Origin::Measured, Style::LineMarkers, rms_pts)
            .line(
                "theory: √(CRB + β/(πD) + 2q(τ + 4D/3))",
                Origin::Theory,
                Style::Line,
                th_pts,
            )
            .line(
                "Table 4.1: 10 Hz precision",
                Origin::Paper,
                Style::Line,
                vec![(0.0, 10.0), (span * 1e3, 10.0)],
            ),
        );
        Ok(out)
    }
}

/// Samples collected in one mode (one realization, or pooled).
#[derive(Default)]
struct ModeSamples {
    /// Time of each measurement since the last retuning (s).
    tau: Vec<f64>,
    /// Sine AP 0 → client, measured (Hz).
    source_to_user: Vec<f64>,
    /// Sine AP i → client for every listening AP i ≥ 1 (Hz).
    listener_to_user: Vec<f64>,
    /// True residual x_i − x_0 for every listening AP, at the window's middle (Hz); M − 1 per
    /// measurement time.
    pair: Vec<f64>,
    /// Pairwise fine estimates minus the truth (Hz), all slots after the first.
    estimate_errors: Vec<f64>,
    estimates: usize,
    unwrap_failures: usize,
}

impl ModeSamples {
    fn extend(&mut self, o: &ModeSamples) {
        self.tau.extend_from_slice(&o.tau);
        self.source_to_user.extend_from_slice(&o.source_to_user);
        self.listener_to_user.extend_from_slice(&o.listener_to_user);
        self.pair.extend_from_slice(&o.pair);
        self.estimate_errors.extend_from_slice(&o.estimate_errors);
        self.estimates += o.estimates;
        self.unwrap_failures += o.unwrap_failures;
    }
}

/// Counts pairwise estimates off by more than half the fine estimator's ambiguity (a wrong
/// alias) and, if `keep_errors`, collects the errors of the others.
fn score_estimates(
    protocol: &PairwiseBeaconSync,
    report: &crate::sync::pairwise_beacons::RefreshReport,
    acc: &mut ModeSamples,
    keep_errors: bool,
) {
    let fs = protocol.spec().sample_rate_hz;
    let half_amb = 0.5 * fs / protocol.beacon().spacing as f64;
    for (m, t) in report.measurements.iter().zip(&report.true_hz) {
        acc.estimates += 1;
        let e = m.value - t;
        if e.abs() > half_amb {
            acc.unwrap_failures += 1;
        } else if keep_errors {
            acc.estimate_errors.push(e);
        }
    }
}

impl ResidualCfoConfig {
    fn realization(
        &self,
        protocol: &PairwiseBeaconSync,
        tone: &ToneTest,
        seeds: SeedTree,
        user: usize,
    ) -> Result<ModeSamples, RunError> {
        let m = self.aps;
        let mut nodes = self.sync.nodes(m + 1, seeds.child("oscillator"));
        let mut acc = ModeSamples::default();
        let txs: Vec<usize> = (0..m).collect();
        let mut tone_rng = seeds.child("tone").rng();
        for k in 0..self.refreshes {
            let t0 = k as f64 * self.sync.refresh_interval_s;
            let report = protocol
                .refresh(
                    &mut nodes,
                    t0,
                    &mut seeds.child("beacons").index(k as u64).rng(),
                )
                .map_err(|e| RunError::Numerical(e.to_string()))?;
            score_estimates(protocol, &report, &mut acc, k > 0);
            let t_next = t0 + self.sync.refresh_interval_s;
            let times = stratified_times(
                report.end_s,
                t_next,
                self.measurements_per_interval,
                self.tone_window_s,
                &mut seeds.child("times").index(k as u64).rng(),
            );
            for t in times {
                // the true residuals at the start of the sine's window, then the sine
                for n in nodes.iter_mut() {
                    n.advance_to(t);
                }
                let x0 = nodes[0].residual_frequency_hz();
                acc.tau.push(t - report.end_s);
                for node in &nodes[1..m] {
                    acc.pair.push(node.residual_frequency_hz() - x0);
                }
                let f = tone.run(&mut nodes, &txs, user, t, &mut tone_rng);
                acc.source_to_user.push(f[0]);
                acc.listener_to_user.extend_from_slice(&f[1..]);
            }
        }
        Ok(acc)
    }
}

// ---------------------------------------------------------------------------------------------
// distsync.phase-drift
// ---------------------------------------------------------------------------------------------

/// Configuration of `distsync.phase-drift`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhaseDriftConfig {
    /// Oscillators and protocol (two APs and one client, as in the thesis' 2×2 experiment).
    pub sync: SyncSetup,
    /// Per-subcarrier SNR of each AP's pilot at the client (dB): 30 dB, the point-to-point SNR
    /// of the thesis' WARP links (9.96 bps/Hz, §3.2; notes/003 §8 item 7).
    pub pilot_snr_db: f64,
    /// Data follows the channel estimation by a delay uniform in (0, this] (s): "up to one
    /// millisecond later" (§4.4).
    pub max_delay_s: f64,
    pub realizations: usize,
    pub refreshes: usize,
    /// Estimation/data pairs per holdover interval, at stratified random times.
    pub measurements_per_interval: usize,
}

impl ExperimentConfig for PhaseDriftConfig {
    fn full() -> Self {
        PhaseDriftConfig {
            sync: SyncSetup::warp_prototype(),
            pilot_snr_db: 30.0,
            max_delay_s: 1e-3,
            realizations: 200,
            refreshes: 10,
            measurements_per_interval: 10,
        }
    }

    fn quick() -> Self {
        PhaseDriftConfig {
            realizations: 60,
            refreshes: 5,
            measurements_per_interval: 4,
            ..Self::full()
        }
    }

    fn validate(&self) -> Result<(), FieldError> {
        self.sync.validate()?;
        let c = Check { prefix: "config" };
        c.range("pilot_snr_db", self.pilot_snr_db, -10.0, 80.0, "dB")?;
        c.count("realizations", self.realizations, 1, 1_000_000)?;
        c.count("refreshes", self.refreshes, 1, 10_000)?;
        c.count(
            "measurements_per_interval",
            self.measurements_per_interval,
            1,
            1000,
        )?;
        let room = (self.sync.refresh_interval_s - self.sync.sync_slot_s)
            / self.measurements_per_interval as f64;
        c.range("max_delay_s", self.max_delay_s, 1e-6, 0.9 * room, "s")
    }

    fn run(&self, ctx: &Context) -> Result<Outcome, RunError> {
        let protocol = self
            .sync
            .protocol(self.sync.mode, 2, vec![0], ctx.seeds.child("beacon"))?;
        let num = Numerology::wifi20();
        let n_sc = num.used.len();
        let sigma = (1.0 / db_to_lin(self.pilot_snr_db)).sqrt();
        ctx.progress.begin("realizations", self.realizations as u64);
        let per_real = par_indexed(
            self.realizations,
            ctx.progress,
            |r| -> Result<Vec<[f64; 4]>, RunError> {
                let seeds = ctx.seeds.child("realization").index(r as u64);
                let mut nodes = self.sync.nodes(3, seeds.child("oscillator"));
                // the static LOS channels of the two APs to the client: any fixed phases (they
                // cancel in the change); unit amplitude
                let mut ch_rng = seeds.child("channel").rng();
                let a: Vec<Vec<C64>> = (0..2)
                    .map(|_| {
                        (0..n_sc)
                            .map(|_| cis(ch_rng.random_range(0.0..TAU)))
                            .collect()
                    })
                    .collect();
                let mut noise = seeds.child("pilot-noise").rng();
                let mut out = Vec::new();
                for k in 0..self.refreshes {
                    let t0 = k as f64 * self.sync.refresh_interval_s;
                    let report = protocol
                        .refresh(
                            &mut nodes,
                            t0,
                            &mut seeds.child("beacons").index(k as u64).rng(),
                        )
                        .map_err(|e| RunError::Numerical(e.to_string()))?;
                    let mut trng = seeds.child("times").index(k as u64).rng();
                    let times = stratified_times(
                        report.end_s,
                        t0 + self.sync.refresh_interval_s,
                        self.measurements_per_interval,
                        self.max_delay_s,
                        &mut trng,
                    );
                    for t_e in times {
                        let delay = self.max_delay_s * (1.0 - trng.random_range(0.0..1.0));
                        let mut obs = |nodes: &mut [SyncNode], t: f64| {
                            for n in nodes.iter_mut() {
                                n.advance_to(t);
                            }
                            let th_u = nodes[2].residual_phase_rad();
                            let y: Vec<Vec<C64>> = (0..2)
                                .map(|i| {
                                    let rot = cis(nodes[i].residual_phase_rad() - th_u);
                                    a[i].iter()
                                        .map(|h| h * rot + cn01(&mut noise) * sigma)
                                        .collect()
                                })
                                .collect();
                            let rel = nodes[0].residual_phase_rad() - nodes[1].residual_phase_rad();
                            let df =
                                nodes[0].residual_frequency_hz() - nodes[1].residual_frequency_hz();
                            (y, rel, df)
                        };
                        let (y1, rel1, df1) = obs(&mut nodes, t_e);
                        let (y2, rel2, df2) = obs(&mut nodes, t_e + delay);
                        // the change of ∠(y_0 y_1*) between the two pilots, over all subcarriers
                        let z: C64 = (0..n_sc)
                            .map(|n| {
                                y2[0][n] * y2[1][n].conj() * (y1[0][n] * y1[1][n].conj()).conj()
                            })
                            .sum();
                        let df = 0.5 * (df1 + df2);
                        out.push([
                            rad_to_deg(z.arg()),
                            rad_to_deg(wrap_phase(rel2 - rel1)),
                            360.0 * df * delay,
                            delay,
                        ]);
                    }
                }
                Ok(out)
            },
        );
        let samples: Vec<[f64; 4]> = per_real
            .into_iter()
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .flatten()
            .collect();
        let measured: Vec<f64> = samples.iter().map(|s| s[0]).collect();
        let truth: Vec<f64> = samples.iter().map(|s| s[1]).collect();
        let cfo_only: Vec<f64> = samples.iter().map(|s| s[2]).collect();
        let cdf = Cdf::new(measured.clone());
        let abs = Cdf::new(measured.iter().map(|x| x.abs()).collect());
        let n = measured.len() as f64;
        let mut out = Outcome::default();
        let mt = &mut out.metrics;
        mt.insert("angle_change_p2_deg".into(), cdf.percentile(2.0));
        mt.insert("angle_change_p98_deg".into(), cdf.percentile(98.0));
        mt.insert("angle_change_std_deg".into(), std_dev(&measured));
        mt.insert("angle_change_abs_p95_deg".into(), abs.percentile(95.0));
        mt.insert("angle_change_abs_p98_deg".into(), abs.percentile(98.0));
        mt.insert("angle_change_abs_max_deg".into(), abs.percentile(100.0));
        mt.insert(
            "within_30deg_fraction".into(),
            measured.iter().filter(|x| x.abs() <= 30.0).count() as f64 / n,
        );
        mt.insert(
            "within_10deg_fraction".into(),
            measured.iter().filter(|x| x.abs() <= 10.0).count() as f64 / n,
        );
        mt.insert("true_change_std_deg".into(), std_dev(&truth));
        mt.insert("cfo_only_change_std_deg".into(), std_dev(&cfo_only));
        // measurement noise of one change: four pilots, each of angle variance 1/(2·SNR·N_sc)
        mt.insert(
            "pilot_measurement_std_deg_theory".into(),
            rad_to_deg((4.0 / (2.0 * db_to_lin(self.pilot_snr_db) * n_sc as f64)).sqrt()),
        );
        let truth_cdf = Cdf::new(truth);
        let cfo_cdf = Cdf::new(cfo_only);
        out.tables.push(Table {
            name: "angle_change_quantiles".into(),
            columns: vec![
                "percentile".into(),
                "measured_deg".into(),
                "true_deg".into(),
                "cfo_only_deg".into(),
            ],
            rows: (0..=100)
                .map(|p| {
                    let p = p as f64;
                    vec![
                        p,
                        cdf.percentile(p),
                        truth_cdf.percentile(p),
                        cfo_cdf.percentile(p),
                    ]
                })
                .collect(),
        });
        // RMS change vs delay, and its expectation: the AP pair's residual CFO (variance averaged
        // over the holdover, time since retuning uniform in [0, T_r − slot]) times the delay, the
        // two APs' Wiener phase noise over the delay, and the pilots' measurement noise
        let hold = self.sync.refresh_interval_s - protocol.period_s();
        let var_f = self.sync.residual_var_hz2(&protocol, hold / 2.0);
        let meas_var = 4.0 / (2.0 * db_to_lin(self.pilot_snr_db) * n_sc as f64);
        let expected_deg = |delay: f64| {
            rad_to_deg(
                ((TAU * delay).powi(2) * var_f
                    + 2.0 * TAU * self.sync.oscillator.linewidth_hz * delay
                    + meas_var)
                    .sqrt(),
            )
        };
        let bins = 10;
        let mut rows = Vec::new();
        let (mut pts, mut th_pts) = (Vec::new(), Vec::new());
        for b in 0..bins {
            let (lo, hi) = (
                self.max_delay_s * b as f64 / bins as f64,
                self.max_delay_s * (b + 1) as f64 / bins as f64,
            );
            let sel: Vec<f64> = samples
                .iter()
                .filter(|s| s[3] > lo && s[3] <= hi)
                .map(|s| s[0])
                .collect();
            if sel.is_empty() {
                continue;
            }
            let rms = (sel.iter().map(|x| x * x).sum::<f64>() / sel.len() as f64).sqrt();
            let mid = 0.5 * (lo + hi);
            rows.push(vec![mid * 1e6, rms, expected_deg(mid), sel.len() as f64]);
            pts.push((mid * 1e6, rms));
            th_pts.push((mid * 1e6, expected_deg(mid)));
        }
        out.tables.push(Table {
            name: "angle_change_vs_delay".into(),
            columns: vec![
                "delay_us".into(),
                "measured_rms_deg".into(),
                "theory_rms_deg".into(),
                "samples".into(),
            ],
            rows,
        });
        out.figures.push(
            Figure::new(
                "angle_change_cdf",
                "Fig. 4.8: change of the two APs' relative pilot angle, estimation → data (≤ 1 ms)",
                "relative angle change (deg)",
                "empirical CDF",
            )
            .line(
                "measured on pilots at the client",
                Origin::Measured,
                Style::Step,
                cdf.points(400),
            )
            .line(
                "true relative phase change",
                Origin::Measured,
                Style::Step,
                truth_cdf.points(400),
            )
            .line(
                "residual CFO × delay only",
                Origin::Theory,
                Style::Step,
                cfo_cdf.points(400),
            )
            .line(
                "thesis Fig. 4.8: CDF spans −30°…30°",
                Origin::Paper,
                Style::Markers,
                vec![(-30.0, 0.0), (30.0, 1.0)],
            )
            .x_range(-35.0, 35.0)
            .y_range(0.0, 1.0),
        );
        out.figures.push(
            Figure::new(
                "angle_change_vs_delay",
                "RMS relative angle change vs estimation-to-data delay",
                "delay (µs)",
                "RMS angle change (deg)",
            )
            .line("measured", Origin::Measured, Style::LineMarkers, pts)
            .line(
                "theory: residual CFO × delay, phase noise, pilot noise",
                Origin::Theory,
                Style::Line,
                th_pts,
            ),
        );
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_cdf_values() {
        for (x, want) in [(0.0, 0.5), (1.0, 0.841_344_746), (-1.96, 0.024_997_895)] {
            assert!((normal_cdf(x) - want).abs() < 2e-7, "{x}");
        }
    }

    /// The sample-level protocol against its closed form (CRB + phase noise over D + walk), at
    /// quick size: 1200 measurement times, so the std is known to a few percent.
    #[test]
    fn residual_matches_its_closed_form() {
        let ctx = Context {
            seeds: SeedTree::new(1),
            progress: &crate::experiments::Silent,
        };
        let out = ResidualCfoConfig::quick().run(&ctx).unwrap();
        for name in ["ap_pair_residual", "listener_to_user", "source_to_user"] {
            let (m, t) = (
                out.metrics[&format!("{name}_std_hz")],
                out.metrics[&format!("{name}_std_hz_theory")],
            );
            assert!((m / t - 1.0).abs() < 0.15, "{name}: {m} vs {t}");
        }
        assert_eq!(out.metrics["unwrap_failures"], 0.0);
    }

    #[test]
    fn walk_diffusion_matches_the_table_4_1_budget() {
        // the documented derivation: 95th percentile of the relative drift over 100 ms = 10 Hz
        let s = SyncSetup::warp_prototype();
        let drift = 1.96 * (2.0 * s.oscillator.freq_walk_hz2_per_s * s.refresh_interval_s).sqrt();
        assert!((drift - 10.0).abs() < 0.1, "{drift}");
    }
}
