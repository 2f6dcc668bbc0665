//! The AirSync testbed at symbol level, shared by the `airsync.*` joint-transmission experiments
//! (Balan, PhD thesis, USC 2013, Ch. 3; notes/003 §1.7–1.8, §2, §5 Figs. 3.4–3.9).
//!
//! One *drop* places M APs (AP 0 the master, APs 1.. secondaries) and K single-antenna clients at
//! random spots of an office and walks the testbed's sequence (notes/003 §2.6–2.7):
//!
//! 1. **Sounding packet** (t = 0). The APs send channel-estimation symbols; each
//!    client takes per-subcarrier LS estimates of every AP's channel and feeds them back over the
//!    wire, quantized to `feedback_bits`-bit I and Q ([`Model::estimate`]).
//! 2. The server computes the precoders from these estimates (in the experiments).
//! 3. **Data packet**, `estimation_delay_s` after the sounding: the channel has aged
//!    ([`Drop::transmit`]); the APs send precoded pilots, from which each client learns its own
//!    effective gain, then the payload ([`Model::receive_linear`]).
//!
//! In both packets every secondary follows the master with AirSync ([`SymbolSecondary`], below): its
//! transmitted signal carries a residual phase error ε_i(n, t) relative to the master's, on
//! subcarrier n at OFDM symbol t of the packet. A precoder computed from the sounding breaks by
//! the *change* of ε between the sounding and the data packet, together with the estimation noise
//! and the channel's ageing: these are the mismatches the thesis' −24.46 dB leakage and 2.98 dB
//! beamforming gain contain beyond its 2.37° sync error (notes/003 §1.8, §8 item 11).
//!
//! ## What is modelled, and why (every default is in [`Testbed::full`])
//!
//! * **Numerology**: 802.11-like, [`Numerology::wifi20`] (N = 64, CP 16, 4 µs symbols, 52 used
//!   subcarriers at 312.5 kHz). The thesis' data band was 5 MHz (notes §8 item 1); 20 MHz makes the
//!   same office channel 3× more frequency-selective across the used band.
//! * **Oscillators** (one per AP): [`OscillatorSpec::WARP`], shared by every thesis experiment —
//!   static offset uniform in ±1.5 ppm of 2.4 GHz, a thermal frequency walk of 130 Hz²/s (Table 4.1
//!   and Fig. 4.1) and Wiener phase noise of 0.01 Hz linewidth (WARP's is "quite small", Fig. 2.2).
//! * **Reference tracking** (§3.1; notes §2.3, §2.8): the master's out-of-band pilot tones reach a
//!   secondary at `pilot_snr_db` = 28.5 dB per tone (Fig. 3.4); the secondary combines
//!   `pilot_tones` = 2 tones (one FFT bin each, ±7.5 MHz) per symbol, so each per-symbol phase
//!   measurement has variance r = 1/(2·SNR·2) ([`crb::intercept`]); the two tones are symmetric
//!   about the carrier, so averaging them cancels the timing ramp and leaves the carrier phase. The
//!   tracker is [`SlidingSlope`] (window 4,
//!   [`crate::estimation::tracking::Extrapolation::FromLatest`]) and extrapolates
//!   `lookahead_symbols` = 3 symbols ahead (the FPGA→antenna pipeline, "a few OFDM symbols"). Per
//!   packet the secondary also takes a per-subcarrier initial phase from the master's
//!   `probe_symbols` = 2 channel-probing symbols at `probe_snr_db` = 28.5 dB (same link, same power
//!   per bin as a tone); its noise stays in ε for the whole packet. AP transmissions start at
//!   symbol `first_tx_symbol` = 10 of the packet ("tracking starts at the 10th symbol", Fig. 3.3).
//! * **Sampling clocks**: WARP derives them from a separate 20 MHz oscillator of ≈ 1 ppm (§3.1).
//!   The probe aligns each subcarrier's phase at the packet start; within the packet the
//!   secondary's timing drifts by δ·t relative to the master's, a phase ramp 2π n Δf δ t that the
//!   symmetric pilot tones do not see.
//! * **Inter-carrier interference**: a secondary de-rotates its frequency-domain symbols once per
//!   symbol (Fig. 3.1), so its carrier stays offset by the raw relative CFO f and its subcarriers
//!   leak into each other at a client locked to the master: Gaussian interference of power
//!   (π²/3)(f/Δf)² times that AP's received power (the small-offset approximation of Pollet et
//!   al. 1995), [`IciModel`].
//! * **Deployment and link budget**: the testbed's client links are at ≈ 30 dB SNR — the best
//!   point-to-point link of the 2×2 experiment is quoted at 9.96 bps/Hz ↔ 30 dB (§3.2, notes §8
//!   item 7), and the clients sat at "random spots" of one office. The default,
//!   [`Deployment::EqualLinks`], gives every AP–client link the same mean SNR `snr_ref_db` = 30 dB
//!   per subcarrier at one AP's full power: the one reading under which both statements hold (the
//!   best of four faded links is then ≈ 31 dB). [`Deployment::Room`] is the geometric
//!   alternative: APs and clients at independent uniform spots of a 10 m × 10 m room, distances at
//!   least 1 m, IEEE 802.11 TGn model D ("typical office") path loss — free space up to the 10 m
//!   breakpoint, exponent 3.5 beyond, log-normal shadowing 3 dB (5 dB beyond) — with
//!   `snr_ref_db` at 5 m (≈ the median AP–client distance). Its links spread over ±10 dB, so a
//!   typical link at 30 dB puts the best link of a 2×2 drop at ≈ 36.6 dB, and a best link at
//!   30 dB puts a typical one at ≈ 23.4 dB: it cannot match both statements.
//! * **Channels**: small-scale fading per link from an exponential power-delay profile of rms
//!   delay spread `delay_spread_s` = 50 ns (TGn model D), Rayleigh taps at the 20 MHz sample
//!   spacing (no line-of-sight component: conservative). The channel ages between sounding and
//!   data as a Gauss–Markov step with the Clarke correlation J0(2π f_D Δt), f_D = v/λ for an
//!   environment moving at `environment_speed_m_per_s` = 1.2 km/h (the TGn environment speed for
//!   static terminals).
//! * **Channel estimation** (notes §2.6, §3.7): downlink sounding with feedback as in 802.11ac.
//!   Each AP's estimate collects the energy of max(`ce_symbols` = 2, M) symbols at the client's
//!   SNR (the 802.11 long training field's two symbols, "a couple of pilot symbols averaged"; with
//!   M APs an 802.11ac null-data-packet sounding sends M orthogonally coded training symbols, each
//!   AP's estimate collecting all M), includes the
//!   secondaries' sync error at those symbols and their ICI, and is quantized to 16-bit I and Q
//!   with a per-link full scale (the largest |Re|, |Im| over the subcarriers), as in DistSync's
//!   feedback messages (64 × 16-bit I/Q, §4.4).
//! * **Estimation → transmission delay** `estimation_delay_s` = 1 ms: the thesis' data "up to one
//!   millisecond later" than the estimation (§4.4) and the 802.11ac-like sounding → feedback →
//!   data sequence of AirSync's MAC (§3.3). Over it the oscillators keep drifting (the data packet
//!   has its own probe and tracking) and the channel ages.
//! * **Clients**: they lock to the master (its pilot tones and the precoded pilots; notes §2.7,
//!   §8 item 17), so receive-side phases Ψ and the master's own drift are removed ideally; each
//!   client estimates its effective gain from max(`rx_pilot_symbols` = 2, K) precoded pilot
//!   symbols (the "second set of channel-estimation pilots, sent by all APs with ZFBF"; K
//!   orthogonally coded symbols for K streams, as 802.11ac's VHT training fields), and equalizes
//!   the payload with it.
//!
//! Not modelled: PA nonlinearity, ADC quantization (14 bits, far below these error levels), the
//! client's own common-phase tracking error, timing errors beyond the CP (absorbed by the probe).
//!
//! ## The symbol-level AirSync secondary ([`SymbolSecondary`])
//!
//! The symbol-level rung of the fidelity ladder below the sample-level
//! [`crate::sync::reference_tone::ToneSecondary`] (`airsync.phase-error` runs both on the same
//! oscillators and reports their agreement). Per packet, with φ(t) the master's carrier phase minus the secondary's (t counts symbols from the
//! probe, T = 4 µs):
//!
//! * measurements z_t = wrap(φ(t) + e_t), e_t ~ N(0, r), fed to a [`SlidingSlope`];
//! * the correction for the symbol on air at t is decided from z_0 … z_{t−d}: the probe phase
//!   θ̂(n) plus the tracker's predicted drift since the probe, p̂(t) − z_0 (notes §2.8, the
//!   "θ0 + (p\[t\] − p\[t0\]) + s\[t\]·d" reading);
//! * the residual is ε(n, t) = b(n) + \[p̂(t) − z_0 − (φ(t) − φ(0))\] − 2π n Δf δ t, with b(n) the
//!   probe's noise and δ the relative sampling offset.
//!
//! With white measurement noise alone its variance is r·\[(1 + d/w)² + (d/w)²\] (the tracker,
//! [`SlidingSlope::steady_state_prediction_var`]) + r (the anchor z_0) + r_probe, i.e. 2.55° rms
//! at the defaults (the thesis measured 2.37°, Fig. 3.4).

