//! Canonical hyperparameter names and the many ways papers, configs and code spell them.
//!
//! The table is data: [`PARAMS`] lists the canonical hyperparameters, [`SYNONYMS`] maps each
//! spelling to one of them. A spelling can be tied to a context: `eps` is Adam's epsilon inside
//! `AdamW(...)` or under an `optimizer:` key, but a normalisation constant in `LayerNorm(eps=...)`;
//! `gamma` is the RL discount except in `StepLR(gamma=...)`. Spellings are compared after
//! [`normalize`], so `learning_rate`, `learningRate`, `Learning rate` and `LEARNING_RATE` are one.

use std::collections::HashMap;
use std::sync::LazyLock;

use crate::syntax::words;

/// What a hyperparameter's value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Number,
    /// A name from a small vocabulary: optimizer, schedule, precision.
    Text,
    /// Two numbers that split into two hyperparameters (Adam's betas).
    Pair(&'static str, &'static str),
}

/// One canonical hyperparameter.
#[derive(Debug)]
pub struct ParamInfo {
    /// Canonical snake_case name, e.g. `learning_rate`.
    pub name: &'static str,
    pub kind: Kind,
    /// How a sentence names it, e.g. `learning rate`.
    pub label: &'static str,
}

const fn number(name: &'static str, label: &'static str) -> ParamInfo {
    ParamInfo {
        name,
        kind: Kind::Number,
        label,
    }
}

const fn text(name: &'static str, label: &'static str) -> ParamInfo {
    ParamInfo {
        name,
        kind: Kind::Text,
        label,
    }
}

/// The hyperparameters fmr knows how to look for.
pub const PARAMS: &[ParamInfo] = &[
    number("learning_rate", "learning rate"),
    number("min_learning_rate", "minimum learning rate"),
    number("batch_size", "batch size"),
    number("tokens_per_batch", "tokens per batch"),
    number("weight_decay", "weight decay"),
    number("adam_beta1", "Adam beta1"),
    number("adam_beta2", "Adam beta2"),
    ParamInfo {
        name: "adam_betas",
        kind: Kind::Pair("adam_beta1", "adam_beta2"),
        label: "Adam betas",
    },
    number("adam_epsilon", "Adam epsilon"),
    number("momentum", "momentum"),
    number("warmup_steps", "warmup steps"),
    number("warmup_ratio", "warmup ratio"),
    number("warmup_epochs", "warmup epochs"),
    number("warmup_tokens", "warmup in tokens"),
    number("max_steps", "training steps"),
    number("epochs", "epochs"),
    number("total_timesteps", "total environment steps"),
    text("lr_scheduler", "learning-rate schedule"),
    text("optimizer", "optimizer"),
    number("dropout", "dropout"),
    number("attention_dropout", "attention dropout"),
    number("drop_path_rate", "stochastic depth rate"),
    number("max_grad_norm", "gradient clipping norm"),
    number("label_smoothing", "label smoothing"),
    number("ema_decay", "EMA decay"),
    number("seq_len", "sequence length"),
    number("gradient_accumulation_steps", "gradient accumulation steps"),
    text("precision", "precision"),
    number("temperature", "temperature"),
    number("entropy_coef", "entropy coefficient"),
    number("value_coef", "value loss coefficient"),
    number("clip_range", "PPO clip range"),
    number("gamma", "discount factor gamma"),
    number("gae_lambda", "GAE lambda"),
    number("commitment_cost", "VQ commitment cost"),
    number("codebook_size", "codebook size"),
    number("hidden_size", "hidden size"),
    number("num_layers", "number of layers"),
    number("num_heads", "number of attention heads"),
    number("num_devices", "number of devices"),
    number("mixup_alpha", "mixup alpha"),
    number("cutmix_alpha", "CutMix alpha"),
];

/// The known hyperparameter called `name`, if any.
pub fn param_info(name: &str) -> Option<&'static ParamInfo> {
    PARAMS.iter().find(|info| info.name == name)
}

/// Where a value was met; decides which context-bound spellings apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ctx {
    /// An optimizer construction or an `optimizer:` section.
    Optimizer,
    /// A learning-rate scheduler.
    Scheduler,
    /// A dropout layer or section.
    Dropout,
    /// A loss function or module.
    Loss,
    /// An exponential moving average of weights.
    Ema,
    /// A vector quantizer (VQ-VAE).
    Quantizer,
    /// A reinforcement-learning algorithm (PPO, SAC, ...).
    Rl,
    /// A normalisation layer (`eps`, `momentum` mean something else there).
    Norm,
    /// A gradient-clipping call.
    Clip,
    /// Evaluation, validation, prediction or generation settings.
    Eval,
    /// A keyword argument of an ordinary call (not a config-like call such as `dict(...)`).
    CallArgument,
    /// A name written in a paper's table.
    Paper,
}

