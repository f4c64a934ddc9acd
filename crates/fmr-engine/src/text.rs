//! Reading the user's own words: symptom kinds, numbers, hyperparameters,
//! framework, precision and model type from a sentence or two.
//!
//! Rules are data (a table of patterns), so adding a phrase is one line.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use fmr_core::{MetricRole, Origin, StepWindow, Symptom, SymptomKind, TriedOutcome};
use regex::Regex;

mod environment;
pub use environment::{
    distributed_from_text, framework_from_text, hyperparameters_from_text, model_from_text,
    precision_from_text,
};

/// (pattern, kind). Patterns are matched case-insensitively against the whole
/// text; a kind may have several rows. Two shorthands keep rows readable:
/// `CLAUSE` is one character of the same clause (a decimal point such as "0.45"
/// does not end it) and `FILLER` is up to three linking words ("is", "just",
/// "completely") that carry no negation, so "the loss is not stuck" never
/// matches a `FILLER` row. `ZERO` is 0, 0.0 or 0.000 but not 0.05.
static SYMPTOM_PATTERNS: LazyLock<Vec<(Regex, SymptomKind)>> = LazyLock::new(|| {
    use SymptomKind::*;
    let table: &[(&str, SymptomKind)] = &[
        (
            r"\bnan\b|\bnans\b|\binf\b|infinity|not a number|non-?finite|infinite (loss|values?|gradients?)|(loss|gradients?|outputs?|weights?|values?) (is |are |becomes? |turns? (in)?to |goes to )infinite",
            NonFinite,
        ),
        // "diverges", not "KL divergence"
        (
            r"diverg(e|es|ed|ing)\b|(training|loss|run) divergence|blows? up|blowing up|blew up|explod(es|ing)? loss",
            Divergence,
        ),
        (
            r"(loss|mse|mae|error|nll|perplexity|ppl)\w* (\w+ ){0,2}?(explod\w*|shoots? up|shot up|skyrocket\w*|goes through the roof)",
            Divergence,
        ),
        (
            r"(loss|mse|error|perplexity)\w* (suddenly |then )?(shoots?|shot|jumps?|jumped|goes|went|rises?|rose) (up )?to (1e\+?\d+|\d{4,}|inf)",
            Divergence,
        ),
        (
            r"(loss|error)\w* (keeps |just )?(goes|going|went|increas\w*|ris\w*|climb\w*) (up )?(steadily |exponentially |monotonically )?(from the (start|beginning)|instead of (going )?down|without bound|and up)",
            Divergence,
        ),
        (
            r"grad(ient)?s?[ _]?(norms? )?(explod|explos|blow)|exploding grad|grad(ient)?s?[ _]?(norms? )?(become|becomes|are|is|get|gets|grow|grows) (huge|enormous|very large|massive|extremely large)|grad(ient)?[ _]?norms? (is |are )?(in the (thousands|millions))",
            GradExplosion,
        ),
        (
            r"vanishing grad|grad(ient)?s? (vanish|are (all )?zero|become zero)|grad(ient)?s?[ _]?norms? (is |are |stays? (at )?|drops? to |goes to |= ?|of )?(ZERO|zero\b)|(receives?|gets?|getting|has|have) no grad(ient)?s?\b|grad(ient)?s? (is |are )?(none|all zeros?)\b|grad(ient)?s?[ _]?norms?( (of|in|for) (the )?[\w ]{0,25}?)? (is |are )?(down to|drops? to|falls? to|around|of|at|~) ?~?(1e-([5-9]|\d\d)|0\.0000)",
            GradVanishing,
        ),
        (
            r"\bspik(e|es|ed|ing|y)\b|sudden (jumps?|surges?)|\bjump(s|ed)?\bCLAUSE{0,60}(\bthen|\band|,) (then )?(slowly |quickly |immediately |gradually )?(recovers?|comes? back|came back|returns? to|goes back|went back|drops? back|settles?)",
            Spike,
        ),
        (
            r"oscillat|fluctuat|bounces?|bouncing|zig-?zag|see-?saw|saw-?tooth|up and down|all over the place|jump(s|ing)? around|\bswing(s|ing)?\b",
            Oscillation,
        ),
        (
            r"\bplateau(s|ed|ing)?\b|(stays?|stayed|remains?|remained|goes|went|then|becomes?|became|is|are|looks?|seems?) (completely |totally |pretty much |almost |basically |essentially |just |quite )?(flat|flatten(s|ed|ing))\b|(then |and )flatten(s|ed)\b|flatten(s|ed)? out\b|levels? off|levell?ed off|\bstall|stagnat|flat-?lin|never learns|isn'?t learning|not learn|doesn'?t learn|does not learn|stop(s|ped)? (learning|improving|decreasing)|no (progress|improvement|learning)|not (decreasing|improving|converging|changing|going down|moving)|(doesn'?t|does not|won'?t|will not) (decrease|improve|converge|change|go down|move|budge)|never (moves|changes|improves|decreases|goes (down|lower))|(barely|hardly) (moves?|changes?|decreases?|improves?|budges?|goes down)",
            Plateau,
        ),
        // a metric that is flat or stuck: "the loss is completely flat"
        (
            r"\b(loss|losses|accuracy|acc|curves?|metrics?|scores?|f1|auc|map|iou|dice|bleu|rouge|wer|cer|perplexity|ppl|error|mse|mae|rmse|model|network)\b\W{1,3}FILLER(flat|stuck|unchanged)\b|stuck in (a |the )?(local )?(minim\w*|plateau|saddle)|flat (loss|accuracy|val\w*|training (loss|curves?)|(loss |learning )curves?)",
            Plateau,
        ),
        // a metric held at a number: "sits at 2.3", "stays at 0.693"
        (
            r"\b(stays?|stayed|staying|remains?|remained|sits?|sitting|hovers?|hovering|stuck|sticks?|frozen) (at|around|near|on|about) (~ ?|about |roughly |approximately |exactly )?[-−]?\d",
            Plateau,
        ),
        (
            r"slow(ly)? converg|slower convergence|converges? (very |so |too |really |extremely )?slow|slow to (converge|learn)|takes? (forever|ages|much longer|far longer|way longer|a long time) to (converge|learn)|needs? (\d+x|much|many|far|way|\d+ times) more (steps|epochs|iterations|updates|samples|data|time) (than|to)|(decreas\w*|improv\w*|goes down|learns?|learning)\W+(\w+\W+){0,2}?(very |painfully |extremely |really |so |much too |too )slow(ly)?|converges? to a worse",
            SlowConvergence,
        ),
        (
            r"(converges?|converged|learns?|learned|trains?) (\w+ )?slower than (expected|before|usual|the baseline|(on |with )?(a )?single)|(decreas\w*|improv\w*|learns?|converg\w*) (just |about )?as slow(ly)? as",
            SlowConvergence,
        ),
        (
            r"\bchance\b|random guess|(just |basically |randomly |is )guessing|coin (flip|toss)|no better than (random|chance|a coin|guessing)|accuracy (of |at |stuck at |stays at |sits at |is stuck at |is around |is at |is only |is just |around |hovers around |near |~ ?|≈ ?|(won'?t|will not|doesn'?t|does not|never) (go|get|goes|gets|rise|climb) (above|past|over|beyond) |can'?t get above |cannot get above )(0?\.5\b|50 ?%|0?\.25\b|25 ?%|0?\.1\b|10 ?%)|(50|25|10) ?% accuracy",
            ChanceLevel,
        ),
        // "training and validation accuracy always converge to 0.5"
        (
            r"\bacc\w*[^.;]{0,30}\b(converges?|converged|goes|went|settles?|settled|drops?|dropped) (to|at|around) (exactly )?(0?\.5\b|50 ?%)",
            ChanceLevel,
        ),
        // validation loss rising is listed first so its role is the validation one
        (
            r"(val\w*|test|eval\w*|dev|holdout|held-out)[ _]?(loss|error|mae|mse|rmse)\w* (\w+ ){0,2}?(increas|ris|goes up|go up|went up|gets worse|climb|start\w* (to )?(increas|ris|go up|climb))",
            TrainValGap,
        ),
        (
            r"(val\w*|test|eval\w*|dev|holdout|held-out|fid|bleu|wer|map|miou)\b[^.;]{0,40}\b(improv\w*|gets? better|went down|goes down|drops?)\b[^.;]{0,40}\bthen\b[^.;]{0,30}\b(gets? worse|got worse|worsen\w*|deteriorat\w*|degrad\w*|goes back up|went back up|rises again|climbs again)|overfit|memori[sz](es|ing|ed|e) (the )?(training|train)|generali[sz]\w* (poorly|badly|gap)|(not|n'?t|fails? to|failing to|unable to) generali[sz]|(big|large|huge|massive|growing|wide) (generali[sz]ation )?gap|gap between (the )?(train\w*|val\w*|test)",
            TrainValGap,
        ),
        // training improves, but the held-out metric does not
        (
            r"train\w*[ _](acc\w*|metrics?|scores?|f1)CLAUSE{0,50}\b(but|while|whereas|yet|however)\bCLAUSE{0,20}\b(val\w*|test|eval\w*|dev|holdout|held-out)[ _]?(acc\w*|metrics?|scores?|f1|performance|set)\bCLAUSE{0,25}(stuck|stays|remains|plateau|flat|drops?|decreas|falls|fell|goes down|low|poor|bad|only|barely|around|at \d|doesn'?t|does not|not\b)",
            TrainValGap,
        ),
        (
            r"train\w*[ _](loss|error)CLAUSE{0,50}\b(but|while|whereas|yet|however)\bCLAUSE{0,20}\b(val\w*|test|eval\w*|dev|holdout|held-out)[ _]?(loss|error)\bCLAUSE{0,25}(stuck|stays|remains|plateau|flat|increas|goes up|go up|ris|climb|worse|barely|higher|doesn'?t|does not|not\b|won'?t)",
            TrainValGap,
        ),
        (
            r"(val\w*|test|eval\w*|dev)[ _](loss|acc\w*|f1|score)CLAUSE{0,40}(plateau\w*|stuck|stays|flat|stall\w*|stagnat\w*|stops? improving)CLAUSE{0,30}\b(while|but|whereas|yet)\bCLAUSE{0,15}train\w*[ _](loss|acc\w*)",
            TrainValGap,
        ),
        // "training accuracy 100% … validation accuracy 58%"
        (
            r"train\w*[ _]acc\w* (is |of |reaches |hits |at |= ?|: ?)*(100|9\d(\.\d+)?) ?%CLAUSE{0,30}\b(val\w*|test|eval\w*)[ _]?acc\w* (is |of |at |= ?|: ?|only |just |around |stays |stuck )*([1-7]?\d)(\.\d+)? ?%",
            TrainValGap,
        ),
        (
            r"val(idation)?[ _](loss|error) (is |stays |remains )?(much |always |consistently )?(lower|less|smaller|better|below) (than )?(the )?train|val(idation)?[ _]?(accuracy|acc)? (is |stays )?(much |always |consistently )?(higher|better|above) than (the )?train|train(ing)?[ _](accuracy|acc) (is |stays )?(much |always |consistently )?(lower|worse|below) than (the )?val|train(ing)?[ _](loss|error) (is |stays )?(much |always |consistently )?(higher|greater|above|worse) than (the )?val|train\w*[ _](acc\w*|loss) lags? behind (the )?val",
            ValBetterThanTrain,
        ),
        // "validation accuracy is consistently higher and validation loss lower than on the training data"
        (
            r"val(idation)?[ _](accuracy|acc)\w*[^.;]{0,60}\b(higher|better)\b[^.;]{0,40}\bthan (on |for |in |with )?(the )?train|val(idation)?[ _](loss|error)\w*[^.;]{0,60}\b(lower|smaller|better)\b[^.;]{0,40}\bthan (on |for |in |with )?(the )?train",
            ValBetterThanTrain,
        ),
        // "training accuracy around 40%, while validation accuracy is higher"
        (
            r"train\w*[ _]acc\w*CLAUSE{0,60}\b(while|but|whereas|and)\bCLAUSE{0,10}\b(val\w*|test|eval\w*|dev)[ _]acc\w* (is |stays |remains )?(much |even |consistently |always )?(higher|better|above)\b|train\w*[ _](loss|error)CLAUSE{0,60}\b(while|but|whereas|and)\bCLAUSE{0,10}\b(val\w*|test|eval\w*|dev)[ _](loss|error) (is |stays |remains )?(much |even |consistently |always )?(lower|below|better|smaller)\b",
            ValBetterThanTrain,
        ),
        (
            r"(eval|evaluation|inference|test|predict)\w* (mode )?(is |are |gives |accuracy )?(much )?(worse|bad|poor|garbage|drops?|wrong|different)|works in train\w* but|fine (in|during) train|eval\(\)|(switch\w*|put\w*|set\w*|turn\w*) (the model |it )?(to|in|into) eval\w*|(does|works|performs|doing|working) (great|well|fine|nicely) (in|during|on) train\w*|(onnx|tflite|tensorrt|exported|quantized|converted|compiled|traced|scripted) (\w+ ){0,2}(gives?|produces?|returns?|outputs?) (very |completely |totally )?(different|wrong|worse)|after (re)?loading (the |my |a )?(saved |trained |best |last )?(model|checkpoint|weights|state.?dict)",
            EvalWorseThanTrain,
        ),
        (
            r"(performs?|performed|does|did|works|worked|behaves?|behaved) (much |far |a lot |significantly |noticeably )?(worse|poorly|badly) (than|compared (to|with)) (it did )?(during |in |at )?(the )?train\w*|(when|after|once) (i |we )?(re)?load(ed|ing)? (the |my |a |our )?(saved |trained |best |last |final )?(model|checkpoint|weights)",
            EvalWorseThanTrain,
        ),
        (
            r"too good|suspicious(ly)? (high|good|low|well|fast|close|perfect)|implausibl|unrealistic|unbelievabl|hard to believe|(near|nearly|almost)[- ]perfect|perfect (test |val\w* |held-out |holdout )?(accuracy|score|f1|auc|results?|predictions?)|(99(\.\d+)?|100) ?% (test |val\w* )?acc",
            MetricTooGood,
        ),
        // a held-out figure at the ceiling: "validation accuracy is 99.7%", "AUC of 1.0"
        (
            r"(val\w*|test|held-?out|holdout|eval\w*|out-of-sample) (set )?(acc\w*|auc|auroc|f1|score|dice|iou|map|r2|r²|precision|recall)\W{1,3}(is |of |= ?|: ?|reaches |hits |at |around |already |about )*(1\.0+\b|100(\.0+)? ?%|0?\.99\d*|9[89](\.\d+)? ?%)|\b(auc|auroc|f1|r2|r²|r-squared|dice)( score)? (of |is |= ?|: ?|reaches |hits )?(1\.0+\b|0?\.99\d*)",
            MetricTooGood,
        ),
        (
            r"before (any )?trainingCLAUSE{0,30}(already|even) (higher|better|high|good)|(already|even) (higher|better|high) before (any )?training|(best|highest|peak) (score|accuracy|result|metric|f1|auc)\w* (comes |is |occurs |happens |appears )?(in|at|after) the (very )?first (epoch|step|iteration|eval\w*)|(higher|better|more) than (the )?(theoretical|maximum|max|optimum|optimal|expert|human|sota|state.of.the.art|published)|exceeds? (the )?(theoretical|maximum|optimum|optimal)|beats? (gpt-?4|sota|the state of the art|all published)|(lower|better|higher) than anything (reported|published)",
            MetricTooGood,
        ),
        (
            r"loss.?scal\w* (\w+ ){0,2}?(drops|decreas|collaps|halv|keeps (halving|dropping|decreasing|shrinking)|goes (down )?to|underflow|reduc|falls|reaches (1\b|0|the min))|scaler'?s? (loss )?scale (\w+ ){0,2}?(drops|falls|collapses|keeps|goes to|reaches|is tiny|underflow|decreas)|skipping step|overflow\W+(\w+\W+){0,4}?(skip|reduc)|reducing (the )?loss scale",
            LossScaleCollapse,
        ),
        // "loss went to 0", "'loss': 0.0", "loss collapses to zero"; not "loss of 0.05"
        (
            r#"\b(loss|losses|mse|mae|nll|cross.?entropy|ce)\b['"]?\s*([:=]\s*|((is|was|becomes|became|goes|went|drops?|dropped|falls?|fell|reach(es|ed)?|hits?|collapses?|collapsed|reads|shows|stays|stuck|sits|equals|to|at|of|exactly|immediately|basically|quickly|suddenly|straight|always|just|almost|literally|then|right)\s+){1,4})(ZERO|zero\b)|zero (training |train )?loss"#,
            ZeroLoss,
        ),
        // "the loss behaves abnormally and drops to 0.0", "loss_bbox are 0.0000"
        (
            r"\bloss\w*\b[^.;]{0,40}\b(drops?|dropped|falls?|fell|goes|went|collapses?|collapsed) (straight |quickly |suddenly |immediately )?to (exactly )?ZERO|\bloss_\w+\b( and loss_\w+)? (is|are|was|were|stays?|stayed) (exactly |always |all )?ZERO",
            ZeroLoss,
        ),
        (
            r"constant (output|prediction)s?|(always|only ever|just) (predicts?|outputs?|returns?|gives?|produces?|says|answers?) |predicts? (only|always|just|nothing but|all) (one|the same|a single|zeros?|ones?|0s|1s|background|the (majority|most (common|frequent))|negative|positive|class \d)|predicts? the (majority|most (common|frequent)) class|(predicts?|outputs?|returns?|gives?|produces?) (just |only )?the (\w+ )?(mean|average|median)\b|(forecast|prediction)s? (is|are|looks?) (just )?(a )?(flat|straight) line|(output|prediction)s? (does|do|did) not (depend on|change with|vary with) (the )?input|(output|prediction)s? (doesn'?t|don'?t|didn'?t) (depend on|change with|vary with) (the )?input|(labels|classifies|marks|tags|assigns) (every|all|each) \w+ (as|to)|outputs? (are |is )?(all )?(exactly )?the same\b|(masks?|predictions?|outputs?) (are |is )?(all |only |entirely )(background|zeros?|ones?|the same class|negative|positive)",
            ConstantOutput,
        ),
        // "predictions are always all zeros", "returned a constant 0 for all peptides"
        (
            r"(predictions?|outputs?|masks?) (are|is) (always|just|only) (all )?(zeros?|ones?|0s|1s|background|the same)\b|(returns?|returned|outputs?|predicts?|predicted|gives?|gave) (a |the )?constant (\d+(\.\d+)?|value|zero|number|output) (for|on|across) (all|every|each|any)\b",
            ConstantOutput,
        ),
        // the same answer for every input: "a constant 0 for all inputs"
        (
            r"(same|identical|constant)[\w\s-]{0,25}?\b(for|on|to|across|regardless of|irrespective of|no matter|whatever|independent of) (what |which )?(the |all |every |each |any |different |my )*(single )?(inputs?|rows?|samples?|examples?|images?|sequences?|prompts?|items?|instances?|data ?points?|reviews?|frames?|windows?|utterances?|clips?|users?|quer(y|ies)|observations?|customers?|sentences?|questions?|patients?|pixels?)\b|(gives?|outputs?|predicts?|returns?|assigns?|produces?) (a |the )?(probability|score|value|logit|label|class|confidence) (of )?[\d.]+ (for|to|on) (every|all|each|any)\b",
            ConstantOutput,
        ),
        (
            r"codebook|dead codes?|code (usage|utili[sz]ation)|codes? (are )?unused|perplexity (drops|collaps|falls)|only \d+ (of|out of) (the )?\d+ (codes|embeddings|entries)",
            CodebookCollapse,
        ),
        (
            r"mode collapse|(generat\w*|produc\w*|outputs?|samples?|gives?|draws?|creat\w*) (\w+ ){0,2}?(the )?same (image|sample|digit|face|picture|few)s?\b|samples? (all )?(cluster|concentrat)\w*|\b(on|to|covers?|hits?|produces?|generates?) (only |at most |just )?(one|a single|a few|two) (of the \d+ )?modes?\b|(lack of|low|little|no) (diversity|variety)|generates? (only )?(identical|the same)|(samples|images|generations|outputs|faces|pictures)( all)? look (nearly |almost |basically |pretty much |all )?(identical|the same|alike)",
            ModeCollapse,
        ),
        (
            r"posterior collapse|kl (term |divergence )?(goes to|is|drops to|collapses to|→) ?(0|zero)|kl (term |loss )?(vanish|collaps)|ignores? (the )?latent",
            PosteriorCollapse,
        ),
        (
            r"entropy (\w+ ){0,2}?(collaps|drops?|goes to (0|zero)|falls|vanish|decays to)|(becomes?|turns?|gets?|became) (almost |nearly |fully |completely )?deterministic (\w+ ){0,2}?(early|quickly|fast|soon)|premature convergence",
            EntropyCollapse,
        ),
        (
            r"entropy (stays|stuck|remains|is) (near |at |close to |around )?(its |the )?(max|high|constant|initial)|entropy (does ?n.t|not|never) (decrease|drop|go down)|policy (stays|remains|is still) (random|uniform)|never stops acting randomly|keeps acting randomly",
            EntropyStuckHigh,
        ),
        (
            r"\b(reward\w*|returns?)\b (\w+ ){0,2}?(is |stays |remains |are )?(flat|flatlin\w*|plateau\w*|stuck|constant|stagnat\w*|not (increasing|improving|going up)|(doesn'?t|does not|don'?t|won'?t) (increase|improve|go up)|never (increases|improves|goes up|rises))|(flat|no) (episode )?reward|(flat|stuck) (episode )?returns?",
            RewardPlateau,
        ),
        (
            r"reward hack|exploit\w* (the )?reward|exploit\w* (a |the |an )?(\w+ )?(bug|glitch|loophole)|specification gaming|gam(es|ing) the reward|cheat",
            RewardHacking,
        ),
        (
            r"\bkl\b( (divergence|penalty|term|to the (reference|ref|initial|sft) (model|policy)))?( \w+)? (explod|blows? up|spikes?|grows|increas|too (large|high)|shoots? up|skyrocket)",
            KlBlowup,
        ),
        (
            r"(value|critic|q)[ _-]?(function )?loss (\w+ ){0,2}?(explod|is huge|huge|is very (large|high)|blows? up|diverg|in the (thousands|millions))",
            ValueLossExplosion,
        ),
        (
            r"discriminator (loss )?(is |gets |becomes )?(way |much |far )?(goes to (0|zero)|wins|too strong|overfit|dominat)|d[_ ]?loss (goes to|→|->|drops to) ?(0|zero)",
            DiscriminatorWins,
        ),
        (
            r"dead (relu|neuron|unit)|dying relu|(relu|neuron|unit)s? (are |become |go |get )?(dead|inactive)|(units?|neurons?|relus?|activations?)\W+(\w+\W+){0,3}?(output|outputs|are|stay|stays|is) (always |exactly )?(zero|0)\b",
            DeadUnits,
        ),
        (
            r"(weight|parameter|param)s?[ _]norm (\w+ ){0,2}?(falls?|fell|drops?|dropped|shrinks?|shrank|collapses?|collapsed|decays?|decayed|goes|went) (from [\d.]+ )?(to|toward|towards|down to) ?(zero\b|0(\.0\d*)?\b|near zero|almost zero)|weights (all )?(shrink|shrank|decay|decayed|collapse|collapsed|go|went) (\w+ ){0,2}?(to|toward|towards) (zero|0)\b|(weights|parameters) (all )?(shrink|shrank|collapse|collapsed|decay|decayed)\b[^.;]{0,60}\b(same|constant)\b",
            WeightCollapse,
        ),
        (
            r"(training|iterations?|throughput|it/s|epoch) (is |got |gets |becomes )?(much )?slow(er|s down)?|(steps|iterations|epochs|batches) (are |were |became |got )?(extremely |very |really |so |painfully |super |incredibly |much |way )?slow\b|slow(er)? (training|iterations?)|throughput (drop|decreas)|slow(s|ed)? down|\d+(\.\d+)? ?(x|times) (slower|longer)|(twice|two times|three times) (as )?(slow|long)|(much|way|far|significantly|a lot) slower|runs? (very |extremely |really |so |painfully )?slow(ly)?",
            ThroughputRegression,
        ),
        (
            r"(steps?|iterations?|epochs?|batches?) (now )?(takes?|took|are taking) (\w+ ){0,2}?(longer|more time|\d+(\.\d+)? ?x)|(it/s|samples/s|tokens/s|(tokens|samples|images|steps|iterations) (per|a|/) ?(s|sec|second))\w* (\w+ ){0,2}?(dropp|fell|fall|halv|went down|decreas|is (much |way )?lower)|(step|iteration|epoch|batch) ?times? (\w+ ){0,2}?(doubl|tripl|increas|went up|grew|jump)|gpu[ -]?util\w* (\w+ ){0,2}?(drops?|dropped|falls?|fell|is (only|low|very low)|only|below|under|(around|at|near) ([1-4]?\d ?%|0\b|zero))|gpus? (is |are |sits? |stays? )?(mostly |almost always |often |largely )?idle|(data ?loader|data loading|input pipeline|i/o)( \w+){0,3} bottleneck|(an? |each |one |every )?(epoch|step|iteration)s? (takes?|took|needs?) (about |around |roughly |nearly |almost )?\d+(\.\d+)? ?(hours?|hrs?|h|minutes?|mins?|seconds?|secs?|s)\b[^.;]{0,40}\b(versus|vs\b|compared (to|with)|instead of|than|while|whereas)|(data |image |file )?(loading|preprocessing|decoding|augmentation) (\w+ ){0,2}?(is |are |was |were |becomes )?(very |extremely |really |so |painfully |super |too )?slow\b",
            ThroughputRegression,
        ),
        (
            r"memory (leak|grow|increas|keeps)|leak\w* memory|(ram|memory|vram|rss)( usage| use| consumption| footprint)? (\w+ ){0,2}?(creeps? up|climbs?|keeps (growing|rising|increasing|climbing|going up)|grows|increases|goes up|rises|balloons)",
            MemoryGrowth,
        ),
        (
            r"out of memory|\boom\b|cuda error: out of memory",
            OutOfMemory,
        ),
        // not "freeze the backbone", "the timeout parameter", "GPU utilisation stuck at 100%"
        (
            r"\bhangs?\b|\bhanging\b|\bhung\b|deadlock|stuck (forever|indefinitely)|nccl (timeout|error)|watchdog|timed out|times out([.,;!)]|$| (after|at|during|while|when|on|waiting|in|every|each|with)\b)|(operation|collective|barrier|socket|rendezvous|all_?reduce) time ?out|timeout (error|exception|after \d)",
            Hang,
        ),
        (
            r"(training|process|job|run|it|program|everything|machine|system|script|notebook|kernel|loop|data ?loader)\w* (\w+ ){0,2}?(freezes|froze|freezing|is frozen)\b|freezes (at|after|when|during|on)|(process(es)?|jobs?|data ?loaders?|workers?|ranks?|programs?|scripts?|kernels?|nodes?) (are |is |get |gets |got |seems? (to be )?|becomes? )?stuck|stuck (at|on|in|during|after) (epoch|step|iteration|batch|the (first|last|end)|loading|init\w*|barrier|all_?reduce|backward|forward|\S+\(\))|just sits there|sits (there|idle)|never (returns|finishes|completes|progresses|terminates)|no (progress|output) (for|after) (\d+|hours|minutes)",
            Hang,
        ),
        (
            r"resum\w* (from|training)|after resum|preempt|(at|after|on) (each|every|the|a) (restart|resume)|job restarts?|restarted (the )?(job|run|training)|(job|training|run|process|worker|node|kernel)s? (\w+ )??(keeps? |kept )?(crash\w*|dies|died|gets killed|got killed|is killed|was killed)|killed by signal|bus error|ecc error|\bxid\b|segfault|segmentation fault|crashes with",
            Restart,
        ),
        (
            r"non-?determinis|not reproducible|different results (each|every)|irreproducib|(varies|vary|differ|differs|different) (\w+ ){0,4}?(between|across) (identical|repeated|two|different|the same|multiple) (runs|seeds|machines|gpus)|run[- ]to[- ]run (variance|variation|differences?)",
            Nondeterminism,
        ),
        (
            r"(never|doesn'?t|does not|won'?t) stop generat|generat\w* (never|doesn'?t|does not|won'?t) (stop|end)|never (emits|produces|generates|outputs) (the |an? )?(eos|end|stop)|repeat(s|ing)? (itself|the same|over)|over and over|gibberish|garbage (output|text|answers?)|(outputs?|answers?|responses?|generations?|text) (is |are )?(garbage|nonsense|gibberish)|degenerate|(black|blank|noise|white|gr[ae]y) (images?|frames?|outputs?|pictures?|samples?|squares?|screens?)|(outputs?|images?|samples?|frames?|results?) (are |is |come out )?(all |completely |entirely |just |pure |as )?(solid |plain |uniform )?(black|white|gr[ae]y|blank)\b|(pure|just|only|complete) (noise|static|silence)|empty (strings?|transcripts?|outputs?|predictions?|responses?|generations?|answers?)|nonsense (text|output|answers?)",
            DegenerateOutput,
        ),
        // generation that never ends: "keeps generating until max_new_tokens"
        (
            r"(keeps?|kept|keeps on) generating|(runs?|ran|goes|went|continues?|continued|rambles?|rambling) on until (it (hits|reaches) )?(the )?(max|maximum|max_new_tokens|max_length)|(rarely|never|doesn'?t|does not|won'?t|don'?t|didn'?t) (if ever )?(emits?|generates?|produces?|outputs?|predicts?) (the |an? )?(</s>|<eos>|eos\b|end[- ]of[- ](sequence|text)|stop token)|never learns? (how )?to stop|(doesn'?t|does not|don'?t|didn'?t) learn (how )?to stop",
            DegenerateOutput,
        ),
        // image and audio artifacts, not a tracking tool's "artifact"
        (
            r"artifacts? (in|on|at|around|near|appear|show|visible|everywhere)|(visual|grid|checkerboard|ringing|compression|blocky|jpeg|audible|high.frequency|strange|weird|noticeable|visible|colou?r|edge|boundary|tiling|seam|aliasing)\w* artifacts?|aliasing|metallic|\bbuzz|high.frequency noise|blurry|blurred|checkerboard|(clicks|crackl\w*|hiss\w*) (in|on)",
            Artifacts,
        ),
        (
            r"(learning rate|\blr\b)\W+((is|was|shows|stays|stayed|becomes|became|goes|went|drops?|dropped|reads|logged|at|as|to|always|already|stuck|remains)\W+){0,3}(ZERO|zero\b)|scheduler (\w+ )??(never|doesn'?t|does not|isn'?t|is not|wasn'?t) (step|updat|chang|work|decay|called)|(learning rate|\blr\b) (\w+ )??(never changes|doesn'?t change|does not change|doesn'?t decay|does not decay|stays (at )?(the )?(initial|same|constant)|remains (at )?(the )?(initial|same)|is stuck|restarts?|resets?|jumps back)|(learning rate|\blr\b) (\w+ ){0,2}?(its |the )?(minimum|floor|min_lr)\b|stuck in warm-?up",
            LrAnomaly,
        ),
        (
            r"(print\w*|log\w*|plot\w*|track\w*|monitor\w*|check\w*|inspect\w*) (\w+ ){0,3}?(learning[- ]rate|\blr\b)[^.;]{0,50}\b(never changes|never changed|doesn'?t change|does not change|did not change|didn'?t change|stays constant|remains constant|is constant)|(schedule|warm-?up|decay)\w* (\w+ ){0,2}?(advanc\w*|runs?|progress\w*|finish\w*|ends?|decays?|moves?) (\w+ ){0,2}?(too fast|too early|too quickly|prematurely|\d+x faster|\d+ times faster)",
            LrAnomaly,
        ),
    ];
    table
        .iter()
        .map(|(p, k)| {
            let p = p
                .replace("CLAUSE", r"(?:[^.;]|\.\d)")
                .replace("FILLER", FILLER)
                .replace("ZERO", ZERO);
            (
                Regex::new(&format!("(?i){p}")).expect("valid symptom pattern"),
                *k,
            )
        })
        .collect()
});