use super::super::RunError;
use crate::channel::fading::PowerDelayProfile;
use crate::estimation::crb;
use crate::estimation::tracking::SlidingSlope;
use crate::linalg::{cn01, CMat};
use crate::metrics::constellation_sinr;
use crate::radio::ofdm::Numerology;
use crate::radio::oscillator::{Oscillator, OscillatorSpec};
use crate::radio::qam::Qam;
use crate::rng::{SeedTree, SimRng};
use crate::scenario::{Check, FieldError};
use crate::sync::reference_tone::SymbolSecondary;
use crate::units::{cis, db_to_lin, wrap_phase, C64, SPEED_OF_LIGHT_M_PER_S};
use faer::Mat;
use rand::Rng;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};
use std::f64::consts::PI;

/// How the inter-carrier interference of a secondary's uncorrected carrier offset is modelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IciModel {
    /// Gaussian interference of power (π²/3)(f/Δf)² × the AP's received power per subcarrier.
    Gaussian,
    /// No inter-carrier interference (the pure H̃ = ΦHΨ model).
    Off,
}

/// Where the nodes are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Deployment {
    /// APs and clients at independent uniform spots of a square room, dual-slope path loss with
    /// log-normal shadowing (IEEE 802.11 TGn model D).
    Room,
    /// Every link has the same mean gain (the reference distance's): no geometry.
    EqualLinks,
}

/// Which error sources a run includes (for the breakdown of where the leakage comes from).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Errors {
    /// Everything in the model.
    All,
    /// Only the secondaries' sync residuals: noiseless, unquantized estimates of a channel that
    /// does not age, no ICI.
    SyncOnly,
    /// Only the channel side (estimation noise, quantization, ageing): perfectly synchronized
    /// secondaries, no ICI.
    ChannelOnly,
    /// None: perfect sync and estimates of a channel that does not age, no ICI (the receivers'
    /// noise and pilot-based gain estimates remain).
    None,
}

impl Errors {
    fn sync(self) -> bool {
        matches!(self, Errors::All | Errors::SyncOnly)
    }

    fn channel(self) -> bool {
        matches!(self, Errors::All | Errors::ChannelOnly)
    }
}

/// The testbed parameters shared by the `airsync.*` experiments (module docs: sources and
/// reasons).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Testbed {
    /// Carrier frequency (Hz): WARP in the 2.4 GHz band (thesis §3.1).
    pub carrier_hz: f64,
    /// Every AP's oscillator; default [`OscillatorSpec::WARP`] (≈ 1.5 ppm, §3.1).
    pub oscillator: OscillatorSpec,
    /// Sampling-clock offset of every AP, uniform in ±this (ppm); WARP ≈ 1 ppm (§3.1).
    pub sampling_offset_max_ppm: f64,
    /// SNR of one master pilot tone at a secondary, per symbol (dB); 28.5 dB (Fig. 3.4).
    pub pilot_snr_db: f64,
    /// Pilot tones combined per symbol (one FFT bin each): the measurement averages this many
    /// samples.
    pub pilot_tones: usize,
    /// Master channel-probing symbols a secondary averages for its per-subcarrier initial phase.
    pub probe_symbols: usize,
    /// SNR per subcarrier of the master's probe at a secondary (dB).
    pub probe_snr_db: f64,
    /// Sliding-slope window (phase differences averaged); AirSync: 4 (§3.1).
    pub tracker_window: usize,
    /// Look-ahead d (symbols) between deciding a correction and its symbol being on air.
    pub lookahead_symbols: usize,
    /// Symbol of a packet (counted from the master's probe) at which the APs start transmitting.
    pub first_tx_symbol: usize,
    /// RMS delay spread of the office channel (s); TGn model D ("typical office"): 50 ns.
    pub delay_spread_s: f64,
    /// Speed of the moving environment (m/s) for the channel's ageing; TGn: 1.2 km/h.
    pub environment_speed_m_per_s: f64,
    /// Time from the sounding packet to the data packet (s).
    pub estimation_delay_s: f64,
    /// Channel-estimation symbols whose energy each AP's estimate collects at the client (at
    /// least M are sent with M APs).
    pub ce_symbols: usize,
    /// Bits per I and per Q of the fed-back channel estimates.
    pub feedback_bits: usize,
    /// Precoded pilot symbols a client averages for its effective gain (at least K are sent with
    /// K streams).
    pub rx_pilot_symbols: usize,
    /// Payload OFDM symbols per data packet.
    pub payload_symbols: usize,
    /// Inter-carrier interference model.
    pub ici: IciModel,
    /// Where the nodes are.
    pub deployment: Deployment,
    /// Side of the square room (m).
    pub room_side_m: f64,
    /// Path-loss breakpoint (m): exponent 2 (free space) below, 3.5 above (TGn model D: 10 m).
    pub breakpoint_m: f64,
    /// Log-normal shadowing std below the breakpoint (dB); TGn: 3 dB.
    pub shadowing_db: f64,
    /// Log-normal shadowing std above the breakpoint (dB); TGn: 5 dB.
    pub shadowing_far_db: f64,
    /// Distances are at least this (m).
    pub min_distance_m: f64,
    /// Reference distance for `snr_ref_db` (m).
    pub ref_distance_m: f64,
    /// Mean SNR per subcarrier of a link at `ref_distance_m` (with [`Deployment::EqualLinks`]:
    /// of every link) with one AP at its full power (dB): the testbed's link budget (module docs).
    pub snr_ref_db: f64,
}

