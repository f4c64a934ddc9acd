//! The Paper Alignment Auditor on fixture projects: a PyTorch project with a YAML config,
//! argparse defaults and optimizer arguments; a Hugging Face project with `TrainingArguments`
//! and `training_args.json`; a JAX project with optax and gin. Specs come as TOML, YAML, a
//! markdown table, a LaTeX table, PDF-copied text and `name: value` lines.

use std::path::{Path, PathBuf};

use fmr_audit::paper::{Alignment, Origin, PaperSpec, SpecFormat, align};

mod support;
use support::write;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/paper_fixtures")
}

fn spec(name: &str) -> PaperSpec {
    let path = fixtures().join("specs").join(name);
    PaperSpec::from_path(&path).unwrap_or_else(|error| panic!("{name}: {error}"))
}

fn align_fixture(spec_name: &str, project: &str) -> Alignment {
    align(&spec(spec_name), &fixtures().join(project))
}

/// `(param, file, line)` of every mismatch, in report order.
fn mismatches(alignment: &Alignment) -> Vec<(&str, &str, usize)> {
    alignment
        .mismatches
        .iter()
        .map(|m| (m.param.as_str(), m.file.as_str(), m.line))
        .collect()
}

fn missing(alignment: &Alignment) -> Vec<&str> {
    alignment
        .missing_components
        .iter()
        .map(|m| m.component.as_str())
        .collect()
}

fn note_of<'a>(alignment: &'a Alignment, param: &str) -> &'a str {
    alignment
        .mismatches
        .iter()
        .find(|m| m.param == param)
        .map_or_else(|| panic!("no mismatch for {param}"), |m| m.note.as_str())
}

const TORCH_MISMATCHES: &[(&str, &str, usize)] = &[
    ("learning_rate", "train.py", 14),
    ("weight_decay", "conf/config.yaml", 8),
    ("adam_beta2", "conf/config.yaml", 9),
    ("label_smoothing", "train.py", 15),
];

#[test]
fn toml_spec_lists_every_mismatch_with_its_line() {
    let alignment = align_fixture("paper.toml", "torch_project");
    assert_eq!(mismatches(&alignment), TORCH_MISMATCHES);
    assert_eq!(alignment.files_scanned, 3);
    assert!(alignment.problems.is_empty(), "{:?}", alignment.problems);

    let learning_rate = &alignment.mismatches[0];
    assert_eq!(learning_rate.code_name, "--lr");
    assert_eq!(learning_rate.origin, Origin::CliDefault);
    assert_eq!(learning_rate.code_text, "1e-3");
    assert!(
        learning_rate.note.starts_with("3.3× higher"),
        "{}",
        learning_rate.note
    );
    // The config sets the paper's value; the CLI default overrides it: both are reported.
    assert!(
        learning_rate
            .note
            .contains("also set to 3e-4 at conf/config.yaml:7"),
        "{}",
        learning_rate.note
    );
    assert!(note_of(&alignment, "weight_decay").starts_with("10× lower"));
    assert!(note_of(&alignment, "adam_beta2").starts_with("5% higher"));
    // The same wrong beta2 in the config and in AdamW(betas=...).
    let beta2 = &alignment.mismatches[2];
    assert_eq!(beta2.also_at.len(), 1);
    assert_eq!(beta2.also_at[0].to_string(), "train.py:27");
    assert_eq!(
        note_of(&alignment, "label_smoothing"),
        "set to 0 in the code"
    );
}

