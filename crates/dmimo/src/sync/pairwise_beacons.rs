//! Pairwise beacon synchronization at sample level: DistSync's CFO protocol (H. V. Balan, PhD
//! thesis, USC 2013, §4.2–4.4, Figs. 4.3–4.4; notes/003 §3.3–3.5 and §3.8).
//!
//! **Who transmits when.** Once per sync slot (every ~100 ms, thesis §4.2) the beaconing APs send
//! a known sequence of a few OFDM symbols twice, their copies interleaved A1 B1 C1 … A2 B2 C2 …
//! ([`crate::scheduling::beacons::interleave_rounds`]; rounds from a colouring of who hears whom).
//! The turns are spread evenly over the slot: with T turns, sequences of L samples and a slot of
//! S samples, each turn lasts S/(2T) samples (the sequence and an idle guard), so every AP's two
//! copies are D = S/2 samples apart whatever T is. Two modes ([`BeaconMode`]):
//!
//! * [`BeaconMode::SingleSource`] — the thesis' prototype (§4.4 and its footnote 3): AP 0 alone
//!   beacons; every other AP and every client listens to it.
//! * [`BeaconMode::AllPairs`] — the full protocol: every AP beacons in its colour's turn and
//!   listens to its neighbours (all APs by default), so each pair is measured in both directions.
//!
//! Clients ("followers") listen to the beacons of one AP each and retune to it.
//!
//! **What is estimated.** Each listener b runs DistSync's modified Schmidl–Cox estimator
//! ([`RepeatedBeacon`]: coarse over the sequence's two halves, fine over D, unwrapped by the
//! coarse) on its received samples, which carry the transmitter's and its own oscillator (one LO
//! drives each node's TX and RX chains, thesis §3.1) with both nodes' current corrections applied,
//! AWGN at the link SNR, and the link's residual timing error. It measures m_ab = x_a − x_b, x the
//! residual frequency offset (oscillator minus correction, Hz). A server combines the AP-to-AP
//! measurements by weighted least squares ([`crate::sync::pairwise_ls`], weights = the thermal
//! CRB [`crate::estimation::crb::cfo_repeated`]) in a [`Gauge`]; a follower f of AP a takes
//! x̂_f = x̂_a − m_af.
//!
//! **How it is corrected.** At the end of the sync slot every node retunes its
//! [`PhaseCorrection`] by x̂ (phase-continuous), then holds that frequency until the next slot
//! (holdover). The correction is a pure frequency shift of the node's TX and RX baseband; the
//! thesis' per-subcarrier refinement (time dilation, §4.3) is below 10⁻⁵ Hz per Hz here and is
//! ignored. The measurement loop is closed: beacons are sent and received with the corrections
//! applied, so each slot measures what is left.
//!
//! **Sample-level shortcuts.** Each copy crosses its link's [`Link`] (multipath from
//! [`ProtocolSpec::multipath`], flat by default) and is rotated by the two nodes' relative carrier
//! ([`rotate_linear`]). Only the samples an estimator reads are generated: within one
//! sequence copy (L ≤ a few hundred samples, ≤ 16 µs) a node's phase is extrapolated linearly from
//! its state at the copy's start (the phase noise and frequency walk within 16 µs are ~10⁻³ rad and
//! ~10⁻⁴ Hz at WARP-like levels); the oscillators advance exactly between copies. A link's timing
//! error shifts the arrival by an integer number of samples (the phase effect of a 200 ns shift
//! at a few Hz is ~10⁻⁶ rad and is ignored).
//!
//! [`ToneTest`] is the thesis' residual-CFO measurement (§4.4, Fig. 4.7): a sine from an AP to a
//! client, whose frequency the client estimates.

use crate::channel::fading::PowerDelayProfile;
use crate::estimation::cfo::RepeatedBeacon;
use crate::estimation::crb;
use crate::estimation::phase_slope::kay;
use crate::linalg::cn01;
use crate::radio::link::{rotate_linear, Link};
use crate::radio::ofdm::{Numerology, OfdmModem};
use crate::radio::oscillator::{Oscillator, OscillatorParams, PhaseCorrection};
use crate::rng::SimRng;
use crate::scheduling::beacons::{
    colour, interleave, interleave_rounds, rounds, BeaconSlot, InterferenceGraph,
};
use crate::sync::pairwise_ls::{combine, combine_zero_mean, Combined, PairMeasurement, SyncError};
use crate::units::{cis, C64};
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::f64::consts::{FRAC_1_SQRT_2, TAU};

/// Which APs send beacons (module doc).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BeaconMode {
    /// AP 0 beacons, everyone else listens to it: the thesis' prototype (§4.4, footnote 3).
    SingleSource,
    /// Every AP beacons and listens to its neighbours; pairwise estimates are combined by least
    /// squares (§4.2–4.3).
    AllPairs,
}

impl BeaconMode {
    /// A short snake_case key (for metric names).
    pub fn key(&self) -> &'static str {
        match self {
            BeaconMode::SingleSource => "single_source",
            BeaconMode::AllPairs => "all_pairs",
        }
    }
}

