//! Cross-referencing a [`PaperSpec`] with what the code sets: matches, mismatches (with how far
//! off and where), hyperparameters the code never sets, and techniques it lacks.

use std::path::Path;

use fmr_core::InputProblem;
use serde::{Deserialize, Serialize};

use super::collect::{CodeScan, CodeValue, Location, Origin, scan_project};
use super::components::{Evidence, component_info};
use super::names::{Kind, SYNONYMS, param_info};
use super::spec::{PaperParam, PaperSpec};
use super::value::{ParamValue, describe_difference, format_number, text_label, values_agree};

/// A hyperparameter the code sets as the paper does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParamMatch {
    /// Canonical name, e.g. `learning_rate`.
    pub param: String,
    /// The paper's name for it.
    pub paper_name: String,
    pub paper_value: ParamValue,
    pub code_value: ParamValue,
    /// The code's value as written.
    pub code_text: String,
    /// The code's name for it, e.g. `--lr` or `AdamW(lr=)`.
    pub code_name: String,
    pub file: String,
    pub line: usize,
    pub origin: Origin,
    pub note: Option<String>,
    /// Other places that set the same value.
    pub also_at: Vec<Location>,
}

/// A hyperparameter the code sets differently from the paper.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mismatch {
    pub param: String,
    pub paper_name: String,
    pub paper_value: ParamValue,
    /// The paper's value as written.
    pub paper_text: String,
    pub code_value: ParamValue,
    /// The code's value as written.
    pub code_text: String,
    pub code_name: String,
    pub file: String,
    pub line: usize,
    pub origin: Origin,
    /// How far off (`10× higher`), and anything that qualifies it.
    pub note: String,
    /// Other places that set the same (mismatching) value.
    pub also_at: Vec<Location>,
    /// The code line, trimmed.
    pub snippet: String,
}

/// A hyperparameter of the paper that the code never sets (as far as fmr can see).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotFound {
    pub param: String,
    pub paper_name: String,
    pub paper_value: ParamValue,
    pub paper_text: String,
    /// Names looked for in configs and code.
    pub looked_for: Vec<String>,
}

/// A technique of the paper that the code uses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComponentFound {
    /// Component id, e.g. `gradient_clipping`.
    pub component: String,
    pub paper_name: String,
    pub file: String,
    pub line: usize,
    /// What shows it, e.g. `clip_grad_norm_(model.parameters(), 1.0)`.
    pub evidence: String,
    /// How many places show it.
    pub places: usize,
}

/// A technique of the paper that the code lacks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MissingComponent {
    pub component: String,
    pub paper_name: String,
    /// E.g. "the paper uses gradient clipping at 1.0; no clip_grad_norm_/... found".
    pub message: String,
    pub looked_for: String,
    /// Where the code for it would go (the training step, the optimizer, the loss), if seen.
    pub near: Option<Location>,
    /// Settings that switch it off (`dropout: 0.0`).
    pub switched_off: Vec<Location>,
    /// Whether the paper names it or only implies it by a hyperparameter.
    pub implied_by: Option<String>,
}

/// The result of comparing a paper with a project.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Alignment {
    pub title: Option<String>,
    pub source: Option<String>,
    /// The project directory or file, as given.
    pub root: String,
    pub matches: Vec<ParamMatch>,
    pub mismatches: Vec<Mismatch>,
    pub not_found: Vec<NotFound>,
    pub components_found: Vec<ComponentFound>,
    pub missing_components: Vec<MissingComponent>,
    /// Components the paper names that fmr cannot check.
    pub unchecked_components: Vec<String>,
    pub notes: Vec<String>,
    pub problems: Vec<InputProblem>,
    pub files_scanned: usize,
}

