//! What a metric measures, from the name a framework gave it.
//!
//! Names are split into lowercase words at `/ . - _`, spaces, other punctuation and camelCase
//! boundaries (`Loss/train`, `val_loss`, `lossD`, `lr-Adam` all become word lists). Rules then
//! look at the words, not at spellings: a context word (`val`, `eval`, `test`...) decides
//! between the train and validation roles, and a few families (loss, accuracy, learning rate,
//! RL statistics, system counters) are recognised by their key words. Special cases that share
//! a key word with a broader family (`loss_scale`, `entropy_loss`, `value_loss`, `d_loss`) are
//! tested before it.

use fmr_core::MetricRole;

/// Words that mark a metric as measured on held-out data.
const HELD_OUT_WORDS: &[&str] = &[
    "val",
    "valid",
    "validation",
    "eval",
    "evaluation",
    "test",
    "dev",
    "holdout",
];

/// Words that count things per unit of time (`samples_per_second`, `tokens/s`).
const COUNTED_WORDS: &[&str] = &[
    "samples",
    "sample",
    "tokens",
    "token",
    "steps",
    "examples",
    "images",
    "it",
    "its",
    "iters",
    "items",
    "seqs",
    "sequences",
    "batches",
    "frames",
];

const SECOND_WORDS: &[&str] = &["second", "seconds", "sec", "s"];

/// Words naming a duration; with a unit of work (`step`, `iter`, `batch`) they make a step time.
const DURATION_WORDS: &[&str] = &[
    "time", "duration", "latency", "sec", "secs", "seconds", "s", "ms",
];

const WORK_UNIT_WORDS: &[&str] = &[
    "step",
    "iter",
    "iteration",
    "batch",
    "forward",
    "backward",
    "fwd",
    "bwd",
    "data",
];

const MEMORY_WORDS: &[&str] = &["memory", "mem", "vram", "allocated", "reserved", "rss"];

