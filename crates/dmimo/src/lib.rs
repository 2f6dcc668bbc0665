//! dmimo: distributed-MIMO simulation — synchronization, impairments, precoding, and
//! reproductions of published results.
//!
//! Modules follow the data flow (DESIGN.md): [`units`] and [`rng`] underlie everything;
//! [`radio`] (oscillators, OFDM, QAM) and [`channel`] (path loss, fading, delays, the impairment
//! H̃ = Φ·H·Ψ) produce the signals; [`pilots`] names the users; [`estimation`] measures them;
//! [`precoding`] transmits; [`sync`] combines measurements across nodes and [`scheduling`]
//! decides who transmits when; [`analysis`] holds the closed forms; [`metrics`] and [`report`]
//! summarize; [`scenario`] and [`experiments`] tie a run together.
//!
//! Channel convention: **y = Hᴴx + z** with H M×K (see [`linalg`]).
//!
//! ```
//! use dmimo::linalg::complex_gaussian;
//! use dmimo::precoding::{eval::sinr_linear, linear::zf, power::water_fill};
//! use dmimo::rng::SeedTree;
//!
//! let h = complex_gaussian(4, 4, &mut SeedTree::new(1).child("channel").rng()); // M×K
//! let zf = zf(h.as_ref()).unwrap();                 // V = H(HᴴH)⁻¹Λ^½, unit-norm columns
//! let q = water_fill(&zf.lambda, 100.0);            // 20 dB total power, unit noise
//! let sinr = sinr_linear(h.as_ref(), zf.v.as_ref(), &q, 1.0);
//! let rate: f64 = sinr.iter().map(|s| (1.0 + s).log2()).sum();
//! // ZF: each stream's SINR is λ_k q_k exactly
//! for k in 0..4 {
//!     assert!((sinr[k] - zf.lambda[k] * q[k]).abs() < 1e-9 * (1.0 + sinr[k]));
//! }
//! assert!(rate > 10.0);
//! ```
pub mod analysis;
pub mod channel;
pub mod estimation;
pub mod experiments;
pub mod geometry;
pub mod linalg;
pub mod metrics;
pub mod pilots;
pub mod precoding;
pub mod radio;
pub mod report;
pub mod rng;
pub mod scenario;
pub mod scheduling;
pub mod sync;
pub mod units;

/// The library version recorded in every result.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
