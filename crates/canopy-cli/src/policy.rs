//! `canopy policy …`: offline policy tools over canopy-policy.

use std::io::Read;
use std::process::ExitCode;

use clap::Subcommand;

#[derive(Subcommand)]
pub enum PolicyCommand {
    /// Evaluate one case in the policy-vectors.json case format (kinds validation,
    /// effective_policy, effective_policy_validation and authorization, the last evaluated
    /// offline from the case's own organization) and print the result as JSON on stdout. Exit 0 when the case was evaluated (whatever its verdict),
    /// 2 when the input cannot be read or is not JSON.
    Eval {
        /// The case file, or `-` for stdin.
        #[arg(value_name = "FILE|-")]
        file: String,
    },
}

pub fn run(cmd: PolicyCommand) -> ExitCode {
    match cmd {
        PolicyCommand::Eval { file } => eval(&file),
    }
}

fn eval(file: &str) -> ExitCode {
    let text = if file == "-" {
        let mut s = String::new();
        match std::io::stdin().read_to_string(&mut s) {
            Ok(_) => s,
            Err(e) => return usage_error(&format!("cannot read the case from stdin: {e}")),
        }
    } else {
        match std::fs::read_to_string(file) {
            Ok(s) => s,
            Err(e) => return usage_error(&format!("cannot read the case file {file:?}: {e}")),
        }
    };
    let case: serde_json::Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(e) => {
            let source = if file == "-" { "stdin".to_string() } else { format!("{file:?}") };
            return usage_error(&format!("the case in {source} is not valid JSON: {e}"));
        }
    };
    if !case.is_object() {
        return usage_error("the case must be a JSON object (one vector of policy-vectors.json)");
    }
    let result = canopy_policy::eval_case(&case);
    println!("{result}");
    ExitCode::SUCCESS
}

fn usage_error(message: &str) -> ExitCode {
    eprintln!("canopy: error: {message}");
    ExitCode::from(2)
}
