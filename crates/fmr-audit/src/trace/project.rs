//! The project as the tracer sees it: every parsed file with its module name and imports, and
//! the answers inter-procedural tracing needs: which definition a call runs (across files,
//! through imports, `self.method`, instances of project classes), and where a function is
//! called.

use std::collections::HashMap;

use tree_sitter::Node;

use super::scope::name_text;
use crate::syntax::{Call, NodeExt, unparenthesized};
use crate::{Context, SourceFile};

/// How deep imports and base classes are followed (re-exports through `__init__.py`, base
/// classes of base classes).
const RESOLVE_DEPTH: usize = 4;

/// What an imported local name stands for.
#[derive(Debug, Clone)]
pub(crate) struct Imported {
    /// The absolute module path (relative imports resolved against the importing file).
    pub module: String,
    /// The imported name for `from module import name`; `None` for `import module as m`.
    pub name: Option<String>,
}

/// One parsed file of the project.
pub(crate) struct ProjectFile<'s> {
    pub context: Context<'s>,
    /// `pkg.data` for `pkg/data.py`, `pkg` for `pkg/__init__.py`.
    pub module: String,
    imports: HashMap<String, Imported>,
}

impl ProjectFile<'_> {
    /// The names a definition called `name` may be called by in this file: its own, and the
    /// aliases of `from module import name as alias`.
    fn local_names<'n>(&'n self, name: &'n str) -> Vec<&'n str> {
        let mut names = vec![name];
        names.extend(
            self.imports
                .iter()
                .filter(|(local, imported)| {
                    local.as_str() != name && imported.name.as_deref() == Some(name)
                })
                .map(|(local, _)| local.as_str()),
        );
        names
    }
}

/// A function or class defined in the project.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Definition<'s> {
    pub file: usize,
    pub node: Node<'s>,
}

impl Definition<'_> {
    pub(crate) fn same(&self, other: &Definition<'_>) -> bool {
        self.file == other.file && self.node.id() == other.node.id()
    }

    pub(crate) fn is_class(&self) -> bool {
        self.node.kind_name() == "class_definition"
    }
}

/// A call of a project definition, and how its arguments line up with the parameters.
#[derive(Clone, Copy)]
pub(crate) struct CallSite<'s> {
    pub file: usize,
    pub call: Call<'s>,
    /// Parameters not passed by position: 1 for a method called on an instance or a class
    /// constructed (`self`), else 0.
    pub skipped: usize,
}

pub(crate) struct Project<'s> {
    pub files: Vec<ProjectFile<'s>>,
}

impl<'s> Project<'s> {
    pub(crate) fn new(sources: &'s [SourceFile]) -> Self {
        let files = sources
            .iter()
            .map(|source| {
                let context = Context::new(source);
                let (module, is_package) = module_name(source.display_path());
                let imports = collect_imports(&context, &module, is_package);
                ProjectFile {
                    context,
                    module,
                    imports,
                }
            })
            .collect();
        Self { files }
    }

