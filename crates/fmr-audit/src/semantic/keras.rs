//! Keras models as the code states them: the output layer (units and activation) and the loss
//! given to `compile`.

use tree_sitter::Node;

use super::names::{last_value_before, number, resolve_value, scope_body};
use crate::Context;
use crate::syntax::{Call, NodeExt, dotted_name, string_value, unparenthesized};

/// The last `Dense` layer of a model, with its activation.
#[derive(Clone, Copy)]
pub struct OutputLayer<'t> {
    pub node: Node<'t>,
    /// `None` when the units are not a literal.
    pub units: Option<f64>,
    /// Lower-case activation name; `"linear"` when none is given.
    pub activation: &'t str,
}

/// The loss passed to `compile`.
#[derive(Clone)]
pub struct CompiledLoss<'t> {
    pub node: Node<'t>,
    /// Snake-case name: `categorical_crossentropy` for `"categorical_crossentropy"`,
    /// `keras.losses.CategoricalCrossentropy()` and `losses.categorical_crossentropy`.
    pub name: String,
    pub from_logits: bool,
}

/// A `model.compile(...)` call with its loss and, when the model is built in the same file,
/// its output layer.
pub struct CompiledModel<'t> {
    pub compile: Call<'t>,
    pub loss: Option<CompiledLoss<'t>>,
    pub output: Option<OutputLayer<'t>>,
}

/// Every `compile` call of the file that looks like Keras (it passes `loss=` or `optimizer=`).
pub fn compiled_models<'t>(file: &Context<'t>) -> Vec<CompiledModel<'t>> {
    file.calls_named("compile")
        .filter(|call| {
            call.keyword(file, "loss").is_some() || call.keyword(file, "optimizer").is_some()
        })
        .map(|call| CompiledModel {
            compile: *call,
            loss: call
                .keyword(file, "loss")
                .and_then(|loss| compiled_loss(file, loss)),
            output: call
                .receiver()
                .and_then(|model| output_layer_of(file, model, call.node)),
        })
        .collect()
}

/// The output layer of the model named `model` where `used_at` uses it: built by `Sequential([...])`,
/// by `model.add(...)` calls, or by `keras.Model(inputs, outputs)`.
pub fn output_layer_of<'t>(
    file: &Context<'t>,
    model: Node<'t>,
    used_at: Node<'_>,
) -> Option<OutputLayer<'t>> {
    let name = dotted_name(file, model)?;
    let scope = scope_body(file, used_at);
    // `model.add(Dense(...))`, the last one before the use.
    let added = file
        .calls_in(scope)
        .iter()
        .filter(|call| {
            call.node.start_byte() < used_at.start_byte() && call.callee_name(file) == "add"
        })
        .filter(|call| {
            call.receiver()
                .is_some_and(|receiver| file.node_text(receiver) == name)
        })
        .filter_map(|call| call.positional().first().copied())
        .collect::<Vec<_>>();
    let value = last_value_before(file, scope, &name, used_at.start_byte());
    if let Some(last_added) = added.last() {
        return layer_stack_output(file, &added, *last_added);
    }
    let value = Call::new(unparenthesized(value?))?;
    match value.callee_name(file) {
        "Sequential" => {
            let layers = value.argument(file, 0, "layers")?;
            let mut cursor = layers.walk();
            let layers: Vec<Node<'t>> = layers.named_children(&mut cursor).collect();
            let last = *layers.last()?;
            layer_stack_output(file, &layers, last)
        }
        "Model" => {
            let outputs = value.argument(file, 1, "outputs")?;
            let output = resolve_value(file, outputs);
            applied_layer_output(file, output)
        }
        _ => None,
    }
}

/// The output of a stack of layers ending in `last`: a `Dense`, or an `Activation` after one.
fn layer_stack_output<'t>(
    file: &Context<'t>,
    layers: &[Node<'t>],
    last: Node<'t>,
) -> Option<OutputLayer<'t>> {
    let last_call = Call::new(last)?;
    if last_call.callee_name(file) == "Activation" {
        let activation = activation_name(file, last_call.argument(file, 0, "activation")?)?;
        let dense =
            layers.iter().rev().skip(1).find_map(|layer| {
                Call::new(*layer).filter(|call| call.callee_name(file) == "Dense")
            })?;
        return Some(OutputLayer {
            node: last,
            units: dense_units(file, &dense),
            activation,
        });
    }
    dense_output(file, &last_call)
}

