//! Stage 2: the five fields a researcher asks for first — symptom, expected
//! behaviour, onset, what was tried, environment — and the gaps still open.

use std::collections::BTreeMap;

use fmr_core::{
    Characterization, Environment, Gap, Onset, Origin, Run, Symptom, SymptomKind, TextEventKind,
    Tried,
};

use fmr_audit::ProjectStudy;

use crate::Inputs;
use crate::text;

/// Builds the characterization from the runs read, the symptoms detected in
/// them and the user's own words. Code named by `inputs.code` is studied here,
/// without the audit rules, whose findings the characterization does not use;
/// [`characterize_studied`] takes a study already made.
pub fn characterize(inputs: &Inputs, runs: &[Run], detected: Vec<Symptom>) -> Characterization {
    let study = inputs
        .code
        .as_deref()
        .map(|code| fmr_audit::study_project(code, &[]));
    characterize_studied(inputs, runs, detected, study.as_ref())
}

/// [`characterize`] with the code of `inputs.code` already studied, so that an
/// investigation reads and parses it once for the environment, the audit and
/// the code index.
pub fn characterize_studied(
    inputs: &Inputs,
    runs: &[Run],
    detected: Vec<Symptom>,
    code: Option<&ProjectStudy>,
) -> Characterization {
    let described = inputs
        .symptom
        .as_deref()
        .map(|w| text::symptoms_from_text(w, "symptom description"))
        .unwrap_or_default();
    let conflicts = fmr_detect::conflicts_with_runs(&described, &detected, runs);
    let mut symptoms = detected;
    symptoms.extend(event_symptoms(runs));
    {
        for s in described {
            // A detector's measured symptom beats the same kind said in words.
            if !symptoms
                .iter()
                .any(|d| d.kind == s.kind && d.origin == Origin::Detector)
            {
                symptoms.push(s);
            }
        }
    }

    let environment = environment(inputs, runs, code);
    let onset = onset(inputs, &symptoms);
    let tried = inputs
        .tried
        .iter()
        .map(|t| Tried {
            text: t.clone(),
            outcome: text::tried_outcome(t),
        })
        .chain(inputs.attempts.iter().cloned())
        .collect();
    let mut c = Characterization {
        symptoms,
        expected: inputs.expected.clone(),
        onset,
        changes: inputs.changes.clone(),
        tried,
        environment,
        gaps: Vec::new(),
        conflicts,
    };
    c.gaps = gaps(&c, runs);
    c
}

/// Errors in text logs are symptoms too: OOM, NCCL timeouts, NaN checks.
fn event_symptoms(runs: &[Run]) -> Vec<Symptom> {
    let mut out = Vec::new();
    for run in runs {
        let mut seen = Vec::new();
        for event in &run.events {
            let (code, kind) = match event.kind {
                TextEventKind::OutOfMemory => ("E001", SymptomKind::OutOfMemory),
                TextEventKind::NonFinite => ("E002", SymptomKind::NonFinite),
                TextEventKind::Distributed => ("E003", SymptomKind::Hang),
                _ => continue,
            };
            if seen.contains(&kind) {
                continue;
            }
            seen.push(kind);
            out.push(Symptom {
                code: code.to_string(),
                kind,
                run: Some(run.name.clone()),
                metric: None,
                role: None,
                window: None,
                numbers: BTreeMap::from([("line".to_string(), event.line as f64)]),
                statement: format!(
                    "{}:{}: {}",
                    event.file,
                    event.line,
                    truncate(&event.text, 160)
                ),
                origin: Origin::LogEvent,
                confidence: 0.9,
            });
        }
    }
    out
}

fn truncate(text: &str, max: usize) -> String {
    let trimmed = text.trim();
    match trimmed.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &trimmed[..i]),
        None => trimmed.to_string(),
    }
}

/// The earliest measured onset; the user's "after 2k steps" when nothing was measured.
fn onset(inputs: &Inputs, symptoms: &[Symptom]) -> Option<Onset> {
    let measured = symptoms
        .iter()
        .filter(|s| s.origin == Origin::Detector)
        .filter_map(|s| s.window.map(|w| (w.start, s)))
        .min_by_key(|(start, s)| (*start, s.code.clone()));
    if let Some((step, s)) = measured {
        return Some(Onset {
            step,
            metric: s.metric.clone(),
            statement: s.statement.clone(),
        });
    }
    let words = inputs.symptom.as_deref()?;
    let step = text::onset_step(words)?;
    Some(Onset {
        step,
        metric: None,
        statement: format!("the symptom description places the onset near step {step}"),
    })
}

