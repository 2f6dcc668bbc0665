//! Channels: large-scale path loss (including [`umi`], 3GPP TR 38.901 UMi street canyon),
//! small-scale fading and multipath, sample-level delays and noise, and the distributed-MIMO
//! impairment H̃ = Φ·H·Ψ.

pub mod fading;
pub mod impairment;
pub mod pathloss;
pub mod umi;
pub mod waveform;
