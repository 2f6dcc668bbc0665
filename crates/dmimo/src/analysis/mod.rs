//! Analysis: closed forms that check the simulated levels (DESIGN "analytic" rung).
//!
//! * [`control`]: discrete-time loop analysis — polynomials, transfer functions, poles, peaking,
//!   margins, noise gains, cascades of identical loops down a tree and rings of trackers
//!   (Chorus's loop-instability argument, notes/000 §1.4 and appendix).

pub mod control;