/// Compares `spec` with the project at `root` (a directory, or a single file).
///
/// ```no_run
/// use fmr_audit::paper::{PaperSpec, align};
/// let spec = PaperSpec::from_text("| Learning rate | 3e-4 |\n| Batch size | 256 |").unwrap();
/// let alignment = align(&spec, std::path::Path::new("my_project"));
/// print!("{}", alignment.to_text());
/// ```
pub fn align(spec: &PaperSpec, root: &Path) -> Alignment {
    let unknown: Vec<String> = spec
        .hyperparameters
        .iter()
        .filter(|param| param_info(&param.param).is_none())
        .map(|param| param.param.clone())
        .collect();
    let scan = scan_project(root, &unknown);
    align_scan(spec, &scan, &root.display().to_string())
}

/// Compares `spec` with an already collected [`CodeScan`].
pub fn align_scan(spec: &PaperSpec, scan: &CodeScan, root: &str) -> Alignment {
    let mut alignment = Alignment {
        title: spec.title.clone(),
        source: spec.source.clone(),
        root: root.to_owned(),
        problems: scan.problems.clone(),
        files_scanned: scan.files_scanned,
        notes: spec.notes.clone(),
        ..Alignment::default()
    };
    for paper in &spec.hyperparameters {
        compare_param(paper, scan, &mut alignment);
    }
    check_components(spec, scan, &mut alignment);
    if spec.get("tokens_per_batch").is_some() {
        alignment.notes.push(
            "the paper gives the batch size in tokens; code counts sequences, so tokens per batch \
             = batch size × sequence length (× accumulation steps × devices)"
                .to_owned(),
        );
    }
    if scan.files_scanned == 0 {
        alignment
            .notes
            .push(format!("no Python or config files were read under {root}"));
    }
    alignment
}

/// Code values that set the same value, the first (explicit before library defaults) shown.
struct Group<'a> {
    value: ParamValue,
    per_device: bool,
    members: Vec<&'a CodeValue>,
}

impl Group<'_> {
    fn primary(&self) -> &CodeValue {
        self.members
            .iter()
            .find(|member| member.origin != Origin::LibraryDefault)
            .unwrap_or(&self.members[0])
    }

    fn others(&self) -> Vec<Location> {
        let primary = self.primary();
        self.members
            .iter()
            .filter(|member| !std::ptr::eq(**member, primary))
            .map(|member| Location {
                file: member.file.clone(),
                line: member.line,
            })
            .collect()
    }
}

fn groups<'a>(param: &str, values: &[&'a CodeValue]) -> Vec<Group<'a>> {
    let mut groups: Vec<Group<'a>> = Vec::new();
    for value in values {
        match groups.iter_mut().find(|group| {
            group.per_device == value.per_device && values_agree(param, &group.value, &value.value)
        }) {
            Some(group) => group.members.push(value),
            None => groups.push(Group {
                value: value.value.clone(),
                per_device: value.per_device,
                members: vec![value],
            }),
        }
    }
    groups
}