    pub(crate) fn context(&self, file: usize) -> &Context<'s> {
        &self.files[file].context
    }

    pub(crate) fn display(&self, file: usize) -> &str {
        self.files[file].context.display_path()
    }

    /// What `local` stands for in `file`, if an import binds it.
    pub(crate) fn import_of(&self, file: usize, local: &str) -> Option<&Imported> {
        self.files[file].imports.get(local)
    }

    /// The file of module `module`: an exact match, or one whose path ends with it (the project
    /// root above the package), or whose module the import ends with (the root inside it).
    pub(crate) fn module_file(&self, module: &str) -> Option<usize> {
        let exact = self.files.iter().position(|file| file.module == module);
        exact
            .or_else(|| {
                let suffix = format!(".{module}");
                self.files
                    .iter()
                    .position(|file| file.module.ends_with(&suffix))
            })
            .or_else(|| {
                self.files.iter().position(|file| {
                    !file.module.is_empty() && module.ends_with(&format!(".{}", file.module))
                })
            })
    }

    /// The file an imported name comes from, with the name there: `from data import load`
    /// gives `(data.py, "load")`.
    pub(crate) fn imported_from(&self, file: usize, local: &str) -> Option<(usize, String)> {
        let imported = self.import_of(file, local)?;
        let name = imported.name.clone()?;
        let source = self.module_file(&imported.module)?;
        Some((source, name))
    }

    /// The function or class `name` means at the top of `file`: defined there, or imported
    /// from another project file (following re-exports).
    pub(crate) fn resolve_name(&self, file: usize, name: &str) -> Option<Definition<'s>> {
        self.resolve_name_within(file, name, RESOLVE_DEPTH)
    }

    fn resolve_name_within(&self, file: usize, name: &str, depth: usize) -> Option<Definition<'s>> {
        if let Some(node) = self.free_definition(file, name) {
            return Some(Definition { file, node });
        }
        if depth == 0 {
            return None;
        }
        let (source, imported) = self.imported_from(file, name)?;
        if source == file {
            return None;
        }
        self.resolve_name_within(source, &imported, depth - 1)
    }

    /// A function or class named `name` in `file` that is not a method.
    fn free_definition(&self, file: usize, name: &str) -> Option<Node<'s>> {
        let context = self.context(file);
        context
            .nodes_of_kind("function_definition")
            .chain(context.nodes_of_kind("class_definition"))
            .filter(|node| {
                node.field("name")
                    .is_some_and(|defined| context.node_text(defined) == name)
            })
            .filter(|node| self.class_of_method(file, *node).is_none())
            // A module-level definition wins over one nested in a function.
            .min_by_key(|node| context.ancestors(*node).count())
    }

    /// The module file a dotted name stands for in `file` (`m` for `import pkg.mod as m`,
    /// `data` for `from pkg import data`).
    fn module_named(&self, file: usize, dotted: &str) -> Option<usize> {
        let (head, rest) = dotted
            .split_once('.')
            .map_or((dotted, None), |(head, rest)| (head, Some(rest)));
        let imported = self.import_of(file, head)?;
        let mut module = match &imported.name {
            Some(name) => format!("{}.{name}", imported.module),
            None => imported.module.clone(),
        };
        if let Some(rest) = rest {
            module = format!("{module}.{rest}");
        }
        // `import pkg` then `pkg.data.load(...)`: the module is `pkg.data`.
        self.files
            .iter()
            .position(|candidate| candidate.module == module)
            .or_else(|| self.module_file(&module))
    }

    /// The class whose body defines `function` as a method.
    pub(crate) fn class_of_method(&self, file: usize, function: Node<'s>) -> Option<Node<'s>> {
        let context = self.context(file);
        let mut parent = context.parent(function)?;
        if parent.kind_name() == "decorated_definition" {
            parent = context.parent(parent)?;
        }
        if parent.kind_name() != "block" {
            return None;
        }
        context
            .parent(parent)
            .filter(|class| class.kind_name() == "class_definition")
    }

    /// Method `name` of `class`, or of its project base classes.
    pub(crate) fn method(
        &self,
        file: usize,
        class: Node<'s>,
        name: &str,
    ) -> Option<Definition<'s>> {
        self.method_within(file, class, name, RESOLVE_DEPTH)
    }

    fn method_within(
        &self,
        file: usize,
        class: Node<'s>,
        name: &str,
        depth: usize,
    ) -> Option<Definition<'s>> {
        let context = self.context(file);
        let body = class.field("body")?;
        let own = context
            .descendants(body)
            .filter(|node| node.kind_name() == "function_definition")
            .filter(|node| {
                self.class_of_method(file, *node)
                    .is_some_and(|owner| owner.id() == class.id())
            })
            .find(|node| {
                node.field("name")
                    .is_some_and(|defined| context.node_text(defined) == name)
            });
        if let Some(node) = own {
            return Some(Definition { file, node });
        }
        if depth == 0 {
            return None;
        }
        for base in self.base_classes(file, class) {
            if let Some(found) = self.method_within(base.file, base.node, name, depth - 1) {
                return Some(found);
            }
        }
        None
    }

    /// The project classes `class` derives from.
    fn base_classes(&self, file: usize, class: Node<'s>) -> Vec<Definition<'s>> {
        let context = self.context(file);
        let Some(bases) = class.field("superclasses") else {
            return Vec::new();
        };
        let mut cursor = bases.walk();
        let names: Vec<Node<'s>> = bases.named_children(&mut cursor).collect();
        names
            .into_iter()
            .filter_map(|base| {
                let text = name_text(context, base)?;
                let last = text.rsplit('.').next().unwrap_or(&text).to_owned();
                self.resolve_name(file, &last)
            })
            .filter(|definition| definition.is_class() && definition.node.id() != class.id())
            .collect()
    }

    /// Whether a class is a model: it derives from `nn.Module`, a Lightning or Keras model or
    /// layer, directly or through project classes.
    pub(crate) fn is_model_class(&self, definition: Definition<'s>) -> bool {
        self.is_model_class_within(definition, RESOLVE_DEPTH)
    }

    fn is_model_class_within(&self, definition: Definition<'s>, depth: usize) -> bool {
        let context = self.context(definition.file);
        let bases = definition
            .node
            .field("superclasses")
            .map_or("", |bases| context.node_text(bases));
        if ["Module", "Model", "Layer", "nn."]
            .iter()
            .any(|word| bases.contains(word))
        {
            return true;
        }
        depth > 0
            && self
                .base_classes(definition.file, definition.node)
                .into_iter()
                .any(|base| self.is_model_class_within(base, depth - 1))
    }

    /// The project function or class a call runs: `f(...)` defined or imported, `self.f(...)`,
    /// `module.f(...)`, `obj.f(...)` for `obj = ProjectClass(...)`, `super().f(...)`.
    pub(crate) fn callee(&self, file: usize, call: &Call<'s>) -> Option<Definition<'s>> {
        let context = self.context(file);
        match call.function.kind_name() {
            "identifier" => {
                let name = context.node_text(call.function);
                self.resolve_name(file, name)
                    .or_else(|| self.instance_forward(file, name, call.node))
            }
            "attribute" => {
                let method = call.method_name(context)?;
                let receiver = unparenthesized(call.receiver()?);
                if let Some(receiver_call) = Call::new(receiver)
                    && receiver_call.callee_name(context) == "super"
                {
                    let class = context.enclosing_class(call.node)?;
                    return self
                        .base_classes(file, class)
                        .into_iter()
                        .find_map(|base| self.method(base.file, base.node, method));
                }
                let receiver_name = name_text(context, receiver)?;
                if matches!(receiver_name.as_str(), "self" | "cls") {
                    let class = context.enclosing_class(call.node)?;
                    // `self.encoder(x)` for `self.encoder = Encoder()`: its `forward`.
                    return self.method(file, class, method).or_else(|| {
                        self.instance_forward(file, &format!("{receiver_name}.{method}"), call.node)
                    });
                }
                if let Some(module) = self.module_named(file, &receiver_name) {
                    return self
                        .free_definition(module, method)
                        .map(|node| Definition { file: module, node });
                }
                match self.instance_class(file, &receiver_name, call.node) {
                    Some(class) => self.method(class.file, class.node, method),
                    None => {
                        self.instance_forward(file, &format!("{receiver_name}.{method}"), call.node)
                    }
                }
            }
            _ => None,
        }
    }

    /// What calling an instance of a project class runs: `model(x)` for `model = Net()` runs
    /// `Net.forward` (or `__call__`).
    fn instance_forward(&self, file: usize, name: &str, at: Node<'s>) -> Option<Definition<'s>> {
        let class = self.instance_class(file, name, at)?;
        self.method(class.file, class.node, "forward")
            .or_else(|| self.method(class.file, class.node, "__call__"))
    }

    /// The project class of the instances a name read at `at` holds: `model` for
    /// `model = Net(...)` in the file, `self.encoder` for `self.encoder = Encoder(...)` in the
    /// class around `at`.
    fn instance_class(&self, file: usize, name: &str, at: Node<'s>) -> Option<Definition<'s>> {
        let context = self.context(file);
        let within = if name.starts_with("self.") || name.starts_with("cls.") {
            Some(context.enclosing_class(at)?)
        } else {
            None
        };
        context.assignment_sides().find_map(|(left, right)| {
            if name_text(context, left).as_deref() != Some(name)
                || within.is_some_and(|class| !crate::syntax::contains(class, left))
            {
                return None;
            }
            let construction = Call::new(unparenthesized(right))?;
            self.class_named(file, construction.function)
        })
    }

    /// The project class a constructor expression names: `Net` or `models.Net` (never
    /// through instances, so `x = x.float()` cannot send the search in circles).
    fn class_named(&self, file: usize, callee: Node<'s>) -> Option<Definition<'s>> {
        let context = self.context(file);
        let found = match callee.kind_name() {
            "identifier" => self.resolve_name(file, context.node_text(callee)),
            "attribute" => {
                let class = context.node_text(callee.field("attribute")?);
                let module =
                    self.module_named(file, &name_text(context, callee.field("object")?)?)?;
                self.free_definition(module, class)
                    .map(|node| Definition { file: module, node })
            }
            _ => None,
        };
        found.filter(|definition| definition.is_class())
    }

    /// Where `class` is constructed, across the project.
    pub(crate) fn constructions(&self, class: Definition<'s>) -> Vec<CallSite<'s>> {
        let Some(name) = class.node.field("name") else {
            return Vec::new();
        };
        let name = self.context(class.file).node_text(name);
        let mut sites = Vec::new();
        for (file, project_file) in self.files.iter().enumerate() {
            for local in project_file.local_names(name) {
                for call in project_file.context.calls_named(local) {
                    if self
                        .callee(file, call)
                        .is_some_and(|callee| callee.same(&class))
                    {
                        sites.push(CallSite {
                            file,
                            call: *call,
                            skipped: 1,
                        });
                    }
                }
            }
        }
        sites
    }

    /// Where `function` is called, across the project. A method's `self` is not passed by
    /// position; `__init__` is called by constructing its class; `forward` and `__call__` by
    /// calling an instance (`model(x)`).
    pub(crate) fn call_sites(&self, function: Definition<'s>) -> Vec<CallSite<'s>> {
        let context = self.context(function.file);
        let Some(name) = function
            .node
            .field("name")
            .map(|name| context.node_text(name))
        else {
            return Vec::new();
        };
        let class = self.class_of_method(function.file, function.node);
        let is_static = context.parent(function.node).is_some_and(|parent| {
            parent.kind_name() == "decorated_definition"
                && context.node_text(parent).contains("@staticmethod")
        });
        let skipped = usize::from(class.is_some() && !is_static);
        if let Some(class) = class
            && name == "__init__"
        {
            return self.constructions(Definition {
                file: function.file,
                node: class,
            });
        }
        let mut sites = Vec::new();
        for (file, project_file) in self.files.iter().enumerate() {
            for local in project_file.local_names(name) {
                for call in project_file.context.calls_named(local) {
                    if self
                        .callee(file, call)
                        .is_some_and(|callee| callee.same(&function))
                    {
                        sites.push(CallSite {
                            file,
                            call: *call,
                            skipped,
                        });
                    }
                }
            }
        }
        if let Some(class) = class
            && matches!(name, "forward" | "__call__")
        {
            let class = Definition {
                file: function.file,
                node: class,
            };
            sites.extend(self.instance_calls(class));
        }
        sites
    }

    /// Calls of instances of `class`: `model(x)` for `model = Net()`.
    fn instance_calls(&self, class: Definition<'s>) -> Vec<CallSite<'s>> {
        let mut sites = Vec::new();
        for construction in self.constructions(class) {
            let file = construction.file;
            let context = self.context(file);
            let Some(instance) = context
                .parent(construction.call.node)
                .filter(|parent| parent.kind_name() == "assignment")
                .and_then(|assignment| assignment.field("left"))
                .and_then(|left| name_text(context, left))
            else {
                continue;
            };
            for call in context.calls() {
                if name_text(context, call.function).as_deref() == Some(instance.as_str()) {
                    sites.push(CallSite {
                        file,
                        call: *call,
                        skipped: 1,
                    });
                }
            }
        }
        sites
    }
}

/// The module path of a display path, and whether it is a package's `__init__.py`.
fn module_name(display: &str) -> (String, bool) {
    let without_extension = display.strip_suffix(".py").unwrap_or(display);
    let parts: Vec<&str> = without_extension
        .split(['/', '\\'])
        .filter(|part| !part.is_empty() && *part != ".")
        .collect();
    match parts.split_last() {
        Some((&"__init__", package)) => (package.join("."), true),
        _ => (parts.join("."), false),
    }
}

/// The local names a file's imports bind, each with the module (made absolute) it names.
fn collect_imports(
    file: &Context<'_>,
    module: &str,
    is_package: bool,
) -> HashMap<String, Imported> {
    let mut imports = HashMap::new();
    for statement in file.nodes() {
        match statement.kind_name() {
            "import_statement" => {
                let mut cursor = statement.walk();
                for name in statement.children_by_field_name("name", &mut cursor) {
                    if name.kind_name() == "aliased_import" {
                        if let (Some(path), Some(alias)) = (name.field("name"), name.field("alias"))
                        {
                            imports.insert(
                                file.node_text(alias).to_owned(),
                                Imported {
                                    module: file.node_text(path).to_owned(),
                                    name: None,
                                },
                            );
                        }
                    } else {
                        let path = file.node_text(name);
                        let head = path.split('.').next().unwrap_or(path);
                        imports.insert(
                            head.to_owned(),
                            Imported {
                                module: head.to_owned(),
                                name: None,
                            },
                        );
                    }
                }
            }
            "import_from_statement" => {
                let Some(from) = statement.field("module_name") else {
                    continue;
                };
                let from = absolute_module(file.node_text(from), module, is_package);
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
                    imports.insert(
                        local.to_owned(),
                        Imported {
                            module: from.clone(),
                            name: Some(imported.to_owned()),
                        },
                    );
                }
            }
            _ => {}
        }
    }
    imports
}

/// `..utils` imported from `pkg.sub.train` is `pkg.utils`.
fn absolute_module(written: &str, importer: &str, importer_is_package: bool) -> String {
    let level = written.chars().take_while(|c| *c == '.').count();
    if level == 0 {
        return written.to_owned();
    }
    let rest = &written[level..];
    let mut parts: Vec<&str> = importer
        .split('.')
        .filter(|part| !part.is_empty())
        .collect();
    if !importer_is_package {
        parts.pop();
    }
    for _ in 1..level {
        parts.pop();
    }
    if !rest.is_empty() {
        parts.push(rest);
    }
    parts.join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_names_and_relative_imports() {
        assert_eq!(module_name("pkg/data.py"), ("pkg.data".to_owned(), false));
        assert_eq!(module_name("pkg/__init__.py"), ("pkg".to_owned(), true));
        assert_eq!(module_name("train.py"), ("train".to_owned(), false));
        assert_eq!(absolute_module(".data", "pkg.train", false), "pkg.data");
        assert_eq!(
            absolute_module("..utils", "pkg.sub.train", false),
            "pkg.utils"
        );
        assert_eq!(absolute_module(".", "pkg", true), "pkg");
        assert_eq!(absolute_module("numpy", "pkg.train", false), "numpy");
    }

    #[test]
    fn calls_resolve_across_files() {
        let sources = vec![
            SourceFile::parse(
                "pkg/data.py",
                "def load(path):\n    return path\nclass Net:\n    def forward(self, x):\n        return x\n",
            )
            .expect("parses"),
            SourceFile::parse(
                "train.py",
                "from pkg.data import load as get, Net\nimport pkg.data as d\nx = get('a')\ny = d.load('b')\nnet = Net()\nz = net(x)\n",
            )
            .expect("parses"),
        ];
        let project = Project::new(&sources);
        let train = project.context(1);
        let names: Vec<Option<String>> = train
            .calls()
            .iter()
            .map(|call| {
                project.callee(1, call).and_then(|definition| {
                    definition
                        .node
                        .field("name")
                        .map(|name| project.context(definition.file).node_text(name).to_owned())
                })
            })
            .collect();
        assert_eq!(
            names,
            [
                Some("load".to_owned()),
                Some("load".to_owned()),
                Some("Net".to_owned()),
                // Calling an instance runs its `forward`.
                Some("forward".to_owned())
            ]
        );
        let load = project.resolve_name(0, "load").expect("load");
        assert_eq!(project.call_sites(load).len(), 2);
        let net = project.resolve_name(0, "Net").expect("Net");
        let forward = project.method(0, net.node, "forward").expect("forward");
        let sites = project.call_sites(forward);
        assert_eq!(sites.len(), 1);
        assert_eq!(sites[0].skipped, 1);
    }
}