impl Testbed {
    /// The testbed as the thesis describes it (module docs).
    pub fn full() -> Self {
        Testbed {
            carrier_hz: 2.4e9,
            oscillator: OscillatorSpec::WARP,
            sampling_offset_max_ppm: 1.0,
            pilot_snr_db: 28.5,
            pilot_tones: 2,
            probe_symbols: 2,
            probe_snr_db: 28.5,
            tracker_window: SlidingSlope::DEFAULT_WINDOW,
            lookahead_symbols: 3,
            first_tx_symbol: 10,
            delay_spread_s: 50e-9,
            environment_speed_m_per_s: 1.2 / 3.6,
            estimation_delay_s: 1e-3,
            ce_symbols: 2,
            feedback_bits: 16,
            rx_pilot_symbols: 2,
            payload_symbols: 100,
            ici: IciModel::Gaussian,
            deployment: Deployment::EqualLinks,
            room_side_m: 10.0,
            breakpoint_m: 10.0,
            shadowing_db: 3.0,
            shadowing_far_db: 5.0,
            min_distance_m: 1.0,
            ref_distance_m: 5.0,
            snr_ref_db: 30.0,
        }
    }

    /// The same with fewer payload symbols (quick runs).
    pub fn quick() -> Self {
        Testbed {
            payload_symbols: 40,
            ..Self::full()
        }
    }

    /// Range checks for an experiment with up to `max_aps` APs; errors name
    /// `config.testbed.<field>`.
    pub fn validate(&self, max_aps: usize) -> Result<(), FieldError> {
        let c = Check {
            prefix: "config.testbed",
        };
        c.range("carrier_hz", self.carrier_hz, 1e8, 1e11, "Hz")?;
        self.oscillator.validate("config.testbed.oscillator")?;
        c.range(
            "sampling_offset_max_ppm",
            self.sampling_offset_max_ppm,
            0.0,
            100.0,
            "ppm",
        )?;
        c.range("pilot_snr_db", self.pilot_snr_db, -10.0, 200.0, "dB")?;
        c.count("pilot_tones", self.pilot_tones, 1, 64)?;
        c.count("probe_symbols", self.probe_symbols, 1, 64)?;
        c.range("probe_snr_db", self.probe_snr_db, -10.0, 200.0, "dB")?;
        c.count("tracker_window", self.tracker_window, 1, 64)?;
        c.count("lookahead_symbols", self.lookahead_symbols, 0, 64)?;
        // the tracker needs two measurements (one slope) before the first transmitted symbol
        c.count(
            "first_tx_symbol",
            self.first_tx_symbol,
            self.lookahead_symbols + 1,
            10_000,
        )?;
        c.range("delay_spread_s", self.delay_spread_s, 0.0, 800e-9, "s")?;
        c.range(
            "environment_speed_m_per_s",
            self.environment_speed_m_per_s,
            0.0,
            100.0,
            "m/s",
        )?;
        c.count("ce_symbols", self.ce_symbols, 1, 64)?;
        c.count("feedback_bits", self.feedback_bits, 2, 32)?;
        c.count("rx_pilot_symbols", self.rx_pilot_symbols, 1, 100_000)?;
        c.count("payload_symbols", self.payload_symbols, 2, 100_000)?;
        c.range("room_side_m", self.room_side_m, 1.0, 1e4, "m")?;
        c.range("breakpoint_m", self.breakpoint_m, 0.1, 1e4, "m")?;
        c.range("shadowing_db", self.shadowing_db, 0.0, 20.0, "dB")?;
        c.range("shadowing_far_db", self.shadowing_far_db, 0.0, 20.0, "dB")?;
        c.range("min_distance_m", self.min_distance_m, 0.01, 100.0, "m")?;
        c.range("ref_distance_m", self.ref_distance_m, 0.01, 1e4, "m")?;
        c.range("snr_ref_db", self.snr_ref_db, -20.0, 200.0, "dB")?;
        let num = Numerology::wifi20();
        let sounding_s =
            (self.first_tx_symbol + self.ce_symbols.max(max_aps)) as f64 * num.symbol_duration_s(0);
        c.range(
            "estimation_delay_s",
            self.estimation_delay_s,
            sounding_s,
            10.0,
            "s (at least the sounding packet's length)",
        )
    }
}

impl Testbed {
    /// Path loss relative to the reference distance (dB) and the shadowing std (dB) at distance
    /// `d_m`: 20·log10(d/d_ref) up to the breakpoint, then 35·log10 (TGn model D's dual slope).
    pub fn path_loss_db(&self, d_m: f64) -> (f64, f64) {
        let near = |d: f64| 20.0 * (d / self.ref_distance_m).log10();
        if d_m <= self.breakpoint_m {
            (near(d_m), self.shadowing_db)
        } else {
            (
                near(self.breakpoint_m) + 35.0 * (d_m / self.breakpoint_m).log10(),
                self.shadowing_far_db,
            )
        }
    }
}

/// The testbed's derived quantities and the noise/power normalization of one experiment point.
#[derive(Clone, Debug)]
pub struct Model {
    pub tb: Testbed,
    /// APs M (AP 0 the master) and clients K.
    pub m: usize,
    pub k: usize,
    /// Channel-estimation symbols per sounding, max(`ce_symbols`, M).
    pub n_ce: usize,
    /// Precoded pilot symbols per data packet, max(`rx_pilot_symbols`, K).
    pub n_rx: usize,
    pub num: Numerology,
    /// OFDM symbol duration T (s).
    pub t_sym_s: f64,
    /// Subcarrier spacing Δf (Hz).
    pub df_hz: f64,
    pub pdp: PowerDelayProfile,
    /// Correlation of every channel tap between sounding and data, J0(2π f_D Δt).
    pub ageing: f64,
    /// Pilot-tone phase measurement variance per symbol r (rad²).
    pub pilot_var_rad2: f64,
    /// Probe phase variance per subcarrier (rad²).
    pub probe_var_rad2: f64,
    /// Noise variance at a client, relative to a unit-mean link at unit transmit power.
    pub noise_var: f64,
    /// Each AP's power when sounding (and on average when precoding).
    pub ap_power: f64,
    pub errors: Errors,
}