/// The role of the metric called `tag`, or `None` when the name says nothing we use (such
/// series stay available to detectors that look at every metric).
pub fn role_of(tag: &str) -> Option<MetricRole> {
    let words = words(tag);
    let has = |word: &str| words.iter().any(|w| w == word);
    let has_any = |list: &[&str]| words.iter().any(|w| list.contains(&w.as_str()));
    let held_out = has_any(HELD_OUT_WORDS);

    if is_loss_scale(&words) {
        return Some(MetricRole::LossScale);
    }
    if is_layer_gradient(tag) {
        return Some(MetricRole::LayerGradNorm);
    }
    if is_rate_per_second(&words) || has_any(&["throughput", "fps", "tps", "mfu"]) {
        return Some(MetricRole::Throughput);
    }
    if has("runtime") {
        // `train_runtime` is the time training took; `eval_runtime` times an evaluation pass,
        // not a training step.
        return (!held_out).then_some(MetricRole::StepTime);
    }
    if has_any(DURATION_WORDS) && has_any(WORK_UNIT_WORDS) {
        return Some(MetricRole::StepTime);
    }
    if has_any(MEMORY_WORDS) {
        return Some(MetricRole::Memory);
    }
    if has("loss") || has("lossd") || has("lossg") || has("dloss") || has("gloss") {
        return loss_role(&words, held_out);
    }
    if has_any(&["err", "error"]) && has_any(&["d", "g"]) && words.len() == 2 {
        // PyTorch's DCGAN example names its losses `errD` and `errG`.
        return Some(if has("d") {
            MetricRole::DLoss
        } else {
            MetricRole::GLoss
        });
    }
    if has_any(&["kl", "approxkl", "kldiv", "kld"]) {
        return Some(MetricRole::Kl);
    }
    if has_any(&["acc", "accuracy", "acc1", "acc5", "top1", "top5"]) {
        return Some(if held_out {
            MetricRole::ValAccuracy
        } else {
            MetricRole::TrainAccuracy
        });
    }
    if has("lr") || has("learningrate") || (has("learning") && has("rate")) {
        return Some(MetricRole::LearningRate);
    }
    if has("gradnorm") || (has_any(&["grad", "grads", "gradient", "gradients"]) && has("norm")) {
        return Some(MetricRole::GradNorm);
    }
    if has_any(&[
        "weight",
        "weights",
        "param",
        "params",
        "parameter",
        "parameters",
    ]) && has("norm")
    {
        return Some(MetricRole::WeightNorm);
    }
    if has("update") && has_any(&["ratio", "scale"]) {
        return Some(MetricRole::UpdateRatio);
    }
    if has("entropy") {
        return Some(MetricRole::Entropy);
    }
    if has_any(&["clipfrac", "clipfraction"]) || (has("clip") && has_any(&["fraction", "frac"])) {
        return Some(MetricRole::ClipFraction);
    }
    if has("explained") && has_any(&["variance", "var"]) {
        return Some(MetricRole::ExplainedVariance);
    }
    if has_any(&["ep", "episode", "episodes"]) && has_any(&["len", "length", "lengths"]) {
        return Some(MetricRole::EpisodeLength);
    }
    if has_any(&["reward", "rewards", "rew", "return", "returns"]) || is_rl_score(&words) {
        return Some(MetricRole::Reward);
    }
    if (has_any(&["winrate", "win"]) && has_any(&["rate", "winrate"]))
        || (has("success") && has_any(&["rate", "ratio", "fraction"]))
    {
        // Win rates and success rates are the independent measures of an RL or RLHF policy:
        // rewards in direction (higher is better), and what reward hacking is judged against.
        return Some(MetricRole::Reward);
    }
    if has_any(&["dead", "dormant"]) {
        return Some(MetricRole::DeadFraction);
    }
    if has("codebook")
        || (has_any(&["code", "codes"]) && has_any(&["usage", "used", "active", "utilization"]))
    {
        return Some(MetricRole::CodebookUsage);
    }
    if has("perplexity") && has_any(&["vq", "quantizer", "quantize", "code", "codes"]) {
        return Some(MetricRole::CodebookUsage);
    }
    if has("perplexity") && words.len() == 1 {
        // VQ-VAE code logs the codebook's perplexity under this bare name; a language model's
        // perplexity comes with a split (`eval_perplexity`) and is left unclassified.
        return Some(MetricRole::CodebookUsage);
    }
    None
}

/// The role of a name containing a loss word.
fn loss_role(words: &[String], held_out: bool) -> Option<MetricRole> {
    let has = |word: &str| words.iter().any(|w| w == word);
    let has_any = |list: &[&str]| words.iter().any(|w| list.contains(&w.as_str()));
    if has("entropy") {
        return Some(MetricRole::Entropy);
    }
    if has_any(&["value", "vf", "critic", "qf", "qf1", "qf2", "q", "td"]) {
        return Some(MetricRole::ValueLoss);
    }
    if has_any(&["kl", "kld", "kldiv"]) {
        return Some(MetricRole::Kl);
    }
    if has_any(&["d", "disc", "discriminator", "lossd", "dloss"]) {
        return Some(MetricRole::DLoss);
    }
    if has_any(&["g", "gen", "generator", "lossg", "gloss"]) {
        return Some(MetricRole::GLoss);
    }
    if has_any(&["policy", "pg", "actor", "coef"]) {
        // RL objective terms (policy gradient, actor, entropy-coefficient losses) have no fixed
        // sign or floor: reading them as the training loss would misjudge their shape.
        return None;
    }
    Some(if held_out {
        MetricRole::ValLoss
    } else {
        MetricRole::TrainLoss
    })
}

/// Words that make a name about gradients.
const GRADIENT_WORDS: &[&str] = &["grad", "grads", "gradient", "gradients", "gradnorm"];

