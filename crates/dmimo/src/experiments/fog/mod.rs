//! Reproductions of fog massive MIMO (Bursalioglu, Caire, Mungara, Papadopoulos, Wang, "Fog
//! Massive MIMO: A User-Centric Seamless Hot-Spot Architecture", arXiv 1803.07614; notes/001).
//! The extraction lost the paper's symbols and most §V values: notes/001 reconstructs the
//! formulas, and every target says whether its value is printed in the paper (`text`),
//! reconstructed, or the notes' own calculation (`derived`).
//!
//! So far: the cellular baseline of Table I ([`table1`]), built on
//! [`crate::analysis::cellular`] and [`crate::scheduling::cellular_reuse`]. The coded pilots
//! ([`crate::pilots::coded_pilots`]) are the first piece of the fog system itself.

pub mod table1;

use super::{Entry, Level};

const TARGETS: &str = include_str!("targets.toml");

/// The fog massive MIMO experiments.
pub static ENTRIES: &[Entry] = &[Entry::new::<table1::Config>(
    "fog.table1",
    "Cellular massive-MIMO baseline (N → ∞): per-user SE and ASE vs the per-cell pilot reuse Q, analysis (35)–(40) and Monte Carlo",
    "Fog massive MIMO (arXiv 1803.07614) §IV Example 3, Table I; notes/001 §2.11, §4 T1–T3",
    Level::Analytic,
    TARGETS,
)];