fn compare_param(paper: &PaperParam, scan: &CodeScan, alignment: &mut Alignment) {
    let param = paper.param.as_str();
    let mut values: Vec<&CodeValue> = scan.values_of(param);
    let derived = if values.is_empty() {
        derive_values(paper, scan)
    } else {
        Vec::new()
    };
    values.extend(derived.iter());
    if values.is_empty() {
        alignment.not_found.push(NotFound {
            param: param.to_owned(),
            paper_name: paper.name.clone(),
            paper_value: paper.value.clone(),
            paper_text: paper.text.clone(),
            looked_for: looked_for(param),
        });
        return;
    }
    let groups = groups(param, &values);
    let agreeing: Vec<&Group<'_>> = groups
        .iter()
        .filter(|group| paper_agrees(paper, &group.value))
        .collect();
    for group in &groups {
        let primary = group.primary();
        let agrees = paper_agrees(paper, &group.value);
        let mut notes: Vec<String> = primary.note.iter().cloned().collect();
        if agrees && !values_agree(param, &paper.value, &group.value) {
            notes.push(format!(
                "agrees at the precision the paper writes ({})",
                paper.text
            ));
        }
        let mut matched = agrees;
        let mut compared = group.value.clone();
        if param == "batch_size" && !agrees {
            let effective = effective_batch(group, scan);
            let per_device_total = match &effective {
                Some((effective, explanation)) => {
                    matched = paper_agrees(paper, &ParamValue::Number(*effective));
                    notes.push(explanation.clone());
                    compared = ParamValue::Number(*effective);
                    *effective
                }
                None => group.value.as_number().unwrap_or(0.0),
            };
            let devices_known = first_number(scan, "num_devices").is_some();
            if !matched && group.per_device && !devices_known {
                notes.push(devices_hint(paper, per_device_total));
            }
        }
        if matched {
            alignment.matches.push(ParamMatch {
                param: param.to_owned(),
                paper_name: paper.name.clone(),
                paper_value: paper.value.clone(),
                code_value: group.value.clone(),
                code_text: primary.text.clone(),
                code_name: primary.name.clone(),
                file: primary.file.clone(),
                line: primary.line,
                origin: primary.origin,
                note: (!notes.is_empty()).then(|| notes.join("; ")),
                also_at: group.others(),
            });
            continue;
        }
        notes.insert(0, difference(param, &paper.value, &compared));
        if let Some(agreeing) = agreeing.first() {
            let other = agreeing.primary();
            notes.push(format!(
                "also set to {} at {}:{} ({}), which agrees with the paper; which one applies \
                 depends on how the code is run",
                other.value, other.file, other.line, other.name
            ));
        }
        alignment.mismatches.push(Mismatch {
            param: param.to_owned(),
            paper_name: paper.name.clone(),
            paper_value: paper.value.clone(),
            paper_text: paper.text.clone(),
            code_value: group.value.clone(),
            code_text: primary.text.clone(),
            code_name: primary.name.clone(),
            file: primary.file.clone(),
            line: primary.line,
            origin: primary.origin,
            note: notes.join("; "),
            also_at: group.others(),
            snippet: primary.snippet.clone(),
        });
    }
}

/// Whether a code value agrees with the paper's, within the precision the paper writes
/// (`0.5M` tokens covers 450k to 550k).
fn paper_agrees(paper: &PaperParam, code: &ParamValue) -> bool {
    if values_agree(&paper.param, &paper.value, code) {
        return true;
    }
    match (paper.tolerance, paper.value.as_number(), code.as_number()) {
        (Some(tolerance), Some(paper_value), Some(code_value)) => {
            (paper_value - code_value).abs() <= tolerance
        }
        _ => false,
    }
}

/// How the code's value differs: `10× higher`, `adam instead of adamw`.
fn difference(param: &str, paper: &ParamValue, code: &ParamValue) -> String {
    match (paper, code) {
        (ParamValue::Number(paper), ParamValue::Number(code)) => describe_difference(*paper, *code),
        _ => match (text_label(param, code), text_label(param, paper)) {
            (Some(code_label), Some(paper_label)) => {
                format!("{code_label} instead of {paper_label}")
            }
            _ => format!("{code} instead of {paper}"),
        },
    }
}

/// Names to look for, for a hyperparameter not found.
fn looked_for(param: &str) -> Vec<String> {
    let mut names: Vec<String> = SYNONYMS
        .iter()
        .filter(|synonym| synonym.param == param && !synonym.spelling.contains(' '))
        .map(|synonym| synonym.spelling.to_owned())
        .collect();
    if names.is_empty() {
        names.push(param.to_owned());
    }
    names.dedup();
    names.truncate(8);
    names
}

/// The first value of a hyperparameter, explicit settings before library defaults.
fn first_value<'a>(scan: &'a CodeScan, param: &str) -> Option<&'a CodeValue> {
    let mut values: Vec<&CodeValue> = scan.values_of(param);
    values.sort_by_key(|value| value.origin == Origin::LibraryDefault);
    values.into_iter().next()
}

