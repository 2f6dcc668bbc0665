//! The radio: oscillators, OFDM numerology and (de)modulation, QAM.

pub mod oscillator;
