//! The control level's composite measurement: what the RE level's reference-based estimator
//! ([`super::signal::CompositePhaseEstimator`]) returns without noise, written in the basis of
//! the tracked layer's transmitters.
//!
//! On the M REs of the set, parent b reaches the node through its response g_b (√s_b included)
//! rotated by u_b = √f_b·e^{j(θ_b + β_b − θ_n)} (f_b the link's blockage factor; 0 when b does not
//! transmit the layer): Z = Σ_b u_b·g_b. The estimator's reference lies in the same span,
//! H_ref = Σ_b r_b·g_b, so with the Gram matrix G_ab = (1/M)·Σ_k conj(g_ak)·g_bk
//!
//! * φ̂ = ∠x with x = r^H G u (the MRC output per RE),
//! * var(φ̂) = (1 + I)·E_ref / (2·M·|x|²) with E_ref = r^H G r and I the reuse interference per
//!   RE (= 1/(2·M·SINR) for one aligned parent),
//! * refinement H_ref ← (1 − α)·H_ref + α·Z·e^{−jφ̂} is r ← (1 − α)·r + α·u·e^{−j∠x}: it reshapes
//!   the reference towards the present parents and keeps its phase anchor (r^H G u·e^{−j∠x} is
//!   real), as the RE estimator's does.
//!
//! Flat links (g_b = √s_b on every RE) give G = √s √sᵀ and x = conj(C_ref)·C, the flat
//! composite; frequency-diverse links make G nearly diagonal, so a dead parent's share leaves
//! the estimate nearly unchanged once the reference has adapted to the others. The strongest
//! [`FULL_BLOCK`] members keep their full Gram block; members beyond it are treated as
//! orthogonal to all others (G_bb only: exact in the frequency-diverse limit, an approximation
//! for flat links), which bounds the cost per period at FULL_BLOCK² + P.

use super::protocol::Layer;
use num_complex::Complex64 as C64;

/// Members of a basis with a full Gram block.
pub const FULL_BLOCK: usize = 8;

/// One node's basis for its tracked layer.
#[derive(Clone, Debug, Default)]
pub struct Basis {
    layer: Option<Layer>,
    /// The members; the first `full` span the full Gram block.
    members: Vec<Member>,
    full: usize,
    /// `full` × `full`, row-major.
    gram: Vec<C64>,
    /// Position of each audible index among the members (u32::MAX: not a member).
    slot: Vec<u32>,
}

/// One member of a basis: what a period's measurement reads, in one cache line.
#[derive(Clone, Copy, Debug, Default)]
struct Member {
    /// This period's u.
    u: C64,
    /// The reference coefficient r and (G r) of this member.
    r: C64,
    w: C64,
    /// G_bb.
    diag: f64,
    /// Its audible index.
    k: u32,
}

impl Basis {
    /// The layer it spans, if any.
    pub fn layer(&self) -> Option<Layer> {
        self.layer
    }

    /// Audible indices of the members (order of [`Basis::set_u`]'s positions).
    pub fn members(&self) -> impl ExactSizeIterator<Item = u32> + '_ {
        self.members.iter().map(|m| m.k)
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether the basis has no member.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Sets u of the member at position `pos`.
    ///
    /// # Panics
    /// If `pos` is not a member's position.
    #[inline]
    pub fn set_u(&mut self, pos: usize, u: C64) {
        self.members[pos].u = u;
    }

    /// Sets u of every member to 0 (none transmits).
    pub fn clear_u(&mut self) {
        for m in &mut self.members {
            m.u = C64::default();
        }
    }

    /// Position of audible index `k` among the members.
    pub fn position(&self, k: u32) -> Option<usize> {
        match self.slot.get(k as usize) {
            Some(&p) if p != u32::MAX => Some(p as usize),
            _ => None,
        }
    }

    fn reslot(&mut self) {
        self.slot.fill(u32::MAX);
        for (p, k) in self.members.iter().map(|m| m.k).enumerate() {
            if self.slot.len() <= k as usize {
                self.slot.resize(k as usize + 1, u32::MAX);
            }
            self.slot[k as usize] = p as u32;
        }
    }

    /// Forgets everything; the basis will span `layer`.
    pub fn reset(&mut self, layer: Option<Layer>) {
        self.layer = layer;
        self.slot.fill(u32::MAX);
        self.members.clear();
        self.full = 0;
        self.gram.clear();
    }