#[test]
fn missing_components_say_what_was_looked_for_and_where_it_would_go() {
    let alignment = align_fixture("paper.toml", "torch_project");
    assert_eq!(
        missing(&alignment),
        ["gradient_clipping", "ema", "label_smoothing"]
    );
    let clipping = &alignment.missing_components[0];
    assert!(
        clipping.message.starts_with(
            "the paper uses gradient clipping at 1.0; no clip_grad_norm_/clip_grad_value_/optax.clip_by_global_norm call"
        ),
        "{}",
        clipping.message
    );
    assert_eq!(
        clipping.near.as_ref().map(ToString::to_string).as_deref(),
        Some("train.py:38")
    );
    // The paper's max_grad_norm is covered by the missing component, not repeated.
    assert!(alignment.not_found.is_empty(), "{:?}", alignment.not_found);
    let smoothing = &alignment.missing_components[2];
    assert_eq!(smoothing.implied_by.as_deref(), Some("label_smoothing"));
    assert!(
        smoothing
            .message
            .ends_with("`--label-smoothing = 0.0` at train.py:15 switches it off"),
        "{}",
        smoothing.message
    );
    let found: Vec<(&str, &str, usize)> = alignment
        .components_found
        .iter()
        .map(|c| (c.component.as_str(), c.file.as_str(), c.line))
        .collect();
    assert_eq!(
        found,
        [
            ("cosine_schedule", "train.py", 30),
            ("warmup", "train.py", 30),
            ("pre_layernorm", "model.py", 17),
            ("mixed_precision", "train.py", 36),
        ]
    );
}

#[test]
fn matches_follow_synonyms_and_effective_batch_size() {
    let alignment = align_fixture("paper.toml", "torch_project");
    let matched: Vec<(&str, &str, usize)> = alignment
        .matches
        .iter()
        .map(|m| (m.param.as_str(), m.file.as_str(), m.line))
        .collect();
    assert_eq!(
        matched,
        [
            ("learning_rate", "conf/config.yaml", 7),
            ("batch_size", "conf/config.yaml", 11),
            ("adam_beta1", "conf/config.yaml", 9),
            ("warmup_steps", "conf/config.yaml", 14),
            ("dropout", "conf/config.yaml", 4),
            ("optimizer", "conf/config.yaml", 6),
            ("precision", "conf/config.yaml", 15),
        ]
    );
    let batch = &alignment.matches[1];
    assert_eq!(
        batch.note.as_deref(),
        Some("effective batch size = 32 × 4 accumulation steps (conf/config.yaml:12) = 128")
    );
    // `eval.batch_size: 64` is an evaluation setting and is not compared.
    assert!(!alignment.mismatches.iter().any(|m| m.line == 17));
    // The dropout default of `Block.__init__` agrees too.
    let dropout = alignment.matches.iter().find(|m| m.param == "dropout");
    assert_eq!(
        dropout.map(|m| m
            .also_at
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()),
        Some(vec!["model.py:5".to_owned()])
    );
}

#[test]
fn yaml_markdown_and_latex_specs_find_the_same_mismatches() {
    for name in ["paper.yaml", "paper.md", "paper.tex"] {
        let alignment = align_fixture(name, "torch_project");
        assert_eq!(mismatches(&alignment), TORCH_MISMATCHES, "{name}");
        assert!(
            missing(&alignment).contains(&"gradient_clipping"),
            "{name}: {:?}",
            missing(&alignment)
        );
    }
    let markdown = spec("paper.md");
    assert_eq!(markdown.title.as_deref(), Some("A Small Transformer"));
    let ema_row = markdown
        .components
        .iter()
        .find(|c| c.component.as_deref() == Some("ema"));
    assert_eq!(ema_row.and_then(|c| c.line), Some(15));
    let latex = spec("paper.tex");
    let warmup = latex.get("warmup_steps").expect("warmup row");
    assert_eq!((warmup.text.as_str(), warmup.line), ("2,000", Some(13)));
    let beta1 = latex.get("adam_beta1").expect("beta1 row");
    assert_eq!(beta1.name, "Adam β_1");
}

#[test]
fn pdf_text_spec_compares_a_warmup_percentage_with_steps() {
    let alignment = align_fixture("paper_pdf.txt", "torch_project");
    assert_eq!(
        mismatches(&alignment),
        [
            ("learning_rate", "train.py", 14),
            ("weight_decay", "conf/config.yaml", 8),
            ("adam_beta2", "conf/config.yaml", 9),
            ("warmup_ratio", "conf/config.yaml", 14),
            ("label_smoothing", "train.py", 15),
        ]
    );
    let warmup = &alignment.mismatches[3];
    assert_eq!(warmup.origin, Origin::Derived);
    assert_eq!(
        warmup.note,
        "5× lower; computed: warmup 2000 steps (conf/config.yaml:14) / 100000 total steps (conf/config.yaml:13)"
    );
    assert!(alignment.matches.iter().any(|m| m.param == "max_steps"));
}