/// Linking words between a metric and what it does, none of them a negation.
const FILLER: &str = r"(?:(?:is|are|was|were|has|have|had|been|just|still|completely|totally|pretty|basically|almost|seems|looks|gets|got|get|stays|remains|always|entirely|simply|getting|becomes?|became|also|again|then|now|quite|very|smooth|but|and|curve|curves|value|kind of|sort of|essentially|practically|immediately|quickly)[ ,]+){0,3}";

/// 0, 0.0 or 0.000, followed by something other than more digits.
const ZERO: &str = r"0(?:\.0+)?(?:[^.\d]|\.(?:\D|$)|$)";

/// What a plateau can be about: a flat learning rate, gradient norm or memory
/// curve is not a training plateau.
const PLATEAU_ROLES: &[MetricRole] = &[
    MetricRole::TrainLoss,
    MetricRole::ValLoss,
    MetricRole::TrainAccuracy,
    MetricRole::ValAccuracy,
    MetricRole::Reward,
    MetricRole::Entropy,
    MetricRole::ValueLoss,
    MetricRole::ExplainedVariance,
    MetricRole::EpisodeLength,
    MetricRole::DLoss,
    MetricRole::GLoss,
    MetricRole::Kl,
    MetricRole::CodebookUsage,
    MetricRole::UpdateRatio,
];

