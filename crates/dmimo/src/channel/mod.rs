//! Channels: large-scale path loss, small-scale fading and multipath, sample-level delays and noise,
//! and the distributed-MIMO impairment H̃ = Φ·H·Ψ.

pub mod fading;
pub mod impairment;
pub mod pathloss;
pub mod waveform;
