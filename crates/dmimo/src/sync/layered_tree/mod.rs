//! Leaderless synchronization through a self-organizing layered tree: Chorus (Hamed, Rahul,
//! Partov, SIGCOMM 2018, §5–§7; notes/000). The fragment gives the architecture; the controller,
//! the signal layout and the protocol's timers are reconstructed here (labels in notes/000).
//!
//! * **Who transmits when.** Every sync period (5 ms, in one OFDM symbol of the LTE frame) each
//!   node of layer i sends the sync signal on frequency set i mod S with layer i's code; the
//!   root is layer 0 ([`protocol`]).
//! * **What is estimated.** A node listens on set (i − 1) mod S to the composite of all layer
//!   i − 1 nodes it hears (a fat tree: many parents) and measures its phase relative to its own
//!   ([`signal`]: the RE-level grid, channels and estimators; [`engine`]: the network, at control
//!   level with the estimator's analytic noise or at RE level with those estimators). A joining
//!   node first acquires its frequency from two symbols 285 µs apart (±1.75 kHz), beyond the
//!   ±100 Hz that the 5 ms samples resolve.
//! * **Where.** [`network`] draws small-cell deployments and their per-RE link SNRs (UMi path
//!   loss, correlated shadowing).
//! * **How it is corrected.** A per-node phase controller
//!   ([`crate::estimation::phase_control`]) steers the node's NCO; the protocol joins, leaves and
//!   moves layers on the composite SINR, so the listens-to graph is always a tree of layers.
//! * **When things break.** [`faults`] schedules node kills, revivals and additions, root
//!   failures, link blockages and SNR dips, and applies them as simulation time passes.

pub mod composite;
pub mod engine;
pub mod faults;
pub mod network;
pub mod protocol;
pub mod signal;
