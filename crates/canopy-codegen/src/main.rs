//! `cargo run -p canopy-codegen [-- --out DIR] [-- --model FILE]`: regenerates
//! `crates/canopy-api/src/generated/` from the AWS Organizations model. See the library docs for
//! what is generated and what stays handwritten.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut model = canopy_codegen::default_model_path();
    let mut out = canopy_codegen::default_output_dir();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--out", Some(v)) => out = PathBuf::from(v),
            ("--model", Some(v)) => model = PathBuf::from(v),
            _ => {
                eprintln!("usage: canopy-codegen [--model FILE] [--out DIR]");
                return ExitCode::from(2);
            }
        }
    }
    let result = canopy_codegen::generate_from_path(&model)
        .and_then(|files| canopy_codegen::write_files(&out, &files).map(|()| files.len()));
    match result {
        Ok(n) => {
            println!("wrote {n} files to {}", out.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("canopy-codegen: {e}");
            ExitCode::FAILURE
        }
    }
}
