//! The data flow tracer on small projects beside this file (`fixtures/trace/`), on the bench
//! scenario whose bug is a shape the code never states, and on bad input.

use std::path::{Path, PathBuf};

use fmr_audit::trace::{Direction, StepKind, Trace, TraceQuery, trace};
use fmr_audit::{audit_path, rule};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/trace")
        .join(name)
}

fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../bench/scenarios")
        .join(name)
}

fn run(root: &Path, name: &str, location: Option<&str>) -> Trace {
    let mut query = TraceQuery::new(name);
    if let Some(location) = location {
        query = query.at(location);
    }
    trace(root, &query).unwrap_or_else(|error| panic!("tracing {name}: {error}"))
}

/// `(file, line, kind)` of the steps in one direction, in the order the trace lists them.
fn steps(trace: &Trace, direction: Direction) -> Vec<(String, usize, StepKind)> {
    trace
        .steps
        .iter()
        .filter(|step| step.direction == direction)
        .map(|step| (step.file.clone(), step.line, step.kind))
        .collect()
}

fn has(steps: &[(String, usize, StepKind)], file: &str, line: usize, kind: StepKind) -> bool {
    steps
        .iter()
        .any(|(f, l, k)| f == file && *l == line && *k == kind)
}

/// Where `wanted` sits in `steps` (panics with the list when it is missing).
fn position(steps: &[(String, usize, StepKind)], file: &str, line: usize, kind: StepKind) -> usize {
    steps
        .iter()
        .position(|(f, l, k)| f == file && *l == line && *k == kind)
        .unwrap_or_else(|| panic!("no {kind:?} step at {file}:{line} in {steps:#?}"))
}

#[test]
fn labels_are_traced_back_across_files_through_the_loader_and_the_dataset() {
    let found = run(&fixture("digits"), "targets", Some("train.py:18"));
    let anchor = found.anchor.as_ref().expect("an anchor");
    assert_eq!((anchor.file.as_str(), anchor.line), ("train.py", 18));
    let back = steps(&found, Direction::Backward);
    // Sources first: the dataset loader, then each hop toward the loss.
    let order = [
        ("data.py", 10, StepKind::Source),
        ("data.py", 12, StepKind::Assign),
        ("data.py", 13, StepKind::Return),
        ("train.py", 25, StepKind::Call),
        ("train.py", 9, StepKind::Param),
        ("data.py", 22, StepKind::Param),
        ("data.py", 24, StepKind::Cast),
        ("data.py", 34, StepKind::Index),
        ("data.py", 34, StepKind::Return),
        ("train.py", 10, StepKind::Dataset),
        ("train.py", 11, StepKind::Loader),
        ("train.py", 14, StepKind::Param),
        ("train.py", 15, StepKind::Loader),
    ];
    let positions: Vec<usize> = order
        .iter()
        .map(|(file, line, kind)| position(&back, file, *line, *kind))
        .collect();
    assert!(
        positions.windows(2).all(|pair| pair[0] < pair[1]),
        "out of order: {back:#?}"
    );
    // Only the labels' way: element 1 of the dataset item, not the features' scaling.
    assert!(!has(&back, "data.py", 18, StepKind::Normalize), "{back:#?}");
    assert!(!has(&back, "data.py", 11, StepKind::Cast), "{back:#?}");
    let origin = found.origin.as_ref().expect("an origin");
    assert_eq!(
        (origin.file.as_str(), origin.line, origin.kind),
        ("data.py", 10, StepKind::Source)
    );
    assert!(origin.detail.contains("load_digits"));

    let forward = steps(&found, Direction::Forward);
    assert_eq!(
        forward,
        [
            ("train.py".to_owned(), 18, StepKind::Device),
            ("train.py".to_owned(), 18, StepKind::LossInput),
            ("train.py".to_owned(), 20, StepKind::BackwardPass),
        ]
    );
}