/// Framework, precision, model, scale and hyperparameters, from config files,
/// `--env KEY=VALUE` and the user's words, in that order of trust (later wins).
fn environment(inputs: &Inputs, runs: &[Run], code: Option<&ProjectStudy>) -> Environment {
    let mut env = Environment::default();
    for run in runs {
        for (key, value) in &run.config {
            absorb(&mut env, key, value);
        }
    }
    let words = [inputs.symptom.as_deref(), inputs.expected.as_deref()]
        .into_iter()
        .flatten()
        .chain(inputs.tried.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join(". ");
    if let Some(symptom) = inputs.symptom.as_deref() {
        for (k, v) in text::hyperparameters_from_text(symptom) {
            env.hyperparameters.entry(k).or_insert(v);
        }
    }
    if env.framework.is_none() {
        env.framework = text::framework_from_text(&words).map(String::from);
    }
    if env.model.is_none() {
        env.model = text::model_from_text(&words).map(String::from);
    }
    if env.precision.is_none() {
        env.precision = text::precision_from_text(&words).map(String::from);
    }
    if env.distributed.is_none() {
        env.distributed = text::distributed_from_text(&words);
    }
    if env.framework.is_none() {
        let mut imported: Vec<&str> = code
            .map(|study| crate::code_context::frameworks_of_modules(&study.imported_modules))
            .unwrap_or_default();
        for (_, text) in &inputs.code_snippets {
            imported.extend(crate::code_context::frameworks_in_source(text));
        }
        // The most specific framework names the stack (transformers over pytorch).
        env.framework = imported.first().map(|f| f.to_string());
    }
    for (key, value) in &inputs.env {
        absorb(&mut env, key, &parse_value(value));
    }
    if let Some(study) = code {
        absorb_code_values(&mut env, &study.scan);
    }
    if !env.hyperparameters.contains_key("learning_rate")
        && let Some(peak) = logged_peak_learning_rate(runs)
    {
        env.hyperparameters
            .insert("learning_rate".to_string(), peak.into());
    }
    env
}

/// Hyperparameters written in the code and its config files (argparse defaults,
/// constants, optimizer arguments, YAML keys), found by the paper-alignment
/// scanner. They are defaults a launch command may override, so they only fill
/// names that logs, flags and words left open, and only when the code agrees with
/// itself (one distinct value). The optimizer's class is kept as `optimizer`.
fn absorb_code_values(env: &mut Environment, scan: &fmr_audit::paper::CodeScan) {
    let mut by_param: BTreeMap<String, Vec<&fmr_audit::paper::CodeValue>> = BTreeMap::new();
    for value in &scan.values {
        let canonical = canonical_hyperparameter(&value.param).unwrap_or(value.param.as_str());
        by_param
            .entry(canonical.to_string())
            .or_default()
            .push(value);
    }
    for (param, values) in by_param {
        if env.hyperparameters.contains_key(&param) {
            continue;
        }
        let json: Vec<serde_json::Value> = values
            .iter()
            .filter_map(|v| match &v.value {
                fmr_audit::paper::ParamValue::Number(n) => {
                    serde_json::Number::from_f64(*n).map(serde_json::Value::Number)
                }
                fmr_audit::paper::ParamValue::Bool(b) => Some((*b).into()),
                fmr_audit::paper::ParamValue::Text(t) if param == "optimizer" => {
                    Some(t.to_lowercase().into())
                }
                _ => None,
            })
            .collect();
        let Some(first) = json.first() else {
            continue;
        };
        if json.iter().any(|v| v != first) {
            continue;
        }
        env.hyperparameters.insert(param.clone(), first.clone());
        let at = values[0];
        env.hyperparameter_sources
            .insert(param, format!("{}:{}", at.file, at.line));
    }
}

/// The largest finite, positive learning rate the runs logged: the configured
/// (peak) rate when no config or flag says it. Schedules only lower it from
/// there, apart from warmup, which rises to it.
fn logged_peak_learning_rate(runs: &[Run]) -> Option<f64> {
    runs.iter()
        .flat_map(|r| &r.series)
        .filter(|s| fmr_detect::role_of(&s.tag) == Some(fmr_core::MetricRole::LearningRate))
        .flat_map(|s| s.values())
        .filter(|v| v.is_finite() && *v > 0.0)
        .reduce(f64::max)
}

fn parse_value(text: &str) -> serde_json::Value {
    if let Ok(v) = text.parse::<i64>() {
        return v.into();
    }
    if let Ok(v) = text.parse::<f64>() {
        return v.into();
    }
    match text.to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" => true.into(),
        "false" | "no" | "off" => false.into(),
        _ => text.into(),
    }
}

