//! The published JSON Schema (schema/report.schema.json) must match the types.
//! Regenerate with `FMR_UPDATE_SCHEMA=1 cargo test -p fmr-report --test schema`.

use std::path::PathBuf;

#[test]
fn published_schema_matches_the_report_type() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schema/report.schema.json");
    let generated = format!(
        "{}\n",
        serde_json::to_string_pretty(&fmr_report::json_schema()).unwrap()
    );
    if std::env::var_os("FMR_UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let published = std::fs::read_to_string(&path).expect("schema/report.schema.json exists");
    assert_eq!(
        published, generated,
        "schema/report.schema.json is stale: regenerate it (see this file's header)"
    );
}

#[test]
fn schema_names_the_contract_fields() {
    let schema = fmr_report::json_schema();
    let required: Vec<&str> = schema["required"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    for field in [
        "schema_version",
        "characterization",
        "queries",
        "hypotheses",
        "delegations",
        "findings",
        "synthesis",
        "next_steps",
    ] {
        assert!(
            required.contains(&field),
            "{field} missing from the schema's required fields"
        );
    }
    assert_eq!(schema["x-schema-version"], fmr_core::REPORT_SCHEMA_VERSION);
}