#[test]
fn labels_are_traced_forward_into_another_file_and_back_to_the_loss() {
    let found = run(&fixture("digits"), "labels", Some("main"));
    let forward = steps(&found, Direction::Forward);
    let order = [
        ("train.py", 26, StepKind::Call),
        ("train.py", 9, StepKind::Param),
        ("train.py", 10, StepKind::Dataset),
        ("data.py", 22, StepKind::Param),
        ("data.py", 24, StepKind::Cast),
        ("data.py", 24, StepKind::Attribute),
        ("data.py", 34, StepKind::Index),
        ("data.py", 34, StepKind::Return),
        ("train.py", 11, StepKind::Loader),
        ("train.py", 14, StepKind::Param),
        ("train.py", 15, StepKind::Loader),
        ("train.py", 18, StepKind::LossInput),
        ("train.py", 20, StepKind::BackwardPass),
    ];
    let positions: Vec<usize> = order
        .iter()
        .map(|(file, line, kind)| position(&forward, file, *line, *kind))
        .collect();
    assert!(
        positions.windows(2).all(|pair| pair[0] < pair[1]),
        "out of order: {forward:#?}"
    );
    // `len(self.labels)` reads only the length.
    assert!(
        !forward
            .iter()
            .any(|(file, line, _)| file == "data.py" && *line == 28)
    );
    // The loop variable that receives the labels is `targets`, not `images`.
    let loop_step = found
        .steps
        .iter()
        .find(|step| {
            step.direction == Direction::Forward && step.line == 18 && step.kind == StepKind::Device
        })
        .expect("targets.to(device)");
    assert_eq!(loop_step.via, "targets");
}

#[test]
fn every_kind_of_transformation_is_named_in_order() {
    let found = run(&fixture("kinds"), "features", None);
    let kinds: Vec<(usize, StepKind)> = found
        .backward()
        .map(|step| (step.line, step.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            (5, StepKind::Source),
            (7, StepKind::Normalize),
            (8, StepKind::Shuffle),
            (9, StepKind::Cast),
            (9, StepKind::Cast),
            (10, StepKind::Reshape),
            (11, StepKind::Device),
            (12, StepKind::Detach),
        ]
    );
    // The normalization's statistics are not followed as if they were the data.
    assert!(!found.steps.iter().any(|step| step.line == 6));
    assert!(
        found.notes[0].starts_with("no location given"),
        "{:?}",
        found.notes
    );
}

#[test]
fn recursion_and_self_feeding_values_end() {
    let found = run(&fixture("recursion"), "result", Some("loop.py:16"));
    let back = steps(&found, Direction::Backward);
    assert!(has(&back, "loop.py", 11, StepKind::Source), "{back:#?}");
    assert!(has(&back, "loop.py", 5, StepKind::Param), "{back:#?}");
    assert!(has(&back, "loop.py", 15, StepKind::Arithmetic), "{back:#?}");
    // Each step once.
    let mut seen = std::collections::HashSet::new();
    for step in &found.steps {
        assert!(
            seen.insert((
                step.direction,
                step.line,
                step.column,
                step.kind,
                step.detail.clone(),
                step.via.clone()
            )),
            "repeated step {step:?}"
        );
    }
    let inside = run(&fixture("recursion"), "values", Some("halve"));
    // The recursive call passes `values * 0.5` back into the parameter.
    let forward = steps(&inside, Direction::Forward);
    assert!(
        has(&forward, "loop.py", 8, StepKind::Arithmetic),
        "{forward:#?}"
    );
    assert!(has(&forward, "loop.py", 8, StepKind::Call), "{forward:#?}");
}

#[test]
fn steps_form_a_tree_with_parents_before_children() {
    let found = run(&fixture("digits"), "labels", Some("main"));
    for (index, step) in found.steps.iter().enumerate() {
        match step.parent {
            None => assert_eq!(step.depth, 1, "{step:?}"),
            Some(parent) => {
                let parent_step = &found.steps[parent];
                assert_eq!(parent_step.direction, step.direction);
                assert_eq!(parent_step.depth + 1, step.depth);
                // Forward steps follow their parent; backward ones (sources first) precede it.
                match step.direction {
                    Direction::Forward => assert!(parent < index),
                    Direction::Backward => assert!(parent > index),
                }
            }
        }
    }
}

