//! Reproductions of fog massive MIMO (Bursalioglu, Caire, Mungara, Papadopoulos, Wang, "Fog
//! Massive MIMO: A User-Centric Seamless Hot-Spot Architecture", arXiv 1803.07614; notes/001).
//! The extraction lost the paper's symbols and most §V values: notes/001 reconstructs the
//! formulas, and every target says whether its value is printed in the paper (`text`),
//! reconstructed, or the notes' own calculation (`derived`).
//!
//! * [`table1`]: the cellular baseline of Table I, built on [`crate::analysis::cellular`] and
//!   [`crate::scheduling::cellular_reuse`];
//! * [`fig3`]–[`fig6`]: the fog system at N → ∞ — λ_a vs R_c, SE and ASE per pilot vs R_c,
//!   outage and the sweet spot vs load, fog vs cellular — from the analysis in
//!   [`crate::analysis::fog_coverage`] and the one-group Monte Carlo drop of [`large_n`]
//!   (detection [`crate::pilots::trusted_detection`], association
//!   [`crate::scheduling::fog_association`], SIR [`crate::precoding::macro_diversity`]);
//! * [`detector`] and [`fig7`]: the finite-N system — the signal-level detector
//!   ([`crate::pilots::signal_detection`]) against the large-N rules, and fog vs cellular with
//!   per-RRH unit-norm ZF and Prop. 1 ([`crate::precoding::unit_norm_zf`]).

pub mod detector;
pub mod fig3;
pub mod fig4;
pub mod fig5;
pub mod fig6;
pub mod fig7;
pub mod large_n;
pub mod table1;

use super::{Entry, Level};

const TARGETS: &str = include_str!("targets.toml");
const TARGETS_FINITE_N: &str = include_str!("targets_finite_n.toml");

/// The fog massive MIMO experiments.
pub static ENTRIES: &[Entry] = &[
    Entry::new::<table1::Config>(
        "fog.table1",
        "Cellular massive-MIMO baseline (N → ∞): per-user SE and ASE vs the per-cell pilot reuse Q, analysis (35)–(40) and Monte Carlo",
        "Fog massive MIMO (arXiv 1803.07614) §IV Example 3, Table I; notes/001 §2.11, §4 T1–T3",
        Level::Analytic,
        TARGETS,
    ),
    Entry::new::<fig3::Config>(
        "fog.fig3",
        "Fog massive MIMO: active co-pilot user density λ_a vs coverage radius R_c — approximation (18), semi-analytic f_U, full Monte Carlo",
        "Fog massive MIMO (arXiv 1803.07614) §III-A Example 1, Fig. 3; notes/001 §2.9(a)–(e), §4 T6",
        Level::Analytic,
        TARGETS,
    ),
    Entry::new::<fig4::Config>(
        "fog.fig4",
        "Fog massive MIMO (N → ∞): mean SE of served users and ASE per pilot vs R_c, R_p = R_c and a larger R_p, analysis (24) and Monte Carlo",
        "Fog massive MIMO (arXiv 1803.07614) §III-C Example 2, Fig. 4; notes/001 §2.9(g), §4 T7",
        Level::Abstract,
        TARGETS,
    ),
    Entry::new::<fig5::Config>(
        "fog.fig5",
        "Fog massive MIMO (N → ∞): outage and ASE per pilot vs per-pilot load λ_u^(t)/λ_r for three R_c — the sweet spot",
        "Fog massive MIMO (arXiv 1803.07614) §V Example 4, Fig. 5; notes/001 §2.10, §4 T8",
        Level::Analytic,
        TARGETS,
    ),
    Entry::new::<fig6::Config>(
        "fog.fig6",
        "Fog vs ideal cellular massive MIMO (N → ∞): total ASE and served-user SE vs load, analysis and fog Monte Carlo",
        "Fog massive MIMO (arXiv 1803.07614) §V Example 5, Fig. 6; notes/001 §2.11, §4 T4, T9",
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
    ),
];
