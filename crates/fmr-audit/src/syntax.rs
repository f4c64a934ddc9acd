//! Small, allocation-light helpers over tree-sitter-python nodes that every rule needs: preorder
//! walks of small subtrees (expressions; whole files and scopes go through the flat index of
//! [`Context`](crate::Context)), a view of call expressions, dotted names.

use std::collections::HashMap;
use std::sync::LazyLock;

use tree_sitter::{Language, Node, TreeCursor};

use crate::SourceFile;

/// Node kind names and field ids of the Python grammar, read once. `Node::kind` measures and
/// validates a C string on every call and `Node::child_by_field_name` compares the name with every
/// field of the grammar; with dozens of rules over every node, both showed up in profiles.
struct Grammar {
    /// Kind name by kind id.
    kinds: Vec<String>,
    /// The ids of each named kind (a name can have several ids through aliases).
    named_ids: HashMap<String, Vec<u16>>,
    /// `(field name, field id)`, sorted by name.
    fields: Vec<(String, u16)>,
    /// Ids of the fields rules read most, looked up without comparing strings.
    common: CommonFields,
}

/// Field ids by name for the fields read on hot paths (0 when the grammar lacks one, which
/// `child_by_field_id` answers with `None`).
struct CommonFields {
    left: u16,
    right: u16,
    function: u16,
    arguments: u16,
    body: u16,
    name: u16,
    value: u16,
    attribute: u16,
    object: u16,
    operator: u16,
}

static GRAMMAR: LazyLock<Grammar> = LazyLock::new(|| {
    let language: Language = tree_sitter_python::LANGUAGE.into();
    let ids = 0..u16::try_from(language.node_kind_count()).unwrap_or(u16::MAX);
    let kinds = ids
        .clone()
        .map(|id| language.node_kind_for_id(id).unwrap_or_default().to_owned())
        .collect();
    let mut named_ids: HashMap<String, Vec<u16>> = HashMap::new();
    for id in ids.filter(|id| language.node_kind_is_named(*id)) {
        if let Some(name) = language.node_kind_for_id(id) {
            named_ids.entry(name.to_owned()).or_default().push(id);
        }
    }
    let mut fields: Vec<(String, u16)> = (1..=language.field_count())
        .filter_map(|id| {
            let id = u16::try_from(id).ok()?;
            Some((language.field_name_for_id(id)?.to_owned(), id))
        })
        .collect();
    fields.sort_unstable();
    let id = |name: &str| language.field_id_for_name(name).map_or(0, u16::from);
    let common = CommonFields {
        left: id("left"),
        right: id("right"),
        function: id("function"),
        arguments: id("arguments"),
        body: id("body"),
        name: id("name"),
        value: id("value"),
        attribute: id("attribute"),
        object: id("object"),
        operator: id("operator"),
    };
    Grammar {
        kinds,
        named_ids,
        fields,
        common,
    }
});

/// The ids of a named node kind (empty for a name the grammar does not have).
pub fn named_kind_ids(name: &str) -> &'static [u16] {
    GRAMMAR.named_ids.get(name).map_or(&[], Vec::as_slice)
}

/// The number of node kinds of the grammar (kind ids are below it).
pub fn kind_count() -> usize {
    GRAMMAR.kinds.len()
}

/// Faster equivalents of `Node::kind` and `Node::child_by_field_name`.
pub trait NodeExt<'t> {
    /// The node's kind, e.g. `"call"`.
    fn kind_name(&self) -> &'static str;
    /// The child in field `name`, e.g. `"function"` of a call.
    fn field(&self, name: &str) -> Option<Node<'t>>;
}

impl<'t> NodeExt<'t> for Node<'t> {
    fn kind_name(&self) -> &'static str {
        GRAMMAR
            .kinds
            .get(usize::from(self.kind_id()))
            .map_or("", String::as_str)
    }

    fn field(&self, name: &str) -> Option<Node<'t>> {
        let common = &GRAMMAR.common;
        let id = match name {
            "left" => common.left,
            "right" => common.right,
            "function" => common.function,
            "arguments" => common.arguments,
            "body" => common.body,
            "name" => common.name,
            "value" => common.value,
            "attribute" => common.attribute,
            "object" => common.object,
            "operator" => common.operator,
            _ => {
                let fields = &GRAMMAR.fields;
                let index = fields
                    .binary_search_by(|(field, _)| field.as_str().cmp(name))
                    .ok()?;
                fields[index].1
            }
        };
        self.child_by_field_id(id)
    }
}

