//! Reproductions of fog massive MIMO (Bursalioglu, Caire, Mungara, Papadopoulos, Wang, "Fog
//! Massive MIMO: A User-Centric Seamless Hot-Spot Architecture", arXiv 1803.07614; notes/001).
//! The extraction lost the paper's symbols and most §V values: notes/001 reconstructs the
//! formulas, and every target says whether its value is printed in the paper (`text`),
//! reconstructed, or the notes' own calculation (`derived`).
//!
//! So far: the cellular baseline of Table I ([`table1`]), built on
//! [`crate::analysis::cellular`] and [`crate::scheduling::cellular_reuse`]. The coded pilots
//! ([`crate::pilots::coded_pilots`]) are the first piece of the fog system itself.

pub mod detector;
pub mod fig7;
pub mod table1;

use super::{Entry, Level};

const TARGETS: &str = include_str!("targets.toml");
const TARGETS_FINITE_N: &str = include_str!("targets_finite_n.toml");

/// The fog massive MIMO experiments.
pub static ENTRIES: &[Entry] = &[Entry::new::<table1::Config>(
    "fog.table1",
    "Cellular massive-MIMO baseline (N → ∞): per-user SE and ASE vs the per-cell pilot reuse Q, analysis (35)–(40) and Monte Carlo",
    "Fog massive MIMO (arXiv 1803.07614) §IV Example 3, Table I; notes/001 §2.11, §4 T1–T3",
    Level::Analytic,
    TARGETS,
),
Entry::new::<detector::Config>(
    "fog.detector",
    "Signal-level trusted-pilot detection at finite N: mismatch with the large-N β-threshold and geometric rules vs N and L",
    "Fog massive MIMO (arXiv 1803.07614) §II-B eqs. (2)–(8); notes/001 §2.2–2.5, §4 T11",
    Level::Symbol,
    TARGETS_FINITE_N,
),
Entry::new::<fig7::Config>(
    "fog.fig7",
    "Finite-N fog vs cellular massive MIMO at matched average power: served-user SE and ASE vs load (Prop. 1)",
    "Fog massive MIMO (arXiv 1803.07614) §V Example 6, Fig. 7; notes/001 §2.6–2.8, §2.11, §4 T10",
    Level::Abstract,
    TARGETS_FINITE_N,
)];