/// (general, specific, same metric is enough): a general kind that a more
/// specific one already says, when both come from the same words or (where the
/// flag is set) are about the same metric. A reward plateau is not also a loss
/// plateau, "the critic loss explodes" is not also a divergence, and "accuracy
/// sits at 10%" on ten classes is chance level rather than a plateau as well;
/// but "it doesn't learn" beside a chance-level figure is still a plateau.
const SUBSUMED_BY: &[(SymptomKind, SymptomKind, bool)] = &[
    (SymptomKind::Plateau, SymptomKind::RewardPlateau, true),
    (SymptomKind::Plateau, SymptomKind::EntropyStuckHigh, true),
    (SymptomKind::Plateau, SymptomKind::CodebookCollapse, true),
    (SymptomKind::Plateau, SymptomKind::ChanceLevel, false),
    (SymptomKind::Divergence, SymptomKind::GradExplosion, true),
    (
        SymptomKind::Divergence,
        SymptomKind::ValueLossExplosion,
        true,
    ),
    (SymptomKind::Divergence, SymptomKind::KlBlowup, true),
    (SymptomKind::ZeroLoss, SymptomKind::DiscriminatorWins, true),
];

/// Symptoms named in free text, each with the phrase that named it.
///
/// ```
/// use fmr_core::SymptomKind;
/// let said = fmr_engine::text::symptoms_from_text("the training loss went to 0", "symptom");
/// assert_eq!(said[0].kind, SymptomKind::ZeroLoss);
/// ```
pub fn symptoms_from_text(text: &str, origin_label: &str) -> Vec<Symptom> {
    let mut found: Vec<(Symptom, usize, usize)> = Vec::new();
    let onset = onset_step(text);
    for (i, (pattern, kind)) in SYMPTOM_PATTERNS.iter().enumerate() {
        if found.iter().any(|(s, _, _)| s.kind == *kind) {
            continue;
        }
        let Some((m, role)) = pattern.find_iter(text).find_map(|m| {
            if negated(text, m.start()) || denied_after(&text[m.end()..]) {
                return None;
            }
            if other_sense(*kind, &text[m.end()..]) {
                return None;
            }
            let role = role_for(*kind, role_near(text, m.start(), m.end()));
            let wrong_subject = *kind == SymptomKind::Plateau
                && (role.is_some_and(|r| !PLATEAU_ROLES.contains(&r))
                    || about_hardware(text, m.start()));
            (!wrong_subject).then_some((m, role))
        }) else {
            continue;
        };
        let mut numbers = BTreeMap::new();
        if let Some(step) = onset {
            numbers.insert("onset_step".to_string(), step as f64);
        }
        let symptom = Symptom {
            code: format!("U{:03}", i + 1),
            kind: *kind,
            run: None,
            metric: None,
            role,
            window: onset.map(|s| StepWindow { start: s, end: s }),
            numbers,
            statement: format!(
                "the {origin_label} says \"{}\" ({})",
                m.as_str().trim(),
                kind.as_str().replace('_', " ")
            ),
            origin: Origin::UserText,
            confidence: 0.3,
        };
        found.push((symptom, m.start(), m.end()));
    }
    // Numbers at chance are firmer than the words for it, so they replace them.
    if let Some(by_numbers) = chance_from_numbers(text, origin_label) {
        found.retain(|(s, _, _)| s.kind != SymptomKind::ChanceLevel);
        found.push(by_numbers);
    }
    let kept: Vec<bool> = found
        .iter()
        .map(|(general, start, end)| {
            !found.iter().any(|(specific, s, e)| {
                SUBSUMED_BY.iter().any(|&(g, sp, same_metric)| {
                    g == general.kind
                        && sp == specific.kind
                        && (start < e && s < end
                            || same_metric
                                && (general.role.is_none() || general.role == specific.role))
                })
            })
        })
        .collect();
    let out: Vec<Symptom> = found
        .into_iter()
        .zip(kept)
        .filter_map(|((s, _, _), keep)| keep.then_some(s))
        .collect();
    out
}

