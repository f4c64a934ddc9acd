//! Hugging Face Transformers rules (`HF`).

mod pad_token_eos_masked;
mod tokenizer_model_mismatch;

pub use pad_token_eos_masked::PadTokenEosMasked;
pub use tokenizer_model_mismatch::TokenizerModelMismatch;
