//! What the user's code says about the environment: the frameworks it imports.
//! A cheap, bounded scan of import lines, so a run with `--code` does not ask
//! "which framework?" when the code already says.

use std::path::Path;

/// (import prefix, framework name), most specific first.
const FRAMEWORK_IMPORTS: &[(&str, &str)] = &[
    ("deepspeed", "deepspeed"),
    ("lightning", "lightning"),
    ("pytorch_lightning", "lightning"),
    ("trl", "trl"),
    ("diffusers", "diffusers"),
    ("transformers", "transformers"),
    ("accelerate", "accelerate"),
    ("stable_baselines3", "stable-baselines3"),
    ("ray.rllib", "rllib"),
    ("flax", "jax"),
    ("optax", "jax"),
    ("jax", "jax"),
    ("keras", "keras"),
    ("tensorflow", "tensorflow"),
    ("torch", "pytorch"),
];

/// Files and bytes read at most, so a huge tree costs little.
const MAX_FILES: usize = 400;
const MAX_BYTES_PER_FILE: usize = 64 * 1024;

/// Frameworks imported by Python files under `path` (a file or a directory),
/// most specific first, without duplicates.
pub fn frameworks_in_code(path: &Path) -> Vec<&'static str> {
    let mut files = Vec::new();
    collect_python(path, &mut files, 0);
    let mut found: Vec<&'static str> = Vec::new();
    for file in files {
        let Ok(bytes) = std::fs::read(&file) else {
            continue;
        };
        let text =
            String::from_utf8_lossy(&bytes[..bytes.len().min(MAX_BYTES_PER_FILE)]).into_owned();
        found.extend(frameworks_in_source(&text));
    }
    FRAMEWORK_IMPORTS
        .iter()
        .map(|(_, f)| *f)
        .filter(|f| found.contains(f))
        .fold(Vec::new(), |mut acc, f| {
            if !acc.contains(&f) {
                acc.push(f);
            }
            acc
        })
}

/// Frameworks named by the import lines of one source text.
pub fn frameworks_in_source(text: &str) -> Vec<&'static str> {
    let mut out = Vec::new();
    for line in text.lines().map(str::trim_start) {
        let module = if let Some(rest) = line.strip_prefix("import ") {
            rest
        } else if let Some(rest) = line.strip_prefix("from ") {
            rest
        } else {
            continue;
        };
        let module = module.split([' ', ',']).next().unwrap_or_default();
        for (prefix, name) in FRAMEWORK_IMPORTS {
            let rest = module.strip_prefix(prefix);
            if rest.is_some_and(|r| r.is_empty() || r.starts_with('.')) && !out.contains(name) {
                out.push(*name);
            }
        }
    }
    // Most specific first, in the table's order.
    out.sort_by_key(|name| FRAMEWORK_IMPORTS.iter().position(|(_, f)| f == name));
    out
}

fn collect_python(path: &Path, out: &mut Vec<std::path::PathBuf>, depth: usize) {
    if out.len() >= MAX_FILES || depth > 12 {
        return;
    }
    if path.is_file() {
        if path.extension().is_some_and(|e| e == "py") {
            out.push(path.to_path_buf());
        }
        return;
    }
    let Ok(entries) = std::fs::read_dir(path) else {
        return;
    };
    let mut children: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    children.sort();
    for child in children {
        let name = child
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if name.starts_with('.')
            || matches!(
                name,
                "__pycache__" | "node_modules" | "venv" | "site-packages"
            )
        {
            continue;
        }
        collect_python(&child, out, depth + 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_frameworks_from_imports() {
        let src = "import torch\nfrom transformers import AutoModel\nimport numpy as np\nfrom jaxtyping import Array\n";
        assert_eq!(frameworks_in_source(src), vec!["transformers", "pytorch"]);
        assert_eq!(
            frameworks_in_source("from ray.rllib.algorithms import ppo"),
            vec!["rllib"]
        );
        assert!(frameworks_in_source("import torchvision_like_name").is_empty());
    }
}