#[test]
fn hugging_face_defaults_and_per_device_batches() {
    let alignment = align_fixture("hf.md", "hf_project");
    assert_eq!(
        mismatches(&alignment),
        [
            ("batch_size", "train.py", 10),
            ("weight_decay", "train.py", 7)
        ]
    );
    assert_eq!(
        note_of(&alignment, "batch_size"),
        "8× lower; effective batch size = 16 per device × 2 accumulation steps (train.py:11) = 32; \
         per-device batch size; the number of devices is not visible in the code; it matches the \
         paper on 8 devices"
    );
    let weight_decay = &alignment.mismatches[1];
    assert_eq!(weight_decay.origin, Origin::LibraryDefault);
    assert_eq!(weight_decay.code_name, "TrainingArguments(weight_decay=)");
    let clipping = alignment
        .matches
        .iter()
        .find(|m| m.param == "max_grad_norm")
        .expect("HF clips at 1.0 by default");
    assert_eq!(clipping.origin, Origin::LibraryDefault);
    let warmup = alignment
        .matches
        .iter()
        .find(|m| m.param == "warmup_ratio")
        .expect("warmup ratio from training_args.json");
    assert_eq!(
        (warmup.file.as_str(), warmup.line),
        ("training_args.json", 8)
    );
    assert!(
        alignment
            .components_found
            .iter()
            .any(|c| c.component == "weight_decay_exclusion" && c.line == 15)
    );
}

#[test]
fn jax_project_reads_optax_positional_arguments_and_gin() {
    let alignment = align_fixture("jax.txt", "jax_project");
    assert_eq!(
        mismatches(&alignment),
        [("adam_beta2", "train.py", 8), ("dropout", "config.gin", 4)]
    );
    let matched: Vec<(&str, &str, usize)> = alignment
        .matches
        .iter()
        .map(|m| (m.param.as_str(), m.code_name.as_str(), m.line))
        .collect();
    assert_eq!(
        matched,
        [
            (
                "learning_rate",
                "warmup_cosine_decay_schedule(peak_value)",
                5
            ),
            (
                "warmup_steps",
                "warmup_cosine_decay_schedule(warmup_steps)",
                5
            ),
            ("max_steps", "train.total_steps", 3),
            ("batch_size", "train.batch_size", 2),
            ("max_grad_norm", "clip_by_global_norm(max_norm)", 7),
            ("adam_epsilon", "adamw(eps=)", 8),
            ("weight_decay", "adamw(weight_decay=)", 8),
        ]
    );
}

#[test]
fn text_rendering_reads_top_down() {
    let root = fixtures().join("torch_project");
    let alignment = align(&spec("paper.toml"), &root);
    let text = alignment
        .to_text()
        .replace(&root.display().to_string(), "torch_project");
    insta::assert_snapshot!(text);
}

#[test]
fn alignment_serialises_with_plain_values() {
    let alignment = align_fixture("paper.toml", "torch_project");
    let json = serde_json::to_value(&alignment).expect("serialises");
    let first = &json["mismatches"][0];
    assert_eq!(first["param"], "learning_rate");
    assert_eq!(first["paper_value"], 0.0003);
    assert_eq!(first["code_value"], 0.001);
    assert_eq!(first["file"], "train.py");
    assert_eq!(first["line"], 14);
    assert_eq!(first["origin"], "cli_default");
    assert!(
        first["note"]
            .as_str()
            .is_some_and(|note| note.contains("higher"))
    );
    let back: Alignment = serde_json::from_value(json).expect("deserialises");
    assert_eq!(back, alignment);
}

#[test]
fn mismatches_and_placed_missing_components_become_audit_findings() {
    let alignment = align_fixture("paper.toml", "torch_project");
    let findings = alignment.findings();
    let codes: Vec<(&str, &str, usize)> = findings
        .iter()
        .map(|f| (f.rule.as_str(), f.file.as_str(), f.line))
        .collect();
    assert_eq!(
        codes,
        [
            ("PA001", "train.py", 14),
            ("PA001", "conf/config.yaml", 8),
            ("PA001", "conf/config.yaml", 9),
            ("PA001", "train.py", 15),
            ("PA002", "train.py", 38),
            ("PA002", "train.py", 38),
            ("PA002", "train.py", 33),
        ]
    );
    assert!(
        findings
            .iter()
            .all(|f| f.auditor == "paper_alignment_auditor")
    );
    assert_eq!(findings[1].snippet, "weight_decay: 0.01");
}

