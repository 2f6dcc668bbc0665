//! The radio: oscillators, OFDM numerology and (de)modulation, QAM, the receiver front end.

pub mod frontend;
pub mod ofdm;
pub mod oscillator;
pub mod qam;
