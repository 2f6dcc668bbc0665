//! Scheduling: who transmits when.
//!
//! * [`beacons`]: synchronization beacon rounds — colour the interference graph so that no two
//!   conflicting APs beacon together, and lay out each AP's two identical sequences far apart
//!   (DistSync, H. V. Balan, PhD thesis, USC 2013, §4.2–4.3 and Fig. 4.4; notes/003 §3.3, §3.4,
//!   §3.8). The measurements these beacons produce are combined by
//!   [`crate::sync::pairwise_ls`].
//!
//! * [`cellular_reuse`]: nearest-BS cellular massive MIMO with random per-cell pilot reuse (min(K, Q)
//!   users per cell on distinct random pilots out of τ_p) and its large-N pilot-contamination SIR:
//!   the baseline of fog massive MIMO (notes/001 §2.11, T2).
//!
//! * [`fog_association`]: the active sets, serving sets and co-pilot interferers of fog massive
//!   MIMO from one slot's trusted-pilot decisions (notes/001 §2.6–2.7).
//!
//! User and beam selection and fairness will live here too.

pub mod beacons;
pub mod cellular_reuse;
pub mod fog_association;
