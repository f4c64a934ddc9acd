//! Stage tests of the engine: each fails when its stage is broken.

use fmr_core::{HypothesisStatus, Origin, SymptomKind};
use fmr_engine::{Engine, Inputs, eval};

fn engine() -> Engine {
    Engine::new().expect("embedded knowledge base indexes")
}

fn words(symptom: &str) -> Inputs {
    Inputs {
        symptom: Some(symptom.to_string()),
        ..Inputs::default()
    }
}

fn example(path: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

#[test]
fn characterize_merges_measured_and_described_symptoms() {
    let inputs = Inputs {
        paths: vec![example("examples/fp16-nan/logs")],
        symptom: Some("the loss becomes NaN and training hangs afterwards".into()),
        ..Inputs::default()
    };
    let report = engine().investigate(&inputs);
    let symptoms = &report.characterization.symptoms;
    // NaN was measured, so the described NaN is not repeated; the hang is only described.
    assert!(
        symptoms
            .iter()
            .any(|s| s.kind == SymptomKind::NonFinite && s.origin == Origin::Detector)
    );
    assert!(
        !symptoms
            .iter()
            .any(|s| s.kind == SymptomKind::NonFinite && s.origin == Origin::UserText)
    );
    assert!(
        symptoms
            .iter()
            .any(|s| s.kind == SymptomKind::Hang && s.origin == Origin::UserText)
    );
    let env = &report.characterization.environment;
    assert_eq!(
        env.precision.as_deref(),
        Some("mixed_fp16"),
        "fp16: true in config.json"
    );
    assert_eq!(
        env.hyperparameters["learning_rate"],
        serde_json::json!(0.0003)
    );
    assert_eq!(env.hyperparameters["batch_size"], serde_json::json!(64));
}

#[test]
fn search_runs_every_level_and_hits_remember_their_level() {
    let report = engine().investigate(&words(
        "VQ-VAE codebook usage collapses to a few codes, perplexity drops",
    ));
    let levels: Vec<u8> = report.queries.iter().map(|q| q.level).collect();
    for level in 1..=4 {
        assert!(
            levels.contains(&level),
            "no level-{level} query in {levels:?}"
        );
    }
    let top = &report.hypotheses[0];
    assert_eq!(
        top.id,
        "FM0034",
        "{:?}",
        report.hypotheses.iter().map(|h| &h.id).collect::<Vec<_>>()
    );
    assert!(top.levels.contains(&1));
    // The analogy walk reaches k-means empty clusters or dead ReLUs from the codebook entry.
    let l4: Vec<&String> = report
        .queries
        .iter()
        .filter(|q| q.level == 4)
        .flat_map(|q| &q.hits)
        .collect();
    assert!(
        l4.iter().any(|id| *id == "FM0050" || *id == "FM0028"),
        "{l4:?}"
    );
}

#[test]
fn a_report_naming_both_bf16_and_fp16_keeps_the_fp16_failures() {
    // The precision read from these words is bf16 (named first), but the failing run is fp16.
    let inputs = Inputs {
        symptom: Some(
            "training in bf16 was fine; on the V100 I switched to fp16 autocast and the loss is NaN after 2k steps"
                .into(),
        ),
        ..Inputs::default()
    };
    let report = engine().investigate(&inputs);
    let fp16 = report
        .hypotheses
        .iter()
        .find(|h| h.id == "FM0001")
        .expect("FM0001 in the report");
    assert_ne!(fp16.status, HypothesisStatus::Eliminated);
}

#[test]
fn environment_eliminates_what_it_rules_out() {
    let inputs = Inputs {
        symptom: Some("loss becomes NaN after 2k steps with fp16 autocast".into()),
        env: vec![("precision".into(), "fp32".into())],
        ..Inputs::default()
    };
    let report = engine().investigate(&inputs);
    let fp16 = report
        .hypotheses
        .iter()
        .find(|h| h.id == "FM0001")
        .expect("FM0001 kept in the report");
    assert_eq!(fp16.status, HypothesisStatus::Eliminated);
    assert_eq!(fp16.likelihood, 0.0);
    assert!(
        fp16.evidence
            .iter()
            .any(|e| e.weight < 0.0 && e.statement.contains("fp32"))
    );
    assert_ne!(report.hypotheses[0].id, "FM0001");
}

#[test]
fn code_findings_raise_their_hypothesis_and_become_the_first_step() {
    let with_code = engine().investigate(&Inputs {
        symptom: Some("validation loss goes up while the training loss goes down".into()),
        code: Some(example("examples/small-data-overfit/code")),
        ..Inputs::default()
    });
    let without = engine().investigate(&words(
        "validation loss goes up while the training loss goes down",
    ));
    let likelihood = |r: &fmr_core::Report, id: &str| {
        r.hypotheses
            .iter()
            .find(|h| h.id == id)
            .map(|h| h.likelihood)
            .unwrap_or(0.0)
    };
    assert!(with_code.audit_findings.iter().any(|f| f.rule == "PT007"));
    assert!(likelihood(&with_code, "FM0017") > likelihood(&without, "FM0017"));
    let delegation = with_code
        .delegations
        .iter()
        .find(|d| d.rules.contains(&"PT007".to_string()));
    let delegation = delegation.expect("a delegation runs the unshuffled-loader rule");
    assert!(
        delegation
            .location
            .as_deref()
            .is_some_and(|l| l.starts_with("train.py:")),
        "{delegation:?}"
    );
    assert!(delegation.findings >= 1);
}

fn hypothesis(engine: &Engine, id: &str, likelihood: f64) -> fmr_core::Hypothesis {
    let entry = engine.kb.get(id).expect("entry exists");
    fmr_core::Hypothesis {
        id: id.into(),
        title: entry.title.clone(),
        likelihood,
        status: HypothesisStatus::Active,
        root_cause: entry.causes[0].clone(),
        other_causes: Vec::new(),
        fixes: entry.fixes.iter().map(|f| f.action.clone()).collect(),
        evidence: Vec::new(),
        score: Vec::new(),
        levels: vec![1],
        domains: entry.domains.clone(),
        distinguish: Vec::new(),
        sources: entry.sources.iter().map(|s| s.to_source()).collect(),
    }
}

#[test]
fn synthesis_names_contradictions_and_consensus() {
    let engine = engine();
    // Too high and too low a learning rate pull the same knob in opposite directions.
    let opposed = [
        hypothesis(&engine, "FM0002", 0.4),
        hypothesis(&engine, "FM0003", 0.3),
    ];
    let synthesis = fmr_engine::synthesize::synthesize(&opposed, &engine.kb);
    let c = synthesis
        .contradictions
        .iter()
        .find(|c| c.statement.contains("learning rate"));
    assert!(c.is_some_and(|c| c.hypotheses.len() == 2), "{synthesis:#?}");
    // fp16 overflow and a too-high learning rate both lower it: consensus, not contradiction.
    let agreeing = [
        hypothesis(&engine, "FM0001", 0.4),
        hypothesis(&engine, "FM0002", 0.3),
    ];
    let synthesis = fmr_engine::synthesize::synthesize(&agreeing, &engine.kb);
    assert!(
        synthesis
            .contradictions
            .iter()
            .all(|c| !c.statement.contains("learning rate")),
        "{synthesis:#?}"
    );
    assert!(
        synthesis
            .consensus
            .iter()
            .any(|c| c.statement.contains("learning rate")),
        "{synthesis:#?}"
    );
    let findings = fmr_engine::synthesize::findings(
        &fmr_core::Characterization::default(),
        &agreeing,
        &engine.kb,
    );
    assert!(findings.len() >= 2);
    assert!(
        findings
            .iter()
            .all(|f| !f.applicability.is_empty() && !f.source.url.is_empty() && !f.fix.is_empty())
    );
}

#[test]
fn plan_orders_quick_likely_steps_first_and_quotes_user_values() {
    let report = engine().investigate(&Inputs {
        symptom: Some("loss spikes and then diverges to inf".into()),
        env: vec![("learning_rate".into(), "0.001".into())],
        ..Inputs::default()
    });
    let steps = &report.next_steps;
    assert!(!steps.is_empty());
    assert!(
        steps.iter().any(|s| s.action.contains("from 1e-3 to")),
        "{:#?}",
        steps.iter().map(|s| &s.action).collect::<Vec<_>>()
    );
    let priority =
        |s: &fmr_core::Step| s.likelihood / s.effort.cost().sqrt() + 0.35 * s.diagnostic_value;
    for pair in steps.windows(2) {
        assert!(
            priority(&pair[0]) + 1e-9 >= priority(&pair[1]),
            "steps out of order"
        );
    }
    assert!(
        steps
            .iter()
            .all(|s| !s.sources.is_empty() || s.action.starts_with("Check first"))
    );
}

#[test]
fn eval_counts_hits_by_rank() {
    let cases = r#"{"id":"fp16","symptom":"loss becomes NaN after 2k steps with fp16, lr 3e-4","accept":"loss scal|GradScaler|bf16"}
{"id":"nonsense","symptom":"the coffee machine is out of beans","accept":"zzzz-never"}
not json
"#;
    let (parsed, problems) = eval::parse_cases(cases);
    assert_eq!(parsed.len(), 2);
    assert_eq!(problems.len(), 1);
    let summary = eval::evaluate(&engine(), &parsed, problems);
    assert_eq!(summary.cases, 2);
    assert_eq!(summary.top1, 1);
    assert_eq!(summary.results[1].rank, None);
}

#[test]
fn a_practitioner_phrasing_found_in_the_description_raises_its_entry() {
    // A long report full of fine-tuning vocabulary, whose one specific fact is
    // that the loss grows with the accumulation steps (an alias of FM0011).
    let inputs = Inputs {
        symptom: Some(
            "Fine-tuning a chat model with SFTTrainer: the reported loss is about ten times \
             higher once I turn on gradient accumulation, it looks scaled by the number of \
             accumulation steps. Other model families do not show this."
                .into(),
        ),
        env: vec![("gradient_accumulation_steps".into(), "4".into())],
        ..Inputs::default()
    };
    let report = engine().investigate(&inputs);
    let top = &report.hypotheses[0];
    assert_eq!(
        top.id,
        "FM0011",
        "{:?}",
        report.hypotheses.iter().map(|h| &h.id).collect::<Vec<_>>()
    );
    let phrase = top
        .score
        .iter()
        .find(|t| t.factor == "phrase")
        .expect("a phrase term");
    assert!(phrase.value > 0.5, "{phrase:?}");

    // Without the specific words, no phrase term is claimed for it.
    let vague = engine().investigate(&words("fine-tuning a chat model, the loss looks wrong"));
    assert!(
        vague
            .hypotheses
            .iter()
            .filter(|h| h.id == "FM0011")
            .all(|h| h.score.iter().all(|t| t.factor != "phrase"))
    );
}

#[test]
fn a_hyperparameter_far_outside_its_usual_range_supports_the_fix_that_moves_it_back() {
    let at = |lr: &str| {
        engine().investigate(&Inputs {
            symptom: Some("the loss barely moves over 8 epochs".into()),
            env: vec![("learning_rate".into(), lr.into())],
            ..Inputs::default()
        })
    };
    let range_term = |report: &fmr_core::Report, id: &str| {
        report.hypotheses.iter().find(|h| h.id == id).and_then(|h| {
            h.score
                .iter()
                .find(|t| t.factor == "range")
                .map(|t| t.value)
        })
    };
    let low = at("1e-7");
    assert!(
        range_term(&low, "FM0003").is_some_and(|v| v > 2.0),
        "lr 1e-7 supports 'too low'"
    );
    // Lowering the rate further cannot be what fixes a rate already too low.
    assert!(range_term(&low, "FM0002").is_none());
    // A usual value is no evidence either way.
    assert!(range_term(&at("3e-4"), "FM0003").is_none());

    // Weight decay 0.1 is usual for AdamW (decoupled) but far too strong as
    // Adam's coupled L2 term: the range depends on the optimizer.
    let decay = |optimizer: &str| {
        engine().investigate(&Inputs {
            symptom: Some("the weight norm keeps shrinking and the loss stalls".into()),
            env: vec![
                ("weight_decay".into(), "0.1".into()),
                ("optimizer".into(), optimizer.into()),
            ],
            ..Inputs::default()
        })
    };
    assert!(range_term(&decay("adam"), "FM0014").is_some_and(|v| v > 2.0));
    assert!(range_term(&decay("adamw"), "FM0014").is_none());
}

#[test]
fn hyperparameters_written_in_the_code_fill_the_environment_and_steps_point_at_their_line() {
    let scenario = example("bench/scenarios/lr-too-low");
    let report = engine().investigate(&Inputs {
        paths: vec![scenario.join("logs")],
        code: Some(scenario.clone()),
        symptom: Some("the loss barely moves and accuracy stays low".into()),
        ..Inputs::default()
    });
    let env = &report.characterization.environment;
    assert_eq!(
        env.hyperparameters.get("learning_rate"),
        Some(&serde_json::json!(1e-6))
    );
    let at = env
        .hyperparameter_sources
        .get("learning_rate")
        .expect("the learning rate's line in the code");
    assert!(at.starts_with("train.py:"), "{at}");
    assert_eq!(report.hypotheses[0].id, "FM0003");
    let step = report
        .next_steps
        .iter()
        .find(|s| s.action.contains("increase learning rate from 1e-6"))
        .expect("a step raising the user's learning rate");
    assert!(
        step.action.contains(&format!("(set at {at})")),
        "{}",
        step.action
    );
}

#[test]
fn the_cause_closest_to_the_description_leads_the_hypothesis() {
    let report = engine().investigate(&words(
        "training data is not shuffled well: the tf.data shuffle buffer holds 100 records \
         while the TFRecord files are sorted by label, so each batch is one class",
    ));
    let h = report
        .hypotheses
        .iter()
        .find(|h| h.id == "FM0017")
        .expect("the unshuffled-data hypothesis");
    assert!(h.root_cause.contains("buffer"), "{}", h.root_cause);
    // Nothing is lost: the knowledge base's first cause is still listed.
    assert!(h.other_causes.iter().any(|c| c.contains("shuffle=False")));
}
