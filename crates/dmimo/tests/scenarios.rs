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

#[test]
fn fault_schedules_in_scenarios_fail_with_the_field_named() {
    let parse = |faults: &str| {
        let text = format!(
            "experiment = \"chorus.failures\"\nsize = \"quick\"\n[config]\ncustom_duration_s = 5.0\n{faults}"
        );
        Scenario::parse(&text, Path::new("my-faults.toml")).map(|_| ())
    };
    parse("[[config.faults]]\nkind = \"kill\"\nat_s = 1.0\nnode = 3\n").unwrap();
    let cases = [
        (
            "[[config.faults]]\nkind = \"kill\"\nat_s = 1.0\nnode = 40\n",
            "config.faults[0].node",
        ),
        (
            "[[config.faults]]\nkind = \"kill-root\"\nat_s = 6.0\n",
            "config.faults[0].at_s",
        ),
        (
            "[[config.faults]]\nkind = \"blockage\"\nat_s = 1.0\nfrom = 1\nto = 2\nfactor = -1.0\n",
            "config.faults[0].factor",
        ),
        (
            "[[config.faults]]\nkind = \"snr-dip\"\nat_s = 1.0\ndip_db = 6.0\n",
            "config.faults[0]",
        ),
    ];
    for (faults, field) in cases {
        let e = parse(faults).unwrap_err().to_string();
        assert!(
            e.starts_with("my-faults.toml: field `") && e.contains(&format!("`{field}`")),
            "{e}"
        );
    }
    // an unknown kind or field is a configuration error naming `config`
    let e = parse("[[config.faults]]\nkind = \"explode\"\nat_s = 1.0\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("explode"), "{e}");
}
