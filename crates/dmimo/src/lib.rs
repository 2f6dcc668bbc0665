//! dmimo: distributed MIMO simulation.
pub mod estimation;
pub mod linalg;
pub mod precoding;
pub mod report;
pub mod rng;
pub mod units;