/// A set of [`Ctx`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Contexts(u16);

impl Contexts {
    pub const NONE: Contexts = Contexts(0);

    pub fn of(context: Ctx) -> Self {
        Self::NONE.with(context)
    }

    pub fn with(self, context: Ctx) -> Self {
        Self(self.0 | 1 << context as u16)
    }

    pub fn union(self, other: Contexts) -> Self {
        Self(self.0 | other.0)
    }

    pub fn has(self, context: Ctx) -> bool {
        self.0 & (1 << context as u16) != 0
    }

    fn any(self, contexts: &[Ctx]) -> bool {
        contexts.iter().any(|context| self.has(*context))
    }

    /// The contexts a name implies: `optimizer`, `AdamW` and `optim_cfg` imply
    /// [`Ctx::Optimizer`], `val_loader` implies [`Ctx::Eval`], `CosineAnnealingLR` implies
    /// [`Ctx::Scheduler`].
    pub fn from_name(name: &str) -> Self {
        let mut contexts = Self::NONE;
        if name.len() > 2 && name.ends_with("LR") && name.starts_with(char::is_uppercase) {
            contexts = contexts.with(Ctx::Scheduler);
        }
        for word in words(name) {
            let word = word.as_str();
            let context = match word {
                "optim" | "optimizer" | "optimiser" | "optimizers" | "opt" | "adam" | "adamw"
                | "sgd" | "lamb" | "lion" | "adafactor" | "rmsprop" | "lars" | "adagrad"
                | "optax" | "muon" => Ctx::Optimizer,
                "sched" | "scheduler" | "schedule" | "schedules" | "annealing" => Ctx::Scheduler,
                "dropout" | "drop" => Ctx::Dropout,
                "loss" | "criterion" | "focal" | "contrastive" | "infonce" | "nce" => Ctx::Loss,
                "ema" | "averaged" | "swa" | "polyak" | "moving" => Ctx::Ema,
                "vq" | "vqvae" | "quantizer" | "quantize" | "quantizers" | "codebook"
                | "quantiser" => Ctx::Quantizer,
                "ppo" | "a2c" | "sac" | "dqn" | "td3" | "ddpg" | "trpo" | "rl" | "agent"
                | "algo" | "algorithm" | "gae" => Ctx::Rl,
                "clip" | "clipping" => Ctx::Clip,
                "eval" | "evaluation" | "evaluate" | "val" | "valid" | "validation" | "test"
                | "testing" | "predict" | "prediction" | "inference" | "generate"
                | "generation" => Ctx::Eval,
                _ if word.starts_with("norm")
                    || word.ends_with("norm")
                    || matches!(word, "ln" | "bn" | "batchnorm" | "layernorm") =>
                {
                    Ctx::Norm
                }
                _ => continue,
            };
            contexts = contexts.with(context);
        }
        // `train_and_evaluate`, `train_eval.py`: training code that also evaluates.
        let trains = words(name).iter().any(|word| {
            matches!(
                word.as_str(),
                "train" | "training" | "finetune" | "pretrain" | "fit"
            )
        });
        if trains {
            contexts = Self(contexts.0 & !(1 << Eval as u16));
        }
        contexts
    }
}

