//! Coded uplink pilots of fog massive MIMO (Bursalioglu, Caire, Mungara, Papadopoulos, Wang,
//! "Fog Massive MIMO", arXiv 1803.07614, eq. (1); notes/001 §2.1).
//!
//! A pilot is two fields, τ_p = T + L symbols in all:
//!
//! ```text
//! p_{t,c} = [ √T · φ_t ; √2 · c ] ∈ ℂ^{T+L},   t ∈ [T],  c ∈ C
//! ```
//!
//! * the **first field** φ_t is one of T mutually orthogonal unit-norm sequences of length T
//!   ([`FirstField`]: the identity or the unitary DFT); it names the user's **pilot group**;
//! * the **second field** c is a word of the **equal-weight code** C: all binary words of length L
//!   (even) with Hamming weight exactly L/2, |C| = C(L, L/2) ([`EqualWeightCode`]).
//!
//! With this scaling ‖p‖² = T + L = τ_p (unit energy per pilot dimension). The scaling is a
//! reconstruction (the paper's symbols were lost, notes/001 §5.4 item 2); only the detector's
//! normalization depends on it. The pair (t, c) identifies the user, so the codebook holds
//! T·C(L, L/2) unique pilots.
//!
//! Codewords are `u64` bitmasks (bit i = position i) and are numbered by the **combinatorial
//! number system**: a word with ones at positions c₁ < c₂ < … < c_w has rank Σᵢ C(cᵢ, i), a
//! bijection onto [0, C(L, w)) that orders words as their bitmasks (colexicographic order), so
//! [`EqualWeightCode::unrank`] is increasing in the rank. Ranks let a simulator store a user's
//! codeword as one integer and draw uniform codewords without enumerating C (C(20, 10) = 184,756;
//! L up to [`MAX_CODE_LENGTH`] = 62).
//!
//! Assignment ([`CodedPilotBook::assign`]) draws each user's group uniformly from {0, …, T − 1} and its
//! codeword uniformly from C, either without repetition inside a group (the paper's analysis
//! assumption, [`CodewordDraw::UniqueInGroup`]) or independently ([`CodewordDraw::Iid`], which
//! allows the rare collisions the paper neglects).
//!
//! ```
//! use dmimo::pilots::coded_pilots::{CodedPilotBook, CodewordDraw, EqualWeightCode, FirstField};
//! use dmimo::rng::SeedTree;
//!
//! let code = EqualWeightCode::new(20).unwrap();
//! assert_eq!(code.size(), 184_756);
//! let w = code.unrank(12_345).unwrap();
//! assert_eq!(w.count_ones(), 10);
//! assert_eq!(code.rank(w).unwrap(), 12_345);
//!
//! let book = CodedPilotBook::new(20, 20, FirstField::Dft).unwrap();
//! assert_eq!(book.tau_p(), 40);
//! let ids = book
//!     .assign(500, CodewordDraw::UniqueInGroup, &mut SeedTree::new(1).child("pilots").rng())
//!     .unwrap();
//! let p = book.pilot(ids[0]).unwrap();
//! let energy: f64 = p.iter().map(|x| x.norm_sqr()).sum();
//! assert!((energy - 40.0).abs() < 1e-9);
//! ```

use num_complex::Complex64;
use rand::Rng;
use serde::{Deserialize, Serialize};

/// The longest equal-weight code supported: words are `u64` bitmasks and C(62, 31) ≈ 4.7·10¹⁷
/// ranks fit in a `u64` (as do all C(n, k) with n ≤ 64).
pub const MAX_CODE_LENGTH: u32 = 62;

/// An invalid codebook parameter or request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PilotError {
    /// The code length L must be even (the weight is L/2).
    #[error("code length L = {length} is odd; the equal-weight code needs an even L (weight L/2)")]
    OddLength { length: u32 },
    /// The code length is 0 or above [`MAX_CODE_LENGTH`].
    #[error("code length L = {length} is out of range; allowed: an even integer from 2 to {max}")]
    LengthOutOfRange { length: u32, max: u32 },
    /// No pilot groups.
    #[error("the number of pilot groups T is 0; allowed: T ≥ 1")]
    ZeroGroups,
    /// A rank outside [0, |C|).
    #[error("codeword rank {rank} is out of range; the code has {size} words (ranks 0..{size})")]
    RankOutOfRange { rank: u64, size: u64 },
    /// A pilot group outside [0, T).
    #[error("pilot group {group} is out of range; the book has {groups} groups")]
    GroupOutOfRange { group: usize, groups: usize },
    /// A bitmask that is not a word of the code (wrong weight or bits beyond L).
    #[error("{word:#x} is not a word of the length-{length} equal-weight code (weight {weight}, needs {needed} ones in bits 0..{length})")]
    NotACodeword {
        word: u64,
        length: u32,
        weight: u32,
        needed: u32,
    },
    /// More users drew a group than it has distinct codewords.
    #[error("{users} users drew pilot group {group}, which has only {codewords} distinct codewords; use a longer code or i.i.d. codewords")]
    TooManyUsers {
        group: usize,
        users: usize,
        codewords: u64,
    },
}