impl Model {
    /// The model of M APs and K clients with noise variance `noise_var` and per-AP power
    /// `ap_power` (both relative to unit-mean links), all error sources on.
    pub fn new(tb: &Testbed, m: usize, k: usize, noise_var: f64, ap_power: f64) -> Self {
        let num = Numerology::wifi20();
        let t_sym_s = num.symbol_duration_s(0);
        let df_hz = num.subcarrier_spacing_hz();
        let taps_decay = tb.delay_spread_s * num.sample_rate_hz;
        let pdp = if taps_decay <= 1e-3 {
            PowerDelayProfile::flat()
        } else {
            PowerDelayProfile::exponential(((6.0 * taps_decay).ceil() as usize).max(2), taps_decay)
        };
        let doppler_hz = tb.environment_speed_m_per_s * tb.carrier_hz / SPEED_OF_LIGHT_M_PER_S;
        Model {
            tb: tb.clone(),
            m,
            k,
            n_ce: tb.ce_symbols.max(m),
            n_rx: tb.rx_pilot_symbols.max(k),
            ageing: bessel_j0(2.0 * PI * doppler_hz * tb.estimation_delay_s),
            pilot_var_rad2: crb::intercept(tb.pilot_tones, db_to_lin(tb.pilot_snr_db)),
            probe_var_rad2: crb::intercept(tb.probe_symbols, db_to_lin(tb.probe_snr_db)),
            num,
            t_sym_s,
            df_hz,
            pdp,
            noise_var,
            ap_power,
            errors: Errors::All,
        }
    }

    /// The testbed's own normalization: noise at the link budget `snr_ref_db`, unit AP power.
    pub fn testbed(tb: &Testbed, m: usize, k: usize) -> Self {
        Self::new(tb, m, k, db_to_lin(-tb.snr_ref_db), 1.0)
    }

    /// The same model with another noise variance.
    pub fn with_noise(&self, noise_var: f64) -> Self {
        Model {
            noise_var,
            ..self.clone()
        }
    }

    /// The same model with only some error sources.
    pub fn with_errors(&self, errors: Errors) -> Self {
        Model {
            errors,
            ..self.clone()
        }
    }

    /// Symbols of a sounding packet.
    pub fn sounding_len(&self) -> usize {
        self.tb.first_tx_symbol + self.n_ce
    }

    /// Symbols of a data packet.
    pub fn data_len(&self) -> usize {
        self.tb.first_tx_symbol + self.n_rx + self.tb.payload_symbols
    }

    /// The data-packet symbols carrying the precoded pilots.
    pub fn pilot_symbols(&self) -> std::ops::Range<usize> {
        let s = self.tb.first_tx_symbol;
        s..s + self.n_rx
    }

    /// The data-packet symbols carrying the payload.
    pub fn payload(&self) -> std::ops::Range<usize> {
        let s = self.tb.first_tx_symbol + self.n_rx;
        s..s + self.tb.payload_symbols
    }

    /// Analytic rms of one secondary's residual phase error under white pilot noise, the
    /// oscillators' phase noise and walk (module docs), without the sampling drift (rad).
    pub fn residual_std_rad(&self) -> f64 {
        let (w, d) = (
            self.tb.tracker_window as f64,
            self.tb.lookahead_symbols as f64,
        );
        let r = self.pilot_var_rad2;
        let a = d / w;
        // relative phase: the two oscillators' diffusions add
        let c = 2.0 * 2.0 * PI * self.tb.oscillator.linewidth_hz * self.t_sym_s;
        let q = 2.0
            * (2.0 * PI).powi(2)
            * self.tb.oscillator.freq_walk_hz2_per_s
            * self.t_sym_s.powi(3);
        (r * ((1.0 + a).powi(2) + a * a)
            + c * d * (1.0 + a)
            + q * d * d * (d + w) / 3.0
            + r
            + self.probe_var_rad2)
            .sqrt()
    }

    /// ICI power at a client from a secondary with relative CFO `cfo_hz` whose signal arrives
    /// with `rx_power` per subcarrier.
    pub fn ici_power(&self, cfo_hz: f64, rx_power: f64) -> f64 {
        match (self.tb.ici, self.errors) {
            (IciModel::Gaussian, Errors::All) => {
                PI * PI / 3.0 * (cfo_hz / self.df_hz).powi(2) * rx_power
            }
            _ => 0.0,
        }
    }

    /// Draws the large-scale geometry of a drop: positions, distances and mean link gains
    /// (streams `seeds.child("position")` and `seeds.child("shadowing")`).
    pub fn geometry(&self, seeds: &SeedTree) -> Geometry {
        let (m, k) = (self.m, self.k);
        match self.tb.deployment {
            Deployment::EqualLinks => Geometry {
                distance_m: vec![vec![self.tb.ref_distance_m; k]; m],
                gain_db: vec![vec![0.0; k]; m],
            },
            Deployment::Room => {
                let side = self.tb.room_side_m;
                let place = |label: &str, i: usize| {
                    let mut r = seeds.child("position").child(label).index(i as u64).rng();
                    (r.random_range(0.0..side), r.random_range(0.0..side))
                };
                let aps: Vec<(f64, f64)> = (0..m).map(|i| place("ap", i)).collect();
                let clients: Vec<(f64, f64)> = (0..k).map(|j| place("client", j)).collect();
                let distance_m: Vec<Vec<f64>> = aps
                    .iter()
                    .map(|a| {
                        clients
                            .iter()
                            .map(|c| ((a.0 - c.0).powi(2) + (a.1 - c.1).powi(2)).sqrt())
                            .collect()
                    })
                    .collect();
                let gain_db = (0..m)
                    .map(|i| {
                        (0..k)
                            .map(|j| {
                                let d = distance_m[i][j].max(self.tb.min_distance_m);
                                let z: f64 = seeds
                                    .child("shadowing")
                                    .index(i as u64)
                                    .index(j as u64)
                                    .rng()
                                    .sample(StandardNormal);
                                let (loss, sigma) = self.tb.path_loss_db(d);
                                -loss - sigma * z
                            })
                            .collect()
                    })
                    .collect();
                Geometry {
                    distance_m,
                    gain_db,
                }
            }
        }
    }

