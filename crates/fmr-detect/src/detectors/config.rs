//! Numbers from a run's configuration that detectors compare curves with (a codebook size, a
//! class count).

use fmr_core::Run;

/// The first positive integer in `run.config` under one of `keys` (compared with the last part
/// of a dotted or slashed key, case-insensitively: `model.codebook_size` matches
/// `codebook_size`), with the key as the config wrote it. Integers written as strings or as
/// whole floats count too.
pub fn config_count<'r>(run: &'r Run, keys: &[&str]) -> Option<(&'r str, u64)> {
    run.config.iter().find_map(|(key, value)| {
        let last = key.rsplit(['.', '/']).next().unwrap_or(key);
        if !keys.iter().any(|k| k.eq_ignore_ascii_case(last)) {
            return None;
        }
        let count = value
            .as_u64()
            .or_else(|| {
                value
                    .as_f64()
                    .filter(|f| f.fract() == 0.0 && *f > 0.0 && *f < 1e15)
                    .map(|f| f as u64)
            })
            .or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()))?;
        (count > 0).then_some((key.as_str(), count))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn counts_are_found_under_nested_keys_and_in_any_spelling() {
        let mut run = Run::default();
        run.config.insert("model.Codebook_Size".into(), json!(512));
        run.config.insert("data.n_clusters".into(), json!("64"));
        run.config.insert("lr".into(), json!(0.1));
        assert_eq!(
            config_count(&run, &["codebook_size"]),
            Some(("model.Codebook_Size", 512))
        );
        assert_eq!(config_count(&run, &["n_clusters"]).map(|c| c.1), Some(64));
        assert_eq!(config_count(&run, &["lr"]), None);
        assert_eq!(config_count(&run, &["num_classes"]), None);
    }

    #[test]
    fn whole_floats_count_and_zero_does_not() {
        let mut run = Run::default();
        run.config.insert("num_embeddings".into(), json!(1024.0));
        assert_eq!(
            config_count(&run, &["num_embeddings"]).map(|c| c.1),
            Some(1024)
        );
        run.config.insert("num_embeddings".into(), json!(0));
        assert_eq!(config_count(&run, &["num_embeddings"]), None);
    }
}