/// Words that may sit beside a gradient word without naming a part of the model: norms and
/// statistics, splits, clipping, and the word "layer" itself (`layer_grad_norm/...`).
const NOT_A_MODULE_WORDS: &[&str] = &[
    "norm",
    "norms",
    "l2",
    "l1",
    "mean",
    "max",
    "min",
    "std",
    "var",
    "avg",
    "sum",
    "sq",
    "total",
    "global",
    "all",
    "overall",
    "model",
    "train",
    "training",
    "step",
    "epoch",
    "clip",
    "clipped",
    "unclipped",
    "pre",
    "post",
    "before",
    "after",
    "coef",
    "ratio",
    "scaled",
    "unscaled",
    "layer",
    "layers",
    "layerwise",
    "per",
    "param",
    "params",
    "parameter",
    "parameters",
    "optimizer",
    "optim",
    "opt",
];

/// A gradient norm of one layer or parameter rather than of the whole model:
/// `grad_norm/encoder.layers.3.attn.weight`, W&B's `gradients/fc1.weight`, `grad/layer3`,
/// `layer_grad_norm/h.0`, TensorBoard's `grads/conv1`, `encoder.layers.3/grad_norm`,
/// `grad_norm_first`. The name has a part that is only about gradients (`grad_norm`,
/// `gradients`) and other parts that name a piece of the model; `train/grad_norm`,
/// `grad_norm/total` and `grad_norm_clipped` stay the global norm.
fn is_layer_gradient(tag: &str) -> bool {
    // Path parts: at `/`, else at `.` for W&B's flattened keys (`grad_norm.fc1`).
    let parts: Vec<&str> = if tag.contains('/') {
        tag.split('/').filter(|p| !p.is_empty()).collect()
    } else {
        tag.split('.').filter(|p| !p.is_empty()).collect()
    };
    let is_gradient_word = |w: &String| GRADIENT_WORDS.contains(&w.as_str());
    let names_module = |w: &String| {
        !is_gradient_word(w)
            && !NOT_A_MODULE_WORDS.contains(&w.as_str())
            && !HELD_OUT_WORDS.contains(&w.as_str())
    };
    let part_words: Vec<Vec<String>> = parts.iter().map(|p| words(p)).collect();
    // A part made only of gradient words and statistics: `grad_norm`, `gradients`, `grads`.
    let gradient_part = part_words
        .iter()
        .position(|w| w.iter().any(is_gradient_word) && !w.iter().any(names_module));
    match gradient_part {
        Some(index) if parts.len() > 1 => part_words
            .iter()
            .enumerate()
            .any(|(i, w)| i != index && w.iter().any(names_module)),
        _ => {
            // One part: a norm of a named piece (`encoder_grad_norm`, `grad_norm_first`).
            let all = words(tag);
            all.iter().any(is_gradient_word)
                && all.iter().any(|w| w == "norm" || w == "gradnorm")
                && all.iter().any(names_module)
                && parts.len() == 1
        }
    }
}

/// `loss_scale`, `loss-scale`, `scaler/scale`, `lossscale`, `grad_scale`.
fn is_loss_scale(words: &[String]) -> bool {
    let has = |word: &str| words.iter().any(|w| w == word);
    has("lossscale") || (has("scale") && (has("loss") || has("scaler") || has("grad")))
}

/// Words that mark a reward-like metric as an independent measure of the policy (held-out
/// episodes, a gold reward model, human or judge ratings, a win or success rate) rather than
/// the reward it is trained on.
const INDEPENDENT_WORDS: &[&str] = &[
    "true", "gold", "oracle", "human", "judge", "win", "winrate", "success", "real", "task",
];

/// Whether the metric `tag` measures the policy independently of its training reward: see
/// [`INDEPENDENT_WORDS`] and the held-out words (`eval/mean_reward`).
pub(crate) fn is_independent_measure(tag: &str) -> bool {
    words(tag)
        .iter()
        .any(|w| INDEPENDENT_WORDS.contains(&w.as_str()) || HELD_OUT_WORDS.contains(&w.as_str()))
}

