//! Fails when `crates/canopy-api/src/generated/` differs from a fresh run of the generator,
//! i.e. when someone edited generated code by hand or changed the generator/model without
//! regenerating.

use std::collections::BTreeSet;

const HOW_TO_FIX: &str = "regenerate with `cargo run -p canopy-codegen` and commit the result \
     (never edit crates/canopy-api/src/generated/ by hand: change the generator instead)";

#[test]
fn committed_generated_code_matches_a_fresh_run() {
    let files = canopy_codegen::generate_from_path(&canopy_codegen::default_model_path())
        .expect("the generator runs");
    let tmp = tempfile::tempdir().expect("temp dir");
    canopy_codegen::write_files(tmp.path(), &files).expect("write to temp dir");

    let committed_dir = canopy_codegen::default_output_dir();
    let committed: BTreeSet<String> = std::fs::read_dir(&committed_dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}; {HOW_TO_FIX}", committed_dir.display()))
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let fresh: BTreeSet<String> = files.iter().map(|(name, _)| name.clone()).collect();
    assert_eq!(
        committed, fresh,
        "the generated file set drifted; {HOW_TO_FIX}"
    );

    for (name, _) in &files {
        let fresh = std::fs::read_to_string(tmp.path().join(name)).expect("read fresh file");
        let old = std::fs::read_to_string(committed_dir.join(name)).expect("read committed file");
        if fresh != old {
            let line = fresh
                .lines()
                .zip(old.lines())
                .position(|(a, b)| a != b)
                .map_or_else(
                    || "at the end".to_owned(),
                    |i| format!("first at line {}", i + 1),
                );
            panic!("generated/{name} differs from a fresh run ({line}); {HOW_TO_FIX}");
        }
    }
}

#[test]
fn generation_is_deterministic() {
    let a = canopy_codegen::generate_from_path(&canopy_codegen::default_model_path()).unwrap();
    let b = canopy_codegen::generate_from_path(&canopy_codegen::default_model_path()).unwrap();
    assert_eq!(a, b);
}