#[test]
fn a_missing_name_gives_a_clear_note_and_bad_locations_an_error() {
    let missing = run(&fixture("digits"), "nowhere", None);
    assert!(missing.steps.is_empty() && missing.anchor.is_none());
    assert_eq!(
        missing.notes,
        ["`nowhere` does not appear in the code outside comments and strings"]
    );
    let off_line = run(&fixture("digits"), "labels", Some("train.py:2"));
    assert!(
        off_line.notes[0].starts_with("line 2 of train.py does not mention `labels`"),
        "{:?}",
        off_line.notes
    );
    for (name, location, expected) in [
        (
            "labels",
            Some("nofile.py:3"),
            "no Python file \"nofile.py\"",
        ),
        ("labels", Some("train.py:999"), "train.py has 33 lines"),
        (
            "labels",
            Some("no_such_function"),
            "no function `no_such_function`",
        ),
        ("labels", Some("12"), "a line needs its file"),
        ("a b", None, "must be a Python name"),
    ] {
        let mut query = TraceQuery::new(name);
        if let Some(location) = location {
            query = query.at(location);
        }
        let error = trace(&fixture("digits"), &query).expect_err(expected);
        assert!(error.contains(expected), "{error}");
    }
    let nothing =
        trace(&fixture("no_such_directory"), &TraceQuery::new("x")).expect_err("no files");
    assert!(nothing.contains("no such file or directory"), "{nothing}");
}

#[test]
fn gitignored_files_are_not_traced_and_odd_code_does_not_panic() {
    let root = tempfile::tempdir().expect("tempdir");
    std::fs::write(root.path().join(".gitignore"), "generated/\n").expect("write");
    std::fs::create_dir(root.path().join("generated")).expect("mkdir");
    std::fs::write(
        root.path().join("generated/copy.py"),
        "labels = load()\nloss = criterion(out, labels)\n",
    )
    .expect("write");
    std::fs::write(
        root.path().join("train.py"),
        "def broken(:\n    pass\nlabels = labels\nlabels, labels = labels\nfor labels in labels:\n    labels = labels[labels]\nx = (lambda labels: labels)(labels)\nclass C:\n    labels = labels\n",
    )
    .expect("write");
    let found = run(root.path(), "labels", None);
    assert!(found.steps.iter().all(|step| step.file == "train.py"));
    assert_eq!(
        found.anchor.as_ref().map(|anchor| anchor.file.as_str()),
        Some("train.py")
    );
}

#[test]
fn the_flat_regression_target_of_the_broadcasting_scenario() {
    let root = scenario("loss-broadcasting-shape");
    let found = run(&root, "y_train", Some("train.py:30"));
    let back = steps(&found, Direction::Backward);
    for (line, kind) in [
        (11, StepKind::Source),
        (12, StepKind::Arithmetic),
        (13, StepKind::Split),
        (17, StepKind::Cast),
    ] {
        assert!(
            has(&back, "train.py", line, kind),
            "{kind:?} at {line}: {back:#?}"
        );
    }
    // `idx` is a slice of `torch.randperm(...)`: the batch is drawn in shuffled order.
    let target = found
        .steps
        .iter()
        .find(|step| step.direction == Direction::Forward && step.kind == StepKind::Shuffle)
        .expect("y_train[idx]");
    assert_eq!((target.line, target.shape.as_deref()), (30, Some("(N,)")));
    assert!(has(
        &steps(&found, Direction::Forward),
        "train.py",
        30,
        StepKind::LossInput
    ));

    // PT018 uses the same shape facts: the (N,) target meets the (N, 1) prediction.
    let rules = [rule("PT018").expect("PT018")];
    let report = audit_path(&root, &rules);
    let lines: Vec<usize> = report.findings.iter().map(|finding| finding.line).collect();
    assert_eq!(lines, [30]);
    assert!(
        report.findings[0]
            .message
            .contains("(shape (N,), from line 11)")
    );
}

