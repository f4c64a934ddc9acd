//! What the file's imports bind: `jr` → `jax.random`, `DDP` →
//! `torch.nn.parallel.DistributedDataParallel`.

use std::collections::HashMap;

use crate::Context;
use crate::syntax::NodeExt;

/// Local names bound by `import` statements, with the dotted path each stands for (the last
/// import of a name wins).
pub struct Imports {
    bindings: HashMap<String, String>,
}

impl Imports {
    pub fn collect(file: &Context<'_>) -> Self {
        let mut bindings = HashMap::new();
        let statements = file.nodes().filter(|node| {
            matches!(
                node.kind_name(),
                "import_statement" | "import_from_statement"
            )
        });
        for statement in statements {
            match statement.kind_name() {
                "import_statement" => {
                    let mut cursor = statement.walk();
                    for name in statement.children_by_field_name("name", &mut cursor) {
                        match name.kind_name() {
                            "aliased_import" => {
                                if let (Some(path), Some(alias)) =
                                    (name.field("name"), name.field("alias"))
                                {
                                    bindings.insert(
                                        file.node_text(alias).to_owned(),
                                        file.node_text(path).to_owned(),
                                    );
                                }
                            }
                            // `import jax.random` binds `jax`, and `jax.random.x` resolves through it.
                            _ => {
                                let path = file.node_text(name);
                                let root = path.split('.').next().unwrap_or(path);
                                bindings.insert(root.to_owned(), root.to_owned());
                            }
                        }
                    }
                }
                "import_from_statement" => {
                    let Some(module) = statement.field("module_name") else {
                        continue;
                    };
                    let module = file.node_text(module);
                    let mut cursor = statement.walk();
                    for name in statement.children_by_field_name("name", &mut cursor) {
                        let (imported, local) = match name.kind_name() {
                            "aliased_import" => match (name.field("name"), name.field("alias")) {
                                (Some(imported), Some(alias)) => {
                                    (file.node_text(imported), file.node_text(alias))
                                }
                                _ => continue,
                            },
                            _ => (file.node_text(name), file.node_text(name)),
                        };
                        bindings.insert(local.to_owned(), format!("{module}.{imported}"));
                    }
                }
                _ => {}
            }
        }
        Self { bindings }
    }

    /// The full dotted path of `dotted` (`jr.normal` → `jax.random.normal`). A first name that
    /// no import binds keeps its conventional meaning (`jnp`, `F`), since pasted snippets often
    /// leave the imports out; anything else is returned unchanged.
    pub fn resolve(&self, dotted: &str) -> String {
        let (head, rest) = dotted
            .split_once('.')
            .map_or((dotted, None), |(head, rest)| (head, Some(rest)));
        let imported = self.bindings.get(head).map(String::as_str);
        let Some(path) = imported.or_else(|| conventional_module(head)) else {
            return dotted.to_owned();
        };
        match rest {
            Some(rest) => format!("{path}.{rest}"),
            None => path.to_owned(),
        }
    }
}

/// What a module alias means by community convention.
fn conventional_module(alias: &str) -> Option<&'static str> {
    match alias {
        "jnp" => Some("jax.numpy"),
        "jr" | "jrandom" => Some("jax.random"),
        "F" => Some("torch.nn.functional"),
        "nn" => Some("torch.nn"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SourceFile;

    #[test]
    fn resolves_aliases_of_every_import_form() {
        let file = SourceFile::parse(
            "t.py",
            "import jax\nimport jax.random as jr\nfrom jax import random\nfrom jax import numpy as jnp\n\
             from torch.nn.parallel import DistributedDataParallel as DDP\n",
        )
        .expect("parses");
        let imports = Imports::collect(&Context::new(&file));
        assert_eq!(imports.resolve("jr.normal"), "jax.random.normal");
        assert_eq!(imports.resolve("random.split"), "jax.random.split");
        assert_eq!(imports.resolve("jax.random.split"), "jax.random.split");
        assert_eq!(imports.resolve("jnp.linalg.norm"), "jax.numpy.linalg.norm");
        assert_eq!(
            imports.resolve("DDP"),
            "torch.nn.parallel.DistributedDataParallel"
        );
        assert_eq!(imports.resolve("np.sqrt"), "np.sqrt");
        let bare_file = SourceFile::parse("t.py", "x = 1\n").expect("parses");
        let bare = Imports::collect(&Context::new(&bare_file));
        assert_eq!(bare.resolve("jnp.sqrt"), "jax.numpy.sqrt");
        assert_eq!(bare.resolve("random.normal"), "random.normal");
    }
}