    /// Small-scale fading on top of `geometry`: per link Rayleigh taps of the office profile
    /// scaled by the link's mean gain, at the sounding and aged to the data packet (streams
    /// `seeds.child("link").index(i).index(k)`). Returns (sounding, transmit), per used
    /// subcarrier, M×K.
    pub fn channels(&self, geometry: &Geometry, seeds: &SeedTree) -> (Vec<CMat>, Vec<CMat>) {
        let (m, k) = (self.m, self.k);
        let mut taps0 = Vec::with_capacity(m * k);
        let mut taps1 = Vec::with_capacity(m * k);
        let keep = (1.0 - self.ageing * self.ageing).max(0.0).sqrt();
        for i in 0..m {
            for j in 0..k {
                let mut rng = seeds.child("link").index(i as u64).index(j as u64).rng();
                let amp = db_to_lin(geometry.gain_db[i][j]).sqrt();
                let a: Vec<C64> = self.pdp.draw(&mut rng).iter().map(|t| t * amp).collect();
                let w = self.pdp.draw(&mut rng);
                let b: Vec<C64> = a
                    .iter()
                    .zip(&w)
                    .map(|(a, w)| a * self.ageing + w * amp * keep)
                    .collect();
                taps0.push(a);
                taps1.push(b);
            }
        }
        let n_fft = self.num.n_fft;
        let freq = |taps: &[Vec<C64>]| -> Vec<CMat> {
            self.num
                .used
                .iter()
                .map(|&n| {
                    Mat::from_fn(m, k, |i, j| {
                        self.pdp
                            .frequency_response(&taps[i * k + j], n_fft, n)
                            .conj()
                    })
                })
                .collect()
        };
        let sounding = freq(&taps0);
        let transmit = if !self.errors.channel() {
            sounding.clone()
        } else {
            freq(&taps1)
        };
        (sounding, transmit)
    }

    /// Draws one drop: the geometry, the M×K channels at sounding and transmission time and the
    /// APs' synchronization over both packets. Streams as in [`Model::geometry`] and
    /// [`Model::channels`], and `seeds.child("ap").index(i)` per AP.
    pub fn drop(&self, seeds: &SeedTree) -> Drop {
        let m = self.m;
        let used = &self.num.used;
        let geometry = self.geometry(seeds);
        let (sounding, transmit) = self.channels(&geometry, seeds);
        let (mut sync_sounding, mut sync_data) = (Vec::new(), Vec::new());
        let spec = self.tb.oscillator;
        let ap_seeds = seeds.child("ap");
        let master_seeds = ap_seeds.index(0);
        let (n_s, n_d) = (self.sounding_len(), self.data_len());
        let mut master_sampling = 0.0;
        for i in 0..m {
            let s = ap_seeds.index(i as u64);
            let sampling = self.tb.sampling_offset_max_ppm
                * 1e-6
                * s.child("sampling").rng().random_range(-1.0..=1.0);
            if i == 0 {
                master_sampling = sampling;
            }
            if i == 0 || !self.errors.sync() {
                sync_sounding.push(ApResidual::master(n_s, used.len()));
                sync_data.push(ApResidual::master(n_d, used.len()));
                continue;
            }
            let mut rm = master_seeds.child("oscillator").rng();
            let mut rs = s.child("oscillator").rng();
            let master = Oscillator::new(spec.draw(self.tb.carrier_hz, &mut rm));
            let secondary = Oscillator::new(spec.draw(self.tb.carrier_hz, &mut rs));
            let mut sec = SymbolSecondary::new(
                (master, rm),
                (secondary, rs),
                self.tb.tracker_window,
                self.tb.lookahead_symbols,
                self.pilot_var_rad2,
            );
            let offset = sampling - master_sampling;
            sync_sounding.push(packet_residual(
                &mut sec,
                self,
                offset,
                0.0,
                n_s,
                &mut s.child("sounding").rng(),
            ));
            sync_data.push(packet_residual(
                &mut sec,
                self,
                offset,
                self.tb.estimation_delay_s,
                n_d,
                &mut s.child("data").rng(),
            ));
        }
        Drop {
            geometry,
            sounding,
            transmit,
            sync_sounding,
            sync_data,
        }
    }

    /// The residual phase (rad) AP `i`'s signal carries on used subcarrier `n_idx` at symbol `s` of
    /// a packet.
    pub fn residual_rad(&self, sync: &[ApResidual], i: usize, n_idx: usize, s: usize) -> f64 {
        sync[i].phase_rad(n_idx, self.num.used[n_idx], s, self.df_hz)
    }

    /// The clients' per-subcarrier LS estimates Ĥ (M×K) of the sounding-time channel as the
    /// server receives them: averaged over the `n_ce` symbols (with the secondaries' sync
    /// errors there), noise (thermal + ICI) of variance (N0 + ICI)/(P·n_ce) relative to the
    /// channel, 16-bit I/Q quantization per link. Uses `rng` for the noise.
    pub fn estimate(&self, drop: &Drop, rng: &mut SimRng) -> Vec<CMat> {
        let (m, k) = (drop.sounding[0].nrows(), drop.sounding[0].ncols());
        let n_used = self.num.used.len();
        let ce = self.tb.first_tx_symbol..self.sounding_len();
        let n_ce = self.n_ce as f64;
        // ICI at each client during the sounding: every AP sends unit-power symbols everywhere
        let ici: Vec<f64> = (0..k)
            .map(|j| {
                (1..m)
                    .map(|i| {
                        let p = drop
                            .sounding
                            .iter()
                            .map(|h| h[(i, j)].norm_sqr())
                            .sum::<f64>()
                            / n_used as f64;
                        self.ici_power(drop.sync_sounding[i].cfo_hz, p * self.ap_power)
                    })
                    .sum()
            })
            .collect();
        let noiseless = !self.errors.channel();
        let mut est: Vec<CMat> = (0..n_used)
            .map(|n| {
                Mat::from_fn(m, k, |i, j| {
                    let rot: C64 = ce
                        .clone()
                        .map(|s| cis(-self.residual_rad(&drop.sync_sounding, i, n, s)))
                        .sum::<C64>()
                        / n_ce;
                    let h = drop.sounding[n][(i, j)] * rot;
                    if noiseless {
                        h
                    } else {
                        h + cn01(rng) * ((self.noise_var + ici[j]) / (self.ap_power * n_ce)).sqrt()
                    }
                })
            })
            .collect();
        if !noiseless {
            quantize_links(&mut est, self.tb.feedback_bits);
        }
        est
    }

    /// Received power per subcarrier (mean over subcarriers) at client `j` from AP `i` sending
    /// the streams of `beams` — what the ICI scales with.
    fn rx_power(&self, h: &[CMat], beams: &Beams, i: usize, j: usize) -> f64 {
        h.iter()
            .zip(&beams.w)
            .zip(&beams.power)
            .map(|((h, w), p)| {
                let tx: f64 = (0..w.ncols()).map(|c| w[(i, c)].norm_sqr() * p[c]).sum();
                h[(i, j)].norm_sqr() * tx
            })
            .sum::<f64>()
            / h.len() as f64
    }