/// Where a spelling applies.
#[derive(Debug, Clone, Copy)]
pub enum Scope {
    Anywhere,
    /// Only when one of these contexts holds.
    Only(&'static [Ctx]),
    /// Except when one of these contexts holds.
    Not(&'static [Ctx]),
}

/// How a value under this spelling becomes the canonical value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transform {
    /// The value is the value.
    Same,
    /// A batch size per device (or micro-batch), before accumulation and data parallelism.
    PerDevice,
    /// A flag: `fp16=True` means precision `fp16`; `False` says nothing.
    FlagMeans(&'static str),
    /// Gradient clipping by value rather than by norm.
    ByValue,
}

/// One spelling of a canonical hyperparameter.
#[derive(Debug)]
pub struct Synonym {
    pub spelling: &'static str,
    pub param: &'static str,
    pub scope: Scope,
    pub transform: Transform,
}

const fn any(spelling: &'static str, param: &'static str) -> Synonym {
    Synonym {
        spelling,
        param,
        scope: Scope::Anywhere,
        transform: Transform::Same,
    }
}

const fn only(spelling: &'static str, param: &'static str, contexts: &'static [Ctx]) -> Synonym {
    Synonym {
        spelling,
        param,
        scope: Scope::Only(contexts),
        transform: Transform::Same,
    }
}

const fn not(spelling: &'static str, param: &'static str, contexts: &'static [Ctx]) -> Synonym {
    Synonym {
        spelling,
        param,
        scope: Scope::Not(contexts),
        transform: Transform::Same,
    }
}

const fn per_device(spelling: &'static str) -> Synonym {
    Synonym {
        spelling,
        param: "batch_size",
        scope: Scope::Anywhere,
        transform: Transform::PerDevice,
    }
}

const fn flag(spelling: &'static str, means: &'static str) -> Synonym {
    Synonym {
        spelling,
        param: "precision",
        scope: Scope::Anywhere,
        transform: Transform::FlagMeans(means),
    }
}

const fn by_value(spelling: &'static str, scope: Scope) -> Synonym {
    Synonym {
        spelling,
        param: "max_grad_norm",
        scope,
        transform: Transform::ByValue,
    }
}

use Ctx::{
    CallArgument, Clip, Dropout, Ema, Eval, Loss, Norm, Optimizer, Paper, Quantizer, Rl, Scheduler,
};

/// Spellings of every canonical hyperparameter. When a spelling appears twice, the first entry
/// whose scope holds wins.
pub const SYNONYMS: &[Synonym] = &[
    // learning rate
    any("learning_rate", "learning_rate"),
    any("lr", "learning_rate"),
    any("lr0", "learning_rate"),
    any("base_lr", "learning_rate"),
    any("base learning rate", "learning_rate"),
    any("max_lr", "learning_rate"),
    any("lr_max", "learning_rate"),
    any("peak_lr", "learning_rate"),
    any("peak learning rate", "learning_rate"),
    any("max learning rate", "learning_rate"),
    any("maximum learning rate", "learning_rate"),
    any("init_lr", "learning_rate"),
    any("initial learning rate", "learning_rate"),
    any("initial lr", "learning_rate"),
    only("peak_value", "learning_rate", &[Scheduler]),
    // minimum learning rate
    any("min_lr", "min_learning_rate"),
    any("lr_min", "min_learning_rate"),
    any("min_learning_rate", "min_learning_rate"),
    any("minimum learning rate", "min_learning_rate"),
    any("final learning rate", "min_learning_rate"),
    any("final lr", "min_learning_rate"),
    any("end_lr", "min_learning_rate"),
    any("lr_end", "min_learning_rate"),
    any("eta_min", "min_learning_rate"),
    only("end_value", "min_learning_rate", &[Scheduler]),
    // batch size
    any("batch_size", "batch_size"),
    any("bs", "batch_size"),
    any("batch", "batch_size"),
    any("train_batch_size", "batch_size"),
    any("training batch size", "batch_size"),
    any("global_batch_size", "batch_size"),
    any("effective batch size", "batch_size"),
    any("minibatch size", "batch_size"),
    any("mini batch size", "batch_size"),
    any("samples per batch", "batch_size"),
    any("sequences per batch", "batch_size"),
    per_device("per_device_train_batch_size"),
    per_device("per_gpu_train_batch_size"),
    per_device("per device batch size"),
    per_device("per gpu batch size"),
    per_device("batch_size_per_gpu"),
    per_device("batch_size_per_device"),
    per_device("micro_batch_size"),
    per_device("train_micro_batch_size_per_gpu"),
    per_device("device_batch_size"),
    // tokens per batch
    any("tokens per batch", "tokens_per_batch"),
    any("tokens_per_batch", "tokens_per_batch"),
    any("batch size in tokens", "tokens_per_batch"),
    any("batch_size_tokens", "tokens_per_batch"),
    any("tokens per step", "tokens_per_batch"),
    any("tokens per update", "tokens_per_batch"),
    // weight decay
    any("weight_decay", "weight_decay"),
    any("wd", "weight_decay"),
    any("l2", "weight_decay"),
    any("l2_reg", "weight_decay"),
    any("l2 regularization", "weight_decay"),
    any("l2 penalty", "weight_decay"),
    any("weight_decay_rate", "weight_decay"),
    // Adam
    any("adam_beta1", "adam_beta1"),
    not("beta1", "adam_beta1", &[Quantizer, Loss, Scheduler, Ema]),
    only("b1", "adam_beta1", &[Optimizer, Paper]),
    any("adam_beta2", "adam_beta2"),
    not("beta2", "adam_beta2", &[Quantizer, Loss, Scheduler, Ema]),
    only("b2", "adam_beta2", &[Optimizer, Paper]),
    not("betas", "adam_betas", &[Quantizer, Loss, Scheduler, Ema]),
    any("adam_betas", "adam_betas"),
    any("beta1 beta2", "adam_betas"),
    any("adam_epsilon", "adam_epsilon"),
    any("adam_eps", "adam_epsilon"),
    any("optimizer epsilon", "adam_epsilon"),
    only("epsilon", "clip_range", &[Rl]),
    only("eps", "adam_epsilon", &[Optimizer, Paper]),
    only("epsilon", "adam_epsilon", &[Optimizer, Paper]),
    not("momentum", "momentum", &[Norm, Ema, Quantizer]),
    any("sgd momentum", "momentum"),
    any("nesterov momentum", "momentum"),
    // warmup
    any("warmup_steps", "warmup_steps"),
    any("num_warmup_steps", "warmup_steps"),
    any("n_warmup_steps", "warmup_steps"),
    any("warmup_step", "warmup_steps"),
    any("warmup_iters", "warmup_steps"),
    any("warmup iterations", "warmup_steps"),
    any("warmup_updates", "warmup_steps"),
    any("warmup_num_steps", "warmup_steps"),
    any("lr_warmup_steps", "warmup_steps"),
    any("warmup", "warmup_steps"),
    any("linear warmup", "warmup_steps"),
    any("learning rate warmup", "warmup_steps"),
    any("lr warmup", "warmup_steps"),
    only("warmup_length", "warmup_steps", &[Scheduler, Paper]),
    any("warmup_ratio", "warmup_ratio"),
    any("warmup_fraction", "warmup_ratio"),
    any("warmup_proportion", "warmup_ratio"),
    any("warmup_pct", "warmup_ratio"),
    only("pct_start", "warmup_ratio", &[Scheduler]),
    any("warmup_epochs", "warmup_epochs"),
    any("warmup_epoch", "warmup_epochs"),
    // training length
    any("max_steps", "max_steps"),
    any("training steps", "max_steps"),
    any("train_steps", "max_steps"),
    any("train_iters", "max_steps"),
    any("num_training_steps", "max_steps"),
    any("total_steps", "max_steps"),
    any("total_iters", "max_steps"),
    any("max_iters", "max_steps"),
    any("max_iter", "max_steps"),
    any("max iterations", "max_steps"),
    any("num_iterations", "max_steps"),
    any("iterations", "max_steps"),
    any("num_updates", "max_steps"),
    any("max_updates", "max_steps"),
    any("training updates", "max_steps"),
    only("updates", "max_steps", &[Paper]),
    only("steps", "max_steps", &[Paper]),
    only("decay_steps", "max_steps", &[Scheduler]),
    any("epochs", "epochs"),
    any("epoch", "epochs"),
    any("num_epochs", "epochs"),
    any("num_train_epochs", "epochs"),
    any("max_epochs", "epochs"),
    any("train_epochs", "epochs"),
    any("total_epochs", "epochs"),
    any("training epochs", "epochs"),
    not("n_epochs", "epochs", &[Rl]),
    any("total_timesteps", "total_timesteps"),
    any("timesteps", "total_timesteps"),
    any("environment steps", "total_timesteps"),
    any("env steps", "total_timesteps"),
    // schedule
    any("lr_scheduler", "lr_scheduler"),
    any("lr_scheduler_type", "lr_scheduler"),
    any("scheduler", "lr_scheduler"),
    any("scheduler_type", "lr_scheduler"),
    any("lr_schedule", "lr_scheduler"),
    any("learning rate schedule", "lr_scheduler"),
    any("learning rate decay", "lr_scheduler"),
    any("lr decay", "lr_scheduler"),
    any("decay_style", "lr_scheduler"),
    any("lr_decay_style", "lr_scheduler"),
    any("lr_policy", "lr_scheduler"),
    only("schedule", "lr_scheduler", &[Paper]),
    only("name", "lr_scheduler", &[Scheduler]),
    only("type", "lr_scheduler", &[Scheduler]),
    only("_target_", "lr_scheduler", &[Scheduler]),
    only("class_path", "lr_scheduler", &[Scheduler]),
    only("policy", "lr_scheduler", &[Scheduler]),
    // optimizer
    any("optimizer", "optimizer"),
    any("optimiser", "optimizer"),
    any("optim", "optimizer"),
    any("opt", "optimizer"),
    any("optimizer_type", "optimizer"),
    any("optimizer_name", "optimizer"),
    any("optimizer_class", "optimizer"),
    only("name", "optimizer", &[Optimizer]),
    only("type", "optimizer", &[Optimizer]),
    only("_target_", "optimizer", &[Optimizer]),
    only("class_path", "optimizer", &[Optimizer]),
    // dropout
    any("dropout", "dropout"),
    any("dropout rate", "dropout"),
    any("dropout_prob", "dropout"),
    any("dropout probability", "dropout"),
    any("dropout_p", "dropout"),
    any("drop_out", "dropout"),
    any("drop_rate", "dropout"),
    any("pdrop", "dropout"),
    any("hidden_dropout", "dropout"),
    any("hidden_dropout_prob", "dropout"),
    any("resid_pdrop", "dropout"),
    any("resid_dropout", "dropout"),
    any("residual dropout", "dropout"),
    any("embd_pdrop", "dropout"),
    any("emb_dropout", "dropout"),
    any("embedding dropout", "dropout"),
    any("classifier_dropout", "dropout"),
    only("p", "dropout", &[Dropout]),
    only("rate", "dropout", &[Dropout]),
    any("attention_dropout", "attention_dropout"),
    any("attention_dropout_prob", "attention_dropout"),
    any("attention_probs_dropout_prob", "attention_dropout"),
    any("attn_dropout", "attention_dropout"),
    any("attn_pdrop", "attention_dropout"),
    any("attn_drop", "attention_dropout"),
    any("attn_drop_rate", "attention_dropout"),
    any("dropout_attn", "attention_dropout"),
    any("drop_path_rate", "drop_path_rate"),
    any("drop_path", "drop_path_rate"),
    any("droppath", "drop_path_rate"),
    any("stochastic depth", "drop_path_rate"),
    any("stochastic_depth_rate", "drop_path_rate"),
    // gradient clipping
    any("max_grad_norm", "max_grad_norm"),
    any("max gradient norm", "max_grad_norm"),
    any("grad_clip", "max_grad_norm"),
    any("grad clipping", "max_grad_norm"),
    any("gradient clipping", "max_grad_norm"),
    any("gradient clipping threshold", "max_grad_norm"),
    any("gradient clipping norm", "max_grad_norm"),
    any("gradient norm clipping", "max_grad_norm"),
    any("gradient_clip_val", "max_grad_norm"),
    any("gradient clip", "max_grad_norm"),
    any("clip_grad", "max_grad_norm"),
    any("clip_grad_norm", "max_grad_norm"),
    any("clip_gradient", "max_grad_norm"),
    any("grad_norm_clip", "max_grad_norm"),
    any("grad_clip_norm", "max_grad_norm"),
    any("clip_norm", "max_grad_norm"),
    any("clipnorm", "max_grad_norm"),
    any("global_clipnorm", "max_grad_norm"),
    any("clip threshold", "max_grad_norm"),
    only("max_norm", "max_grad_norm", &[Clip]),
    by_value("clipvalue", Scope::Anywhere),
    by_value("clip_grad_value", Scope::Anywhere),
    by_value("gradient clipping value", Scope::Anywhere),
    by_value("clip_value", Scope::Only(&[Clip])),
    // label smoothing
    any("label_smoothing", "label_smoothing"),
    any("label_smoothing_factor", "label_smoothing"),
    any("label smoothing epsilon", "label_smoothing"),
    any("smoothing", "label_smoothing"),
    // EMA
    any("ema_decay", "ema_decay"),
    any("ema decay rate", "ema_decay"),
    any("ema_rate", "ema_decay"),
    any("ema_beta", "ema_decay"),
    any("ema_momentum", "ema_decay"),
    any("model_ema_decay", "ema_decay"),
    any("exponential moving average decay", "ema_decay"),
    any("ema", "ema_decay"),
    only("decay", "ema_decay", &[Ema]),
    only("beta", "ema_decay", &[Ema]),
    only("momentum", "ema_decay", &[Ema]),
    // sequence length
    any("seq_len", "seq_len"),
    any("seq_length", "seq_len"),
    any("sequence_length", "seq_len"),
    any("max_seq_length", "seq_len"),
    any("max_seq_len", "seq_len"),
    any("max sequence length", "seq_len"),
    any("max_length", "seq_len"),
    any("max_len", "seq_len"),
    any("block_size", "seq_len"),
    any("context_length", "seq_len"),
    any("context size", "seq_len"),
    any("ctx_len", "seq_len"),
    any("n_ctx", "seq_len"),
    any("model_max_length", "seq_len"),
    any("max_source_length", "seq_len"),
    any("input length", "seq_len"),
    // gradient accumulation
    any("gradient_accumulation_steps", "gradient_accumulation_steps"),
    any("gradient_accumulation", "gradient_accumulation_steps"),
    any("grad_accum", "gradient_accumulation_steps"),
    any("grad_accum_steps", "gradient_accumulation_steps"),
    any("grad_acc_steps", "gradient_accumulation_steps"),
    any("accumulate_grad_batches", "gradient_accumulation_steps"),
    any("accumulation_steps", "gradient_accumulation_steps"),
    any("accum_steps", "gradient_accumulation_steps"),
    any("accum_iter", "gradient_accumulation_steps"),
    any("update_freq", "gradient_accumulation_steps"),
    // precision
    any("precision", "precision"),
    any("mixed_precision", "precision"),
    any("training precision", "precision"),
    any("torch_dtype", "precision"),
    not("dtype", "precision", &[CallArgument]),
    flag("fp16", "fp16"),
    flag("use_fp16", "fp16"),
    flag("bf16", "bf16"),
    flag("use_bf16", "bf16"),
    flag("amp", "mixed"),
    flag("use_amp", "mixed"),
    // temperature
    any("temperature", "temperature"),
    any("temp", "temperature"),
    any("softmax temperature", "temperature"),
    only("tau", "temperature", &[Loss]),
    // reinforcement learning
    any("ent_coef", "entropy_coef"),
    any("entropy_coef", "entropy_coef"),
    any("entropy coefficient", "entropy_coef"),
    any("entropy_coeff", "entropy_coef"),
    any("entropy_weight", "entropy_coef"),
    any("entropy_beta", "entropy_coef"),
    any("entropy bonus", "entropy_coef"),
    any("entropy_loss_coef", "entropy_coef"),
    any("vf_coef", "value_coef"),
    any("vf_coeff", "value_coef"),
    any("value_coef", "value_coef"),
    any("value_loss_coef", "value_coef"),
    any("value loss coefficient", "value_coef"),
    any("value function coefficient", "value_coef"),
    any("clip_range", "clip_range"),
    any("clip_param", "clip_range"),
    any("clip_ratio", "clip_range"),
    any("clip_coef", "clip_range"),
    any("clip_eps", "clip_range"),
    any("clip_epsilon", "clip_range"),
    any("cliprange", "clip_range"),
    any("ppo_clip", "clip_range"),
    any("clipping parameter", "clip_range"),
    not("gamma", "gamma", &[Scheduler, Loss, Optimizer, Norm]),
    any("discount", "gamma"),
    any("discount factor", "gamma"),
    any("discount_factor", "gamma"),
    any("gae_lambda", "gae_lambda"),
    any("gae_lam", "gae_lambda"),
    any("lam", "gae_lambda"),
    any("lmbda", "gae_lambda"),
    any("td lambda", "gae_lambda"),
    only("lambda", "gae_lambda", &[Rl]),
    // vector quantization
    any("commitment_cost", "commitment_cost"),
    any("commitment_weight", "commitment_cost"),
    any("commitment_beta", "commitment_cost"),
    any("commitment loss weight", "commitment_cost"),
    any("commit_weight", "commitment_cost"),
    only("beta", "commitment_cost", &[Quantizer]),
    any("codebook_size", "codebook_size"),
    any("num_codes", "codebook_size"),
    any("n_codes", "codebook_size"),
    any("number of codes", "codebook_size"),
    only("num_embeddings", "codebook_size", &[Quantizer]),
    only("n_embed", "codebook_size", &[Quantizer]),
    only("n_e", "codebook_size", &[Quantizer]),
    only("vocab_size", "codebook_size", &[Quantizer]),
    // architecture
    any("hidden_size", "hidden_size"),
    any("d_model", "hidden_size"),
    any("model dimension", "hidden_size"),
    any("n_embd", "hidden_size"),
    any("hidden_dim", "hidden_size"),
    any("model_dim", "hidden_size"),
    any("num_layers", "num_layers"),
    any("n_layer", "num_layers"),
    any("n_layers", "num_layers"),
    any("num_hidden_layers", "num_layers"),
    any("number of layers", "num_layers"),
    any("layers", "num_layers"),
    any("num_heads", "num_heads"),
    any("n_head", "num_heads"),
    any("n_heads", "num_heads"),
    any("nhead", "num_heads"),
    any("num_attention_heads", "num_heads"),
    any("attention heads", "num_heads"),
    any("heads", "num_heads"),
    // data parallelism
    any("num_gpus", "num_devices"),
    any("n_gpus", "num_devices"),
    any("n_gpu", "num_devices"),
    any("ngpu", "num_devices"),
    any("ngpus", "num_devices"),
    any("gpus", "num_devices"),
    any("devices", "num_devices"),
    any("num_devices", "num_devices"),
    any("world_size", "num_devices"),
    any("nproc_per_node", "num_devices"),
    any("num_processes", "num_devices"),
    // mixing augmentations
    any("mixup_alpha", "mixup_alpha"),
    any("mixup", "mixup_alpha"),
    any("mix up", "mixup_alpha"),
    any("cutmix_alpha", "cutmix_alpha"),
    any("cutmix", "cutmix_alpha"),
    any("cut mix", "cutmix_alpha"),
];

/// Spellings by their normalised form, in table order.
static BY_SPELLING: LazyLock<HashMap<String, Vec<&'static Synonym>>> = LazyLock::new(|| {
    let mut map: HashMap<String, Vec<&'static Synonym>> = HashMap::new();
    for synonym in SYNONYMS {
        map.entry(normalize(synonym.spelling))
            .or_default()
            .push(synonym);
    }
    map
});

