//! OFDM modem throughput against the bare FFTs it is built on.
//!
//! Group `ofdm_n2048`: 14 LTE 20 MHz symbols (two 0.5 ms slots, N = 2048).
//! - `modem`: `OfdmModem::modulate` + `demodulate` of all 14 symbols (CP
//!   insertion/removal, subcarrier mapping/extraction, unitary scaling).
//! - `bare_fft`: RustFFT inverse + forward of the same 14 length-2048 buffers
//!   in place with preallocated scratch (no CP, no mapping, no scaling).
//!
//! Both report throughput in elements = the 14 × 2048 useful samples, so the
//! Melem/s figures (Msamples/s) compare directly; the project's target is the
//! modem within 1.5× of the bare FFT time.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use dmimo::radio::ofdm::{Numerology, OfdmModem};
use dmimo::radio::qam::Qam;
use num_complex::Complex64 as C64;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha12Rng;
use rustfft::FftPlanner;
use std::hint::black_box;

const N_SYM: usize = 14;

fn bench_ofdm_n2048(c: &mut Criterion) {
    let num = Numerology::lte20();
    let n = num.n_fft;
    let n_used = num.n_used();
    let mut rng = ChaCha12Rng::seed_from_u64(2048);
    let qam = Qam::new(64).unwrap();

    let tx: Vec<C64> = (0..N_SYM * n_used)
        .map(|_| qam.map(rng.random_range(0..qam.order())))
        .collect();
    let sym_starts: Vec<usize> = (0..N_SYM)
        .scan(0, |acc, l| {
            let s = *acc;
            *acc += num.symbol_len(l);
            Some(s)
        })
        .collect();
    let total_time_samples: usize = (0..N_SYM).map(|l| num.symbol_len(l)).sum();

    let mut group = c.benchmark_group("ofdm_n2048");
    group.throughput(Throughput::Elements((N_SYM * n) as u64));

    let mut modem = OfdmModem::new(&num);
    let mut time = vec![C64::default(); total_time_samples];
    let mut rx = vec![C64::default(); N_SYM * n_used];
    group.bench_function("modem", |b| {
        b.iter(|| {
            for l in 0..N_SYM {
                let cp = num.cp_len(l);
                let t = &mut time[sym_starts[l]..sym_starts[l] + n + cp];
                modem.modulate(&tx[l * n_used..(l + 1) * n_used], cp, t);
            }
            for l in 0..N_SYM {
                let cp = num.cp_len(l);
                let t = &time[sym_starts[l]..sym_starts[l] + n + cp];
                modem.demodulate(t, cp, &mut rx[l * n_used..(l + 1) * n_used]);
            }
            black_box(&mut rx);
        })
    });
    // Sanity: the modem round trip is exact.
    let err = tx
        .iter()
        .zip(&rx)
        .map(|(a, b)| (a - b).norm())
        .fold(0.0, f64::max);
    assert!(err < 1e-12, "modem round-trip error {err}");

    let mut planner = FftPlanner::<f64>::new();
    let fft = planner.plan_fft_forward(n);
    let ifft = planner.plan_fft_inverse(n);
    let mut scratch = vec![
        C64::default();
        fft.get_inplace_scratch_len()
            .max(ifft.get_inplace_scratch_len())
    ];
    let buf: Vec<C64> = (0..N_SYM * n)
        .map(|_| C64::new(rng.random::<f64>() - 0.5, rng.random::<f64>() - 0.5))
        .collect();
    // Unnormalized inverse + forward grows the data by N per call, so each
    // iteration starts from a fresh (untimed) copy of the buffers.
    group.bench_function("bare_fft", |b| {
        b.iter_batched_ref(
            || buf.clone(),
            |bufs| {
                for sym in bufs.chunks_exact_mut(n) {
                    ifft.process_with_scratch(sym, &mut scratch);
                }
                for sym in bufs.chunks_exact_mut(n) {
                    fft.process_with_scratch(sym, &mut scratch);
                }
                black_box(bufs);
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(benches, bench_ofdm_n2048);
criterion_main!(benches);