    /// Noise plus ICI variance at each client while `beams` are transmitted.
    pub fn impairment_noise(&self, drop: &Drop, beams: &Beams) -> Vec<f64> {
        let (m, k) = (drop.transmit[0].nrows(), drop.transmit[0].ncols());
        (0..k)
            .map(|j| {
                self.noise_var
                    + (1..m)
                        .map(|i| {
                            self.ici_power(
                                drop.sync_data[i].cfo_hz,
                                self.rx_power(&drop.transmit, beams, i, j),
                            )
                        })
                        .sum::<f64>()
            })
            .collect()
    }

    /// The K×K effective gain G(n, s) = H̃(n, s)ᴴ W(n) at data-packet symbol `s`:
    /// G\[k, j\] = Σ_i conj(H_ik) e^{jε_i(n,s)} W_ij.
    pub fn effective_gain(&self, drop: &Drop, w: &CMat, n: usize, s: usize, g: &mut CMat) {
        let h = &drop.transmit[n];
        let (m, k) = (h.nrows(), h.ncols());
        let rot: Vec<C64> = (0..m)
            .map(|i| cis(self.residual_rad(&drop.sync_data, i, n, s)))
            .collect();
        for r in 0..k {
            for c in 0..w.ncols() {
                g[(r, c)] = (0..m).map(|i| h[(i, r)].conj() * rot[i] * w[(i, c)]).sum();
            }
        }
    }

    /// Each client's estimate of its own stream's gain G_kk·√p_k from the precoded pilots
    /// (orthogonal across streams, averaged over `n_rx` symbols), per subcarrier
    /// (`[n][k]`; 0 where the stream is off).
    pub fn gain_estimates(
        &self,
        drop: &Drop,
        beams: &Beams,
        noise: &[f64],
        rng: &mut SimRng,
    ) -> Vec<Vec<C64>> {
        let k = beams.w[0].ncols();
        let mut g = Mat::zeros(drop.transmit[0].ncols(), k);
        let n_p = self.n_rx as f64;
        (0..self.num.used.len())
            .map(|n| {
                let mut acc = vec![C64::default(); k];
                for s in self.pilot_symbols() {
                    self.effective_gain(drop, &beams.w[n], n, s, &mut g);
                    for (c, a) in acc.iter_mut().enumerate() {
                        *a += g[(c, c)];
                    }
                }
                (0..k)
                    .map(|c| {
                        let p = beams.power[n][c];
                        let z = cn01(rng) * (noise[c] / n_p).sqrt();
                        if p > 0.0 {
                            acc[c] / n_p * p.sqrt() + z
                        } else {
                            C64::default()
                        }
                    })
                    .collect()
            })
            .collect()
    }

    /// A linearly precoded data packet (ZF or any x = W·diag(√p)·u): 16-QAM symbols per stream,
    /// received through the impaired channel with noise and ICI, equalized by each client with
    /// its pilot-based gain estimate. `rng` draws the data, the pilots' noise and the payload's
    /// noise (in that order).
    pub fn receive_linear(&self, drop: &Drop, beams: &Beams, rng: &mut SimRng) -> Vec<Received> {
        let k = beams.w[0].ncols();
        let qam = Qam::new(16).expect("16-QAM");
        let noise = self.impairment_noise(drop, beams);
        let ghat = self.gain_estimates(drop, beams, &noise, rng);
        let n_used = self.num.used.len();
        let mut out: Vec<Received> = (0..k).map(|_| Received::new(n_used)).collect();
        let mut g = Mat::zeros(k, k);
        let mut u = vec![C64::default(); k];
        for (n, gh) in ghat.iter().enumerate() {
            for s in self.payload() {
                self.effective_gain(drop, &beams.w[n], n, s, &mut g);
                for ui in u.iter_mut() {
                    *ui = qam.map(rng.random_range(0..16));
                }
                for r in 0..k {
                    let y: C64 = (0..k)
                        .map(|c| g[(r, c)] * beams.power[n][c].sqrt() * u[c])
                        .sum::<C64>()
                        + cn01(rng) * noise[r].sqrt();
                    if beams.power[n][r] > 0.0 {
                        out[r].push(n, y / gh[r], u[r]);
                    }
                }
            }
        }
        out
    }

    /// Point to point: AP `i` alone serves client `j` with `power` in its ordinary mode (no
    /// AirSync correction; the client locks to it), equalized with `n_rx` pilot symbols.
    pub fn point_to_point(
        &self,
        h: &[CMat],
        i: usize,
        j: usize,
        power: f64,
        rng: &mut SimRng,
    ) -> Received {
        let qam = Qam::new(16).expect("16-QAM");
        let n_p = self.n_rx as f64;
        let mut out = Received::new(h.len());
        for (n, hn) in h.iter().enumerate() {
            let g = hn[(i, j)].conj() * power.sqrt();
            let ghat = g + cn01(rng) * (self.noise_var / n_p).sqrt();
            for _ in self.payload() {
                let u = qam.map(rng.random_range(0..16));
                let y = g * u + cn01(rng) * self.noise_var.sqrt();
                out.push(n, y / ghat, u);
            }
        }
        out
    }

    /// The link (AP, client) with the highest mean Shannon rate over the subcarriers at `power`,
    /// among clients `clients` (an ideal scheduler's choice).
    pub fn best_link(&self, h: &[CMat], clients: &[usize], power: f64) -> (usize, usize) {
        let m = h[0].nrows();
        let mut best = (0, clients[0], f64::NEG_INFINITY);
        for i in 0..m {
            for &j in clients {
                let r = h
                    .iter()
                    .map(|hn| (1.0 + power * hn[(i, j)].norm_sqr() / self.noise_var).log2())
                    .sum::<f64>();
                if r > best.2 {
                    best = (i, j, r);
                }
            }
        }
        (best.0, best.1)
    }

    /// Std (rad) of the secondaries' residual phase error over the payload symbols of the data
    /// packet, and of its change since the sounding (the mismatch a precoder sees), pooled over
    /// secondaries and subcarriers. Returns (sum of squares, sum of squares of the change, count).
    pub fn residual_moments(&self, drop: &Drop) -> (f64, f64, usize) {
        let m = drop.transmit[0].nrows();
        let ce = self.tb.first_tx_symbol..self.sounding_len();
        let (mut a, mut b, mut count) = (0.0, 0.0, 0);
        for i in 1..m {
            for n in 0..self.num.used.len() {
                let est: C64 = ce
                    .clone()
                    .map(|s| cis(self.residual_rad(&drop.sync_sounding, i, n, s)))
                    .sum();
                let est = est.arg();
                for s in self.payload() {
                    let e = self.residual_rad(&drop.sync_data, i, n, s);
                    a += e * e;
                    b += wrap_phase(e - est).powi(2);
                    count += 1;
                }
            }
        }
        (a, b, count)
    }
}