/// What the combined AP offsets are relative to ([`crate::sync::pairwise_ls`], "Which gauge").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Gauge {
    /// AP 0 is the reference and is never retuned (the prototype's beacon source, an anchor).
    Reference,
    /// The APs' offsets sum to zero: the network keeps its mean frequency.
    ZeroMean,
}

/// A node (AP or client) taking part in the protocol: its oscillator, the oscillator's own random
/// stream, and its digital correction.
#[derive(Clone, Debug)]
pub struct SyncNode {
    oscillator: Oscillator,
    rng: SimRng,
    /// The node's current correction (phase and frequency it subtracts from its TX and RX).
    pub correction: PhaseCorrection,
}

impl SyncNode {
    /// A node at t = 0 with no correction; `rng` drives its oscillator's walk and phase noise.
    pub fn new(params: OscillatorParams, rng: SimRng) -> Self {
        SyncNode {
            oscillator: Oscillator::new(params),
            rng,
            correction: PhaseCorrection::default(),
        }
    }

    /// The oscillator.
    pub fn oscillator(&self) -> &Oscillator {
        &self.oscillator
    }

    /// Current time (s).
    pub fn time_s(&self) -> f64 {
        self.oscillator.time_s()
    }

    /// Advances the oscillator to `t_s`; a no-op if the node is already there (times that
    /// differ only by rounding, below 1 ps, count as the same).
    ///
    /// # Panics
    /// If `t_s` is earlier than the node's current time by more than 1 ps.
    #[track_caller]
    pub fn advance_to(&mut self, t_s: f64) {
        let now = self.time_s();
        if t_s > now {
            self.oscillator.advance_to(t_s, &mut self.rng);
        } else {
            assert!(
                now - t_s <= 1e-12,
                "SyncNode: time runs forward ({now} s → {t_s} s)"
            );
        }
    }

    /// Residual carrier phase: oscillator phase minus the correction's prediction, at the current
    /// time (rad, unwrapped).
    pub fn residual_phase_rad(&self) -> f64 {
        self.correction.residual_rad(&self.oscillator)
    }

    /// Residual frequency offset x: the oscillator's frequency offset (static offset plus walk,
    /// without the white phase-noise derivative) minus the correction's frequency (Hz).
    pub fn residual_frequency_hz(&self) -> f64 {
        self.oscillator.frequency_offset_hz() - self.correction.freq_hz
    }

    /// Adds `delta_hz` to the correction's frequency at the current time, keeping the corrected
    /// phase continuous.
    pub fn retune(&mut self, delta_hz: f64) {
        let t = self.time_s();
        self.correction = PhaseCorrection {
            phase_rad: self.correction.predicted_phase_rad(t),
            freq_hz: self.correction.freq_hz + delta_hz,
            t_ref_s: t,
        };
    }
}

/// A beacon link: node `rx` listens to node `tx`'s beacon.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BeaconLink {
    pub tx: usize,
    pub rx: usize,
}

/// What a protocol instance is built from.
#[derive(Clone, Debug, PartialEq)]
pub struct ProtocolSpec {
    pub mode: BeaconMode,
    pub gauge: Gauge,
    /// M APs: nodes 0..M.
    pub n_aps: usize,
    /// One entry per client (nodes M, M+1, …): the AP whose beacon it listens to.
    pub followers: Vec<usize>,
    /// Who hears whom among the APs, for [`BeaconMode::AllPairs`]; `None` = all APs hear each
    /// other. Ignored in single-source mode.
    pub ap_graph: Option<InterferenceGraph>,
    /// Per-sample SNR of every beacon link (linear, |s|² = 1 over noise); `f64::INFINITY` for
    /// noiseless links.
    pub link_snr: f64,
    /// Length S of the sync slot's beacon period (samples).
    pub slot_samples: usize,
    /// Each link's arrival is off by an integer uniform in ±this many samples, drawn per slot
    /// (residual timing misalignment). The idle guard after each sequence must be at least this
    /// long, or a neighbour's beacon would leak coherently into the correlation windows.
    pub max_timing_error_samples: usize,
    pub sample_rate_hz: f64,
    /// The multipath of every beacon link (Rayleigh taps drawn per link by
    /// [`PairwiseBeaconSync::draw_channels`], static over slots; the mean SNR is `link_snr`).
    pub multipath: PowerDelayProfile,
}