    /// Adds member `k` (reference coefficient 0, u = 0); members keep their order except that
    /// a new full-block member goes after the full block's last. `response(k)` gives its
    /// response on the set; it joins the full block while there is room (the block is rebuilt,
    /// so every full member's response is asked again), else only its energy is kept.
    pub fn add(&mut self, k: u32, response: &mut dyn FnMut(u32) -> Vec<C64>) {
        self.extend(std::slice::from_ref(&k), response);
    }

    /// Adds members `ks` in order, leaving the basis exactly as [`Basis::add`] of each in turn
    /// would, but asking each response once and building the full block once.
    pub fn extend(&mut self, ks: &[u32], response: &mut dyn FnMut(u32) -> Vec<C64>) {
        let (block, rest) = ks.split_at(ks.len().min(FULL_BLOCK - self.full));
        if !block.is_empty() {
            let mut responses: Vec<Vec<C64>> = self.members[..self.full]
                .iter()
                .map(|m| response(m.k))
                .collect();
            for &k in block {
                let g = response(k);
                // insert at the end of the full block
                let member = Member {
                    k,
                    diag: energy(&g),
                    ..Member::default()
                };
                self.members.insert(self.full, member);
                self.full += 1;
                responses.push(g);
            }
            let n = self.full;
            self.gram = vec![C64::default(); n * n];
            for a in 0..n {
                for b in a..n {
                    let m = responses[a].len().min(responses[b].len()).max(1) as f64;
                    let v: C64 = responses[a]
                        .iter()
                        .zip(&responses[b])
                        .map(|(x, y)| x.conj() * y)
                        .sum::<C64>()
                        / m;
                    self.gram[a * n + b] = v;
                    self.gram[b * n + a] = v.conj();
                }
            }
            self.recompute_w();
        }
        for &k in rest {
            let diag = energy(&response(k));
            self.members.push(Member {
                k,
                diag,
                ..Member::default()
            });
        }
        if !ks.is_empty() {
            self.reslot();
        }
    }

    fn recompute_w(&mut self) {
        let n = self.full;
        for a in 0..n {
            let w = (0..n)
                .map(|b| self.gram[a * n + b] * self.members[b].r)
                .sum();
            self.members[a].w = w;
        }
        for m in &mut self.members[n..] {
            m.w = m.r * m.diag;
        }
    }

    /// The reference becomes this period's `u` (a lock).
    pub fn set_reference(&mut self) {
        for m in &mut self.members {
            m.r = m.u;
        }
        self.recompute_w();
    }

    /// (x, E_ref) for this period's `u`.
    pub fn measure(&self) -> (C64, f64) {
        let x = self.members.iter().map(|m| m.w.conj() * m.u).sum();
        let e_ref = self
            .members
            .iter()
            .map(|m| (m.r.conj() * m.w).re)
            .sum::<f64>()
            .max(0.0);
        (x, e_ref)
    }

    /// Refinement with weight `alpha` towards this period's `u`, de-rotated by `phase` (∠x).
    pub fn refine(&mut self, alpha: f64, phase: f64) {
        let rot = C64::from_polar(alpha, -phase);
        let n = self.full;
        for a in 0..n {
            let gv: C64 = (0..n)
                .map(|b| self.gram[a * n + b] * self.members[b].u)
                .sum();
            let m = &mut self.members[a];
            m.w = m.w * (1.0 - alpha) + gv * rot;
        }
        for m in &mut self.members[n..] {
            m.w = m.w * (1.0 - alpha) + m.u * rot * m.diag;
        }
        for m in &mut self.members {
            m.r = m.r * (1.0 - alpha) + m.u * rot;
        }
    }
}