/// Maps a config key (flattened, any framework's spelling) onto the environment.
fn absorb(env: &mut Environment, key: &str, value: &serde_json::Value) {
    let leaf = key
        .rsplit(['/', '.'])
        .next()
        .unwrap_or(key)
        .to_ascii_lowercase()
        .replace('-', "_");
    let as_text = || match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let truthy = matches!(value, serde_json::Value::Bool(true))
        || matches!(value.as_str(), Some("true" | "True" | "1"));
    match leaf.as_str() {
        "framework" => env.framework = Some(as_text().to_lowercase()),
        "hardware" | "gpu" | "device" | "accelerator" => env.hardware = Some(as_text()),
        "model" | "model_name" | "model_type" | "model_name_or_path" | "architecture"
        | "policy" => env.model = Some(as_text()),
        "model_size" | "parameters" | "num_parameters" => env.model_size = Some(as_text()),
        "dataset_size" | "num_examples" | "train_size" | "num_train_examples" => {
            env.dataset_size = Some(as_text())
        }
        "distributed" | "strategy" | "world_size" | "num_gpus" | "num_processes" => {
            env.distributed = Some(as_text())
        }
        "precision" | "dtype" | "mixed_precision" => {
            let p = as_text().to_lowercase();
            env.precision = Some(match p.as_str() {
                "16" | "16-mixed" | "fp16" | "float16" | "half" => "mixed_fp16".to_string(),
                "bf16" | "bf16-mixed" | "bfloat16" => "bf16".to_string(),
                "32" | "32-true" | "fp32" | "float32" | "no" => "fp32".to_string(),
                _ => p,
            })
        }
        "fp16" | "use_fp16" | "half_precision" if truthy => {
            env.precision = Some("mixed_fp16".to_string())
        }
        "bf16" | "use_bf16" if truthy => env.precision = Some("bf16".to_string()),
        // The optimizer's class, lower case (`adam`, `adamw_torch`): some usual
        // hyperparameter ranges depend on it.
        "optimizer" | "optim" | "optimizer_name" | "optimizer_type" if value.is_string() => {
            env.hyperparameters
                .insert("optimizer".to_string(), as_text().to_lowercase().into());
        }
        _ => {
            if let Some(canonical) = canonical_hyperparameter(&leaf) {
                env.hyperparameters
                    .insert(canonical.to_string(), value.clone());
            } else if key.starts_with("version") || leaf.ends_with("_version") {
                env.versions
                    .insert(leaf.trim_end_matches("_version").to_string(), as_text());
            } else if leaf.len() <= 40 && (value.is_number() || value.is_boolean()) {
                env.hyperparameters
                    .entry(leaf)
                    .or_insert_with(|| value.clone());
            }
        }
    }
}