fn first_number<'a>(scan: &'a CodeScan, param: &str) -> Option<(f64, &'a CodeValue)> {
    let value = first_value(scan, param)?;
    Some((value.value.as_number()?, value))
}

/// A batch size times accumulation steps times devices, when either is visible.
fn effective_batch(group: &Group<'_>, scan: &CodeScan) -> Option<(f64, String)> {
    let batch = group.value.as_number()?;
    let accumulation =
        first_number(scan, "gradient_accumulation_steps").filter(|(steps, _)| *steps > 1.0);
    let devices = first_number(scan, "num_devices").filter(|(devices, _)| *devices > 1.0);
    if accumulation.is_none() && devices.is_none() {
        return None;
    }
    let mut effective = batch;
    let mut parts = vec![format!(
        "{}{}",
        format_number(batch),
        if group.per_device { " per device" } else { "" }
    )];
    if let Some((steps, value)) = accumulation {
        effective *= steps;
        parts.push(format!(
            "{} accumulation steps ({}:{})",
            format_number(steps),
            value.file,
            value.line
        ));
    }
    if let Some((count, value)) = devices {
        effective *= count;
        parts.push(format!(
            "{} devices ({}:{})",
            format_number(count),
            value.file,
            value.line
        ));
    }
    Some((
        effective,
        format!(
            "effective batch size = {} = {}",
            parts.join(" × "),
            format_number(effective)
        ),
    ))
}

/// For a per-device batch size with no device count in the code: how many devices would make
/// it match (`per_device_total` includes gradient accumulation).
fn devices_hint(paper: &PaperParam, per_device_total: f64) -> String {
    let base = "per-device batch size; the number of devices is not visible in the code".to_owned();
    let Some(paper_value) = paper.value.as_number() else {
        return base;
    };
    if per_device_total <= 0.0 {
        return base;
    }
    let ratio = paper_value / per_device_total;
    if ratio >= 2.0 && (ratio - ratio.round()).abs() < 1e-9 {
        format!(
            "{base}; it matches the paper on {} devices",
            format_number(ratio)
        )
    } else {
        base
    }
}

/// The value of `param` set in `file` (explicit before library defaults), else the first set
/// anywhere: a derived value combines settings of one script when it can.
fn pick<'a>(scan: &'a CodeScan, param: &str, file: &str) -> Option<(f64, &'a CodeValue)> {
    let mut values: Vec<&CodeValue> = scan.values_of(param);
    values.sort_by_key(|value| (value.file != file, value.origin == Origin::LibraryDefault));
    let value = values.into_iter().next()?;
    Some((value.value.as_number()?, value))
}

/// Tokens per optimizer step in the script that sets `batch`: batch × sequence length ×
/// accumulation × devices, with where each factor comes from.
fn tokens_per_step(scan: &CodeScan, batch: &CodeValue) -> Option<(f64, String)> {
    let size = batch.value.as_number()?;
    let (length, length_value) = pick(scan, "seq_len", &batch.file)?;
    let accumulation = pick(scan, "gradient_accumulation_steps", &batch.file);
    let devices = pick(scan, "num_devices", &batch.file);
    let mut tokens = size * length;
    let mut parts = vec![
        format!(
            "batch {} ({}:{})",
            format_number(size),
            batch.file,
            batch.line
        ),
        format!(
            "sequence length {} ({}:{})",
            format_number(length),
            length_value.file,
            length_value.line
        ),
    ];
    for (factor, what) in [(accumulation, "accumulation steps"), (devices, "devices")] {
        if let Some((count, value)) = factor.filter(|(count, _)| *count > 1.0) {
            tokens *= count;
            parts.push(format!(
                "{} {what} ({}:{})",
                format_number(count),
                value.file,
                value.line
            ));
        }
    }
    Some((tokens, parts.join(" × ")))
}