/// Quantizes every link (i, k) of per-subcarrier estimates to `bits`-bit I and Q, full scale the
/// largest |Re| or |Im| of that link over the subcarriers (mid-tread, 2^(bits−1) − 1 levels each
/// side).
pub fn quantize_links(est: &mut [CMat], bits: usize) {
    let (m, k) = (est[0].nrows(), est[0].ncols());
    let levels = ((1u64 << (bits - 1)) - 1) as f64;
    for i in 0..m {
        for j in 0..k {
            let fs = est
                .iter()
                .map(|h| h[(i, j)].re.abs().max(h[(i, j)].im.abs()))
                .fold(0.0, f64::max);
            if fs == 0.0 {
                continue;
            }
            let step = fs / levels;
            for h in est.iter_mut() {
                let q = |x: f64| (x / step).round().clamp(-levels, levels) * step;
                h[(i, j)] = C64::new(q(h[(i, j)].re), q(h[(i, j)].im));
            }
        }
    }
}

/// Where the nodes of a drop are: AP–client distances and mean link gains, `[i][k]`.
#[derive(Clone, Debug)]
pub struct Geometry {
    /// Distance AP i – client k (m).
    pub distance_m: Vec<Vec<f64>>,
    /// Mean power gain of link (i, k) relative to a link at the reference distance (dB): path
    /// loss and shadowing.
    pub gain_db: Vec<Vec<f64>>,
}

impl Geometry {
    /// The AP closest to client `k` (the first of equals).
    pub fn closest_ap(&self, k: usize) -> usize {
        (0..self.distance_m.len())
            .min_by(|&a, &b| self.distance_m[a][k].total_cmp(&self.distance_m[b][k]))
            .unwrap_or(0)
    }
}

/// One drop: geometry, channels and synchronization.
pub struct Drop {
    pub geometry: Geometry,
    /// Channel at the sounding, per used subcarrier, M×K (y = Hᴴx).
    pub sounding: Vec<CMat>,
    /// Channel at the data packet (aged by the estimation delay).
    pub transmit: Vec<CMat>,
    /// Every AP's residual over the sounding packet (the master's is zero).
    pub sync_sounding: Vec<ApResidual>,
    /// Every AP's residual over the data packet.
    pub sync_data: Vec<ApResidual>,
}

/// One AP's residual phase error over one packet.
#[derive(Clone, Debug)]
pub struct ApResidual {
    /// Common part per symbol of the packet (rad; symbols before `first_tx_symbol` are unused).
    common_rad: Vec<f64>,
    /// The probe's per-subcarrier phase error (rad).
    probe_rad: Vec<f64>,
    /// Relative timing drift per symbol, δ·T (s).
    drift_s_per_symbol: f64,
    /// Relative carrier offset master − this AP at the packet start (Hz), for the ICI.
    pub cfo_hz: f64,
}

impl ApResidual {
    fn master(n_sym: usize, n_used: usize) -> Self {
        ApResidual {
            common_rad: vec![0.0; n_sym],
            probe_rad: vec![0.0; n_used],
            drift_s_per_symbol: 0.0,
            cfo_hz: 0.0,
        }
    }

    /// ε(n, s) on used subcarrier `n_idx` (subcarrier index `sub` relative to DC) at symbol `s`.
    pub fn phase_rad(&self, n_idx: usize, sub: i32, s: usize, df_hz: f64) -> f64 {
        self.common_rad[s] + self.probe_rad[n_idx]
            - 2.0 * PI * sub as f64 * df_hz * self.drift_s_per_symbol * s as f64
    }
}

/// A secondary's residual for one packet from the library's [`SymbolSecondary`], plus the probe's
/// per-subcarrier noise and the sampling drift (module docs).
fn packet_residual(
    sec: &mut SymbolSecondary,
    model: &Model,
    sampling_offset: f64,
    t_start_s: f64,
    n_sym: usize,
    rng: &mut SimRng,
) -> ApResidual {
    let common_rad = sec.packet(
        t_start_s,
        model.t_sym_s,
        n_sym,
        model.tb.first_tx_symbol,
        rng,
    );
    let probe_sigma = model.probe_var_rad2.sqrt();
    let probe_rad = (0..model.num.used.len())
        .map(|_| probe_sigma * rng.sample::<f64, _>(StandardNormal))
        .collect();
    ApResidual {
        common_rad,
        probe_rad,
        drift_s_per_symbol: sampling_offset * model.t_sym_s,
        // the frequency offsets at the packet start (the ICI's offset barely moves in a packet)
        cfo_hz: sec.relative_frequency_hz(),
    }
}

/// A transmission's beams: per used subcarrier the M×K map W from stream signals to AP outputs
/// and each stream's power E|s_k|² (0: stream off on that subcarrier).
pub struct Beams {
    pub w: Vec<CMat>,
    pub power: Vec<Vec<f64>>,
}

/// What one client received: per used subcarrier, the equalized payload symbols and the ones
/// sent (empty where its stream was off).
#[derive(Clone, Debug, Default)]
pub struct Received {
    pub z: Vec<Vec<C64>>,
    pub u: Vec<Vec<C64>>,
}

impl Received {
    pub fn new(n_used: usize) -> Self {
        Received {
            z: vec![Vec::new(); n_used],
            u: vec![Vec::new(); n_used],
        }
    }

    pub fn push(&mut self, n: usize, z: C64, u: C64) {
        self.z[n].push(z);
        self.u[n].push(u);
    }

    /// Fraction of subcarriers on which the stream was on.
    pub fn active_fraction(&self) -> f64 {
        self.z.iter().filter(|z| !z.is_empty()).count() as f64 / self.z.len() as f64
    }

    /// The thesis' SINR: from the spread of the whole received constellation (all subcarriers and
    /// payload symbols pooled, as in its scatter diagrams), [`constellation_sinr`]. 0 if the
    /// stream was never on.
    pub fn pooled_sinr(&self) -> f64 {
        let z: Vec<C64> = self.z.iter().flatten().copied().collect();
        let u: Vec<C64> = self.u.iter().flatten().copied().collect();
        if z.len() < 2 {
            0.0
        } else {
            constellation_sinr(&z, &u)
        }
    }

    /// The constellation SINR of each subcarrier over the payload (0 where the stream was off).
    pub fn subcarrier_sinr(&self) -> Vec<f64> {
        self.z
            .iter()
            .zip(&self.u)
            .map(|(z, u)| {
                if z.len() < 2 {
                    0.0
                } else {
                    constellation_sinr(z, u)
                }
            })
            .collect()
    }

    /// The thesis' SINR on sub-bands of `block` consecutive used subcarriers (full blocks only):
    /// each block's constellation pooled over its subcarriers and payload symbols, as a scatter
    /// diagram of a band that wide would show it (0 where the stream was off on the whole block).
    pub fn block_sinr(&self, block: usize) -> Vec<f64> {
        (0..self.z.len() / block)
            .map(|b| {
                let r = b * block..(b + 1) * block;
                let z: Vec<C64> = self.z[r.clone()].iter().flatten().copied().collect();
                let u: Vec<C64> = self.u[r].iter().flatten().copied().collect();
                if z.len() < 2 {
                    0.0
                } else {
                    constellation_sinr(&z, &u)
                }
            })
            .collect()
    }

