//! Reproductions of Chorus (Hamed, Rahul, Partov, "Chorus: Truly Distributed Distributed-MIMO",
//! SIGCOMM 2018): the leaderless layered sync tree of [`crate::sync::layered_tree`], its
//! controllers ([`crate::estimation::phase_control`]) and their loop analysis
//! ([`crate::analysis::control`]). The seed is a fragment (§2(d)–§6 intro); notes/000 §3 defines
//! the checks, most of them reconstructed, and the targets say which.

pub mod depth_scaling;
pub mod failures;
pub mod layers;
pub mod loop_instability;
pub mod phase_vs_snr;
pub mod scale;
pub mod throughput;

use super::{Entry, Level};

const TARGETS: &str = include_str!("targets.toml");

/// The Chorus experiments.
pub static ENTRIES: &[Entry] = &[
    Entry::new::<layers::Config>(
        "chorus.layers",
        "The layering protocol on random small-cell deployments: layer assignment, convergence, no loops, reuse margins, flapping under fading",
        "Chorus (SIGCOMM 2018) §5.1; notes/000 §3 T1–T6",
        Level::Abstract,
        TARGETS,
    ),
    Entry::new::<loop_instability::Config>(
        "chorus.loop-instability",
        "A listening loop of PI trackers drifts without bound and diverges with latency; the same nodes as a tree converge",
        "Chorus (SIGCOMM 2018) §5 intro, Fig. 1; notes/000 §1.4, §3 P4, appendix",
        Level::Analytic,
        TARGETS,
    ),
    Entry::new::<depth_scaling::Config>(
        "chorus.depth-scaling",
        "Phase-noise variance vs depth in the tree for PI, Kalman and robust controllers: analytic cascade and control-level chains",
        "Chorus (SIGCOMM 2018) §6 requirements; notes/000 §3 P3, P5, appendix",
        Level::Abstract,
        TARGETS,
    ),
    Entry::new::<phase_vs_snr::Config>(
        "chorus.phase-vs-snr",
        "One hop: phase error vs per-RE SNR for PI, Kalman and robust controllers, and the SNR threshold for a 5° target",
        "Chorus (SIGCOMM 2018) §6, §11.2 (not in the fragment); notes/000 §3 P1, §2.4.B",
        Level::Abstract,
        TARGETS,
    ),
    Entry::new::<scale::Config>(
        "chorus.scale",
        "The layered tree on 100 to 30,000 small cells at fixed density: coverage, depth, coherence, tree invariant",
        "Chorus (SIGCOMM 2018) §4, abstract; notes/000 §3 S3",
        Level::Abstract,
        TARGETS,
    ),
    Entry::new::<throughput::Config>(
        "chorus.throughput-vs-leader",
        "Network sum throughput with Chorus's network-wide coherence vs a single leader and vs independent leader clusters, against network size",
        "Chorus (SIGCOMM 2018) abstract (2.7×); notes/000 §2.4.D, §3 S1–S2, §4.3",
        Level::Abstract,
        TARGETS,
    ),
    Entry::new::<failures::Config>(
        "chorus.failures",
        "Resilience: node and root failures (Fig. 2(a)/(b)), node addition and link blockage — layer changes, phase disturbance, recovery and detection times, tree invariant at every step",
        "Chorus (SIGCOMM 2018) §5.2, Fig. 2; notes/000 §1.6, §3 R1–R6 and T3, §4.3",
        Level::Abstract,
        TARGETS,
    ),
];
