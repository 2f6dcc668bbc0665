//! Parameter estimators for synchronization and their Cramér–Rao bounds.
//!
//! * [`cfo`]: correlation (Schmidl–Cox) carrier-frequency-offset estimators, including the
//!   modified large-spacing beacon of DistSync (thesis §4.3, notes/003 §3.4).
//! * [`phase_slope`]: slope/intercept of a channel's phase across subcarriers (Tretter and Kay
//!   estimators, thesis §4.3 eqs. 4.3–4.6, notes/003 §3.6) and the canonical form (eq. 4.11).
//! * [`tracking`]: per-symbol phase trackers that predict ahead — AirSync's sliding-window slope
//!   with linear extrapolation (thesis §3.1, notes/003 §2.3) and a Kalman tracker of phase,
//!   frequency and drift (the improvement notes/003 §3.2 suggests).
//! * [`phase_control`]: per-node phase controllers of a sync tree, one update per sync period —
//!   a type-2 PI loop, a Kalman tracker and a robust low-peaking design with innovation gating
//!   (Chorus §6 requirements, notes/000 §2.4.B); each exposes its closed-loop transfer function.
//! * [`timing`]: timing acquisition by correlation with a known (PN) preamble.
//! * [`crb`]: the Cramér–Rao bounds these estimators are tested against.
//!
//! SNR convention throughout: signal amplitude `A` per sample (or subcarrier), noise CN(0, σ²)
//! (complex variance σ²), SNR = |A|²/σ² (linear). The high-SNR angle-noise variance of one
//! sample is then σ²/(2|A|²) = 1/(2·SNR) (the thesis' "N/(2P)").

pub mod cfo;
pub mod crb;
pub mod phase_control;
pub mod phase_slope;
pub mod timing;
pub mod tracking;
