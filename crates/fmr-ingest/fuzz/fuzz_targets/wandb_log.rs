//! Fuzzes the W&B `.wandb` reader (LevelDB framing, CRC-32, record
//! decoding): `cargo +nightly fuzz run wandb_log` from `crates/fmr-ingest`.

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let source = fmr_ingest::SOURCES
        .iter()
        .find(|s| s.name() == "wandb")
        .expect("the wandb source is registered");
    let mut run = fmr_core::Run::default();
    let _ = source.read(Path::new("run-fuzz.wandb"), data, &mut run);
});