/// Why a protocol cannot be built.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum PlanError {
    #[error("need at least one AP")]
    NoAps,
    #[error("follower {follower} listens to AP {ap}, but there are only {n_aps} APs")]
    FollowerSource {
        follower: usize,
        ap: usize,
        n_aps: usize,
    },
    #[error("the AP graph has {got} nodes, expected {n_aps}")]
    GraphSize { got: usize, n_aps: usize },
    #[error(
        "the sync slot of {got} samples is too short for {turns} turns of {seq_len}-sample sequences sent twice (needs {needed})"
    )]
    SlotTooShort {
        got: usize,
        needed: usize,
        turns: usize,
        seq_len: usize,
    },
    #[error("the beacon sequence must be two identical halves of at least one sample")]
    Sequence,
    #[error(
        "the idle guard of {gap} samples after each sequence is shorter than the timing error ±{timing} samples: beacons would overlap in the correlation windows"
    )]
    GuardTooShort { gap: usize, timing: usize },
    #[error("link SNR must be positive (or infinite), got {0}")]
    Snr(f64),
    #[error("sample rate must be positive and finite, got {0}")]
    SampleRate(f64),
}

/// The outcome of one sync slot ([`PairwiseBeaconSync::refresh`]).
#[derive(Clone, Debug)]
pub struct RefreshReport {
    /// One per link (in [`PairwiseBeaconSync::links`] order): the estimate of x_tx − x_rx (Hz)
    /// and the weight variance used.
    pub measurements: Vec<PairMeasurement>,
    /// The true x_tx − x_rx at each link's first copy (Hz), for diagnostics.
    pub true_hz: Vec<f64>,
    /// The combined AP offsets (length M).
    pub combined: Combined,
    /// The frequency added to every node's correction (Hz, length M + followers).
    pub applied_hz: Vec<f64>,
    /// When the corrections were applied: the end of the beacon period (s).
    pub end_s: f64,
}

/// The protocol: beacon schedule, links, estimator and combination (module doc).
#[derive(Clone, Debug)]
pub struct PairwiseBeaconSync {
    spec: ProtocolSpec,
    sequence: Vec<C64>,
    beacon: RepeatedBeacon,
    slots: Vec<BeaconSlot>,
    /// slot index of each node that beacons
    slot_of: Vec<Option<usize>>,
    links: Vec<BeaconLink>,
    /// The propagation of each link (flat unit channels until [`Self::draw_channels`]).
    channels: Vec<Link>,
    links_from: Vec<Vec<usize>>,
    turns: usize,
    gap: usize,
}

impl PairwiseBeaconSync {
    /// Plans the schedule and the links for `spec`; `sequence` is one copy of the beacon (two
    /// identical halves, e.g. [`ofdm_beacon_sequence`]), normalized by the caller (the link SNR
    /// is relative to |s|² = 1).
    ///
    /// # Errors
    /// [`PlanError`] for an inconsistent spec or a slot too short for the turns.
    pub fn new(spec: ProtocolSpec, sequence: Vec<C64>) -> Result<Self, PlanError> {
        let m = spec.n_aps;
        if m == 0 {
            return Err(PlanError::NoAps);
        }
        for (f, &ap) in spec.followers.iter().enumerate() {
            if ap >= m {
                return Err(PlanError::FollowerSource {
                    follower: f,
                    ap,
                    n_aps: m,
                });
            }
        }
        let l = sequence.len();
        if l < 2 || !l.is_multiple_of(2) || sequence[..l / 2] != sequence[l / 2..] {
            return Err(PlanError::Sequence);
        }
        if spec.link_snr.is_nan() || spec.link_snr <= 0.0 {
            return Err(PlanError::Snr(spec.link_snr));
        }
        if !(spec.sample_rate_hz.is_finite() && spec.sample_rate_hz > 0.0) {
            return Err(PlanError::SampleRate(spec.sample_rate_hz));
        }
        let mut links = Vec::new();
        let turn_plan: Vec<Vec<usize>> = match spec.mode {
            BeaconMode::SingleSource => {
                links.extend((1..m).map(|rx| BeaconLink { tx: 0, rx }));
                vec![vec![0]]
            }
            BeaconMode::AllPairs => {
                let graph = match &spec.ap_graph {
                    Some(g) if g.n_nodes() != m => {
                        return Err(PlanError::GraphSize {
                            got: g.n_nodes(),
                            n_aps: m,
                        })
                    }
                    Some(g) => g.clone(),
                    None => InterferenceGraph::from_hears(m, |a, b| a != b),
                };
                for (a, b) in graph.edges() {
                    links.push(BeaconLink { tx: a, rx: b });
                    links.push(BeaconLink { tx: b, rx: a });
                }
                rounds(&colour(&graph))
            }
        };
        for (f, &ap) in spec.followers.iter().enumerate() {
            links.push(BeaconLink { tx: ap, rx: m + f });
        }
        let turns = turn_plan.len();
        let needed = 2 * turns * l;
        if spec.slot_samples < needed {
            return Err(PlanError::SlotTooShort {
                got: spec.slot_samples,
                needed,
                turns,
                seq_len: l,
            });
        }
        let gap = spec.slot_samples / (2 * turns) - l;
        if gap < spec.max_timing_error_samples {
            return Err(PlanError::GuardTooShort {
                gap,
                timing: spec.max_timing_error_samples,
            });
        }
        let slots = if turns == 1 {
            interleave(&turn_plan[0], l, gap)
        } else {
            interleave_rounds(&turn_plan, l, gap)
        };
        let n_nodes = m + spec.followers.len();
        let mut slot_of = vec![None; n_nodes];
        for (i, s) in slots.iter().enumerate() {
            slot_of[s.node] = Some(i);
        }
        let mut links_from = vec![Vec::new(); n_nodes];
        for (i, link) in links.iter().enumerate() {
            links_from[link.tx].push(i);
        }
        let beacon = RepeatedBeacon::new(l / 2, slots[0].second_start - slots[0].first_start);
        Ok(PairwiseBeaconSync {
            spec,
            sequence,
            beacon,
            slots,
            slot_of,
            channels: vec![Link::flat(0.0); links.len()],
            links,
            links_from,
            turns,
            gap,
        })
    }