/// Node kinds that open a new Python scope; code inside them does not run where it is written.
const SCOPE_KINDS: &[&str] = &["function_definition", "class_definition", "lambda"];

pub fn is_scope(node: Node<'_>) -> bool {
    SCOPE_KINDS.contains(&node.kind_name())
}

pub fn is_loop(node: Node<'_>) -> bool {
    matches!(node.kind_name(), "for_statement" | "while_statement")
}

/// Preorder (source order) walk of `root` and everything under it.
pub fn preorder(root: Node<'_>) -> Preorder<'_> {
    Preorder::new(root, false)
}

/// Preorder walk of `root` that yields nested function, class and lambda nodes but does not
/// enter them: what executes as part of `root` itself. Rules use the faster
/// [`Context::scope_descendants`](crate::Context::scope_descendants); this walk is its test oracle.
#[cfg(test)]
pub fn scope_preorder(root: Node<'_>) -> Preorder<'_> {
    Preorder::new(root, true)
}

pub struct Preorder<'t> {
    cursor: TreeCursor<'t>,
    root_id: usize,
    started: bool,
    done: bool,
    stay_in_scope: bool,
}

impl<'t> Preorder<'t> {
    fn new(root: Node<'t>, stay_in_scope: bool) -> Self {
        Self {
            cursor: root.walk(),
            root_id: root.id(),
            started: false,
            done: false,
            stay_in_scope,
        }
    }
}

impl<'t> Iterator for Preorder<'t> {
    type Item = Node<'t>;

    fn next(&mut self) -> Option<Node<'t>> {
        if self.done {
            return None;
        }
        if !self.started {
            self.started = true;
            return Some(self.cursor.node());
        }
        let current = self.cursor.node();
        let enter = !(self.stay_in_scope && current.id() != self.root_id && is_scope(current));
        if enter && self.cursor.goto_first_child() {
            return Some(self.cursor.node());
        }
        loop {
            if self.cursor.node().id() == self.root_id {
                self.done = true;
                return None;
            }
            if self.cursor.goto_next_sibling() {
                return Some(self.cursor.node());
            }
            if !self.cursor.goto_parent() {
                self.done = true;
                return None;
            }
        }
    }
}

/// Whether `inner` lies within `outer` (or is it).
pub fn contains(outer: Node<'_>, inner: Node<'_>) -> bool {
    outer.start_byte() <= inner.start_byte() && inner.end_byte() <= outer.end_byte()
}