/// The binomial coefficient C(n, k), exact.
///
/// # Panics
/// If the result exceeds `u64` (never for n ≤ 64).
pub fn binomial(n: u32, k: u32) -> u64 {
    if k > n {
        return 0;
    }
    let k = k.min(n - k);
    let mut r: u128 = 1;
    for j in 1..=k as u128 {
        // r·(n − k + j) is divisible by j: r·(n−k+j)/j = C(n−k+j, j)
        r = r * (n as u128 - k as u128 + j) / j;
    }
    u64::try_from(r).expect("binomial coefficient exceeds u64")
}

/// The equal-weight binary code: all words of even length L with exactly L/2 ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EqualWeightCode {
    length: u32,
    size: u64,
}

impl EqualWeightCode {
    /// The code of length `length` (even, 2 ≤ L ≤ [`MAX_CODE_LENGTH`]).
    pub fn new(length: u32) -> Result<Self, PilotError> {
        if length == 0 || length > MAX_CODE_LENGTH {
            return Err(PilotError::LengthOutOfRange {
                length,
                max: MAX_CODE_LENGTH,
            });
        }
        if length % 2 == 1 {
            return Err(PilotError::OddLength { length });
        }
        Ok(EqualWeightCode {
            length,
            size: binomial(length, length / 2),
        })
    }

    /// L.
    pub fn length(&self) -> u32 {
        self.length
    }

    /// The weight of every word, L/2.
    pub fn weight(&self) -> u32 {
        self.length / 2
    }

    /// |C| = C(L, L/2).
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Whether `word` is in the code: exactly L/2 ones, all in bits 0..L.
    pub fn contains(&self, word: u64) -> bool {
        word >> self.length == 0 && word.count_ones() == self.weight()
    }

    /// The rank of `word` in the combinatorial number system, in [0, |C|).
    pub fn rank(&self, word: u64) -> Result<u64, PilotError> {
        if !self.contains(word) {
            return Err(PilotError::NotACodeword {
                word,
                length: self.length,
                weight: word.count_ones(),
                needed: self.weight(),
            });
        }
        let mut rank = 0;
        let mut rest = word;
        let mut i = 1;
        while rest != 0 {
            let c = rest.trailing_zeros();
            rank += binomial(c, i);
            rest &= rest - 1;
            i += 1;
        }
        Ok(rank)
    }

    /// The word of rank `rank` (the inverse of [`Self::rank`]).
    pub fn unrank(&self, rank: u64) -> Result<u64, PilotError> {
        if rank >= self.size {
            return Err(PilotError::RankOutOfRange {
                rank,
                size: self.size,
            });
        }
        let mut word = 0u64;
        let mut rest = rank;
        let mut c = self.length; // candidates below c
        for i in (1..=self.weight()).rev() {
            // the largest c' < c with C(c', i) ≤ rest; c' ≥ i − 1 where C = 0
            let mut cand = c - 1;
            while binomial(cand, i) > rest {
                cand -= 1;
            }
            word |= 1 << cand;
            rest -= binomial(cand, i);
            c = cand;
        }
        debug_assert_eq!(rest, 0);
        Ok(word)
    }

    /// The word as 0/1 values, position 0 first.
    pub fn bits(&self, word: u64) -> Vec<u8> {
        (0..self.length).map(|i| ((word >> i) & 1) as u8).collect()
    }
}

/// The orthonormal first-field sequences φ_t (columns of a unitary T×T matrix).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FirstField {
    /// φ_t = e_t (time-division within the first field).
    #[default]
    Identity,
    /// φ_t(n) = e^{−2πi·t·n/T}/√T (unit peak-to-average per symbol).
    Dft,
}

/// How a user's codeword is drawn inside its group.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CodewordDraw {
    /// Uniform without repetition inside each group (the paper's analysis assumption).
    #[default]
    UniqueInGroup,
    /// Independent uniform draws (two users of a group may collide).
    Iid,
}

