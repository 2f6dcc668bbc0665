//! Every example scenario shipped in `scenarios/` stays valid as experiments evolve.

use dmimo::scenario::Scenario;
use std::path::Path;

#[test]
fn example_scenarios_resolve() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("scenarios/ exists") {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            Scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
            n += 1;
        }
    }
    assert!(
        n >= 2,
        "expected the example scenarios in {}",
        dir.display()
    );
}
