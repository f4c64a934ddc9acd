//! Turning a query (`labels` at `train.py:30`) into the mention the trace starts from.

use tree_sitter::Node;

use super::project::Project;
use super::scope::name_text;
use crate::Context;
use crate::syntax::{Call, NodeExt, words};

/// The mention of the traced name that the trace starts from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Mention<'s> {
    pub file: usize,
    /// The identifier or attribute chain naming the value.
    pub node: Node<'s>,
}

/// The mention a query picks, and what the reader should know about the choice.
pub(crate) struct Anchor<'s> {
    pub mention: Option<Mention<'s>>,
    pub notes: Vec<String>,
}

/// Whether `name` is a name or a dotted path: identifiers joined by single dots.
pub(crate) fn is_traceable_name(name: &str) -> bool {
    !name.is_empty()
        && name.split('.').all(|part| {
            part.chars()
                .next()
                .is_some_and(|c| c.is_alphabetic() || c == '_')
                && part.chars().all(|c| c.is_alphanumeric() || c == '_')
        })
}

/// Where a query's location points.
enum Place {
    Anywhere,
    File(usize),
    Line(usize, usize),
    Function(Option<usize>, String),
}

/// Finds the mention to start from. Errors name what the location does not match.
pub(crate) fn find_anchor<'s>(
    project: &Project<'s>,
    name: &str,
    location: Option<&str>,
) -> Result<Anchor<'s>, String> {
    let place = parse_location(project, location)?;
    let mut notes = Vec::new();
    let mention = match place {
        Place::Line(file, line) => {
            let context = project.context(file);
            let found = mentions(context, context.source().root(), name);
            if found.is_empty() {
                notes.push(format!(
                    "`{name}` does not appear in {} outside comments and strings",
                    context.display_path()
                ));
                None
            } else if let Some(on_line) =
                found.iter().find(|node| context.position(**node).0 == line)
            {
                Some(Mention {
                    file,
                    node: *on_line,
                })
            } else {
                // The closest mention, preferring one before the line (what the line reads).
                let nearest = found
                    .iter()
                    .min_by_key(|node| {
                        let at = context.position(**node).0;
                        (at.abs_diff(line), at > line)
                    })
                    .copied();
                if let Some(node) = nearest {
                    notes.push(format!(
                        "line {line} of {} does not mention `{name}`; traced the nearest mention, at line {}",
                        context.display_path(),
                        context.position(node).0
                    ));
                }
                nearest.map(|node| Mention { file, node })
            }
        }
        Place::File(file) => {
            let context = project.context(file);
            let found = mentions(context, context.source().root(), name);
            let chosen = preferred(context, &found);
            if chosen.is_none() {
                notes.push(format!(
                    "`{name}` does not appear in {} outside comments and strings",
                    context.display_path()
                ));
            }
            chosen.map(|node| Mention { file, node })
        }
        Place::Function(file, function) => {
            let definitions: Vec<(usize, Node<'s>)> = project
                .files
                .iter()
                .enumerate()
                .filter(|(index, _)| file.is_none_or(|wanted| wanted == *index))
                .flat_map(|(index, project_file)| {
                    project_file
                        .context
                        .nodes_of_kind("function_definition")
                        .filter(|node| {
                            node.field("name").is_some_and(|defined| {
                                project_file.context.node_text(defined) == function
                            })
                        })
                        .map(move |node| (index, node))
                })
                .collect();
            let Some(&(index, definition)) = definitions.first() else {
                return Err(format!("no function `{function}` in the traced code"));
            };
            let context = project.context(index);
            if definitions.len() > 1 {
                notes.push(format!(
                    "{} functions are named `{function}`; traced the one at {}:{}",
                    definitions.len(),
                    context.display_path(),
                    context.position(definition).0
                ));
            }
            let found = mentions(context, definition, name);
            if found.is_empty() {
                notes.push(format!(
                    "`{name}` does not appear in `{function}` ({}:{})",
                    context.display_path(),
                    context.position(definition).0
                ));
            }
            found.first().map(|node| Mention {
                file: index,
                node: *node,
            })
        }
        Place::Anywhere => {
            let mut total = 0;
            let mut files = 0;
            let mut chosen: Option<(Mention<'s>, bool)> = None;
            for (index, project_file) in project.files.iter().enumerate() {
                let context = &project_file.context;
                let found = mentions(context, context.source().root(), name);
                if found.is_empty() {
                    continue;
                }
                total += found.len();
                files += 1;
                let feeding = found.iter().find(|node| feeds_loss(context, **node));
                let candidate = feeding.or(found.first()).map(|node| Mention {
                    file: index,
                    node: *node,
                });
                let better = chosen
                    .as_ref()
                    .is_none_or(|(_, was_feeding)| !was_feeding && feeding.is_some());
                if better && let Some(candidate) = candidate {
                    chosen = Some((candidate, feeding.is_some()));
                }
            }
            match chosen {
                None => {
                    notes.push(format!(
                        "`{name}` does not appear in the code outside comments and strings"
                    ));
                    None
                }
                Some((mention, feeding)) => {
                    let context = project.context(mention.file);
                    notes.push(format!(
                        "no location given: traced the mention at {}:{}{} ({total} mention{} in {files} file{}); pass a location such as `file.py:LINE` to pick another",
                        context.display_path(),
                        context.position(mention.node).0,
                        if feeding { ", which feeds a loss" } else { "" },
                        if total == 1 { "" } else { "s" },
                        if files == 1 { "" } else { "s" },
                    ));
                    Some(mention)
                }
            }
        }
    };
    Ok(Anchor { mention, notes })
}

/// Reads `file.py:30`, `file.py`, `30` (one-file projects), `function` or `file.py:function`.
fn parse_location(project: &Project<'_>, location: Option<&str>) -> Result<Place, String> {
    let Some(location) = location.map(str::trim).filter(|text| !text.is_empty()) else {
        return Ok(Place::Anywhere);
    };
    let (file_part, rest) = match location.rsplit_once(':') {
        Some((file, rest)) => (Some(file.trim()), rest.trim()),
        None if looks_like_file(location) => (Some(location), ""),
        None => (None, location),
    };
    let file = match file_part.filter(|part| !part.is_empty()) {
        Some(part) => Some(find_file(project, part)?),
        None => None,
    };
    if rest.is_empty() {
        return Ok(file.map_or(Place::Anywhere, Place::File));
    }
    if let Ok(line) = rest.parse::<usize>() {
        if line == 0 {
            return Err(format!("line numbers start at 1, not 0 ({location:?})"));
        }
        let file = match file {
            Some(file) => file,
            None if project.files.len() == 1 => 0,
            None => {
                return Err(format!(
                    "a line needs its file when tracing a directory: write `file.py:{line}`"
                ));
            }
        };
        let lines = project.context(file).text().lines().count();
        if line > lines {
            return Err(format!(
                "{} has {lines} lines; line {line} does not exist",
                project.display(file)
            ));
        }
        return Ok(Place::Line(file, line));
    }
    if is_traceable_name(rest) && !rest.contains('.') {
        return Ok(Place::Function(file, rest.to_owned()));
    }
    Err(format!(
        "cannot read the location {location:?}: give `file.py:LINE`, `file.py`, a function name, or `file.py:function`"
    ))
}

fn looks_like_file(text: &str) -> bool {
    text.ends_with(".py") || text.contains('/') || text.contains('\\')
}

/// The project file a location names: its display path, or a path ending with it.
fn find_file(project: &Project<'_>, wanted: &str) -> Result<usize, String> {
    let wanted = wanted.trim_start_matches("./");
    let suffix = format!("/{wanted}");
    let matching: Vec<usize> = (0..project.files.len())
        .filter(|index| {
            let display = project.display(*index);
            display == wanted || display.ends_with(&suffix)
        })
        .collect();
    match matching.as_slice() {
        [one] => Ok(*one),
        [] => {
            let known: Vec<&str> = (0..project.files.len().min(8))
                .map(|index| project.display(index))
                .collect();
            Err(format!(
                "no Python file {wanted:?} in the traced code (files are named as the walk shows them, e.g. {})",
                known.join(", ")
            ))
        }
        several => {
            let names: Vec<&str> = several
                .iter()
                .map(|index| project.display(*index))
                .collect();
            Err(format!(
                "{wanted:?} matches several files ({}); give more of its path",
                names.join(", ")
            ))
        }
    }
}

/// Every mention of `name` under `root`, in source order: reads and bindings alike, but not
/// `b` of `a.b`, keyword names, or the names in import paths.
pub(crate) fn mentions<'s>(context: &Context<'s>, root: Node<'_>, name: &str) -> Vec<Node<'s>> {
    let dotted = name.contains('.');
    context
        .descendants(root)
        .filter(|node| {
            if dotted {
                node.kind_name() == "attribute"
                    && name_text(context, *node).is_some_and(|text| text == name)
            } else {
                node.kind_name() == "identifier" && context.node_text(*node) == name
            }
        })
        .filter(|node| {
            context.parent(*node).is_none_or(|parent| {
                let is_field = |field: &str| {
                    parent
                        .field(field)
                        .is_some_and(|child| child.id() == node.id())
                };
                match parent.kind_name() {
                    "attribute" => !is_field("attribute"),
                    "keyword_argument" => !is_field("name"),
                    "function_definition" | "class_definition" => !is_field("name"),
                    "dotted_name"
                    | "aliased_import"
                    | "import_statement"
                    | "import_from_statement" => false,
                    _ => true,
                }
            })
        })
        .collect()
}

/// The mention to prefer in a file: one that feeds a loss, else the first.
fn preferred<'s>(context: &Context<'s>, found: &[Node<'s>]) -> Option<Node<'s>> {
    found
        .iter()
        .find(|node| feeds_loss(context, **node))
        .or(found.first())
        .copied()
}

/// Whether the mention is inside the arguments of a loss call.
fn feeds_loss(context: &Context<'_>, node: Node<'_>) -> bool {
    context
        .ancestors(node)
        .take_while(|ancestor| !ancestor.kind_name().ends_with("statement"))
        .filter_map(|ancestor| context.call_at(ancestor))
        .any(|call| is_loss(context, &call))
}

/// A loss call: a known loss module or function, or a callee named for one.
pub(crate) fn is_loss<'s>(context: &Context<'s>, call: &Call<'s>) -> bool {
    if context.loss_call(call).is_some() {
        return true;
    }
    let callee = call.callee_name(context);
    let callee_words = words(callee);
    callee_words
        .iter()
        .any(|word| matches!(word.as_str(), "loss" | "criterion" | "objective"))
        && !callee_words.iter().any(|word| {
            matches!(
                word.as_str(),
                "log" | "plot" | "print" | "record" | "track" | "history" | "save"
            )
        })
}