/// Lower-case words of a name joined by single spaces, with Greek letters spelled out and
/// `beta_1` joined to `beta1`: `Adam β₁`, `adam_beta1` and `AdamBeta1` all give `adam beta1`.
pub fn normalize(name: &str) -> String {
    let mut spelled = String::with_capacity(name.len() + 8);
    for character in name.chars() {
        match character {
            'β' | 'ß' => spelled.push_str("beta"),
            'ε' | 'ϵ' => spelled.push_str("epsilon"),
            'λ' => spelled.push_str("lambda"),
            'γ' => spelled.push_str("gamma"),
            'τ' => spelled.push_str("tau"),
            'α' => spelled.push_str("alpha"),
            'η' => spelled.push_str("eta"),
            'μ' => spelled.push_str("mu"),
            'ρ' => spelled.push_str("rho"),
            '₀'..='₉' => {
                let digit = u32::from(character) - u32::from('₀');
                spelled.extend(char::from_digit(digit, 10));
            }
            other => spelled.push(other),
        }
    }
    let mut joined: Vec<String> = Vec::new();
    for word in words(&spelled) {
        let follows_beta = joined.last().is_some_and(|last| last == "beta");
        if follows_beta && matches!(word.as_str(), "1" | "2") {
            if let Some(last) = joined.last_mut() {
                last.push_str(&word);
            }
        } else {
            joined.push(word);
        }
    }
    joined.join(" ")
}