    /// Draws every link's multipath from [`ProtocolSpec::multipath`] (Rayleigh taps, one draw per
    /// link from `rng`, in [`Self::links`] order); the channels stay until drawn again.
    pub fn draw_channels(&mut self, rng: &mut SimRng) {
        let pdp = &self.spec.multipath;
        for ch in &mut self.channels {
            ch.taps = pdp.impulse_response(&pdp.draw(rng));
        }
    }

    /// The spec it was built from.
    pub fn spec(&self) -> &ProtocolSpec {
        &self.spec
    }

    /// Nodes taking part: M APs then the followers.
    pub fn n_nodes(&self) -> usize {
        self.spec.n_aps + self.spec.followers.len()
    }

    /// The links, in the order of [`RefreshReport::measurements`].
    pub fn links(&self) -> &[BeaconLink] {
        &self.links
    }

    /// The estimator: half length and spacing D (samples).
    pub fn beacon(&self) -> RepeatedBeacon {
        self.beacon
    }

    /// The beacon schedule (one slot per beaconing AP).
    pub fn slots(&self) -> &[BeaconSlot] {
        &self.slots
    }

    /// Turns T of the interleaving (colours; 1 in single-source mode).
    pub fn turns(&self) -> usize {
        self.turns
    }

    /// The idle guard after each sequence (samples).
    pub fn gap_samples(&self) -> usize {
        self.gap
    }

    /// Duration of the beacon period 2·T·(L + g) (s).
    pub fn period_s(&self) -> f64 {
        (2 * self.turns * (self.sequence.len() + self.gap)) as f64 / self.spec.sample_rate_hz
    }

    /// Copy spacing D (s).
    pub fn spacing_s(&self) -> f64 {
        self.beacon.spacing as f64 / self.spec.sample_rate_hz
    }

    /// The thermal-noise CRB of one pairwise fine estimate (Hz²), or `None` for noiseless links.
    pub fn crb_hz2(&self) -> Option<f64> {
        self.spec.link_snr.is_finite().then(|| {
            crb::cfo_repeated(
                self.sequence.len(),
                self.beacon.spacing,
                self.spec.link_snr,
                self.spec.sample_rate_hz,
            )
        })
    }

