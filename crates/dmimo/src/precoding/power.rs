//! Power allocation across parallel streams.

/// Water-filling: maximizes Σ_k log(1 + g_k q_k) subject to Σ_k q_k ≤ `total_power`, q_k ≥ 0
/// (Cover & Thomas; thesis eq. 2.4). q_k = (μ − 1/g_k)⁺ with the water level μ set so the powers
/// sum to `total_power`. Streams with g_k ≤ 0 get no power.
///
/// # Panics
/// If `total_power` is negative or not finite, or a gain is NaN.
#[track_caller]
pub fn water_fill(gains: &[f64], total_power: f64) -> Vec<f64> {
    assert!(
        total_power >= 0.0 && total_power.is_finite(),
        "water_fill: total_power must be finite and ≥ 0"
    );
    assert!(gains.iter().all(|g| !g.is_nan()), "water_fill: NaN gain");
    let mut order: Vec<usize> = (0..gains.len()).filter(|&k| gains[k] > 0.0).collect();
    // strongest first: inverse gains ascending
    order.sort_by(|&a, &b| gains[b].total_cmp(&gains[a]));
    let mut q = vec![0.0; gains.len()];
    // find the largest n such that the n strongest streams are all active
    let mut inv_sum = 0.0;
    let mut level = 0.0;
    let mut active = 0;
    for (n, &k) in order.iter().enumerate() {
        let inv = 1.0 / gains[k];
        let mu = (total_power + inv_sum + inv) / (n + 1) as f64;
        if mu <= inv {
            break;
        }
        inv_sum += inv;
        level = mu;
        active = n + 1;
    }
    for &k in &order[..active] {
        q[k] = level - 1.0 / gains[k];
    }
    q
}

/// Equal power: `total_power / n` on each of n streams.
pub fn equal_power(n: usize, total_power: f64) -> Vec<f64> {
    vec![total_power / n as f64; n]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn objective(g: &[f64], q: &[f64]) -> f64 {
        g.iter().zip(q).map(|(g, q)| (1.0 + g * q).ln()).sum()
    }

    #[test]
    fn hand_values() {
        // equal gains: equal split
        assert_eq!(water_fill(&[2.0, 2.0], 4.0), vec![2.0, 2.0]);
        // g = (1, 1/4), P = 1: μ = 2 would need q2 = -2 → only stream 1 active, q = (1, 0)
        assert_eq!(water_fill(&[1.0, 0.25], 1.0), vec![1.0, 0.0]);
        // P = 5: μ = (5 + 1 + 4)/2 = 5 → q = (4, 1)
        let q = water_fill(&[1.0, 0.25], 5.0);
        assert!((q[0] - 4.0).abs() < 1e-12 && (q[1] - 1.0).abs() < 1e-12);
        assert_eq!(water_fill(&[0.0, 1.0], 1.0), vec![0.0, 1.0]);
    }

    #[test]
    fn is_optimal_against_perturbations() {
        let g = [3.0, 1.2, 0.4, 0.05, 2.2];
        for p in [0.1, 1.0, 10.0, 100.0] {
            let q = water_fill(&g, p);
            assert!((q.iter().sum::<f64>() - p).abs() < 1e-9);
            let best = objective(&g, &q);
            // moving a little power between any two streams never helps
            for i in 0..g.len() {
                for j in 0..g.len() {
                    let d = (q[i]).min(1e-3 * p);
                    if i == j || d <= 0.0 {
                        continue;
                    }
                    let mut r = q.clone();
                    r[i] -= d;
                    r[j] += d;
                    assert!(objective(&g, &r) <= best + 1e-12);
                }
            }
        }
    }
}
