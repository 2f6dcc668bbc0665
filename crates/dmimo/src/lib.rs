//! dmimo: distributed MIMO simulation.
pub mod channel;
pub mod estimation;
pub mod linalg;
pub mod metrics;
pub mod precoding;
pub mod radio;
pub mod report;
pub mod rng;
pub mod units;