/// Whether the words just before `start`, in the same clause, deny what
/// follows: "nothing is NaN", "no NaN anywhere", "it is not stuck", "without
/// spikes", or say it is only feared, hoped for or someone else's figure: "to
/// avoid overfitting", "I expected 99% accuracy", "the paper reports 99%". Only a few words back, so "no warmup, and the loss
/// is NaN" still reports the NaN.
fn negated(text: &str, start: usize) -> bool {
    static NEGATION: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)\b(no|not|nothing|never|without|none|neither|nor|hardly any|avoid\w*|prevent\w*|against|expect\w*|should|supposed|hop(e|ed|ing)|papers?|published)\b|n't\b")
            .expect("valid regex")
    });
    let before = &text[..start];
    let clause_start = before
        .rfind(['.', ',', ';', ':', '!', '?', '(', ')', '\n'])
        .map(|i| i + 1)
        .unwrap_or(0);
    let clause = &before[clause_start..];
    // The last three words of the clause before the match.
    let words: Vec<&str> = clause.split_whitespace().collect();
    let tail = words[words.len().saturating_sub(3)..].join(" ");
    NEGATION.is_match(&tail)
}

/// Words right after a symptom phrase that give it another sense: a robot
/// "hanging from a gantry" is not a stalled program, and training that "is slow
/// to converge" is not a throughput problem.
static OTHER_SENSES: LazyLock<Vec<(SymptomKind, Regex)>> = LazyLock::new(|| {
    [
        (
            SymptomKind::Hang,
            r"^\s+((from|on|in|off) (a|an|the|its) (gantry|rope|wire|string|hook|harness|crane|ceiling|frame|stand|rig|bar|beam|support|wall|air)|upside down)\b",
        ),
        (
            SymptomKind::ThroughputRegression,
            r"^\s+to (converge|learn|improve|decrease|drop|go down|fall|make progress)\b",
        ),
    ]
    .into_iter()
    .map(|(kind, p)| (kind, Regex::new(&format!("(?i){p}")).expect("valid regex")))
    .collect()
});

