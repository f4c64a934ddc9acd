//! The closed vocabularies shared by detectors, the knowledge base and the engine.
//! Knowledge-base files use the same snake_case names (see kb/README.md).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant,)* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text,)* }
            }

            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some($name::$variant),)* _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

vocabulary! {
    /// What a curve (or the user's description) is doing.
    SymptomKind {
        NonFinite => "non_finite",
        Divergence => "divergence",
        Spike => "spike",
        Oscillation => "oscillation",
        Plateau => "plateau",
        SlowConvergence => "slow_convergence",
        ChanceLevel => "chance_level",
        TrainValGap => "train_val_gap",
        ValBetterThanTrain => "val_better_than_train",
        EvalWorseThanTrain => "eval_worse_than_train",
        MetricTooGood => "metric_too_good",
        GradExplosion => "grad_explosion",
        GradVanishing => "grad_vanishing",
        LrAnomaly => "lr_anomaly",
        LossScaleCollapse => "loss_scale_collapse",
        ZeroLoss => "zero_loss",
        ConstantOutput => "constant_output",
        CodebookCollapse => "codebook_collapse",
        ModeCollapse => "mode_collapse",
        PosteriorCollapse => "posterior_collapse",
        EntropyCollapse => "entropy_collapse",
        EntropyStuckHigh => "entropy_stuck_high",
        RewardPlateau => "reward_plateau",
        RewardHacking => "reward_hacking",
        KlBlowup => "kl_blowup",
        ValueLossExplosion => "value_loss_explosion",
        DiscriminatorWins => "discriminator_wins",
        DeadUnits => "dead_units",
        WeightCollapse => "weight_collapse",
        ThroughputRegression => "throughput_regression",
        MemoryGrowth => "memory_growth",
        OutOfMemory => "out_of_memory",
        Hang => "hang",
        Restart => "restart",
        Nondeterminism => "nondeterminism",
        DegenerateOutput => "degenerate_output",
        Artifacts => "artifacts",
    }
}

vocabulary! {
    /// What a metric series measures, whatever the framework called it.
    MetricRole {
        TrainLoss => "train_loss",
        ValLoss => "val_loss",
        TrainAccuracy => "train_accuracy",
        ValAccuracy => "val_accuracy",
        LearningRate => "learning_rate",
        GradNorm => "grad_norm",
        LayerGradNorm => "layer_grad_norm",
        WeightNorm => "weight_norm",
        UpdateRatio => "update_ratio",
        LossScale => "loss_scale",
        Reward => "reward",
        EpisodeLength => "episode_length",
        Entropy => "entropy",
        Kl => "kl",
        ClipFraction => "clip_fraction",
        ValueLoss => "value_loss",
        ExplainedVariance => "explained_variance",
        DLoss => "d_loss",
        GLoss => "g_loss",
        CodebookUsage => "codebook_usage",
        DeadFraction => "dead_fraction",
        Throughput => "throughput",
        StepTime => "step_time",
        Memory => "memory",
        Any => "any",
    }
}

impl MetricRole {
    /// Roles where lower values are better (losses), used to orient trend tests.
    pub fn lower_is_better(self) -> bool {
        matches!(self, Self::TrainLoss | Self::ValLoss | Self::ValueLoss)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_serde_and_parse() {
        for kind in SymptomKind::ALL {
            let json = serde_json::to_string(kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
            assert_eq!(SymptomKind::parse(kind.as_str()), Some(*kind));
        }
        for role in MetricRole::ALL {
            let json = serde_json::to_string(role).unwrap();
            assert_eq!(json, format!("\"{}\"", role.as_str()));
            assert_eq!(MetricRole::parse(role.as_str()), Some(*role));
        }
        assert_eq!(SymptomKind::parse("not_a_kind"), None);
    }
}
