//! End-to-end tests of the `fmr` binary: the JSON contract, the exit codes, bad
//! input, and the shipped examples.

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

fn fmr(args: &[&str]) -> Output {
    fmr_with_data(shared_data_dir(), args)
}

/// Runs fmr with its database (cases, cache) in `data`.
fn fmr_with_data(data: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fmr"))
        .args(args)
        .current_dir(root())
        .env("FMR_DATA_DIR", data)
        .output()
        .expect("fmr runs")
}

/// Investigations record cases: keep them out of the user's data directory.
fn shared_data_dir() -> &'static std::path::Path {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().expect("temp dir"))
        .path()
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("stdout is not one JSON object ({e}): {}", stdout(o)))
}

fn ids(report: &Value) -> Vec<String> {
    report["hypotheses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].as_str().unwrap().to_string())
        .collect()
}

const FP16_SYMPTOM: &str = "loss becomes NaN after 2k steps with fp16, lr 3e-4, batch 64";

#[test]
fn symptom_text_alone_ranks_a_numerical_hypothesis_first() {
    let o = fmr(&["investigate", "--symptom", FP16_SYMPTOM, "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let r = json(&o);
    let top = &ids(&r)[0];
    // fp16 overflow / loss scaling, pure fp16, or the learning rate.
    assert!(
        ["FM0001", "FM0008", "FM0002"].contains(&top.as_str()),
        "top hypothesis {top}: {:?}",
        ids(&r)
    );
    let c = &r["characterization"];
    assert_eq!(c["environment"]["precision"], "fp16");
    assert_eq!(c["environment"]["hyperparameters"]["learning_rate"], 0.0003);
    assert_eq!(c["environment"]["hyperparameters"]["batch_size"], 64);
    assert_eq!(c["onset"]["step"], 2000);
    // The plan uses the user's own learning rate.
    let actions: Vec<&str> = r["next_steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.iter().any(|a| a.contains("from 3e-4 to")),
        "no step quotes lr 3e-4: {actions:#?}"
    );
}

#[test]
fn json_report_keeps_the_contract() {
    let o = fmr(&[
        "investigate",
        "examples/fp16-nan/logs",
        "--code",
        "examples/fp16-nan/code",
        "--symptom",
        FP16_SYMPTOM,
        "--tried",
        "added gradient clipping at 1.0, didn't help",
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let r = json(&o);
    assert_eq!(r["schema_version"], fmr_core::REPORT_SCHEMA_VERSION);
    for field in [
        "characterization",
        "queries",
        "hypotheses",
        "delegations",
        "findings",
        "synthesis",
        "next_steps",
    ] {
        assert!(!r[field].is_null(), "missing {field}");
    }
    let c = &r["characterization"];
    for field in [
        "symptoms",
        "expected",
        "onset",
        "changes",
        "tried",
        "environment",
        "gaps",
    ] {
        assert!(c.get(field).is_some(), "characterization lacks {field}");
    }
    let hyps = r["hypotheses"].as_array().unwrap();
    assert!(!hyps.is_empty());
    let mut last = f64::INFINITY;
    for h in hyps {
        for field in ["id", "title", "root_cause"] {
            assert!(h[field].is_string(), "hypothesis.{field}");
        }
        for field in ["fixes", "evidence", "sources"] {
            assert!(h[field].is_array(), "hypothesis.{field}");
        }
        let l = h["likelihood"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&l));
        if h["status"] != "eliminated" {
            assert!(l <= last + 1e-9, "hypotheses not ranked best first");
            last = l;
        }
        assert!(
            !h["sources"].as_array().unwrap().is_empty(),
            "hypothesis without sources"
        );
    }
    let queries = r["queries"].as_array().unwrap();
    let levels: Vec<u64> = queries
        .iter()
        .map(|q| q["level"].as_u64().unwrap())
        .collect();
    for level in 1..=3 {
        assert!(
            levels.contains(&level),
            "no level-{level} query: {levels:?}"
        );
    }
    let steps = r["next_steps"].as_array().unwrap();
    assert!(!steps.is_empty());
    for s in steps {
        for field in ["action", "why", "condition"] {
            assert!(s[field].is_string(), "step.{field}");
        }
        assert!(s["sources"].is_array());
        assert!(s["likelihood"].is_number() && s["diagnostic_value"].is_number());
        assert!(["low", "medium", "high"].contains(&s["effort"].as_str().unwrap()));
    }
    // The measured NaN onset comes from the detector, not from the words.
    assert_eq!(c["onset"]["step"], 2140, "{}", c["onset"]);
    // The auditor found the missing GradScaler, and it is the first step.
    let rules: Vec<&str> = r["audit_findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert!(rules.contains(&"PT005"), "{rules:?}");
    assert!(
        steps[0]["action"].as_str().unwrap().contains("train.py"),
        "{}",
        steps[0]["action"]
    );
    assert_eq!(ids(&r)[0], "FM0001");
}

#[test]
fn overfitting_example_finds_the_gap_and_the_unshuffled_loader() {
    let o = fmr(&[
        "investigate",
        "examples/small-data-overfit/logs",
        "--code",
        "examples/small-data-overfit/code",
        "--symptom",
        &std::fs::read_to_string(root().join("examples/small-data-overfit/symptom.txt")).unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let r = json(&o);
    let kinds: Vec<&str> = r["characterization"]["symptoms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"train_val_gap"), "{kinds:?}");
    assert!(
        ids(&r).iter().take(3).any(|id| id == "FM0030"),
        "{:?}",
        ids(&r)
    );
    let rules: Vec<&str> = r["audit_findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert!(rules.contains(&"PT007"), "{rules:?}");
}

#[test]
fn every_format_renders() {
    for (format, marker) in [
        ("text", "HYPOTHESES"),
        ("md", "## Hypotheses"),
        ("html", "Hypotheses</h2>"),
    ] {
        let o = fmr(&["investigate", "--symptom", FP16_SYMPTOM, "--format", format]);
        assert_eq!(o.status.code(), Some(0), "{format}: {}", stderr(&o));
        assert!(
            stdout(&o).contains(marker),
            "{format} output lacks {marker}"
        );
    }
}

#[test]
fn out_dir_receives_the_report_and_its_json() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report");
    let o = fmr(&[
        "investigate",
        "--symptom",
        FP16_SYMPTOM,
        "--format",
        "md",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        std::fs::read_to_string(out.join("report.md"))
            .unwrap()
            .contains("## Next steps")
    );
    let j: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert!(j["hypotheses"].is_array());
}

#[test]
fn a_failed_fix_lowers_its_hypothesis() {
    let plain = json(&fmr(&[
        "investigate",
        "--symptom",
        FP16_SYMPTOM,
        "--format",
        "json",
    ]));
    let tried = json(&fmr(&[
        "investigate",
        "--symptom",
        FP16_SYMPTOM,
        "--tried",
        "lowered the learning rate to 1e-4, didn't help",
        "--format",
        "json",
    ]));
    let find = |r: &Value| {
        r["hypotheses"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["id"] == "FM0002")
            .cloned()
    };
    let (before, after) = (
        find(&plain).expect("FM0002 ranked"),
        find(&tried).expect("FM0002 still listed"),
    );
    assert_eq!(after["status"], "lowered");
    assert!(after["likelihood"].as_f64().unwrap() < before["likelihood"].as_f64().unwrap());
    assert!(
        after["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "tried")
    );
}

#[test]
fn missing_path_is_named_and_exits_2() {
    let o = fmr(&["investigate", "no/such/run", "--format", "json"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no/such/run"), "{}", stderr(&o));
}

#[test]
fn unreadable_input_beside_a_good_one_exits_1_and_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("broken.csv");
    std::fs::write(&bad, b"step,loss\n1,\xff\xfe\x00garbage\n").unwrap();
    let good = root().join("examples/fp16-nan/logs/metrics.csv");
    let o = fmr(&[
        "investigate",
        good.to_str().unwrap(),
        bad.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("broken.csv"), "{}", stderr(&o));
    let r = json(&o);
    assert!(
        r["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["path"].as_str().unwrap().ends_with("broken.csv"))
    );
    assert!(
        !r["hypotheses"].as_array().unwrap().is_empty(),
        "the investigation did not go on"
    );
}

#[test]
fn empty_and_unrecognised_inputs_exit_2_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.csv");
    std::fs::write(&empty, b"").unwrap();
    let o = fmr(&["investigate", empty.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("empty.csv"), "{}", stderr(&o));

    let blob = dir.path().join("weights.bin");
    std::fs::write(&blob, [0u8, 159, 146, 150, 1, 2, 3]).unwrap();
    let o = fmr(&["investigate", blob.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("weights.bin"), "{}", stderr(&o));

    let nothing = dir.path().join("nothing");
    std::fs::create_dir(&nothing).unwrap();
    let o = fmr(&["investigate", nothing.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn bad_usage_exits_2() {
    assert_eq!(fmr(&["investigate"]).status.code(), Some(2));
    assert_eq!(
        fmr(&["investigate", "--format", "pdf", "--symptom", "x"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        fmr(&["investigate", "--env", "novalue", "--symptom", "x"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(fmr(&["no-such-verb"]).status.code(), Some(2));
}

#[test]
fn metrics_csv_follows_the_contract() {
    let o = fmr(&["metrics", "examples/fp16-nan/logs", "--format", "csv"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("run,tag,step,wall_time,value"));
    assert!(
        text.lines().any(|l| l == "logs,train/loss,2140,,nan"),
        "no NaN row in:\n{}",
        &text[..text.len().min(400)]
    );
    assert!(text.lines().any(|l| l == "logs,train/grad_norm,2140,,inf"));
}

#[test]
fn kb_check_and_stats() {
    let o = fmr(&["kb", "check"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let stats = json(&fmr(&["kb", "stats", "--format", "json"]));
    assert!(stats["entries"].as_u64().unwrap() >= 15);
    assert!(stats["domains"].is_object() && stats["sources"].is_object());
    assert!(stats["analogy_edges"].as_u64().unwrap() > 0);
    let show = fmr(&["kb", "show", "FM0001"]);
    assert!(stdout(&show).contains("sources:"));
    assert_eq!(fmr(&["kb", "show", "FM9999"]).status.code(), Some(2));
}

#[test]
fn search_and_audit_verbs() {
    let o = fmr(&[
        "search",
        "vq-vae codebook collapse dead codes",
        "--format",
        "json",
    ]);
    let hits = json(&o);
    assert_eq!(hits[0]["id"], "FM0034", "{hits}");
    let o = fmr(&["audit", "examples/fp16-nan/code"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("PT005"));
    assert_eq!(
        fmr(&["audit", "examples/fp16-nan/code", "--rule", "XX999"])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn closed_stdout_pipe_is_a_clean_exit() {
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_fmr"))
        .args(["kb", "list"])
        .current_dir(root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
}

#[test]
fn offline_research_uses_the_cache_only_and_is_reported_apart() {
    let data = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| fmr_with_data(data.path(), args);
    let o = run(&[
        "investigate",
        "--symptom",
        FP16_SYMPTOM,
        "--offline",
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let r = json(&o);
    assert_eq!(r["research"]["mode"], "offline");
    let sources: Vec<&str> = r["research"]["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["source"].as_str().unwrap())
        .collect();
    assert!(
        sources.contains(&"arxiv") && sources.contains(&"github"),
        "{sources:?}"
    );
    // An empty cache offline yields no live hits, and the knowledge-base ranking is unchanged.
    assert!(r["research"]["hits"].as_array().unwrap().is_empty());
    let plain = json(&run(&[
        "investigate",
        "--symptom",
        FP16_SYMPTOM,
        "--format",
        "json",
    ]));
    assert!(plain.get("research").is_none());
    assert_eq!(ids(&plain), ids(&r));
    assert_eq!(run(&["cache", "stats"]).status.code(), Some(0));
    let cleared = run(&["cache", "clear"]);
    assert!(
        stdout(&cleared).starts_with("removed 0 cached response(s)"),
        "{}",
        stdout(&cleared)
    );
    assert_eq!(
        run(&["investigate", "--symptom", "x", "--online", "--offline"])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn cases_remember_investigations_and_tried_reranks_them() {
    let data = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| fmr_with_data(data.path(), args);
    let o = run(&["investigate", "--symptom", FP16_SYMPTOM, "--format", "json"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stderr(&o).contains("saved as case 1"), "{}", stderr(&o));
    let before = json(&o);
    assert_eq!(ids(&before)[0], "FM0001");
    let list = run(&["case", "list", "--format", "json"]);
    let cases: Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(cases[0]["id"], 1);
    assert_eq!(cases[0]["top_hypothesis"], "FM0001");

    let o = run(&[
        "tried",
        "1",
        "switched to bf16 autocast",
        "--outcome",
        "failed",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains("FM0001 is now lowered (was active)"),
        "{text}"
    );
    let after = json(&run(&["case", "show", "1", "--format", "json"]));
    let fm1 = after["hypotheses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["id"] == "FM0001")
        .unwrap();
    assert_eq!(fm1["status"], "lowered");
    assert_ne!(ids(&after)[0], "FM0001");
    assert_eq!(after["characterization"]["tried"][0]["outcome"], "failed");
    // A second attempt builds on the first.
    run(&[
        "tried",
        "1",
        "lowered the learning rate to 1e-4",
        "--outcome",
        "failed",
    ]);
    let again = json(&run(&["case", "show", "1", "--format", "json"]));
    assert_eq!(
        again["characterization"]["tried"].as_array().unwrap().len(),
        2
    );
    assert_eq!(
        run(&["tried", "9", "x", "--outcome", "failed"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        run(&["tried", "1", "x", "--outcome", "maybe"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        run(&["investigate", "--symptom", "x", "--no-save"])
            .status
            .code(),
        Some(0)
    );
    let list: Value =
        serde_json::from_slice(&run(&["case", "list", "--format", "json"]).stdout).unwrap();
    assert_eq!(
        list.as_array().unwrap().len(),
        1,
        "--no-save recorded a case"
    );
}

#[test]
fn diff_says_where_two_runs_part_and_what_changed() {
    let dir = tempfile::tempdir().unwrap();
    let fixtures = root().join("crates/fmr-detect/tests/compare");
    for side in ["good", "bad"] {
        let run = dir.path().join(side);
        std::fs::create_dir(&run).unwrap();
        std::fs::copy(
            fixtures.join(format!("{side}.csv")),
            run.join("metrics.csv"),
        )
        .unwrap();
        std::fs::copy(
            fixtures.join(format!("{side}.config.json")),
            run.join("config.json"),
        )
        .unwrap();
    }
    let good = dir.path().join("good");
    let bad = dir.path().join("bad");
    let o = fmr(&["diff", good.to_str().unwrap(), bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("parts first"), "{text}");
    assert!(text.contains("optimizer.lr 0.0003 → 0.0012"), "{text}");
    let j = json(&fmr(&[
        "diff",
        good.to_str().unwrap(),
        bad.to_str().unwrap(),
        "--format",
        "json",
    ]));
    assert!(j["metrics"].is_array());
    assert_eq!(
        fmr(&["diff", good.to_str().unwrap(), "no/such/run"])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn watch_alerts_when_a_live_run_goes_non_finite() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("metrics.csv");
    let mut rows = String::from("step,train/loss\n");
    for step in 0..200 {
        rows.push_str(&format!(
            "{step},{}\n",
            2.0 * (-(step as f64) / 80.0).exp() + 0.3
        ));
    }
    std::fs::write(&csv, &rows).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_fmr"))
        .args([
            "watch",
            dir.path().to_str().unwrap(),
            "--every",
            "0.1",
            "--exit-on-alert",
            "--max-polls",
            "300",
        ])
        .env("FMR_DATA_DIR", shared_data_dir())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The healthy run raises nothing; then the run goes NaN.
    std::thread::sleep(std::time::Duration::from_millis(600));
    for step in 200..260 {
        rows.push_str(&format!("{step},nan\n"));
    }
    std::fs::write(&csv, &rows).unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("fmr alert:") && text.contains("NaN"),
        "stdout: {text}\nstderr: {}",
        stderr(&out)
    );
    let reports: Vec<_> = std::fs::read_dir(dir.path().join("fmr-alerts"))
        .unwrap()
        .filter_map(|e| e.ok())
        .collect();
    assert_eq!(reports.len(), 2, "one Markdown and one HTML report");
}
