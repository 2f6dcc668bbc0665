//! The real-time path of an AirSync secondary at a 20 MHz sample rate: per OFDM symbol (CP 64 +
//! N 256 = 320 samples = 16 µs), demodulate the receive chain, extract the reference tones, update
//! the tracker, and build the transmit symbol (data rotated by the predicted drift, IFFT, CP).
//! Throughput is in received samples per second; real-time factor = Msamples/s ÷ 20.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use dmimo::estimation::tracking::{
    Extrapolation, KalmanParams, KalmanTracker, PhaseTracker, SlidingSlope,
};
use dmimo::linalg::cn01;
use dmimo::radio::ofdm::OfdmModem;
use dmimo::rng::SeedTree;
use dmimo::sync::reference_tone::{ToneLayout, ToneSecondary};
use dmimo::units::{cis, C64};
use std::f64::consts::TAU;
use std::hint::black_box;

const SYMBOLS: usize = 200;

type MakeTracker = fn() -> Box<dyn PhaseTracker + Send>;

fn setup(tracker: Box<dyn PhaseTracker + Send>) -> (ToneSecondary, Vec<C64>, Vec<Vec<C64>>) {
    let layout = ToneLayout::airsync_default();
    let mut modem = OfdmModem::new(&layout.numerology);
    let mut rng = SeedTree::new(1).child("bench").rng();
    let data: Vec<Vec<C64>> = (0..SYMBOLS)
        .map(|_| (0..64).map(|_| cn01(&mut rng)).collect())
        .collect();
    let tx = layout.master_frame(&mut modem, &data);
    let ts = layout.numerology.sample_period_s();
    let rx: Vec<C64> = tx
        .iter()
        .enumerate()
        .map(|(i, x)| x * cis(TAU * 3750.0 * i as f64 * ts) + cn01(&mut rng) * 0.01)
        .collect();
    let sl = layout.symbol_len();
    let mut sec = ToneSecondary::new(layout, tracker, 3.0);
    sec.calibrate(&rx[sl..2 * sl]);
    (sec, rx, data)
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("airsync_secondary_20msps");
    let sl = ToneLayout::airsync_default().symbol_len();
    g.throughput(Throughput::Elements((SYMBOLS * sl) as u64));
    let trackers: [(&str, MakeTracker); 2] = [
        ("sliding_slope", || {
            Box::new(SlidingSlope::airsync(Extrapolation::FromLatest))
        }),
        ("kalman", || {
            Box::new(KalmanTracker::new(KalmanParams::new(
                16e-6, 0.13, 1800.0, 3.5e-4,
            )))
        }),
    ];
    for (name, make) in trackers {
        let (mut sec, rx, data) = setup(make());
        let mut out = vec![C64::default(); sl];
        g.bench_function(name, |b| {
            b.iter(|| {
                for s in 0..SYMBOLS {
                    sec.measure(&rx[(s + 2) * sl..(s + 3) * sl]);
                    sec.transmit(&data[s], &mut out);
                    black_box(&out);
                }
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
