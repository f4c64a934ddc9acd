//! What the user's code says about the environment: the frameworks it imports.
//! Read from the import statements, so a run with `--code` does not ask
//! "which framework?" when the code already says.

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

/// Frameworks named by the modules a project imports (as
/// [`fmr_audit::ProjectStudy::imported_modules`] lists them), most specific first.
pub fn frameworks_of_modules<'a>(
    modules: impl IntoIterator<Item = &'a String>,
) -> Vec<&'static str> {
    let mut out = Vec::new();
    for module in modules {
        push_frameworks(module, &mut out);
    }
    most_specific_first(out)
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
        push_frameworks(module, &mut out);
    }
    most_specific_first(out)
}

/// Adds the frameworks a dotted module belongs to (`ray.rllib.algorithms` is RLlib;
/// `torchvision_like` is nothing).
fn push_frameworks(module: &str, out: &mut Vec<&'static str>) {
    for (prefix, name) in FRAMEWORK_IMPORTS {
        let rest = module.strip_prefix(prefix);
        if rest.is_some_and(|r| r.is_empty() || r.starts_with('.')) && !out.contains(name) {
            out.push(*name);
        }
    }
}

/// In the table's order, which puts the most specific first.
fn most_specific_first(mut frameworks: Vec<&'static str>) -> Vec<&'static str> {
    frameworks.sort_by_key(|name| FRAMEWORK_IMPORTS.iter().position(|(_, f)| f == name));
    frameworks
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

    #[test]
    fn names_a_projects_frameworks_from_its_imported_modules() {
        let modules: Vec<String> = ["numpy", "pytorch_lightning.callbacks", "torch.nn"]
            .map(String::from)
            .into();
        assert_eq!(
            frameworks_of_modules(&modules),
            vec!["lightning", "pytorch"]
        );
        assert!(frameworks_of_modules(&["jaxtyping".to_string()]).is_empty());
    }
}