    /// Runs one sync slot starting at `t0_s`: beacons at sample level, estimates, combination,
    /// and the retuning of every node at the end of the beacon period (module doc). `rng` draws
    /// the timing errors and the receiver noise.
    ///
    /// # Errors
    /// [`SyncError`] if the AP measurement graph is disconnected (an AP graph without a path to
    /// AP 0).
    ///
    /// # Panics
    /// If `nodes.len()` differs from [`Self::n_nodes`] or a node's clock is past `t0_s`.
    pub fn refresh(
        &self,
        nodes: &mut [SyncNode],
        t0_s: f64,
        rng: &mut SimRng,
    ) -> Result<RefreshReport, SyncError> {
        assert_eq!(
            nodes.len(),
            self.n_nodes(),
            "refresh: one SyncNode per AP and follower"
        );
        let fs = self.spec.sample_rate_hz;
        let l = self.sequence.len();
        let margin = self.spec.max_timing_error_samples;
        let buf_len = 2 * self.turns * (l + self.gap) + 2 * margin;
        let e = margin as i64;
        let delays: Vec<i64> = self
            .links
            .iter()
            .map(|_| if e > 0 { rng.random_range(-e..=e) } else { 0 })
            .collect();
        let mut bufs: Vec<Vec<C64>> = vec![Vec::new(); nodes.len()];
        for link in &self.links {
            if bufs[link.rx].is_empty() {
                bufs[link.rx] = vec![C64::default(); buf_len];
            }
        }
        // every copy of every beacon, in time order
        let mut events: Vec<(usize, usize)> = self
            .slots
            .iter()
            .enumerate()
            .flat_map(|(i, s)| [(s.first_start, i), (s.second_start, i)])
            .collect();
        events.sort_unstable();
        let mut true_hz = vec![f64::NAN; self.links.len()];
        for &(start, si) in &events {
            let slot = self.slots[si];
            let t = t0_s + start as f64 / fs;
            let tx = slot.node;
            nodes[tx].advance_to(t);
            let (th_tx, f_tx) = (
                nodes[tx].residual_phase_rad(),
                nodes[tx].residual_frequency_hz(),
            );
            for &li in &self.links_from[tx] {
                let rx = self.links[li].rx;
                nodes[rx].advance_to(t);
                let df = f_tx - nodes[rx].residual_frequency_hz();
                if start == slot.first_start {
                    true_hz[li] = df;
                }
                let ch = &self.channels[li];
                let mut copy = ch.propagate(&self.sequence, l + ch.taps.len() - 1);
                rotate_linear(&mut copy, th_tx - nodes[rx].residual_phase_rad(), df, fs);
                let base = ((margin + start) as i64 + delays[li]) as usize;
                let buf = &mut bufs[rx];
                let end = (base + copy.len()).min(buf.len());
                for (o, c) in buf[base..end].iter_mut().zip(&copy) {
                    *o += c;
                }
            }
        }
        // receiver noise on every sample an estimator reads (each sample once)
        if self.spec.link_snr.is_finite() {
            let sigma = (1.0 / self.spec.link_snr).sqrt();
            for (rx, buf) in bufs.iter_mut().enumerate() {
                let mut windows: Vec<(usize, usize)> = self
                    .links
                    .iter()
                    .filter(|k| k.rx == rx)
                    .flat_map(|k| {
                        let s = self.slots[self.slot_of[k.tx].expect("a linked tx beacons")];
                        [s.first_start, s.second_start].map(|a| (margin + a, margin + a + l))
                    })
                    .collect();
                windows.sort_unstable();
                let mut done = 0;
                for (a, b) in windows {
                    for x in &mut buf[a.max(done)..b.max(done)] {
                        *x += cn01(rng) * sigma;
                    }
                    done = done.max(b);
                }
            }
        }
        let var = self.crb_hz2().unwrap_or(1.0);
        let measurements: Vec<PairMeasurement> = self
            .links
            .iter()
            .map(|k| {
                let s = self.slots[self.slot_of[k.tx].expect("a linked tx beacons")];
                let est = self
                    .beacon
                    .estimate(&bufs[k.rx], margin + s.first_start, fs);
                PairMeasurement::new(k.tx, k.rx, est.cfo_hz, var)
            })
            .collect();
        let m = self.spec.n_aps;
        let ap_meas: Vec<PairMeasurement> =
            measurements.iter().copied().filter(|p| p.b < m).collect();
        let combined = match self.spec.gauge {
            Gauge::Reference => combine(m, &ap_meas, 0)?,
            Gauge::ZeroMean => combine_zero_mean(m, &ap_meas)?,
        };
        let mut applied_hz = combined.offsets.clone();
        for f in 0..self.spec.followers.len() {
            let node = m + f;
            let (mut sum, mut wsum) = (0.0, 0.0);
            for p in measurements.iter().filter(|p| p.b == node) {
                sum += (combined.offsets[p.a] - p.value) / p.variance;
                wsum += 1.0 / p.variance;
            }
            applied_hz.push(sum / wsum);
        }
        let end_s = t0_s + self.period_s();
        for (node, delta) in nodes.iter_mut().zip(&applied_hz) {
            node.advance_to(end_s);
            node.retune(*delta);
        }
        Ok(RefreshReport {
            measurements,
            true_hz,
            combined,
            applied_hz,
            end_s,
        })
    }
}

/// A beacon sequence of 2·`symbols_per_half` OFDM symbols (with cyclic prefixes) made of two
/// identical halves, each half `symbols_per_half` symbols of random QPSK on the numerology's used
/// subcarriers; scaled to unit mean sample power.
///
/// # Panics
/// If `symbols_per_half == 0`.
#[track_caller]
pub fn ofdm_beacon_sequence(
    numerology: &Numerology,
    symbols_per_half: usize,
    rng: &mut SimRng,
) -> Vec<C64> {
    assert!(
        symbols_per_half > 0,
        "ofdm_beacon_sequence: need at least one symbol per half"
    );
    let mut modem = OfdmModem::new(numerology);
    let cp = numerology.cp_len(0);
    let sym_len = numerology.n_fft + cp;
    let mut half = vec![C64::default(); symbols_per_half * sym_len];
    for s in 0..symbols_per_half {
        let values: Vec<C64> = (0..numerology.used.len())
            .map(|_| {
                let re = if rng.random_bool(0.5) { 1.0 } else { -1.0 };
                let im = if rng.random_bool(0.5) { 1.0 } else { -1.0 };
                C64::new(re, im) * FRAC_1_SQRT_2
            })
            .collect();
        modem.modulate(&values, cp, &mut half[s * sym_len..(s + 1) * sym_len]);
    }
    let power = half.iter().map(|x| x.norm_sqr()).sum::<f64>() / half.len() as f64;
    half.iter_mut().for_each(|x| *x /= power.sqrt());
    [half.clone(), half].concat()
}

