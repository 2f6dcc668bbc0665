//! The radio: oscillators, OFDM numerology and (de)modulation, QAM, the receiver front end, and
//! sample-level links between nodes.

pub mod frontend;
pub mod link;
pub mod ofdm;
pub mod oscillator;
pub mod qam;