/// The canonical hyperparameter a normalised spelling names in `contexts`.
fn lookup(normalized: &str, contexts: Contexts) -> Option<&'static Synonym> {
    let candidates = BY_SPELLING.get(normalized)?;
    let found = candidates
        .iter()
        .copied()
        .find(|synonym| match synonym.scope {
            Scope::Anywhere => true,
            Scope::Only(required) => contexts.any(required),
            Scope::Not(excluded) => !contexts.any(excluded),
        })?;
    // Evaluation settings (eval batch size, generation length) are not training
    // hyperparameters; a sampling temperature still is one.
    if contexts.has(Eval) && found.param != "temperature" {
        return None;
    }
    Some(found)
}

/// Words in front of a code name that say where it belongs but not what it is:
/// `optimizer_lr`, `train_batch_size`, `default_dropout`, `model_dropout`.
const CODE_PREFIXES: &[&str] = &[
    "default",
    "train",
    "training",
    "model",
    "optim",
    "optimizer",
    "opt",
    "args",
    "cfg",
    "config",
    "hp",
    "hparams",
];

/// The canonical hyperparameter a name in code or a config names (`lr` under `optimizer:`,
/// `--weight-decay`, `LEARNING_RATE`), given the contexts around it.
pub fn resolve_code_name(name: &str, contexts: Contexts) -> Option<&'static Synonym> {
    let normalized = normalize(name);
    if let Some(found) = lookup(&normalized, contexts) {
        return Some(found);
    }
    let (first, rest) = normalized.split_once(' ')?;
    if CODE_PREFIXES.contains(&first) {
        return lookup(rest, contexts.union(Contexts::from_name(first)));
    }
    None
}

