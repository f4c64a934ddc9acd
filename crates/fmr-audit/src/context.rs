//! One file as the rules see it: the parsed source, a flat preorder index of its syntax tree
//! built in a single walk, and the analyses several rules share, each computed on first use.
//!
//! Why a flat index: tree-sitter nodes do not store their parent, so `Node::parent` searches
//! down from the root, and every cursor walk re-descends the tree. With forty-odd rules each
//! walking the file a few times, walks dominated the audit's time. Here the walk happens once;
//! afterwards a subtree is a slice of the index, a scope is that slice minus the slices of nested
//! functions, and ancestors are a chain of stored parent positions.

use std::cell::OnceCell;
use std::collections::HashMap;
use std::ops::Deref;

use tree_sitter::Node;

use crate::SourceFile;
use crate::semantic::flow::Flows;
use crate::semantic::imports::Imports;
use crate::semantic::jax::JitFunctions;
use crate::semantic::losses::{LossCall, LossModules};
use crate::semantic::training::{GradEvent, LocalFunctions, TrainedModels, grad_event};
use crate::syntax::{Call, NodeExt, is_scope, kind_count, named_kind_ids};

/// A named node of the tree with its place in the preorder index.
#[derive(Clone, Copy)]
struct Entry<'t> {
    node: Node<'t>,
    /// Position of the nearest named ancestor; `NO_PARENT` for the root.
    parent: u32,
    /// One past the position of the last named descendant.
    end: u32,
}

const NO_PARENT: u32 = u32::MAX;

/// `left = right`: an assignment with both sides (annotated declarations without a value are
/// left out).
#[derive(Clone, Copy)]
pub struct Assignment<'t> {
    pub node: Node<'t>,
    pub left: Node<'t>,
    pub right: Node<'t>,
}

/// A parsed file plus the facts rules share. Dereferences to [`SourceFile`], so
/// `file.node_text(node)` and `file.finding(...)` work on it directly.
pub struct Context<'t> {
    source: &'t SourceFile,
    entries: Vec<Entry<'t>>,
    /// Positions in `entries` of each node kind, by kind id, in source order.
    by_kind: Vec<Vec<u32>>,
    calls: Vec<Call<'t>>,
    /// Positions in `calls` by callee name (`softmax` for `F.softmax(...)` and `x.softmax()`).
    calls_by_name: HashMap<&'t str, Vec<u32>>,
    assignments: OnceCell<Vec<Assignment<'t>>>,
    imports: OnceCell<Imports>,
    locals: OnceCell<LocalFunctions<'t>>,
    flows: OnceCell<Flows<'t>>,
    loss_modules: OnceCell<LossModules>,
    trained_models: OnceCell<TrainedModels<'t>>,
    grad_events: OnceCell<Vec<(GradEvent, Node<'t>)>>,
    jit_functions: OnceCell<JitFunctions<'t>>,
}

impl Deref for Context<'_> {
    type Target = SourceFile;

    fn deref(&self) -> &SourceFile {
        self.source
    }
}

