//! Reproductions from H. V. Balan's thesis, "Achieving high data rates in distributed MIMO
//! systems" (USC, 2013): the Chapters 2–3 symbol-level model (notes/003 §1.7–1.8) and DistSync's
//! efficient estimation (Ch. 4, notes/003 §3).

pub mod airsync_joint;
pub mod airsync_mu;
pub mod airsync_phase_error;
pub mod airsync_testbed;
pub mod canonical_form;
pub mod cfo_null_collapse;
pub mod distsync_backhaul;
pub mod distsync_rates;
pub mod distsync_sync;
pub mod null_leakage;
pub mod precoder_rates;

use super::{Entry, Level};

const TARGETS: &str = include_str!("targets.toml");
const TARGETS_DISTSYNC: &str = include_str!("targets_distsync.toml");
const TARGETS_AIRSYNC: &str = include_str!("targets_airsync.toml");

/// The thesis experiments.
pub static ENTRIES: &[Entry] = &[
    Entry::new::<null_leakage::Config>(
        "thesis.null-leakage",
        "Two-AP ZF null leakage vs relative phase error, and coherent beamforming gain under Gaussian phase error",
        "Balan, PhD thesis, USC 2013, §2.2 and §3.2 (Fig. 3.5 model); notes/003 §1.8",
        Level::Symbol,
        TARGETS,
    ),
    Entry::new::<cfo_null_collapse::Config>(
        "thesis.cfo-null-collapse",
        "Collapse of a 2×2 ZF null over a 1 ms slot under uncompensated and residual CFO",
        "Balan, PhD thesis, USC 2013, §2.2 (eqs. 2.13–2.14); notes/003 §1.7–1.8, §6 target 2",
        Level::Symbol,
        TARGETS,
    ),
    Entry::new::<precoder_rates::Config>(
        "thesis.precoder-rates",
        "4×4 sum rates of MR, ZF with water-filling and THP (simulated on symbols) vs SNR",
        "Balan, PhD thesis, USC 2013, §2.1 (eqs. 2.3–2.10); notes/003 §1.3–1.6",
        Level::Symbol,
        TARGETS,
    ),
    Entry::new::<canonical_form::Config>(
        "distsync.canonical-form",
        "Canonical form of a channel across timing/phase offsets, and whether it detects channel change",
        "Balan, PhD thesis, USC 2013, §4.3 (eq. 4.11, Fig. 4.5); notes/003 §3.6",
        Level::Symbol,
        TARGETS,
    ),
    Entry::new::<airsync_phase_error::Config>(
        "airsync.phase-error",
        "AirSync secondary-vs-master phase error (sample level), sliding-slope and Kalman trackers",
        "Balan, PhD thesis, USC 2013, §3.1–3.2 (Fig. 3.4); notes/003 §2, §6 target 3",
        Level::Sample,
        TARGETS,
    ),
    Entry::new::<airsync_joint::BfGainConfig>(
        "airsync.bf-gain",
        "Two-AP coherent beamforming gain to one client from fed-back channel estimates, AirSync-synchronized",
        "Balan, PhD thesis, USC 2013, §3.2 (beamforming experiment); notes/003 §1.8, §6 target 4",
        Level::Symbol,
        TARGETS_AIRSYNC,
    ),
    Entry::new::<airsync_joint::NullLeakageConfig>(
        "airsync.null-leakage",
        "Two-AP ZF null (two tones arranged to cancel) from fed-back channel estimates, AirSync-synchronized: leakage CDF",
        "Balan, PhD thesis, USC 2013, §3.2 (Fig. 3.5); notes/003 §1.8, §6 target 5",
        Level::Symbol,
        TARGETS_AIRSYNC,
    ),
    Entry::new::<airsync_mu::Zf2x2Config>(
        "airsync.zf-2x2",
        "2×2 ZF with water-filling, 16-QAM, AirSync: per-user SINR from the constellation and Shannon sum rate vs point-to-point",
        "Balan, PhD thesis, USC 2013, §3.2 (Fig. 3.6); notes/003 §6 target 6, §8 item 7",
        Level::Symbol,
        TARGETS_AIRSYNC,
    ),
    Entry::new::<airsync_mu::Thp4x4Config>(
        "airsync.thp-4x4",
        "4×4 THP, 16-QAM in the modulo square, three AirSync secondaries: per-user SINR and sum rate vs point-to-point",
        "Balan, PhD thesis, USC 2013, §3.2 (Fig. 3.7); notes/003 §6 target 7",
        Level::Symbol,
        TARGETS_AIRSYNC,
    ),
    Entry::new::<airsync_mu::VsTdmaConfig>(
        "airsync.vs-tdma",
        "2×2 THP and BIA vs TDMA from the closest AP over receiver CNR 15–30 dB, Gaussian codes",
        "Balan, PhD thesis, USC 2013, §3.2 (Fig. 3.9); notes/003 §1.5, §6 target 8",
        Level::Symbol,
        TARGETS_AIRSYNC,
    ),
    Entry::new::<distsync_sync::ResidualCfoConfig>(
        "distsync.residual-cfo",
        "Residual CFO after DistSync beacon synchronization (sample level), measured with a sine from each AP to a synchronized client",
        "Balan, PhD thesis, USC 2013, §4.2–4.4 (Table 4.1, Fig. 4.7); notes/003 §3.2–3.5, §6 target 12",
        Level::Sample,
        TARGETS_DISTSYNC,
    ),
    Entry::new::<distsync_sync::PhaseDriftConfig>(
        "distsync.phase-drift",
        "Change of the two APs' relative phase between channel estimation and data up to 1 ms later, after DistSync",
        "Balan, PhD thesis, USC 2013, §4.4 (Fig. 4.8); notes/003 §3.5, §6 target 13",
        Level::Sample,
        TARGETS_DISTSYNC,
    ),
    Entry::new::<distsync_rates::Config>(
        "distsync.sum-rate-4x4",
        "4×4 ZF sum rate on the estimated effective channel after DistSync vs point-to-point, over transmit power",
        "Balan, PhD thesis, USC 2013, §4.4 (Figs. 4.11–4.12); notes/003 §3.5, §6 target 14",
        Level::Symbol,
        TARGETS_DISTSYNC,
    ),
    Entry::new::<distsync_backhaul::Config>(
        "distsync.backhaul",
        "Backhaul and overhead accounting: CSI feedback, coefficient messages, server turnaround, centralized vs decentralized precoding",
        "Balan, PhD thesis, USC 2013, §3.1, §3.7, §4.4; notes/003 §2.5, §3.7, §8 item 6",
        Level::Analytic,
        TARGETS,
    ),
];