/// Whether the words `after` a phrase of `kind` give it another sense.
fn other_sense(kind: SymptomKind, after: &str) -> bool {
    OTHER_SENSES
        .iter()
        .any(|(k, sense)| *k == kind && sense.is_match(after))
}

/// Whether the words right after a phrase deny it: "gradient explosion is not
/// the issue", "the plateau is gone".
fn denied_after(after: &str) -> bool {
    static DENIAL: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)^\w*\W*((is|are|was|were)\s+not\s+(the\s+|an?\s+|really\s+)?(issue|problem|case|happening|present|cause)|(isn'?t|aren'?t|wasn'?t)\s+(the\s+|an?\s+)?(issue|problem|happening)|(is|are|was|were)\s+(gone|fixed|resolved|no longer)|went away|disappeared)\b")
            .expect("valid regex")
    });
    DENIAL.is_match(after)
}

/// Whether the nearest subject before `start` is a hardware figure
/// ("GPU utilisation is stuck at 100%") rather than a training metric.
fn about_hardware(text: &str, start: usize) -> bool {
    static SUBJECT: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)\b(?:(util\w*|usage|memory|vram|temperature|power|fan)|(loss\w*|acc\w*|reward\w*|return\w*|score\w*|metric\w*|f1|auc|wer|cer|bleu|error|perplexity|entropy|kl|model|network))\b")
            .expect("valid regex")
    });
    let lo = text[..start]
        .char_indices()
        .rev()
        .nth(50)
        .map(|(i, _)| i)
        .unwrap_or(0);
    SUBJECT
        .captures_iter(&text[lo..start])
        .last()
        .is_some_and(|c| c.get(1).is_some())
}