/// The thesis' residual-CFO measurement (§4.4, Fig. 4.7): a sine from an AP to a client, whose
/// frequency the client estimates.
///
/// Each transmitter sends a sine over [t, t + `window_s`]; the receiver observes it at `n_obs`
/// evenly spaced instants (an integrate-and-dump decimation of its sample stream, each
/// observation with SNR `obs_snr`) through both nodes' oscillators and corrections, and applies
/// Kay's phase-difference estimator ([`crate::estimation::phase_slope::kay`]). The result is the
/// transmitter's residual frequency relative to the receiver's, averaged over the window, with
/// both oscillators' phase noise in it (Wiener noise of linewidth β per node adds a variance
/// β/(π·window) per pair). Unambiguous within ±(n_obs − 1)/(2·window).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ToneTest {
    pub window_s: f64,
    pub n_obs: usize,
    /// Per-observation SNR (linear; `f64::INFINITY` for none).
    pub obs_snr: f64,
}

impl ToneTest {
    /// Runs the test from `t_s` for every node of `txs` to node `rx`; one estimate (Hz) per
    /// transmitter.
    ///
    /// # Panics
    /// If `n_obs < 2`, `window_s` is not positive, or a node's clock is past `t_s`.
    #[track_caller]
    pub fn run(
        &self,
        nodes: &mut [SyncNode],
        txs: &[usize],
        rx: usize,
        t_s: f64,
        rng: &mut SimRng,
    ) -> Vec<f64> {
        let n_obs = self.n_obs;
        assert!(
            n_obs >= 2 && self.window_s > 0.0,
            "ToneTest: need n_obs ≥ 2 and a positive window"
        );
        let dt = self.window_s / (n_obs - 1) as f64;
        let sigma = if self.obs_snr.is_finite() {
            (1.0 / self.obs_snr).sqrt()
        } else {
            0.0
        };
        let mut z: Vec<Vec<C64>> = vec![Vec::with_capacity(n_obs); txs.len()];
        for i in 0..n_obs {
            let t = t_s + i as f64 * dt;
            nodes[rx].advance_to(t);
            let th_rx = nodes[rx].residual_phase_rad();
            for (zj, &tx) in z.iter_mut().zip(txs) {
                nodes[tx].advance_to(t);
                let mut v = cis(nodes[tx].residual_phase_rad() - th_rx);
                if sigma > 0.0 {
                    v += cn01(rng) * sigma;
                }
                zj.push(v);
            }
        }
        z.iter().map(|zj| kay(zj).slope_rad / (TAU * dt)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SeedTree;

    const FS: f64 = 20e6;

    fn sequence() -> Vec<C64> {
        ofdm_beacon_sequence(
            &Numerology::wifi20(),
            2,
            &mut SeedTree::new(1).child("seq").rng(),
        )
    }

    fn spec(mode: BeaconMode, gauge: Gauge, n_aps: usize, followers: Vec<usize>) -> ProtocolSpec {
        ProtocolSpec {
            mode,
            gauge,
            n_aps,
            followers,
            ap_graph: None,
            link_snr: f64::INFINITY,
            slot_samples: 20_000,
            max_timing_error_samples: 0,
            sample_rate_hz: FS,
            multipath: PowerDelayProfile::flat(),
        }
    }

    /// Static offsets of a few kHz (±1.5 ppm at 2.4 GHz), no walk or phase noise.
    fn static_nodes(offsets: &[f64]) -> Vec<SyncNode> {
        offsets
            .iter()
            .enumerate()
            .map(|(i, &f)| {
                SyncNode::new(
                    OscillatorParams {
                        initial_phase_rad: 0.7 * i as f64,
                        ..OscillatorParams::static_offset(f)
                    },
                    SeedTree::new(2).index(i as u64).rng(),
                )
            })
            .collect()
    }

    #[test]
    fn sequence_is_two_equal_halves_of_unit_power() {
        let s = sequence();
        assert_eq!(s.len(), 320);
        assert_eq!(s[..160], s[160..]);
        let p = s.iter().map(|x| x.norm_sqr()).sum::<f64>() / 320.0;
        assert!((p - 1.0).abs() < 1e-12);
    }

    #[test]
    fn schedule_spacing_is_half_the_slot_whatever_the_turns() {
        for (mode, n) in [(BeaconMode::SingleSource, 4), (BeaconMode::AllPairs, 4)] {
            let p = PairwiseBeaconSync::new(spec(mode, Gauge::Reference, n, vec![0]), sequence())
                .unwrap();
            assert_eq!(p.beacon().spacing, 10_000);
            assert!((p.period_s() - 1e-3).abs() < 1e-12);
            let links = p.links().len();
            match mode {
                BeaconMode::SingleSource => assert_eq!((p.turns(), links), (1, 4)),
                BeaconMode::AllPairs => assert_eq!((p.turns(), links), (4, 13)),
            }
        }
        let too_short = ProtocolSpec {
            slot_samples: 2000,
            ..spec(BeaconMode::AllPairs, Gauge::Reference, 4, vec![])
        };
        assert!(matches!(
            PairwiseBeaconSync::new(too_short, sequence()),
            Err(PlanError::SlotTooShort { needed: 2560, .. })
        ));
        assert!(matches!(
            PairwiseBeaconSync::new(
                spec(BeaconMode::SingleSource, Gauge::Reference, 2, vec![2]),
                sequence()
            ),
            Err(PlanError::FollowerSource { .. })
        ));
    }

    /// Noiseless, static oscillators with raw CFOs of kHz (far outside the fine estimator's
    /// ±1 kHz range, so the coarse unwrapping is exercised): after one slot every node runs at
    /// the reference's frequency, exactly, and stays there.
    #[test]
    fn noiseless_single_source_aligns_every_node_to_the_source() {
        let offsets = [1200.0, -3400.0, 2950.0, 3600.0, -700.0];
        let mut nodes = static_nodes(&offsets);
        let p = PairwiseBeaconSync::new(
            spec(BeaconMode::SingleSource, Gauge::Reference, 3, vec![0, 0]),
            sequence(),
        )
        .unwrap();
        let mut rng = SeedTree::new(3).rng();
        let r = p.refresh(&mut nodes, 0.0, &mut rng).unwrap();
        for (m, t) in r.measurements.iter().zip(&r.true_hz) {
            assert!((m.value - t).abs() < 1e-6, "{m:?} vs {t}");
        }
        for n in &nodes {
            assert!((n.residual_frequency_hz() - 1200.0).abs() < 1e-6);
        }
        assert_eq!(nodes[0].correction.freq_hz, 0.0);
        // a second slot measures zero and changes nothing
        let r = p.refresh(&mut nodes, 0.1, &mut rng).unwrap();
        assert!(r.applied_hz.iter().all(|d| d.abs() < 1e-6));
    }

    /// Through multipath (4 Rayleigh taps per link), the two copies of a beacon still cross the
    /// same static channel, so the fine estimate stays exact and the nodes align as on flat links.
    #[test]
    fn noiseless_multipath_links_still_align() {
        let offsets = [1200.0, -3400.0, 2950.0, 3600.0];
        let mut nodes = static_nodes(&offsets);
        let mut p = PairwiseBeaconSync::new(
            ProtocolSpec {
                multipath: PowerDelayProfile::exponential(4, 1.0),
                ..spec(BeaconMode::AllPairs, Gauge::Reference, 3, vec![1])
            },
            sequence(),
        )
        .unwrap();
        p.draw_channels(&mut SeedTree::new(8).rng());
        assert!(p.channels.iter().all(|c| c.taps.len() == 4));
        let r = p
            .refresh(&mut nodes, 0.0, &mut SeedTree::new(3).rng())
            .unwrap();
        for (m, t) in r.measurements.iter().zip(&r.true_hz) {
            assert!((m.value - t).abs() < 1e-6, "{m:?} vs {t}");
        }
        for n in &nodes {
            assert!((n.residual_frequency_hz() - 1200.0).abs() < 1e-6);
        }
    }

    /// All pairs, zero-mean gauge: the APs' corrections sum to zero and every node ends at the
    /// APs' mean frequency, also with timing errors of a few samples inside a guard that covers
    /// them (a slot of 2·4·(320 + 10) samples, D = 1320: the fine range is ±7.6 kHz).
    #[test]
    fn all_pairs_zero_mean_and_timing_errors() {
        let offsets = [1000.0, -2000.0, 500.0, 3300.0, 40.0];
        let mean = (1000.0 - 2000.0 + 500.0 + 3300.0) / 4.0;
        for (slot, e) in [(20_000, 0), (2 * 4 * 330, 4)] {
            let mut nodes = static_nodes(&offsets);
            let s = ProtocolSpec {
                slot_samples: slot,
                max_timing_error_samples: e,
                ..spec(BeaconMode::AllPairs, Gauge::ZeroMean, 4, vec![2])
            };
            let p = PairwiseBeaconSync::new(s, sequence()).unwrap();
            let r = p
                .refresh(&mut nodes, 0.0, &mut SeedTree::new(4).rng())
                .unwrap();
            let tol = 1e-6;
            assert!(r.applied_hz[..4].iter().sum::<f64>().abs() < 4.0 * tol);
            for n in &nodes {
                assert!(
                    (n.residual_frequency_hz() - mean).abs() < tol,
                    "{} vs {mean}",
                    n.residual_frequency_hz()
                );
            }
        }
        let overlapping = ProtocolSpec {
            slot_samples: 2 * 4 * 322,
            max_timing_error_samples: 4,
            ..spec(BeaconMode::AllPairs, Gauge::ZeroMean, 4, vec![])
        };
        assert_eq!(
            PairwiseBeaconSync::new(overlapping, sequence()).err(),
            Some(PlanError::GuardTooShort { gap: 2, timing: 4 })
        );
    }

    /// Thermal noise only: the pairwise estimate's error variance meets the CRB
    /// 1/((2πD T_s)²·L·SNR) (the correlation estimator's excess 1/(2·SNR) is 0.5% at 20 dB).
    #[test]
    fn noisy_estimates_meet_the_crb() {
        let snr = 100.0;
        let s = ProtocolSpec {
            link_snr: snr,
            // a short slot, so that the CRB (≈ 13 Hz²) is well above rounding
            slot_samples: 2000,
            ..spec(BeaconMode::SingleSource, Gauge::Reference, 2, vec![])
        };
        let p = PairwiseBeaconSync::new(s, sequence()).unwrap();
        let n = 2000;
        let errs: Vec<f64> = (0..n)
            .map(|i| {
                let mut nodes = static_nodes(&[150.0 * (i % 7) as f64, -2000.0]);
                let mut rng = SeedTree::new(5).index(i as u64).rng();
                let r = p.refresh(&mut nodes, 0.0, &mut rng).unwrap();
                r.measurements[0].value - r.true_hz[0]
            })
            .collect();
        let mean = errs.iter().sum::<f64>() / n as f64;
        let var = errs.iter().map(|e| (e - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        let crb = p.crb_hz2().unwrap();
        // relative std of a variance from n samples: √(2/n) = 3.2%; 4.5σ
        assert!((var / crb - 1.0).abs() < 0.15, "var {var} vs CRB {crb}");
        assert!(mean.abs() < 5.0 * (crb / n as f64).sqrt());
    }

    /// The tone test reads a static residual exactly, before and after a retune.
    #[test]
    fn tone_test_reads_the_residual_frequency() {
        let mut nodes = static_nodes(&[1000.0, 1013.5, 990.0]);
        let test = ToneTest {
            window_s: 1e-3,
            n_obs: 64,
            obs_snr: f64::INFINITY,
        };
        let mut rng = SeedTree::new(6).rng();
        let f = test.run(&mut nodes, &[0, 1], 2, 0.01, &mut rng);
        assert!(
            (f[0] - 10.0).abs() < 1e-6 && (f[1] - 23.5).abs() < 1e-6,
            "{f:?}"
        );
        nodes[1].retune(20.0);
        let f = test.run(&mut nodes, &[1], 2, 0.02, &mut rng);
        assert!((f[0] - 3.5).abs() < 1e-6, "{f:?}");
    }

    /// With Wiener phase noise of linewidth β on both nodes, the tone test's error variance is
    /// β/(π·window) (the white frequency noise averaged over the window).
    #[test]
    fn tone_test_phase_noise_variance() {
        let beta = 1.0;
        let window = 1e-3;
        let test = ToneTest {
            window_s: window,
            n_obs: 2,
            obs_snr: f64::INFINITY,
        };
        let n = 3000;
        let est: Vec<f64> = (0..n)
            .map(|i| {
                let mut nodes: Vec<SyncNode> = (0..2)
                    .map(|k| {
                        SyncNode::new(
                            OscillatorParams {
                                phase_noise_rad2_per_s: TAU * beta,
                                ..OscillatorParams::static_offset(0.0)
                            },
                            SeedTree::new(7).index(i).child("node").index(k).rng(),
                        )
                    })
                    .collect();
                test.run(&mut nodes, &[0], 1, 0.0, &mut SeedTree::new(8).rng())[0]
            })
            .collect();
        let var = est.iter().map(|f| f * f).sum::<f64>() / n as f64;
        let want = beta / (std::f64::consts::PI * window);
        assert!((var / want - 1.0).abs() < 0.12, "{var} vs {want}");
    }

    /// Rounding in the oscillator's clock (t + (t' − t) ≠ t') must not make a second
    /// `advance_to(t')` fail; going back in time does.
    #[test]
    fn advancing_twice_to_the_same_time_is_a_no_op() {
        let mut nodes = static_nodes(&[1.0]);
        let t = 0.044_643_512_864_260_12;
        nodes[0].advance_to(0.031_7);
        nodes[0].advance_to(t);
        nodes[0].advance_to(t);
        nodes[0].advance_to(t - 1e-15);
        assert!(nodes[0].time_s() >= t - 1e-15);
    }

    #[test]
    #[should_panic(expected = "time runs forward")]
    fn going_back_in_time_panics() {
        let mut nodes = static_nodes(&[1.0]);
        nodes[0].advance_to(1.0);
        nodes[0].advance_to(0.5);
    }

    /// Retuning keeps the corrected phase continuous.
    #[test]
    fn retune_is_phase_continuous() {
        let mut nodes = static_nodes(&[500.0]);
        nodes[0].advance_to(0.01);
        let before = nodes[0].residual_phase_rad();
        nodes[0].retune(480.0);
        assert!((nodes[0].residual_phase_rad() - before).abs() < 1e-12);
        nodes[0].advance_to(0.02);
        assert!((nodes[0].residual_phase_rad() - before - TAU * 20.0 * 0.01).abs() < 1e-9);
    }
}
