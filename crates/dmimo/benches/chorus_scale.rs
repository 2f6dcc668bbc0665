//! Control-level layered tree (Chorus, `chorus.scale`): wall time of one sync period of the whole
//! network, per node, from 100 to 30,000 small cells at 400 per km² (i.i.d. shadowing), after
//! the tree has formed. The budget: 10,000 nodes × 12,000 periods in < 60 s on 2 cores,
//! i.e. < 500 ns per node-period.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use dmimo::geometry::shadowing::Shadowing;
use dmimo::rng::SeedTree;
use dmimo::sync::layered_tree::engine::{Engine, EngineParams};
use dmimo::sync::layered_tree::network::NetworkSpec;
use dmimo::sync::layered_tree::protocol::Role;

fn network(size: usize) -> Engine {
    let density = 400.0;
    let side = (size as f64 / density).sqrt() * 1e3;
    let spec = NetworkSpec {
        shadowing: Shadowing::Iid { sigma_db: 7.82 },
        ..NetworkSpec::small_cells(density, side, side)
    };
    let seeds = SeedTree::new(1);
    let net = spec.build(&seeds).expect("valid network");
    let n = net.points.len();
    let mut roles = vec![Role::Regular; n];
    roles[net.central_node().expect("non-empty")] = Role::Root { tx_layers: vec![0] };
    let mut e = Engine::new(
        EngineParams::chorus(3.0).expect("valid design"),
        net.topology,
        roles,
        &seeds.child("engine"),
    )
    .expect("valid engine");
    for _ in 0..200 {
        e.step();
    }
    e
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("chorus_period");
    g.sample_size(10);
    for size in [100usize, 1_000, 10_000, 30_000] {
        let mut e = network(size);
        g.throughput(Throughput::Elements(e.len() as u64));
        g.bench_function(BenchmarkId::from_parameter(size), |b| b.iter(|| e.step()));
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