/// A reward model's score in RLHF logs: TRL's `ppo/mean_scores`, `objective/scores`,
/// `env/score`. A bare `score` (`f1_score`, `bleu_score`) is not a reward.
fn is_rl_score(words: &[String]) -> bool {
    let has_any = |list: &[&str]| words.iter().any(|w| list.contains(&w.as_str()));
    has_any(&["score", "scores"]) && has_any(&["ppo", "objective", "env", "rm", "rlhf"])
}

/// `<things> per <second>` or `<things>/<second>`: a rate, not a duration.
fn is_rate_per_second(words: &[String]) -> bool {
    words.windows(2).any(|pair| {
        let (first, second) = (pair[0].as_str(), pair[1].as_str());
        let counted = COUNTED_WORDS.contains(&first);
        counted && SECOND_WORDS.contains(&second)
    }) || words.windows(3).any(|triple| {
        COUNTED_WORDS.contains(&triple[0].as_str())
            && triple[1] == "per"
            && SECOND_WORDS.contains(&triple[2].as_str())
    })
}

/// Lowercase words of a metric name, split at punctuation, whitespace and camelCase humps.
pub(crate) fn words(tag: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut previous_lower = false;
    for c in tag.chars() {
        if !c.is_alphanumeric() {
            flush(&mut current, &mut words);
            previous_lower = false;
            continue;
        }
        if c.is_uppercase() && previous_lower {
            flush(&mut current, &mut words);
        }
        previous_lower = c.is_lowercase() || c.is_ascii_digit();
        current.extend(c.to_lowercase());
    }
    flush(&mut current, &mut words);
    words
}