#[test]
fn garbage_specs_are_clear_errors() {
    let prose = PaperSpec::from_text(
        "We trained the network for a long time on many accelerators\nand it worked",
    )
    .expect_err("prose is not a table");
    let message = prose.to_string();
    assert!(
        message.starts_with("pasted text:1: cannot tell the name from the value in `We trained"),
        "{message}"
    );
    assert!(message.contains("\npasted text:2: "), "{message}");

    let empty = PaperSpec::from_text("\n\n").expect_err("nothing to read");
    assert_eq!(
        empty.to_string(),
        "pasted text: no hyperparameters or components found; expected a [hyperparameters] \
         table, `components = [...]`, or a table of `name | value` rows"
    );

    let broken = PaperSpec::parse(
        "[hyperparameters]\nlr = = 3\n",
        SpecFormat::Toml,
        "paper.toml",
    )
    .expect_err("invalid TOML");
    assert!(
        broken
            .to_string()
            .starts_with("paper.toml:2: not valid TOML"),
        "{broken}"
    );

    let wrong_type = PaperSpec::parse(
        "[hyperparameters]\nlearning_rate = \"fast\"\nbetas = [0.9]\n",
        SpecFormat::Toml,
        "paper.toml",
    )
    .expect_err("not numbers");
    assert_eq!(
        wrong_type.to_string(),
        "paper.toml:2: `learning_rate` (learning rate) should be a number, found `fast`\n\
         paper.toml:3: `betas` should be two numbers like (0.9, 0.999), found `[0.9]`"
    );

    let list =
        PaperSpec::parse("- 1\n- 2\n", SpecFormat::Yaml, "paper.yaml").expect_err("not a mapping");
    assert!(list.to_string().contains("expected a mapping"), "{list}");

    let missing = PaperSpec::from_path(&fixtures().join("specs/no_such_spec.toml"))
        .expect_err("missing file");
    assert!(
        missing
            .to_string()
            .ends_with("no_such_spec.toml: no such file")
    );
}

#[test]
fn hydra_groups_give_context_and_gitignored_files_are_skipped() {
    let root = tempfile::tempdir().expect("tempdir");
    write(
        &root.path().join("conf/optimizer/adamw.yaml"),
        "_target_: torch.optim.AdamW\nlr: 1e-3\neps: 1e-6\n",
    );
    write(
        &root.path().join("conf/model/norm.yaml"),
        "eps: 1e-5\nmomentum: 0.1\n",
    );
    write(&root.path().join(".gitignore"), "outputs/\n");
    write(
        &root.path().join("outputs/run1/config.yaml"),
        "optimizer:\n  lr: 5.0\n",
    );
    let spec = PaperSpec::from_text("Optimizer: AdamW\nLearning rate: 1e-3\nAdam ε: 1e-8\n")
        .expect("reads");
    let alignment = align(&spec, root.path());
    assert_eq!(
        mismatches(&alignment),
        [("adam_epsilon", "conf/optimizer/adamw.yaml", 3)]
    );
    let matched: Vec<(&str, usize)> = alignment
        .matches
        .iter()
        .map(|m| (m.param.as_str(), m.line))
        .collect();
    assert_eq!(matched, [("optimizer", 1), ("learning_rate", 2)]);
    assert_eq!(alignment.files_scanned, 2);
}

#[test]
fn unknown_paper_names_are_looked_for_verbatim() {
    let root = tempfile::tempdir().expect("tempdir");
    write(
        &root.path().join("train.py"),
        "MASK_RATIO = 0.6\n\ndef main(mask_ratio=0.75):\n    pass\n",
    );
    let spec = PaperSpec::from_text("| Mask ratio | 0.75 |\n| Patch size | 16 |\n").expect("reads");
    let script = root.path().join("train.py");
    let alignment = align(&spec, &script);
    let shown = script.display().to_string();
    assert_eq!(mismatches(&alignment), [("mask_ratio", shown.as_str(), 1)]);
    assert_eq!(alignment.matches.len(), 1);
    assert_eq!(alignment.matches[0].code_name, "main(mask_ratio=)");
    assert_eq!(alignment.not_found.len(), 1);
    assert_eq!(alignment.not_found[0].param, "patch_size");
}

