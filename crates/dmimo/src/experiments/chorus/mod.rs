//! Reproductions of Chorus (Hamed, Rahul, Partov, "Chorus: Truly Distributed Distributed-MIMO",
//! SIGCOMM 2018): the leaderless layered sync tree of [`crate::sync::layered_tree`], its
//! controllers ([`crate::estimation::phase_control`]) and their loop analysis
//! ([`crate::analysis::control`]). The seed is a fragment (§2(d)–§6 intro); notes/000 §3 defines
//! the checks, most of them reconstructed, and the targets say which.

pub mod loop_instability;
pub mod throughput;

use super::{Entry, Level};

const TARGETS: &str = include_str!("targets.toml");

/// The Chorus experiments.
pub static ENTRIES: &[Entry] = &[
    Entry::new::<loop_instability::Config>(
        "chorus.loop-instability",
        "A listening loop of PI trackers drifts without bound and diverges with latency; the same nodes as a tree converge",
        "Chorus (SIGCOMM 2018) §5 intro, Fig. 1; notes/000 §1.4, §3 P4, appendix",
        Level::Analytic,
        TARGETS,
    ),
    Entry::new::<throughput::Config>(
        "chorus.throughput-vs-leader",
        "Network sum throughput with Chorus's network-wide coherence vs a single leader and vs independent leader clusters, against network size",
        "Chorus (SIGCOMM 2018) abstract (2.7×); notes/000 §2.4.D, §3 S1–S2, §4.3",
        Level::Abstract,
        TARGETS,
    ),
];