#[test]
fn separately_shuffled_labels_show_the_shuffle() {
    let found = run(
        &scenario("labels-shuffled-separately"),
        "y_train",
        Some("train.py:50"),
    );
    let back = steps(&found, Direction::Backward);
    let shuffle = position(&back, "train.py", 31, StepKind::Shuffle);
    assert!(position(&back, "train.py", 23, StepKind::Source) < shuffle);
    assert!(shuffle < position(&back, "train.py", 33, StepKind::Cast));
    // `X_train`'s own shuffle (line 30) is another value.
    assert!(!has(&back, "train.py", 30, StepKind::Shuffle));
}

#[test]
fn the_trace_serializes_with_snake_case_kinds_and_renders_as_text() {
    let found = run(&fixture("kinds"), "features", Some("prepare.py:12"));
    let json = serde_json::to_value(&found).expect("serializes");
    assert_eq!(json["steps"][0]["kind"], "source");
    assert_eq!(json["steps"][0]["direction"], "backward");
    let back: Trace = serde_json::from_value(json).expect("reads back");
    assert_eq!(back, found);
    let text = found.render_text();
    assert!(
        text.starts_with("trace of `features` from prepare.py:12:1\n"),
        "{text}"
    );
    assert!(
        text.contains("origin: prepare.py:5 source np.load(\"features.npy\")"),
        "{text}"
    );
    assert!(
        text.contains("  prepare.py:8   shuffle       x  np.random.shuffle(x)"),
        "{text}"
    );
}

#[test]
fn long_chains_stop_at_the_limits_without_exhausting_the_stack() {
    // Test threads have small stacks; a chain of 400 assignments and a 60-deep call chain must
    // end with a note, not a crash.
    let root = tempfile::tempdir().expect("tempdir");
    let mut code = String::from("import numpy as np\nx0 = np.zeros(3)\n");
    for index in 1..400 {
        code.push_str(&format!("x{index} = (x{} + 1) * 2\n", index - 1));
    }
    for index in 0..60 {
        code.push_str(&format!(
            "def f{index}(v):\n    return f{}(v - 1)\n",
            index + 1
        ));
    }
    code.push_str("def f60(v):\n    return v\nresult = f0(x399)\nprint(result)\n");
    std::fs::write(root.path().join("chain.py"), code).expect("write");
    let found = run(root.path(), "result", Some("chain.py:524"));
    assert!(!found.steps.is_empty());
    assert!(
        found.notes.iter().any(|note| note.starts_with("stopped")),
        "{:?}",
        found.notes
    );
    let forward = run(root.path(), "x0", Some("chain.py:2"));
    assert!(forward.forward().count() > 10);
}

#[test]
fn noise_added_in_getitem_is_an_augmentation() {
    let found = run(&fixture("digits"), "image", Some("data.py:34"));
    let back = steps(&found, Direction::Backward);
    let augment = position(&back, "data.py", 33, StepKind::Augment);
    assert!(
        position(&back, "data.py", 31, StepKind::Index) < augment,
        "{back:#?}"
    );
    // The random draw that is scaled before being added is not an augmentation itself.
    assert!(
        !found
            .steps
            .iter()
            .any(|step| step.kind == StepKind::Augment && step.detail.starts_with("0.01")),
        "{:#?}",
        found.steps
    );
}

#[test]
fn a_rebound_name_is_another_value_going_forward() {
    let root = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        root.path().join("train.py"),
        "import numpy as np\ndata = np.load('a.npy')\nmodel(data)\nfor data in other:\n    criterion(data, y)\n",
    )
    .expect("write");
    let found = run(root.path(), "data", Some("train.py:2"));
    let forward = steps(&found, Direction::Forward);
    assert!(
        has(&forward, "train.py", 3, StepKind::Model),
        "{forward:#?}"
    );
    assert!(
        !forward.iter().any(|(_, line, _)| *line == 5),
        "{forward:#?}"
    );
}