/// The canonical name (kb/README.md) of a framework's hyperparameter key.
pub fn canonical_hyperparameter(key: &str) -> Option<&'static str> {
    Some(match key {
        "lr" | "learning_rate" | "learningrate" | "base_lr" | "max_lr" | "peak_lr" => {
            "learning_rate"
        }
        "batch_size"
        | "per_device_train_batch_size"
        | "train_batch_size"
        | "batchsize"
        | "bs"
        | "micro_batch_size" => "batch_size",
        "warmup_steps" | "warmup" | "num_warmup_steps" | "warmup_iters" => "warmup_steps",
        "max_grad_norm" | "grad_clip" | "gradient_clip_val" | "clip_grad_norm"
        | "grad_norm_clip" | "clip_norm" => "grad_clip",
        "weight_decay" | "wd" => "weight_decay",
        "adam_epsilon" | "adam_eps" | "eps" | "epsilon" => "adam_eps",
        "adam_beta1" | "beta1" => "adam_beta1",
        "adam_beta2" | "beta2" => "adam_beta2",
        "ent_coef" | "entropy_coef" | "entropy_coeff" => "ent_coef",
        "vf_coef" | "value_coef" | "vf_loss_coeff" => "vf_coef",
        "kl_coef" | "init_kl_coef" | "kl_coeff" | "beta" => "kl_coef",
        "clip_range" | "clip_param" | "cliprange" => "clip_range",
        "gamma" | "discount" => "gamma",
        "gae_lambda" | "lambda_" | "lam" => "gae_lambda",
        "gradient_accumulation_steps"
        | "accumulate_grad_batches"
        | "grad_accum_steps"
        | "accum_steps" => "gradient_accumulation_steps",
        "dropout" | "dropout_rate" | "hidden_dropout_prob" => "dropout",
        "label_smoothing" | "label_smoothing_factor" => "label_smoothing",
        "max_steps" | "num_train_steps" | "total_steps" | "max_train_steps" => "max_steps",
        "epochs" | "num_train_epochs" | "max_epochs" | "n_epochs" => "epochs",
        "shuffle" => "shuffle",
        "num_workers" | "dataloader_num_workers" => "num_workers",
        "commitment_cost" | "beta_commit" => "commitment_cost",
        "kl_weight" => "kl_weight",
        "temperature" => "temperature",
        "momentum" => "momentum",
        "seed" => "seed",
        _ => return None,
    })
}

/// What is still unknown, and the question that would settle it.
fn gaps(c: &Characterization, runs: &[Run]) -> Vec<Gap> {
    let mut gaps = Vec::new();
    let mut ask = |field: &str, question: &str| {
        gaps.push(Gap {
            field: field.into(),
            question: question.into(),
        })
    };
    if runs.iter().all(|r| r.series.is_empty()) {
        ask(
            "symptom",
            "Can you share the metric logs (CSV, JSON lines, trainer_state.json, TensorBoard)? Measured curves give onset steps and numbers that words cannot.",
        );
    }
    if c.symptoms.is_empty() {
        ask(
            "symptom",
            "What exactly goes wrong, in numbers (which metric, from which step, from what value to what)?",
        );
    }
    if c.expected.is_none() {
        ask(
            "expected",
            "What did you expect instead (e.g. a reference run, the paper's curve, the loss you reached before)?",
        );
    }
    if c.onset.is_none() {
        ask(
            "onset",
            "When did it start: from step 0, after a number of steps, or after a change (commit, config, data, library upgrade)?",
        );
    }
    if c.changes.is_empty() {
        ask(
            "changes",
            "Was there a last good run? What changed since (code, config, data, versions, hardware)?",
        );
    }
    if c.tried.is_empty() {
        ask(
            "tried",
            "What have you tried already, and what did each attempt change?",
        );
    }
    let env = &c.environment;
    if env.framework.is_none() {
        ask(
            "environment.framework",
            "Which framework and version (PyTorch, JAX, TensorFlow/Keras, HF Trainer, Lightning, DeepSpeed, SB3, RLlib)?",
        );
    }
    if env.precision.is_none() {
        ask(
            "environment.precision",
            "Which numeric precision: fp32, fp16 with AMP and a GradScaler, bf16, or a model cast with .half()?",
        );
    }
    if !env.hyperparameters.contains_key("learning_rate") {
        ask(
            "environment.hyperparameters.learning_rate",
            "What learning rate and schedule (warmup, decay) are in use? Pass --env learning_rate=…",
        );
    }
    if !env.hyperparameters.contains_key("batch_size") {
        ask(
            "environment.hyperparameters.batch_size",
            "What batch size (per device and global)? Pass --env batch_size=…",
        );
    }
    if env.model.is_none() {
        ask("environment.model", "Which model architecture and size?");
    }
    gaps
}