/// Values the code implies without setting them directly: a warmup ratio from warmup steps and
/// total steps (or the other way round), tokens per batch from batch size and sequence length,
/// warmup tokens from warmup steps and tokens per batch. One value per script that sets the
/// base setting.
fn derive_values(paper: &PaperParam, scan: &CodeScan) -> Vec<CodeValue> {
    let derived = |value: f64, name: &str, from: &CodeValue, note: String| CodeValue {
        param: paper.param.clone(),
        name: name.to_owned(),
        value: ParamValue::Number(value),
        text: format_number(value),
        file: from.file.clone(),
        line: from.line,
        origin: Origin::Derived,
        per_device: false,
        note: Some(note),
        snippet: from.snippet.clone(),
    };
    let base = match paper.param.as_str() {
        "warmup_ratio" | "warmup_tokens" => "warmup_steps",
        "warmup_steps" => "warmup_ratio",
        "tokens_per_batch" => "batch_size",
        _ => return Vec::new(),
    };
    let mut values = Vec::new();
    for from in scan.values_of(base) {
        let Some(number) = from.value.as_number() else {
            continue;
        };
        let where_ = format!("{}:{}", from.file, from.line);
        let value = match paper.param.as_str() {
            "warmup_ratio" => pick(scan, "max_steps", &from.file)
                .filter(|(total, _)| *total > 0.0)
                .map(|(total, total_value)| {
                    derived(
                        number / total,
                        "warmup_steps / max_steps",
                        from,
                        format!(
                            "computed: warmup {} steps ({where_}) / {} total steps ({}:{})",
                            format_number(number),
                            format_number(total),
                            total_value.file,
                            total_value.line
                        ),
                    )
                }),
            "warmup_steps" => pick(scan, "max_steps", &from.file).map(|(total, total_value)| {
                derived(
                    (number * total).round(),
                    "warmup_ratio × max_steps",
                    from,
                    format!(
                        "computed: warmup ratio {} ({where_}) × {} total steps ({}:{})",
                        format_number(number),
                        format_number(total),
                        total_value.file,
                        total_value.line
                    ),
                )
            }),
            "tokens_per_batch" => tokens_per_step(scan, from).map(|(tokens, parts)| {
                derived(
                    tokens,
                    "batch_size × seq_len",
                    from,
                    format!("computed: {parts}; assumes every sequence is full length"),
                )
            }),
            "warmup_tokens" => {
                let batch = scan
                    .values_of("batch_size")
                    .into_iter()
                    .find(|batch| batch.file == from.file)
                    .or_else(|| scan.values_of("batch_size").into_iter().next());
                batch.and_then(|batch| tokens_per_step(scan, batch)).map(|(tokens, parts)| {
                    derived(
                        number * tokens,
                        "warmup_steps × tokens per step",
                        from,
                        format!(
                            "computed: warmup {} steps ({where_}) × {} tokens per step ({parts})",
                            format_number(number),
                            format_number(tokens)
                        ),
                    )
                })
            }
            _ => None,
        };
        values.extend(value);
    }
    values
}

/// A component the alignment checks: named by the paper, or implied by a hyperparameter.
struct Wanted {
    id: String,
    paper_name: String,
    detail: Option<String>,
    implied_by: Option<String>,
}

/// Components implied by the paper's hyperparameters: clipping at 1.0 means clipping.
fn implied_components(spec: &PaperSpec) -> Vec<Wanted> {
    let mut wanted = Vec::new();
    for param in &spec.hyperparameters {
        let positive = param.value.as_number().is_some_and(|number| number > 0.0);
        let id = match param.param.as_str() {
            "max_grad_norm" if positive => "gradient_clipping",
            "label_smoothing" if positive => "label_smoothing",
            "ema_decay" if positive => "ema",
            "warmup_steps" | "warmup_ratio" | "warmup_epochs" | "warmup_tokens" if positive => {
                "warmup"
            }
            "gradient_accumulation_steps"
                if param.value.as_number().is_some_and(|steps| steps > 1.0) =>
            {
                "gradient_accumulation"
            }
            "precision"
                if matches!(
                    text_label("precision", &param.value),
                    Some("fp16" | "bf16" | "mixed")
                ) =>
            {
                "mixed_precision"
            }
            "lr_scheduler" => match text_label("lr_scheduler", &param.value) {
                Some("cosine") => "cosine_schedule",
                Some("linear") => "linear_schedule",
                Some("step") => "step_schedule",
                _ => continue,
            },
            _ => continue,
        };
        wanted.push(Wanted {
            id: id.to_owned(),
            paper_name: param.name.clone(),
            detail: None,
            implied_by: Some(param.param.clone()),
        });
    }
    wanted
}