/// "10 classes … accuracy 10%" or "loss stuck at 2.30 on a 10-class problem":
/// numbers at chance level for the stated number of classes (binary when the
/// text says so). Accuracy within 3 points of 1/C, or a loss within 2% of ln C.
/// With no class count, a loss held at ln 2 ≈ 0.693 ("loss stays at 0.693")
/// is read as a binary problem at chance; a loss merely passing 0.69 is not.
/// Returns the symptom with the byte span of the figure it read.
fn chance_from_numbers(text: &str, origin_label: &str) -> Option<(Symptom, usize, usize)> {
    static CLASSES: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)\b(\d{1,4})[ -]?(?:classes|class\b|way\b|categories|labels|digits? classes)|\b(binary|two-class)\b|\b(digits|mnist|cifar-?10)\b|\b(cifar-?100)\b|\b(imagenet(?:-1k)?)\b")
            .expect("valid regex")
    });
    static ACCURACY: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"(?i)acc\w*[^0-9%.]{0,25}(\d{1,2}(?:\.\d+)?) ?%|(\d{1,2}(?:\.\d+)?) ?% (?:\w+ )?(?:acc|top-?1\b)",
        )
        .expect("valid regex")
    });
    static LOSS: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)loss[^0-9]{0,30}(\d\.\d{1,4})|(\d\.\d{1,4}) (?:\w+ )?loss")
            .expect("valid regex")
    });
    static HELD: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)\b(stays?|stuck|sits?|hovers?|plateau\w*|never|won'?t|doesn'?t|does not|constant|flat|always|remains?|whole|entire|all (the )?time)\b")
            .expect("valid regex")
    });
    // (value, span of the phrase that gives it)
    let loss_values = || {
        LOSS.captures_iter(text).filter_map(|c| {
            let whole = c.get(0)?;
            let v = c.get(1).or(c.get(2))?.as_str().parse::<f64>().ok()?;
            Some((v, whole.start(), whole.end()))
        })
    };
    let classes: f64 = match CLASSES.captures(text) {
        Some(caps) => match (caps.get(1), caps.get(2), caps.get(3), caps.get(4)) {
            (Some(n), _, _, _) => n.as_str().parse().ok()?,
            (_, Some(_), _, _) => 2.0,
            (_, _, Some(_), _) => 10.0,
            (_, _, _, Some(_)) => 100.0,
            _ => 1000.0,
        },
        None if HELD.is_match(text)
            && loss_values().any(|(v, _, _)| (v - 2f64.ln()).abs() <= 0.02 * 2f64.ln()) =>
        {
            2.0
        }
        None => return None,
    };
    if classes < 2.0 {
        return None;
    }
    let mut numbers = BTreeMap::from([("classes".to_string(), classes)]);
    let chance_acc = 100.0 / classes;
    let by_accuracy = ACCURACY.captures_iter(text).find_map(|c| {
        let whole = c.get(0)?;
        let v: f64 = c.get(1).or(c.get(2))?.as_str().parse().ok()?;
        ((v - chance_acc).abs() <= 3.0).then_some((v, whole.start(), whole.end()))
    });
    let by_loss = loss_values().find(|(v, _, _)| (v - classes.ln()).abs() <= 0.02 * classes.ln());
    let (start, end) = by_accuracy
        .or(by_loss)
        .map(|(_, s, e)| (s, e))
        .unwrap_or_default();
    let statement = match (by_accuracy.map(|a| a.0), by_loss.map(|l| l.0)) {
        (Some(a), _) => {
            numbers.insert("accuracy_percent".into(), a);
            format!(
                "the {origin_label} gives accuracy {a}% with {classes} classes: chance is {chance_acc:.1}%"
            )
        }
        (None, Some(l)) => {
            numbers.insert("loss".into(), l);
            format!(
                "the {origin_label} gives a loss of {l} with {classes} classes: ln {classes} = {:.3}, the loss of a uniform guess",
                classes.ln()
            )
        }
        (None, None) => return None,
    };
    let symptom = Symptom {
        code: "U100".into(),
        kind: SymptomKind::ChanceLevel,
        run: None,
        metric: None,
        role: Some(if by_accuracy.is_some() {
            MetricRole::ValAccuracy
        } else {
            MetricRole::TrainLoss
        }),
        window: None,
        numbers,
        statement,
        origin: Origin::UserText,
        // Numbers are firmer than words.
        confidence: 0.6,
    };
    Some((symptom, start, end))
}

