//! Pilot codebooks and their assignment to users.
//!
//! * [`coded_pilots`]: the coded uplink pilots of fog massive MIMO (Bursalioglu et al., arXiv
//!   1803.07614, eq. (1); notes/001 §2.1): T orthogonal first-field sequences times the
//!   equal-weight binary code of length L and weight L/2, ranked through the combinatorial number
//!   system, and uniform random assignment (codewords unique within a group, or i.i.d.).
//! * [`signal_detection`]: the finite-N detector itself (eqs. (2)–(8)): received pilot fields,
//!   LS group estimates, the MRC statistic and the one-bit rule; the large-N β-threshold rule.
//! * [`trusted_detection`]: which pilot groups each RRH trusts and for which user (fog massive
//!   MIMO eq. (8); notes/001 §2.3–2.5), in interchangeable modes sharing one decision type.

pub mod coded_pilots;
pub mod signal_detection;
pub mod trusted_detection;