/// Strips any parentheses around an expression.
pub fn unparenthesized(mut node: Node<'_>) -> Node<'_> {
    while node.kind_name() == "parenthesized_expression" {
        match node
            .named_children(&mut node.walk())
            .find(|child| child.kind_name() != "comment")
        {
            Some(inner) => node = inner,
            None => break,
        }
    }
    node
}

/// `a`, `a.b.c` as a string; `None` for anything that is not a chain of names.
pub fn dotted_name(file: &SourceFile, node: Node<'_>) -> Option<String> {
    match node.kind_name() {
        "identifier" => Some(file.node_text(node).to_owned()),
        "attribute" => {
            let object = dotted_name(file, node.field("object")?)?;
            let attribute = file.node_text(node.field("attribute")?);
            Some(format!("{object}.{attribute}"))
        }
        _ => None,
    }
}

/// The content of a string literal without prefix and quotes (`None` for f-strings with
/// interpolations and non-strings).
pub fn string_value<'f>(file: &'f SourceFile, node: Node<'_>) -> Option<&'f str> {
    if node.kind_name() != "string" {
        return None;
    }
    let mut cursor = node.walk();
    let mut content = "";
    for child in node.named_children(&mut cursor) {
        match child.kind_name() {
            "string_content" => content = file.node_text(child),
            "interpolation" => return None,
            _ => {}
        }
    }
    Some(content)
}

/// Lower-case words of an identifier or expression: `trainLoader`, `train_loader` and
/// `ds["train"]` all contain the word `train`.
pub fn words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut previous_lower = false;
    for character in text.chars() {
        if !character.is_alphanumeric() {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            previous_lower = false;
            continue;
        }
        if character.is_uppercase() && previous_lower && !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
        previous_lower = character.is_lowercase() || character.is_ascii_digit();
        current.extend(character.to_lowercase());
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// A `call` node seen through its parts.
#[derive(Clone, Copy)]
pub struct Call<'t> {
    pub node: Node<'t>,
    pub function: Node<'t>,
    pub arguments: Option<Node<'t>>,
}

impl<'t> Call<'t> {
    pub fn new(node: Node<'t>) -> Option<Self> {
        if node.kind_name() != "call" {
            return None;
        }
        Some(Self {
            node,
            function: node.field("function")?,
            arguments: node.field("arguments"),
        })
    }

    /// `b` in `a.b(...)`; `None` when the callee is not an attribute.
    pub fn method_name<'f>(&self, file: &'f SourceFile) -> Option<&'f str> {
        (self.function.kind_name() == "attribute")
            .then(|| self.function.field("attribute"))
            .flatten()
            .map(|attribute| file.node_text(attribute))
    }

    /// `a` in `a.b(...)`.
    pub fn receiver(&self) -> Option<Node<'t>> {
        (self.function.kind_name() == "attribute")
            .then(|| self.function.field("object"))
            .flatten()
    }

    /// The last name of the callee: `softmax` for `F.softmax(...)`, `x.softmax(...)` and
    /// `softmax(...)`; empty for other callees (`f()(...)`, `fs[0](...)`).
    pub fn callee_name<'f>(&self, file: &'f SourceFile) -> &'f str {
        match self.function.kind_name() {
            "identifier" => file.node_text(self.function),
            "attribute" => self.method_name(file).unwrap_or(""),
            _ => "",
        }
    }

    /// `torch.nn.functional.softmax` for a call through a chain of names.
    pub fn dotted_name(&self, file: &SourceFile) -> Option<String> {
        dotted_name(file, self.function)
    }

    /// Positional arguments, in order (splats included as they are).
    pub fn positional(&self) -> Vec<Node<'t>> {
        let Some(arguments) = self.arguments else {
            return Vec::new();
        };
        if arguments.kind_name() == "generator_expression" {
            return vec![arguments];
        }
        let mut cursor = arguments.walk();
        arguments
            .named_children(&mut cursor)
            .filter(|child| {
                !matches!(
                    child.kind_name(),
                    "keyword_argument" | "comment" | "dictionary_splat"
                )
            })
            .collect()
    }

    /// The value of keyword argument `name`.
    pub fn keyword(&self, file: &SourceFile, name: &str) -> Option<Node<'t>> {
        let arguments = self.arguments?;
        let mut cursor = arguments.walk();
        arguments
            .named_children(&mut cursor)
            .filter(|child| child.kind_name() == "keyword_argument")
            .find(|child| {
                child
                    .field("name")
                    .is_some_and(|key| file.node_text(key) == name)
            })
            .and_then(|child| child.field("value"))
    }

    /// The argument bound to parameter `name`, which is at `position` when passed positionally.
    pub fn argument(&self, file: &SourceFile, position: usize, name: &str) -> Option<Node<'t>> {
        self.keyword(file, name).or_else(|| {
            let positional = self.positional();
            // After a `*args` splat the positions are unknown.
            let splat = positional
                .iter()
                .take(position + 1)
                .any(|node| node.kind_name() == "list_splat");
            if splat {
                None
            } else {
                positional.get(position).copied()
            }
        })
    }

    /// Whether arguments are passed through `*args` or `**kwargs`, hiding what they are.
    pub fn has_splat(&self) -> bool {
        let Some(arguments) = self.arguments else {
            return false;
        };
        let mut cursor = arguments.walk();
        arguments
            .named_children(&mut cursor)
            .any(|child| matches!(child.kind_name(), "list_splat" | "dictionary_splat"))
    }

    pub fn argument_count(&self) -> usize {
        let Some(arguments) = self.arguments else {
            return 0;
        };
        let mut cursor = arguments.walk();
        arguments
            .named_children(&mut cursor)
            .filter(|child| child.kind_name() != "comment")
            .count()
    }
}