    /// Up to `max` received points (for a scatter diagram), taken evenly over the subcarriers.
    pub fn scatter(&self, max: usize) -> Vec<(f64, f64)> {
        let all: Vec<C64> = self.z.iter().flatten().copied().collect();
        let step = all.len().div_ceil(max.max(1)).max(1);
        all.iter().step_by(step).map(|z| (z.re, z.im)).collect()
    }
}

/// Bessel function of the first kind, order 0 (Abramowitz & Stegun 9.4.1 for |x| ≤ 3, 9.4.3
/// beyond; absolute error < 5·10⁻⁸ and 1.6·10⁻⁸).
pub fn bessel_j0(x: f64) -> f64 {
    let x = x.abs();
    if x <= 3.0 {
        let y = (x / 3.0).powi(2);
        1.0 + y
            * (-2.249_999_7
                + y * (1.265_620_8
                    + y * (-0.316_386_6
                        + y * (0.044_447_9 + y * (-0.003_944_4 + y * 0.000_210_0)))))
    } else {
        let y = 3.0 / x;
        let f0 = 0.797_884_56
            + y * (-0.000_000_77
                + y * (-0.005_527_40
                    + y * (-0.000_095_12
                        + y * (0.001_372_37 + y * (-0.000_728_05 + y * 0.000_144_76)))));
        // 0.785 398 16 in A&S: π/4
        let theta = x - std::f64::consts::FRAC_PI_4
            + y * (-0.041_663_97
                + y * (-0.000_039_54
                    + y * (0.002_625_73
                        + y * (-0.000_541_25 + y * (-0.000_293_33 + y * 0.000_135_58)))));
        f0 * theta.cos() / x.sqrt()
    }
}

/// Maps a numerical failure to a run error.
pub fn numerical(e: impl std::fmt::Display) -> RunError {
    RunError::Numerical(e.to_string())
}

/// Percentile helper over a non-empty sample (type 7).
pub fn percentile(x: &[f64], p: f64) -> f64 {
    crate::metrics::Cdf::new(x.to_vec()).percentile(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SeedTree;

    #[test]
    fn bessel_j0_hand_values_and_series() {
        for (x, want) in [
            (0.0, 1.0),
            (1.0, 0.765_197_686_6),
            (2.404_825_557_7, 0.0),
            (3.0, -0.260_051_954_9),
            (5.0, -0.177_596_771_3),
            (10.0, -0.245_935_764_5),
        ] {
            assert!(
                (bessel_j0(x) - want).abs() < 1e-7,
                "J0({x}) = {}",
                bessel_j0(x)
            );
        }
        // power series Σ (−x²/4)^k/(k!)² on a grid across the branch point
        for i in 0..=80 {
            let x = i as f64 * 0.1;
            let (mut term, mut sum) = (1.0, 1.0);
            for k in 1..60 {
                term *= -(x * x / 4.0) / (k * k) as f64;
                sum += term;
            }
            assert!((bessel_j0(x) - sum).abs() < 1e-7, "x = {x}");
        }
    }

    #[test]
    fn quantization_error_is_tiny_at_16_bits_and_exact_on_the_grid() {
        let mut rng = SeedTree::new(1).rng();
        let h: Vec<CMat> = (0..52)
            .map(|_| crate::linalg::complex_gaussian(2, 2, &mut rng))
            .collect();
        let mut q = h.clone();
        quantize_links(&mut q, 16);
        let (mut err, mut pow) = (0.0, 0.0);
        for (a, b) in h.iter().zip(&q) {
            for i in 0..2 {
                for j in 0..2 {
                    err += (a[(i, j)] - b[(i, j)]).norm_sqr();
                    pow += a[(i, j)].norm_sqr();
                }
            }
        }
        // step ≈ 3/32767 ⇒ error power ≈ step²/6 per coefficient ≈ −85 dB relative
        assert!(err / pow < 1e-8, "{}", err / pow);
        let mut again = q.clone();
        quantize_links(&mut again, 16);
        for (a, b) in q.iter().zip(&again) {
            assert!(crate::linalg::max_abs_diff(a.as_ref(), b.as_ref()) < 1e-15);
        }
    }

    /// The simulated residual of one secondary matches the closed form of the module docs
    /// (tracker + anchor + probe variance; phase noise and walk included; no sampling drift).
    #[test]
    fn residual_matches_the_closed_form() {
        let tb = Testbed {
            sampling_offset_max_ppm: 0.0,
            payload_symbols: 20,
            ..Testbed::full()
        };
        let model = Model::new(&tb, 2, 1, 1e-3, 1.0);
        let root = SeedTree::new(5).child("residual");
        let (mut sum, mut count) = (0.0, 0usize);
        for d in 0..600 {
            let drop = model.drop(&root.index(d));
            let (a, _, c) = model.residual_moments(&drop);
            sum += a;
            count += c;
        }
        // samples within a packet are correlated: ~600 independent packets × a few effective
        // samples; 10% on the std is ≈ 5 standard errors of the variance at 600 packets
        let std = (sum / count as f64).sqrt();
        let want = model.residual_std_rad();
        assert!(
            (std / want - 1.0).abs() < 0.1,
            "simulated {:.3}° vs closed form {:.3}°",
            std.to_degrees(),
            want.to_degrees()
        );
        // the defaults give about 2.5°, near the thesis' 2.37° (Fig. 3.4)
        assert!(
            (want.to_degrees() - 2.55).abs() < 0.1,
            "{}",
            want.to_degrees()
        );
    }

    /// With every error source at zero the precoded links are perfect: the estimate equals the
    /// channel and the effective gain of a ZF precoder is diagonal.
    #[test]
    fn ideal_testbed_has_no_mismatch() {
        let tb = Testbed {
            oscillator: OscillatorSpec {
                freq_walk_hz2_per_s: 0.0,
                linewidth_hz: 0.0,
                ..OscillatorSpec::WARP
            },
            sampling_offset_max_ppm: 0.0,
            pilot_snr_db: 200.0,
            probe_snr_db: 200.0,
            environment_speed_m_per_s: 0.0,
            ici: IciModel::Off,
            ..Testbed::full()
        };
        let model = Model::new(&tb, 2, 2, 1e-20, 1.0);
        let drop = model.drop(&SeedTree::new(6));
        let est = model.estimate(&drop, &mut SeedTree::new(7).rng());
        for (e, h) in est.iter().zip(&drop.transmit) {
            let rel = crate::linalg::max_abs_diff(e.as_ref(), h.as_ref());
            assert!(rel < 2e-4, "{rel}");
        }
        let zf = crate::precoding::linear::zf(est[3].as_ref()).unwrap();
        let mut g = Mat::zeros(2, 2);
        model.effective_gain(&drop, &zf.v, 3, model.payload().start, &mut g);
        let leak = g[(0, 1)].norm_sqr() / g[(0, 0)].norm_sqr();
        assert!(leak < 1e-8, "{leak}");
    }
}