/// `layers.Dense(10, activation="softmax")(x)`, possibly through `Activation("softmax")(h)`.
fn applied_layer_output<'t>(file: &Context<'t>, output: Node<'t>) -> Option<OutputLayer<'t>> {
    let applied = Call::new(unparenthesized(output))?;
    let layer = Call::new(applied.function)?;
    match layer.callee_name(file) {
        "Dense" => dense_output(file, &layer),
        "Activation" => {
            let activation = activation_name(file, layer.argument(file, 0, "activation")?)?;
            let input = resolve_value(file, applied.positional().first().copied()?);
            let dense = applied_layer_output(file, input)?;
            Some(OutputLayer {
                node: output,
                activation,
                ..dense
            })
        }
        _ => None,
    }
}

fn dense_output<'t>(file: &Context<'t>, dense: &Call<'t>) -> Option<OutputLayer<'t>> {
    if dense.callee_name(file) != "Dense" {
        return None;
    }
    let activation = match dense.argument(file, 1, "activation") {
        Some(activation) => activation_name(file, activation)?,
        None => "linear",
    };
    Some(OutputLayer {
        node: dense.node,
        units: dense_units(file, dense),
        activation,
    })
}

/// The literal unit count of a `Dense` layer (through one assignment of a name).
pub fn dense_units<'t>(file: &Context<'t>, dense: &Call<'t>) -> Option<f64> {
    let units = dense.argument(file, 0, "units")?;
    number(file, resolve_value(file, units))
}

/// `"softmax"`, `tf.nn.softmax`, `keras.activations.sigmoid`, `None` → the lower-case name.
pub fn activation_name<'t>(file: &Context<'t>, activation: Node<'t>) -> Option<&'t str> {
    let activation = unparenthesized(activation);
    if activation.kind_name() == "none" {
        return Some("linear");
    }
    if let Some(value) = string_value(file.source(), activation) {
        return Some(value);
    }
    let text = file.source().node_text(activation);
    (matches!(activation.kind_name(), "identifier" | "attribute"))
        .then(|| text.rsplit('.').next().unwrap_or(text))
}

fn compiled_loss<'t>(file: &Context<'t>, loss: Node<'t>) -> Option<CompiledLoss<'t>> {
    let loss = unparenthesized(loss);
    if let Some(name) = string_value(file.source(), loss) {
        return Some(CompiledLoss {
            node: loss,
            name: name.to_lowercase(),
            from_logits: false,
        });
    }
    if let Some(call) = Call::new(loss) {
        let from_logits = call
            .keyword(file, "from_logits")
            .is_some_and(|flag| flag.kind_name() == "true");
        return Some(CompiledLoss {
            node: loss,
            name: snake_case(call.callee_name(file)),
            from_logits,
        });
    }
    let text = file.node_text(loss);
    matches!(loss.kind_name(), "identifier" | "attribute").then(|| CompiledLoss {
        node: loss,
        name: snake_case(text.rsplit('.').next().unwrap_or(text)),
        from_logits: false,
    })
}

/// `CategoricalCrossentropy` → `categorical_crossentropy`.
fn snake_case(name: &str) -> String {
    let mut snake = String::with_capacity(name.len() + 4);
    for (index, character) in name.chars().enumerate() {
        if character.is_uppercase() {
            if index > 0 {
                snake.push('_');
            }
            snake.extend(character.to_lowercase());
        } else {
            snake.push(character);
        }
    }
    snake
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_case_of_loss_classes() {
        assert_eq!(
            snake_case("CategoricalCrossentropy"),
            "categorical_crossentropy"
        );
        assert_eq!(snake_case("binary_crossentropy"), "binary_crossentropy");
    }
}
