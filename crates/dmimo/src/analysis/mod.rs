//! Analysis: closed forms that check the simulated levels (DESIGN "analytic" rung).
//!
//! * [`control`]: discrete-time loop analysis — polynomials, transfer functions, poles, peaking,
//!   margins, noise gains, cascades of identical loops down a tree and rings of trackers
//!   (Chorus's loop-instability argument, notes/000 §1.4 and appendix).
//! * [`cellular`]: stochastic geometry of the ideal cellular massive-MIMO baseline of fog
//!   massive MIMO (notes/001 §2.11): users per Voronoi cell, pilot usage, the large-N SIR with a
//!   Campbell-mean tail, mean SE and ASE.
//! * [`fog_coverage`]: the Boolean-model and interference identities of fog massive MIMO's
//!   analysis (notes/001 §2.9, T5): E\[U\], P(U = 1), the interference Laplace transform (31),
//!   Hamdi's lemma; with ln Γ and the lower incomplete gamma function; and the coverage and SE
//!   analysis built on them: the f_U approximation (17), λ_a (18), P_n (26), R̄ (24), and the
//!   semi-analytic (Monte Carlo f_U) estimator.

pub mod cellular;
pub mod control;
pub mod fog_coverage;