/// Words in front of a paper's name for a hyperparameter that do not change which one it is:
/// `Peak learning rate`, `Adam β1`, `Total training steps`, `Number of epochs`.
const PAPER_FILLERS: &[&str] = &[
    "the",
    "number",
    "num",
    "of",
    "total",
    "training",
    "train",
    "peak",
    "base",
    "global",
    "max",
    "maximum",
    "initial",
    "adam",
    "adamw",
    "optimizer",
    "sgd",
    "ppo",
    "vq",
    "model",
    "per",
    "layer",
];

/// Greek letters as [`normalize`] spells them.
const GREEK_NAMES: &[&str] = &[
    "alpha", "beta", "gamma", "epsilon", "lambda", "tau", "eta", "mu", "rho",
];

/// What a paper's name for a hyperparameter resolves to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaperName {
    /// Canonical name: a known one, or the name itself in snake_case.
    pub param: String,
    /// Whether `param` is one of [`PARAMS`].
    pub known: bool,
    pub transform: Transform,
    /// Text in parentheses after the name, e.g. `tokens` in `Batch size (tokens)`.
    pub qualifier: Option<String>,
}

/// Resolves a name as a paper writes it: `Learning rate`, `Peak LR`, `Adam (β1, β2)`,
/// `Batch size (tokens)`, `Warmup`.
pub fn resolve_paper_name(name: &str) -> PaperName {
    let (bare, qualifier) = split_qualifier(name);
    let contexts = Contexts::of(Paper).union(Contexts::from_name(&bare));
    let mut attempts = vec![normalize(name), normalize(&bare)];
    // `Discount γ`, `GAE λ`: a trailing symbol repeats the name.
    if let Some((rest, last)) = attempts[1].rsplit_once(' ')
        && GREEK_NAMES.contains(&last)
    {
        attempts.push(rest.to_owned());
    }
    for attempt in &attempts {
        let mut words: Vec<&str> = attempt.split(' ').filter(|w| !w.is_empty()).collect();
        loop {
            if words.is_empty() {
                break;
            }
            if let Some(found) = lookup(&words.join(" "), contexts) {
                return PaperName {
                    param: found.param.to_owned(),
                    known: true,
                    transform: found.transform,
                    qualifier,
                };
            }
            if PAPER_FILLERS.contains(&words[0]) {
                words.remove(0);
            } else {
                break;
            }
        }
    }
    PaperName {
        param: normalize(&bare).replace(' ', "_"),
        known: false,
        transform: Transform::Same,
        qualifier,
    }
}