/// A user's pilot: its group t ∈ {0, …, T − 1} and the rank of its codeword in C.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PilotId {
    pub group: usize,
    pub codeword_rank: u64,
}

/// The coded pilot codebook P of eq. (1): T groups × the equal-weight code of length L.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CodedPilotBook {
    groups: usize,
    code: EqualWeightCode,
    first_field: FirstField,
}

impl CodedPilotBook {
    /// T = `groups` ≥ 1 first-field sequences, code length L = `code_length` (even).
    pub fn new(
        groups: usize,
        code_length: u32,
        first_field: FirstField,
    ) -> Result<Self, PilotError> {
        if groups == 0 {
            return Err(PilotError::ZeroGroups);
        }
        Ok(CodedPilotBook {
            groups,
            code: EqualWeightCode::new(code_length)?,
            first_field,
        })
    }

    /// T.
    pub fn groups(&self) -> usize {
        self.groups
    }

    /// The second-field code.
    pub fn code(&self) -> &EqualWeightCode {
        &self.code
    }

    /// The pilot dimension τ_p = T + L.
    pub fn tau_p(&self) -> usize {
        self.groups + self.code.length() as usize
    }

    /// The number of distinct pilots T·C(L, L/2) (saturating).
    pub fn size(&self) -> u64 {
        (self.groups as u64).saturating_mul(self.code.size())
    }

    /// φ_t, unit norm, length T.
    ///
    /// # Panics
    /// If t ≥ T.
    pub fn first_field_sequence(&self, t: usize) -> Vec<Complex64> {
        assert!(
            t < self.groups,
            "group {t} out of range (T = {})",
            self.groups
        );
        let n = self.groups;
        match self.first_field {
            FirstField::Identity => (0..n)
                .map(|i| Complex64::new(if i == t { 1.0 } else { 0.0 }, 0.0))
                .collect(),
            FirstField::Dft => {
                let s = 1.0 / (n as f64).sqrt();
                (0..n)
                    .map(|i| {
                        // reduce t·i mod T first so the phase stays accurate for large T
                        let k = (t * i) % n;
                        Complex64::from_polar(s, -2.0 * std::f64::consts::PI * k as f64 / n as f64)
                    })
                    .collect()
            }
        }
    }

    /// The pilot p_{t,c} = [√T φ_t; √2 c] (length τ_p, energy τ_p).
    pub fn pilot(&self, id: PilotId) -> Result<Vec<Complex64>, PilotError> {
        if id.group >= self.groups {
            return Err(PilotError::GroupOutOfRange {
                group: id.group,
                groups: self.groups,
            });
        }
        let word = self.code.unrank(id.codeword_rank)?;
        let a = (self.groups as f64).sqrt();
        let b = std::f64::consts::SQRT_2;
        let mut p: Vec<Complex64> = self
            .first_field_sequence(id.group)
            .into_iter()
            .map(|x| x * a)
            .collect();
        p.extend(
            self.code
                .bits(word)
                .into_iter()
                .map(|bit| Complex64::new(b * bit as f64, 0.0)),
        );
        Ok(p)
    }