impl<'t> Context<'t> {
    /// Indexes `source` in one preorder walk of its tree.
    pub fn new(source: &'t SourceFile) -> Self {
        let root = source.root();
        // Roughly one named node per 8 bytes of Python.
        let mut entries: Vec<Entry<'t>> = Vec::with_capacity(source.text().len() / 8 + 16);
        let mut calls = Vec::new();
        let mut by_kind: Vec<Vec<u32>> = vec![Vec::new(); kind_count()];
        // Positions of the named ancestors of the cursor's node, innermost last.
        let mut open: Vec<u32> = Vec::new();
        let mut cursor = root.walk();
        'walk: loop {
            let node = cursor.node();
            let named = node.is_named();
            if named {
                let position = u32::try_from(entries.len()).unwrap_or(NO_PARENT);
                let kind_id = node.kind_id();
                entries.push(Entry {
                    node,
                    parent: open.last().copied().unwrap_or(NO_PARENT),
                    end: position.saturating_add(1),
                });
                if let Some(positions) = by_kind.get_mut(usize::from(kind_id)) {
                    positions.push(position);
                }
                if node.kind_name() == "call"
                    && let Some(call) = Call::new(node)
                {
                    calls.push(call);
                }
            }
            if cursor.goto_first_child() {
                if named {
                    open.push(u32::try_from(entries.len() - 1).unwrap_or(NO_PARENT));
                }
                continue;
            }
            // A leaf: climb until a sibling exists, closing the named ancestors left behind.
            loop {
                if cursor.goto_next_sibling() {
                    continue 'walk;
                }
                if !cursor.goto_parent() {
                    break 'walk;
                }
                if cursor.node().is_named()
                    && let Some(closed) = open.pop()
                {
                    let end = u32::try_from(entries.len()).unwrap_or(NO_PARENT);
                    if let Some(entry) = entries.get_mut(closed as usize) {
                        entry.end = end;
                    }
                }
            }
        }
        // The root and any ancestor still open end with the file.
        let end = u32::try_from(entries.len()).unwrap_or(NO_PARENT);
        for position in open {
            if let Some(entry) = entries.get_mut(position as usize) {
                entry.end = end;
            }
        }
        let mut calls_by_name: HashMap<&'t str, Vec<u32>> = HashMap::new();
        for (position, call) in calls.iter().enumerate() {
            let name = call.callee_name(source);
            if !name.is_empty()
                && let Ok(position) = u32::try_from(position)
            {
                calls_by_name.entry(name).or_default().push(position);
            }
        }
        Self {
            source,
            entries,
            by_kind,
            calls,
            calls_by_name,
            assignments: OnceCell::new(),
            imports: OnceCell::new(),
            locals: OnceCell::new(),
            flows: OnceCell::new(),
            loss_modules: OnceCell::new(),
            trained_models: OnceCell::new(),
            grad_events: OnceCell::new(),
            jit_functions: OnceCell::new(),
        }
    }

    /// The parsed file, with the lifetime of the tree (for analyses that keep `&'t str`).
    pub fn source(&self) -> &'t SourceFile {
        self.source
    }

    /// Every named node of the file in source (preorder) order.
    pub fn nodes(&self) -> impl Iterator<Item = Node<'t>> + '_ {
        self.entries.iter().map(|entry| entry.node)
    }

    /// The named nodes of one kind, in source order.
    pub fn nodes_of_kind(&self, kind: &str) -> impl Iterator<Item = Node<'t>> + '_ {
        let ids = named_kind_ids(kind);
        let mut positions: Vec<u32> = ids
            .iter()
            .filter_map(|id| self.by_kind.get(usize::from(*id)))
            .flatten()
            .copied()
            .collect();
        // A kind with several ids (aliases) interleaves its lists.
        if ids.len() > 1 {
            positions.sort_unstable();
        }
        positions
            .into_iter()
            .filter_map(|position| self.entries.get(position as usize))
            .map(|entry| entry.node)
    }

    /// Every plain assignment (`target = value`) of the file, in source order.
    pub fn assignments(&self) -> &[Assignment<'t>] {
        self.assignments.get_or_init(|| {
            self.nodes_of_kind("assignment")
                .filter_map(|node| {
                    Some(Assignment {
                        node,
                        left: node.field("left")?,
                        right: node.field("right")?,
                    })
                })
                .collect()
        })
    }

    /// The `(target, value)` of every assignment, in source order.
    pub fn assignment_sides(&self) -> impl Iterator<Item = (Node<'t>, Node<'t>)> + '_ {
        self.assignments()
            .iter()
            .map(|assignment| (assignment.left, assignment.right))
    }

    /// Every call of the file, in source order.
    pub fn calls(&self) -> &[Call<'t>] {
        &self.calls
    }

    /// The calls whose callee's last name is `name` (`F.softmax(...)`, `x.softmax()` and
    /// `softmax(...)` for `softmax`), in source order.
    pub fn calls_named(&self, name: &str) -> impl Iterator<Item = &Call<'t>> + '_ {
        self.calls_by_name
            .get(name)
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .filter_map(|&position| self.calls.get(position as usize))
    }

    /// Whether `needle` occurs anywhere in the text: a cheap test that lets a rule skip files
    /// that cannot contain what it looks for (no `jax`, no `DataLoader`).
    pub fn mentions(&self, needle: &str) -> bool {
        self.source.text().contains(needle)
    }

    /// The calls inside `node` (itself included), in source order.
    pub fn calls_in(&self, node: Node<'_>) -> &[Call<'t>] {
        let start = self
            .calls
            .partition_point(|call| call.node.start_byte() < node.start_byte());
        let end = self
            .calls
            .partition_point(|call| call.node.start_byte() < node.end_byte());
        self.calls.get(start..end.max(start)).unwrap_or(&[])
    }

    /// The call at `node`, if it is one.
    pub fn call_at(&self, node: Node<'_>) -> Option<Call<'t>> {
        if node.kind_name() != "call" {
            return None;
        }
        let start = self
            .calls
            .partition_point(|call| call.node.start_byte() < node.start_byte());
        self.calls
            .get(start..)?
            .iter()
            .take_while(|call| call.node.start_byte() == node.start_byte())
            .find(|call| call.node.id() == node.id())
            .copied()
    }

    /// `node` and its named descendants, in preorder.
    pub fn descendants(&self, node: Node<'_>) -> impl Iterator<Item = Node<'t>> + '_ {
        let range = self
            .position(node)
            .map_or(0..0, |position| position..self.end_of(position));
        self.entries[range].iter().map(|entry| entry.node)
    }

    /// `node` and what runs as part of it: nested functions, classes and lambdas are yielded but
    /// not entered.
    pub fn scope_descendants(&self, node: Node<'_>) -> ScopeDescendants<'_, 't> {
        let (next, end) = self
            .position(node)
            .map_or((0, 0), |position| (position, self.end_of(position)));
        ScopeDescendants {
            entries: &self.entries,
            start: next,
            next,
            end,
        }
    }

    /// `node`'s named ancestors, innermost first.
    pub fn ancestors(&self, node: Node<'_>) -> Ancestors<'_, 't> {
        let next = match self.position(node) {
            Some(position) => self.entries[position].parent,
            None => NO_PARENT,
        };
        Ancestors {
            entries: &self.entries,
            next,
        }
    }

    /// The nearest named ancestor of `node`.
    pub fn parent(&self, node: Node<'_>) -> Option<Node<'t>> {
        self.ancestors(node).next()
    }

    /// The function (or lambda) whose body holds `node`, or the module.
    pub fn enclosing_scope(&self, node: Node<'_>) -> Node<'t> {
        let mut last = None;
        for ancestor in self.ancestors(node) {
            if matches!(ancestor.kind_name(), "function_definition" | "lambda") {
                return ancestor;
            }
            last = Some(ancestor);
        }
        last.unwrap_or_else(|| self.source.root())
    }

    /// The function definition whose body holds `node`, if any.
    pub fn enclosing_function(&self, node: Node<'_>) -> Option<Node<'t>> {
        self.ancestors(node)
            .find(|ancestor| ancestor.kind_name() == "function_definition")
    }

    /// The class whose body holds `node` (through its methods), if any.
    pub fn enclosing_class(&self, node: Node<'_>) -> Option<Node<'t>> {
        self.ancestors(node)
            .find(|ancestor| ancestor.kind_name() == "class_definition")
    }

    /// Loops around `node`, innermost first, up to the enclosing function.
    pub fn enclosing_loops(&self, node: Node<'_>) -> impl Iterator<Item = Node<'t>> + '_ {
        self.ancestors(node)
            .take_while(|ancestor| !is_scope(*ancestor))
            .filter(|ancestor| matches!(ancestor.kind_name(), "for_statement" | "while_statement"))
    }

    /// What the file's imports bind.
    pub fn imports(&self) -> &Imports {
        self.imports.get_or_init(|| Imports::collect(self))
    }

    /// The functions defined in the file, by name.
    pub fn locals(&self) -> &LocalFunctions<'t> {
        self.locals
            .get_or_init(|| LocalFunctions::collect(self.source, self))
    }

    /// Where softmax and sigmoid outputs flow.
    pub fn flows(&self) -> &Flows<'t> {
        self.flows.get_or_init(|| Flows::analyze(self))
    }

    /// The loss computed by `call`, if it computes one.
    pub fn loss_call(&self, call: &Call<'t>) -> Option<LossCall<'t>> {
        self.loss_modules
            .get_or_init(|| LossModules::collect(self))
            .loss_call(self, call)
    }

    /// Which models the file trains.
    pub fn trained_models(&self) -> &TrainedModels<'t> {
        self.trained_models
            .get_or_init(|| TrainedModels::collect(self))
    }

    /// Every gradient event of the file (backward, optimizer step, reset, clip), in source order.
    pub fn grad_events(&self) -> &[(GradEvent, Node<'t>)] {
        self.grad_events.get_or_init(|| {
            let mut events: Vec<(GradEvent, Node<'t>)> = self
                .calls
                .iter()
                .filter_map(|call| grad_event(self, call.node).map(|event| (event, call.node)))
                .collect();
            events.extend(self.nodes_of_kind("assignment").filter_map(|assignment| {
                grad_event(self, assignment).map(|event| (event, assignment))
            }));
            events.sort_by_key(|(_, node)| node.start_byte());
            events
        })
    }

    /// The gradient event `node` performs, if any (looked up, not recomputed).
    pub fn grad_event_at(&self, node: Node<'_>) -> Option<GradEvent> {
        let events = self.grad_events();
        let start = events.partition_point(|(_, event)| event.start_byte() < node.start_byte());
        events
            .get(start..)?
            .iter()
            .take_while(|(_, event)| event.start_byte() == node.start_byte())
            .find(|(_, event)| event.id() == node.id())
            .map(|(event, _)| *event)
    }

    /// The gradient events that run as part of `scope` (not inside nested functions), in source
    /// order.
    pub fn grad_events_in(&self, scope: Node<'_>) -> Vec<(GradEvent, Node<'t>)> {
        let events = self.grad_events();
        let start = events.partition_point(|(_, node)| node.start_byte() < scope.start_byte());
        let end = events.partition_point(|(_, node)| node.start_byte() < scope.end_byte());
        events
            .get(start..end.max(start))
            .unwrap_or(&[])
            .iter()
            .filter(|(_, node)| {
                !self
                    .ancestors(*node)
                    .take_while(|ancestor| ancestor.id() != scope.id())
                    .any(is_scope)
            })
            .copied()
            .collect()
    }

    /// The functions JAX traces, with their static and donated arguments.
    pub fn jit_functions(&self) -> &JitFunctions<'t> {
        self.jit_functions
            .get_or_init(|| JitFunctions::collect(self))
    }

    fn position(&self, node: Node<'_>) -> Option<usize> {
        let start = node.start_byte();
        let first = self
            .entries
            .partition_point(|entry| entry.node.start_byte() < start);
        self.entries
            .get(first..)?
            .iter()
            .take_while(|entry| entry.node.start_byte() == start)
            .position(|entry| entry.node.id() == node.id())
            .map(|offset| first + offset)
    }

    fn end_of(&self, position: usize) -> usize {
        (self.entries[position].end as usize).clamp(position + 1, self.entries.len())
    }
}

/// See [`Context::scope_descendants`].
pub struct ScopeDescendants<'c, 't> {
    entries: &'c [Entry<'t>],
    start: usize,
    next: usize,
    end: usize,
}

impl<'t> Iterator for ScopeDescendants<'_, 't> {
    type Item = Node<'t>;

    fn next(&mut self) -> Option<Node<'t>> {
        if self.next >= self.end {
            return None;
        }
        let entry = self.entries.get(self.next)?;
        let nested_scope = self.next != self.start && is_scope(entry.node);
        self.next = if nested_scope {
            (entry.end as usize).max(self.next + 1)
        } else {
            self.next + 1
        };
        Some(entry.node)
    }
}

