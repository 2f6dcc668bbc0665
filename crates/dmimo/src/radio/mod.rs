//! The radio: oscillators, OFDM numerology and (de)modulation, QAM.

pub mod ofdm;
pub mod oscillator;
pub mod qam;
