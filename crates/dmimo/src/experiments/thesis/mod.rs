//! Reproductions from H. V. Balan's thesis, "Achieving high data rates in distributed MIMO
//! systems" (USC, 2013): the Chapters 2–3 symbol-level model (notes/003 §1.7–1.8) and DistSync's
//! efficient estimation (Ch. 4, notes/003 §3).

pub mod airsync_phase_error;
pub mod canonical_form;
pub mod cfo_null_collapse;
pub mod null_leakage;
pub mod precoder_rates;

use super::{Entry, Level};

const TARGETS: &str = include_str!("targets.toml");

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
];