/// `Batch size (tokens)` → (`Batch size`, `tokens`); the qualifier of `Adam (β1, β2)` is part
/// of the name, so the whole name is kept there too.
fn split_qualifier(name: &str) -> (String, Option<String>) {
    let trimmed = name.trim();
    let Some(open) = trimmed.find(['(', '[']) else {
        return (trimmed.to_owned(), None);
    };
    let close = trimmed[open..]
        .find([')', ']'])
        .map_or(trimmed.len(), |at| open + at);
    let inner = trimmed[open + 1..close].trim().to_owned();
    let outside = format!(
        "{} {}",
        &trimmed[..open],
        trimmed.get(close + 1..).unwrap_or("")
    );
    let outside = outside.trim().to_owned();
    if outside.is_empty() {
        return (inner, None);
    }
    (outside, (!inner.is_empty()).then_some(inner))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_spellings() {
        assert_eq!(normalize("learning_rate"), "learning rate");
        assert_eq!(normalize("learningRate"), "learning rate");
        assert_eq!(normalize("LEARNING_RATE"), "learning rate");
        assert_eq!(normalize("Adam β₁"), "adam beta1");
        assert_eq!(normalize("beta_2"), "beta2");
        assert_eq!(normalize("--weight-decay"), "weight decay");
    }

    #[test]
    fn every_synonym_names_a_known_parameter() {
        for synonym in SYNONYMS {
            assert!(
                param_info(synonym.param).is_some(),
                "{} -> {}",
                synonym.spelling,
                synonym.param
            );
        }
    }

    #[test]
    fn context_decides_ambiguous_spellings() {
        let optimizer = Contexts::from_name("AdamW");
        let norm = Contexts::from_name("LayerNorm");
        let eps = |contexts| resolve_code_name("eps", contexts).map(|s| s.param);
        assert_eq!(eps(optimizer), Some("adam_epsilon"));
        assert_eq!(eps(norm), None);
        assert_eq!(eps(Contexts::NONE), None);
        let gamma = |contexts| resolve_code_name("gamma", contexts).map(|s| s.param);
        assert_eq!(gamma(Contexts::from_name("StepLR")), None);
        assert_eq!(gamma(Contexts::from_name("PPO")), Some("gamma"));
        assert_eq!(
            resolve_code_name("momentum", Contexts::from_name("BatchNorm2d")).map(|s| s.param),
            None
        );
        assert_eq!(
            resolve_code_name("momentum", Contexts::from_name("SGD")).map(|s| s.param),
            Some("momentum")
        );
        assert_eq!(
            resolve_code_name("batch_size", Contexts::from_name("val_loader")).map(|s| s.param),
            None
        );
        assert_eq!(
            resolve_code_name("optim_weight_decay", Contexts::NONE).map(|s| s.param),
            Some("weight_decay")
        );
    }

    #[test]
    fn paper_names_resolve_through_fillers_and_qualifiers() {
        let param = |name: &str| resolve_paper_name(name).param;
        assert_eq!(param("Peak learning rate"), "learning_rate");
        assert_eq!(param("Adam β1"), "adam_beta1");
        assert_eq!(param("Adam (β1, β2)"), "adam_betas");
        assert_eq!(param("Adam ε"), "adam_epsilon");
        assert_eq!(param("PPO clip epsilon"), "clip_range");
        assert_eq!(param("Total training steps"), "max_steps");
        assert_eq!(param("Number of epochs"), "epochs");
        assert_eq!(param("Global batch size"), "batch_size");
        assert_eq!(param("Discount γ"), "gamma");
        assert_eq!(param("Gradient clipping"), "max_grad_norm");
        assert_eq!(param("Codebook size"), "codebook_size");
        assert_eq!(param("Batch size (tokens)"), "tokens_per_batch");
        let sequences = resolve_paper_name("Batch size (sequences)");
        assert_eq!(sequences.param, "batch_size");
        assert_eq!(sequences.qualifier.as_deref(), Some("sequences"));
        let unknown = resolve_paper_name("Mask ratio");
        assert_eq!(
            (unknown.param.as_str(), unknown.known),
            ("mask_ratio", false)
        );
    }
}
