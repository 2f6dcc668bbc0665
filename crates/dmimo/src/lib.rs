//! dmimo: distributed MIMO simulation.
pub mod channel;
pub mod estimation;
pub mod experiments;
pub mod linalg;
pub mod metrics;
pub mod precoding;
pub mod radio;
pub mod report;
pub mod rng;
pub mod scenario;
pub mod units;

/// The library version recorded in every result.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