/// (pattern, role) for the metric a phrase is about, most specific first: "validation
/// loss" before "loss". Accuracy, F1, AUC and the like without "train" are read as
/// held-out figures, which is what people usually quote.
static ROLES: LazyLock<Vec<(Regex, MetricRole)>> = LazyLock::new(|| {
    let table: &[(&str, MetricRole)] = &[
        (
            r"\b(value|critic|q)[ _-]?(function )?loss|\bvf[ _]loss",
            MetricRole::ValueLoss,
        ),
        (
            r"\b(val|valid|validation|eval|test|dev|holdout|held-out)\w*[ _/-]?(loss|mae|mse|rmse)",
            MetricRole::ValLoss,
        ),
        (
            r"\b(val|valid|validation|eval|test|dev|holdout|held-out)\w*[ _/-]?(acc|auc|f1|score|metric|map\b|iou|dice|bleu)",
            MetricRole::ValAccuracy,
        ),
        (r"explained[ _]variance", MetricRole::ExplainedVariance),
        (
            r"generator('s)? loss|\bg[ _]loss|\bloss_g\b",
            MetricRole::GLoss,
        ),
        (
            r"discriminator('s)? loss|\bd[ _]loss|\bloss_d\b",
            MetricRole::DLoss,
        ),
        (r"grad(ient)?[ _-]?norm|gradients?", MetricRole::GradNorm),
        (
            r"\b(weight|parameter|param)s?[ _-]?norms?\b",
            MetricRole::WeightNorm,
        ),
        (r"loss[ _-]?scal|\bscaler\b", MetricRole::LossScale),
        (r"\b(loss|losses|mse|mae|rmse|nll)\b", MetricRole::TrainLoss),
        (r"\btrain\w*[ _/-]?acc", MetricRole::TrainAccuracy),
        (
            r"accuracy|\bacc\b|\bauc\b|\bauroc\b|\bf1\b|\bmap\b",
            MetricRole::ValAccuracy,
        ),
        (r"reward|\breturns?\b", MetricRole::Reward),
        (r"entropy", MetricRole::Entropy),
        (r"\bkl\b", MetricRole::Kl),
        (r"codebook|perplexity", MetricRole::CodebookUsage),
        (r"clip[ _-]?frac\w*|clipfrac", MetricRole::ClipFraction),
        (r"learning rate|\blr\b", MetricRole::LearningRate),
        (r"\b(memory|vram|ram)\b", MetricRole::Memory),
        (
            r"throughput|it/s|samples/s|tokens/s|(tokens|samples|images) per second",
            MetricRole::Throughput,
        ),
        (r"step time|iteration time|s/it\b", MetricRole::StepTime),
    ];
    table
        .iter()
        .map(|(p, r)| {
            (
                Regex::new(&format!("(?i){p}")).expect("valid role regex"),
                *r,
            )
        })
        .collect()
});

/// The metric a phrase is about, from the nearest metric word around it ("loss
/// becomes NaN", "the reward stays flat"): a word inside the phrase first, then
/// the closest before it, then after it. Ties go to the more specific role, so
/// "eval_loss: nan" is about the validation loss.
fn role_near(text: &str, start: usize, end: usize) -> Option<MetricRole> {
    let lo = text[..start]
        .char_indices()
        .rev()
        .nth(60)
        .map(|(i, _)| i)
        .unwrap_or(0);
    let hi = text[end..]
        .char_indices()
        .nth(40)
        .map(|(i, _)| end + i)
        .unwrap_or(text.len());
    // Not across a sentence or a semicolon: "gradients look normal; it doesn't learn".
    let lo = SENTENCE_END
        .iter()
        .filter_map(|p| text[lo..start].rfind(p).map(|i| lo + i + p.len()))
        .max()
        .unwrap_or(lo);
    let hi = SENTENCE_END
        .iter()
        .filter_map(|p| text[end..hi].find(p).map(|i| end + i))
        .min()
        .unwrap_or(hi);
    let window = &text[lo..hi];
    let (start, end) = (start - lo, end - lo);
    // After the phrase, a metric past a comma is only a last resort: "stays
    // flat, grad_norm is tiny" is about what came before.
    let comma = window[end..].find(',').map_or(usize::MAX, |i| end + i);
    ROLES
        .iter()
        .enumerate()
        .flat_map(|(rank, (pattern, role))| {
            pattern.find_iter(window).map(move |m| {
                let distance = if m.start() < end && start < m.end() {
                    0
                } else if m.end() <= start {
                    start - m.end()
                } else {
                    // A metric named after the phrase is a weaker guess.
                    m.start() - end + if m.start() > comma { 70 } else { 10 }
                };
                (distance, rank, *role)
            })
        })
        .min()
        .map(|(_, _, role)| role)
}

/// Where a sentence or clause of its own ends: ";", a newline, or ". ", "! ", "? "
/// (not the point in "0.45").
const SENTENCE_END: [&str; 5] = [";", "\n", ". ", "! ", "? "];

/// The role a kind is read on, when the words name a related one: a gap between
/// training and validation, or evaluation worse than training, shows on the
/// held-out metric.
fn role_for(kind: SymptomKind, role: Option<MetricRole>) -> Option<MetricRole> {
    match (kind, role) {
        (
            SymptomKind::TrainValGap | SymptomKind::EvalWorseThanTrain,
            Some(MetricRole::TrainLoss),
        ) => Some(MetricRole::ValLoss),
        (
            SymptomKind::TrainValGap | SymptomKind::EvalWorseThanTrain,
            Some(MetricRole::TrainAccuracy),
        ) => Some(MetricRole::ValAccuracy),
        _ => role,
    }
}