/// See [`Context::ancestors`].
pub struct Ancestors<'c, 't> {
    entries: &'c [Entry<'t>],
    next: u32,
}

impl<'t> Iterator for Ancestors<'_, 't> {
    type Item = Node<'t>;

    fn next(&mut self) -> Option<Node<'t>> {
        let entry = self.entries.get(self.next as usize)?;
        self.next = entry.parent;
        Some(entry.node)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::{preorder, scope_preorder};

    const CODE: &str = "\
import torch
def f(x):
    for i in range(3):
        y = g(lambda z: z + i)
        def h():
            return k(1)
    return y
class C:
    def m(self):
        pass
x = [f(a) for a in b]
";

    #[test]
    fn the_index_matches_tree_sitter_walks() {
        let file = SourceFile::parse("t.py", CODE).expect("parses");
        let context = Context::new(&file);
        let named: Vec<usize> = preorder(file.root())
            .filter(|node| node.is_named())
            .map(|node| node.id())
            .collect();
        assert_eq!(
            context.nodes().map(|node| node.id()).collect::<Vec<_>>(),
            named
        );
        for node in preorder(file.root()).filter(|node| node.is_named()) {
            let expected: Vec<usize> = preorder(node)
                .filter(|node| node.is_named())
                .map(|node| node.id())
                .collect();
            let found: Vec<usize> = context.descendants(node).map(|node| node.id()).collect();
            assert_eq!(found, expected, "descendants of {}", node.kind_name());
            let expected: Vec<usize> = scope_preorder(node)
                .filter(|node| node.is_named())
                .map(|node| node.id())
                .collect();
            let found: Vec<usize> = context
                .scope_descendants(node)
                .map(|node| node.id())
                .collect();
            assert_eq!(found, expected, "scope of {}", node.kind_name());
            let expected = node.parent().map(|parent| parent.id());
            assert_eq!(context.parent(node).map(|parent| parent.id()), expected);
        }
        let calls: Vec<&str> = context
            .calls()
            .iter()
            .map(|call| call.callee_name(&file))
            .collect();
        assert_eq!(calls, ["range", "g", "k", "f"]);
    }

    #[test]
    fn calls_in_a_subtree_and_at_a_node() {
        let file = SourceFile::parse("t.py", CODE).expect("parses");
        let context = Context::new(&file);
        let function = context
            .nodes_of_kind("function_definition")
            .next()
            .expect("f");
        assert_eq!(context.calls_in(function).len(), 3);
        let call = context.calls()[1];
        assert_eq!(
            context.call_at(call.node).map(|found| found.node.id()),
            Some(call.node.id())
        );
        assert!(context.call_at(function).is_none());
    }

    #[test]
    fn an_empty_file_has_only_its_module() {
        let file = SourceFile::parse("t.py", "").expect("parses");
        let context = Context::new(&file);
        assert_eq!(context.nodes().count(), 1);
        assert!(context.calls().is_empty());
        assert_eq!(context.ancestors(file.root()).count(), 0);
    }
}