/// Mean power per RE of a response.
fn energy(g: &[C64]) -> f64 {
    g.iter().map(|z| z.norm_sqr()).sum::<f64>() / g.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::units::cis;

    fn flat(s: &[f64]) -> impl FnMut(u32) -> Vec<C64> + '_ {
        move |k| vec![C64::new(s[k as usize].sqrt(), 0.0)]
    }

    #[test]
    fn flat_links_give_the_flat_composite() {
        let s = [1.0, 0.5, 2.0];
        let mut b = Basis::default();
        b.reset(Some(1));
        for k in 0..3 {
            b.add(k, &mut flat(&s));
        }
        let lock = [0.3, 2.0, -1.0];
        let now = [0.35, 2.2, -0.7];
        let c = |ph: &[f64]| -> C64 { (0..3).map(|k| cis(ph[k]) * s[k].sqrt()).sum() };
        for (pos, p) in lock.into_iter().enumerate() {
            b.set_u(pos, cis(p));
        }
        b.set_reference();
        for (pos, p) in now.into_iter().enumerate() {
            b.set_u(pos, cis(p));
        }
        let (x, e) = b.measure();
        let want = c(&lock).conj() * c(&now);
        assert!((x - want).norm() < 1e-12, "{x} vs {want}");
        assert!((e - c(&lock).norm_sqr()).abs() < 1e-12);
        // refinement keeps the anchor: ∠x unchanged for the same u
        b.refine(0.1, x.arg());
        let (x2, _) = b.measure();
        assert!((x2.arg() - x.arg()).abs() < 1e-12);
    }

    #[test]
    fn orthogonal_links_give_the_power_weighted_mean_and_forget_a_dead_parent() {
        // responses on 2 REs, orthogonal: G diagonal
        let g = [
            vec![C64::new(1.0, 0.0), C64::new(1.0, 0.0)],
            vec![C64::new(1.0, 0.0), C64::new(-1.0, 0.0)],
        ];
        let mut b = Basis::default();
        b.reset(Some(0));
        b.add(0, &mut |k| g[k as usize].clone());
        b.add(1, &mut |k| g[k as usize].clone());
        b.set_u(0, cis(0.0));
        b.set_u(1, cis(2.0));
        b.set_reference();
        // parent 1 drifts by 0.2: the estimate moves by half (equal powers), small angles
        b.set_u(1, cis(2.2));
        let (x, _) = b.measure();
        assert!((x.arg() - (0.2f64.sin() / (1.0 + 0.2f64.cos())).atan()).abs() < 1e-12);
        // once refined to the present phases, parent 1's death does not move the estimate
        for _ in 0..400 {
            let (x, _) = b.measure();
            b.refine(0.1, x.arg());
        }
        let before = b.measure().0.arg();
        b.set_u(1, C64::default());
        let after = b.measure().0.arg();
        assert!((after - before).abs() < 1e-9, "{before} → {after}");
    }

    #[test]
    fn extend_equals_adding_one_by_one() {
        // selective responses on 3 REs, asked from a stateless source
        let g = |k: u32| -> Vec<C64> {
            (0..3)
                .map(|q| cis(0.7 * (k * k + q) as f64) * (1.0 + 0.1 * k as f64))
                .collect()
        };
        let n = FULL_BLOCK as u32 + 4;
        for (start, at_once) in [(0, n), (3, 2), (5, 7), (FULL_BLOCK as u32, 3)] {
            let (mut one, mut all) = (Basis::default(), Basis::default());
            for b in [&mut one, &mut all] {
                b.reset(Some(2));
                for k in 0..start {
                    b.add(k, &mut |k| g(k));
                }
                for j in 0..b.len() {
                    b.set_u(j, cis(j as f64));
                }
                b.set_reference();
                b.refine(0.1, 0.2);
            }
            let ks: Vec<u32> = (start..start + at_once).rev().collect();
            for &k in &ks {
                one.add(k, &mut |k| g(k));
            }
            let mut asked = 0;
            all.extend(&ks, &mut |k| {
                asked += 1;
                g(k)
            });
            assert_eq!(
                format!("{one:?}"),
                format!("{all:?}"),
                "{start} + {at_once}"
            );
            let block = (start as usize).min(FULL_BLOCK);
            assert!(asked <= block + ks.len(), "{asked} responses asked");
        }
    }

    #[test]
    fn members_beyond_the_full_block_are_diagonal() {
        let mut b = Basis::default();
        b.reset(Some(0));
        for k in 0..(FULL_BLOCK as u32 + 2) {
            b.add(k, &mut |_| vec![C64::new(1.0, 0.0)]);
        }
        assert_eq!(b.len(), FULL_BLOCK + 2);
        for j in 0..b.len() {
            b.set_u(j, C64::new(1.0, 0.0));
        }
        b.set_reference();
        let (x, e) = b.measure();
        // full block: |Σ|² = FULL_BLOCK²; two diagonal members: 1 each
        let want = (FULL_BLOCK * FULL_BLOCK + 2) as f64;
        assert!((x.re - want).abs() < 1e-9 && (e - want).abs() < 1e-9);
    }
}
