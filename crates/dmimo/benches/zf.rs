//! ZF precoder computation per subcarrier for (M, K) ∈ {(4, 4), (16, 8), (64, 16)}, next to faer's
//! own factorization and solve of the same problem (Cholesky of HᴴH, then solve for Hᴴ: the
//! pseudo-inverse by the normal equations). The aim: `dmimo_zf` within 2× of `faer_llt_solve`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use dmimo::linalg::complex_gaussian;
use dmimo::precoding::linear::zf;
use dmimo::rng::SeedTree;
use faer::linalg::solvers::Solve;
use faer::Side;
use std::hint::black_box;

fn bench_zf(c: &mut Criterion) {
    let mut g = c.benchmark_group("zf_per_subcarrier");
    for (m, k) in [(4usize, 4usize), (16, 8), (64, 16)] {
        let h = complex_gaussian(m, k, &mut SeedTree::new(1).index(m as u64).rng());
        let label = format!("{m}x{k}");
        g.bench_with_input(BenchmarkId::new("dmimo_zf", &label), &h, |b, h| {
            b.iter(|| zf(black_box(h.as_ref())).unwrap())
        });
        g.bench_with_input(BenchmarkId::new("faer_llt_solve", &label), &h, |b, h| {
            b.iter(|| {
                let h = black_box(h.as_ref());
                let gram = h.adjoint() * h;
                let llt = gram.llt(Side::Lower).unwrap();
                llt.solve(h.adjoint().to_owned())
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench_zf);
criterion_main!(benches);
