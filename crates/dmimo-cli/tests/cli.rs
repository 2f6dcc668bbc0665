//! The `dmimo` command end to end: bad input fails cleanly, results are complete and do not
//! depend on the thread count, the default job and scenario files work.

use std::path::Path;
use std::process::{Command, Output};

fn dmimo(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dmimo"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("dmimo runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// A scenario with an error exits 2 with one message naming file and field, and writes nothing.
fn rejects(scenario: &str, expect: &[&str]) {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("s.toml"), scenario).unwrap();
    let o = dmimo(&["run", "s.toml", "--out", "out"], tmp.path());
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "one message: {err}");
    assert!(err.contains("s.toml"), "{err}");
    for e in expect {
        assert!(err.contains(e), "missing {e:?} in {err}");
    }
    assert!(
        !tmp.path().join("out").exists(),
        "an output directory was created"
    );
}

#[test]
fn misspelled_field_is_rejected_before_anything_is_written() {
    rejects(
        "experiment = \"thesis.precoder-rates\"\n[config]\nrealisations = 10\n",
        &["unknown field `realisations`", "realizations"],
    );
    rejects(
        "experiment = \"thesis.precoder-rates\"\nseeed = 3\n",
        &["unknown field `seeed`"],
    );
}

#[test]
fn out_of_range_values_are_rejected() {
    rejects(
        "experiment = \"thesis.cfo-null-collapse\"\n[config]\ndrops = 0\n",
        &["config.drops", "allowed"],
    );
    rejects(
        "experiment = \"thesis.null-leakage\"\n[config]\ntheta_deg = [1.0, -2.0]\n",
        &["config.theta_deg[1]", "allowed"],
    );
    rejects(
        "experiment = \"thesis.precoder-rates\"\n[config]\nsnr_db = [0.0, nan]\n",
        &["config.snr_db[1]", "NaN"],
    );
    rejects(
        "experiment = \"thesis.precoder-rates\"\n[config]\nusers = 5\n",
        &["config.users", "from 1 to 4"],
    );
}

#[test]
fn missing_file_and_unknown_experiment() {
    let tmp = tempfile::tempdir().unwrap();
    let o = dmimo(&["run", "nope.toml", "--out", "out"], tmp.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("nope.toml"));
    let o = dmimo(&["reproduce", "thesis.nope", "--out", "out"], tmp.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("thesis.null-leakage"),
        "lists the allowed ids"
    );
    assert!(!tmp.path().join("out").exists());
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let tmp = tempfile::tempdir().unwrap();
    let metrics = |threads: &str| {
        let out = format!("out{threads}");
        let o = dmimo(
            &[
                "reproduce",
                "--all",
                "--quick",
                "--threads",
                threads,
                "--out",
                &out,
            ],
            tmp.path(),
        );
        assert!(o.status.success(), "{}", stderr(&o));
        entries(&tmp.path().join(&out))
            .iter()
            .map(|id| {
                let j: serde_json::Value = serde_json::from_slice(
                    &std::fs::read(tmp.path().join(&out).join(id).join("results.json")).unwrap(),
                )
                .unwrap();
                (id.clone(), j["metrics"].clone())
            })
            .collect::<Vec<_>>()
    };
    let (one, two) = (metrics("1"), metrics("2"));
    assert_eq!(one.len(), dmimo::experiments::all().len());
    assert_eq!(one, two);
}

#[test]
fn a_result_directory_is_complete() {
    let tmp = tempfile::tempdir().unwrap();
    let o = dmimo(
        &[
            "reproduce",
            "thesis.precoder-rates",
            "--quick",
            "--seed",
            "5",
            "--out",
            "r",
        ],
        tmp.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("zf_slope_bps_per_hz_per_db_25_30") && stdout.contains("pass"),
        "{stdout}"
    );
    let dir = tmp.path().join("r/thesis.precoder-rates");
    assert_eq!(
        entries(&dir),
        [
            "results.json",
            "sum_rates.csv",
            "sum_rates.png",
            "sum_rates.svg",
            "thp_sinr_deviation.png",
            "thp_sinr_deviation.svg"
        ]
    );
    assert!(
        entries(&tmp.path().join("r"))
            .iter()
            .all(|e| !e.starts_with('.')),
        "no temporary directories left"
    );
    let j: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("results.json")).unwrap()).unwrap();
    for k in [
        "experiment",
        "title",
        "source",
        "level",
        "seed",
        "quick",
        "config",
        "metrics",
        "targets",
        "elapsed_s",
        "version",
    ] {
        assert!(j.get(k).is_some(), "results.json lacks {k}");
    }
    assert_eq!(j["seed"], 5);
    assert_eq!(j["quick"], true);
    for t in j["targets"].as_array().unwrap() {
        for k in ["metric", "paper", "measured", "tolerance", "pass", "note"] {
            assert!(t.get(k).is_some(), "target lacks {k}");
        }
    }
    let csv = std::fs::read_to_string(dir.join("sum_rates.csv")).unwrap();
    assert!(csv.starts_with("snr_db,mr_bps_per_hz,"));
    assert!(std::fs::read(dir.join("sum_rates.png"))
        .unwrap()
        .starts_with(b"\x89PNG"));
}

#[test]
fn config_output_is_a_runnable_scenario() {
    let tmp = tempfile::tempdir().unwrap();
    for id in dmimo::experiments::ids() {
        let o = dmimo(&["config", id, "--quick"], tmp.path());
        assert!(o.status.success());
        std::fs::write(tmp.path().join("s.toml"), &o.stdout).unwrap();
        let o = dmimo(&["run", "s.toml", "--out", "runs"], tmp.path());
        assert!(o.status.success(), "{id}: {}", stderr(&o));
        assert!(tmp
            .path()
            .join("runs")
            .join(id)
            .join("results.json")
            .exists());
    }
}

#[test]
fn the_default_job_writes_the_three_reproductions() {
    let tmp = tempfile::tempdir().unwrap();
    let o = dmimo(&[], tmp.path());
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        entries(&tmp.path().join("dmimo-out")),
        [
            "thesis.cfo-null-collapse",
            "thesis.null-leakage",
            "thesis.precoder-rates"
        ]
    );
}