    /// Draws the pilots of `users` users: groups uniform in {0, …, T − 1}, codewords uniform in C per
    /// `draw`. Users are processed in index order, so the result is a function of the generator
    /// state alone.
    ///
    /// Errors with [`PilotError::TooManyUsers`] if `draw` is [`CodewordDraw::UniqueInGroup`] and
    /// a group receives more users than C has words.
    pub fn assign<R: Rng + ?Sized>(
        &self,
        users: usize,
        draw: CodewordDraw,
        rng: &mut R,
    ) -> Result<Vec<PilotId>, PilotError> {
        let groups: Vec<usize> = (0..users)
            .map(|_| rng.random_range(0..self.groups))
            .collect();
        let size = self.code.size();
        match draw {
            CodewordDraw::Iid => Ok(groups
                .into_iter()
                .map(|group| PilotId {
                    group,
                    codeword_rank: rng.random_range(0..size),
                })
                .collect()),
            CodewordDraw::UniqueInGroup => {
                let mut members = vec![Vec::new(); self.groups];
                for (k, &g) in groups.iter().enumerate() {
                    members[g].push(k);
                }
                let mut ids = vec![
                    PilotId {
                        group: 0,
                        codeword_rank: 0
                    };
                    users
                ];
                for (group, ks) in members.iter().enumerate() {
                    if ks.len() as u64 > size {
                        return Err(PilotError::TooManyUsers {
                            group,
                            users: ks.len(),
                            codewords: size,
                        });
                    }
                    if ks.is_empty() {
                        continue;
                    }
                    let length = usize::try_from(size).expect("code size fits in usize");
                    let ranks = rand::seq::index::sample(rng, length, ks.len());
                    for (&k, r) in ks.iter().zip(ranks.iter()) {
                        ids[k] = PilotId {
                            group,
                            codeword_rank: r as u64,
                        };
                    }
                }
                Ok(ids)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SeedTree;
    use proptest::prelude::*;
    use std::collections::HashSet;

    #[test]
    fn binomials_and_code_sizes_match_the_notes() {
        assert_eq!(binomial(0, 0), 1);
        assert_eq!(binomial(5, 7), 0);
        assert_eq!(binomial(64, 32), 1_832_624_140_942_590_534);
        // notes/001 §2.1 [CALC]
        for (l, n) in [
            (6, 20),
            (8, 70),
            (10, 252),
            (12, 924),
            (16, 12_870),
            (20, 184_756),
        ] {
            assert_eq!(EqualWeightCode::new(l).unwrap().size(), n);
        }
    }

    #[test]
    fn unrank_enumerates_every_word_in_increasing_order() {
        for l in [2u32, 4, 8, 12] {
            let code = EqualWeightCode::new(l).unwrap();
            let words: Vec<u64> = (0..code.size()).map(|k| code.unrank(k).unwrap()).collect();
            let brute: Vec<u64> = (0..1u64 << l).filter(|w| w.count_ones() == l / 2).collect();
            assert_eq!(words, brute, "L = {l}");
        }
    }

    #[test]
    fn invalid_parameters_are_clear_errors() {
        assert_eq!(
            EqualWeightCode::new(7),
            Err(PilotError::OddLength { length: 7 })
        );
        assert!(matches!(
            EqualWeightCode::new(0),
            Err(PilotError::LengthOutOfRange { .. })
        ));
        assert!(matches!(
            EqualWeightCode::new(64),
            Err(PilotError::LengthOutOfRange { .. })
        ));
        assert_eq!(
            CodedPilotBook::new(0, 8, FirstField::Identity),
            Err(PilotError::ZeroGroups)
        );
        let code = EqualWeightCode::new(8).unwrap();
        assert_eq!(
            code.unrank(70),
            Err(PilotError::RankOutOfRange { rank: 70, size: 70 })
        );
        assert!(matches!(
            code.rank(0b111),
            Err(PilotError::NotACodeword { weight: 3, .. })
        ));
        // right weight, but a bit beyond L
        assert!(code.rank(0b1_0000_0111).is_err());
        let msg = EqualWeightCode::new(7).unwrap_err().to_string();
        assert!(msg.contains("odd") && msg.contains("L = 7"), "{msg}");
        let book = CodedPilotBook::new(3, 8, FirstField::Identity).unwrap();
        assert!(matches!(
            book.pilot(PilotId {
                group: 3,
                codeword_rank: 0
            }),
            Err(PilotError::GroupOutOfRange { .. })
        ));
    }

    #[test]
    fn pilots_have_energy_tau_p_and_groups_are_orthogonal_on_the_first_field() {
        for ff in [FirstField::Identity, FirstField::Dft] {
            let book = CodedPilotBook::new(5, 6, ff).unwrap();
            let pilots: Vec<Vec<Complex64>> = (0..5)
                .map(|t| {
                    book.pilot(PilotId {
                        group: t,
                        codeword_rank: (3 * t) as u64,
                    })
                    .unwrap()
                })
                .collect();
            for (a, pa) in pilots.iter().enumerate() {
                assert_eq!(pa.len(), 11);
                let e: f64 = pa.iter().map(|x| x.norm_sqr()).sum();
                assert!((e - 11.0).abs() < 1e-12, "{ff:?}: energy {e}");
                for (b, pb) in pilots.iter().enumerate() {
                    let ip: Complex64 = pa[..5]
                        .iter()
                        .zip(&pb[..5])
                        .map(|(x, y)| x * y.conj())
                        .sum();
                    let expect = if a == b { 5.0 } else { 0.0 };
                    assert!((ip - expect).norm() < 1e-12, "{ff:?} {a} {b}: {ip}");
                }
                // the second field is √2 times the codeword
                let w = book.code().unrank((3 * a) as u64).unwrap();
                for (i, x) in pa[5..].iter().enumerate() {
                    let bit = ((w >> i) & 1) as f64;
                    assert!((x.re - std::f64::consts::SQRT_2 * bit).abs() < 1e-15 && x.im == 0.0);
                }
            }
        }
    }

    #[test]
    fn unique_assignment_never_repeats_a_codeword_in_a_group_and_is_reproducible() {
        let book = CodedPilotBook::new(4, 8, FirstField::Identity).unwrap(); // 70 words per group
        let draw = |s| {
            book.assign(
                150,
                CodewordDraw::UniqueInGroup,
                &mut SeedTree::new(s).child("p").rng(),
            )
        };
        let ids = draw(3).unwrap();
        assert_eq!(ids, draw(3).unwrap());
        assert_ne!(ids, draw(4).unwrap());
        let distinct: HashSet<PilotId> = ids.iter().copied().collect();
        assert_eq!(distinct.len(), ids.len());
        assert!(ids.iter().all(|id| id.group < 4 && id.codeword_rank < 70));
        // 3 users on a 2-word code (L = 2) in 1 group cannot be unique
        let tiny = CodedPilotBook::new(1, 2, FirstField::Identity).unwrap();
        let err = tiny
            .assign(
                3,
                CodewordDraw::UniqueInGroup,
                &mut SeedTree::new(1).child("p").rng(),
            )
            .unwrap_err();
        assert_eq!(
            err,
            PilotError::TooManyUsers {
                group: 0,
                users: 3,
                codewords: 2
            }
        );
        // i.i.d. draws may collide: with 3 users on 2 words, some pair must
        let iid = tiny
            .assign(3, CodewordDraw::Iid, &mut SeedTree::new(1).child("p").rng())
            .unwrap();
        assert!(iid.iter().collect::<HashSet<_>>().len() < 3);
    }

    #[test]
    fn assignment_is_uniform_over_groups_and_codewords() {
        // chi-square style check: 40,000 users over T = 4 groups and |C| = 6 (L = 4), i.i.d.
        let book = CodedPilotBook::new(4, 4, FirstField::Identity).unwrap();
        let n = 40_000;
        let ids = book
            .assign(n, CodewordDraw::Iid, &mut SeedTree::new(9).child("p").rng())
            .unwrap();
        let mut counts = [[0usize; 6]; 4];
        for id in &ids {
            counts[id.group][id.codeword_rank as usize] += 1;
        }
        let e = n as f64 / 24.0;
        let chi2: f64 = counts
            .iter()
            .flatten()
            .map(|&c| (c as f64 - e).powi(2) / e)
            .sum();
        // 23 degrees of freedom: P(χ² > 49.7) ≈ 0.001
        assert!(chi2 < 49.7, "chi2 = {chi2}");
    }

    proptest! {
        #[test]
        fn rank_inverts_unrank(half in 1u32..=31, frac in 0.0f64..1.0) {
            let code = EqualWeightCode::new(2 * half).unwrap();
            let k = ((code.size() as f64 * frac) as u64).min(code.size() - 1);
            let w = code.unrank(k).unwrap();
            prop_assert_eq!(w.count_ones(), half);
            prop_assert_eq!(w >> (2 * half), 0);
            prop_assert_eq!(code.rank(w).unwrap(), k);
        }

        #[test]
        fn distinct_ranks_give_distinct_words(half in 1u32..=31, a in 0.0f64..1.0, b in 0.0f64..1.0) {
            let code = EqualWeightCode::new(2 * half).unwrap();
            let ka = ((code.size() as f64 * a) as u64).min(code.size() - 1);
            let kb = ((code.size() as f64 * b) as u64).min(code.size() - 1);
            let (wa, wb) = (code.unrank(ka).unwrap(), code.unrank(kb).unwrap());
            // colex order: the bitmask order is the rank order
            prop_assert_eq!(ka.cmp(&kb), wa.cmp(&wb));
        }

        #[test]
        fn any_balanced_word_is_ranked(half in 1u32..=31, seed in any::<u64>()) {
            // a random weight-L/2 word: shuffle positions with a seeded stream
            use rand::seq::SliceRandom;
            let l = 2 * half;
            let mut pos: Vec<u32> = (0..l).collect();
            pos.shuffle(&mut SeedTree::new(seed).child("w").rng());
            let w = pos[..half as usize].iter().fold(0u64, |acc, &p| acc | 1 << p);
            let code = EqualWeightCode::new(l).unwrap();
            let k = code.rank(w).unwrap();
            prop_assert!(k < code.size());
            prop_assert_eq!(code.unrank(k).unwrap(), w);
        }
    }
}
