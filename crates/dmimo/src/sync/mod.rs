//! Synchronization protocols, one module per protocol, named by what it does; each module's doc
//! says which paper it comes from (the paper's name stays in `experiments/`).
//!
//! Every protocol answers the same three questions (DESIGN.md): who transmits when, what is
//! estimated, and how it is corrected.
//!
//! * [`pairwise_ls`]: combine pairwise offset measurements between neighbouring nodes (CFO in Hz,
//!   timing in s) into one offset per node by weighted least squares over the measurement graph —
//!   the "constrained least squares" of DistSync (Balan, PhD thesis, USC 2013, §4.2–4.3;
//!   notes/003 §3.4). Who transmits when is [`crate::scheduling::beacons`].
//! * [`pairwise_beacons`]: DistSync's CFO protocol at sample level — interleaved repeated
//!   beacons, the modified Schmidl–Cox estimator, least-squares combination and retuning with
//!   holdover (thesis §4.2–4.4; notes/003 §3.3–3.5), single-source (the prototype) or all pairs.
//! * [`reference_tone`]: a master's out-of-band reference tones tracked by secondaries that
//!   pre-rotate their data by the predicted drift — AirSync (thesis Ch. 3; notes/003 §2).
//! * [`layered_tree`]: leaderless synchronization of many small cells through a self-organizing
//!   layered tree with per-layer frequency sets and per-node phase controllers — Chorus
//!   (SIGCOMM 2018 §5–§7; notes/000).
//! * [`leader`]: one-hop leader-based synchronization — a single leader whose reference the
//!   nodes hearing it follow, or greedy leader clusters that are mutually incoherent — as in
//!   MegaMIMO/JMB, AirSync and AirShare: the baselines of Chorus's throughput claim (notes/000
//!   §2.2, §3 S2).
//! * [`backhaul`]: the wired-backhaul and overhead accounting of AirSync and DistSync (thesis
//!   §3.1, §3.7, §4.4; notes/003 §2.5, §3.7): CSI feedback and coefficient message sizes, the
//!   centralized-vs-decentralized precoding backhaul rates, and the server turnaround budget.

pub mod backhaul;
pub mod layered_tree;
pub mod leader;
pub mod pairwise_beacons;
pub mod pairwise_ls;
pub mod reference_tone;