fn flush(current: &mut String, words: &mut Vec<String>) {
    if !current.is_empty() {
        words.push(std::mem::take(current));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use MetricRole::*;

    fn check(cases: &[(&str, Option<MetricRole>)]) {
        let wrong: Vec<String> = cases
            .iter()
            .filter(|(tag, want)| role_of(tag) != *want)
            .map(|(tag, want)| format!("{tag}: got {:?}, want {want:?}", role_of(tag)))
            .collect();
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn train_losses() {
        check(&[
            ("train/loss", Some(TrainLoss)),
            ("loss", Some(TrainLoss)),
            ("Loss", Some(TrainLoss)),
            ("Loss/train", Some(TrainLoss)),
            ("Loss_train", Some(TrainLoss)),
            ("train_loss", Some(TrainLoss)),
            ("train_loss_step", Some(TrainLoss)),
            ("train_loss_epoch", Some(TrainLoss)),
            ("epoch_loss", Some(TrainLoss)),
            ("trainLoss", Some(TrainLoss)),
            ("recon_loss", Some(TrainLoss)),
        ]);
    }

    #[test]
    fn validation_losses_are_never_train_losses() {
        check(&[
            ("eval_loss", Some(ValLoss)),
            ("val_loss", Some(ValLoss)),
            ("val/loss", Some(ValLoss)),
            ("validation_loss", Some(ValLoss)),
            ("test_loss", Some(ValLoss)),
            ("Loss/val", Some(ValLoss)),
            ("Loss_val", Some(ValLoss)),
            ("eval/loss", Some(ValLoss)),
            ("valLoss", Some(ValLoss)),
            ("val loss", Some(ValLoss)),
        ]);
    }

    #[test]
    fn accuracies() {
        check(&[
            ("acc", Some(TrainAccuracy)),
            ("accuracy", Some(TrainAccuracy)),
            ("train_acc", Some(TrainAccuracy)),
            ("train/accuracy", Some(TrainAccuracy)),
            ("categorical_accuracy", Some(TrainAccuracy)),
            ("val_acc", Some(ValAccuracy)),
            ("val_accuracy", Some(ValAccuracy)),
            ("eval_accuracy", Some(ValAccuracy)),
            ("val/acc", Some(ValAccuracy)),
            ("test_acc", Some(ValAccuracy)),
            ("eval/accuracy", Some(ValAccuracy)),
            ("train_precision", None),
        ]);
    }

    #[test]
    fn optimizer_and_numerics() {
        check(&[
            ("lr", Some(LearningRate)),
            ("learning_rate", Some(LearningRate)),
            ("lr-Adam", Some(LearningRate)),
            ("train/learning_rate", Some(LearningRate)),
            ("grad_norm", Some(GradNorm)),
            ("gradient_norm", Some(GradNorm)),
            ("train/grad_norm", Some(GradNorm)),
            ("weight_norm", Some(WeightNorm)),
            ("loss_scale", Some(LossScale)),
            ("scaler/scale", Some(LossScale)),
            ("loss-scale", Some(LossScale)),
            ("train/grad_norm_clipped", Some(GradNorm)),
            ("grad_norm/total", Some(GradNorm)),
            ("grad_norm/global", Some(GradNorm)),
            ("max_grad_norm", Some(GradNorm)),
            ("model/gradient_norm", Some(GradNorm)),
        ]);
    }

    #[test]
    fn per_layer_gradient_norms() {
        check(&[
            (
                "grad_norm/encoder.layers.3.attn.weight",
                Some(LayerGradNorm),
            ),
            ("gradients/fc1.weight", Some(LayerGradNorm)),
            ("grad/layer3", Some(LayerGradNorm)),
            ("layer_grad_norm/h.0.mlp", Some(LayerGradNorm)),
            ("grads/conv1", Some(LayerGradNorm)),
            ("train/grad_norm/layer_0", Some(LayerGradNorm)),
            ("encoder.layers.3/grad_norm", Some(LayerGradNorm)),
            ("grad_norm.fc1", Some(LayerGradNorm)),
            ("grad_norm_first", Some(LayerGradNorm)),
            ("encoder_grad_norm", Some(LayerGradNorm)),
            ("gradients/loss_head.weight", Some(LayerGradNorm)),
            ("train/grad_penalty", None),
            ("gradient_accumulation_steps", None),
            ("grad_scale", Some(LossScale)),
        ]);
    }

    #[test]
    fn reinforcement_learning() {
        check(&[
            ("rollout/ep_rew_mean", Some(Reward)),
            ("episode_reward_mean", Some(Reward)),
            ("reward", Some(Reward)),
            ("ep_rew_mean", Some(Reward)),
            ("return", Some(Reward)),
            ("eval/mean_reward", Some(Reward)),
            ("rollout/ep_len_mean", Some(EpisodeLength)),
            ("train/entropy_loss", Some(Entropy)),
            ("entropy", Some(Entropy)),
            ("train/approx_kl", Some(Kl)),
            ("kl", Some(Kl)),
            ("train/clip_fraction", Some(ClipFraction)),
            ("train/value_loss", Some(ValueLoss)),
            ("train/explained_variance", Some(ExplainedVariance)),
            ("train/loss", Some(TrainLoss)),
            ("train/policy_gradient_loss", None),
            ("train/actor_loss", None),
            ("train/critic_loss", Some(ValueLoss)),
            ("train/ent_coef_loss", None),
            ("train/qf1_loss", Some(ValueLoss)),
            ("td_loss", Some(ValueLoss)),
            ("ppo/mean_scores", Some(Reward)),
            ("objective/scores", Some(Reward)),
            ("env/reward_mean", Some(Reward)),
            ("objective/kl", Some(Kl)),
            ("gold_reward", Some(Reward)),
            ("eval/win_rate", Some(Reward)),
            ("eval/success_rate", Some(Reward)),
            ("f1_score", None),
            ("bleu_score", None),
            ("train/clip_range", None),
            ("train/n_updates", None),
            ("time/total_timesteps", None),
            ("time/time_elapsed", None),
        ]);
    }

    #[test]
    fn generative_models() {
        check(&[
            ("loss_D", Some(DLoss)),
            ("d_loss", Some(DLoss)),
            ("discriminator_loss", Some(DLoss)),
            ("lossD", Some(DLoss)),
            ("loss_G", Some(GLoss)),
            ("g_loss", Some(GLoss)),
            ("generator_loss", Some(GLoss)),
            ("perplexity", Some(CodebookUsage)),
            ("codebook_usage", Some(CodebookUsage)),
            ("kl_loss", Some(Kl)),
            ("errD", Some(DLoss)),
            ("errG", Some(GLoss)),
            ("Loss_D", Some(DLoss)),
            ("loss_disc", Some(DLoss)),
            ("gen_loss", Some(GLoss)),
            ("vq/perplexity", Some(CodebookUsage)),
            ("quantizer/perplexity", Some(CodebookUsage)),
            ("codebook_perplexity", Some(CodebookUsage)),
            ("active_codes", Some(CodebookUsage)),
            ("code_utilization", Some(CodebookUsage)),
            ("train/perplexity", None),
            ("error_rate", None),
            ("eval/perplexité", None),
            ("eval_perplexity", None),
        ]);
    }

    #[test]
    fn system_counters() {
        check(&[
            ("throughput", Some(Throughput)),
            ("samples_per_second", Some(Throughput)),
            ("train_samples_per_second", Some(Throughput)),
            ("eval_samples_per_second", Some(Throughput)),
            ("train_steps_per_second", Some(Throughput)),
            ("tokens/s", Some(Throughput)),
            ("time/fps", Some(Throughput)),
            ("step_time", Some(StepTime)),
            ("time_per_step", Some(StepTime)),
            ("sec_per_step", Some(StepTime)),
            ("train_runtime", Some(StepTime)),
            ("eval_runtime", None),
            ("memory", Some(Memory)),
            ("mem_allocated", Some(Memory)),
            ("gpu/max_memory_allocated", Some(Memory)),
            ("memory/allocated_gb", Some(Memory)),
            ("iter_time", Some(StepTime)),
            ("perf/step_time_ms", Some(StepTime)),
            ("samples/sec", Some(Throughput)),
            ("tokens_per_sec", Some(Throughput)),
            ("mfu", Some(Throughput)),
            ("dead_fraction", Some(DeadFraction)),
            ("dormant_ratio", Some(DeadFraction)),
            ("frac_dead_relu", Some(DeadFraction)),
        ]);
    }

    #[test]
    fn unknown_names_have_no_role() {
        check(&[
            ("epoch", None),
            ("step", None),
            ("total_flos", None),
            ("eval/log_prob_min", None),
            ("mae", None),
            ("", None),
            ("///", None),
        ]);
    }

    #[test]
    fn independent_measures_of_a_policy() {
        for tag in [
            "eval/mean_reward",
            "gold_reward",
            "eval/win_rate",
            "true_return",
            "success_rate",
        ] {
            assert!(is_independent_measure(tag), "{tag}");
        }
        for tag in [
            "reward",
            "rollout/ep_rew_mean",
            "ppo/mean_scores",
            "objective/rlhf_reward",
        ] {
            assert!(!is_independent_measure(tag), "{tag}");
        }
    }

    #[test]
    fn words_split_at_separators_and_humps() {
        assert_eq!(words("Loss/train"), ["loss", "train"]);
        assert_eq!(words("lr-Adam"), ["lr", "adam"]);
        assert_eq!(words("trainLoss_step.v2"), ["train", "loss", "step", "v2"]);
        assert_eq!(words("NLL"), ["nll"]);
        assert_eq!(words("eval/perplexité"), ["eval", "perplexité"]);
    }
}
