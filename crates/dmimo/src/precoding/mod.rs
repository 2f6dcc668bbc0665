//! Downlink precoders and their evaluation (thesis Ch. 2.1; notes/003 §1.3–1.6).
//!
//! Convention: y = Hᴴx + z with H M×K (see [`crate::linalg`]); a precoder V is M×K with one
//! column per stream, x = V·diag(√p)·u for unit-power symbols u, so the transmit power is Σ p_k
//! when V's columns have unit norm.
//!
//! - [`linear`]: MR (conjugate), ZF with unit-norm columns, RZF;
//! - [`thp`]: Tomlinson–Harashima precoding from the QR of H, with the modulo of side τ = √6;
//! - [`power`]: water-filling and equal power;
//! - [`eval`]: SINR of a linear precoder on a (possibly impaired) channel, null leakage;
//! - [`coherent_groups`]: a network of single-antenna nodes transmitting in coherent groups (joint
//!   ZF inside a group, interference between groups, per-node phase errors);
//! - [`macro_diversity`]: fog massive MIMO's large-N SIR (23) with coherent macro-diversity,
//!   S = (Σ_{S_k} d^{−α})², I = Σ_{T_k} d^{−2α}.
//! - [`unit_norm_zf`]: fog massive MIMO's per-RRH ZF on trusted estimates, Prop. 1's finite-N SINR
//!   and its empirical check against the bound (10).

pub mod coherent_groups;
pub mod eval;
pub mod linear;
pub mod macro_diversity;
pub mod power;
pub mod thp;
pub mod unit_norm_zf;