/// The target of the assignment whose right-hand side is `value`, if any (`x` in `x = value`).
pub fn assigned_to(value: Node<'_>) -> Option<Node<'_>> {
    let parent = value.parent()?;
    if parent.kind_name() == "assignment" && parent.field("right")?.id() == value.id() {
        return parent.field("left");
    }
    None
}

/// The names an assignment target binds: `x`, `self.x`, each name of `a, (b, c)`; subscripts
/// (`x[i] = ...`) bind nothing new and are left out.
pub fn bound_names<'t>(target: Node<'t>) -> Vec<Node<'t>> {
    let mut names = Vec::new();
    collect_bound_names(target, &mut names);
    names
}

fn collect_bound_names<'t>(target: Node<'t>, names: &mut Vec<Node<'t>>) {
    match target.kind_name() {
        "identifier" | "attribute" => names.push(target),
        "pattern_list"
        | "tuple_pattern"
        | "list_pattern"
        | "expression_list"
        | "tuple"
        | "list"
        | "parenthesized_expression"
        | "list_splat_pattern" => {
            let mut cursor = target.walk();
            for child in target.named_children(&mut cursor) {
                collect_bound_names(child, names);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cached_kinds_and_fields_agree_with_tree_sitter() {
        let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let mut checked = 0;
        for entry in std::fs::read_dir(fixtures).expect("fixtures").flatten() {
            let Ok(text) = std::fs::read_to_string(entry.path()) else {
                continue;
            };
            let file = SourceFile::parse("t.py", text).expect("parses");
            for node in preorder(file.root()) {
                assert_eq!(node.kind_name(), node.kind());
                for name in [
                    "function",
                    "arguments",
                    "left",
                    "right",
                    "body",
                    "name",
                    "value",
                ] {
                    assert_eq!(node.field(name), node.child_by_field_name(name));
                }
                checked += 1;
            }
        }
        assert!(checked > 1000);
        assert_eq!(file_with_error().root().kind_name(), "module");
    }

    fn file_with_error() -> SourceFile {
        SourceFile::parse("t.py", "def broken(:\n").expect("parses")
    }

    #[test]
    fn words_split_snake_camel_and_punctuation() {
        assert_eq!(words("trainLoader"), ["train", "loader"]);
        assert_eq!(words("ds[\"train\"]"), ["ds", "train"]);
        assert_eq!(words("TrainDataset(root)"), ["train", "dataset", "root"]);
        assert_eq!(words("val_ds2"), ["val", "ds2"]);
    }

    #[test]
    fn scope_preorder_skips_nested_functions() {
        let file = SourceFile::parse("t.py", "f(1)\ndef g():\n    h(2)\nk(lambda: m(3))\n")
            .expect("parses");
        let names: Vec<&str> = scope_preorder(file.root())
            .filter_map(Call::new)
            .map(|call| call.callee_name(&file))
            .collect();
        assert_eq!(names, ["f", "k"]);
        let all: Vec<&str> = preorder(file.root())
            .filter_map(Call::new)
            .map(|call| call.callee_name(&file))
            .collect();
        assert_eq!(all, ["f", "h", "k", "m"]);
    }

    #[test]
    fn call_arguments_by_position_and_keyword() {
        let file = SourceFile::parse("t.py", "DataLoader(ds, 32, shuffle=True)\n").expect("parses");
        let call = preorder(file.root()).find_map(Call::new).expect("one call");
        assert_eq!(
            call.argument(&file, 0, "dataset")
                .map(|n| file.node_text(n)),
            Some("ds")
        );
        assert_eq!(
            call.argument(&file, 1, "batch_size")
                .map(|n| file.node_text(n)),
            Some("32")
        );
        assert_eq!(
            call.argument(&file, 2, "shuffle")
                .map(|n| file.node_text(n)),
            Some("True")
        );
        assert_eq!(
            call.argument(&file, 3, "sampler")
                .map(|n| file.node_text(n)),
            None
        );
    }
}
