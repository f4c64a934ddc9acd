//! Small, allocation-light helpers over tree-sitter-python nodes that every rule needs: preorder
//! walks that can stay inside one scope, a view of call expressions, dotted names.

use tree_sitter::{Node, TreeCursor};

use crate::SourceFile;

/// Node kinds that open a new Python scope; code inside them does not run where it is written.
const SCOPE_KINDS: &[&str] = &["function_definition", "class_definition", "lambda"];

pub fn is_scope(node: Node<'_>) -> bool {
    SCOPE_KINDS.contains(&node.kind())
}

pub fn is_loop(node: Node<'_>) -> bool {
    matches!(node.kind(), "for_statement" | "while_statement")
}

/// Preorder (source order) walk of `root` and everything under it.
pub fn preorder(root: Node<'_>) -> Preorder<'_> {
    Preorder::new(root, false)
}

/// Preorder walk of `root` that yields nested function, class and lambda nodes but does not
/// enter them: what executes as part of `root` itself.
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

/// `node`'s ancestors, innermost first.
pub fn ancestors(node: Node<'_>) -> impl Iterator<Item = Node<'_>> {
    std::iter::successors(node.parent(), |ancestor| ancestor.parent())
}

/// The function (or lambda) whose body holds `node`, or the module.
pub fn enclosing_scope(node: Node<'_>) -> Node<'_> {
    let mut last = node;
    for ancestor in ancestors(node) {
        if matches!(ancestor.kind(), "function_definition" | "lambda") {
            return ancestor;
        }
        last = ancestor;
    }
    last
}

/// Loops around `node`, innermost first, up to the enclosing function.
pub fn enclosing_loops(node: Node<'_>) -> impl Iterator<Item = Node<'_>> {
    ancestors(node)
        .take_while(|ancestor| !is_scope(*ancestor))
        .filter(|ancestor| is_loop(*ancestor))
}

/// Whether `inner` lies within `outer` (or is it).
pub fn contains(outer: Node<'_>, inner: Node<'_>) -> bool {
    outer.start_byte() <= inner.start_byte() && inner.end_byte() <= outer.end_byte()
}

/// Strips any parentheses around an expression.
pub fn unparenthesized(mut node: Node<'_>) -> Node<'_> {
    while node.kind() == "parenthesized_expression" {
        match node
            .named_children(&mut node.walk())
            .find(|child| child.kind() != "comment")
        {
            Some(inner) => node = inner,
            None => break,
        }
    }
    node
}

/// `a`, `a.b.c` as a string; `None` for anything that is not a chain of names.
pub fn dotted_name(file: &SourceFile, node: Node<'_>) -> Option<String> {
    match node.kind() {
        "identifier" => Some(file.node_text(node).to_owned()),
        "attribute" => {
            let object = dotted_name(file, node.child_by_field_name("object")?)?;
            let attribute = file.node_text(node.child_by_field_name("attribute")?);
            Some(format!("{object}.{attribute}"))
        }
        _ => None,
    }
}

/// The content of a string literal without prefix and quotes (`None` for f-strings with
/// interpolations and non-strings).
pub fn string_value<'f>(file: &'f SourceFile, node: Node<'_>) -> Option<&'f str> {
    if node.kind() != "string" {
        return None;
    }
    let mut cursor = node.walk();
    let mut content = "";
    for child in node.named_children(&mut cursor) {
        match child.kind() {
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
        if node.kind() != "call" {
            return None;
        }
        Some(Self {
            node,
            function: node.child_by_field_name("function")?,
            arguments: node.child_by_field_name("arguments"),
        })
    }

    /// `b` in `a.b(...)`; `None` when the callee is not an attribute.
    pub fn method_name<'f>(&self, file: &'f SourceFile) -> Option<&'f str> {
        (self.function.kind() == "attribute")
            .then(|| self.function.child_by_field_name("attribute"))
            .flatten()
            .map(|attribute| file.node_text(attribute))
    }

    /// `a` in `a.b(...)`.
    pub fn receiver(&self) -> Option<Node<'t>> {
        (self.function.kind() == "attribute")
            .then(|| self.function.child_by_field_name("object"))
            .flatten()
    }

    /// The last name of the callee: `softmax` for `F.softmax(...)`, `x.softmax(...)` and
    /// `softmax(...)`; empty for other callees (`f()(...)`, `fs[0](...)`).
    pub fn callee_name<'f>(&self, file: &'f SourceFile) -> &'f str {
        match self.function.kind() {
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
        if arguments.kind() == "generator_expression" {
            return vec![arguments];
        }
        let mut cursor = arguments.walk();
        arguments
            .named_children(&mut cursor)
            .filter(|child| {
                !matches!(
                    child.kind(),
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
            .filter(|child| child.kind() == "keyword_argument")
            .find(|child| {
                child
                    .child_by_field_name("name")
                    .is_some_and(|key| file.node_text(key) == name)
            })
            .and_then(|child| child.child_by_field_name("value"))
    }

    /// The argument bound to parameter `name`, which is at `position` when passed positionally.
    pub fn argument(&self, file: &SourceFile, position: usize, name: &str) -> Option<Node<'t>> {
        self.keyword(file, name).or_else(|| {
            let positional = self.positional();
            // After a `*args` splat the positions are unknown.
            let splat = positional
                .iter()
                .take(position + 1)
                .any(|node| node.kind() == "list_splat");
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
            .any(|child| matches!(child.kind(), "list_splat" | "dictionary_splat"))
    }

    pub fn argument_count(&self) -> usize {
        let Some(arguments) = self.arguments else {
            return 0;
        };
        let mut cursor = arguments.walk();
        arguments
            .named_children(&mut cursor)
            .filter(|child| child.kind() != "comment")
            .count()
    }
}

/// The target of the assignment whose right-hand side is `value`, if any (`x` in `x = value`).
pub fn assigned_to(value: Node<'_>) -> Option<Node<'_>> {
    let parent = value.parent()?;
    if parent.kind() == "assignment" && parent.child_by_field_name("right")?.id() == value.id() {
        return parent.child_by_field_name("left");
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
    match target.kind() {
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