fn check_components(spec: &PaperSpec, scan: &CodeScan, alignment: &mut Alignment) {
    let mut wanted: Vec<Wanted> = Vec::new();
    for component in &spec.components {
        match &component.component {
            Some(id) => wanted.push(Wanted {
                id: id.clone(),
                paper_name: component.name.clone(),
                detail: component.detail.clone(),
                implied_by: None,
            }),
            None => alignment.unchecked_components.push(component.name.clone()),
        }
    }
    wanted.extend(implied_components(spec));
    let mut seen: Vec<String> = Vec::new();
    for request in wanted {
        if seen.contains(&request.id) {
            continue;
        }
        seen.push(request.id.clone());
        let Some(info) = component_info(&request.id) else {
            continue;
        };
        let evidence: Vec<&Evidence> = scan
            .evidence
            .iter()
            .filter(|evidence| evidence.component == request.id)
            .collect();
        let active: Vec<&&Evidence> = evidence.iter().filter(|evidence| evidence.active).collect();
        if let Some(first) = active.first() {
            // A schedule, optimizer or precision shown by the code needs no "not found".
            if let Some(param) = info.param
                && param_info(param).is_some_and(|param| param.kind == Kind::Text)
            {
                alignment
                    .not_found
                    .retain(|not_found| not_found.param != param);
            }
            alignment.components_found.push(ComponentFound {
                component: request.id.clone(),
                paper_name: request.paper_name.clone(),
                file: first.file.clone(),
                line: first.line,
                evidence: first.what.clone(),
                places: active.len(),
            });
            continue;
        }
        // The paper's setting, for "at 1.0".
        let setting = info
            .param
            .and_then(|param| spec.get(param))
            .filter(|param| !matches!(param.value, ParamValue::Text(_)))
            .map(|param| param.text.clone())
            .or(request.detail.clone());
        let at = setting.map_or(String::new(), |setting| format!(" at {setting}"));
        let mut message = format!(
            "the paper uses {}{at}; no {} found",
            info.label, info.looked_for
        );
        let switched_off: Vec<Location> = evidence
            .iter()
            .map(|evidence| Location {
                file: evidence.file.clone(),
                line: evidence.line,
            })
            .collect();
        if let Some(off) = evidence.first() {
            message.push_str(&format!(
                "; `{}` at {}:{} switches it off",
                off.what, off.file, off.line
            ));
        }
        let opposite = match request.id.as_str() {
            "pre_layernorm" => Some("post_layernorm"),
            "post_layernorm" => Some("pre_layernorm"),
            _ => None,
        };
        if let Some(opposite) = opposite
            && let Some(other) = scan
                .evidence
                .iter()
                .find(|evidence| evidence.component == opposite && evidence.active)
        {
            message.push_str(&format!(
                "; the code has the other arrangement: `{}` at {}:{}",
                other.what, other.file, other.line
            ));
        }
        // The missing component says more than "not found" for the hyperparameter that sets it.
        if let Some(param) = info.param {
            alignment
                .not_found
                .retain(|not_found| not_found.param != param);
        }
        alignment.missing_components.push(MissingComponent {
            component: request.id.clone(),
            paper_name: request.paper_name.clone(),
            message,
            looked_for: info.looked_for.to_owned(),
            near: info.anchor.and_then(|anchor| scan.anchor(anchor)).cloned(),
            switched_off,
            implied_by: request.implied_by.clone(),
        });
    }
}
