//! `canopy`: a wire-compatible AWS Organizations emulator.

mod migrate;
mod policy;
mod serve;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "canopy",
    version,
    about = "Canopy: a self-hosted, wire-compatible AWS Organizations emulator",
    long_about = "Canopy: a self-hosted, wire-compatible AWS Organizations emulator.\n\n\
                  Point any AWS client at it with an endpoint URL, e.g.\n  \
                  AWS_ENDPOINT_URL=http://127.0.0.1:4590 aws organizations describe-organization"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (AWS Organizations API on POST /, Canopy API under /canopy/v1/).
    Serve(Box<serve::ServeArgs>),
    /// Create or upgrade the database schema, then exit.
    Migrate(migrate::MigrateArgs),
    /// Policy tools that run offline (no server).
    #[command(subcommand)]
    Policy(policy::PolicyCommand),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve::run(*args),
        Command::Migrate(args) => migrate::run(args),
        Command::Policy(cmd) => return policy::run(cmd),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("canopy: error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