#[test]
fn unknown_components_are_listed_as_unchecked() {
    let root = tempfile::tempdir().expect("tempdir");
    write(&root.path().join("train.py"), "import torch\n");
    let spec = PaperSpec::parse(
        "components = [\"sparse attention\", \"gradient checkpointing\"]\n",
        SpecFormat::Toml,
        "paper.toml",
    )
    .expect("reads");
    let alignment = align(&spec, root.path());
    assert_eq!(alignment.unchecked_components, ["sparse attention"]);
    assert_eq!(missing(&alignment), ["gradient_checkpointing"]);
    assert!(alignment.missing_components[0].near.is_none());
    assert!(alignment.findings().is_empty());
}

#[test]
fn a_missing_project_is_a_problem_not_a_panic() {
    let spec = PaperSpec::from_text("Learning rate: 3e-4").expect("reads");
    let alignment = align(&spec, &fixtures().join("no_such_project"));
    assert_eq!(alignment.files_scanned, 0);
    assert_eq!(alignment.problems.len(), 1);
    assert_eq!(alignment.problems[0].problem, "no such file or directory");
    assert_eq!(alignment.not_found.len(), 1);
    assert!(alignment.notes[0].starts_with("no Python or config files were read"));
}

#[test]
fn broken_configs_are_reported_and_the_rest_is_read() {
    let root = tempfile::tempdir().expect("tempdir");
    write(&root.path().join("conf/broken.yaml"), "lr: [1, 2\n");
    write(&root.path().join("conf/args.json"), "{\"lr\": 3e-4,}");
    write(&root.path().join("train.py"), "LR = 3e-4\n");
    let spec = PaperSpec::from_text("Learning rate: 3e-4").expect("reads");
    let alignment = align(&spec, root.path());
    let problems: Vec<&str> = alignment.problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(problems, ["conf/args.json", "conf/broken.yaml"]);
    assert!(alignment.problems[0].problem.starts_with("not valid JSON"));
    assert!(alignment.problems[1].problem.starts_with("not valid YAML"));
    assert_eq!(alignment.matches.len(), 1);
    assert_eq!(alignment.matches[0].file, "train.py");
}

proptest::proptest! {
    /// Whatever is pasted, reading it answers with a spec or an error, never a panic.
    #[test]
    fn pasted_text_never_panics(text in "\\PC{0,120}") {
        let _ = PaperSpec::from_text(&text);
    }

    /// Lines shaped like table rows, with odd values, never panic either.
    #[test]
    fn table_rows_never_panic(
        name in "[A-Za-zβε ()_-]{0,24}",
        value in "[0-9eE.,×x^{}$\\\\%kMB ()\\[\\]−-]{0,24}",
    ) {
        for row in [
            format!("| {name} | {value} |"),
            format!("{name} & {value} \\\\"),
            format!("{name}: {value}"),
            format!("{name}\t{value}"),
            format!("{name} {value}"),
        ] {
            let _ = PaperSpec::from_text(&row);
        }
    }
}

#[test]
fn in_memory_code_can_be_scanned() {
    let scan = fmr_audit::paper::scan_python_source(
        "snippet.py",
        "opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True)\n",
    );
    let values: Vec<(&str, String)> = scan
        .values
        .iter()
        .map(|value| (value.param.as_str(), value.value.to_string()))
        .collect();
    assert_eq!(
        values,
        [
            ("optimizer", "SGD".to_owned()),
            ("weight_decay", "0".to_owned()),
            ("learning_rate", "0.1".to_owned()),
            ("momentum", "0.9".to_owned()),
        ]
    );
    // SGD decays no weights unless told to; the default is reported as such.
    assert_eq!(scan.values[1].origin, Origin::LibraryDefault);
    assert!(
        scan.evidence
            .iter()
            .any(|evidence| evidence.component == "nesterov" && evidence.active)
    );
}