static ONSET: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:after|from|around|at|by|past|beyond)\s+(?:about\s+|roughly\s+|~)?(step\s+|iteration\s+|iter\s+)?(\d+(?:[.,]\d+)?)\s*(k|m)?\s*(?:training\s+)?(steps?|iter\w*|updates?|epochs?)?")
        .expect("valid onset regex")
});

/// "after 2k steps" → 2000. Epoch counts are not steps, so they are ignored.
pub fn onset_step(text: &str) -> Option<i64> {
    for caps in ONSET.captures_iter(text) {
        let prefixed = caps.get(1).is_some();
        let unit = caps
            .get(4)
            .map(|m| m.as_str().to_lowercase())
            .unwrap_or_default();
        let suffix = caps.get(3).map(|m| m.as_str().to_lowercase());
        if unit.starts_with("epoch") || (!prefixed && unit.is_empty() && suffix.is_none()) {
            continue;
        }
        let number: f64 = caps[2].replace(',', "").parse().ok()?;
        let scale = match suffix.as_deref() {
            Some("k") => 1e3,
            Some("m") => 1e6,
            _ => 1.0,
        };
        return Some((number * scale).round() as i64);
    }
    None
}

/// How a tried fix went, from the words used to report it.
pub fn tried_outcome(text: &str) -> TriedOutcome {
    let t = text.to_lowercase();
    let failed = [
        "didn't help",
        "did not help",
        "no effect",
        "doesn't help",
        "does not help",
        "didn't work",
        "did not work",
        "no change",
        "still",
        "same result",
        "no difference",
        "failed",
        "made it worse",
        "nothing changed",
        "no luck",
        "without success",
    ];
    let partial = [
        "partially",
        "a bit",
        "somewhat",
        "slightly",
        "delayed",
        "later",
        "less often",
        "reduced but",
    ];
    let helped = [
        "fixed",
        "solved",
        "helped",
        "works now",
        "resolved",
        "went away",
    ];
    if partial.iter().any(|w| t.contains(w)) {
        TriedOutcome::Partial
    } else if failed.iter().any(|w| t.contains(w)) {
        TriedOutcome::Failed
    } else if helped.iter().any(|w| t.contains(w)) {
        TriedOutcome::Helped
    } else {
        TriedOutcome::Unknown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<SymptomKind> {
        symptoms_from_text(text, "symptom")
            .iter()
            .map(|s| s.kind)
            .collect()
    }

    #[test]
    fn denied_symptoms_are_not_reported() {
        assert!(
            !kinds("Nothing is NaN, gradients look normal; it just doesn't learn")
                .contains(&SymptomKind::NonFinite)
        );
        assert!(
            !kinds("no NaN anywhere and the loss is not exploding")
                .contains(&SymptomKind::NonFinite)
        );
        assert!(
            kinds("no warmup was used, and the loss is NaN after 2k steps")
                .contains(&SymptomKind::NonFinite)
        );
        assert!(
            kinds("there were no NaNs at first, then the loss became NaN")
                .contains(&SymptomKind::NonFinite)
        );
    }

    #[test]
    fn reads_kinds_from_practitioner_phrases() {
        assert_eq!(
            kinds("loss becomes NaN after 2k steps with fp16"),
            vec![SymptomKind::NonFinite]
        );
        assert!(kinds("accuracy stuck at 50%").contains(&SymptomKind::ChanceLevel));
        assert!(kinds("the training hangs with an NCCL timeout").contains(&SymptomKind::Hang));
        assert!(
            kinds("validation loss is lower than training loss")
                .contains(&SymptomKind::ValBetterThanTrain)
        );
        assert!(
            kinds("training accuracy stays lower than validation accuracy the whole time")
                .contains(&SymptomKind::ValBetterThanTrain)
        );
        assert!(
            kinds("train_loss is always higher than val_loss")
                .contains(&SymptomKind::ValBetterThanTrain)
        );
        assert!(
            kinds("the codebook collapses to a few codes").contains(&SymptomKind::CodebookCollapse)
        );
        assert!(kinds("loss goes down nicely").is_empty());
        let s = symptoms_from_text("the validation loss becomes NaN", "symptom");
        assert_eq!(s[0].role, Some(MetricRole::ValLoss));
        let s = symptoms_from_text("episode reward stays flat", "symptom");
        assert_eq!(s[0].role, Some(MetricRole::Reward));
    }

    #[test]
    fn reads_onset_hyperparameters_precision_and_framework() {
        let text = "loss becomes NaN after 2k steps with fp16, lr 3e-4, batch 64 in PyTorch";
        assert_eq!(onset_step(text), Some(2000));
        assert_eq!(onset_step("nan after 10 epochs"), None);
        assert_eq!(onset_step("diverges around step 12,500"), Some(12500));
        let hp = hyperparameters_from_text(text);
        assert_eq!(hp["learning_rate"], serde_json::json!(0.0003));
        assert_eq!(hp["batch_size"], serde_json::json!(64));
        assert_eq!(precision_from_text(text), Some("fp16"));
        assert_eq!(
            precision_from_text("using AMP autocast with fp16"),
            Some("mixed_fp16")
        );
        assert_eq!(framework_from_text(text), Some("pytorch"));
        assert_eq!(
            model_from_text("training a VQ-VAE on audio"),
            Some("vq-vae")
        );
    }

    #[test]
    fn environment_names_are_not_read_out_of_ordinary_words() {
        // "generator" alone is a Keras data generator, not a GAN.
        assert_eq!(
            model_from_text("fit_generator on an ImageDataGenerator with a small CNN"),
            Some("cnn")
        );
        assert_eq!(
            model_from_text("the generator and discriminator losses diverge"),
            Some("gan")
        );
        // "accelerate" the verb is not the library.
        assert_eq!(
            framework_from_text("to accelerate training I moved to PyTorch 2"),
            Some("pytorch")
        );
        assert_eq!(
            framework_from_text("launched with accelerate launch and FSDP"),
            Some("accelerate")
        );
        // "amp" inside "example" does not make fp16 mixed.
        assert_eq!(
            precision_from_text("for example, half precision weights"),
            Some("fp16")
        );
        assert_eq!(
            precision_from_text("fp16 with torch.amp"),
            Some("mixed_fp16")
        );
    }

    #[test]
    fn recognises_chance_level_from_numbers() {
        assert!(
            kinds("Loss is stuck at about 2.30 for all 10 epochs on 10 classes")
                .contains(&SymptomKind::ChanceLevel)
        );
        assert!(
            kinds("eval accuracy is 20% on a 5-class problem").contains(&SymptomKind::ChanceLevel)
        );
        assert!(
            kinds("binary classifier, accuracy 50% on validation")
                .contains(&SymptomKind::ChanceLevel)
        );
        assert!(
            !kinds("eval accuracy is 85% on a 5-class problem").contains(&SymptomKind::ChanceLevel)
        );
        assert!(!kinds("loss 1.2 on 10 classes").contains(&SymptomKind::ChanceLevel));
    }

    #[test]
    fn reads_tried_outcomes() {
        assert_eq!(
            tried_outcome("lowered lr to 1e-4, didn't help"),
            TriedOutcome::Failed
        );
        assert_eq!(
            tried_outcome("gradient clipping delayed the NaN"),
            TriedOutcome::Partial
        );
        assert_eq!(tried_outcome("bf16 fixed it"), TriedOutcome::Helped);
        assert_eq!(tried_outcome("added warmup"), TriedOutcome::Unknown);
    }
}
